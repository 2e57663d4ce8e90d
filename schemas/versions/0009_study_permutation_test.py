"""The permutation test beside each study experiment's adversarial AUC: ``auc_p_value``
(one-sided, H1: the classifier tells the training set from the test set, AUC > 0.5), the same
test the loop's rounds store. ``study_experiments`` gains the column (last, so the views built
on it stand). Experiments stored before this revision keep NULL until ``atomloop study``
resumes their study, which fills it in (:func:`atomloop.study.runner.fill_permutation_tests`).

Revision ID: 0009
Revises: 0008
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_HERE = Path(__file__).resolve().parent
VIEW = """
CREATE OR REPLACE VIEW study_experiments AS
SELECT s.name AS study, e.id AS experiment_id, e.split, e.target, e.scheme, e.atomization,
       e.architecture, e.strategy, e.training_size, e.seed, e.status, e.reason, e.model_id,
       cardinality(e.train_molecule_ids) AS n_train, cardinality(e.test_molecule_ids) AS n_test,
       e.auc, e.auc_low, e.auc_high,
       e.mae_kcal_mol, e.rmse_kcal_mol, e.mae_mev_atom, e.atomic_mae_kcal_mol, e.atomic_mae_mev,
       e.wall_time AS wall_time_s, e.auc_p_value
FROM experiments AS e JOIN studies AS s ON s.id = e.study_id
"""


def _revision_0007_view() -> str:
    """``study_atomic_errors`` as revision 0007 creates it (built on ``study_experiments``)."""
    spec = importlib.util.spec_from_file_location("revision_0007", _HERE / "0007_atomic_errors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.VIEW


def upgrade() -> None:
    op.add_column("experiments", sa.Column(
        "auc_p_value", sa.Double(), nullable=True,
        comment="one-sided permutation p-value of the AUC, (1 + #null >= auc) / (B + 1)",
    ))
    op.execute(VIEW)


def downgrade() -> None:
    """Drop the column with the views over it, then rebuild them as revisions 0003 and 0007 did."""
    op.execute("ALTER TABLE experiments DROP COLUMN auc_p_value CASCADE")
    op.execute((_HERE.parent / "views" / "0003_study_views.sql").read_text())
    op.execute(_revision_0007_view())
