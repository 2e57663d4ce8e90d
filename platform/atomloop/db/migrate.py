"""Run the Alembic migrations of ``schemas/`` (installed as ``atomloop.schemas``) against the store
at a SQLAlchemy URL (which store that is: :func:`atomloop.db.connect.database_url`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util import CommandError

from atomloop.errors import AtomloopError


class MigrationError(AtomloopError):
    """A migration target that does not exist or does not fit the store's revision."""


def schemas_dir() -> Path:
    """The migrations folder: the installed package ``atomloop.schemas`` (``schemas/`` of the repository)."""
    import atomloop.schemas

    return Path(atomloop.schemas.__file__).parent


def target_metadata():
    """The ORM's ``MetaData``: every table the migrations create."""
    from atomloop.store.tables import Base

    return Base.metadata


def schema_differences(url: str) -> list:
    """What Alembic's autogenerate would change to make the migrated store match the ORM (``[]``: none)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine, pool

    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, target_metadata())
    finally:
        engine.dispose()


def alembic_config(url: str) -> Config:
    """An Alembic config for the store at ``url``."""
    config = Config()
    config.set_main_option("script_location", str(schemas_dir()))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the store up to ``revision``."""
    try:
        command.upgrade(alembic_config(url), revision)
    except CommandError as error:
        raise MigrationError(f"cannot upgrade to {revision!r}: {error}") from None


def downgrade(url: str, revision: str = "base") -> None:
    """Migrate the store down to ``revision``."""
    try:
        command.downgrade(alembic_config(url), revision)
    except CommandError as error:
        raise MigrationError(f"cannot downgrade to {revision!r}: {error}") from None


def current_revision(url: str) -> str | None:
    """The revision the store is at (None when never migrated)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine, pool

    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
