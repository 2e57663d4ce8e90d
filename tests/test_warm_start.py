"""Warm starts: a training that continues a given model starts from that model's weights,
records which it continued, and the loop continues each architecture's previous round's model."""

from __future__ import annotations

import copy

import torch
from models_testdata import SCHEME, SETTINGS_HASH, labelled
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_loop import TINY, tiny_pool  # noqa: F401  (the fixture)

from atomloop.loop.config import LoopConfig
from atomloop.loop.entrypoints import load_flow
from atomloop.models.fitting import can_continue, fit, split_training_data
from atomloop.models.training import TrainingConfig, weights_digest
from atomloop.store.labels import LabelSource
from atomloop.store.tables import Model, Round

SMALL_NET = {"num_features": 16, "num_layers": 2}
SOURCE = LabelSource(SETTINGS_HASH, SCHEME, False)


def _data(atoms_list, train: int, valid: int):
    atoms_by_id = dict(enumerate(atoms_list))
    return split_training_data(
        SOURCE, atoms_by_id, train_ids=list(range(train)), valid_ids=list(range(train, train + valid))
    )


def test_warm_start_continues_the_given_weights_and_beats_a_new_model(tmp_path, monkeypatch):
    monkeypatch.setenv("ATOMLOOP_HOME", str(tmp_path))
    atoms = labelled()  # 10 molecules of H, C, N, O
    config = TrainingConfig(target="atomic", epochs=30, early_stopping=False, progress=False)
    first, _ = fit("schnet", _data(atoms, 6, 2), config, SMALL_NET)
    previous = copy.deepcopy(first.model)
    more = _data(atoms, 8, 2)
    assert can_continue(previous, "schnet", more) and not can_continue(previous, "nequip", more)

    # a learning rate of ~0: the continued model keeps the previous weights, and says whose they are
    frozen, _ = fit("schnet", more, TrainingConfig(target="atomic", warm_start_epochs=1, learning_rate=1e-20,
                                                   progress=False), SMALL_NET, initial_model=copy.deepcopy(previous))
    assert frozen.config.warm_start_from == weights_digest(previous) and len(frozen.history) == 1
    for key, value in previous.state_dict().items():
        assert torch.allclose(frozen.model.state_dict()[key], value, atol=1e-12), key

    # from the previous weights the first epoch fits the larger set far better than a new model's
    short = TrainingConfig(target="atomic", epochs=3, warm_start_epochs=3, early_stopping=False, progress=False)
    warm, warm_fingerprint = fit("schnet", more, short, SMALL_NET, initial_model=copy.deepcopy(previous))
    new, new_fingerprint = fit("schnet", more, short, SMALL_NET)
    assert new.config.warm_start_from is None and warm_fingerprint != new_fingerprint
    assert warm.history[0]["train_mae"] < 0.5 * new.history[0]["train_mae"]
    # the same warm start again returns the finished training from its checkpoint
    again, again_fingerprint = fit("schnet", more, short, SMALL_NET, initial_model=copy.deepcopy(previous))
    assert again_fingerprint == warm_fingerprint and again.resumed_from_epoch == 3


def test_loop_continues_each_architectures_previous_model(engine, tiny_pool, prefect_api):  # noqa: F811
    flow = load_flow("active_learning.py:active_learning")
    flow(config=LoopConfig(**{**TINY, "warm_start_epochs": 2}))
    with Session(engine) as session:
        rounds = session.scalars(select(Round).order_by(Round.index)).all()
        models = {(m.round_id, m.architecture): m for m in session.scalars(select(Model))}
    for arch in ("schnet", "nequip"):
        chain = [models[(r.id, arch)] for r in rounds]
        assert chain[0].metrics["training"]["warm_start_from"] is None
        for before, after in zip(chain, chain[1:]):
            assert after.metrics["training"]["warm_start_from"] == before.id
            assert after.metrics["training"]["epochs"] == 2
            assert after.hyperparameters["training"]["warm_start_from"]  # the weights' digest
        assert [len(m.training_molecule_ids) for m in chain] == [3, 5, 7]
