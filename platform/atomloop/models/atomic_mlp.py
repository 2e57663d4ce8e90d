"""A small atom-based network on fixed atom descriptors: E_m = sum_{i in m} (e_{Z_i} + MLP(g_i)).

``g_i`` is a row of :func:`atomloop.select.descriptors.atom_descriptors` (element one-hot,
radial and angular symmetry functions: a Behler-Parrinello-style network). The per-element
references ``e_Z`` are a least-squares fit of the training totals on element counts; the MLP
learns the rest. Fast enough to retrain many times per campaign on a CPU, which is what the
selection benchmark (:mod:`atomloop.benchmark`) needs; it is no substitute for SchNet or NequIP.

Energies in the units of the targets given (the benchmark uses kcal/mol). Training minimises
the mean absolute error per molecule with Adam; the learning rate halves when the validation
MAE has not improved for ``patience`` epochs, and training stops when it falls below
``min_lr`` (the validation plateau) or at ``max_epochs``; the best validation state is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class MLPSettings:
    """Width and training of the network (identical for every strategy of a benchmark)."""

    hidden: int = 64
    layers: int = 2
    batch_molecules: int = 64
    learning_rate: float = 3e-3
    patience: int = 8
    min_lr: float = 1e-4
    max_epochs: int = 400


class AtomicMLP(nn.Module):
    """Atom descriptors (A, W) -> atomic energies (A,); :meth:`embed` gives the last hidden layer."""

    def __init__(self, width: int, settings: MLPSettings) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        size = width
        for _ in range(settings.layers):
            blocks += [nn.Linear(size, settings.hidden), nn.SiLU()]
            size = settings.hidden
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(size, 1)

    def embed(self, features: torch.Tensor) -> torch.Tensor:
        return self.body(features)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(features)).squeeze(-1)


@dataclass
class AtomSet:
    """Atom descriptors of n molecules: ``features`` (A, W) standardised, ``offsets`` (n + 1,)
    with molecule k's atoms at rows ``offsets[k]:offsets[k+1]``, ``counts`` (n, C) element counts."""

    features: np.ndarray
    offsets: np.ndarray
    counts: np.ndarray

    @classmethod
    def from_descriptors(cls, descriptors: np.ndarray, offsets: np.ndarray, n_channels: int) -> AtomSet:
        """Standardise the descriptor columns (one-hot first, ``n_channels`` of them) over all rows."""
        spread = descriptors.std(axis=0)
        standardised = (descriptors - descriptors.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
        sizes = np.diff(offsets)
        molecule = np.repeat(np.arange(sizes.size), sizes)
        counts = np.zeros((sizes.size, n_channels))
        np.add.at(counts, molecule, descriptors[:, :n_channels])
        return cls(standardised.astype(np.float32), offsets, counts)

    def rows(self, molecules: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Atom rows of ``molecules`` and, per row, the position of its molecule in ``molecules``."""
        starts, stops = self.offsets[molecules], self.offsets[molecules + 1]
        sizes = stops - starts
        rows = np.repeat(starts - np.r_[0, np.cumsum(sizes)[:-1]], sizes) + np.arange(sizes.sum())
        return rows, np.repeat(np.arange(molecules.size), sizes)


@dataclass
class FittedMLP:
    """A trained network with its element references; energies in the targets' units."""

    network: AtomicMLP
    references: np.ndarray  # (C,) per-element energies
    validation_mae: float
    epochs: int

    def state(self) -> dict:
        """Weights to warm-start the next fit from."""
        return {k: v.clone() for k, v in self.network.state_dict().items()}

    @torch.no_grad()
    def predict(self, atoms: AtomSet, molecules: np.ndarray) -> np.ndarray:
        """Molecular energies of ``molecules`` (indices into ``atoms``), shape (len(molecules),)."""
        rows, owner = atoms.rows(molecules)
        per_atom = self.network(torch.from_numpy(atoms.features[rows])).double().numpy()
        return np.bincount(owner, weights=per_atom, minlength=molecules.size) + atoms.counts[molecules] @ self.references

    @torch.no_grad()
    def embeddings(self, atoms: AtomSet, molecules: np.ndarray) -> np.ndarray:
        """Last hidden layer summed over each molecule's atoms, shape (len(molecules), hidden)."""
        rows, owner = atoms.rows(molecules)
        hidden = self.network.embed(torch.from_numpy(atoms.features[rows])).double().numpy()
        out = np.zeros((molecules.size, hidden.shape[1]))
        np.add.at(out, owner, hidden)
        return out


def element_references(counts: np.ndarray, energies: np.ndarray) -> np.ndarray:
    """Least-squares per-element energies, shape (C,), from element counts (n, C) and totals (n,)."""
    return np.linalg.lstsq(counts, energies, rcond=None)[0]


def _batch_loss(network: AtomicMLP, atoms: AtomSet, molecules: np.ndarray, residuals: np.ndarray) -> torch.Tensor:
    rows, owner = atoms.rows(molecules)
    per_atom = network(torch.from_numpy(atoms.features[rows]))
    predicted = torch.zeros(molecules.size, dtype=per_atom.dtype).index_add_(0, torch.from_numpy(owner), per_atom)
    return (predicted - torch.from_numpy(residuals.astype(np.float32))).abs().mean()


def fit_atomic_mlp(
    atoms: AtomSet, energies: np.ndarray, train: np.ndarray, validation: np.ndarray, *,
    settings: MLPSettings = MLPSettings(), seed: int = 0, warm_start: dict | None = None,
) -> FittedMLP:
    """Train on molecules ``train`` (indices into ``atoms``), stop on the validation plateau of
    ``validation``; ``energies`` (n,) are the targets of every molecule of ``atoms`` (only the
    labelled ones are read). ``warm_start``: weights of an earlier fit (:meth:`FittedMLP.state`)."""
    torch.manual_seed(seed)
    generator = np.random.default_rng(seed)
    network = AtomicMLP(atoms.features.shape[1], settings)
    if warm_start is not None:
        network.load_state_dict(warm_start)
    references = element_references(atoms.counts[train], energies[train])
    residuals = energies - atoms.counts @ references
    optimizer = torch.optim.Adam(network.parameters(), lr=settings.learning_rate)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=settings.patience)
    fitted = FittedMLP(network, references, float("inf"), 0)

    def validation_mae() -> float:
        return float(np.abs(fitted.predict(atoms, validation) - energies[validation]).mean())

    best_state, epoch = fitted.state(), 0
    fitted.validation_mae = validation_mae()
    for epoch in range(1, settings.max_epochs + 1):
        network.train()
        order = generator.permutation(train)
        for start in range(0, order.size, settings.batch_molecules):
            batch = order[start:start + settings.batch_molecules]
            optimizer.zero_grad()
            _batch_loss(network, atoms, batch, residuals[batch]).backward()
            optimizer.step()
        network.eval()
        mae = validation_mae()
        scheduler.step(mae)
        if mae < fitted.validation_mae:
            fitted.validation_mae, best_state, fitted.epochs = mae, fitted.state(), epoch
        if optimizer.param_groups[0]["lr"] < settings.min_lr:
            break
    network.load_state_dict(best_state)
    return fitted


def bootstrap_members(train: np.ndarray, members: int, seed: int) -> Sequence[np.ndarray]:
    """``members`` bootstrap resamples (with replacement) of the training molecules ``train``."""
    generator = np.random.default_rng(seed)
    return [generator.choice(train, size=train.size, replace=True) for _ in range(members)]
