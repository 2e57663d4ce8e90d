"""Optuna tuning on the real PostgreSQL store: trials, pruning, registration, warm start."""

from __future__ import annotations

import optuna
import pytest
from models_testdata import SCHEME, SETTINGS_HASH, labelled, store_labelled
from sqlalchemy import select, text

from atomloop.db import session_scope
from atomloop.store.labels import LabelSource
from atomloop.store.tables import Model, Prediction, Round
from atomloop.tune import SearchScope, latest_best_parameters, optuna_storage, search_name, tune


@pytest.fixture
def rounds(engine) -> list[int]:
    with session_scope(engine) as session:
        created = [Round(index=k) for k in (1, 2)]
        session.add_all(created)
        session.flush()
        return [r.id for r in created]


def test_study_of_three_trials_registers_its_best_model_and_warm_starts_the_next_round(engine, database_url, rounds):
    train_ids = store_labelled(engine, labelled() + labelled(rattle_seed=1))
    test_ids = store_labelled(engine, labelled(("H2O", "CH4"), rattle_seed=5))
    first, second = rounds
    result = tune(
        arch="schnet", target="total", trials=3, labels=LabelSource(SETTINGS_HASH), train_ids=train_ids, test_ids=test_ids, round_id=first,
        epochs=8, device="cpu", pruner_startup_trials=1, pruner_warmup_epochs=2, engine=engine,
    )
    scope = SearchScope("adhoc", LabelSource(SETTINGS_HASH), "schnet", "total")
    assert result.search_name == result.study_name == search_name(scope, 1) == f"adhoc.r1.{SETTINGS_HASH[:12]}.schnet.total"
    assert result.completed + result.pruned == 3 and result.completed >= 1
    assert result.warm_started_from is None

    storage = optuna_storage(database_url)
    study = optuna.load_study(study_name=result.search_name, storage=storage)
    assert len(study.trials) == 3
    assert study.best_trial.params == result.best_params
    assert study.user_attrs["model_id"] == result.model_id
    with session_scope(engine) as session:
        row = session.get(Model, result.model_id)
        assert row.round_id == first
        assert row.metrics["tuning"]["search"] == result.search_name
        assert row.hyperparameters["model"]["num_features"] == result.best_params["num_features"]
        assert row.hyperparameters["training"]["learning_rate"] == result.best_params["learning_rate"]
        # the registered model is the best trial's training (found by its checkpoint), not a new one
        assert row.metrics["training"]["best_valid_mae_kcal_mol"] == pytest.approx(result.best_value, rel=1e-12)
        assert row.metrics["test"]["energy"]["n"] == 2
        # Optuna's tables live in their own schema of the same database
        schemas = set(session.scalars(text("SELECT DISTINCT table_schema FROM information_schema.tables WHERE table_name = 'trials'")))
        assert schemas == {"optuna"}

    # resuming the finished study runs no new trial
    again = tune(arch="schnet", target="total", trials=3, labels=LabelSource(SETTINGS_HASH), train_ids=train_ids,
                 test_ids=test_ids, round_id=first, epochs=8, device="cpu", engine=engine)
    assert len(optuna.load_study(study_name=result.search_name, storage=storage).trials) == 3
    assert again.best_params == result.best_params

    # the next round starts from the previous round's best parameters
    warm = tune(arch="schnet", target="total", trials=1, labels=LabelSource(SETTINGS_HASH), train_ids=train_ids,
                round_id=second, epochs=3, device="cpu", engine=engine)
    assert warm.warm_started_from == result.search_name
    next_study = optuna.load_study(study_name=warm.search_name, storage=storage)
    assert next_study.trials[0].params == result.best_params
    hyperparameters, training = latest_best_parameters(scope, before_round=2)
    assert {**hyperparameters, **training} == result.best_params
    assert set(training) == {"learning_rate", "batch_size"}
    assert latest_best_parameters(SearchScope("adhoc", LabelSource(SETTINGS_HASH), "nequip", "total"), before_round=2) == ({}, {})
    # another label set or another scope never warm-starts from these searches
    assert latest_best_parameters(SearchScope("adhoc", LabelSource("f" * 64), "schnet", "total"), before_round=2) == ({}, {})
    assert latest_best_parameters(SearchScope("other-run", LabelSource(SETTINGS_HASH), "schnet", "total"), before_round=2) == ({}, {})


def test_a_search_for_atomization_labels_trains_and_registers_on_them(engine):
    train_ids = store_labelled(engine, labelled() + labelled(rattle_seed=1))
    test_ids = store_labelled(engine, labelled(("H2O",), rattle_seed=5))
    labels = LabelSource(SETTINGS_HASH, SCHEME, atomization=True)
    result = tune(arch="schnet", target="atomic", trials=1, labels=labels, train_ids=train_ids, test_ids=test_ids,
                  epochs=2, device="cpu", engine=engine)
    assert result.search_name == f"adhoc.r0.{SETTINGS_HASH[:12]}-{SCHEME}-atomization.schnet.atomic"
    with session_scope(engine) as session:
        row = session.get(Model, result.model_id)
        assert row.hyperparameters["labels"]["atomic_column"] == "atomization"
        # the registered model is the trial's training on the atomization labels (found by its checkpoint)
        assert row.metrics["training"]["best_valid_mae_kcal_mol"] == pytest.approx(result.best_value, rel=1e-12)
        water = session.scalars(select(Prediction).where(Prediction.model_id == result.model_id)).one()
    expected = labelled(("H2O",), rattle_seed=5)[0].info["atomization_energy"]
    assert water.reference_energy == pytest.approx(expected, abs=1e-9)
    assert -0.26 < expected < -0.19  # HF/STO-3G atomization energy of water, not its total energy (about -75 Ha)


def test_optuna_url_opens_the_searches_storage(database_url):
    import subprocess
    import sys

    shown = subprocess.run([sys.executable, "-m", "atomloop", "db", "optuna-url"], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    url = shown.stdout.strip()
    assert url.endswith("options=-csearch_path%3Doptuna")
    optuna_storage(database_url)  # creates the schema, as the first search does
    assert optuna.get_all_study_summaries(storage=url) == []
