"""Atom-based energy models (SchNet, NequIP): build, train, evaluate, register, calculate."""

from atomloop.models.build import ARCHITECTURES, AtomEnergyModel, build

__all__ = ["ARCHITECTURES", "AtomEnergyModel", "AtomloopCalculator", "build"]


def __getattr__(name: str):
    # The calculator pulls in ASE's calculator machinery: import it on first use only.
    if name == "AtomloopCalculator":
        from atomloop.models.calculator import AtomloopCalculator

        return AtomloopCalculator
    raise AttributeError(name)
