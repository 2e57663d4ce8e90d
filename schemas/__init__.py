"""Alembic migrations of the atomloop store, shipped in the wheel as ``atomloop.schemas``.

Alembic runs ``env.py`` itself; nothing imports this package except to locate it.
"""
