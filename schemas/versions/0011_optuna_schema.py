"""Optuna's storage on every store: the schema ``optuna`` with Optuna's own tables, so
``atomloop db optuna-url`` opens in Optuna and in optuna-dashboard before any search has run.

Optuna creates its tables (and its own ``alembic_version`` there) through its storage class on
a connection of its own, so the schema is committed first.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    import optuna

    from atomloop.tune.storage import SCHEMA, optuna_url

    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    with op.get_context().autocommit_block():
        pass  # commits the schema: Optuna's storage connects on its own
    storage = optuna.storages.RDBStorage(optuna_url(op.get_bind().engine.url.render_as_string(hide_password=False)))
    storage.engine.dispose()  # no connection may stay open (a template database is cloned)


def downgrade() -> None:
    from atomloop.tune.storage import SCHEMA

    op.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
