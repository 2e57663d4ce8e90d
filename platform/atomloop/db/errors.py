"""What an unreachable or lost store looks like: :class:`DatabaseUnavailableError` and the test
:func:`is_connection_error` (below the server, the URLs and the engine, which all use them)."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from atomloop.errors import AtomloopError


class DatabaseUnavailableError(AtomloopError):
    """The store cannot be reached; the message never contains a password."""


def is_connection_error(error: BaseException) -> bool:
    """Whether ``error`` says the store could not be reached or the connection was lost
    (SQLAlchemy's or psycopg's ``OperationalError``, or :class:`DatabaseUnavailableError`)."""
    import psycopg

    return isinstance(error, (DatabaseUnavailableError, OperationalError, psycopg.OperationalError))
