"""Which store is this? Its identity: the random id written when it was created (migration 0010)
and the database's object id, ``"<uuid>/<oid>"``.

The id tells stores of different PostgreSQL clusters apart (two homes' embedded servers hold
databases of the same name and object id); the object id tells apart databases copied from one
another within a cluster (``CREATE DATABASE b TEMPLATE a`` copies the id row). A task that
writes to the store carries the identity of the store it was made for and refuses to run against
another (:func:`check_store_identity`).
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from atomloop.errors import AtomloopError


class WrongStoreError(AtomloopError):
    """A task made for one store reached a worker whose store is another."""


def store_identity(engine: Engine) -> str:
    """``"<store id>/<database oid>"`` of the store behind ``engine``."""
    with engine.connect() as connection:
        row = connection.execute(text(
            "SELECT (SELECT store_id FROM store_identity), oid FROM pg_database WHERE datname = current_database()"
        )).one()
    if row[0] is None:
        raise AtomloopError("the store has no identity row; run `atomloop db upgrade`")
    return f"{row[0]}/{row[1]}"


def check_store_identity(engine: Engine, expected: str) -> None:
    """Raise :class:`WrongStoreError` unless the store behind ``engine`` is the one ``expected`` names."""
    found = store_identity(engine)
    if found != expected:
        raise WrongStoreError(
            f"this worker's store ({found}, from its ATOMLOOP_HOME or ATOMLOOP_DATABASE_URL) is not the store the "
            f"task was made for ({expected}); start the workers with the same ATOMLOOP_HOME or ATOMLOOP_DATABASE_URL "
            "as the command that sends them work"
        )
