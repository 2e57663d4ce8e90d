"""The PostgreSQL server and connections: embedded server, URLs, engine, migrations.

The tables and every query live in :mod:`atomloop.store`.
"""

from atomloop.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "DatabaseUnavailableError": ".errors",
    "get_engine": ".engine",
    "session_scope": ".engine",
})

__all__ = ["DatabaseUnavailableError", "get_engine", "session_scope"]
