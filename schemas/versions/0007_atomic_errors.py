"""The study's atomic-energy errors of every model against every partition scheme's labels:
per experiment, scheme, element (``all`` for every atom) and local environment (``seen`` in
the training set, ``unseen``, or ``all``), the raw MAE and the MAE after removing the
per-element mean error (how a total-trained model's atomic energies are compared); and the
view ``study_atomic_errors`` over it, one row per experiment, scheme, element and environment.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

VIEW = """
CREATE VIEW study_atomic_errors AS
SELECT x.study, x.experiment_id, x.split, x.target, x.architecture, x.strategy, x.training_size, x.seed,
       r.scheme AS reference_scheme, r.element, r.environment, r.n_atoms,
       r.mae_kcal_mol, r.centred_mae_kcal_mol, r.offset_kcal_mol
FROM experiment_atomic_errors AS r JOIN study_experiments AS x ON x.experiment_id = r.experiment_id
"""


def upgrade() -> None:
    op.create_table(
        "experiment_atomic_errors",
        sa.Column("experiment_id", sa.BigInteger(), sa.ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("scheme", sa.String(64), primary_key=True, comment="the partition scheme whose labels are the reference"),
        sa.Column("element", sa.String(8), primary_key=True, comment="element symbol, or 'all'"),
        sa.Column("environment", sa.String(8), primary_key=True,
                  comment="'seen': the atom's radius-2 bond-graph environment occurs in the training set; 'unseen'; 'all'"),
        sa.Column("n_atoms", sa.Integer(), nullable=False),
        sa.Column("mae_kcal_mol", sa.Double(), nullable=False, comment="mean |predicted - reference| atomic energy, kcal/mol"),
        sa.Column("centred_mae_kcal_mol", sa.Double(), nullable=False,
                  comment="the same after subtracting each element's mean error over the experiment's test atoms, kcal/mol"),
        sa.Column("offset_kcal_mol", sa.Double(), comment="the element's mean error that centring removes (NULL for 'all'), kcal/mol"),
    )
    op.execute(VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW study_atomic_errors")
    op.drop_table("experiment_atomic_errors")
