"""One Ctrl-C stops a command: SIGINT to the command's process group (as a terminal sends it) in
the middle of labelling or training ends it within seconds with one line, exit status 130, no
process left (labelling workers, the temporary Prefect server and its watchdog), and the rerun
finishes the work. Real processes, real signals."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from ase.build import molecule
from sqlalchemy import text

from atomloop.ingest import ingest_atoms
from atomloop.lifetime import INTERRUPTED_MESSAGE
from process_tree import ATOMLOOP, Command, command_line, live_worker_claims, messages

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")

POOL = ["CH4", "NH3", "H2O", "HF", "CO", "HCN", "H2CO", "CH3OH", "C2H4", "C2H2", "CH3CH2OH", "CH3CN"]
STOPS_WITHIN_S = 15  # "a few seconds", with room for two busy cores


def _loop_args(name: str, basis: str, epochs: int) -> list[str]:
    return ["loop", "--pool", "ctrl-c", "--initial", "3", "--test-size", "2", "--ood-size", "2", "--k", "2",
            "--rounds", "0", "--basis", basis, "--arch", "schnet", "--target", "total", "--epochs", str(epochs),
            "--no-stop-on-auc", "--name", name, "--workers", "2"]


def _environment(**changes: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    environment.update(changes)
    return environment


def _rerun(environment: dict, args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([*ATOMLOOP, *args], env=environment, capture_output=True, text=True, timeout=600)


def _assert_stopped_in_one_line(command: Command, status: int, seconds: float, after: str) -> None:
    assert status == 130, command.stderr()[-3000:]
    assert messages(after) == [INTERRUPTED_MESSAGE], after[-3000:]
    assert "Traceback" not in command.stderr(), command.stderr()[-3000:]
    assert seconds < STOPS_WITHIN_S
    assert command.leftovers() == []


def _unfinished(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM calculations WHERE status IN ('queued', 'running')")).scalar()


@pytest.mark.timeout(400)
def test_ctrl_c_of_label_stops_it_and_its_workers_in_one_line_and_the_rerun_finishes(engine, tmp_path):
    ingest_atoms([molecule(n) for n in POOL[:6]], source="test", tags=["ctrl-c"], engine=engine)
    environment = _environment()
    args = ["label", "--basis", "6-31g*", "--workers", "2", "--where", "ctrl-c", "--device", "cpu"]
    label = Command(environment, *args, log=tmp_path / "label.log")
    try:
        label.wait_for(lambda: live_worker_claims(engine))  # both workers in the middle of an SCF
        workers = [pid for pid in label.seen if "multiprocessing" in command_line(pid)]
        assert workers, "no labelling worker process seen"
        status, seconds, after = label.interrupt()
        _assert_stopped_in_one_line(label, status, seconds, after)
    finally:
        if label.process.poll() is None:
            label.kill()
    rerun = _rerun(environment, args)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert int(re.search(r"\((\d+) interrupted calculations redone", rerun.stdout).group(1)) >= 1, rerun.stdout
    assert _unfinished(engine) == 0


@pytest.mark.timeout(500)
@pytest.mark.parametrize("task_runner", ["process", "thread"])
def test_ctrl_c_of_the_loop_while_labelling_stops_its_workers_and_its_prefect_server(engine, tmp_path, task_runner):
    """Its own temporary Prefect server (no PREFECT_API_URL): the server used to die of the same
    Ctrl-C, and the loop then waited for ever on its labelling workers. Prefect's task runner fans
    out the label tasks to worker processes or to threads of the loop's own process."""
    ingest_atoms([molecule(n) for n in POOL], source="test", tags=["ctrl-c"], engine=engine)
    environment = _environment()
    args = [*_loop_args(f"ctrl-c-labelling-{task_runner}", "6-31g*", 2), "--task-runner", task_runner]
    loop = Command(environment, *args, log=tmp_path / "loop.log")
    try:
        loop.wait_for(lambda: live_worker_claims(engine))
        helpers = [command_line(pid) for pid in loop.seen]
        assert any("uvicorn" in helper for helper in helpers), helpers  # the temporary Prefect server
        if task_runner == "process":  # labelling worker processes; the thread runner labels in threads
            assert sum("multiprocessing.spawn" in helper for helper in helpers) >= 2, helpers
        status, seconds, after = loop.interrupt()
        _assert_stopped_in_one_line(loop, status, seconds, after)
    finally:
        if loop.process.poll() is None:
            loop.kill()
    rerun = _rerun(environment, args)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "all rounds done" in rerun.stdout + rerun.stderr
    assert _unfinished(engine) == 0
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM models")).scalar() == 1


@pytest.mark.timeout(500)
def test_ctrl_c_of_the_loop_while_training_stops_it_in_one_line_and_the_rerun_trains(engine, tmp_path, prefect_api):
    """The Ctrl-C used to land in a finalizer, where Python drops it: the loop trained on."""
    ingest_atoms([molecule(n) for n in POOL], source="test", tags=["ctrl-c"], engine=engine)
    environment = _environment(PREFECT_API_URL=prefect_api)
    args = _loop_args("ctrl-c-training", "sto-3g", 300)

    def round_step() -> str | None:
        with engine.connect() as connection:
            return connection.execute(text("SELECT step FROM rounds WHERE index = 0")).scalar()

    loop = Command(environment, *args, log=tmp_path / "loop.log")
    try:
        loop.wait_for(lambda: round_step() == "labelled", poll=0.05)  # training starts now
        status, seconds, after = loop.interrupt()
        _assert_stopped_in_one_line(loop, status, seconds, after)
    finally:
        if loop.process.poll() is None:
            loop.kill()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM models")).scalar() == 0  # stopped inside training
    assert round_step() == "labelled"
    rerun = _rerun(environment, args)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "all rounds done" in rerun.stdout + rerun.stderr
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM models")).scalar() == 1
