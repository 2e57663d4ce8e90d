"""An experiment's test errors per element and per functional group, from the store's
``Prediction`` rows and reference labels.

Per group: MAE of molecular energies (kcal/mol), of the per-atom error (meV/atom) and, for
atomic targets, of the atomic energies (kcal/mol, meV). Per element (atomic targets only): MAE
of that element's atomic energies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from ase.data import chemical_symbols
from sqlalchemy import select
from sqlalchemy.orm import Session

from atomloop.models.data import ATOMIC_ENERGIES_ARRAY_KEY
from atomloop.models.evaluate import HARTREE_TO_KCAL_PER_MOL, HARTREE_TO_MEV
from atomloop.store.labels import LabelSource, labelled_atoms
from atomloop.store.tables import Molecule, Prediction


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


def _collect(session: Session, model_id: int, source: LabelSource, groups: Mapping[int, str]) -> _TestErrors:
    predictions = session.scalars(
        select(Prediction).where(Prediction.model_id == model_id, Prediction.split == "test").order_by(Prediction.molecule_id)
    ).all()
    ids = [p.molecule_id for p in predictions]
    references = labelled_atoms(session, source, ids) if source.scheme else {}
    numbers = {m.id: np.asarray(m.numbers) for m in session.scalars(select(Molecule).where(Molecule.id.in_(ids)))}
    atomic = (
        np.concatenate([np.asarray(p.atomic_energies) - references[p.molecule_id].arrays[ATOMIC_ENERGIES_ARRAY_KEY] for p in predictions])
        if source.scheme and predictions
        else None
    )
    return _TestErrors(
        groups=np.array([groups[i] for i in ids], dtype=object),
        natoms=np.array([numbers[i].size for i in ids]),
        energy=np.array([p.energy - p.reference_energy for p in predictions]),
        atomic=atomic,
        numbers=np.concatenate([numbers[i] for i in ids]) if ids else np.array([], dtype=int),
        atom_groups=np.array([groups[i] for i in ids for _ in numbers[i]], dtype=object),
        atom_molecules=np.array([i for i in ids for _ in numbers[i]], dtype=int),
    )


def _atomic_mae(errors: np.ndarray | None, mask: np.ndarray) -> tuple[float | None, float | None]:
    if errors is None:
        return None, None
    mae = float(np.abs(errors[mask]).mean())
    return mae * HARTREE_TO_KCAL_PER_MOL, mae * HARTREE_TO_MEV


def error_breakdown(session: Session, model_id: int, source: LabelSource, groups: Mapping[int, str]) -> list[ErrorRow]:
    """Rows per functional group (``groups``: molecule id -> group) and, for atomic targets
    (``source.scheme`` set), per element of the model's test predictions."""
    errors = _collect(session, model_id, source, groups)
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
