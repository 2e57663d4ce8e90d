"""Transferability studies: studies, experiments, per-element/per-group errors, and views.

Revision ID: 0003
Revises: 0002
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_VIEWS = Path(__file__).resolve().parents[1] / "views"
VIEWS = ("study_group_errors", "study_element_errors", "study_summary", "study_experiments")


def upgrade() -> None:
    op.create_table(
        "studies",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False, comment="transferability"),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("settings_hash", sa.String(length=64), nullable=False, comment="labelling settings of the targets"),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "experiments",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("study_id", sa.BigInteger(), nullable=False),
        sa.Column("split", sa.String(length=32), nullable=False, comment="in-distribution, size-transfer, group-transfer"),
        sa.Column("target", sa.String(length=80), nullable=False, comment="total, atomic:<scheme>, atomization:<scheme>"),
        sa.Column("scheme", sa.String(length=64), nullable=True),
        sa.Column("atomization", sa.Boolean(), nullable=False),
        sa.Column("architecture", sa.String(length=32), nullable=False),
        sa.Column("strategy", sa.String(length=32), nullable=False, comment="random, adversarial, committee"),
        sa.Column("training_size", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False, comment="done or failed"),
        sa.Column("reason", sa.Text(), nullable=True, comment="why an experiment failed"),
        sa.Column("model_id", sa.BigInteger(), nullable=True),
        sa.Column("train_molecule_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("test_molecule_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("auc", sa.Double(), nullable=True, comment="adversarial ROC AUC, training vs test set"),
        sa.Column("auc_low", sa.Double(), nullable=True),
        sa.Column("auc_high", sa.Double(), nullable=True),
        sa.Column("mae_kcal_mol", sa.Double(), nullable=True, comment="molecular energies, kcal/mol"),
        sa.Column("rmse_kcal_mol", sa.Double(), nullable=True),
        sa.Column("mae_mev_atom", sa.Double(), nullable=True, comment="molecular energy error per atom, meV/atom"),
        sa.Column("atomic_mae_kcal_mol", sa.Double(), nullable=True, comment="atomic energies, all atoms, kcal/mol"),
        sa.Column("atomic_mae_mev", sa.Double(), nullable=True),
        sa.Column("wall_time", sa.Double(), nullable=True, comment="seconds"),
        sa.Column("created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["studies.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "study_id", "split", "target", "architecture", "strategy", "training_size", "seed", name="uq_experiment_cell"
        ),
    )
    op.create_index(op.f("ix_experiments_study_id"), "experiments", ["study_id"], unique=False)
    op.create_table(
        "experiment_errors",
        sa.Column("experiment_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="element or group"),
        sa.Column("key", sa.String(length=32), nullable=False, comment="element symbol or group name"),
        sa.Column("n_molecules", sa.Integer(), nullable=False),
        sa.Column("n_atoms", sa.Integer(), nullable=False),
        sa.Column("mae_kcal_mol", sa.Double(), nullable=True, comment="molecular energies (groups only)"),
        sa.Column("mae_mev_atom", sa.Double(), nullable=True),
        sa.Column("atomic_mae_kcal_mol", sa.Double(), nullable=True, comment="atomic energies (atomic targets)"),
        sa.Column("atomic_mae_mev", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(["experiment_id"], ["experiments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("experiment_id", "kind", "key"),
    )
    op.execute((_VIEWS / "0003_study_views.sql").read_text())


def downgrade() -> None:
    for view in VIEWS:
        op.execute(f"DROP VIEW {view}")
    op.drop_table("experiment_errors")
    op.drop_index(op.f("ix_experiments_study_id"), table_name="experiments")
    op.drop_table("experiments")
    op.drop_table("studies")
