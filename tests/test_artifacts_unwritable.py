"""An artifact directory that is full or read-only (a real tmpfs mount): training fails with one
line naming the path, the model row records the failure, nothing half-written is registered or
left on disk."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from models_testdata import SETTINGS_HASH, labelled, store_labelled
from mounts import tmpfs
from sqlalchemy import select

from atomloop.config import get_settings
from atomloop.db import session_scope
from atomloop.errors import ArtifactWriteError
from atomloop.recipes.train import train_and_register
from atomloop.store.labels import LabelSource
from atomloop.store.tables import Model, Prediction, TrainingEpoch

TRAINING = {"epochs": 2, "batch_size": 5, "validation": "holdout"}
TINY = {"num_features": 8, "num_layers": 1}


@pytest.fixture(params=["size=16k", "ro"], ids=["full", "read-only"])
def unwritable_home(request, tmp_path, monkeypatch) -> Path:
    with tmpfs(tmp_path / f"home-{uuid.uuid4().hex[:6]}", request.param) as mount_point:
        monkeypatch.setenv("ATOMLOOP_HOME", str(mount_point))
        get_settings(reload=True)
        try:
            yield mount_point
        finally:
            get_settings(reload=True)


def test_training_into_an_unwritable_artifact_directory_fails_in_one_line(engine, unwritable_home):
    train_ids = store_labelled(engine, labelled() + labelled(rattle_seed=1))
    test_ids = store_labelled(engine, labelled(("H2O", "CH4"), rattle_seed=5))
    with pytest.raises(ArtifactWriteError) as failure:
        train_and_register(arch="schnet", target="total", labels=LabelSource(SETTINGS_HASH), train_ids=train_ids,
                           test_ids=test_ids, hyperparameters=TINY, training=TRAINING, device="cpu", progress=False,
                           engine=engine)
    message = str(failure.value)
    assert "\n" not in message and str(unwritable_home) in message
    assert "No space left on device" in message or "Read-only file system" in message
    with session_scope(engine) as session:
        (row,) = session.scalars(select(Model)).all()
        assert row.status == "failed" and row.metrics["failure"] == message
        assert row.artifact_path is None and row.checksum is None
        assert not session.scalars(select(Prediction)).all() and not session.scalars(select(TrainingEpoch)).all()
    leftovers = [p for p in unwritable_home.rglob("*") if p.is_file() and (p.name.endswith(".tmp") or p.suffix == ".pt")]
    assert leftovers == []
