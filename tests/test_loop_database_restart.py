"""The database restarted under a running loop: the embedded postmaster is killed with SIGKILL in
the middle of labelling and started again; the loop retries (or stops with one line), and the
run then finishes with nothing lost or duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, text

POOL = "CH4 NH3 H2O HF CO HCN H2CO CH3OH C2H4 C2H2 CH3CH2OH CH3CN".split()
LOOP = ["loop", "--pool", "restart", "--initial", "3", "--test-size", "2", "--ood-size", "2", "--k", "2",
        "--rounds", "1", "--basis", "6-31g*", "--arch", "schnet", "--target", "total", "--epochs", "2",
        "--no-stop-on-auc", "--name", "restart", "--workers", "2"]


def _atomloop(environment: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "atomloop", *args], env=environment, capture_output=True,
                          text=True, timeout=timeout)


def _python(environment: dict, code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True,
                          timeout=120, check=True).stdout.strip()


@pytest.mark.timeout(900)
def test_a_database_restart_mid_labelling_loses_and_duplicates_nothing(tmp_path, prefect_api):
    environment = {k: v for k, v in os.environ.items() if k != "ATOMLOOP_DATABASE_URL"}
    environment["ATOMLOOP_HOME"] = str(tmp_path / "home")
    xyz = tmp_path / "pool.xyz"
    from ase.build import molecule
    from ase.io import write

    write(xyz, [molecule(name) for name in POOL])
    assert _atomloop(environment, "ingest", str(xyz), "--tag", "restart").returncode == 0
    url = _atomloop(environment, "db", "url").stdout.strip()
    data_dir = _python(environment, "from atomloop.db.connect import embedded_server; print(embedded_server().data_dir)")
    engine = create_engine(url, pool_pre_ping=True)
    loop = subprocess.Popen([sys.executable, "-m", "atomloop", *LOOP], env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and loop.poll() is None:
            with engine.connect() as connection:
                if connection.execute(text("SELECT count(*) FROM calculations WHERE status = 'running'")).scalar():
                    break
            time.sleep(0.1)
        assert loop.poll() is None, loop.communicate()[1][-2000:]
        postmaster = int(open(os.path.join(data_dir, "postmaster.pid")).readline())
        os.kill(postmaster, signal.SIGKILL)
        engine.dispose()
        time.sleep(3)
        restarted = _atomloop(environment, "db", "start")
        assert restarted.returncode == 0, restarted.stderr
        _, stderr = loop.communicate(timeout=600)
        print(f"the loop itself ended with status {loop.returncode}: {stderr.strip().splitlines()[-1]}")
        if loop.returncode != 0:  # it may stop instead of retrying, but then in one line
            assert "Traceback" not in stderr and stderr.strip().splitlines()[-1].startswith("error: "), stderr[-3000:]
        rerun = _atomloop(environment, *LOOP, timeout=600)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert "all rounds done" in rerun.stdout + rerun.stderr
        with engine.connect() as connection:
            per_molecule = connection.execute(text(
                "SELECT molecule_id, count(*) FROM calculations GROUP BY molecule_id HAVING count(*) > 1")).all()
            models = connection.execute(text("SELECT round_id, architecture, count(*) FROM models GROUP BY 1, 2")).all()
            labelled = connection.execute(text(
                "SELECT count(*) FROM selections s JOIN calculations c ON c.molecule_id = s.molecule_id "
                "WHERE c.status = 'done'")).scalar()
            selected = connection.execute(text("SELECT count(*) FROM selections")).scalar()
        assert per_molecule == []
        assert [count for _, _, count in models] == [1, 1]  # one model per round, none twice
        assert labelled == selected  # every selected molecule labelled
    finally:
        if loop.poll() is None:
            os.killpg(loop.pid, signal.SIGKILL)
        engine.dispose()
        _atomloop(environment, "db", "stop", timeout=60)
        from atomloop.db.embedded import EmbeddedPostgres

        EmbeddedPostgres(tmp_path / "home" / "postgres").destroy()  # its folder may lie outside tmp_path


STOPPED_LINE = "error: the embedded PostgreSQL was stopped while this command ran (atomloop db stop); rerun to resume"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("step", ["labelling", "training", "label command"])
def test_atomloop_db_stop_under_a_running_loop_is_a_stop(tmp_path, step):
    """``atomloop db stop`` in the middle of labelling (a SCF running in a worker) or of training:
    the loop used to start the server again 2 s later and finish; now it ends within seconds with
    one line, leaves the server stopped and no process behind, and the rerun finishes the run.
    The same for ``atomloop label --workers 2`` on its own (it used to print 5 tracebacks)."""
    from ase.build import molecule
    from ase.io import write

    from process_tree import Command, live_worker_claims, messages

    environment = {k: v for k, v in os.environ.items() if k not in ("ATOMLOOP_DATABASE_URL", "PREFECT_API_URL")}
    environment["ATOMLOOP_HOME"] = str(tmp_path / "home")
    write(tmp_path / "pool.xyz", [molecule(name) for name in POOL])
    assert _atomloop(environment, "ingest", str(tmp_path / "pool.xyz"), "--tag", "restart").returncode == 0
    url = _atomloop(environment, "db", "url").stdout.strip()
    engine = create_engine(url, pool_pre_ping=True)
    args = [*LOOP[:LOOP.index("--rounds")], "--rounds", "0", *LOOP[LOOP.index("--rounds") + 2:]]
    if step == "training":  # labels at STO-3G are quick; the loop is found training
        args = [*args[:args.index("--basis")], "--basis", "sto-3g", *args[args.index("--basis") + 2:]]
    if step == "label command":
        args = ["label", "--basis", "6-31g*", "--workers", "2", "--where", "restart", "--device", "cpu"]

    def ready() -> bool:
        if step != "training":
            return live_worker_claims(engine)
        with engine.connect() as connection:
            return connection.execute(text("SELECT step FROM rounds WHERE index = 0")).scalar() == "labelled"

    loop = Command(environment, *args, log=tmp_path / "loop.log")
    try:
        loop.wait_for(ready, poll=0.05)
        engine.dispose()
        stopped = _atomloop(environment, "db", "stop")
        assert stopped.stdout.strip() == "embedded PostgreSQL stopped", stopped.stderr
        status, seconds, stderr = loop.finish(timeout=120)
        assert status == 1, stderr[-3000:]
        assert messages(stderr)[-1] == STOPPED_LINE, stderr[-3000:]
        assert "Traceback" not in stderr, stderr[-3000:]
        assert seconds < 20
        assert loop.leftovers() == []
        time.sleep(3)
        assert "stopped" in _atomloop(environment, "db", "status").stdout  # nobody started it again
        rerun = _atomloop(environment, *args, timeout=600)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        with engine.connect() as connection:
            assert connection.execute(text(
                "SELECT count(*) FROM calculations WHERE status IN ('queued', 'running')")).scalar() == 0
            if step == "label command":
                assert connection.execute(text("SELECT count(*) FROM calculations WHERE status = 'done'")).scalar() \
                    == len(POOL)
                return
            assert connection.execute(text("SELECT count(*) FROM models")).scalar() == 1
        assert "all rounds done" in rerun.stdout + rerun.stderr
    finally:
        if loop.process.poll() is None:
            loop.kill()
        engine.dispose()
        _atomloop(environment, "db", "stop", timeout=60)
        from atomloop.db.embedded import EmbeddedPostgres

        EmbeddedPostgres(tmp_path / "home" / "postgres").destroy()  # its folder may lie outside tmp_path
