"""Calculation rows as a work queue: create, claim (FOR UPDATE SKIP LOCKED), heartbeat, reclaim.

A row is ``queued`` until a worker claims it (``running``, with ``worker`` = "host:pid/token", a
``heartbeat`` and ``attempts`` + 1). A running row whose worker is gone (the caller's
``worker_alive`` says so) or whose heartbeat is older than ``stale_after_s`` is put back to
``queued``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Engine, and_, exists, func, not_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from atomloop.db.engine import session_scope
from atomloop.qm.settings import QMSettings
from atomloop.store.tables import Calculation, CalculationStatus, Molecule


def pending_molecule_ids(
    session: Session,
    settings_hash: str,
    *,
    molecule_ids: Sequence[int] | None = None,
    tag: str | None = None,
    limit: int | None = None,
    retry_failed: bool = False,
) -> list[int]:
    """Molecules (ascending id) without a finished calculation at ``settings_hash``.

    Finished means ``done``, or ``failed`` unless ``retry_failed``.
    """
    finished = [CalculationStatus.done] if retry_failed else [CalculationStatus.done, CalculationStatus.failed]
    has_finished = exists().where(
        and_(
            Calculation.molecule_id == Molecule.id,
            Calculation.settings_hash == settings_hash,
            Calculation.status.in_(finished),
        )
    )
    query = select(Molecule.id).where(not_(has_finished)).order_by(Molecule.id)
    if molecule_ids is not None:
        query = query.where(Molecule.id.in_(list(molecule_ids)))
    if tag is not None:
        query = query.where(Molecule.tags.any(tag))
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def queue_calculations(session: Session, settings: QMSettings, molecule_ids: Sequence[int]) -> list[int]:
    """Ensure one queued-or-later row per molecule; requeue failed ones; return their ids."""
    if not molecule_ids:
        return []
    settings_hash = settings.settings_hash
    rows = [
        {
            "molecule_id": molecule_id,
            "method": settings.method,
            "basis": settings.basis,
            "settings_hash": settings_hash,
            "settings": settings.scf_settings(),
            "program": "pyscf",
            "status": CalculationStatus.queued,
            "attempts": 0,
        }
        for molecule_id in molecule_ids
    ]
    session.execute(
        insert(Calculation).values(rows).on_conflict_do_nothing(constraint="uq_calculation_molecule_settings")
    )
    ids = list(
        session.scalars(
            select(Calculation.id)
            .where(Calculation.settings_hash == settings_hash, Calculation.molecule_id.in_(list(molecule_ids)))
            .order_by(Calculation.id)
        )
    )
    session.execute(
        update(Calculation)
        .where(Calculation.id.in_(ids), Calculation.status == CalculationStatus.failed)
        .values(status=CalculationStatus.queued, reason=None)
    )
    return ids


def reclaim_abandoned(
    session: Session, calculation_ids: Sequence[int], stale_after_s: float, worker_alive: Callable[[str | None], bool]
) -> int:
    """Put running rows of dead workers (``worker_alive(worker)`` is False) or with heartbeats
    older than ``stale_after_s`` seconds back to queued; return how many."""
    running = session.execute(
        select(Calculation.id, Calculation.worker, Calculation.heartbeat < func.now() - text(f"interval '{float(stale_after_s)} seconds'"))
        .where(Calculation.id.in_(list(calculation_ids)), Calculation.status == CalculationStatus.running)
        .with_for_update(skip_locked=True)
    ).all()
    abandoned = [row.id for row in running if row[2] or not worker_alive(row.worker)]
    if abandoned:
        session.execute(
            update(Calculation).where(Calculation.id.in_(abandoned)).values(status=CalculationStatus.queued, worker=None)
        )
    return len(abandoned)


def claim_next(engine: Engine, calculation_ids: Sequence[int], worker: str) -> tuple[int, int] | None:
    """Claim one queued row among ``calculation_ids``: (calculation id, molecule id), or None.

    Largest molecules first, so parallel workers finish together (longest-job-first)."""
    with session_scope(engine) as session:
        row = session.execute(
            select(Calculation.id, Calculation.molecule_id)
            .join(Molecule, Molecule.id == Calculation.molecule_id)
            .where(Calculation.id.in_(list(calculation_ids)), Calculation.status == CalculationStatus.queued)
            .order_by(Molecule.natoms.desc(), Calculation.id)
            .limit(1)
            .with_for_update(of=Calculation, skip_locked=True)
        ).first()
        if row is None:
            return None
        session.execute(
            update(Calculation)
            .where(Calculation.id == row.id)
            .values(status=CalculationStatus.running, worker=worker, heartbeat=func.now(), attempts=Calculation.attempts + 1)
        )
        return int(row.id), int(row.molecule_id)


def beat(engine: Engine, calculation_id: int, worker: str) -> None:
    """Refresh the heartbeat of a row this worker holds."""
    with session_scope(engine) as session:
        session.execute(
            update(Calculation)
            .where(Calculation.id == calculation_id, Calculation.worker == worker, Calculation.status == CalculationStatus.running)
            .values(heartbeat=func.now())
        )


def status_counts(session: Session, calculation_ids: Sequence[int]) -> dict[str, int]:
    """Number of rows per status among ``calculation_ids`` (refused counted apart from failed)."""
    refused = Calculation.reason.like("refused:%")
    rows = session.execute(
        select(Calculation.status, refused, func.count())
        .where(Calculation.id.in_(list(calculation_ids)))
        .group_by(Calculation.status, refused)
    ).all()
    counts = {status.value: 0 for status in CalculationStatus} | {"refused": 0}
    for status, is_refused, count in rows:
        key = "refused" if status == CalculationStatus.failed and is_refused else status.value
        counts[key] += count
    return counts
