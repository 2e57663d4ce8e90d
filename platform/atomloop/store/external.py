"""Labels computed elsewhere (QM9's energies, a user's own DFT runs): finished calculations at a
level the user states, stored like PySCF's and never recomputed.

An external level's identity (``settings_hash``) is its program, method and basis, marked
``external`` so that it never equals a PySCF level: ``atomloop label`` at the same method and
basis computes its own labels beside the external ones, and every reader (training, selection,
export) tells them apart by settings hash. Energies are in Hartree like every other label.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from atomloop.errors import InputError
from atomloop.qm.settings import QMSettings
from atomloop.store.molecules import MoleculeRecord

EXTERNAL_SCHEME = "external"  # the scheme name of per-atom energies given with external labels


@dataclass(frozen=True)
class ExternalLevel:
    """The level of external labels: ``program`` (e.g. ``gaussian09``), ``method`` (e.g.
    ``b3lyp``, stored lower-case as every method is) and ``basis`` (e.g. ``6-31G(2df,p)``)."""

    program: str
    method: str
    basis: str

    def __post_init__(self) -> None:
        for name in ("program", "method", "basis"):
            value = getattr(self, name).strip()
            if not value or len(value) > 32:
                raise InputError(f"--label-{name} must be 1 to 32 characters, got {getattr(self, name)!r}")
            object.__setattr__(self, name, value.lower() if name != "basis" else value)

    def settings(self) -> dict:
        """What ``calculations.settings`` records for this level."""
        return {"external": True, "program": self.program, "method": self.method, "basis": self.basis}

    @property
    def settings_hash(self) -> str:
        """SHA-256 of :meth:`settings` (sorted JSON)."""
        return hashlib.sha256(json.dumps(self.settings(), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class PySCFLevel:
    """Labels atomloop's own PySCF path computed elsewhere (the shipped labelled sets): stored
    at exactly the level ``atomloop label`` at ``qm`` would compute, so they are never computed
    again. Same attributes as :class:`ExternalLevel`."""

    qm: QMSettings
    program: str = "pyscf"

    @property
    def method(self) -> str:
        return self.qm.method

    @property
    def basis(self) -> str:
        return self.qm.basis

    def settings(self) -> dict:
        return self.qm.scf_settings()

    @property
    def settings_hash(self) -> str:
        return self.qm.settings_hash


@dataclass(frozen=True)
class ExternalLabel:
    """One molecule's label: total ``energy`` (Hartree) and per-atom ``atomic_energies`` by
    scheme (each of shape (n,), Hartree, in the molecule's atom order; empty when none given)."""

    energy: float
    atomic_energies: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class LabelledRecord:
    """A structure to store with its external label; ``where`` names it in errors (file:line)."""

    record: MoleculeRecord
    label: ExternalLabel
    where: str


_INSERT_CALCULATIONS = """
INSERT INTO calculations (molecule_id, method, basis, settings_hash, settings, program, status, attempts,
                          total_energy, converged, finished)
SELECT molecule_id, %(method)s, %(basis)s, %(settings_hash)s, %(settings)s::jsonb, %(program)s, 'done', 0,
       energy, true, now()
FROM unnest(%(molecule_ids)s::bigint[], %(energies)s::double precision[]) AS given (molecule_id, energy)
ON CONFLICT ON CONSTRAINT uq_calculation_molecule_settings DO NOTHING
RETURNING id, molecule_id
"""

_INSERT_ATOMIC = """
INSERT INTO atomic_energies (calculation_id, scheme, atom_index, atomic_number, energy)
SELECT calculation_id, scheme, atom_index, atomic_number, energy
FROM unnest(%(calculation_ids)s::bigint[], %(schemes)s::text[], %(atom_indices)s::integer[], %(numbers)s::smallint[],
            %(energies)s::double precision[]) AS given (calculation_id, scheme, atom_index, atomic_number, energy)
"""

_STORED_ATOMS = "SELECT id, numbers, positions FROM molecules WHERE id = ANY(%(ids)s::bigint[])"


def write_external_labels(
    cursor, level: ExternalLevel | PySCFLevel, labelled: Sequence[tuple[int, LabelledRecord]]
) -> int:
    """Store the labels of ``labelled`` — (molecule id, the record it was stored from) — as done
    calculations at ``level`` with ``cursor`` (a psycopg cursor inside the caller's
    transaction); a molecule that already has a calculation at this level keeps it (the first
    label given wins). Returns how many calculations were added.

    Per-atom energies follow the stored molecule's atom order, so a molecule stored earlier with
    its atoms in another order (or another geometry) is an :class:`InputError`."""
    first: dict[int, tuple[np.ndarray, np.ndarray, ExternalLabel, str]] = {}
    for molecule_id, item in labelled:
        first.setdefault(molecule_id, (item.record.numbers, item.record.positions, item.label, item.where))
    if not first:
        return 0
    with_atomic = [i for i, (_, _, label, _) in first.items() if label.atomic_energies]
    if with_atomic:
        cursor.execute(_STORED_ATOMS, {"ids": with_atomic})
        for molecule_id, numbers, positions in cursor.fetchall():
            given_numbers, given_positions, _, where = first[molecule_id]
            if list(numbers) != given_numbers.tolist() or not np.array_equal(np.asarray(positions), given_positions):
                raise InputError(f"{where}: this molecule is stored with its atoms in another order or place "
                                 f"(molecule {molecule_id}); its per-atom energies cannot be aligned")
    ids = list(first)
    cursor.execute(_INSERT_CALCULATIONS, {
        "method": level.method, "basis": level.basis, "settings_hash": level.settings_hash,
        "settings": json.dumps(level.settings()), "program": level.program,
        "molecule_ids": ids, "energies": [first[i][2].energy for i in ids],
    })
    added = {molecule_id: calculation_id for calculation_id, molecule_id in cursor.fetchall()}
    rows = [
        (added[i], scheme, index, int(number), float(energy))
        for i in with_atomic if i in added
        for scheme, energies in first[i][2].atomic_energies.items()
        for index, (number, energy) in enumerate(zip(first[i][0], energies, strict=True))
    ]
    if rows:
        calculation_ids, schemes, atom_indices, numbers, energies = (list(column) for column in zip(*rows, strict=True))
        cursor.execute(_INSERT_ATOMIC, {"calculation_ids": calculation_ids, "schemes": schemes,
                                        "atom_indices": atom_indices, "numbers": numbers, "energies": energies})
    return len(added)
