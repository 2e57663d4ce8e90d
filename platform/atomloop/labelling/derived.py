"""Schemes added to labelled molecules: atomic energies derived from a finished SCF's kept
orbitals (:func:`atomloop.qm.calculation.repartition`), no new SCF.

A finished calculation lacks a scheme when it has no atomic-energy rows of it (or, with
``atomization`` requested, rows without the atomization value). Each calculation is derived in
one transaction that holds its row (``FOR UPDATE SKIP LOCKED``): two runs never derive the same
scheme twice, and a kill leaves nothing half-written. A calculation stored before orbitals were
kept (migration 0004) runs its SCF once more, and keeps the orbitals from then on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from sqlalchemy import Engine, and_, delete, select
from sqlalchemy.orm import Session

from atomloop.labelling.results import atomic_energy_rows, store_orbitals
from atomloop.qm.calculation import compute, repartition
from atomloop.qm.orbitals import OccupiedOrbitals, checksum
from atomloop.qm.settings import QMSettings
from atomloop.store.molecules import molecule_to_atoms
from atomloop.store.tables import AtomicEnergy, Calculation, CalculationStatus, Molecule, ScfSolution


def _present(session: Session, calculation_ids: Sequence[int], settings: QMSettings) -> dict[int, set[str]]:
    """The requested schemes each calculation already has (with atomization values when requested)."""
    query = select(AtomicEnergy.calculation_id, AtomicEnergy.scheme).where(
        AtomicEnergy.calculation_id.in_(list(calculation_ids)), AtomicEnergy.scheme.in_(list(settings.schemes))
    ).distinct()
    present: dict[int, set[str]] = {i: set() for i in calculation_ids}
    for calculation_id, scheme in session.execute(query):
        present[calculation_id].add(scheme)
    if settings.atomization:
        incomplete = select(AtomicEnergy.calculation_id, AtomicEnergy.scheme).where(
            AtomicEnergy.calculation_id.in_(list(calculation_ids)), AtomicEnergy.atomization.is_(None)
        ).distinct()
        for calculation_id, scheme in session.execute(incomplete):
            present[calculation_id].discard(scheme)
    return present


def lacking_schemes(
    session: Session, settings: QMSettings, *, molecule_ids: Sequence[int] | None = None, tag: str | None = None
) -> list[int]:
    """Finished calculations at ``settings``' level (of ``molecule_ids``, of molecules tagged
    ``tag``, or all) that lack a requested scheme."""
    if not settings.schemes:
        return []
    query = select(Calculation.id).where(and_(
        Calculation.settings_hash == settings.settings_hash, Calculation.status == CalculationStatus.done,
    ))
    if molecule_ids is not None:
        query = query.where(Calculation.molecule_id.in_(list(molecule_ids)))
    if tag is not None:
        query = query.join(Molecule, Molecule.id == Calculation.molecule_id).where(Molecule.tags.any(tag))
    calculation_ids = list(session.scalars(query.order_by(Calculation.id)))
    present = _present(session, calculation_ids, settings)
    return [i for i in calculation_ids if set(settings.schemes) - present[i]]


def _derive_one(session: Session, calculation: Calculation, settings: QMSettings, max_memory_mb: float | None) -> bool:
    missing = sorted(set(settings.schemes) - _present(session, [calculation.id], settings)[calculation.id])
    if not missing:
        return False
    atoms = molecule_to_atoms(session.get_one(Molecule, calculation.molecule_id))
    wanted = replace(settings, schemes=tuple(missing))
    solution = session.get(ScfSolution, calculation.id)
    if solution is not None and checksum(solution.data) == solution.sha256:
        result = repartition(atoms, wanted, OccupiedOrbitals.from_bytes(solution.data), calculation.total_energy,
                             max_memory_mb=max_memory_mb)
    else:
        result = compute(atoms, wanted, max_memory_mb=max_memory_mb)
        store_orbitals(session, calculation.id, result)
    session.execute(delete(AtomicEnergy).where(
        AtomicEnergy.calculation_id == calculation.id, AtomicEnergy.scheme.in_(missing)
    ))
    session.add_all(AtomicEnergy(**row) for row in atomic_energy_rows(calculation.id, result))
    calculation.scf_info = {**(calculation.scf_info or {}), "derived": {
        **(calculation.scf_info or {}).get("derived", {}), **{name: result.timings.get(f"partition:{name}") for name in missing},
    }}
    return True


def derive_schemes(
    engine: Engine, settings: QMSettings, calculation_ids: Sequence[int], *, max_memory_mb: float | None = None,
    on_finished: Callable[[], None] | None = None,
) -> int:
    """Derive the requested schemes each calculation lacks; returns how many calculations gained some."""
    derived = 0
    for calculation_id in calculation_ids:
        with Session(engine) as session, session.begin():
            calculation = session.scalars(
                select(Calculation).where(Calculation.id == calculation_id).with_for_update(skip_locked=True)
            ).one_or_none()
            if calculation is not None and calculation.status == CalculationStatus.done:
                derived += _derive_one(session, calculation, settings, max_memory_mb)
        if on_finished is not None:
            on_finished()
    return derived
