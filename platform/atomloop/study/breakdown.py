"""An experiment's test errors per element and per functional group, from its stored
predictions and reference labels (:func:`atomloop.store.registry.stored_predictions`).

Per group: MAE of molecular energies (kcal/mol), of the per-atom error (meV/atom) and, for
atomic targets, of the atomic energies (kcal/mol, meV). Per element (atomic targets only): MAE
of that element's atomic energies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from ase.data import chemical_symbols

from atomloop.units import HARTREE_TO_KCAL_PER_MOL, HARTREE_TO_MEV

if TYPE_CHECKING:
    from atomloop.store.registry import StoredPrediction


@dataclass(frozen=True)
class ErrorRow:
    """Errors restricted to one element or group (``kind`` element | group)."""

    kind: str
    key: str
    n_molecules: int
    n_atoms: int
    mae_kcal_mol: float | None
    mae_mev_atom: float | None
    atomic_mae_kcal_mol: float | None
    atomic_mae_mev: float | None


@dataclass
class _TestErrors:
    """Signed errors of the M test molecules (Hartree): molecular ``energy`` (M,), ``atomic`` (N,)
    over their N atoms, with each atom's element, group and molecule id."""

    groups: np.ndarray
    natoms: np.ndarray
    energy: np.ndarray
    atomic: np.ndarray | None
    numbers: np.ndarray
    atom_groups: np.ndarray
    atom_molecules: np.ndarray


def _collect(predictions: Sequence[StoredPrediction], groups: Mapping[int, str]) -> _TestErrors:
    ids = [p.molecule_id for p in predictions]
    atomic = all(p.reference_atomic_energies is not None for p in predictions)
    return _TestErrors(
        groups=np.array([groups[i] for i in ids], dtype=object),
        natoms=np.array([p.numbers.size for p in predictions]),
        energy=np.array([p.energy - p.reference_energy for p in predictions]),
        atomic=np.concatenate([p.atomic_energies - p.reference_atomic_energies for p in predictions])
        if atomic and predictions else None,
        numbers=np.concatenate([p.numbers for p in predictions]) if ids else np.array([], dtype=int),
        atom_groups=np.array([groups[p.molecule_id] for p in predictions for _ in p.numbers], dtype=object),
        atom_molecules=np.array([p.molecule_id for p in predictions for _ in p.numbers], dtype=int),
    )


def _atomic_mae(errors: np.ndarray | None, mask: np.ndarray) -> tuple[float | None, float | None]:
    if errors is None:
        return None, None
    mae = float(np.abs(errors[mask]).mean())
    return mae * HARTREE_TO_KCAL_PER_MOL, mae * HARTREE_TO_MEV


def error_breakdown(predictions: Sequence[StoredPrediction], groups: Mapping[int, str]) -> list[ErrorRow]:
    """Rows per functional group (``groups``: molecule id -> group) and, where the predictions
    carry atomic references (atomic targets), per element."""
    errors = _collect(predictions, groups)
    rows = []
    for group in sorted(set(errors.groups)):
        mask = errors.groups == group
        rows.append(
            ErrorRow(
                "group", group, int(mask.sum()), int(errors.natoms[mask].sum()),
                float(np.abs(errors.energy[mask]).mean() * HARTREE_TO_KCAL_PER_MOL),
                float(np.abs(errors.energy[mask] / errors.natoms[mask]).mean() * HARTREE_TO_MEV),
                *_atomic_mae(errors.atomic, errors.atom_groups == group),
            )
        )
    if errors.atomic is not None:
        for z in sorted(set(errors.numbers.tolist())):
            mask = errors.numbers == z
            n_molecules = len(set(errors.atom_molecules[mask].tolist()))
            rows.append(
                ErrorRow("element", chemical_symbols[z], n_molecules, int(mask.sum()), None, None, *_atomic_mae(errors.atomic, mask))
            )
    return rows
