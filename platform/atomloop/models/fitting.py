"""One model fitted on labelled ``Atoms``: the data split, the training run(s), the software used.

Pure computation over ASE ``Atoms`` carrying labels (``info['energy']`` and, for atomic
targets, ``arrays['atomic_energies']``, Hartree); :mod:`atomloop.recipes.train` reads them from
the store and registers the result. A training's checkpoints live in
``<artifacts>/training/<fingerprint>/`` (fingerprint of model, settings and data), so fitting
the same data again resumes a killed training or returns the finished one.

**Validation** (:func:`choose_validation`, ``TrainingConfig.validation``) of the n training
molecules when the caller gives no validation ids (given ids are used as they are):

- ``auto`` (default): hold out max(10 %, 50) molecules, whole composition groups, when at least
  100 training molecules remain (n >= 150 distinct molecules); otherwise the k-fold estimate;
- ``holdout``: always hold out: as ``auto`` where 100 remain, else 10 % (at least one molecule;
  the old, fast rule, whose early stopping on a few molecules is noise);
- ``k-fold``: always the k-fold estimate.

The k-fold estimate (k = ``TrainingConfig.folds``, default 5, at most the number of composition
groups, which never straddle folds): one training per fold on the other folds' molecules for
every one of ``epochs`` epochs (no early stopping), recording the MAE of molecular energies
(kcal/mol) on the fold's molecules; :func:`k_fold_epochs` reads the k curves as the number of
epochs for which the model is then trained on all n molecules, without early stopping (its
learning-rate schedule then follows the training molecules' MAE): the *latest* epoch whose mean
MAE lies within one standard error of the minimum, i.e. training goes on while the validation
error is on its plateau and stops before it rises significantly. The minimum itself is a noisy
pick on a plateau: in the demo's rounds (20-80 molecules, 200 epochs, 5 folds) the mean curves
fell and then stayed flat within noise (standard error 3-22 kcal/mol), and the argmin chose
epochs 11-111 where the training MAE was still 2-4 times its converged value (round 3 SchNet:
epoch 47 at 22.7 kcal/mol against 24.2 at epoch 200, standard error 2.8). A fold's molecules with an
element its training part lacks are left out of its curve (warned): their error is that of an
untrained element; where no fold keeps a molecule, the model is validated on its training
molecules (kind ``none``, warned). Its cost: k trainings of ``epochs`` epochs on (k - 1)/k of the molecules plus
one of the chosen epochs on all of them, about k times one training (a hold-out: one training,
often stopped early).
"""

from __future__ import annotations

import platform
import random
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import torch
from ase import Atoms

from atomloop.config import get_settings
from atomloop.errors import InputError
from atomloop.models.data import type_names_for
from atomloop.models.evaluate import UnseenElementWarning, holds_any, unseen_elements
from atomloop.models.names import VALIDATION_RULES, LabelSource
from atomloop.models.networks import AtomEnergyModel
from atomloop.models.training import (
    DEFAULT_FOLDS,
    SELECTION_METRIC,
    EpochCallback,
    TrainingConfig,
    TrainingResult,
    new_model,
    train,
    training_fingerprint,
    weights_digest,
)

VALIDATION_FRACTION = 0.1
MIN_HOLDOUT = 50  # molecules held out at least, where MIN_TRAINING_AFTER_HOLDOUT remain
MIN_TRAINING_AFTER_HOLDOUT = 100  # molecules; fewer left: the k-fold estimate instead
_PACKAGES = ("atomloop", "torch", "nequip", "e3nn", "ase", "numpy", "optuna")


@dataclass
class TrainingData:
    """Labelled molecules of one training, split by molecule id; ``source`` says where the labels
    came from. ``folds``: the molecule ids of each k-fold validation fold (all among
    ``train_ids``; empty for a hold-out, whose molecules are ``valid_ids``); ``validation_rule``:
    what chose the validation (``given`` ids, or a rule of :data:`VALIDATION_RULES`)."""

    source: LabelSource
    train_ids: list[int]
    valid_ids: list[int]
    test_ids: list[int]
    ood_ids: list[int]
    atoms_by_id: dict[int, Atoms]
    folds: list[list[int]] = field(default_factory=list)
    validation_rule: str = "given"

    def atoms(self, split: str) -> list[Atoms]:
        """Labelled ``Atoms`` of ``split`` (train, valid, test or ood)."""
        return [self.atoms_by_id[i] for i in getattr(self, f"{split}_ids")]

    def validation_record(self, result: TrainingResult) -> dict[str, Any]:
        """How ``result``'s model was validated, for its row: ``kind`` (``holdout``, ``k-fold``,
        or ``none``: validated on its training molecules, also when no fold could validate),
        ``n`` (validation molecules; k-fold: every training molecule), ``k`` (folds; None
        otherwise), ``best_epoch``, ``rule``."""
        record = {"kind": "none", "n": 0, "k": None, "best_epoch": result.best_epoch, "rule": self.validation_rule}
        if result.fold_histories:
            record.update(kind="k-fold", n=len(self.train_ids), k=len(self.folds))
        elif self.valid_ids:
            record.update(kind="holdout", n=len(self.valid_ids))
        return record


@dataclass(frozen=True)
class ValidationSplit:
    """The validation of a training set: ``kind`` ``holdout`` (``valid_ids`` held out) or
    ``k-fold`` (``folds``: each fold's molecule ids; ``valid_ids`` empty)."""

    kind: str
    valid_ids: list[int]
    folds: list[list[int]] = field(default_factory=list)


def composition_groups(atoms_by_id: dict[int, Atoms], ids: Sequence[int], seed: int) -> list[list[int]]:
    """``ids`` grouped by ``info['composition_hash']`` (conformers of one molecule together; a
    molecule without one is its own group), the groups in a seeded random order."""
    groups: dict[str, list[int]] = {}
    for molecule_id in ids:
        groups.setdefault(atoms_by_id[molecule_id].info.get("composition_hash", str(molecule_id)), []).append(molecule_id)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    return [groups[key] for key in keys]


def composition_groups_holdout(groups: Sequence[Sequence[int]], wanted: int) -> list[int]:
    """Whole ``groups``, in order, until at least ``wanted`` molecules are held out (sorted ids)."""
    chosen: list[int] = []
    for group in groups:
        if len(chosen) >= wanted:
            break
        chosen.extend(group)
    return sorted(chosen)


def composition_group_folds(groups: Sequence[Sequence[int]], k: int) -> list[list[int]]:
    """``groups`` dealt into min(k, len(groups)) folds of nearly equal size: the largest group
    first (ties in the given order), each into the fold with the fewest molecules so far."""
    folds: list[list[int]] = [[] for _ in range(min(k, len(groups)))]
    for group in sorted(groups, key=len, reverse=True):
        min(folds, key=len).extend(group)
    return [sorted(fold) for fold in folds]


def holdout_size(n: int) -> int:
    """Molecules to hold out of ``n`` under the large-set rule: max(10 %, 50)."""
    return max(round(VALIDATION_FRACTION * n), MIN_HOLDOUT)


def choose_validation(
    atoms_by_id: dict[int, Atoms], ids: Sequence[int], *, rule: str = "auto", folds: int = DEFAULT_FOLDS, seed: int = 0
) -> ValidationSplit:
    """The validation of training candidates ``ids`` under ``rule`` (module docstring):
    deterministic for the same ids, rule, folds and seed."""
    if rule not in VALIDATION_RULES:
        raise InputError(f"unknown validation {rule!r}; choose one of {', '.join(VALIDATION_RULES)}")
    groups = composition_groups(atoms_by_id, ids, seed)
    if rule != "k-fold":
        large = composition_groups_holdout(groups, holdout_size(len(ids)))
        if len(ids) - len(large) >= MIN_TRAINING_AFTER_HOLDOUT:
            return ValidationSplit("holdout", large)
        if rule == "holdout":
            small = composition_groups_holdout(groups, max(1, round(VALIDATION_FRACTION * len(ids))))
            return ValidationSplit("holdout", small)
    if len(groups) < 2:
        raise InputError(
            f"k-fold validation needs molecules of at least 2 compositions; the {len(ids)} training molecules have {len(groups)}"
        )
    return ValidationSplit("k-fold", [], composition_group_folds(groups, folds))


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
    validation: str = "auto",
    folds: int = DEFAULT_FOLDS,
) -> TrainingData:
    """Split labelled molecules: ``train_ids`` None takes every labelled molecule not held out;
    ``valid_ids`` None validates by the ``validation`` rule with ``folds`` folds
    (:func:`choose_validation`); given ``valid_ids`` are used as they are. Deterministic."""
    held_out = set(valid_ids or ()) | set(test_ids or ()) | set(ood_ids or ())
    train = sorted(train_ids) if train_ids is not None else [i for i in atoms_by_id if i not in held_out]
    labelled(atoms_by_id, train, "train")
    if valid_ids is None:
        split = choose_validation(atoms_by_id, train, rule=validation, folds=folds, seed=seed)
        rule = validation
    else:
        split, rule = ValidationSplit("holdout", list(valid_ids)), "given"
    train = [i for i in train if i not in set(split.valid_ids)]
    if len(train) < 2:
        raise InputError(f"only {len(train)} labelled training molecule(s); need at least 2")
    data = TrainingData(
        source, train, split.valid_ids, list(test_ids or ()), list(ood_ids or ()), atoms_by_id, split.folds, rule
    )
    for name in ("valid", "test", "ood"):
        labelled(atoms_by_id, getattr(data, f"{name}_ids"), name)
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


def _train_checkpointed(
    model: AtomEnergyModel,
    train_atoms: Sequence[Atoms],
    valid_atoms: Sequence[Atoms] | None,
    config: TrainingConfig,
    epoch_callback: EpochCallback | None = None,
) -> tuple[TrainingResult, str]:
    """``model`` trained in place on ``train_atoms``, validated on ``valid_atoms`` (None: on the
    training molecules), checkpointed under its fingerprint; returns the result and the fingerprint."""
    fingerprint = training_fingerprint(model, train_atoms, valid_atoms, config)[:16]
    checkpoint_dir = get_settings().artifacts_dir / "training" / fingerprint
    result = train(
        model, train_atoms, valid_atoms, config, checkpoint_dir=checkpoint_dir, epoch_callback=epoch_callback
    )
    return result, fingerprint


def _train_new(
    arch: str,
    data: TrainingData,
    train_atoms: Sequence[Atoms],
    valid_atoms: Sequence[Atoms] | None,
    config: TrainingConfig,
    hyperparameters: dict[str, Any] | None,
    epoch_callback: EpochCallback | None = None,
) -> tuple[TrainingResult, str]:
    """A new model (every labelled element of ``data`` known, so any of its molecules can be
    predicted) trained as :func:`_train_checkpointed`."""
    elements = type_names_for(list(data.atoms_by_id.values()))
    model = new_model(arch, train_atoms, elements=elements, target=config.target, **(hyperparameters or {}))
    return _train_checkpointed(model, train_atoms, valid_atoms, config, epoch_callback)


def can_continue(model: AtomEnergyModel, arch: str, data: TrainingData) -> bool:
    """Whether ``model`` can be trained further on ``data``: of architecture ``arch``, knowing
    every element of ``data``'s labelled molecules."""
    return model.arch == arch and set(type_names_for(list(data.atoms_by_id.values()))) <= set(model.type_names)


def _continue_training(
    model: AtomEnergyModel, data: TrainingData, config: TrainingConfig, epoch_callback: EpochCallback | None
) -> tuple[TrainingResult, str]:
    """A warm start: ``model`` (its weights, reference energies and hyper-parameters) trained
    further for ``warm_start_epochs`` epochs on every training molecule, with a new optimiser
    and learning-rate schedule; validated on the hold-out (early stopping as configured) where
    ``data`` has one, else on the training molecules for every epoch, the last epoch's weights
    kept (no k-fold estimate: the model's epochs were chosen when it was first trained)."""
    valid = data.atoms("valid") or None
    warm = replace(
        config, epochs=config.warm_start_epochs or config.epochs, warm_start_from=weights_digest(model),
        early_stopping=config.early_stopping and valid is not None,
    )
    result, fingerprint = _train_checkpointed(model, data.atoms("train"), valid, warm, epoch_callback)
    return replace(result, config=warm), fingerprint


def _fold_history(
    arch: str, data: TrainingData, fold: int, config: TrainingConfig, hyperparameters: dict[str, Any] | None,
    epoch_callback: EpochCallback | None,
) -> list[dict[str, float]] | None:
    """The history of fold ``fold``'s training (1-based; on the other folds, validated on its
    molecules whose elements the other folds hold); None when it has no such molecule."""
    held = set(data.folds[fold - 1])
    train_atoms = [data.atoms_by_id[i] for i in data.train_ids if i not in held]
    fold_atoms = [data.atoms_by_id[i] for i in data.folds[fold - 1]]
    unseen = unseen_elements(fold_atoms, type_names_for(train_atoms)).elements  # left out: no warning, no error used
    valid_atoms = [atoms for atoms in fold_atoms if not holds_any(atoms, unseen)]
    if not valid_atoms:
        return None
    callback = None if epoch_callback is None else lambda record: epoch_callback({**record, "fold": fold})
    return _train_new(arch, data, train_atoms, valid_atoms, config, hyperparameters, callback)[0].history


def k_fold_epochs(curves: np.ndarray) -> int:
    """The epochs the k-fold estimate trains for, from the folds' validation curves (shape
    (folds, epochs), MAE in kcal/mol): the latest epoch (1-based) whose mean over folds lies
    within one standard error of the mean's minimum (the folds' standard deviation at the
    minimum over sqrt(folds)); with one fold, the minimum's epoch."""
    mean = curves.mean(axis=0)
    lowest = int(np.argmin(mean))
    if len(curves) < 2:
        return lowest + 1
    standard_error = float(curves[:, lowest].std(ddof=1)) / np.sqrt(len(curves))
    return int(np.flatnonzero(mean <= mean[lowest] + standard_error).max()) + 1


def _fit_k_fold(
    arch: str, data: TrainingData, config: TrainingConfig, hyperparameters: dict[str, Any] | None,
    epoch_callback: EpochCallback | None,
) -> tuple[TrainingResult, str]:
    """The k-fold estimate (module docstring): fold trainings, then the model on every molecule."""
    every_epoch = replace(config, early_stopping=False)
    histories = {
        fold: history for fold in range(1, len(data.folds) + 1)
        if (history := _fold_history(arch, data, fold, every_epoch, hyperparameters, epoch_callback)) is not None
    }
    if not histories:
        warnings.warn(
            f"k-fold validation: none of the {len(data.folds)} folds holds a molecule whose elements the other folds "
            "hold; validating on the training molecules instead", UnseenElementWarning, stacklevel=2,
        )
        return _train_new(arch, data, data.atoms("train"), None, config, hyperparameters, epoch_callback)
    curves = {  # the folds' curves, shape (folds, epochs)
        key: np.array([[record[key] for record in history] for history in histories.values()])
        for key in (SELECTION_METRIC, "valid_loss")
    }
    mean = {key: curve.mean(axis=0) for key, curve in curves.items()}
    best_epoch = k_fold_epochs(curves[SELECTION_METRIC])
    final, fingerprint = _train_new(
        arch, data, data.atoms("train"), None, replace(every_epoch, epochs=best_epoch), hyperparameters
    )
    return replace(
        final, history=[{k: v for k, v in r.items() if not k.startswith("valid_")} for r in final.history],
        best_epoch=best_epoch, best_valid_loss=float(mean["valid_loss"][best_epoch - 1]),
        best_valid_mae_kcal_mol=float(mean[SELECTION_METRIC][best_epoch - 1]), fold_histories=histories, config=config,
    ), fingerprint


def fit(
    arch: str,
    data: TrainingData,
    config: TrainingConfig,
    hyperparameters: dict[str, Any] | None = None,
    *,
    epoch_callback: EpochCallback | None = None,
    initial_model: AtomEnergyModel | None = None,
) -> tuple[TrainingResult, str]:
    """Train a new model on ``data``: validated on its hold-out, or by the k-fold estimate when
    ``data.folds`` (module docstring; ``epoch_callback`` then sees the fold trainings' epochs,
    each record with its ``fold``, 1-based). ``initial_model`` (e.g. the previous
    active-learning round's model): a warm start instead, that model trained further in place
    (:func:`_continue_training`; ``hyperparameters`` unused) where :func:`can_continue`, else
    a new model as without it. Checkpoints in ``<artifacts>/training/<fingerprint>``
    (the same training run twice resumes or returns the finished one). Warns
    (:class:`~atomloop.models.evaluate.UnseenElementWarning`) when validation, test or OOD
    molecules hold elements the training molecules lack. Returns the result and the
    fingerprint (16 hex digits) of the training that made the model."""
    elements = type_names_for(data.atoms("train"))
    for split, what in (("valid", "validation"), ("test", "test"), ("ood", "out-of-distribution test")):
        unseen_elements(data.atoms(split), elements).warn(f"{what} molecules")
    if initial_model is not None and can_continue(initial_model, arch, data):
        return _continue_training(initial_model, data, config, epoch_callback)
    if data.folds:
        return _fit_k_fold(arch, data, config, hyperparameters, epoch_callback)
    return _train_new(arch, data, data.atoms("train"), data.atoms("valid"), config, hyperparameters, epoch_callback)
