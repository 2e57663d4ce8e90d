"""Database URLs as text: the configured one, passwords masked before anything prints a URL,
the URL ASE's backend reads."""

from __future__ import annotations

import re

from atomloop.config import get_settings
from atomloop.errors import InputError

# ``scheme://user:PASSWORD@host``: the password runs to the last ``@`` of the URL, so an
# un-encoded ``@`` inside it cannot leave its tail in clear.
_PASSWORD_IN_URL = re.compile(r"(?P<user>[a-z][a-z0-9+.-]*://[^:/\s]*):\S*@", re.IGNORECASE)
# ``password=...`` as a URL query parameter (``?password=``, ``&password=``) or a libpq
# ``key=value`` connection string, quoted or not; a ``:`` right before a space is the message's
# own (``cannot reach URL: reason``) and stays.
_PASSWORD_PARAMETER = re.compile(
    r"(?P<key>\bpassword\s*=\s*)(?:'[^']*'|\"[^\"]*\"|[^&\s]+?(?=:?(?:[&\s]|$)))", re.IGNORECASE
)


def mask_password(text: str) -> str:
    """Replace every password inside ``text`` with ``***``: the ``user:password@`` of a URL and
    any ``password=value`` (URL query parameter or libpq connection string)."""
    text = _PASSWORD_IN_URL.sub(lambda m: f"{m.group('user')}:***@", text)
    return _PASSWORD_PARAMETER.sub(lambda m: f"{m.group('key')}***", text)


def _checked_url(url: str) -> str:
    """``url`` unless its user or password holds an un-encoded ``@``, which drivers would
    split differently (libpq at the first ``@``, SQLAlchemy at the last)."""
    authority = url.partition("://")[2].split("/", 1)[0]
    if authority.count("@") > 1:
        raise InputError(
            f"ATOMLOOP_DATABASE_URL {mask_password(url)}: the user or password contains an un-encoded '@'; "
            "write it as %40"
        )
    return url


def configured_url() -> str | None:
    """``ATOMLOOP_DATABASE_URL`` (checked), or None when the store is the embedded cluster."""
    url = get_settings().database_url
    return _checked_url(url) if url else None


def ase_url(url: str, *, schema: str = "ase") -> str:
    """A ``postgresql://`` URL for ASE's PostgreSQL backend (psycopg2) that sees the
    read-only ASE views in ``schema`` through ``search_path``."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql")
    rendered = parsed.render_as_string(hide_password=False)
    separator = "&" if "?" in rendered else "?"
    return f"{rendered}{separator}options=-csearch_path%3D{schema}"
