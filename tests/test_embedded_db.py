"""The embedded PostgreSQL of an ATOMLOOP_HOME, driven through ``atomloop db``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import psycopg
from alembic.script import ScriptDirectory

from atomloop.db import migrate
from atomloop.db.embedded import EmbeddedPostgres


def _atomloop(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ATOMLOOP_DATABASE_URL"}
    env["ATOMLOOP_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-c", "from atomloop.cli import main; main()", *args],
        capture_output=True, text=True, env=env, timeout=120,
    )


def test_start_url_status_stop_on_loopback_only(tmp_path: Path):
    home = tmp_path / "home"
    started = _atomloop(home, "db", "start")
    assert started.returncode == 0, started.stderr
    try:
        assert "***@127.0.0.1:" in started.stdout  # the password is masked
        url = _atomloop(home, "db", "url").stdout.strip()
        assert url.startswith("postgresql+psycopg://postgres:") and "@127.0.0.1:" in url
        assert "running on 127.0.0.1:" in _atomloop(home, "db", "status").stdout
        ingested = _atomloop(home, "ingest", "ase:s22")  # the embedded store migrates itself
        assert ingested.stdout.strip().splitlines()[-1] == "ingested 22 molecules: 22 added, 0 already present"
        upgraded = _atomloop(home, "db", "upgrade")
        head = ScriptDirectory.from_config(migrate.alembic_config("postgresql+psycopg://unused")).get_current_head()
        assert upgraded.stdout.strip() == f"store at revision {head}", upgraded.stderr
        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo) as conn:
            listen = conn.execute("SHOW listen_addresses").fetchone()[0]
            sockets = conn.execute("SHOW unix_socket_directories").fetchone()[0]
            server_pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            if os.geteuid() == 0:  # PostgreSQL refuses root: it runs as an unprivileged user
                assert psutil.Process(server_pid).username() != "root"
        assert listen == "127.0.0.1" and sockets == ""
        second_home = _atomloop(tmp_path / "other", "db", "url").stdout.strip()
        assert second_home != url  # another home is another installation
        EmbeddedPostgres(tmp_path / "other" / "postgres").destroy()
        ase_url = _atomloop(home, "db", "ase-url").stdout.strip()
        assert ase_url.startswith("postgresql://") and ase_url.endswith("options=-csearch_path%3Dase")
    finally:
        stopped = _atomloop(home, "db", "stop")
    assert stopped.stdout.strip() == "embedded PostgreSQL stopped"
    assert "stopped" in _atomloop(home, "db", "status").stdout
    EmbeddedPostgres(home / "postgres").destroy()


def test_cluster_location_is_stable_once_created():
    home = Path(tempfile.mkdtemp(prefix="atomloop-home-", dir="/tmp"))  # reachable by every user
    try:
        os.chmod(home, 0o755)
        first = EmbeddedPostgres(home / "postgres")
        assert first.cluster_dir == home / "postgres"
        first.cluster_dir.mkdir()
        os.chmod(first.cluster_dir, 0o700)  # as initialisation leaves it, owned by the server's user
        assert EmbeddedPostgres(home / "postgres").cluster_dir == first.cluster_dir
    finally:
        shutil.rmtree(home)
