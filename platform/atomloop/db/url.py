"""Database URLs as text: the configured one, passwords masked before anything prints a URL,
the URL ASE's backend reads."""

from __future__ import annotations

import re
from functools import lru_cache

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


EXPECTED_FORM = ("expected postgresql://USER@HOST:PORT/DATABASE (a password as USER:PASSWORD@; "
                 "or postgresql+psycopg://...)")
_DRIVERS = ("", "psycopg", "psycopg2")  # postgresql:// is psycopg in SQLAlchemy 2.1; both are installed


@lru_cache(maxsize=1)
def _connection_options() -> frozenset[str]:
    """libpq's connection option names (``password``, ``sslmode``, ...), all lower-case."""
    import psycopg

    return frozenset(option.keyword.decode() for option in psycopg.pq.Conninfo.get_defaults())


def _url_problem(url: str) -> str | None:
    """What keeps ``url`` from being a PostgreSQL URL that every driver reads alike, else None."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    scheme, found, rest = url.partition("://")
    if not found or not re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme, re.IGNORECASE):
        return "a libpq key=value connection string, not a URL" if "=" in url else "not a URL"
    backend, _, driver = scheme.lower().partition("+")
    if backend == "postgres":
        return "SQLAlchemy reads postgresql://, not postgres://"
    if backend != "postgresql":
        return f"the store is a PostgreSQL database, not {scheme}://"
    if driver not in _DRIVERS:
        return f"driver {driver!r} is not one atomloop connects with (psycopg)"
    if rest.split("/", 1)[0].count("@") > 1:  # libpq splits at the first @, SQLAlchemy at the last
        return "the user or password contains an un-encoded '@'; write it as %40"
    try:
        query = make_url(url).query
    except (ArgumentError, ValueError) as error:
        return f"not a URL SQLAlchemy reads ({error})"
    unknown = sorted(set(query) - _connection_options())
    if unknown:
        hint = " (libpq's options are lower-case)" if unknown[0].lower() in _connection_options() else ""
        return f"{unknown[0]!r} is not a connection option{hint}"
    return None


def _checked_url(url: str) -> str:
    """``url`` if it is a ``postgresql://`` URL (driver psycopg or psycopg2) whose query holds
    only libpq connection options and whose user or password has no un-encoded ``@``;
    otherwise an :class:`InputError` saying what is wrong and which form is expected."""
    problem = _url_problem(url)
    if problem is not None:
        raise InputError(f"ATOMLOOP_DATABASE_URL {mask_password(url)}: {problem}; {EXPECTED_FORM}")
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
