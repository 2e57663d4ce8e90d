"""A model registered in the store, loaded back: its network (artifact checked against the stored
sha256) and an ASE calculator of it (:class:`~atomloop.models.calculator.AtomloopCalculator`:
energies in eV, forces in eV/Å)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from atomloop.db.engine import get_engine
from atomloop.errors import AtomloopError
from atomloop.models.calculator import AtomloopCalculator
from atomloop.models.checkpoint import load_model
from atomloop.models.networks import AtomEnergyModel
from atomloop.store.registry import model_artifact


def load_registered_model(model_id: int, *, engine: Engine | None = None) -> AtomEnergyModel:
    """The registered model's network, its artifact checked against the stored sha256."""
    path, checksum = model_artifact(engine or get_engine(), model_id)
    if not path:
        raise AtomloopError(f"model {model_id} has no artifact")
    return load_model(Path(path), expected_sha256=checksum)


def registered_calculator(model_id: int, *, engine: Engine | None = None, device: str = "cpu") -> AtomloopCalculator:
    """Calculator of a model registered in the store (checksum verified), run on ``device``."""
    return AtomloopCalculator(load_registered_model(model_id, engine=engine), device=device)
