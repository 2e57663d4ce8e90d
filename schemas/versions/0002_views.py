"""SQL views for users and the read-only ASE schema for live `ase db` browsing.

Revision ID: 0002
Revises: 0001
"""

from pathlib import Path

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_VIEWS = Path(__file__).resolve().parents[1] / "views"


def upgrade() -> None:
    op.execute((_VIEWS / "0002_user_views.sql").read_text())
    op.execute((_VIEWS / "0002_ase_views.sql").read_text())


def downgrade() -> None:
    op.execute("DROP SCHEMA ase CASCADE")
    for view in ("model_metrics_by_round", "atomic_energies_by_element", "failed_calculations", "labelled_molecules"):
        op.execute(f"DROP VIEW {view}")
