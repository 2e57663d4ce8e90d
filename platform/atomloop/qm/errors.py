"""Errors of the quantum-chemistry engine (user-facing: one clear line each)."""

from atomloop.errors import AtomloopError, InputError


class QMError(AtomloopError):
    """A calculation could not produce a trustworthy result."""


class SCFConvergenceError(QMError):
    """The SCF did not converge with any fallback strategy; the message says which were tried."""


class LocalizationError(QMError):
    """Orbital localization did not reach a stable solution."""


class UnknownSchemeError(InputError):
    """A partition-scheme name outside the grammar; the message lists the valid names."""


class UnsupportedCalculationError(InputError):
    """Settings the partitioning cannot handle (e.g. non-local VV10 correlation)."""
