"""Labelling on a real Dask cluster: a scheduler and two worker processes started apart from the
test (``dask scheduler``, ``dask worker``), one worker killed with SIGKILL in the middle of a
calculation; the run finishes with every molecule computed exactly once."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from ase.build import molecule
from sqlalchemy import select

from atomloop.db import session_scope
from atomloop.ingest import ingest_atoms
from atomloop.labelling import label_molecules
from atomloop.labelling.cluster import dask_processes
from atomloop.labelling.worker import worker_pid
from atomloop.qm import QMSettings
from atomloop.store.tables import Calculation, CalculationStatus

MOLECULES = ("C2H6", "CH3OH", "CH3CHO", "C2H4", "HCOOH", "H3CNH2", "CH3CN", "C2H2", "H2CO", "CH3OCH3",
             "CH3CH2OH", "CH3COOH", "N2H4", "CH3CH2NH2", "CH3NO2", "CH2OCH2", "H2O2", "C3H8", "HCOOCH3", "CH3CONH2")
SETTINGS = QMSettings(method="hf", basis="6-31g*", schemes=("ao-eda",))


@pytest.fixture
def dask_cluster(tmp_path):
    """``tcp://127.0.0.1:PORT`` of a scheduler with two single-threaded worker processes (each
    under a nanny that restarts it); every process is stopped afterwards."""
    with dask_processes(2, tmp_path) as address:
        yield address


def _running_worker(engine) -> tuple[int, int] | None:
    """(calculation id, pid) of a calculation being computed now."""
    with session_scope(engine) as session:
        row = session.execute(
            select(Calculation.id, Calculation.worker).where(Calculation.status == CalculationStatus.running)
        ).first()
    return None if row is None else (row.id, worker_pid(row.worker))


@pytest.mark.timeout(600)
def test_a_worker_killed_mid_calculation_loses_nothing_and_computes_nothing_twice(engine, dask_cluster):
    ids = ingest_atoms([molecule(name) for name in MOLECULES], source="test", engine=engine).molecule_ids
    assert len(set(ids)) == 20
    reports = []
    labelling = threading.Thread(target=lambda: reports.append(
        label_molecules(SETTINGS, engine=engine, molecule_ids=ids, dask_address=dask_cluster, stale_after_s=60,
                        progress=False)))
    labelling.start()
    deadline = time.monotonic() + 300
    while (held := _running_worker(engine)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert held is not None, "no calculation started on the cluster"
    killed_calculation, pid = held
    os.kill(pid, signal.SIGKILL)
    labelling.join(timeout=480)
    assert not labelling.is_alive() and len(reports) == 1
    assert reports[0].counts() == {"done": 20, "failed": 0, "refused": 0, "remaining": 0}
    with session_scope(engine) as session:
        rows = session.scalars(select(Calculation).where(Calculation.molecule_id.in_(ids))).all()
    assert sorted(r.molecule_id for r in rows) == sorted(ids)
    assert all(r.status == CalculationStatus.done and r.total_energy < 0 for r in rows)
    attempts = {r.id: r.attempts for r in rows}
    assert attempts.pop(killed_calculation) == 2  # the killed one was claimed again and finished elsewhere
    assert set(attempts.values()) == {1}  # every other molecule was computed once
    assert worker_pid(next(r for r in rows if r.id == killed_calculation).worker) != pid
