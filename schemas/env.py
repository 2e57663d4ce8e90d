"""Alembic environment: migrates the atomloop store.

The URL is ``config.attributes["url"]`` when atomloop calls Alembic itself, else the
configured store (``ATOMLOOP_DATABASE_URL`` or the embedded cluster).
"""

from alembic import context
from sqlalchemy import create_engine, pool

from atomloop.db.connect import database_url
from atomloop.db.migrate import target_metadata

config = context.config
url = config.attributes.get("url") or database_url()

connectable = create_engine(url, poolclass=pool.NullPool)
with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=target_metadata(), compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
