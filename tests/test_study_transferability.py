"""The transferability study end to end on a tiny configuration: real PostgreSQL, PySCF
(HF/STO-3G) labels partitioned in AO and MO schemes, real SchNet/NequIP training."""

from __future__ import annotations

import pytest
from ase.build import molecule
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from atomloop.db.orm import Calculation, Model, Prediction
from atomloop.ingest import ingest_atoms
from atomloop.study import StudyConfig, run_study
from atomloop.study.tables import ExperimentError, Study, StudyExperiment

TINY_MOLECULES = {
    "CH4": "alkane", "C2H6": "alkane", "C3H8": "alkane", "C2H4": "alkene", "C2H2": "alkyne",
    "CH3OH": "alcohol", "CH3CH2OH": "alcohol", "CH3OCH3": "ether", "CH3CN": "nitrile", "H2CO": "aldehyde",
    "CH3CHO": "aldehyde", "CH3COCH3": "ketone", "HCOOH": "acid", "HCOOCH3": "ester", "C4H4O": "heteroaromatic",
    "CH3CONH2": "amide",
}
TINY = StudyConfig(
    dataset="tiny", targets=("total", "atomic:ao-eda", "atomic:mo-pm-iao"), architectures=("schnet", "nequip"),
    sizes=(3, 4), seeds=(0,), epochs=1, transfer_groups=("heteroaromatic", "ester", "amide", "acid"),
    hyperparameters={"schnet": {"num_layers": 1, "num_features": 8, "num_rbf": 8}, "nequip": {"num_layers": 1, "num_features": 4}},
    name="tiny", device="cpu",
)


@pytest.fixture
def tiny_dataset(engine) -> list[int]:
    atoms = []
    for name, group in TINY_MOLECULES.items():
        a = molecule(name)
        a.info["tags"] = [group]
        atoms.append(a)
    return ingest_atoms(atoms, source="test", tags=["tiny"], engine=engine).molecule_ids


def test_study_runs_every_experiment_once(engine, tiny_dataset, tmp_path):
    result = run_study(TINY, engine=engine, progress=False)
    n = len(TINY.experiments())
    assert (result.done, result.failed, result.skipped) == (n, 0, 0)
    with Session(engine) as session:
        rows = session.scalars(select(StudyExperiment)).all()
        assert len(rows) == n and all(r.status == "done" for r in rows)
        print(session.execute(text("select split, target, architecture, strategy, training_size, auc, mae_kcal_mol, atomic_mae_mev from study_experiments order by 1,2,3,4,5")).all())
        n_models = session.scalar(select(func.count()).select_from(Model))
    again = run_study(TINY, engine=engine, progress=False)
    assert (again.done, again.skipped) == (0, n)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Model)) == n_models
