"""Quantum-chemistry labels: PySCF SCF energies split exactly into atomic energies (Hartree).

``compute(atoms, settings)`` runs one SCF and partitions its energy in every scheme of
``settings.schemes`` (``ao-eda``, ``mo-{canonical|pm|fb}-{mulliken|lowdin|iao}``).
"""

from atomloop.qm.compute import QMResult, compute
from atomloop.qm.errors import (
    LocalizationError,
    QMError,
    SCFConvergenceError,
    UnknownSchemeError,
    UnsupportedCalculationError,
)
from atomloop.qm.schemes import VALID_SCHEMES, parse_scheme
from atomloop.qm.settings import QMSettings

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
