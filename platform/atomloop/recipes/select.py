"""Select a round: read the training set and pool from the store (:mod:`atomloop.store.selections`),
run the adversarial validation and a strategy of :mod:`atomloop.select`, write the selection back."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
from ase import Atoms
from sqlalchemy import Engine

from atomloop.db.engine import get_engine, session_scope
from atomloop.errors import InputError
from atomloop.select.adversarial import AdversarialResult, adversarial_validation, group_keys
from atomloop.select.descriptors import DescriptorSettings, molecule_descriptors
from atomloop.select.environments import environment_keys
from atomloop.select.strategies import LabelledSet, get_strategy, pick
from atomloop.store.runs import models_before
from atomloop.store.selections import SelectionReport, read_selection_inputs, write_selection


LAST_LAYER_ARCHITECTURES = ("schnet", "nequip")  # whose features LCMD takes, in this order of preference


def model_features(engine: Engine, run_id: int | None, round_index: int, train: Sequence[Atoms],
                   pool: Sequence[Atoms], strategy: str = "lcmd") -> tuple[np.ndarray, np.ndarray]:
    """Last-layer features (training set, pool) of the run's model of the latest earlier round."""
    from atomloop.models.evaluate import last_layer_features
    from atomloop.recipes.registered_model import load_registered_model

    with session_scope(engine) as session:
        models = {} if run_id is None else models_before(session, run_id, round_index)
    chosen = next((models[arch] for arch in LAST_LAYER_ARCHITECTURES if arch in models), None)
    if chosen is None:
        raise InputError(f"strategy {strategy!r} needs a model of the run trained in an earlier round; use it from "
                         "round 2 of atomloop loop on, or select with another strategy")
    model = load_registered_model(chosen, engine=engine)
    return last_layer_features(model, train), last_layer_features(model, pool)


def labelled_set(needs: Sequence[str], train: Sequence[Atoms], pool: Sequence[Atoms], result: AdversarialResult,
                 features: Callable[[], tuple[np.ndarray, np.ndarray]], query: Sequence[Atoms] = ()) -> LabelledSet:
    """The labelled-set inputs a strategy ``needs`` (descriptors of the validation's kind for the
    training set and the ``query`` molecules to be predicted, atom environments as ids shared by
    training set and pool, ``features()`` of a model)."""
    descriptors = environments = pool_environments = embeddings = pool_embeddings = targets = None
    settings = DescriptorSettings(**result.settings["descriptors"])
    if "embeddings" in needs:
        embeddings, pool_embeddings = features()
    if "labelled_descriptors" in needs:
        descriptors = molecule_descriptors(train, settings)
    if "target_descriptors" in needs and query:
        targets = molecule_descriptors(query, settings)
    if "environments" in needs:
        vocabulary: dict[str, int] = {}
        train_ids, pool_environments = ([np.array([vocabulary.setdefault(key, len(vocabulary))
                                                   for key in environment_keys(atoms)]) for atoms in molecules]
                                        for molecules in (train, pool))
        environments = np.unique(np.concatenate(train_ids))
    return LabelledSet(descriptors, environments, pool_environments, embeddings, pool_embeddings, targets)


def select_round(
    *,
    strategy: str,
    k: int,
    round_index: int,
    run_id: int | None = None,
    train_ids: Sequence[int] | None = None,
    pool_ids: Sequence[int] | None = None,
    pool_tag: str | None = None,
    query_tag: str | None = None,
    seed: int = 0,
    level: str = "molecule",
    classifier: str = "auto",
    engine: Engine | None = None,
    progress: bool = False,
) -> SelectionReport:
    """Select ``k`` pool molecules for round ``round_index`` of run ``run_id`` and store it all
    (training set and pool default as :mod:`atomloop.store.selections` says); ``query_tag``: the
    tag of the molecules to be predicted, for the targeted strategies.

    Returns the stored selection unchanged (``reused=True``) when the round already has one.
    """
    chosen_strategy = get_strategy(strategy)
    engine = engine or get_engine()
    started = time.perf_counter()
    inputs = read_selection_inputs(
        engine, run_id=run_id, round_index=round_index, strategy=strategy, k=k, train=train_ids, pool=pool_ids,
        pool_tag=pool_tag, with_committee=chosen_strategy.needs_committee, query_tag=query_tag,
    )
    if inputs.stored is not None:
        return inputs.stored
    result = adversarial_validation(
        inputs.train_atoms, inputs.pool_atoms, level=level, seed=seed, classifier=classifier, progress=progress
    )
    natoms = np.array([len(atoms) for atoms in inputs.pool_atoms])
    labelled = labelled_set(chosen_strategy.needs, inputs.train_atoms, inputs.pool_atoms, result, lambda: model_features(
        engine, run_id, round_index, inputs.train_atoms, inputs.pool_atoms, chosen_strategy.name),
        query=inputs.query_atoms)
    picked = pick(chosen_strategy.name, result, natoms, inputs.committee, k, seed, groups=group_keys(inputs.pool_atoms),
                  labelled=labelled)
    return write_selection(
        engine, run_id=run_id, round_index=round_index, strategy=chosen_strategy.name, k=k, pool_tag=pool_tag,
        pool_ids=inputs.pool_ids, result=result, picked=picked, seconds=time.perf_counter() - started,
    )
