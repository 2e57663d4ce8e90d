"""Export a registered model (``atomloop export-model``): read its row, labels level and training
molecules from the store, and write it with :func:`atomloop.models.export.export_model`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from atomloop.db.engine import get_engine, session_scope
from atomloop.models.export import ExportedModel, export_model
from atomloop.recipes.registered_model import load_registered_model
from atomloop.store.labels import level_of
from atomloop.store.molecules import load_atoms
from atomloop.store.registry import model_row

EXAMPLE_CANDIDATES = 20  # training molecules looked at for the example (the largest is taken)


def export_registered_model(model_id: int, directory: Path, *, engine: Engine | None = None) -> ExportedModel:
    """:func:`~atomloop.models.export.export_model` of a registered model (artifact checksum
    verified), its metadata with the model id, target and labels level; the example is one of its
    training molecules. An unknown id raises :class:`~atomloop.store.registry.ModelNotFoundError`
    before anything is written."""
    engine = engine or get_engine()
    with session_scope(engine) as session:
        row = model_row(session, model_id)
        level = level_of(session, row.settings_hash)
        info = {
            "model_id": model_id,
            "target": row.target,
            "labels": {
                "settings_hash": row.settings_hash,
                "program": level.program if level else None,
                "method": level.method if level else None,
                "basis": level.basis if level else None,
                "scheme": row.scheme,
                "atomization": row.hyperparameters.get("labels", {}).get("atomic_column") == "atomization",
                "energy_unit_of_labels": "Hartree",
            },
        }
        candidates = load_atoms(session, row.training_molecule_ids[:EXAMPLE_CANDIDATES])
    model = load_registered_model(model_id, engine=engine)
    return export_model(model, directory, example=max(candidates, key=len), info=info)
