"""Many labellers at once on one store: 8 processes run ``label_molecules`` on the same 100
tiny molecules, released together after their imports; every molecule is computed exactly once
(claims are rows locked ``FOR UPDATE SKIP LOCKED``). Run with ``-s`` to see the throughput."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from sqlalchemy import func, select

from atomloop.db import session_scope
from atomloop.ingest import ingest_atoms
from atomloop.labelling.cluster import stop_process_group
from atomloop.qm import QMSettings
from atomloop.store.tables import AtomicEnergy, Calculation, CalculationStatus

LABELLERS = 8
SETTINGS = QMSettings(method="hf", basis="sto-3g", schemes=("ao-eda",))
# A labeller: imports first, says "ready", waits for a line on stdin, labels, prints its counts.
LABELLER = """
import json, sys
from atomloop.labelling.runner import label_molecules
from atomloop.qm import QMSettings
settings, ids = QMSettings.from_dict(json.loads(sys.argv[1])), json.loads(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()
print(json.dumps(label_molecules(settings, molecule_ids=ids, progress=False).counts()), flush=True)
"""


def tiny_molecules() -> list[Atoms]:
    """100 distinct diatomics: H2 at 0.60-1.09 Å and LiH at 1.40-1.89 Å, 0.01 Å apart."""
    return [Atoms(symbols, positions=[(0.0, 0.0, 0.0), (0.0, 0.0, float(d))])
            for symbols, start in (("H2", 0.60), ("LiH", 1.40)) for d in start + 0.01 * np.arange(50)]


def _start_labellers(ids: list[int], logs: Path) -> list[subprocess.Popen]:
    """``LABELLERS`` processes (the store from ``ATOMLOOP_DATABASE_URL``), each in its own process
    group, the stderr of the i-th in ``logs/i.log``."""
    command = [sys.executable, "-c", LABELLER, json.dumps(SETTINGS.to_dict()), json.dumps(ids)]
    logs.mkdir()
    processes = []
    for index in range(LABELLERS):
        with open(logs / f"{index}.log", "w") as stderr:
            processes.append(subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                              text=True, start_new_session=True))
    return processes


def _release(processes: list[subprocess.Popen], logs: Path) -> float:
    """Wait until every labeller is ready, then release them all; returns the release time (s, monotonic)."""
    for index, process in enumerate(processes):
        assert process.stdout.readline().strip() == "ready", (logs / f"{index}.log").read_text()[-3000:]
    released = time.monotonic()
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.close()
    return released


@pytest.mark.timeout(300)
def test_eight_labellers_on_the_same_molecules_compute_each_exactly_once(engine, tmp_path):
    ids = ingest_atoms(tiny_molecules(), source="test", engine=engine).molecule_ids
    assert len(set(ids)) == 100
    processes = _start_labellers(ids, tmp_path / "logs")
    try:
        released = _release(processes, tmp_path / "logs")
        for process in processes:
            process.wait(timeout=240)
        seconds = time.monotonic() - released
        outputs = [process.stdout.read() for process in processes]
    finally:
        for process in processes:
            stop_process_group(process)
    failed = {index: (tmp_path / "logs" / f"{index}.log").read_text()[-3000:]
              for index, process in enumerate(processes) if process.returncode != 0}
    assert failed == {}
    reports = [json.loads(output.strip().splitlines()[-1]) for output in outputs]
    assert all(report["failed"] == 0 and report["refused"] == 0 for report in reports)
    with session_scope(engine) as session:
        rows = session.scalars(select(Calculation).where(Calculation.settings_hash == SETTINGS.settings_hash)).all()
        atoms_per_calculation = dict(session.execute(
            select(AtomicEnergy.calculation_id, func.count()).where(AtomicEnergy.scheme == "ao-eda")
            .group_by(AtomicEnergy.calculation_id)).all())
    assert sorted(row.molecule_id for row in rows) == sorted(ids)  # one calculation per molecule, none lost
    assert all(row.status == CalculationStatus.done and row.total_energy < 0 for row in rows)
    assert Counter(row.attempts for row in rows) == {1: 100}  # none claimed twice
    assert atoms_per_calculation == {row.id: 2 for row in rows}
    per_labeller = sorted(Counter(row.worker for row in rows).values(), reverse=True)
    print(f"\n{LABELLERS} labellers: 100 molecules in {seconds:.1f} s = {100 / seconds:.1f} molecules/s "
          f"(HF/STO-3G, ao-eda; molecules per labeller {per_labeller})")
