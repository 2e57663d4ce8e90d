"""Settings read from the environment (``ATOMLOOP_*``), never from code.

``ATOMLOOP_DATABASE_URL``: a ``postgresql://`` (or ``postgresql+psycopg://``) SQLAlchemy URL,
checked once where it is read (:func:`atomloop.db.url.configured_url`: another scheme, a libpq
``key=value`` string or an unknown query option is one clear error). Unset means the
embedded PostgreSQL cluster under ``ATOMLOOP_HOME``.
``ATOMLOOP_HOME``: where the embedded database, artifacts (model checkpoints) and caches
live. Two different homes are two independent installations.
A variable set to the empty string counts as unset (``ATOMLOOP_HOME=`` is the default home,
never the current directory).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path.home() / ".local" / "share" / "atomloop"


class Settings(BaseSettings):
    """Process-wide configuration; every field maps to ``ATOMLOOP_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="ATOMLOOP_", extra="ignore", env_ignore_empty=True)

    database_url: str | None = Field(
        default=None, description="postgresql:// SQLAlchemy URL of the store; unset = embedded PostgreSQL."
    )
    home: Path = Field(default_factory=_default_home, description="Data directory.")
    embedded_port: int | None = Field(
        default=None, description="TCP port of the embedded server on 127.0.0.1 (default: a free one)."
    )

    @property
    def artifacts_dir(self) -> Path:
        """Directory for model checkpoints and reports."""
        return self.home / "artifacts"

    @property
    def embedded_dir(self) -> Path:
        """Directory holding the embedded PostgreSQL cluster."""
        return self.home / "postgres"


@lru_cache(maxsize=1)
def _cached_settings() -> Settings:
    return Settings()


def get_settings(*, reload: bool = False) -> Settings:
    """Return the settings, re-reading the environment when ``reload`` is true."""
    if reload:
        _cached_settings.cache_clear()
    return _cached_settings()
