"""``atomloop train`` / ``tune`` with ``--run NAME --round INDEX`` train on that round's
training set (the run's molecules selected up to that round, labelled), as the loop does, and
test on the run's test and OOD molecules: never on the run's other molecules or the store's."""

from __future__ import annotations

import re

import pytest
from ase.build import molecule
from models_testdata import labelled, store_labelled

from atomloop.db import session_scope
from atomloop.store.runs import create_run, record_initial_selection
from atomloop.store.selections import get_or_create_round
from atomloop.store.tables import Model

TINY = ("--epochs", "1", "--device", "cpu")


@pytest.fixture
def run_store(engine) -> dict:
    """Run ``r`` with rounds 0-2 in a store that also holds the run's labelled test, OOD and
    pool molecules and labelled molecules of no run: the ids by role and the rounds' ids."""
    (a, b, c, d, e, f, pool, test_1, test_2, ood, *outside) = store_labelled(
        engine, labelled() + labelled(("H2O", "NH3"), rattle_seed=1)
    )
    (unlabelled,) = store_labelled(engine, [molecule("HF")], label=False)  # selected in round 1, never labelled
    with session_scope(engine) as session:
        run_id = create_run(session, "r", {}, {
            "train": [a, b, c], "test": [test_1, test_2], "ood_test": [ood], "pool": [d, e, f, pool, unlabelled],
        })
        rounds = [get_or_create_round(session, run_id, index).id for index in range(3)]
        for round_id, chosen in zip(rounds, ([a, b, c], [d, unlabelled, e], [f]), strict=True):
            record_initial_selection(session, round_id, chosen)
    return {"round_sets": [sorted([a, b, c]), sorted([a, b, c, d, e])], "test": [test_1, test_2], "ood": [ood],
            "rounds": rounds, "outside": outside}


def _registered(out: str) -> Model:
    from atomloop.db.engine import get_engine

    model_id = int(re.search(r"model (\d+): ", out).group(1))
    with session_scope(get_engine()) as session:
        row = session.get(Model, model_id)
        session.expunge(row)
        return row


def _trained_and_validated_on(row: Model) -> list[int]:
    return sorted(row.training_molecule_ids + row.hyperparameters["validation_molecule_ids"])


@pytest.mark.filterwarnings("ignore::atomloop.models.evaluate.UnseenElementWarning")  # round 0: 2 molecules train
@pytest.mark.parametrize("index", [0, 1])
def test_train_with_run_and_round_trains_on_that_rounds_training_set_only(run_store, atomloop, index):
    status, out, err = atomloop("train", "--arch", "schnet", "--hp", "num_features=16", "--hp", "num_layers=1",
                                "--validation", "holdout", "--run", "r", "--round", str(index), *TINY)
    assert status == 0, err
    row = _registered(out)
    assert row.round_id == run_store["rounds"][index]
    assert _trained_and_validated_on(row) == run_store["round_sets"][index]
    assert len(row.hyperparameters["validation_molecule_ids"]) == 1  # a hold-out of 10 %, at least one molecule
    assert row.hyperparameters["test_molecule_ids"] == run_store["test"]
    assert row.hyperparameters["ood_molecule_ids"] == run_store["ood"]
    assert f", {len(row.training_molecule_ids)} training molecules," in out


def test_tune_with_run_and_round_searches_and_registers_on_that_rounds_training_set(run_store, atomloop):
    status, out, err = atomloop("tune", "--arch", "schnet", "--trials", "1", "--run", "r", "--round", "1", *TINY)
    assert status == 0, err
    assert re.search(r"tuning search r\.r1\.[0-9a-f]{12}\.schnet\.total: 1 complete", out), out
    row = _registered(out)
    assert row.round_id == run_store["rounds"][1]
    # five molecules: validated by k folds of the training set, the model trained on all of it
    assert row.training_molecule_ids == run_store["round_sets"][1]
    assert row.hyperparameters["validation_molecule_ids"] == []
    assert row.hyperparameters["test_molecule_ids"] == run_store["test"]
    assert row.hyperparameters["ood_molecule_ids"] == run_store["ood"]
