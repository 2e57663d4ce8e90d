"""Evaluate registered models over the store: predict molecules with a registered model (loaded
by :mod:`atomloop.recipes.registered_model`) and write their ``Prediction`` rows, with metrics in
the ``Model`` row where the molecules are labelled."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from atomloop.db.engine import get_engine
from atomloop.models.evaluate import metrics_of, predict, unseen_elements
from atomloop.models.fitting import labelled
from atomloop.recipes.registered_model import load_registered_model
from atomloop.store.registry import evaluation_inputs, molecules_to_predict, store_evaluation, training_elements

SPLIT_OF_SET = {"test": "test", "ood": "ood_test"}  # training data's set name -> Prediction.split


def predict_and_store(
    model_id: int, molecule_ids: Sequence[int], split: str, *, engine: Engine | None = None, device: str = "cpu"
) -> int:
    """Predict ``molecule_ids`` with a registered model and upsert their ``Prediction`` rows
    (``reference_energy`` filled where the molecule is labelled at the model's settings).
    Returns the number of rows written."""
    engine = engine or get_engine()
    model = load_registered_model(model_id, engine=engine)
    atoms_list = molecules_to_predict(engine, model_id, molecule_ids)
    predictions = predict(model, atoms_list, device=device, progress=len(atoms_list) > 1000)
    return store_evaluation(engine, model_id, {split: (atoms_list, predictions)})


def evaluate_registered(
    model_id: int,
    *,
    test_ids: Sequence[int] | None = None,
    ood_ids: Sequence[int] | None = None,
    engine: Engine | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """Evaluate a registered model on test and OOD molecules (default: those recorded at
    training), write their ``Prediction`` rows and store the metrics in the ``Model`` row.
    Molecules with elements the model's training molecules lack are warned about
    (:class:`~atomloop.models.evaluate.UnseenElementWarning`) and marked in the metrics."""
    engine = engine or get_engine()
    model = load_registered_model(model_id, engine=engine)
    atoms_by_split, chosen, metrics = evaluation_inputs(engine, model_id, test_ids, ood_ids)
    elements = training_elements(engine, model_id)
    written = {}
    for name, atoms_by_id in atoms_by_split.items():
        atoms_list = labelled(atoms_by_id, chosen[name], name)
        unseen_elements(atoms_list, elements).warn(f"model {model_id}, {SPLIT_OF_SET[name]} molecules")
        predictions = predict(model, atoms_list, device=device)
        written[SPLIT_OF_SET[name]] = (atoms_list, predictions)
        metrics[SPLIT_OF_SET[name]] = metrics_of(atoms_list, predictions, elements)
    store_evaluation(engine, model_id, written, metrics)
    return metrics
