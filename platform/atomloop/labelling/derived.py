"""Schemes added to labelled molecules: atomic energies derived from a finished SCF's kept
orbitals (:func:`atomloop.qm.calculation.repartition`), no new SCF; atomization values of
schemes already stored (labels ingested without them) from the free atoms' energies alone.

Each calculation is derived in one transaction that holds its row (``FOR UPDATE SKIP LOCKED``):
two runs never derive the same scheme twice, and a kill leaves nothing half-written. A
calculation stored before orbitals were kept (migration 0004) runs its SCF once more, and keeps
the orbitals from then on; orbitals kept without their operator blocks (format v1) rebuild the
operators once, and are kept with them from then on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from atomloop.db.engine import session_scope
from atomloop.qm.atoms import free_atom_energy
from atomloop.qm.calculation import compute, repartition
from atomloop.qm.settings import QMSettings
from atomloop.store.molecules import load_atoms
from atomloop.store.results import (
    fill_atomization,
    lock_finished,
    present_schemes,
    store_derived_schemes,
    store_orbitals,
)


def _derive_one(session: Session, calculation_id: int, settings: QMSettings, max_memory_mb: float | None) -> bool:
    held = lock_finished(session, calculation_id)
    if held is None:
        return False
    stored = present_schemes(session, [calculation_id], replace(settings, atomization=False))[calculation_id]
    missing = sorted(set(settings.schemes) - stored)
    unfilled = sorted(stored - present_schemes(session, [calculation_id], settings)[calculation_id])
    if not missing and not unfilled:
        return False
    (atoms,) = load_atoms(session, [held.molecule_id])
    if unfilled:
        free_atoms = {int(z): free_atom_energy(int(z), settings) for z in sorted(set(atoms.numbers))}
        fill_atomization(session, calculation_id, unfilled, free_atoms)
    if not missing:
        return True
    wanted = replace(settings, schemes=tuple(missing))
    if held.orbitals is not None:
        result = repartition(atoms, wanted, held.orbitals, held.total_energy, max_memory_mb=max_memory_mb)
    else:
        result = compute(atoms, wanted, max_memory_mb=max_memory_mb)
    if held.orbitals is None or held.orbitals.operators is None:
        store_orbitals(session, calculation_id, result)  # kept with their operator blocks from now on
    store_derived_schemes(session, calculation_id, result, missing)
    return True


def derive_schemes(
    engine: Engine, settings: QMSettings, calculation_ids: Sequence[int], *, max_memory_mb: float | None = None,
    on_finished: Callable[[], None] | None = None,
) -> int:
    """Derive the requested schemes each calculation lacks; returns how many calculations gained some."""
    derived = 0
    for calculation_id in calculation_ids:
        with session_scope(engine) as session:
            derived += _derive_one(session, calculation_id, settings, max_memory_mb)
        if on_finished is not None:
            on_finished()
    return derived
