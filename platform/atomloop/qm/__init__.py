"""Quantum-chemistry labels: PySCF SCF energies split exactly into atomic energies (Hartree).

``compute(atoms, settings)`` runs one SCF and partitions its energy in every scheme of
``settings.schemes`` (``ao-eda``, ``mo-{canonical|pm|fb}-{mulliken|lowdin|iao}``).
"""

from atomloop.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "QMResult": ".calculation",
    "compute": ".calculation",
    "LocalizationError": ".errors",
    "QMError": ".errors",
    "SCFConvergenceError": ".errors",
    "UnknownSchemeError": ".errors",
    "UnsupportedCalculationError": ".errors",
    "VALID_SCHEMES": ".schemes",
    "parse_scheme": ".schemes",
    "QMSettings": ".settings",
})

__all__ = [
    "VALID_SCHEMES",
    "LocalizationError",
    "QMError",
    "QMResult",
    "QMSettings",
    "SCFConvergenceError",
    "UnknownSchemeError",
    "UnsupportedCalculationError",
    "compute",
    "parse_scheme",
]
