"""Database URLs: resolve the store's URL and mask passwords before anything prints it."""

from __future__ import annotations

import re
from functools import lru_cache

from atomloop.config import get_settings

_PASSWORD_IN_URL = re.compile(r"(?P<scheme>[a-z0-9+]+://[^:/@\s]+):(?P<password>[^@\s]+)@", re.IGNORECASE)


def mask_password(text: str) -> str:
    """Replace the password of every URL inside ``text`` with ``***``."""
    return _PASSWORD_IN_URL.sub(lambda m: f"{m.group('scheme')}:***@", text)


def embedded_server():
    """The embedded cluster of the current ``ATOMLOOP_HOME``."""
    from atomloop.db.embedded import EmbeddedPostgres

    settings = get_settings()
    return EmbeddedPostgres(settings.embedded_dir, port=settings.embedded_port)


def database_url(*, start: bool = True) -> str:
    """The store's SQLAlchemy URL: ``ATOMLOOP_DATABASE_URL``, else the embedded cluster's
    (started when ``start`` is true, and migrated to the newest schema: it is atomloop's own).
    An external database is migrated explicitly, by ``atomloop db upgrade``."""
    settings = get_settings()
    if settings.database_url:
        return settings.database_url
    server = embedded_server()
    if not start:
        return server.url()
    url = server.start()
    _migrate_embedded(url)
    return url


@lru_cache(maxsize=8)
def _migrate_embedded(url: str) -> None:
    from atomloop.db import migrate

    migrate.upgrade(url)


def ase_url(url: str, *, schema: str = "ase") -> str:
    """A ``postgresql://`` URL for ASE's PostgreSQL backend (psycopg2) that sees the
    read-only ASE views in ``schema`` through ``search_path``."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql")
    rendered = parsed.render_as_string(hide_password=False)
    separator = "&" if "?" in rendered else "?"
    return f"{rendered}{separator}options=-csearch_path%3D{schema}"
