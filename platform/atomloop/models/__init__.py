"""Atom-based energy models (SchNet, NequIP): build, train, evaluate, register, calculate."""

from atomloop.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "ARCHITECTURES": ".networks",
    "AtomEnergyModel": ".networks",
    "build": ".networks",
    "AtomloopCalculator": ".calculator",
})

__all__ = ["ARCHITECTURES", "AtomEnergyModel", "AtomloopCalculator", "build"]
