"""Predictions and error metrics of energy models.

Molecular energies: MAE and RMSE in kcal/mol, and of the per-atom error (Ê_m - E_m)/n_m in
meV/atom. Atomic energies: MAE per element in kcal/mol and meV. Units from ``ase.units``
(1 Hartree = 627.5095 kcal/mol = 27211.386 meV).

A molecule holding an element its model never trained on is predicted from an untrained
embedding and a reference energy of 0 (errors of order 1e5 kcal/mol): :func:`unseen_elements`
finds them, :meth:`UnseenElements.warn` says so and :func:`metrics_of` marks the split's
metrics (``unseen_elements``: symbols, ``unseen_element_molecules``: how many molecules).
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from ase import Atoms
from ase.data import chemical_symbols
from tqdm.auto import tqdm

from atomloop.models import keys
from atomloop.models.data import (
    ATOMIC_ENERGIES_ARRAY_KEY,
    ENERGY_INFO_KEY,
    atoms_to_graphs,
    iterate_batches,
    to_device,
    type_names_for,
)
from atomloop.models.networks import AtomEnergyModel
from atomloop.units import HARTREE_TO_KCAL_PER_MOL, HARTREE_TO_MEV


class UnseenElementWarning(UserWarning):
    """Molecules hold elements absent from the training set: their predictions are meaningless."""


@dataclass(frozen=True)
class UnseenElements:
    """The ``elements`` (symbols, by atomic number) of a set of ``total`` molecules that the
    training set lacks, and how many of the molecules (``molecules``) hold any of them."""

    elements: list[str]
    molecules: int
    total: int

    def mark(self) -> dict[str, Any]:
        """The entries marking a split's metrics (empty when every element was trained on)."""
        if not self.elements:
            return {}
        return {"unseen_elements": self.elements, "unseen_element_molecules": self.molecules}

    def warn(self, what: str) -> None:
        """An :class:`UnseenElementWarning` naming the elements and the molecules of ``what``."""
        if self.elements:
            warnings.warn(
                f"{what}: {self.molecules} of {self.total} molecules hold elements absent from the training set "
                f"({', '.join(self.elements)}); their energies come from untrained embeddings and reference "
                "energies of 0, so their errors are meaningless (often ~1e5 kcal/mol)",
                UnseenElementWarning, stacklevel=2,
            )


def holds_any(atoms: Atoms, elements: Collection[str]) -> bool:
    """Whether ``atoms`` holds any of ``elements`` (symbols)."""
    return not set(atoms.get_chemical_symbols()).isdisjoint(elements)


def unseen_elements(atoms_list: Sequence[Atoms], training_elements: Collection[str]) -> UnseenElements:
    """Elements of ``atoms_list`` absent from ``training_elements`` (symbols)."""
    known = set(training_elements)
    elements = [symbol for symbol in type_names_for(atoms_list) if symbol not in known]
    return UnseenElements(elements, sum(holds_any(atoms, elements) for atoms in atoms_list), len(atoms_list))


@dataclass(frozen=True)
class MoleculePrediction:
    """One molecule's predicted ``energy`` (Hartree) and ``atomic_energies`` (Hartree, (natoms,))."""

    energy: float
    atomic_energies: np.ndarray


def predict(
    model: AtomEnergyModel,
    atoms_list: Sequence[Atoms],
    *,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> list[MoleculePrediction]:
    """Energies of ``atoms_list`` in input order (no gradients)."""
    device = torch.device(device)
    model = model.to(device).eval()
    graphs = atoms_to_graphs(atoms_list, model.type_names, model.r_max)
    predictions: list[MoleculePrediction] = []
    with torch.no_grad():
        batches = tqdm(
            iterate_batches(graphs, batch_size), total=-(-len(graphs) // batch_size), disable=not progress,
            desc=f"predict {model.arch}", unit="batch", leave=False,
        )
        for batch in batches:
            out = model(to_device(batch, device))
            atomic = out[keys.ATOMIC_ENERGY].cpu().numpy()
            bounds = np.cumsum(batch[keys.NUM_ATOMS].numpy())[:-1]
            for energy, per_atom in zip(out[keys.TOTAL_ENERGY].cpu().tolist(), np.split(atomic, bounds)):
                predictions.append(MoleculePrediction(energy=energy, atomic_energies=per_atom))
    return predictions


def last_layer_features(
    model: AtomEnergyModel, atoms_list: Sequence[Atoms], *, batch_size: int = 32, device: str | torch.device = "cpu",
) -> np.ndarray:
    """Each molecule's sum over atoms of the input to the network's last linear layer, shape
    (n_molecules, F): the features whose outer products make the gradient kernel of that layer
    (what LCMD selection measures distances in). An ``InputError`` for networks without one."""
    from atomloop.errors import InputError

    linear = [module for module in model.network.modules() if isinstance(module, torch.nn.Linear)]
    if not linear:
        raise InputError(f"the {model.arch} network has no final linear layer to take features from")
    captured: list[torch.Tensor] = []
    hook = linear[-1].register_forward_hook(lambda _module, inputs, _output: captured.append(inputs[0].detach()))
    device = torch.device(device)
    model = model.to(device).eval()
    rows = []
    try:
        with torch.no_grad():
            for batch in iterate_batches(atoms_to_graphs(atoms_list, model.type_names, model.r_max), batch_size):
                captured.clear()
                model(to_device(batch, device))
                per_atom = captured[-1].double().cpu()
                owner = torch.repeat_interleave(torch.arange(batch[keys.NUM_ATOMS].numel()), batch[keys.NUM_ATOMS])
                rows.append(torch.zeros(owner.max().item() + 1, per_atom.shape[1], dtype=torch.float64)
                            .index_add_(0, owner, per_atom).numpy())
    finally:
        hook.remove()
    return np.concatenate(rows) if rows else np.zeros((0, linear[-1].in_features))


def energy_metrics(predicted: np.ndarray, reference: np.ndarray, natoms: np.ndarray) -> dict[str, float]:
    """Errors of molecular energies (inputs in Hartree, shape (M,))."""
    error = np.asarray(predicted, dtype=float) - np.asarray(reference, dtype=float)
    per_atom = error / np.asarray(natoms, dtype=float)
    return {
        "n": int(error.size),
        "mae_kcal_mol": float(np.abs(error).mean() * HARTREE_TO_KCAL_PER_MOL),
        "rmse_kcal_mol": float(np.sqrt((error**2).mean()) * HARTREE_TO_KCAL_PER_MOL),
        "mae_mev_atom": float(np.abs(per_atom).mean() * HARTREE_TO_MEV),
        "rmse_mev_atom": float(np.sqrt((per_atom**2).mean()) * HARTREE_TO_MEV),
    }


def atomic_metrics(predicted: np.ndarray, reference: np.ndarray, numbers: np.ndarray) -> dict[str, dict[str, float]]:
    """MAE of atomic energies per element symbol (inputs: all atoms concatenated, Hartree)."""
    error = np.abs(np.asarray(predicted, dtype=float) - np.asarray(reference, dtype=float))
    numbers = np.asarray(numbers)
    return {
        chemical_symbols[z]: {
            "n": int((numbers == z).sum()),
            "mae_kcal_mol": float(error[numbers == z].mean() * HARTREE_TO_KCAL_PER_MOL),
            "mae_mev": float(error[numbers == z].mean() * HARTREE_TO_MEV),
        }
        for z in sorted(set(numbers.tolist()))
    }


def metrics_of(
    atoms_list: Sequence[Atoms],
    predictions: Sequence[MoleculePrediction],
    training_elements: Collection[str] | None = None,
) -> dict[str, Any]:
    """``energy`` metrics for the labelled molecules, plus ``atomic`` per-element metrics when
    every one carries atomic energies; empty when none is labelled. Given the model's
    ``training_elements`` (symbols), molecules with other elements are marked
    (:meth:`UnseenElements.mark`)."""
    labelled = [(a, p) for a, p in zip(atoms_list, predictions) if ENERGY_INFO_KEY in a.info]
    if not labelled:
        return {}
    out: dict[str, Any] = {
        "energy": energy_metrics(
            np.array([p.energy for _, p in labelled]),
            np.array([a.info[ENERGY_INFO_KEY] for a, _ in labelled]),
            np.array([len(a) for a, _ in labelled]),
        )
    }
    if all(ATOMIC_ENERGIES_ARRAY_KEY in a.arrays for a, _ in labelled):
        out["atomic"] = atomic_metrics(
            np.concatenate([p.atomic_energies for _, p in labelled]),
            np.concatenate([a.arrays[ATOMIC_ENERGIES_ARRAY_KEY] for a, _ in labelled]),
            np.concatenate([a.numbers for a, _ in labelled]),
        )
    if training_elements is not None:
        out.update(unseen_elements([a for a, _ in labelled], training_elements).mark())
    return out


def evaluate(
    model: AtomEnergyModel, sets: Mapping[str, Sequence[Atoms]], *, device: str | torch.device = "cpu"
) -> dict[str, dict[str, Any]]:
    """Metrics per named set (e.g. ``{"test": ..., "ood_test": ...}``); empty sets are skipped."""
    return {name: metrics_of(atoms_list, predict(model, atoms_list, device=device)) for name, atoms_list in sets.items() if atoms_list}
