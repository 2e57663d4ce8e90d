"""Models that learn what they are asked: training curves stored as rows and TensorBoard event
files, the validation rule (hold-out of max(10 %, 50) or k folds), unseen elements marked."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from models_testdata import SETTINGS_HASH, labelled, store_labelled
from sqlalchemy import delete, func, select

from atomloop.db import session_scope
from atomloop.errors import InputError
from atomloop.models.curves import run_directory
from atomloop.models.evaluate import UnseenElementWarning, unseen_elements
from atomloop.models.fitting import choose_validation, fit, k_fold_epochs, split_training_data
from atomloop.models.training import TrainingConfig, new_model, training_fingerprint
from atomloop.recipes.evaluate import evaluate_registered
from atomloop.recipes.train import prepare_data, train_and_register
from atomloop.store.labels import LabelSource
from atomloop.store.registry import EPOCH_COLUMNS, training_curves
from atomloop.store.tables import Model, TrainingEpoch

TINY = {"num_features": 16, "num_layers": 2}
NO_NITROGEN = ("H2O", "CH4", "CO", "H2CO", "C2H2", "C2H4", "CH3OH")


def _molecules(n: int, conformers: int = 1) -> dict[int, Atoms]:
    """``n`` unlabelled stand-ins, ``conformers`` per composition group."""
    return {i: Atoms("H2", info={"composition_hash": f"c{i // conformers}"}) for i in range(n)}


def test_validation_holds_out_at_least_50_from_150_molecules_and_folds_below():
    large = choose_validation(_molecules(150), range(150))
    assert (large.kind, len(large.valid_ids), large.folds) == ("holdout", 50, [])
    assert len(choose_validation(_molecules(600), range(600)).valid_ids) == 60  # 10 % above 500
    below = choose_validation(_molecules(149), range(149))
    assert below.kind == "k-fold" and below.valid_ids == []
    assert sorted(len(f) for f in below.folds) == [29, 30, 30, 30, 30]
    assert sorted(i for f in below.folds for i in f) == list(range(149))

    # conformers of one molecule never straddle train/validation or two folds
    grouped = _molecules(300, conformers=3)
    holdout = choose_validation(grouped, range(300))
    assert holdout.kind == "holdout" and len(holdout.valid_ids) == 51
    assert {i // 3 for i in holdout.valid_ids}.isdisjoint({i // 3 for i in set(range(300)) - set(holdout.valid_ids)})
    folded = choose_validation(_molecules(60, conformers=2), range(60), folds=4, seed=3)
    assert len(folded.folds) == 4 and all(len(f) in (14, 16) for f in folded.folds)
    assert all({i // 2 for i in a}.isdisjoint({i // 2 for i in b}) for a in folded.folds for b in folded.folds if a is not b)
    assert folded == choose_validation(_molecules(60, conformers=2), range(60), folds=4, seed=3)
    assert folded != choose_validation(_molecules(60, conformers=2), range(60), folds=4, seed=4)

    # forced rules: the old 10 % hold-out for tiny sets, k folds for large ones, k at most the groups
    assert len(choose_validation(_molecules(20), range(20), rule="holdout").valid_ids) == 2
    assert len(choose_validation(_molecules(600), range(600), rule="k-fold").folds) == 5
    assert len(choose_validation(_molecules(3), range(3)).folds) == 3
    with pytest.raises(InputError, match="at least 2 compositions"):
        choose_validation(_molecules(4, conformers=4), range(4))
    with pytest.raises(InputError, match="unknown validation"):
        TrainingConfig(validation="leave-one-out")

    # ids a caller gives are used as they are
    data = split_training_data(LabelSource(SETTINGS_HASH), _molecules(30), valid_ids=[0, 1])
    assert (data.valid_ids, data.folds, data.validation_rule) == ([0, 1], [], "given")


def test_k_fold_epochs_end_the_plateau_of_the_mean_curve_not_its_noisy_minimum():
    plateau = np.array([[50.0, 30.0, 21.0, 23.0, 22.0, 23.0], [60.0, 32.0, 25.0, 23.0, 24.0, 23.0],
                        [55.0, 28.0, 20.0, 23.0, 23.0, 22.0]])  # mean 55, 30, 22, 23, 23, 22.7; SE at epoch 3: 1.53
    assert k_fold_epochs(plateau) == 6
    rising = plateau.copy()
    rising[:, 4:] += 10.0  # validation rises significantly after epoch 4: stop there
    assert k_fold_epochs(rising) == 4
    assert k_fold_epochs(plateau[:1]) == 3  # one fold: no spread, its minimum


def test_k_fold_training_takes_the_epoch_of_the_mean_fold_curve_then_trains_on_every_molecule(atomloop_home):
    """Ten molecules and HF (its fold's training part has no fluorine: left out of that fold's
    curve, without a warning: none of its errors is used); 3 folds of 6 epochs, then all 11 molecules for the chosen epochs."""
    molecules = labelled() + labelled(("HF",))
    atoms_by_id = {i: atoms for i, atoms in enumerate(molecules)}
    config = TrainingConfig(epochs=6, batch_size=4, validation="k-fold", folds=3, progress=False)
    data = split_training_data(LabelSource(SETTINGS_HASH), atoms_by_id, validation="k-fold", folds=3)
    assert len(data.folds) == 3 and data.valid_ids == [] and data.train_ids == list(range(11))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnseenElementWarning)
        result, _ = fit("schnet", data, config, TINY)
    assert sorted(result.fold_histories) == [1, 2, 3]
    assert all(len(history) == 6 for history in result.fold_histories.values())
    curves = np.array([[r["valid_mae_kcal_mol"] for r in h] for h in result.fold_histories.values()])
    assert result.best_epoch == k_fold_epochs(curves)
    assert result.best_valid_mae_kcal_mol == pytest.approx(curves.mean(axis=0)[result.best_epoch - 1], rel=1e-12)
    assert [r["epoch"] for r in result.history] == list(range(1, result.best_epoch + 1))
    assert not any(key.startswith("valid_") for r in result.history for key in r)
    assert data.validation_record(result) == {
        "kind": "k-fold", "n": 11, "k": 3, "best_epoch": result.best_epoch, "rule": "k-fold"
    }
    # the rule is part of the training's identity: a checkpoint of another rule is not resumed
    model = new_model("schnet", molecules, **TINY)
    assert training_fingerprint(model, molecules, None, config) != training_fingerprint(
        model, molecules, None, TrainingConfig(epochs=6, batch_size=4, validation="holdout", folds=3, progress=False)
    )


def _as_row(record: dict) -> dict:
    return {name: record.get(name) for name in EPOCH_COLUMNS}


def test_every_epoch_of_every_training_is_a_row_and_an_event_file_scalar(engine):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ids = store_labelled(engine, labelled())
    test_ids = store_labelled(engine, labelled(("H2O", "CH4"), rattle_seed=5))
    source = LabelSource(SETTINGS_HASH, "mo-pm-iao")
    arguments = dict(target="atomic", labels=source, train_ids=ids, engine=engine)
    training = {"epochs": 4, "batch_size": 5, "folds": 2}
    model_id = train_and_register(
        arch="schnet", test_ids=test_ids, hyperparameters=TINY, training=training, device="cpu", progress=False,
        **arguments,
    )
    # the same fit again returns the finished trainings from their checkpoints: the registered result
    data = prepare_data(source, train_ids=ids, validation="auto", folds=2, engine=engine)
    result, _ = fit("schnet", data, TrainingConfig(target="atomic", device="cpu", progress=False, **training), TINY)
    with session_scope(engine) as session:
        row = session.get(Model, model_id)
        curves = training_curves(session, model_id)
        assert row.metrics["training"]["validation"] == {
            "kind": "k-fold", "n": 10, "k": 2, "best_epoch": result.best_epoch, "rule": "auto"
        }
        assert row.metrics["training"]["epochs"] == result.best_epoch
        directory = row.metrics["training"]["tensorboard_dir"]
    assert curves[0] == [_as_row(r) for r in result.history]
    assert all(r["valid_mae_kcal_mol"] is None and r["train_atomic_mae"] > 0 for r in curves[0])
    assert {fold: rows for fold, rows in curves.items() if fold} == {
        fold: [_as_row(r) for r in history] for fold, history in result.fold_histories.items()
    }
    assert [len(rows) for rows in curves.values()] == [result.best_epoch, 4, 4]

    for fold, rows in curves.items():
        events = EventAccumulator(str(run_directory(Path(directory), fold)))
        events.Reload()
        tags = {name for name in EPOCH_COLUMNS[1:] if rows[0][name] is not None}
        assert set(events.Tags()["scalars"]) == tags
        for tag in tags:
            scalars = events.Scalars(tag)
            assert [s.step for s in scalars] == [r["epoch"] for r in rows]
            assert [s.value for s in scalars] == pytest.approx([r[tag] for r in rows], rel=1e-6)  # float32 in the file

    with session_scope(engine) as session:  # the curves go with their model
        session.execute(delete(Model).where(Model.id == model_id))
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(TrainingEpoch)) == 0


def test_molecules_with_elements_the_training_set_lacks_are_warned_about_and_marked(engine):
    train_ids = store_labelled(engine, labelled(NO_NITROGEN) + labelled(NO_NITROGEN, rattle_seed=1))
    test_ids = store_labelled(engine, labelled(("NH3", "HCN", "CH4"), rattle_seed=5))
    with pytest.warns(UnseenElementWarning, match=r"^test molecules: 2 of 3 molecules .*\(N\)"):
        model_id = train_and_register(
            arch="schnet", target="total", labels=LabelSource(SETTINGS_HASH), train_ids=train_ids, test_ids=test_ids,
            hyperparameters=TINY, training={"epochs": 2, "validation": "holdout"}, device="cpu", progress=False,
            engine=engine,
        )
    with session_scope(engine) as session:
        metrics = session.get(Model, model_id).metrics
    assert (metrics["test"]["unseen_elements"], metrics["test"]["unseen_element_molecules"]) == (["N"], 2)
    assert metrics["training"]["validation"] == {  # 10 % of 14: one molecule, with its rattled conformer
        "kind": "holdout", "n": 2, "k": None, "best_epoch": metrics["training"]["best_epoch"], "rule": "holdout"
    }
    assert "unseen_elements" not in metrics["train"] and "unseen_elements" not in metrics["valid"]
    with pytest.warns(UnseenElementWarning, match=rf"model {model_id}, test molecules: 2 of 3"):
        again = evaluate_registered(model_id, engine=engine)
    assert again["test"]["unseen_elements"] == ["N"]
    assert unseen_elements(labelled(("HCN", "N2", "H2O")), ["H", "O"]) == unseen_elements(
        labelled(("N2", "HCN", "H2O")), ["O", "H"]
    )
    assert unseen_elements(labelled(("HCN", "N2", "H2O")), ["H", "O"]).elements == ["C", "N"]
