"""Alembic revisions of the atomloop store (Alembic skips this file)."""
