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
ENERGY_TOLERANCE = 1e-6  # Hartree: per-atom energies sum to the total, and two labels are equal, within it


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
    """A structure to store with its external label; ``where`` names it in errors (file:line).
    With ``replace`` the label replaces a different one stored at the level (recorded in the
    calculation's ``scf_info['replaced']``) instead of being an error."""

    record: MoleculeRecord
    label: ExternalLabel
    where: str
    replace: bool = False


def _difference(given: ExternalLabel, other: ExternalLabel) -> str | None:
    """How ``given`` differs from ``other`` beyond ``ENERGY_TOLERANCE`` (the total, else the
    first atom of a scheme both have), as "energy -1.000000 Ha differs from -2.000000 Ha";
    None when they agree."""
    compared = [("energy", np.array([given.energy]), np.array([other.energy]))] + [
        (f"{scheme} energy of atom", given.atomic_energies[scheme], other.atomic_energies[scheme])
        for scheme in sorted(given.atomic_energies.keys() & other.atomic_energies.keys())]
    for name, mine, theirs in compared:
        gaps = np.abs(mine - theirs)
        if gaps.max() > ENERGY_TOLERANCE:
            i = int(gaps.argmax())
            what = name if name == "energy" else f"{name} {i + 1}"
            return f"{what} {mine[i]:.6f} Ha differs from {theirs[i]:.6f} Ha"
    return None


_INSERT_CALCULATIONS = """
INSERT INTO calculations (molecule_id, method, basis, settings_hash, settings, program, status, attempts,
                          total_energy, converged, finished)
SELECT molecule_id, %(method)s, %(basis)s, %(settings_hash)s, %(settings)s::jsonb, %(program)s, 'done', 0,
       energy, true, now()
FROM unnest(%(molecule_ids)s::bigint[], %(energies)s::double precision[]) AS given (molecule_id, energy)
ON CONFLICT ON CONSTRAINT uq_calculation_molecule_settings DO NOTHING
RETURNING id, molecule_id
"""

# A calculation without a result (queued, running or failed) gets the label; a done one only with
# --replace (``replaced_by`` = where the new label came from), recorded in scf_info['replaced'].
_UPDATE_CALCULATIONS = """
UPDATE calculations AS c
SET status = 'done', total_energy = given.energy, converged = true, finished = now(), reason = NULL,
    worker = NULL, heartbeat = NULL, program_version = NULL, wall_time = NULL,
    scf_info = CASE WHEN given.replaced_by IS NULL THEN NULL ELSE jsonb_build_object('replaced',
        coalesce(c.scf_info -> 'replaced', '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
            'total_energy_hartree', c.total_energy, 'by', given.replaced_by, 'at', now()))) END
FROM unnest(%(ids)s::bigint[], %(energies)s::double precision[], %(replaced_by)s::text[])
     AS given (id, energy, replaced_by)
WHERE c.id = given.id
"""

_CLEAR_ATOMIC = "DELETE FROM atomic_energies WHERE calculation_id = ANY(%(ids)s::bigint[])"
_CLEAR_ORBITALS = "DELETE FROM scf_solutions WHERE calculation_id = ANY(%(ids)s::bigint[])"

_INSERT_ATOMIC = """
INSERT INTO atomic_energies (calculation_id, scheme, atom_index, atomic_number, energy)
SELECT calculation_id, scheme, atom_index, atomic_number, energy
FROM unnest(%(calculation_ids)s::bigint[], %(schemes)s::text[], %(atom_indices)s::integer[], %(numbers)s::smallint[],
            %(energies)s::double precision[]) AS given (calculation_id, scheme, atom_index, atomic_number, energy)
"""

_STORED_ATOMS = "SELECT id, numbers, positions FROM molecules WHERE id = ANY(%(ids)s::bigint[])"

_STORED_CALCULATIONS = """
SELECT molecule_id, id, status = 'done', total_energy FROM calculations
WHERE settings_hash = %(settings_hash)s AND molecule_id = ANY(%(ids)s::bigint[])
FOR UPDATE
"""

_STORED_ATOMIC = """
SELECT calculation_id, scheme, array_agg(energy ORDER BY atom_index) FROM atomic_energies
WHERE calculation_id = ANY(%(ids)s::bigint[]) GROUP BY calculation_id, scheme
"""


ALIGNMENT_TOLERANCE = 2e-3  # Å: twice the rounding of the structure hash's distances (10^-3 Å)
_ALIGNMENT_BUDGET = 200_000  # candidate placements tried before a mapping is given up


def _distances(positions: np.ndarray) -> np.ndarray:
    delta = positions[:, None, :] - positions[None, :, :]
    return np.sqrt(np.einsum("ijk,ijk->ij", delta, delta))


def atom_mapping(numbers: np.ndarray, positions: np.ndarray, stored_numbers: np.ndarray, stored_positions: np.ndarray,
                 tolerance: float = ALIGNMENT_TOLERANCE) -> np.ndarray | None:
    """``mapping`` with ``mapping[i]`` the stored atom that is given atom ``i``: same element,
    and every interatomic distance the same within ``tolerance`` Å (so the two are one
    structure up to rotation, translation, reflection and atom order, as their equal
    ``structure_hash`` says); None when there is no such mapping. The identity when it fits;
    otherwise a depth-first search over the atoms with the fewest candidates first, each
    placement the one whose distances to the atoms already placed agree best. Atoms that are
    equivalent within ``tolerance`` (the hydrogens of a methyl group) may be matched either way."""
    numbers, stored_numbers = np.asarray(numbers), np.asarray(stored_numbers)
    if numbers.shape != stored_numbers.shape or not np.array_equal(np.sort(numbers), np.sort(stored_numbers)):
        return None
    given, stored = _distances(np.asarray(positions, dtype=float)), _distances(np.asarray(stored_positions, dtype=float))
    count = len(numbers)
    if np.array_equal(numbers, stored_numbers) and np.abs(given - stored).max(initial=0.0) <= tolerance:
        return np.arange(count)
    row_gaps = np.abs(np.sort(given, axis=1)[:, None, :] - np.sort(stored, axis=1)[None, :, :]).max(axis=2, initial=0.0)
    allowed = (numbers[:, None] == stored_numbers[None, :]) & (row_gaps <= tolerance)
    order = sorted(range(count), key=lambda i: int(allowed[i].sum()))
    mapping = np.full(count, -1)
    used = np.zeros(count, dtype=bool)

    def candidates(depth: int):
        atom, placed = order[depth], order[:depth]
        options = np.flatnonzero(allowed[atom] & ~used)
        if not placed:
            return iter(options[np.argsort(row_gaps[atom, options], kind="stable")])
        gaps = np.abs(stored[np.ix_(options, mapping[placed])] - given[atom, placed][None, :]).max(axis=1)
        fitting = gaps <= tolerance
        return iter(options[fitting][np.argsort(gaps[fitting], kind="stable")])

    stack = [candidates(0)]
    for _ in range(_ALIGNMENT_BUDGET):
        if not stack:
            return None
        atom = order[len(stack) - 1]
        if mapping[atom] >= 0:
            used[mapping[atom]] = False
            mapping[atom] = -1
        choice = next(stack[-1], None)
        if choice is None:
            stack.pop()
            continue
        mapping[atom], used[choice] = choice, True
        if len(stack) == count:
            return mapping
        stack.append(candidates(len(stack)))
    return None


def _aligned(cursor, labelled: Sequence[tuple[int, LabelledRecord]]) -> list[tuple[int, LabelledRecord]]:
    """``labelled`` with per-atom energies in the stored molecule's atom order: a structure
    stored earlier with its atoms in another order, moved or rounded (a file's 8 decimals) gets
    its record and per-atom energies put in the stored order through :func:`atom_mapping`; one
    with no such mapping (not the same structure within ``ALIGNMENT_TOLERANCE``) is an
    :class:`InputError`."""
    from dataclasses import replace

    with_atomic = {i for i, item in labelled if item.label.atomic_energies}
    if not with_atomic:
        return list(labelled)
    cursor.execute(_STORED_ATOMS, {"ids": sorted(with_atomic)})
    stored = {molecule_id: (np.asarray(numbers), np.asarray(positions, dtype=float))
              for molecule_id, numbers, positions in cursor}
    out = []
    for molecule_id, item in labelled:
        numbers, positions = stored.get(molecule_id, (None, None))
        if numbers is None or (np.array_equal(numbers, item.record.numbers)
                               and np.array_equal(positions, item.record.positions)):
            out.append((molecule_id, item))
            continue
        mapping = atom_mapping(item.record.numbers, item.record.positions, numbers, positions)
        if mapping is None:
            raise InputError(f"{item.where}: no order of its atoms matches molecule {molecule_id} as stored (every "
                             f"distance within {ALIGNMENT_TOLERANCE:g} Å); its per-atom energies cannot be aligned")
        atomic = {}
        for scheme, values in item.label.atomic_energies.items():
            atomic[scheme] = np.empty(len(values))
            atomic[scheme][mapping] = values
        record = replace(item.record, numbers=numbers, positions=positions)
        out.append((molecule_id, replace(item, record=record, label=ExternalLabel(item.label.energy, atomic))))
    return out


def _stored_labels(
    cursor, level: ExternalLevel | PySCFLevel, ids: list[int]
) -> dict[int, tuple[int, ExternalLabel | None]]:
    """Molecule id -> (its calculation at ``level``, locked; its label, None while not done)."""
    cursor.execute(_STORED_CALCULATIONS, {"settings_hash": level.settings_hash, "ids": ids})
    stored = {molecule_id: (calculation_id, ExternalLabel(energy) if done else None)
              for molecule_id, calculation_id, done, energy in cursor.fetchall()}
    labels = {calculation_id: label for calculation_id, label in stored.values() if label is not None}
    if labels:
        cursor.execute(_STORED_ATOMIC, {"ids": list(labels)})
        for calculation_id, scheme, energies in cursor.fetchall():
            labels[calculation_id].atomic_energies[scheme] = np.asarray(energies, dtype=float)
    return stored


def write_external_labels(
    cursor, level: ExternalLevel | PySCFLevel, labelled: Sequence[tuple[int, LabelledRecord]]
) -> int:
    """Store the labels of ``labelled`` — (molecule id, the record it was stored from) — as done
    calculations at ``level`` with ``cursor`` (a psycopg cursor inside the caller's
    transaction). Returns how many labels were written (added, filled in or replaced).

    A label equal (within ``ENERGY_TOLERANCE`` Hartree: the total and each per-atom energy of
    a scheme both have) to the one stored, or given twice, is stored once; schemes the stored
    one lacks are added to it. A different label is an :class:`InputError` naming both values,
    unless its record says ``replace``: then it replaces the stored one (per-atom energies and
    kept orbitals too) and ``scf_info['replaced']`` records the energy replaced (Hartree), by
    which record and when. Two different labels for one molecule in one input are always an
    error. A calculation queued, running or failed at ``level`` gets the label. Per-atom
    energies of a structure stored earlier in another atom order (or moved, or rounded) are
    first put in the stored order (:func:`atom_mapping`)."""
    labelled = _aligned(cursor, labelled)
    given: dict[int, LabelledRecord] = {}
    for molecule_id, item in labelled:
        first = given.setdefault(molecule_id, item)
        if first is not item and (difference := _difference(item.label, first.label)):
            raise InputError(f"{item.where}: {difference} given for the same molecule at {first.where}")
    if not given:
        return 0
    stored = _stored_labels(cursor, level, list(given))
    atomic: list[tuple[int, int, dict[str, np.ndarray]]] = []  # (calculation id, molecule id, schemes to write)
    updates: list[tuple[int, int, str | None]] = []  # (calculation id, molecule id, replaced by)
    for molecule_id, (calculation_id, label) in stored.items():
        item = given[molecule_id]
        if label is None:
            updates.append((calculation_id, molecule_id, None))
        elif difference := _difference(item.label, label):
            if not item.replace:
                raise InputError(f"{item.where}: {difference} stored for this molecule (molecule {molecule_id}) at "
                                 f"{level.method}/{level.basis} ({level.program}); give --replace to replace it")
            updates.append((calculation_id, molecule_id, item.where))
        else:
            atomic.append((calculation_id, molecule_id, {scheme: energies for scheme, energies in
                                                         item.label.atomic_energies.items()
                                                         if scheme not in label.atomic_energies}))
    if updates:
        ids = [calculation_id for calculation_id, _, _ in updates]
        cursor.execute(_UPDATE_CALCULATIONS, {"ids": ids, "energies": [given[m].label.energy for _, m, _ in updates],
                                              "replaced_by": [by for _, _, by in updates]})
        cursor.execute(_CLEAR_ATOMIC, {"ids": ids})
        cursor.execute(_CLEAR_ORBITALS, {"ids": ids})
        atomic += [(calculation_id, m, given[m].label.atomic_energies) for calculation_id, m, _ in updates]
    new = [i for i in given if i not in stored]
    if new:
        cursor.execute(_INSERT_CALCULATIONS, {
            "method": level.method, "basis": level.basis, "settings_hash": level.settings_hash,
            "settings": json.dumps(level.settings()), "program": level.program,
            "molecule_ids": new, "energies": [given[i].label.energy for i in new],
        })
        added = cursor.fetchall()
        if len(added) < len(new):  # another process queued one since: ingest again
            raise InputError("a calculation at this level was queued while labels were stored; run the ingest again")
        atomic += [(calculation_id, molecule_id, given[molecule_id].label.atomic_energies)
                   for calculation_id, molecule_id in added]
    rows = [
        (calculation_id, scheme, index, int(number), float(energy))
        for calculation_id, molecule_id, schemes in atomic
        for scheme, energies in schemes.items()
        for index, (number, energy) in enumerate(zip(given[molecule_id].record.numbers, energies, strict=True))
    ]
    if rows:
        calculation_ids, schemes, atom_indices, numbers, energies = (list(column) for column in zip(*rows, strict=True))
        cursor.execute(_INSERT_ATOMIC, {"calculation_ids": calculation_ids, "schemes": schemes,
                                        "atom_indices": atom_indices, "numbers": numbers, "energies": energies})
    return len(updates) + len(new)
