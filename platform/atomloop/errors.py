"""Errors that users see as one clear line (``atomloop`` prints them without a traceback)."""


class AtomloopError(Exception):
    """Base of every expected, user-facing failure."""


class InputError(AtomloopError):
    """Bad input: a malformed file, an unknown element, an impossible charge/multiplicity."""


class UsageError(InputError):
    """The caller asked for what cannot be: options that need one another, a value no option
    takes. ``atomloop`` exits with status 2 for it, as for a usage error of its options."""


class ArtifactWriteError(AtomloopError):
    """A model artifact could not be written (disk full, read-only, no permission)."""
