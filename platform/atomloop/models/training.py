"""Training of an :class:`~atomloop.models.networks.AtomEnergyModel` on labelled ``Atoms``.

Targets (``TrainingConfig.target``), n_m atoms in molecule m, each term normalised by the
spread of its own labels (:class:`LossScales`, measured on the training set):

- ``total``:  L = mean_m ((Ê_m - E_m) / (n_m s_T))^2, s_T the RMS per-atom residual of the
  molecular energies about the model's per-element references;
- ``atomic``: L = w_t mean_m ((Ê_m - E_m) / (n_m s_T))^2 + w_a mean_i ((ê_i - e_i) / s_A)^2, with
  e_i the partitioned atomic energies (``atoms.arrays['atomic_energies']``), the references
  their per-element means and s_A their RMS about them; ``atomic_weight`` w_a (default 1) weighs the atomic term against the
  total, so at initialisation the two are of one order (one scale for both made the atomic term
  about 230 times the total for mo-pm-iao).

Model selection uses the molecular-energy validation MAE (kcal/mol) for every target, so models
of different targets are chosen on the same quantity: Adam, learning rate reduced on plateaus of
that MAE, early stopping when it has not improved for ``early_stopping_patience`` epochs (the
best epoch's weights are kept; ``early_stopping=False`` trains every epoch and keeps the last
weights), batches of whole molecules, a fixed seed for initialisation and shuffling. After every
epoch a checkpoint (weights, optimiser, scheduler, shuffling state, history) is written
atomically with its sha256 to ``checkpoint_dir``; calling :func:`train` again with the same
model, data and settings resumes after the last saved epoch (a killed training loses at most
one epoch), and returns at once when that training had finished.

``validation`` and ``folds`` choose how :mod:`atomloop.models.fitting` splits off validation
molecules (:data:`VALIDATION_RULES`); :func:`train` itself takes the split it is given, but the
rule is part of every training fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols
from tqdm.auto import tqdm

from atomloop.errors import AtomloopError, InputError
from atomloop.models import keys
from atomloop.models.checkpoint import CHECKPOINT_FILE, load_payload, save_payload
from atomloop.models.data import (
    ATOMIC_ENERGIES_ARRAY_KEY,
    ENERGY_INFO_KEY,
    atoms_to_graphs,
    iterate_batches,
    neighbour_list,
    to_device,
    type_names_for,
)
from atomloop.models.names import VALIDATION_RULES
from atomloop.models.networks import DEFAULT_HYPERPARAMETERS, AtomEnergyModel, build
from atomloop.models.reference import (
    MIN_SCALE_HARTREE,
    composition_matrix,
    fit_atomic_reference_energies,
    fit_reference_energies,
)
from atomloop.units import HARTREE_TO_KCAL_PER_MOL

TARGETS = ("total", "atomic")
SELECTION_METRIC = "valid_mae_kcal_mol"  # molecular-energy validation MAE, kcal/mol: early stopping, LR schedule, Optuna
OBJECTIVE_VERSION = "balanced-loss-v1+xavier-init"  # in every training fingerprint: checkpoints of another loss or initialisation are not resumed
DEVICES = ("auto", "cpu", "cuda")
DEFAULT_FOLDS = 5


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation settings (the model's own hyper-parameters live in ``build``)."""

    target: str = "total"
    epochs: int = 200
    batch_size: int = 8
    learning_rate: float = 5e-3
    lr_factor: float = 0.5
    lr_patience: int = 10
    min_learning_rate: float = 1e-5
    early_stopping_patience: int = 40
    early_stopping: bool = True  # False: every epoch, the last epoch's weights kept
    atomic_weight: float = 1.0
    total_weight: float = 1.0
    seed: int = 0
    validation: str = "auto"  # VALIDATION_RULES: how atomloop.models.fitting validates a training set
    folds: int = DEFAULT_FOLDS  # k of a k-fold validation
    warm_start_epochs: int | None = None  # epochs of a training that continues a given model (None: epochs)
    warm_start_from: str | None = None  # weights_digest of the model a training continues (None: a new model)
    device: str = "auto"
    progress: bool = True

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise InputError(f"unknown target {self.target!r}; choose one of {', '.join(TARGETS)}")
        if self.device not in DEVICES:
            raise InputError(f"unknown device {self.device!r}; choose one of {', '.join(DEVICES)}")
        if self.validation not in VALIDATION_RULES:
            raise InputError(f"unknown validation {self.validation!r}; choose one of {', '.join(VALIDATION_RULES)}")
        if self.epochs < 1 or self.batch_size < 1 or (self.warm_start_epochs is not None and self.warm_start_epochs < 1):
            raise InputError("epochs, warm_start_epochs and batch_size must be positive")
        if self.folds < 2:
            raise InputError(f"k-fold validation needs at least 2 folds, got {self.folds}")

    def optimisation_settings(self) -> dict[str, Any]:
        """The settings that change the result (device and progress display excluded; the
        warm-start fields only where set, so trainings of new models keep their fingerprints)."""
        return {
            k: v for k, v in asdict(self).items()
            if k not in ("device", "progress") and not (k.startswith("warm_start_") and v is None)
        }


@dataclass
class TrainingResult:
    """A trained model (best validation epoch's weights) and its per-epoch ``history``.

    Each history entry: ``epoch`` (1-based), ``train_loss``, ``train_mae`` (molecular energy,
    Hartree, averaged over the epoch's batches), ``valid_loss``, ``valid_mae`` (Hartree),
    ``train_atomic_mae``/``valid_atomic_mae`` (Hartree, ``atomic`` target only), ``valid_mae_kcal_mol``
    (the selection metric), ``learning_rate``. ``best_epoch`` minimises ``valid_mae_kcal_mol``;
    ``best_valid_loss`` is the validation loss of that epoch; ``loss_scales`` normalised the loss.
    ``fold_histories``: by fold number (1-based), the histories of the k-fold trainings that chose
    the number of epochs (:func:`atomloop.models.fitting.fit`; empty otherwise), whose mean
    validation curve gives ``best_epoch`` and ``best_valid_*``; ``history`` then has no
    ``valid_*`` entries.
    """

    model: AtomEnergyModel
    history: list[dict[str, float]]
    best_epoch: int
    best_valid_loss: float
    best_valid_mae_kcal_mol: float = float("nan")
    loss_scales: dict[str, float | None] = field(default_factory=dict)
    resumed_from_epoch: int = 0
    stopped_early: bool = False
    checkpoint_path: Path | None = None
    config: TrainingConfig = field(default_factory=TrainingConfig)
    fold_histories: dict[int, list[dict[str, float]]] = field(default_factory=dict)


EpochCallback = Callable[[dict[str, float]], None]


def resolve_device(name: str) -> torch.device:
    """``auto``: CUDA when available, else CPU; ``cuda`` fails clearly without a GPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise AtomloopError("--device cuda was asked for but no CUDA device is available")
    return torch.device(name)


def average_num_neighbors(atoms_list: Sequence[Atoms], r_max: float) -> float:
    """Mean number of neighbours within ``r_max`` (Å) per atom over ``atoms_list``."""
    edges = sum(
        neighbour_list(torch.as_tensor(a.positions), torch.tensor([len(a)]), r_max).shape[1] for a in atoms_list
    )
    return max(edges / sum(len(a) for a in atoms_list), 1.0)


def new_model(
    arch: str, train_atoms: Sequence[Atoms], *, elements: Sequence[str] = (), target: str = "total",
    **hyperparameters: Any,
) -> AtomEnergyModel:
    """A model for the elements of ``train_atoms`` plus ``elements`` (symbols of molecules it
    must also predict, e.g. test sets), with reference energies fitted on ``train_atoms`` (for
    ``target="atomic"`` from their atomic labels; see :mod:`atomloop.models.reference`) and,
    for NequIP, ``avg_num_neighbors`` measured on them unless given."""
    hp = dict(hyperparameters)
    if arch == "nequip" and "avg_num_neighbors" not in hp:
        r_max = hp.get("r_max", DEFAULT_HYPERPARAMETERS["nequip"]["r_max"])
        hp["avg_num_neighbors"] = round(average_num_neighbors(train_atoms, r_max), 4)
    known = set(type_names_for(train_atoms)) | set(elements)
    type_names = sorted(known, key=chemical_symbols.index)
    model = build(arch, type_names, **hp)
    fit = fit_atomic_reference_energies if target == "atomic" else fit_reference_energies
    model.reference.set_fit(fit(train_atoms, type_names))
    return model


@dataclass(frozen=True)
class LossScales:
    """Spreads that normalise the loss terms (Hartree), about the model's per-element reference
    energies e_Z (its prediction before any training): ``total`` per atom,
    sqrt(mean_m ((E_m - sum_i e_Z_i) / n_m)^2); ``atomic``, sqrt(mean_i (e_i - e_Z_i)^2)
    (None for total targets). Floored at 1 mHa like the model's scale."""

    total: float
    atomic: float | None = None

    @classmethod
    def of(cls, train_atoms: Sequence[Atoms], model: AtomEnergyModel, target: str) -> LossScales:
        """The scales of a training set about ``model``'s reference energies."""
        references = model.reference.energies.detach().cpu().numpy()
        counts = composition_matrix(train_atoms, model.type_names)
        totals = np.array([float(atoms.info[ENERGY_INFO_KEY]) for atoms in train_atoms])
        per_atom = (totals - counts @ references) / counts.sum(axis=1)
        total = max(float(np.sqrt(np.mean(per_atom**2))), MIN_SCALE_HARTREE)
        if target != "atomic":
            return cls(total)
        column = {atomic_numbers[name]: k for k, name in enumerate(model.type_names)}
        baseline = references[[column[int(z)] for atoms in train_atoms for z in atoms.numbers]]
        labels = np.concatenate([atoms.arrays[ATOMIC_ENERGIES_ARRAY_KEY] for atoms in train_atoms])
        return cls(total, max(float(np.sqrt(np.mean((labels - baseline) ** 2))), MIN_SCALE_HARTREE))


def _check_labels(atoms_list: Sequence[Atoms], target: str, what: str) -> None:
    if not atoms_list:
        raise InputError(f"no {what} molecules")
    for atoms in atoms_list:
        if ENERGY_INFO_KEY not in atoms.info:
            raise InputError(f"{what} molecule {atoms.get_chemical_formula()} has no energy label")
        if target == "atomic" and ATOMIC_ENERGIES_ARRAY_KEY not in atoms.arrays:
            raise InputError(f"{what} molecule {atoms.get_chemical_formula()} has no atomic energies (target 'atomic')")


def weights_digest(model: torch.nn.Module) -> str:
    """sha256 of a model's weights and buffers (its ``state_dict``, in key order)."""
    digest = hashlib.sha256()
    for key, value in model.state_dict().items():
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _fingerprint(model: AtomEnergyModel, config: TrainingConfig, *datasets: Sequence[Atoms]) -> str:
    digest = hashlib.sha256(
        json.dumps([model.spec(), config.optimisation_settings(), OBJECTIVE_VERSION], sort_keys=True).encode()
    )
    for dataset in datasets:
        for atoms in dataset:
            digest.update(np.ascontiguousarray(atoms.numbers, dtype=np.int64).tobytes())
            digest.update(np.ascontiguousarray(atoms.positions, dtype=np.float64).tobytes())
            digest.update(repr(atoms.info.get(ENERGY_INFO_KEY)).encode())
            if ATOMIC_ENERGIES_ARRAY_KEY in atoms.arrays:
                digest.update(np.ascontiguousarray(atoms.arrays[ATOMIC_ENERGIES_ARRAY_KEY], dtype=np.float64).tobytes())
        digest.update(b"|")
    return digest.hexdigest()


def training_fingerprint(
    model: AtomEnergyModel, train_atoms: Sequence[Atoms], valid_atoms: Sequence[Atoms] | None, config: TrainingConfig
) -> str:
    """sha256 identifying one training (model spec, settings, data): names its checkpoints."""
    return _fingerprint(model, config, train_atoms, valid_atoms or [])


class _Loss:
    """Loss of one batch plus running sums for the epoch's MAEs."""

    def __init__(self, config: TrainingConfig, scales: LossScales) -> None:
        self.config = config
        self.scales = scales
        self.reset()

    def reset(self) -> None:
        self.loss_sum = 0.0
        self.molecules = 0
        self.total_abs = 0.0
        self.atoms = 0
        self.atomic_abs = 0.0

    def __call__(self, predicted: keys.Batch, batch: keys.Batch) -> torch.Tensor:
        total_error = predicted[keys.TOTAL_ENERGY] - batch[keys.REF_TOTAL_ENERGY]
        loss = ((total_error / batch[keys.NUM_ATOMS] / self.scales.total) ** 2).mean()
        count = len(total_error)
        self.molecules += count
        self.total_abs += float(total_error.detach().abs().sum())
        if self.config.target == "atomic":
            atomic_error = predicted[keys.ATOMIC_ENERGY] - batch[keys.REF_ATOMIC_ENERGY]
            atomic_term = ((atomic_error / self.scales.atomic) ** 2).mean()
            loss = self.config.total_weight * loss + self.config.atomic_weight * atomic_term
            self.atoms += len(atomic_error)
            self.atomic_abs += float(atomic_error.detach().abs().sum())
        self.loss_sum += float(loss.detach()) * count
        return loss

    def summary(self, prefix: str) -> dict[str, float]:
        out = {f"{prefix}_loss": self.loss_sum / self.molecules, f"{prefix}_mae": self.total_abs / self.molecules,
               f"{prefix}_mae_kcal_mol": self.total_abs / self.molecules * HARTREE_TO_KCAL_PER_MOL}
        if self.config.target == "atomic":
            out[f"{prefix}_atomic_mae"] = self.atomic_abs / self.atoms
        return out


def _validate(model: AtomEnergyModel, graphs, loss: _Loss, batch_size: int, device: torch.device) -> dict[str, float]:
    model.eval()
    loss.reset()
    with torch.no_grad():
        for batch in iterate_batches(graphs, batch_size):
            batch = to_device(batch, device)
            loss(model(batch), batch)
    return loss.summary("valid")


def _clone_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.detach().cpu().clone() for key, value in model.state_dict().items()}


def train(
    model: AtomEnergyModel,
    train_atoms: Sequence[Atoms],
    valid_atoms: Sequence[Atoms] | None = None,
    config: TrainingConfig | None = None,
    *,
    checkpoint_dir: Path | None = None,
    epoch_callback: EpochCallback | None = None,
) -> TrainingResult:
    """Train ``model`` in place (see the module docstring); ``valid_atoms`` None validates on
    the training set. The returned model holds the best validation epoch's weights, or with
    ``early_stopping=False`` the last epoch's. ``epoch_callback`` sees each epoch's history
    entry after its checkpoint is written (Optuna pruning raises from it)."""
    config = config or TrainingConfig()
    _check_labels(train_atoms, config.target, "training")
    valid_atoms = list(valid_atoms) if valid_atoms else list(train_atoms)
    _check_labels(valid_atoms, config.target, "validation")
    device = resolve_device(config.device)
    fingerprint = training_fingerprint(model, train_atoms, valid_atoms, config)
    train_graphs = atoms_to_graphs(train_atoms, model.type_names, model.r_max)
    valid_graphs = atoms_to_graphs(valid_atoms, model.type_names, model.r_max)

    torch.manual_seed(config.seed)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=config.lr_factor, patience=config.lr_patience, min_lr=config.min_learning_rate
    )
    generator = torch.Generator().manual_seed(config.seed)
    state: dict[str, Any] = {
        "history": [], "best_state": _clone_state(model), "best_valid_loss": float("inf"),
        "best_valid_mae_kcal_mol": float("inf"),
        "best_epoch": 0, "bad_epochs": 0, "finished": False,
    }
    checkpoint_path = checkpoint_dir / CHECKPOINT_FILE if checkpoint_dir is not None else None
    resumed_from = 0
    if checkpoint_path is not None and checkpoint_path.exists():
        saved = load_payload(checkpoint_path)
        if saved.get("fingerprint") != fingerprint:
            raise AtomloopError(
                f"{checkpoint_path} belongs to another training (different model, data or settings); "
                "remove it or use another checkpoint directory"
            )
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        generator.set_state(saved["generator"])
        state = saved["state"]
        resumed_from = len(state["history"])

    scales = LossScales.of(train_atoms, model, config.target)
    loss = _Loss(config, scales)
    start = len(state["history"])
    bar = tqdm(
        total=config.epochs, initial=start, disable=None if config.progress and not state["finished"] else True,
        desc=f"{model.arch}/{config.target}", unit="epoch", leave=False,
    )
    with bar:
        for epoch in range(start + 1, config.epochs + 1):
            if state["finished"]:
                break
            model.train()
            loss.reset()
            for batch in iterate_batches(train_graphs, config.batch_size, generator=generator):
                batch = to_device(batch, device)
                optimizer.zero_grad(set_to_none=True)
                loss(model(batch), batch).backward()
                optimizer.step()
            record = {"epoch": epoch, **loss.summary("train")}
            record.update(_validate(model, valid_graphs, loss, config.batch_size, device))
            record["learning_rate"] = optimizer.param_groups[0]["lr"]
            scheduler.step(record[SELECTION_METRIC])
            state["history"].append(record)
            if record[SELECTION_METRIC] < state["best_valid_mae_kcal_mol"]:
                state.update(best_valid_loss=record["valid_loss"], best_valid_mae_kcal_mol=record[SELECTION_METRIC],
                             best_epoch=epoch, bad_epochs=0, best_state=_clone_state(model))
            else:
                state["bad_epochs"] += 1
            state["finished"] = epoch == config.epochs or (
                config.early_stopping and state["bad_epochs"] >= config.early_stopping_patience
            )
            if checkpoint_path is not None:
                save_payload(
                    {"fingerprint": fingerprint, "model": _clone_state(model), "optimizer": optimizer.state_dict(),
                     "scheduler": scheduler.state_dict(), "generator": generator.get_state(), "state": state},
                    checkpoint_path,
                )
            bar.update(1)
            bar.set_postfix(
                loss=f"{record['train_loss']:.3g}/{record['valid_loss']:.3g}",
                mae_kcal=f"{record['train_mae'] * HARTREE_TO_KCAL_PER_MOL:.3g}/{record['valid_mae'] * HARTREE_TO_KCAL_PER_MOL:.3g}",
            )
            if epoch_callback is not None:
                epoch_callback(record)

    if config.early_stopping:
        model.load_state_dict(state["best_state"])
    model.eval()
    history = state["history"]
    return TrainingResult(
        model=model, history=history, best_epoch=state["best_epoch"], best_valid_loss=state["best_valid_loss"],
        best_valid_mae_kcal_mol=state["best_valid_mae_kcal_mol"], loss_scales=asdict(scales),
        resumed_from_epoch=resumed_from, stopped_early=len(history) < config.epochs,
        checkpoint_path=checkpoint_path, config=config,
    )
