"""The store's model registry: ``Model`` rows (what was trained on what, with which
software, and how well), their ``TrainingEpoch`` rows (the training curves) and ``Prediction``
rows (Hartree), written idempotently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols
from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from atomloop.db.engine import session_scope
from atomloop.errors import AtomloopError, InputError
from atomloop.models.names import ATOMIC_ENERGIES_ARRAY_KEY, ENERGY_INFO_KEY, Curves
from atomloop.store.labels import LabelSource, how_to_label, labelled_atoms
from atomloop.store.molecules import molecule_to_atoms
from atomloop.store.tables import Model, Molecule, Prediction, TrainingEpoch

PREDICTION_ROWS_PER_STATEMENT = 1000  # PostgreSQL allows 65535 bind parameters per statement
EPOCH_COLUMNS = tuple(c.name for c in TrainingEpoch.__table__.columns if c.name not in ("model_id", "fold"))


class ModelNotFoundError(AtomloopError):
    """No registered model with that id."""


def model_row(session: Session, model_id: int) -> Model:
    """The ``Model`` row of ``model_id`` (:class:`ModelNotFoundError` when there is none)."""
    row = session.get(Model, model_id)
    if row is None:
        raise ModelNotFoundError(f"no model with id {model_id}")
    return row


def label_source(row: Model) -> LabelSource | None:
    """The labels a model was trained on (None when it records none)."""
    atomization = row.hyperparameters.get("labels", {}).get("atomic_column") == "atomization"
    return LabelSource(row.settings_hash, row.scheme, atomization) if row.settings_hash else None


def write_predictions(
    session: Session, model_id: int, atoms_list: Sequence[Atoms], predictions: Sequence[Any], split: str
) -> int:
    """Upsert one ``Prediction`` per molecule (``atoms.info['molecule_id']``; ``predictions``:
    :class:`~atomloop.models.evaluate.MoleculePrediction`, Hartree). Returns the rows written."""
    rows = [
        {
            "model_id": model_id,
            "molecule_id": int(atoms.info["molecule_id"]),
            "split": split,
            "energy": p.energy,
            "atomic_energies": p.atomic_energies.tolist(),
            "reference_energy": atoms.info.get(ENERGY_INFO_KEY),
        }
        for atoms, p in zip(atoms_list, predictions)
    ]
    for start in range(0, len(rows), PREDICTION_ROWS_PER_STATEMENT):
        statement = insert(Prediction).values(rows[start : start + PREDICTION_ROWS_PER_STATEMENT])
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[Prediction.model_id, Prediction.molecule_id],
                set_={c: statement.excluded[c] for c in ("split", "energy", "atomic_energies", "reference_energy")},
            )
        )
    return len(rows)


def write_training_epochs(session: Session, model_id: int, curves: Curves) -> int:
    """Insert one ``TrainingEpoch`` per history entry of each fold of ``curves`` (fold -> entries
    with the keys of :data:`EPOCH_COLUMNS`; absent ones are NULL). Returns the rows written."""
    rows = []
    for fold, history in curves.items():
        for record in history:
            unknown = set(record) - set(EPOCH_COLUMNS)
            if unknown:
                raise AtomloopError(f"training history entries {sorted(unknown)} have no training_epochs column")
            rows.append({"model_id": model_id, "fold": fold, **{name: record.get(name) for name in EPOCH_COLUMNS}})
    if rows:
        session.execute(insert(TrainingEpoch), rows)
    return len(rows)


def register_model(
    engine: Engine,
    predictions: dict[str, tuple[Sequence[Atoms], Sequence[Any]]],
    curves: Curves | None = None,
    **columns: Any,
) -> int:
    """Insert a ``Model`` row (``columns``), its ``Prediction`` rows (``predictions``: split ->
    (atoms, predictions)) and its ``TrainingEpoch`` rows (``curves``: fold -> history) in one
    transaction; returns the model id."""
    with session_scope(engine) as session:
        row = Model(**columns)
        session.add(row)
        session.flush()
        for split, (atoms_list, predicted) in predictions.items():
            write_predictions(session, row.id, atoms_list, predicted, split)
        write_training_epochs(session, row.id, curves or {})
        return row.id


def training_curves(session: Session, model_id: int) -> dict[int, list[dict[str, Any]]]:
    """A model's ``TrainingEpoch`` rows by fold, in epoch order, each a dict of
    :data:`EPOCH_COLUMNS` (units in the column comments)."""
    curves: dict[int, list[dict[str, Any]]] = {}
    query = select(TrainingEpoch).where(TrainingEpoch.model_id == model_id)
    for row in session.scalars(query.order_by(TrainingEpoch.fold, TrainingEpoch.epoch)):
        curves.setdefault(row.fold, []).append({name: getattr(row, name) for name in EPOCH_COLUMNS})
    return curves


def training_elements(engine: Engine, model_id: int) -> list[str]:
    """Element symbols of a model's training molecules, by atomic number."""
    with session_scope(engine) as session:
        ids = model_row(session, model_id).training_molecule_ids
        numbers = session.scalars(select(func.unnest(Molecule.numbers)).where(Molecule.id.in_(ids)).distinct())
        return [chemical_symbols[z] for z in sorted(numbers)]


def model_artifact(engine: Engine, model_id: int) -> tuple[str | None, str | None]:
    """The artifact path and sha256 of a registered model."""
    with session_scope(engine) as session:
        row = model_row(session, model_id)
        return row.artifact_path, row.checksum


def molecules_to_predict(engine: Engine, model_id: int, molecule_ids: Sequence[int]) -> list[Atoms]:
    """``molecule_ids`` as ``Atoms``, labelled where they are at the model's label settings."""
    with session_scope(engine) as session:
        source = label_source(model_row(session, model_id))
        labelled = labelled_atoms(session, source, molecule_ids) if source else {}
        molecules = {m.id: m for m in session.scalars(select(Molecule).where(Molecule.id.in_(list(molecule_ids))))}
        missing = [i for i in molecule_ids if i not in molecules]
        if missing:
            raise InputError(f"no molecules with ids {missing[:10]}")
        return [labelled.get(i) or molecule_to_atoms(molecules[i]) for i in molecule_ids]


def store_evaluation(
    engine: Engine,
    model_id: int,
    predictions: dict[str, tuple[Sequence[Atoms], Sequence[Any]]],
    metrics: dict[str, Any] | None = None,
) -> int:
    """Upsert predictions (split -> (atoms, predictions)) and, when given, replace the model's
    metrics, in one transaction; returns the prediction rows written."""
    with session_scope(engine) as session:
        row = model_row(session, model_id)
        written = sum(write_predictions(session, model_id, a, p, split) for split, (a, p) in predictions.items())
        if metrics is not None:
            row.metrics = metrics
        return written


def unpredicted_ids(engine: Engine, model_id: int, molecule_ids: Sequence[int], split: str) -> list[int]:
    """Those of ``molecule_ids`` without a ``Prediction`` of the model in ``split`` (order kept)."""
    with session_scope(engine) as session:
        done = set(session.scalars(select(Prediction.molecule_id).where(
            Prediction.model_id == model_id, Prediction.split == split, Prediction.molecule_id.in_(list(molecule_ids))
        )))
    return [i for i in molecule_ids if i not in done]


def evaluation_inputs(
    engine: Engine, model_id: int, test_ids: Sequence[int] | None, ood_ids: Sequence[int] | None
) -> tuple[dict[str, dict[int, Atoms]], dict[str, list[int]], dict[str, Any]]:
    """For evaluating a registered model: labelled ``Atoms`` by split, the ids of each split
    (default: those recorded at training) and the model's current metrics."""
    with session_scope(engine) as session:
        row = model_row(session, model_id)
        source = label_source(row)
        if source is None:
            raise InputError(f"model {model_id} records no label settings to evaluate against")
        chosen = {
            "test": list(test_ids) if test_ids is not None else row.hyperparameters.get("test_molecule_ids", []),
            "ood": list(ood_ids) if ood_ids is not None else row.hyperparameters.get("ood_molecule_ids", []),
        }
        atoms = {name: labelled_atoms(session, source, ids) for name, ids in chosen.items() if ids}
        for name, ids in chosen.items():
            if missing := [i for i in ids if i not in atoms.get(name, {})]:
                raise InputError(
                    f"{len(missing)} {name} molecules lack the labels model {model_id} was trained on "
                    f"(ids {missing[:10]}{' …' if len(missing) > 10 else ''}); {how_to_label(session, source)}"
                )
        return atoms, chosen, dict(row.metrics)


@dataclass(frozen=True)
class StoredPrediction:
    """One predicted molecule: atomic numbers (natoms,), predicted and reference molecular
    energies (Hartree), predicted atomic energies (natoms,) and the reference ones where the
    model's labels are atomic (else None)."""

    molecule_id: int
    numbers: np.ndarray
    energy: float
    reference_energy: float
    atomic_energies: np.ndarray
    reference_atomic_energies: np.ndarray | None


def stored_predictions(session: Session, model_id: int, split: str, source: LabelSource) -> list[StoredPrediction]:
    """A model's predictions of ``split`` with their references under ``source``, by molecule id."""
    predictions = session.scalars(
        select(Prediction).where(Prediction.model_id == model_id, Prediction.split == split).order_by(Prediction.molecule_id)
    ).all()
    ids = [p.molecule_id for p in predictions]
    references = labelled_atoms(session, source, ids) if source.scheme else {}
    numbers = {m.id: np.asarray(m.numbers) for m in session.scalars(select(Molecule).where(Molecule.id.in_(ids)))}
    return [
        StoredPrediction(
            p.molecule_id, numbers[p.molecule_id], p.energy, p.reference_energy, np.asarray(p.atomic_energies),
            references[p.molecule_id].arrays[ATOMIC_ENERGIES_ARRAY_KEY] if source.scheme else None,
        )
        for p in predictions
    ]


def latest_models(session: Session, *, round_id: int | None = None) -> dict[str, Model]:
    """The newest registered model per architecture (optionally of one round)."""
    query = select(Model).where(Model.status == "done").order_by(Model.created, Model.id)
    if round_id is not None:
        query = query.where(Model.round_id == round_id)
    return {row.architecture: row for row in session.scalars(query)}


def models_trained_on(
    session: Session, architecture: str, target: str, scheme: str | None, settings_hash: str, train_ids: list[int]
) -> list[tuple[int, dict]]:
    """Finished models of ``architecture`` trained on exactly ``train_ids`` for ``target``
    (``scheme``) at ``settings_hash``, oldest first: (id, hyperparameters) pairs."""
    rows = session.execute(
        select(Model.id, Model.hyperparameters).where(
            Model.architecture == architecture, Model.target == target,
            Model.scheme.is_(None) if scheme is None else Model.scheme == scheme,
            Model.settings_hash == settings_hash, Model.training_molecule_ids == train_ids, Model.status == "done",
        ).order_by(Model.id)
    )
    return [(model_id, hyperparameters) for model_id, hyperparameters in rows]


def add_metrics(session: Session, model_id: int, **entries: Any) -> None:
    """Merge ``entries`` into the model's ``metrics`` (JSON; e.g. ``tuning=...``)."""
    row = model_row(session, model_id)
    row.metrics = {**row.metrics, **entries}
