"""The atomic-weight trade-off and the element-mean baseline of a study's atomic errors.

``experiments.atomic_weight``: the weight of the atomic term against the total term of an
atomic or atomization target's loss; part of the experiment's key, so one study trains an
atomic target at several weights. Rows stored before this revision were trained at the default
weight: 1 for atomic and atomization targets, 0 (totals only) for ``total``.

``experiment_atomic_errors.baseline_mae_kcal_mol``: the MAE of the element-mean baseline
(each atom predicted as the mean label of its element over the training atoms). From this
revision on, ``centred_mae_kcal_mol`` subtracts per-element offsets fitted on the model's
training atoms; rows stored before it (fitted on the test atoms) have no baseline and are
computed again when ``atomloop study`` resumes their study
(:func:`atomloop.study.runner.fill_atomic_errors`).

The views gain the new columns last (so the views built on them stand): ``study_experiments``
and ``study_summary`` ``atomic_weight`` (the summary groups by it), ``study_atomic_errors``
``atomic_weight``, ``baseline_mae_kcal_mol`` and ``centred_fraction`` (centred MAE / baseline MAE).

Revision ID: 0012
Revises: 0011
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_HERE = Path(__file__).resolve().parent
OLD_KEY = ("study_id", "split", "target", "architecture", "strategy", "training_size", "seed")
CENTRED_COMMENT = "the same after subtracting each element's mean error over the model's training atoms, kcal/mol"
OLD_CENTRED_COMMENT = "the same after subtracting each element's mean error over the experiment's test atoms, kcal/mol"
VIEWS = """
CREATE OR REPLACE VIEW study_experiments AS
SELECT s.name AS study, e.id AS experiment_id, e.split, e.target, e.scheme, e.atomization,
       e.architecture, e.strategy, e.training_size, e.seed, e.status, e.reason, e.model_id,
       cardinality(e.train_molecule_ids) AS n_train, cardinality(e.test_molecule_ids) AS n_test,
       e.auc, e.auc_low, e.auc_high,
       e.mae_kcal_mol, e.rmse_kcal_mol, e.mae_mev_atom, e.atomic_mae_kcal_mol, e.atomic_mae_mev,
       e.wall_time AS wall_time_s, e.auc_p_value, e.atomic_weight
FROM experiments AS e JOIN studies AS s ON s.id = e.study_id;

CREATE OR REPLACE VIEW study_summary AS
SELECT study, split, target, architecture, strategy, training_size,
       count(*) AS n_seeds,
       avg(auc) AS auc_mean,
       avg(mae_kcal_mol) AS mae_kcal_mol_mean, stddev_samp(mae_kcal_mol) AS mae_kcal_mol_std,
       avg(mae_mev_atom) AS mae_mev_atom_mean, stddev_samp(mae_mev_atom) AS mae_mev_atom_std,
       avg(atomic_mae_mev) AS atomic_mae_mev_mean, stddev_samp(atomic_mae_mev) AS atomic_mae_mev_std,
       atomic_weight
FROM study_experiments
WHERE status = 'done'
GROUP BY study, split, target, architecture, strategy, training_size, atomic_weight;

CREATE OR REPLACE VIEW study_atomic_errors AS
SELECT x.study, x.experiment_id, x.split, x.target, x.architecture, x.strategy, x.training_size, x.seed,
       r.scheme AS reference_scheme, r.element, r.environment, r.n_atoms,
       r.mae_kcal_mol, r.centred_mae_kcal_mol, r.offset_kcal_mol,
       x.atomic_weight, r.baseline_mae_kcal_mol,
       r.centred_mae_kcal_mol / NULLIF(r.baseline_mae_kcal_mol, 0) AS centred_fraction
FROM experiment_atomic_errors AS r JOIN study_experiments AS x ON x.experiment_id = r.experiment_id
"""


def _revision(name: str):
    spec = importlib.util.spec_from_file_location(f"revision_{name[:4]}", _HERE / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    op.add_column("experiments", sa.Column(
        "atomic_weight", sa.Double(), nullable=False, server_default="1",
        comment="weight of the atomic term against the total term of the loss; 0 for target total",
    ))
    op.execute("UPDATE experiments SET atomic_weight = 0 WHERE target = 'total'")
    op.drop_constraint("uq_experiment_cell", "experiments", type_="unique")
    op.create_unique_constraint("uq_experiment_cell", "experiments", [*OLD_KEY, "atomic_weight"])
    op.add_column("experiment_atomic_errors", sa.Column(
        "baseline_mae_kcal_mol", sa.Double(), nullable=True,
        comment="MAE of the element-mean baseline (each element's mean label over the training atoms), kcal/mol",
    ))
    op.alter_column("experiment_atomic_errors", "centred_mae_kcal_mol", existing_type=sa.Double(),
                    existing_nullable=False, comment=CENTRED_COMMENT, existing_comment=OLD_CENTRED_COMMENT)
    op.execute(VIEWS)


def downgrade() -> None:
    """Keep the experiments at the default weight, drop the columns with the views over them,
    then rebuild the views as revisions 0003, 0007 and 0009 did."""
    op.execute("DELETE FROM experiments WHERE atomic_weight <> CASE WHEN target = 'total' THEN 0 ELSE 1 END")
    op.drop_constraint("uq_experiment_cell", "experiments", type_="unique")
    op.execute("ALTER TABLE experiment_atomic_errors DROP COLUMN baseline_mae_kcal_mol CASCADE")
    op.execute("ALTER TABLE experiments DROP COLUMN atomic_weight CASCADE")
    op.create_unique_constraint("uq_experiment_cell", "experiments", list(OLD_KEY))
    op.alter_column("experiment_atomic_errors", "centred_mae_kcal_mol", existing_type=sa.Double(),
                    existing_nullable=False, comment=OLD_CENTRED_COMMENT, existing_comment=CENTRED_COMMENT)
    op.execute((_HERE.parent / "views" / "0003_study_views.sql").read_text())
    permutation_test = _revision("0009_study_permutation_test.py")
    op.execute(permutation_test._revision_0007_view())
    op.execute(permutation_test.VIEW)
