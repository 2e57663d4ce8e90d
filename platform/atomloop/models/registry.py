"""Models in the store: train on labelled molecules, register ``Model`` rows, write
``Prediction`` rows, load registered models back.

Labels: a molecule is labelled at ``settings_hash`` when its ``Calculation`` there is ``done``.
Its molecular energy is ``Calculation.total_energy`` (Hartree); with a ``scheme``, its atomic
energies are the ``AtomicEnergy.energy`` rows of that scheme (Hartree, by ``atom_index``).
With ``atomization=True`` the ``AtomicEnergy.atomization`` column (atomic energy minus the
free atom's, Hartree) is the atomic target and the molecular target is its sum (the
atomization energy).

A training's checkpoints live in ``<artifacts>/training/<fingerprint>/`` (fingerprint of model,
settings and data), so re-running a killed ``train_and_register`` resumes it; the final model is
``<artifacts>/models/<arch>-<target>-<fingerprint>.pt`` with its sha256 in the ``Model`` row.
"""

from __future__ import annotations

import platform
import random
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ase import Atoms
from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from atomloop.config import get_settings
from atomloop.db.engine import get_engine, session_scope
from atomloop.db.orm import AtomicEnergy, Calculation, CalculationStatus, Model, Molecule, Prediction
from atomloop.errors import AtomloopError, InputError
from atomloop.models.checkpoint import load_model, save_model
from atomloop.models.data import ATOMIC_ENERGIES_ARRAY_KEY, ENERGY_INFO_KEY, type_names_for
from atomloop.models.evaluate import MoleculePrediction, metrics_of, predict
from atomloop.models.networks import AtomEnergyModel
from atomloop.models.training import (
    EpochCallback,
    TrainingConfig,
    TrainingResult,
    new_model,
    resolve_device,
    train,
    training_fingerprint,
)
from atomloop.store.molecules import molecule_to_atoms

VALIDATION_FRACTION = 0.1
PREDICTION_ROWS_PER_STATEMENT = 1000  # PostgreSQL allows 65535 bind parameters per statement
SPLIT_OF_SET = {"test": "test", "ood": "ood_test"}
_PACKAGES = ("atomloop", "torch", "nequip", "e3nn", "ase", "numpy", "optuna")


class ModelNotFoundError(AtomloopError):
    """No registered model with that id."""


@dataclass(frozen=True)
class LabelSource:
    """Where labels come from: calculations at ``settings_hash``, atomic energies of ``scheme``."""

    settings_hash: str
    scheme: str | None = None
    atomization: bool = False


def resolve_settings_hash(
    session: Session, *, settings_hash: str | None = None, method: str | None = None, basis: str | None = None
) -> str:
    """The one settings hash with done calculations matching the arguments (error if 0 or >1)."""
    query = select(Calculation.settings_hash).where(Calculation.status == CalculationStatus.done).distinct()
    for column, value in ((Calculation.settings_hash, settings_hash), (Calculation.method, method), (Calculation.basis, basis)):
        if value is not None:
            query = query.where(column == value)
    found = sorted(session.scalars(query))
    if len(found) == 1:
        return found[0]
    if not found:
        raise InputError("no finished calculations match the requested labels (settings hash / method / basis)")
    raise InputError(f"labels are ambiguous: {len(found)} settings hashes match ({', '.join(h[:12] for h in found)}); give one")


def labelled_atoms(session: Session, source: LabelSource, molecule_ids: Sequence[int] | None = None) -> dict[int, Atoms]:
    """Labelled molecules by id (all, or those of ``molecule_ids`` that are labelled).

    Labels: ``info['energy']`` and, with a scheme, ``arrays['atomic_energies']`` (Hartree).
    Molecules without a complete set of atomic energies of the scheme are left out.
    """
    query = (
        select(Calculation, Molecule)
        .join(Molecule, Molecule.id == Calculation.molecule_id)
        .where(Calculation.status == CalculationStatus.done, Calculation.settings_hash == source.settings_hash)
        .order_by(Molecule.id)
    )
    if molecule_ids is not None:
        query = query.where(Molecule.id.in_(list(molecule_ids)))
    rows = session.execute(query).all()
    atomic: dict[int, dict[int, float | None]] = {}
    if source.scheme is not None:
        column = AtomicEnergy.atomization if source.atomization else AtomicEnergy.energy
        energies = session.execute(
            select(AtomicEnergy.calculation_id, AtomicEnergy.atom_index, column).where(
                AtomicEnergy.scheme == source.scheme,
                AtomicEnergy.calculation_id.in_([calculation.id for calculation, _ in rows]),
            )
        )
        for calculation_id, index, value in energies:
            atomic.setdefault(calculation_id, {})[index] = value
    out: dict[int, Atoms] = {}
    for calculation, molecule in rows:
        atoms = molecule_to_atoms(molecule)
        if source.scheme is not None:
            per_atom = atomic.get(calculation.id, {})
            values = [per_atom.get(i) for i in range(molecule.natoms)]
            if any(v is None for v in values):
                continue
            atoms.arrays[ATOMIC_ENERGIES_ARRAY_KEY] = np.array(values, dtype=float)
        if source.atomization:
            atoms.info[ENERGY_INFO_KEY] = float(atoms.arrays[ATOMIC_ENERGIES_ARRAY_KEY].sum())
        elif calculation.total_energy is not None:
            atoms.info[ENERGY_INFO_KEY] = float(calculation.total_energy)
        else:
            continue
        out[molecule.id] = atoms
    return out


def _composition_groups_holdout(atoms_by_id: dict[int, Atoms], ids: Sequence[int], seed: int) -> list[int]:
    """About ``VALIDATION_FRACTION`` of ``ids`` (at least one molecule), whole composition
    groups at a time so conformers of one molecule never straddle train and validation."""
    groups: dict[str, list[int]] = {}
    for molecule_id in ids:
        groups.setdefault(atoms_by_id[molecule_id].info.get("composition_hash", str(molecule_id)), []).append(molecule_id)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    wanted = max(1, round(VALIDATION_FRACTION * len(ids)))
    chosen: list[int] = []
    for key in keys:
        if len(chosen) >= wanted:
            break
        chosen.extend(groups[key])
    return sorted(chosen)


def software_versions() -> dict[str, str]:
    """Versions of the software that trained a model."""
    versions = {"python": platform.python_version()}
    for package in _PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    versions["cuda"] = torch.version.cuda or "none"
    return versions


def _select(atoms_by_id: dict[int, Atoms], ids: Sequence[int], what: str) -> list[Atoms]:
    missing = [i for i in ids if i not in atoms_by_id]
    if missing:
        raise InputError(f"{what} molecules without the requested labels: {missing[:10]}{' …' if len(missing) > 10 else ''}")
    return [atoms_by_id[i] for i in ids]


def _write_predictions(
    session: Session, model_id: int, atoms_list: Sequence[Atoms], predictions: Sequence[MoleculePrediction], split: str
) -> int:
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


@dataclass
class TrainingData:
    """Labelled molecules of one training, split by molecule id."""

    source: LabelSource
    train_ids: list[int]
    valid_ids: list[int]
    test_ids: list[int]
    ood_ids: list[int]
    atoms_by_id: dict[int, Atoms]

    def atoms(self, split: str) -> list[Atoms]:
        """Labelled ``Atoms`` of ``split`` (train, valid, test or ood)."""
        return [self.atoms_by_id[i] for i in getattr(self, f"{split}_ids")]


def prepare_data(
    *,
    target: str,
    scheme: str | None = None,
    settings_hash: str | None = None,
    method: str | None = None,
    basis: str | None = None,
    atomization: bool = False,
    train_ids: Sequence[int] | None = None,
    valid_ids: Sequence[int] | None = None,
    test_ids: Sequence[int] | None = None,
    ood_ids: Sequence[int] | None = None,
    seed: int = 0,
    engine: Engine | None = None,
) -> TrainingData:
    """Load the labelled molecules and split them (see :func:`train_and_register`);
    deterministic for the same store contents and arguments."""
    if target == "atomic" and scheme is None:
        raise InputError("target 'atomic' needs a partition scheme (--scheme)")
    if atomization and scheme is None:
        raise InputError("atomization-style targets need a partition scheme")
    with session_scope(engine or get_engine()) as session:
        source = LabelSource(
            resolve_settings_hash(session, settings_hash=settings_hash, method=method, basis=basis), scheme, atomization
        )
        atoms_by_id = labelled_atoms(session, source)
    held_out = set(valid_ids or ()) | set(test_ids or ()) | set(ood_ids or ())
    train = sorted(train_ids) if train_ids is not None else [i for i in atoms_by_id if i not in held_out]
    if valid_ids is None:
        valid_ids = _composition_groups_holdout(atoms_by_id, train, seed)
        train = [i for i in train if i not in set(valid_ids)]
    if len(train) < 2:
        raise InputError(f"only {len(train)} labelled training molecule(s); need at least 2")
    data = TrainingData(source, list(train), list(valid_ids), list(test_ids or ()), list(ood_ids or ()), atoms_by_id)
    for split in ("train", "valid", "test", "ood"):
        _select(atoms_by_id, getattr(data, f"{split}_ids"), split)
    return data


def fit(
    arch: str,
    data: TrainingData,
    config: TrainingConfig,
    hyperparameters: dict[str, Any] | None = None,
    *,
    epoch_callback: EpochCallback | None = None,
) -> tuple[TrainingResult, str]:
    """Train a new model on ``data``; checkpoints in ``<artifacts>/training/<fingerprint>``
    (the same training run twice resumes or returns the finished one). Returns the result
    and the fingerprint (16 hex digits)."""
    train_atoms, valid_atoms = data.atoms("train"), data.atoms("valid")
    # every labelled element (test and OOD molecules included), so any labelled molecule can be predicted
    elements = type_names_for(list(data.atoms_by_id.values()))
    model = new_model(arch, train_atoms, elements=elements, **(hyperparameters or {}))
    fingerprint = training_fingerprint(model, train_atoms, valid_atoms, config)[:16]
    checkpoint_dir = get_settings().artifacts_dir / "training" / fingerprint
    return train(model, train_atoms, valid_atoms, config, checkpoint_dir=checkpoint_dir, epoch_callback=epoch_callback), fingerprint


def train_and_register(
    *,
    arch: str,
    target: str,
    scheme: str | None = None,
    settings_hash: str | None = None,
    method: str | None = None,
    basis: str | None = None,
    atomization: bool = False,
    train_ids: Sequence[int] | None = None,
    valid_ids: Sequence[int] | None = None,
    test_ids: Sequence[int] | None = None,
    ood_ids: Sequence[int] | None = None,
    round_id: int | None = None,
    hyperparameters: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    device: str = "auto",
    progress: bool = True,
    epoch_callback: EpochCallback | None = None,
    engine: Engine | None = None,
) -> int:
    """Train a model on labelled molecules of the store and register it; returns its id.

    ``train_ids`` None: every labelled molecule not in the validation/test/OOD ids.
    ``valid_ids`` None: about 10% of the training molecules (whole composition groups).
    ``hyperparameters``: the architecture's (see :mod:`atomloop.models.networks`); ``training``:
    fields of :class:`~atomloop.models.training.TrainingConfig`. Test and OOD molecules get
    ``Prediction`` rows (splits ``test`` and ``ood_test``) and metrics in the ``Model`` row.
    """
    engine = engine or get_engine()
    config = TrainingConfig(target=target, device=device, progress=progress, **(training or {}))
    data = prepare_data(
        target=target, scheme=scheme, settings_hash=settings_hash, method=method, basis=basis,
        atomization=atomization, train_ids=train_ids, valid_ids=valid_ids, test_ids=test_ids, ood_ids=ood_ids,
        seed=config.seed, engine=engine,
    )
    result, fingerprint = fit(arch, data, config, hyperparameters, epoch_callback=epoch_callback)
    model = result.model
    model_path = get_settings().artifacts_dir / "models" / f"{arch}-{target}-{fingerprint}.pt"
    checksum = save_model(model, model_path)
    evaluated = [name for name in ("train", "valid", "test", "ood") if getattr(data, f"{name}_ids")]
    predictions = {name: predict(model, data.atoms(name)) for name in evaluated}
    metrics: dict[str, Any] = {
        "training": {
            "epochs": len(result.history), "best_epoch": result.best_epoch,
            "best_valid_loss": result.best_valid_loss, "stopped_early": result.stopped_early,
            "first_epoch": result.history[0], "last_epoch": result.history[-1],
        },
        **{SPLIT_OF_SET.get(name, name): metrics_of(data.atoms(name), predictions[name]) for name in evaluated},
    }
    with session_scope(engine) as session:
        row = Model(
            architecture=arch, target=target, scheme=scheme, settings_hash=data.source.settings_hash,
            hyperparameters={
                "model": model.hyperparameters, "training": config.optimisation_settings(),
                "labels": {"atomic_column": "atomization" if atomization else "energy"},
                "validation_molecule_ids": data.valid_ids,
                "test_molecule_ids": data.test_ids, "ood_molecule_ids": data.ood_ids,
            },
            round_id=round_id, training_molecule_ids=data.train_ids, artifact_path=str(model_path),
            checksum=checksum, metrics=metrics, versions={**software_versions(), "device": str(resolve_device(config.device))},
            status="done",
        )
        session.add(row)
        session.flush()
        for name in ("test", "ood"):
            if name in predictions:
                _write_predictions(session, row.id, data.atoms(name), predictions[name], SPLIT_OF_SET[name])
        return row.id


def _model_row(session: Session, model_id: int) -> Model:
    row = session.get(Model, model_id)
    if row is None:
        raise ModelNotFoundError(f"no model with id {model_id}")
    return row


def load_registered_model(model_id: int, *, engine: Engine | None = None) -> AtomEnergyModel:
    """The registered model's network, its artifact checked against the stored sha256."""
    with session_scope(engine or get_engine()) as session:
        row = _model_row(session, model_id)
        path, checksum = row.artifact_path, row.checksum
    if not path:
        raise AtomloopError(f"model {model_id} has no artifact")
    return load_model(Path(path), expected_sha256=checksum)


def _label_source(row: Model) -> LabelSource | None:
    atomization = row.hyperparameters.get("labels", {}).get("atomic_column") == "atomization"
    return LabelSource(row.settings_hash, row.scheme, atomization) if row.settings_hash else None


def predict_and_store(
    model_id: int, molecule_ids: Sequence[int], split: str, *, engine: Engine | None = None, device: str = "cpu"
) -> int:
    """Predict ``molecule_ids`` with a registered model and upsert their ``Prediction`` rows
    (``reference_energy`` filled where the molecule is labelled at the model's settings).
    Returns the number of rows written."""
    engine = engine or get_engine()
    model = load_registered_model(model_id, engine=engine)
    with session_scope(engine) as session:
        row = _model_row(session, model_id)
        source = _label_source(row)
        labelled = labelled_atoms(session, source, molecule_ids) if source else {}
        molecules = {m.id: m for m in session.scalars(select(Molecule).where(Molecule.id.in_(list(molecule_ids))))}
        missing = [i for i in molecule_ids if i not in molecules]
        if missing:
            raise InputError(f"no molecules with ids {missing[:10]}")
        atoms_list = [labelled.get(i) or molecule_to_atoms(molecules[i]) for i in molecule_ids]
        predictions = predict(model, atoms_list, device=device, progress=len(atoms_list) > 1000)
        return _write_predictions(session, model_id, atoms_list, predictions, split)


def evaluate_registered(
    model_id: int,
    *,
    test_ids: Sequence[int] | None = None,
    ood_ids: Sequence[int] | None = None,
    engine: Engine | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """Evaluate a registered model on test and OOD molecules (default: those recorded at
    training), write their ``Prediction`` rows and store the metrics in the ``Model`` row."""
    engine = engine or get_engine()
    model = load_registered_model(model_id, engine=engine)
    with session_scope(engine) as session:
        row = _model_row(session, model_id)
        source = _label_source(row)
        if source is None:
            raise InputError(f"model {model_id} records no label settings to evaluate against")
        chosen = {
            "test": list(test_ids) if test_ids is not None else row.hyperparameters.get("test_molecule_ids", []),
            "ood": list(ood_ids) if ood_ids is not None else row.hyperparameters.get("ood_molecule_ids", []),
        }
        metrics = dict(row.metrics)
        for name, ids in chosen.items():
            if not ids:
                continue
            atoms_list = _select(labelled_atoms(session, source, ids), ids, name)
            predictions = predict(model, atoms_list, device=device)
            _write_predictions(session, model_id, atoms_list, predictions, SPLIT_OF_SET[name])
            metrics[SPLIT_OF_SET[name]] = metrics_of(atoms_list, predictions)
        row.metrics = metrics
        return metrics


def latest_models(session: Session, *, round_id: int | None = None) -> dict[str, Model]:
    """The newest registered model per architecture (optionally of one round)."""
    query = select(Model).where(Model.status == "done").order_by(Model.created, Model.id)
    if round_id is not None:
        query = query.where(Model.round_id == round_id)
    return {row.architecture: row for row in session.scalars(query)}
