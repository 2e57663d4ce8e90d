"""Training curves: ``training_epochs``, one row per epoch of each of a model's trainings.

Fold 0 is the training that made the model, folds 1..k the k-fold validation trainings that
chose its number of epochs. Models registered before this revision keep only the first and
last epochs in their metrics (``metrics -> 'training'``); nothing is backfilled.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "training_epochs",
        sa.Column("model_id", sa.BigInteger(), nullable=False),
        sa.Column("fold", sa.SmallInteger(), nullable=False,
                  comment="0: the model's own training; 1..k: k-fold validation trainings"),
        sa.Column("epoch", sa.Integer(), nullable=False, comment="1-based"),
        sa.Column("train_loss", sa.Double(), nullable=False, comment="training loss, dimensionless"),
        sa.Column("train_mae", sa.Double(), nullable=False,
                  comment="molecular energies, training molecules, Hartree (during the epoch's updates)"),
        sa.Column("train_mae_kcal_mol", sa.Double(), nullable=False, comment="train_mae in kcal/mol"),
        sa.Column("train_atomic_mae", sa.Double(), nullable=True, comment="atomic energies, Hartree (atomic targets)"),
        sa.Column("valid_loss", sa.Double(), nullable=True,
                  comment="validation loss, dimensionless; NULL where the training had no validation molecules"),
        sa.Column("valid_mae", sa.Double(), nullable=True, comment="molecular energies, validation molecules, Hartree"),
        sa.Column("valid_mae_kcal_mol", sa.Double(), nullable=True,
                  comment="valid_mae in kcal/mol: early stopping, learning-rate schedule and k-fold choose on it"),
        sa.Column("valid_atomic_mae", sa.Double(), nullable=True, comment="atomic energies, Hartree (atomic targets)"),
        sa.Column("learning_rate", sa.Double(), nullable=False, comment="Adam learning rate of the epoch"),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("model_id", "fold", "epoch"),
    )


def downgrade() -> None:
    op.drop_table("training_epochs")
