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
