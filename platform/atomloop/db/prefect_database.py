"""Prefect's own database beside the store: its URL, and one migration at a time.

Every Prefect server of a home (``atomloop serve``'s and the temporary one a ``loop``, ``demo``
or ``study`` starts without it) runs on the database ``prefect`` of the store's PostgreSQL
server, so every flow run of the home is recorded in one place. Prefect migrates its tables when
a server starts, with no lock of its own between processes: :func:`one_migration_at_a_time` holds
a PostgreSQL advisory lock on that database while a server starts, so two servers starting
together migrate one after the other (the second finds the tables up to date).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from atomloop.config import get_settings
from atomloop.db.connect import database_url, embedded_server
from atomloop.db.url import mask_password
from atomloop.errors import AtomloopError

PREFECT_DATABASE = "prefect"
_MIGRATION_LOCK = 0x61746F6D_70726566  # "atompref": the advisory-lock key of Prefect's migrations


def _ensure_external_database(store_url: str) -> None:
    """Create ``PREFECT_DATABASE`` on the configured store's server unless it exists."""
    engine = create_engine(store_url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                        {"name": PREFECT_DATABASE}).first()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{PREFECT_DATABASE}"'))
    except SQLAlchemyError as error:
        if "already exists" in str(error):  # created meanwhile by another command
            return
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
        raise AtomloopError(f"Prefect's database {PREFECT_DATABASE!r} beside the store {mask_password(store_url)} "
                            f"is missing and could not be created: {reason}") from None
    finally:
        engine.dispose()


def prefect_database_url() -> str:
    """``postgresql+asyncpg://`` URL of Prefect's database beside the store (created if missing)."""
    store = database_url()
    if get_settings().database_url:
        _ensure_external_database(store)
    else:
        embedded_server().ensure_database(PREFECT_DATABASE)
    return make_url(store).set(drivername="postgresql+asyncpg", database=PREFECT_DATABASE).render_as_string(
        hide_password=False
    )


@contextmanager
def one_migration_at_a_time(prefect_url: str, poll_s: float = 0.2) -> Iterator[None]:
    """Hold the migration lock of the Prefect database at ``prefect_url`` for the block (start a
    server inside and leave once it answers). Waits in ``poll_s`` steps, so a Ctrl-C ends the wait."""
    engine = create_engine(make_url(prefect_url).set(drivername="postgresql+psycopg"), poolclass=pool.NullPool,
                           isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            lock = text("SELECT pg_try_advisory_lock(:key)")
            while not connection.execute(lock, {"key": _MIGRATION_LOCK}).scalar():
                time.sleep(poll_s)
            yield  # the lock ends with this session, when the connection closes
    finally:
        engine.dispose()
