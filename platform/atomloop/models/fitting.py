"""One model fitted on labelled ``Atoms``: the data split, the training run, the software used.

Pure computation over ASE ``Atoms`` carrying labels (``info['energy']`` and, for atomic
targets, ``arrays['atomic_energies']``, Hartree); :mod:`atomloop.loop.models` reads them from
the store and registers the result. A training's checkpoints live in
``<artifacts>/training/<fingerprint>/`` (fingerprint of model, settings and data), so fitting
the same data again resumes a killed training or returns the finished one.
"""

from __future__ import annotations

import platform
import random
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import torch
from ase import Atoms

from atomloop.config import get_settings
from atomloop.errors import InputError
from atomloop.models.data import type_names_for
from atomloop.models.training import (
    EpochCallback,
    TrainingConfig,
    TrainingResult,
    new_model,
    train,
    training_fingerprint,
)

if TYPE_CHECKING:
    from atomloop.store.labels import LabelSource

VALIDATION_FRACTION = 0.1
_PACKAGES = ("atomloop", "torch", "nequip", "e3nn", "ase", "numpy", "optuna")


@dataclass
class TrainingData:
    """Labelled molecules of one training, split by molecule id; ``source`` says where the labels came from."""

    source: LabelSource
    train_ids: list[int]
    valid_ids: list[int]
    test_ids: list[int]
    ood_ids: list[int]
    atoms_by_id: dict[int, Atoms]

    def atoms(self, split: str) -> list[Atoms]:
        """Labelled ``Atoms`` of ``split`` (train, valid, test or ood)."""
        return [self.atoms_by_id[i] for i in getattr(self, f"{split}_ids")]


def composition_groups_holdout(atoms_by_id: dict[int, Atoms], ids: Sequence[int], seed: int) -> list[int]:
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


def labelled(atoms_by_id: dict[int, Atoms], ids: Sequence[int], what: str) -> list[Atoms]:
    """The labelled ``Atoms`` of ``ids``; an error naming the ``what`` molecules without labels."""
    missing = [i for i in ids if i not in atoms_by_id]
    if missing:
        raise InputError(f"{what} molecules without the requested labels: {missing[:10]}{' …' if len(missing) > 10 else ''}")
    return [atoms_by_id[i] for i in ids]


def split_training_data(
    source: LabelSource,
    atoms_by_id: dict[int, Atoms],
    *,
    train_ids: Sequence[int] | None = None,
    valid_ids: Sequence[int] | None = None,
    test_ids: Sequence[int] | None = None,
    ood_ids: Sequence[int] | None = None,
    seed: int = 0,
) -> TrainingData:
    """Split labelled molecules: ``train_ids`` None takes every labelled molecule not held out;
    ``valid_ids`` None holds out about 10 % of them (whole composition groups). Deterministic."""
    held_out = set(valid_ids or ()) | set(test_ids or ()) | set(ood_ids or ())
    train = sorted(train_ids) if train_ids is not None else [i for i in atoms_by_id if i not in held_out]
    if valid_ids is None:
        valid_ids = composition_groups_holdout(atoms_by_id, train, seed)
        train = [i for i in train if i not in set(valid_ids)]
    if len(train) < 2:
        raise InputError(f"only {len(train)} labelled training molecule(s); need at least 2")
    data = TrainingData(source, list(train), list(valid_ids), list(test_ids or ()), list(ood_ids or ()), atoms_by_id)
    for split in ("train", "valid", "test", "ood"):
        labelled(atoms_by_id, getattr(data, f"{split}_ids"), split)
    return data


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
    model = new_model(arch, train_atoms, elements=elements, target=config.target, **(hyperparameters or {}))
    fingerprint = training_fingerprint(model, train_atoms, valid_atoms, config)[:16]
    checkpoint_dir = get_settings().artifacts_dir / "training" / fingerprint
    return train(model, train_atoms, valid_atoms, config, checkpoint_dir=checkpoint_dir, epoch_callback=epoch_callback), fingerprint
