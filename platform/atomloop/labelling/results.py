"""Write one molecule's outcome in one transaction: the calculation row, its orbitals and all
atomic energies; or, for a scheme added later, only the new atomic-energy rows."""

from __future__ import annotations

from sqlalchemy import Engine, func, insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.orm import Session

from atomloop.labelling.claims import lock_if_held
from atomloop.qm.calculation import QMResult
from atomloop.qm.orbitals import FORMAT, checksum
from atomloop.store.tables import AtomicEnergy, CalculationStatus, ScfSolution


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


def store_result(engine: Engine, calculation_id: int, worker: str, result: QMResult) -> bool:
    """Mark the calculation done with its energies; False if ``worker`` no longer holds it."""
    with Session(engine) as session, session.begin():
        calculation = lock_if_held(session, calculation_id, worker)
        if calculation is None:
            return False
        calculation.status = CalculationStatus.done
        calculation.reason = None
        calculation.total_energy = result.energy
        calculation.converged = result.converged
        calculation.scf_info = {
            **result.scf_info,
            "timings": result.timings,
            "free_atom_energies": {str(z): e for z, e in result.free_atom_energies.items()},
        }
        calculation.wall_time = result.wall_time
        calculation.program_version = result.program_version
        calculation.finished = func.now()
        rows = atomic_energy_rows(calculation_id, result)
        if rows:
            session.execute(insert(AtomicEnergy), rows)
        store_orbitals(session, calculation_id, result)
    return True


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
    with Session(engine) as session, session.begin():
        calculation = lock_if_held(session, calculation_id, worker)
        if calculation is None:
            return False
        calculation.status = CalculationStatus.failed
        calculation.reason = reason
        calculation.wall_time = wall_time
        calculation.finished = func.now()
    return True
