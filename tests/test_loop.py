"""The active-learning flow end to end: real PostgreSQL, PySCF (HF/STO-3G), training, Prefect."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from atomloop.ingest import ingest_atoms
from atomloop.loop import LoopConfig
from atomloop.loop.entrypoints import load_flow
from atomloop.store.tables import (
    AdversarialValidation,
    AtomicEnergy,
    Calculation,
    CalculationStatus,
    Model,
    Prediction,
    Round,
    RoundStatus,
    Run,
    Selection,
)

SMALL = ["CH4", "NH3", "H2O", "HF", "CO", "HCN", "H2CO", "CH3OH", "C2H4", "C2H2", "CH3CH2OH"]


def uranium_hexafluoride() -> Atoms:
    """A real molecule STO-3G has no basis for: its calculation must fail, and be recorded."""
    offsets = 2.0 * np.vstack([np.eye(3), -np.eye(3)])
    return Atoms("UF6", positions=np.vstack([[0.0, 0.0, 0.0], offsets]))


TINY = dict(
    pool="tiny", initial=3, test_size=2, ood_size=3, k=2, rounds=2, method="hf", basis="sto-3g",
    schemes=("mo-pm-iao",), strategy="adversarial", architectures=("schnet", "nequip"), target="atomic",
    epochs=3, stop_on_auc=False, seed=1, name="tiny",
)


@pytest.fixture
def tiny_pool(engine) -> list[int]:
    atoms = [molecule(name) for name in SMALL] + [uranium_hexafluoride()]
    return ingest_atoms(atoms, source="test", tags=["tiny"], engine=engine).molecule_ids


def test_two_round_loop_records_every_step(engine, tiny_pool, prefect_api):
    flow = load_flow("active_learning.py:active_learning")
    table = flow(config=LoopConfig(**TINY))
    assert table.splitlines()[0].split()[:3] == ["round", "labels", "AUC"]
    with Session(engine) as session:
        run = session.scalars(select(Run)).one()
        assert run.name == "tiny" and run.status == "done"
        rounds = session.scalars(select(Round).where(Round.run_id == run.id).order_by(Round.index)).all()
        assert [(r.index, r.status, r.step) for r in rounds] == [(i, RoundStatus.done, "evaluated") for i in range(3)]
        assert all({"selected", "labelled", "trained", "evaluated"} <= set(r.timings) for r in rounds)
        per_round = [session.scalars(select(Selection).where(Selection.round_id == r.id)).all() for r in rounds]
        assert [len(s) for s in per_round] == [3, 2, 2]
        assert {s.strategy for s in per_round[0]} == {"initial"}
        assert {s.strategy for s in per_round[1] + per_round[2]} == {"adversarial"}
        chosen = [s.molecule_id for group in per_round for s in group]
        assert len(chosen) == len(set(chosen))  # nothing selected twice
        validations = session.scalars(select(AdversarialValidation).order_by(AdversarialValidation.id)).all()
        assert [v.round_id for v in validations] == [rounds[1].id, rounds[2].id]
        assert all(0.0 <= v.auc_low <= v.auc <= v.auc_high <= 1.0 for v in validations)
        # labels: 3 initial + 2 test + 3 OOD + 2 + 2 selected, one calculation each, UF6 failed with its reason
        calculations = session.scalars(select(Calculation)).all()
        assert len(calculations) == 12
        failed = [c for c in calculations if c.status == CalculationStatus.failed]
        assert len(failed) == 1 and "Basis set not found for U" in failed[0].reason
        done = [c for c in calculations if c.status == CalculationStatus.done]
        for calculation in done:
            energies = session.scalars(
                select(AtomicEnergy.energy).where(AtomicEnergy.calculation_id == calculation.id)
            ).all()
            assert sum(energies) == pytest.approx(calculation.total_energy, abs=1e-8)
        # models: both architectures every round, trained on the growing labelled set
        models = session.scalars(select(Model).order_by(Model.id)).all()
        assert [(m.architecture, m.round_id) for m in models] == [
            (arch, r.id) for r in rounds for arch in ("schnet", "nequip")
        ]
        # 3, 5, 7 labelled training molecules, all trained on: below 150 the epochs come from k folds
        assert [len(m.training_molecule_ids) for m in models] == [3, 3, 5, 5, 7, 7]
        assert {m.metrics["training"]["validation"]["rule"] for m in models} == {"auto"}
        assert all(m.target == "atomic" and m.scheme == "mo-pm-iao" for m in models)
        assert all(m.metrics["test"]["energy"]["mae_kcal_mol"] > 0 for m in models)
        # OOD predictions exist for the labelled OOD molecules only (UF6 has no label)
        ood_predictions = session.scalar(
            select(func.count()).select_from(Prediction).where(Prediction.model_id == models[0].id, Prediction.split == "ood_test")
        )
        assert ood_predictions == 2


def test_rerun_with_same_inputs_resumes_and_computes_nothing(engine, tiny_pool, prefect_api):
    flow = load_flow("active_learning.py:active_learning")
    flow(config=LoopConfig(**{**TINY, "rounds": 1}))
    with Session(engine) as session:
        before = (
            session.scalar(select(func.count()).select_from(Calculation)),
            session.scalar(select(func.count()).select_from(Model)),
            session.scalar(select(func.max(Calculation.finished))),
        )
    flow(config=LoopConfig(**{**TINY, "rounds": 1}))
    with Session(engine) as session:
        after = (
            session.scalar(select(func.count()).select_from(Calculation)),
            session.scalar(select(func.count()).select_from(Model)),
            session.scalar(select(func.max(Calculation.finished))),
        )
        assert session.scalar(select(func.count()).select_from(Run)) == 1
    assert after == before


def test_config_run_name_is_a_hash_of_the_inputs():
    assert LoopConfig(strategy="adversarial").run_name == "al-faef06c7ca9d"  # default inputs' name from 0.1.0 on
    assert LoopConfig().run_name == "al-92572177bfd8"  # lcmd is the default now: a run of its own
    assert LoopConfig(atomic_weight=1.0).run_name == LoopConfig().run_name != LoopConfig(atomic_weight=2.0).run_name
    first = LoopConfig(pool_tag="a", initial=5)
    assert first.run_name == LoopConfig(pool_tag="a", initial=5, device="cpu").run_name
    assert first.run_name != LoopConfig(pool_tag="a", initial=6).run_name
    with pytest.raises(ValueError, match="unknown strategy"):
        LoopConfig(strategy="greedy")


def test_splits_cover_every_element_and_are_disjoint():
    from atomloop.loop.state import draw_splits

    names = SMALL + ["CH3Cl", "CH3CH2Cl", "C6H6", "C4H4O", "CH3COOH", "CH3CONH2", "C3H8", "CH3CH2OCH3"]
    atoms = [molecule(name) for name in names]
    ids = np.arange(1, len(atoms) + 1)
    element_sets = [frozenset(a.numbers.tolist()) for a in atoms]
    heavy_atoms = np.array([sum(a.numbers > 1) for a in atoms])
    config = LoopConfig(initial=4, test_size=3, ood_size=3, k=2, seed=0)
    splits = draw_splits(ids, heavy_atoms, element_sets, config)
    assert splits == draw_splits(ids, heavy_atoms, element_sets, config)  # seeded
    assert len(splits["train"]) >= 4 and [len(splits[s]) for s in ("test", "ood_test")] == [3, 3]
    members = [i for split in splits.values() for i in split]
    assert sorted(members) == ids.tolist()  # a partition of the pool
    by_id = dict(zip(ids.tolist(), element_sets))
    in_distribution = set(ids.tolist()) - set(splits["ood_test"])
    needed = set().union(*(by_id[i] for i in in_distribution))
    assert set().union(*(by_id[i] for i in splits["train"])) == needed  # Cl and F included
    heavy = dict(zip(ids.tolist(), heavy_atoms.tolist()))
    assert min(heavy[i] for i in splits["ood_test"]) >= max(heavy[i] for i in splits["test"])


def test_committee_strategy_uses_both_models_pool_predictions(engine, tiny_pool, prefect_api):
    flow = load_flow("active_learning.py:active_learning")
    flow(config=LoopConfig(**{**TINY, "rounds": 1, "strategy": "committee", "name": "committee"}))
    with Session(engine) as session:
        round_0, round_1 = session.scalars(select(Round).order_by(Round.index)).all()
        picked = session.scalars(select(Selection).where(Selection.round_id == round_1.id)).all()
        assert [s.strategy for s in picked] == ["committee", "committee"]
        assert all(s.score is not None and s.score >= 0 for s in picked)  # std of the models, Hartree/atom
        round_0_models = session.scalars(select(Model.id).where(Model.round_id == round_0.id)).all()
        pool_predictions = session.scalars(
            select(Prediction.molecule_id).where(Prediction.model_id.in_(round_0_models), Prediction.split == "pool")
        ).all()
        assert {s.molecule_id for s in picked} <= set(pool_predictions)
        assert len(pool_predictions) == 2 * len(set(pool_predictions))  # one per architecture


def test_tuned_every_second_round_later_rounds_reuse_the_best_parameters(engine, tiny_pool, prefect_api):
    flow = load_flow("active_learning.py:active_learning")
    tuned = {"rounds": 1, "architectures": ("schnet",), "tune_every": 2, "tune_trials": 2, "name": "tuned"}
    flow(config=LoopConfig(**{**TINY, **tuned}))
    with Session(engine) as session:
        tuned, reused = session.scalars(select(Model).order_by(Model.id)).all()
    assert tuned.metrics["tuning"]["search"] == f"tuned.r0.{tuned.settings_hash[:12]}-{tuned.scheme}.schnet.atomic"
    assert "tuning" not in reused.metrics
    import optuna

    from atomloop.tune.storage import optuna_storage

    study = optuna.load_study(study_name=tuned.metrics["tuning"]["search"], storage=optuna_storage())
    for name, value in study.best_trial.params.items():
        if name in reused.hyperparameters:
            assert reused.hyperparameters[name] == value
