"""No process outlives the command that started it: ``kill -9`` of ``atomloop loop`` alone (not
its process group) in the middle of labelling leaves neither its temporary Prefect server (in a
process group of its own, out of reach of the terminal's Ctrl-C) nor its labelling workers running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ase.build import molecule
from sqlalchemy import func, select

from atomloop.db import session_scope
from atomloop.ingest import ingest_atoms
from atomloop.store.tables import Calculation, CalculationStatus
from process_tree import alive, command_line, descendants

POOL = ["CH4", "NH3", "H2O", "HF", "CO", "HCN", "H2CO", "CH3OH", "C2H4", "C2H2", "CH3CH2OH", "CH3CN"]


def _group_members(group: int) -> list[int]:
    """Pids whose process group is ``group`` (read from /proc)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


@pytest.mark.timeout(400)
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc")
def test_kill_9_of_the_loop_leaves_no_server_and_no_worker_behind(engine, tmp_path):
    ingest_atoms([molecule(n) for n in POOL], source="test", tags=["lifetime"], engine=engine)
    environment = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_HOME")}  # its own server, its home
    environment["ATOMLOOP_HOME"] = str(tmp_path / "home")
    loop = subprocess.Popen(
        [sys.executable, "-m", "atomloop", "loop", "--pool", "lifetime", "--initial", "3", "--test-size", "2",
         "--ood-size", "2", "--k", "2", "--rounds", "1", "--basis", "6-31g*", "--arch", "schnet", "--target", "total",
         "--epochs", "2", "--no-stop-on-auc", "--name", "lifetime", "--workers", "2"],
        env=environment, stdout=subprocess.DEVNULL, stderr=(tmp_path / "loop.log").open("w"), start_new_session=True,
    )
    helpers: set[int] = set()
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and loop.poll() is None:
            with session_scope(engine) as session:
                running = session.scalar(select(func.count()).where(Calculation.status == CalculationStatus.running))
            if running:
                break
            time.sleep(0.1)
        assert loop.poll() is None and running, (tmp_path / "loop.log").read_text()[-3000:]
        helpers |= descendants(loop.pid)
        assert any("uvicorn" in command_line(pid) for pid in helpers)  # the temporary Prefect server
        assert len([pid for pid in _group_members(loop.pid) if pid != loop.pid]) >= 3  # its watchdog, the workers
        os.kill(loop.pid, signal.SIGKILL)
        loop.wait(timeout=10)
        deadline = time.monotonic() + 30
        while (_group_members(loop.pid) or any(alive(pid) for pid in helpers)) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _group_members(loop.pid) == []
        assert [command_line(pid) for pid in helpers if alive(pid)] == []
        assert (tmp_path / "home" / "prefect").is_dir()  # Prefect's state lived in the home, not ~/.prefect
    finally:
        try:
            os.killpg(loop.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for pid in helpers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
