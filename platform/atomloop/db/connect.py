"""Which database atomloop uses: ``ATOMLOOP_DATABASE_URL`` when set (an external server, migrated
explicitly by ``atomloop db upgrade``), else the embedded cluster of ``ATOMLOOP_HOME``, which is
atomloop's own: started and migrated to the newest schema on first use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def store_held_open() -> Iterator[None]:
    """Open the store and hold it open for the block (:func:`atomloop.db.embedded.held_open`): an
    embedded server stopped under it (``atomloop db stop``) ends the command with one line and is
    not started again; a configured store is only opened."""
    from atomloop.db.embedded import held_open

    database_url()
    with held_open(None if configured_url() is not None else embedded_server()):
        yield


def embedded_store_stopped() -> bool:
    """Whether this process's store is the embedded cluster and it was stopped cleanly (``atomloop db
    stop``: no postmaster left); False for a configured store."""
    if configured_url() is not None:
        return False
    server = embedded_server()
    return server.is_initialized() and not (server.data_dir / "postmaster.pid").exists()


@contextmanager
def stop_explains_failures() -> Iterator[None]:
    """Within the block, any failure once the embedded store was stopped under it (its Prefect
    database lives there too: the flow's own bookkeeping fails first) is that stop, in one line."""
    from atomloop.db.embedded import STOPPED_MESSAGE, EmbeddedServerStoppedError

    try:
        yield
    except Exception:
        if embedded_store_stopped():
            raise EmbeddedServerStoppedError(STOPPED_MESSAGE) from None
        raise
