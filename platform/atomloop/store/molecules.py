"""Conversions between ASE ``Atoms`` and rows of the ``molecules`` table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from sqlalchemy import select
from sqlalchemy.orm import Session

from atomloop.db.orm import Molecule
from atomloop.errors import InputError
from atomloop.store.identity import (
    charge_and_multiplicity,
    composition_hash,
    hill_formula,
    structure_hash,
    validate_numbers,
)


@dataclass(frozen=True)
class MoleculeRecord:
    """One validated structure ready for the ``molecules`` table.

    ``numbers``: shape (n,); ``positions``: shape (n, 3), Å.
    """

    numbers: np.ndarray
    positions: np.ndarray
    charge: int
    multiplicity: int
    formula: str
    structure_hash: str
    composition_hash: str
    name: str | None
    smiles: str | None
    tags: tuple[str, ...] = ()


def record_from_atoms(atoms: Atoms) -> MoleculeRecord:
    """Validate ``atoms`` (a finite, non-periodic molecule) and compute its identity.

    ``atoms.info`` may carry ``charge``, ``multiplicity``, ``name``, ``smiles`` and ``tags``
    (a list of strings, e.g. a functional-group class).
    """
    numbers = np.asarray(atoms.numbers, dtype=np.int64)
    if numbers.size == 0:
        raise InputError("a structure with no atoms")
    validate_numbers(numbers)
    if atoms.pbc.any():
        raise InputError("periodic structures are not molecules (pbc is set)")
    positions = np.asarray(atoms.positions, dtype=np.float64)
    if not np.isfinite(positions).all():
        raise InputError("positions contain NaN or infinity")
    charge, multiplicity = charge_and_multiplicity(atoms)
    formula = hill_formula(numbers)
    return MoleculeRecord(
        numbers=numbers,
        positions=positions,
        charge=charge,
        multiplicity=multiplicity,
        formula=formula,
        structure_hash=structure_hash(numbers, positions, formula, charge, multiplicity),
        composition_hash=composition_hash(numbers, positions, formula, charge, multiplicity),
        name=atoms.info.get("name"),
        smiles=atoms.info.get("smiles"),
        tags=tuple(atoms.info.get("tags", ())),
    )


def molecule_to_atoms(molecule: Molecule) -> Atoms:
    """The ``Atoms`` of a stored molecule; ``info`` carries ``molecule_id``, ``charge``,
    ``multiplicity``, ``formula``, ``composition_hash`` and ``name``."""
    atoms = Atoms(numbers=list(molecule.numbers), positions=np.asarray(molecule.positions, dtype=float))
    atoms.info.update(
        molecule_id=molecule.id,
        charge=molecule.charge,
        multiplicity=molecule.multiplicity,
        formula=molecule.formula,
        composition_hash=molecule.composition_hash,
    )
    if molecule.name:
        atoms.info["name"] = molecule.name
    return atoms


def load_atoms(session: Session, molecule_ids: Sequence[int]) -> list[Atoms]:
    """``Atoms`` of the given molecule ids, in the order given."""
    rows = {m.id: m for m in session.scalars(select(Molecule).where(Molecule.id.in_(list(molecule_ids))))}
    missing = [i for i in molecule_ids if i not in rows]
    if missing:
        raise InputError(f"no molecules with ids {missing[:10]}")
    return [molecule_to_atoms(rows[i]) for i in molecule_ids]
