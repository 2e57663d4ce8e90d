"""Per-element reference energies and the energy scale, applied inside every model.

A network predicts a dimensionless per-atom value y_i; the model's per-atom energy is

    E_i = s * y_i + e_{Z_i}            (Hartree)

where e_Z is the reference energy of element Z. For total-energy targets it is fitted by least
squares of the training molecules' energies on their composition (E_m ~ sum_Z n_{m,Z} e_Z), and
s is the RMS per-atom residual of that fit, s = sqrt(mean_m r_m^2 / n_m) with
r_m = E_m - sum_Z n_{m,Z} e_Z. For atomic targets e_Z is the mean of element Z's atomic labels
and s the RMS of the atomic labels about those means (:func:`fit_atomic_reference_energies`),
so the network does not have to learn per-element offsets of many scale units. Scales are
floored at 1 mHa. So the raw model output is in Hartree and the network only learns O(1) corrections.
An element the model knows but the training set lacks gets reference 0 (the minimum-norm
least-squares solution): its energies are meaningless until it is trained on.
Both are buffers of the model: they are saved with its weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from ase import Atoms
from ase.data import atomic_numbers

from atomloop.errors import InputError
from atomloop.models.names import ATOMIC_ENERGIES_ARRAY_KEY, ENERGY_INFO_KEY

MIN_SCALE_HARTREE = 1e-3


@dataclass(frozen=True)
class ReferenceFit:
    """Fitted ``energies`` (one per type name, Hartree) and ``scale`` (Hartree per atom)."""

    energies: list[float]
    scale: float


def composition_matrix(atoms_list: Sequence[Atoms], type_names: Sequence[str]) -> np.ndarray:
    """Counts n_{m,Z}: shape (molecules, types)."""
    column = {atomic_numbers[name]: k for k, name in enumerate(type_names)}
    counts = np.zeros((len(atoms_list), len(type_names)))
    for row, atoms in enumerate(atoms_list):
        for z in atoms.numbers:
            counts[row, column[int(z)]] += 1
    return counts


def fit_reference_energies(atoms_list: Sequence[Atoms], type_names: Sequence[str]) -> ReferenceFit:
    """Least-squares per-element energies of the molecules' ``info['energy']`` (Hartree).

    With fewer distinct compositions than elements the system is underdetermined; the
    minimum-norm solution (``numpy.linalg.lstsq``) is used.
    """
    missing = [k for k, atoms in enumerate(atoms_list) if ENERGY_INFO_KEY not in atoms.info]
    if missing or not atoms_list:
        raise InputError(f"reference fit needs labelled molecules; {len(missing)} of {len(atoms_list)} lack an energy")
    counts = composition_matrix(atoms_list, type_names)
    totals = np.array([float(atoms.info[ENERGY_INFO_KEY]) for atoms in atoms_list])
    energies, *_ = np.linalg.lstsq(counts, totals, rcond=None)
    residuals = totals - counts @ energies
    scale = float(np.sqrt(np.mean(residuals**2 / counts.sum(axis=1))))
    return ReferenceFit(energies=energies.tolist(), scale=max(scale, MIN_SCALE_HARTREE))


def fit_atomic_reference_energies(atoms_list: Sequence[Atoms], type_names: Sequence[str]) -> ReferenceFit:
    """Per-element means of the atomic labels ``arrays['atomic_energies']`` (Hartree); the scale
    is their RMS deviation from those means. An element without training atoms gets 0."""
    missing = [k for k, atoms in enumerate(atoms_list) if ATOMIC_ENERGIES_ARRAY_KEY not in atoms.arrays]
    if missing or not atoms_list:
        raise InputError(f"atomic reference fit needs atomic labels; {len(missing)} of {len(atoms_list)} lack them")
    column = {atomic_numbers[name]: k for k, name in enumerate(type_names)}
    types = np.array([column[int(z)] for atoms in atoms_list for z in atoms.numbers])
    values = np.concatenate([atoms.arrays[ATOMIC_ENERGIES_ARRAY_KEY] for atoms in atoms_list])
    energies = np.zeros(len(type_names))
    for k in range(len(type_names)):
        if np.any(types == k):
            energies[k] = values[types == k].mean()
    residuals = values - energies[types]
    return ReferenceFit(energies=energies.tolist(), scale=max(float(np.sqrt(np.mean(residuals**2))), MIN_SCALE_HARTREE))


class ReferenceEnergies(torch.nn.Module):
    """E_i = scale * y_i + energies[type_i], in float64 (Hartree)."""

    def __init__(self, num_types: int) -> None:
        super().__init__()
        self.register_buffer("energies", torch.zeros(num_types, dtype=torch.float64))
        self.register_buffer("scale", torch.ones((), dtype=torch.float64))

    def set_fit(self, fit: ReferenceFit) -> None:
        """Load fitted values into the buffers."""
        with torch.no_grad():
            self.energies.copy_(torch.as_tensor(fit.energies, dtype=torch.float64))
            self.scale.fill_(fit.scale)

    def forward(self, raw: torch.Tensor, atom_types: torch.Tensor) -> torch.Tensor:
        """``raw``: (N,) network output; returns (N,) per-atom energies, Hartree."""
        return self.scale * raw.to(torch.float64) + self.energies[atom_types]
