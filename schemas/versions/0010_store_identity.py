"""The store's identity: ``store_identity`` holds one row with a random id written at creation.

A labelling task carries the identity of the store it was made for; a worker whose own store
(from its environment) is another refuses to run it (:mod:`atomloop.store.store_identity`).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_identity",
        sa.Column("singleton", sa.Boolean(), primary_key=True, server_default=sa.text("true"),
                  comment="always true: the table holds one row"),
        sa.Column("store_id", sa.Text(), nullable=False, server_default=sa.text("gen_random_uuid()::text"),
                  comment="random id written when the store was created"),
        sa.Column("created", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("singleton", name="ck_store_identity_one_row"),
    )
    op.execute("INSERT INTO store_identity DEFAULT VALUES")


def downgrade() -> None:
    op.drop_table("store_identity")
