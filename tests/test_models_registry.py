"""Store integration: train on labelled rows, register, predict, load back (real PostgreSQL)."""

from __future__ import annotations

import numpy as np
import pytest
from ase import units
from models_testdata import SCHEME, SETTINGS_HASH, labelled, store_labelled
from sqlalchemy import select

from atomloop.db import session_scope
from atomloop.errors import InputError
from atomloop.models.evaluate import predict
from atomloop.recipes import registered_calculator
from atomloop.recipes.evaluate import evaluate_registered, predict_and_store
from atomloop.recipes.registered_model import load_registered_model
from atomloop.recipes.train import train_and_register
from atomloop.store.labels import LabelSource
from atomloop.store.registry import latest_models
from atomloop.store.tables import Model, Prediction

FAST = {"epochs": 15, "batch_size": 5, "validation": "holdout"}  # 20 molecules: the old 10 % hold-out, fast
TINY = {"num_features": 16, "num_layers": 2}


@pytest.fixture
def labelled_store(engine):
    train_ids = store_labelled(engine, labelled() + labelled(rattle_seed=1))
    test_ids = store_labelled(engine, labelled(("H2O", "CH4", "NH3"), rattle_seed=5))
    ood_ids = store_labelled(engine, labelled(("CH3CH2OH", "C2H6"), rattle_seed=None))
    pool_ids = store_labelled(engine, labelled(("CH3CHO", "HCOOH"), rattle_seed=None), label=False)
    return {"train": train_ids, "test": test_ids, "ood": ood_ids, "pool": pool_ids}


def test_train_and_register_writes_model_and_predictions(engine, labelled_store):
    ids = labelled_store
    model_id = train_and_register(
        arch="schnet", target="total", labels=LabelSource(SETTINGS_HASH), train_ids=ids["train"],
        test_ids=ids["test"], ood_ids=ids["ood"], hyperparameters=TINY, training=FAST, device="cpu",
        progress=False, engine=engine,
    )
    with session_scope(engine) as session:
        row = session.get(Model, model_id)
        assert (row.architecture, row.target, row.settings_hash, row.scheme) == ("schnet", "total", SETTINGS_HASH, None)
        valid = row.hyperparameters["validation_molecule_ids"]
        assert valid and set(valid) <= set(ids["train"])
        assert sorted(row.training_molecule_ids) == sorted(set(ids["train"]) - set(valid))
        assert row.hyperparameters["model"]["num_features"] == 16
        assert row.hyperparameters["training"]["epochs"] == 15
        assert len(row.checksum) == 64 and row.artifact_path.endswith(".pt")
        assert {"torch", "nequip", "ase", "python"} <= set(row.versions)
        for split in ("train", "valid", "test", "ood_test"):
            assert row.metrics[split]["energy"]["mae_kcal_mol"] > 0
        assert row.metrics["training"]["epochs"] == 15
        predictions = {p.molecule_id: p for p in session.scalars(select(Prediction).where(Prediction.model_id == model_id))}
    assert {p.split for p in predictions.values()} == {"test", "ood_test"}
    assert set(predictions) == set(ids["test"]) | set(ids["ood"])
    reference = {m: p.reference_energy for m, p in predictions.items()}
    ood_mae = np.mean([abs(predictions[m].energy - reference[m]) for m in ids["ood"]]) * 627.509474
    assert ood_mae == pytest.approx(row.metrics["ood_test"]["energy"]["mae_kcal_mol"], rel=1e-9)
    for p in predictions.values():
        assert sum(p.atomic_energies) == pytest.approx(p.energy, abs=1e-9)

    # unlabelled pool molecules: predictions without reference energies
    assert predict_and_store(model_id, ids["pool"], "pool", engine=engine) == 2
    with session_scope(engine) as session:
        pool = session.scalars(select(Prediction).where(Prediction.split == "pool")).all()
        assert len(pool) == 2 and all(p.reference_energy is None for p in pool)
        assert latest_models(session)["schnet"].id == model_id

    # the registered model loads back and gives the stored predictions; the calculator agrees
    model = load_registered_model(model_id, engine=engine)
    from atomloop.store.molecules import load_atoms

    with session_scope(engine) as session:
        atoms_list = load_atoms(session, ids["ood"])
    again = predict(model, atoms_list)
    assert [p.energy for p in again] == pytest.approx([predictions[m].energy for m in ids["ood"]], abs=1e-12)
    atoms = atoms_list[0]
    atoms.calc = registered_calculator(model_id, engine=engine)
    assert atoms.get_potential_energy() == pytest.approx(predictions[ids["ood"][0]].energy * units.Hartree, abs=1e-6)

    metrics = evaluate_registered(model_id, engine=engine)
    assert metrics["ood_test"]["energy"]["mae_kcal_mol"] == pytest.approx(ood_mae, rel=1e-9)


def test_atomic_target_records_scheme_and_per_element_errors(engine, labelled_store):
    ids = labelled_store
    model_id = train_and_register(
        arch="nequip", target="atomic", labels=LabelSource(SETTINGS_HASH, SCHEME), train_ids=ids["train"], test_ids=ids["test"],
        hyperparameters=TINY, training=FAST, device="cpu", progress=False, engine=engine,
    )
    with session_scope(engine) as session:
        row = session.get(Model, model_id)
        assert (row.architecture, row.target, row.scheme) == ("nequip", "atomic", SCHEME)
        per_element = row.metrics["test"]["atomic"]
        assert set(per_element) == {"H", "C", "N", "O"}
        assert all(m["mae_kcal_mol"] > 0 for m in per_element.values())

    # atomization-style labels: atomic energy minus the free atom's; the molecular target is their sum
    atomization_id = train_and_register(
        arch="schnet", target="atomic", labels=LabelSource(SETTINGS_HASH, SCHEME, atomization=True), train_ids=ids["train"],
        test_ids=ids["test"], hyperparameters=TINY, training={"epochs": 3}, device="cpu", progress=False, engine=engine,
    )
    with session_scope(engine) as session:
        row = session.get(Model, atomization_id)
        assert row.hyperparameters["labels"]["atomic_column"] == "atomization"
        predicted = session.scalars(select(Prediction).where(Prediction.model_id == atomization_id)).all()
        water = next(p for p in predicted if p.molecule_id == ids["test"][0])
    expected = labelled(("H2O",), rattle_seed=5)[0].info["atomization_energy"]
    assert water.reference_energy == pytest.approx(expected, abs=1e-9)
    assert -0.26 < expected < -0.19  # HF/STO-3G atomization energy of water: about -0.22 Ha

    with pytest.raises(InputError, match="needs a partition scheme"):
        train_and_register(arch="schnet", target="atomic", labels=LabelSource(SETTINGS_HASH), engine=engine)
    with pytest.raises(InputError, match="without the requested labels"):
        train_and_register(arch="schnet", target="total", labels=LabelSource(SETTINGS_HASH), train_ids=ids["train"],
                           test_ids=ids["pool"], engine=engine)


def test_evaluating_on_unlabelled_molecules_says_how_to_label_them(engine, labelled_store):
    ids = labelled_store
    model_id = train_and_register(
        arch="schnet", target="atomic", labels=LabelSource(SETTINGS_HASH, SCHEME), train_ids=ids["train"],
        test_ids=ids["test"], hyperparameters=TINY, training={**FAST, "epochs": 2}, device="cpu", progress=False,
        engine=engine,
    )
    with pytest.raises(InputError) as refused:
        evaluate_registered(model_id, test_ids=ids["test"] + ids["pool"], engine=engine)
    message = str(refused.value)
    assert "\n" not in message and f"2 test molecules lack the labels model {model_id} was trained on" in message
    assert f"atomloop label --method hf --basis sto-3g --scheme {SCHEME} --where TAG" in message
