"""Prefect workers for real, exactly the layout of ``deploy/README.md`` on one host: a Prefect
server on the test's PostgreSQL (``deploy/start-server.sh``), the pool, the crash automation and
the deployments of ``deploy/prefect.yaml`` registered (``deploy/register.sh``), two process workers
polling the pool (``deploy/start-worker.sh``). A run of ``label-on-demand`` is picked up by one
worker, whose "machine" (the worker, its flow-run process and the labelling processes) is killed
with SIGKILL mid-run: the automation marks the run Crashed once its heartbeats stop, and a rerun
with the same parameters, on the other worker, computes only the molecules left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest
from ase.build import molecule
from sqlalchemy import select

from atomloop.db import session_scope
from atomloop.ingest import ingest_atoms
from atomloop.labelling.cluster import free_port
from atomloop.store.tables import Calculation, CalculationStatus

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds its processes in /proc")

REPOSITORY = Path(__file__).resolve().parents[1]
MOLECULES = ("H2", "H2O", "NH3", "CH4", "HF", "CO", "N2", "HCN", "C2H2", "H2CO", "CH3OH", "C2H4")
PARAMETERS = {"tag": "workers"}  # and the deployment's own: HF/STO-3G
CRASH_AFTER_S = 45  # the automation's window (deploy/register.sh's default is 90)
MARK = "ATOMLOOP_TEST_PROCESS"  # "<test token>/<role>" in the environment of every process started here


def _mark_of(pid: int) -> str:
    """The ``MARK`` of process ``pid`` ("" if it has none or is gone). A process inherits its
    parent's environment, so a flow-run process carries the mark of the worker that started it."""
    try:
        variables = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return ""
    return next((v.decode().partition("=")[2] for v in variables if v.startswith(f"{MARK}=".encode())), "")


def _marked(prefix: str) -> list[int]:
    """The live processes whose ``MARK`` starts with ``prefix`` (never empty: that would be every process)."""
    assert prefix, "an empty mark prefix"
    pids = (int(path.name) for path in Path("/proc").glob("[0-9]*"))
    return [pid for pid in pids if _mark_of(pid).startswith(prefix)]


def _kill(pids: list[int]) -> None:
    """Freeze every process first (none forks or finishes meanwhile), then SIGKILL them all."""
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass


def _until(condition: Callable[[], object], timeout_s: float, failure: str, every_s: float = 0.2):
    """``condition()``'s first truthy value within ``timeout_s`` seconds, else fail with ``failure``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(every_s)
    pytest.fail(f"{failure} within {timeout_s:.0f} s", pytrace=False)


@contextmanager
def _processes(directory: Path, environment: dict[str, str]) -> Iterator[Callable[..., subprocess.Popen]]:
    """``start(role, *command)``: start a command of ``deploy/`` in its own session with its
    output in ``directory/<role>.log``; on exit every process marked by this context (and all
    they started) is killed, and none is left."""
    token = uuid.uuid4().hex
    started: list[subprocess.Popen] = []

    def start(role: str, *command: str) -> subprocess.Popen:
        log = (directory / f"{role}.log").open("w")
        process = subprocess.Popen(command, cwd=REPOSITORY, env={**environment, MARK: f"{token}/{role}"},
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        started.append(process)
        return process

    try:
        yield start
    finally:
        _kill(_marked(token))
        for process in started:
            process.wait(timeout=30)
        _until(lambda: not _marked(token), 30, "processes of the test still alive")


def _pid(flow_run) -> int | None:
    """The process id of a flow run's process, once a worker started it."""
    return int(str(flow_run.infrastructure_pid).rpartition(":")[2]) if flow_run.infrastructure_pid else None


def _last_line(log: Path) -> str:
    """The last line a process wrote to its log."""
    lines = log.read_text().strip().splitlines()
    return lines[-1] if lines else "(no output)"


def _health(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _statuses(engine) -> dict[int, tuple[CalculationStatus, int, datetime | None]]:
    """{molecule id: (status, attempts, finished)} of every calculation."""
    with session_scope(engine) as session:
        rows = session.execute(select(Calculation.molecule_id, Calculation.status, Calculation.attempts,
                                      Calculation.finished)).all()
    return {row.molecule_id: (row.status, row.attempts, row.finished) for row in rows}


@pytest.mark.timeout(480)
def test_two_workers_a_killed_worker_crashes_its_run_and_a_rerun_computes_only_the_rest(
    postgres_server, engine, database_url, tmp_path
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType, WorkerStatus
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    postgres_server.ensure_database("prefect")  # deploy/README.md, step 1: Prefect's database beside the store
    api_url = f"http://127.0.0.1:{free_port()}/api"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # this environment's prefect, python
        "PREFECT_PORT": api_url.rpartition(":")[2].removesuffix("/api"),
        "PREFECT_API_URL": api_url,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",  # poll every second (default 10) to keep the test short
        "ATOMLOOP_CRASH_AFTER_S": str(CRASH_AFTER_S),
    }
    ids = ingest_atoms([molecule(name) for name in MOLECULES], source="test", tags=["workers"], engine=engine).molecule_ids
    with _processes(tmp_path, environment) as start, temporary_settings(updates={PREFECT_API_URL: api_url}), \
            get_client(sync_client=True) as client:
        start("server", "deploy/start-server.sh")
        _until(lambda: _health(api_url), 150, "the Prefect server did not answer", every_s=0.5)
        register = start("register", "deploy/register.sh")

        def pool_exists() -> bool:
            return any(pool.name == "atomloop-process" for pool in client.read_work_pools())

        _until(pool_exists, 60, "deploy/register.sh did not create the work pool atomloop-process")
        start("worker-a", "deploy/start-worker.sh", "--name", "worker-a")
        start("worker-b", "deploy/start-worker.sh", "--name", "worker-b")
        assert register.wait(timeout=180) == 0, f"deploy/register.sh: {_last_line(tmp_path / 'register.log')}"

        def online() -> bool:
            workers = client.read_workers_for_work_pool("atomloop-process")
            return {w.name for w in workers if w.status == WorkerStatus.ONLINE} == {"worker-a", "worker-b"}

        _until(online, 60, "the two workers did not come online in the pool atomloop-process")
        deployments = {d.name: d for d in client.read_deployments()}
        assert set(deployments) == {"weekly-active-learning", "nightly-evaluation", "label-on-demand"}
        assert {d.work_pool_name for d in deployments.values()} == {"atomloop-process"}

        first = run_deployment("label/label-on-demand", parameters=PARAMETERS, timeout=0)  # Scheduled: a worker takes it
        _until(lambda: sum(s == CalculationStatus.done for s, _, _ in _statuses(engine).values()) >= 2, 150,
               "the first run finished no two molecules", every_s=0.05)
        flow_process = _pid(client.read_flow_run(first.id))
        worker = _mark_of(flow_process)  # "<token>/worker-a" or "<token>/worker-b": the worker that took the run
        assert worker.rpartition("/")[2] in ("worker-a", "worker-b"), f"flow-run process {flow_process} is no worker's"
        assert b"PREFECT_FLOWS_HEARTBEAT_FREQUENCY=30" in Path(f"/proc/{flow_process}/environ").read_bytes()
        _kill(_marked(worker))  # that worker's machine dies: the worker, its flow run, the labellers
        killed_at = datetime.now(timezone.utc)
        time.sleep(1)  # let PostgreSQL end the dead connections' transactions
        at_kill = _statuses(engine)
        done_before = {m: finished for m, (status, _, finished) in at_kill.items() if status == CalculationStatus.done}
        running_at_kill = {m for m, (status, _, _) in at_kill.items() if status == CalculationStatus.running}
        assert 2 <= len(done_before) < len(ids), f"the kill came too late: {len(done_before)} of {len(ids)} done"

        second = run_deployment("label/label-on-demand", parameters=PARAMETERS, timeout=0)
        rerun_process = _until(lambda: _pid(client.read_flow_run(second.id)), 60, "no worker took the rerun")
        survivor = _mark_of(rerun_process)
        assert survivor != worker, "the rerun ran on the killed worker"
        rerun = _until(lambda: (r := client.read_flow_run(second.id)).state.is_final() and r, 180,
                       "the rerun did not finish", every_s=0.5)
        assert rerun.state.type == StateType.COMPLETED, f"rerun ended {rerun.state.name}: {rerun.state.message}"
        crashed = _until(lambda: (r := client.read_flow_run(first.id)).state.is_final() and r, CRASH_AFTER_S + 40,
                         "the killed run was not marked Crashed", every_s=0.5)
        assert crashed.state.type == StateType.CRASHED, f"killed run ended {crashed.state.name}"
        assert "heartbeat" in crashed.state.message
        crash_after_s = (crashed.state.timestamp - killed_at).total_seconds()
        assert crash_after_s <= CRASH_AFTER_S + 15, f"Crashed only {crash_after_s:.0f} s after the kill"
        print(f"killed {worker.partition('/')[2]} ({len(done_before)} of {len(ids)} molecules done); run Crashed "
              f"{crash_after_s:.0f} s later; rerun on {survivor.partition('/')[2]}")

        final = _statuses(engine)
        assert sorted(final) == sorted(ids), "not one calculation per molecule"
        assert all(s == CalculationStatus.done for s, _, _ in final.values()), "molecules left unlabelled"
        for molecule_id, (_, attempts, finished) in final.items():
            if molecule_id in done_before:  # finished before the kill: not computed again
                assert (attempts, finished) == (1, done_before[molecule_id]), f"molecule {molecule_id} recomputed"
            else:  # interrupted ones were claimed again and computed once more; the rest once
                expected = 2 if molecule_id in running_at_kill else 1
                assert attempts == expected, f"molecule {molecule_id}: {attempts} attempts, not {expected}"

        scheduled = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])))
        for name in ("weekly-active-learning", "nightly-evaluation"):  # their cron runs wait in the pool
            runs = client.read_flow_runs(flow_run_filter=scheduled,
                                         deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployments[name].id])))
            assert runs and {r.work_pool_name for r in runs} == {"atomloop-process"}, name


def test_the_crash_automation_watches_atomloop_runs_and_refuses_a_window_within_one_heartbeat():
    from atomloop.errors import InputError
    from atomloop.loop.crashed_runs import HEARTBEAT_S, crash_automation

    trigger = crash_automation(90).trigger
    assert (trigger.after, trigger.expect, trigger.posture, trigger.within.total_seconds()) == (
        {"prefect.flow-run.heartbeat"}, {"prefect.flow-run.*"}, "Proactive", 90)
    assert trigger.match_related.model_dump() == {"prefect.resource.role": "tag", "prefect.resource.id": "prefect.tag.atomloop"}
    with pytest.raises(InputError, match="must exceed the 30 s heartbeat"):
        crash_automation(HEARTBEAT_S)


def test_registering_the_crash_automation_again_updates_it(prefect_api):
    from prefect.client.orchestration import get_client

    from atomloop.loop.crashed_runs import NAME, ensure_crash_automation

    first, second = ensure_crash_automation(90), ensure_crash_automation(120)
    with get_client(sync_client=True) as client:
        stored = client.read_automations_by_name(NAME)
    assert first.id == second.id and [a.trigger.within.total_seconds() for a in stored] == [120]
