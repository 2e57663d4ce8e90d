"""The PostgreSQL store: embedded server, engine, ORM tables, migrations."""

from atomloop.db.engine import DatabaseUnavailableError, get_engine, session_scope

__all__ = ["DatabaseUnavailableError", "get_engine", "session_scope"]
