"""The adversarial validation's permutation test: ``p_value`` (one-sided, H1: AUC > 0.5) and the
2.5 %, 50 % and 97.5 % quantiles of the null AUCs, per validation. Validations stored before
this revision ran no permutation test: their values stay NULL.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = {
    "p_value": "one-sided permutation p-value, (1 + #null >= auc) / (B + 1); NULL without a permutation test",
    "null_auc_low": "2.5 % quantile of the permutation null's AUCs",
    "null_auc_median": "median of the permutation null's AUCs",
    "null_auc_high": "97.5 % quantile of the permutation null's AUCs",
}


def upgrade() -> None:
    for name, comment in COLUMNS.items():
        op.add_column("adversarial_validations", sa.Column(name, sa.Double(), nullable=True, comment=comment))


def downgrade() -> None:
    for name in reversed(COLUMNS):
        op.drop_column("adversarial_validations", name)
