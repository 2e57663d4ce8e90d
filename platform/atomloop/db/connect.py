"""Which database atomloop uses: ``ATOMLOOP_DATABASE_URL`` when set (an external server, migrated
explicitly by ``atomloop db upgrade``), else the embedded cluster of ``ATOMLOOP_HOME``, which is
atomloop's own: started and migrated to the newest schema on first use."""

from __future__ import annotations

from functools import lru_cache

from atomloop.config import get_settings
from atomloop.db.url import configured_url


def embedded_server():
    """The embedded cluster of the current ``ATOMLOOP_HOME`` (an :class:`~atomloop.db.embedded.EmbeddedPostgres`)."""
    from atomloop.db.embedded import EmbeddedPostgres

    settings = get_settings()
    return EmbeddedPostgres(settings.embedded_dir, port=settings.embedded_port)


@lru_cache(maxsize=8)
def _migrated(url: str) -> str:
    from atomloop.db import migrate

    migrate.upgrade(url)
    return url


def open_embedded_store() -> str:
    """Start the embedded cluster (if it is not running) and migrate it to the newest schema
    (once per process); returns its URL."""
    return _migrated(embedded_server().start())


def database_url(*, start: bool = True) -> str:
    """The store's SQLAlchemy URL: the configured one, else the embedded cluster's (opened by
    :func:`open_embedded_store` when ``start`` is true)."""
    url = configured_url()
    if url is not None:
        return url
    return open_embedded_store() if start else embedded_server().url()
