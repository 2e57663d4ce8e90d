"""SQLAlchemy engine and transactional sessions for the store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from atomloop.db.connect import database_url
from atomloop.db.errors import DatabaseUnavailableError
from atomloop.db.url import mask_password


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    return create_engine(url, pool_pre_ping=True, future=True)


def get_engine(url: str | None = None) -> Engine:
    """The engine of ``url`` (default: the configured store), checked to be reachable."""
    url = url or database_url()
    engine = _engine_for(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise DatabaseUnavailableError(
            f"cannot reach the database {mask_password(url)}: {mask_password(reason)}"
        ) from None
    return engine


def create_schema(url: str, schema: str) -> None:
    """``CREATE SCHEMA IF NOT EXISTS schema`` in the database of ``url`` (a plain identifier)."""
    if not schema.isidentifier():
        raise ValueError(f"not a schema name: {schema!r}")
    with get_engine(url).begin() as connection:
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error."""
    maker = sessionmaker(bind=engine or get_engine(), expire_on_commit=False)
    with maker() as session, session.begin():
        yield session
