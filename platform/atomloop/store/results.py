"""Write one molecule's outcome in one transaction: the calculation row, its orbitals and all
atomic energies; or, for a scheme added later, only the new atomic-energy rows.

A finished calculation *lacks* a scheme when it has no atomic-energy rows of it (or, with
``atomization`` requested, rows without the atomization value).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, and_, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.orm import Session

from atomloop.db.engine import session_scope
from atomloop.qm.calculation import QMResult
from atomloop.qm.orbitals import FORMAT, OccupiedOrbitals, checksum
from atomloop.qm.settings import QMSettings
from atomloop.store.tables import AtomicEnergy, Calculation, CalculationStatus, Molecule, ScfSolution


def atomic_energy_rows(calculation_id: int, result: QMResult) -> list[dict]:
    """One row per scheme and atom (Hartree), with every term and the atomization value."""
    rows = []
    for scheme, energies in result.atomic_energies.items():
        terms = result.terms[scheme]
        atomization = result.atomization.get(scheme)
        for index, energy in enumerate(energies):
            rows.append(
                {
                    "calculation_id": calculation_id,
                    "scheme": scheme,
                    "atom_index": index,
                    "atomic_number": int(result.numbers[index]),
                    "energy": float(energy),
                    **{term: float(values[index]) for term, values in terms.items()},
                    "atomization": None if atomization is None else float(atomization[index]),
                }
            )
    return rows


def _lock_if_held(session: Session, calculation_id: int, worker: str) -> Calculation | None:
    """The row, locked for update, if ``worker`` still holds it (else someone reclaimed it)."""
    calculation = session.get(Calculation, calculation_id, with_for_update=True)
    if calculation is None or calculation.worker != worker or calculation.status != CalculationStatus.running:
        return None
    return calculation


def _finish(engine: Engine, calculation_id: int, worker: str, then=None, **columns) -> bool:
    """Set ``columns`` and ``finished`` on a calculation ``worker`` holds, then run
    ``then(session)`` in the same transaction; False if ``worker`` no longer holds it."""
    with session_scope(engine) as session:
        calculation = _lock_if_held(session, calculation_id, worker)
        if calculation is None:
            return False
        for name, value in columns.items():
            setattr(calculation, name, value)
        calculation.finished = func.now()
        if then is not None:
            then(session)
    return True


def store_result(engine: Engine, calculation_id: int, worker: str, result: QMResult) -> bool:
    """Mark the calculation done with its energies and kept orbitals; False if ``worker`` no
    longer holds it."""
    def write_energies(session: Session) -> None:
        rows = atomic_energy_rows(calculation_id, result)
        if rows:
            session.execute(insert(AtomicEnergy), rows)
        store_orbitals(session, calculation_id, result)

    return _finish(
        engine, calculation_id, worker, write_energies, status=CalculationStatus.done, reason=None,
        total_energy=result.energy, converged=result.converged, wall_time=result.wall_time,
        program_version=result.program_version,
        scf_info={**result.scf_info, "timings": result.timings,
                  "free_atom_energies": {str(z): e for z, e in result.free_atom_energies.items()}},
    )


def store_orbitals(session: Session, calculation_id: int, result: QMResult) -> None:
    """Keep the SCF's occupied orbitals (replacing any kept before)."""
    if result.orbitals is None:
        return
    data = result.orbitals.to_bytes()
    statement = postgresql_insert(ScfSolution).values(
        calculation_id=calculation_id, format=FORMAT, data=data, sha256=checksum(data)
    )
    session.execute(statement.on_conflict_do_update(
        index_elements=[ScfSolution.calculation_id],
        set_={"format": statement.excluded.format, "data": statement.excluded.data, "sha256": statement.excluded.sha256},
    ))


def store_failure(engine: Engine, calculation_id: int, worker: str, reason: str, wall_time: float | None = None) -> bool:
    """Mark the calculation failed with ``reason``; False if ``worker`` no longer holds it."""
    return _finish(engine, calculation_id, worker, status=CalculationStatus.failed, reason=reason, wall_time=wall_time)


def present_schemes(session: Session, calculation_ids: Sequence[int], settings: QMSettings) -> dict[int, set[str]]:
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
    ``tag``, or all) that lack a requested scheme, ascending."""
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
    present = present_schemes(session, calculation_ids, settings)
    return [i for i in calculation_ids if set(settings.schemes) - present[i]]


@dataclass(frozen=True)
class FinishedCalculation:
    """A done calculation held for deriving schemes: its molecule, total energy (Hartree) and
    kept occupied orbitals (None when none were kept, or their checksum fails)."""

    calculation_id: int
    molecule_id: int
    total_energy: float
    orbitals: OccupiedOrbitals | None


def lock_finished(session: Session, calculation_id: int) -> FinishedCalculation | None:
    """Lock a done calculation for this transaction (``FOR UPDATE SKIP LOCKED``); None when it
    is not done or another transaction holds it."""
    calculation = session.scalars(
        select(Calculation).where(Calculation.id == calculation_id).with_for_update(skip_locked=True)
    ).one_or_none()
    if calculation is None or calculation.status != CalculationStatus.done:
        return None
    solution = session.get(ScfSolution, calculation_id)
    orbitals = None
    if solution is not None and checksum(solution.data) == solution.sha256:
        orbitals = OccupiedOrbitals.from_bytes(solution.data)
    return FinishedCalculation(calculation.id, calculation.molecule_id, calculation.total_energy, orbitals)


def fill_atomization(session: Session, calculation_id: int, schemes: Sequence[str], free_atom_energies: dict[int, float]) -> None:
    """Set the atomization values of ``schemes``' rows: each atom's energy minus its free atom's
    (``free_atom_energies``: atomic number -> Hartree), and record those under ``scf_info``."""
    for z, reference in free_atom_energies.items():
        session.execute(
            update(AtomicEnergy).where(
                AtomicEnergy.calculation_id == calculation_id, AtomicEnergy.scheme.in_(list(schemes)),
                AtomicEnergy.atomic_number == z,
            ).values(atomization=AtomicEnergy.energy - reference)
        )
    calculation = session.get_one(Calculation, calculation_id)
    info = calculation.scf_info or {}
    calculation.scf_info = {**info, "free_atom_energies": {str(z): e for z, e in free_atom_energies.items()}}


def store_derived_schemes(session: Session, calculation_id: int, result: QMResult, schemes: Sequence[str]) -> None:
    """Replace the rows of ``schemes`` by ``result``'s and record their partitioning times
    under ``scf_info["derived"]`` (seconds)."""
    session.execute(delete(AtomicEnergy).where(
        AtomicEnergy.calculation_id == calculation_id, AtomicEnergy.scheme.in_(list(schemes))
    ))
    rows = atomic_energy_rows(calculation_id, result)
    if rows:
        session.execute(insert(AtomicEnergy), rows)
    calculation = session.get_one(Calculation, calculation_id)
    info = calculation.scf_info or {}
    calculation.scf_info = {**info, "derived": {
        **info.get("derived", {}), **{name: result.timings.get(f"partition:{name}") for name in schemes},
    }}
