"""``atomloop ingest`` and ``atomloop db`` as a user runs them: exit codes, last lines, masking."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ase.build import molecule


def _atomloop(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from atomloop.cli import main; main()", *args],
        capture_output=True, text=True, env=env or os.environ.copy(), timeout=300,
    )


def test_ingest_prints_summary_last_and_is_idempotent(database_url):
    first = _atomloop("ingest", "ase:g2", "--tag", "g2")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1] == "ingested 162 molecules: 162 added, 0 already present"
    second = _atomloop("ingest", "ase:g2")
    assert second.stdout.strip().splitlines()[-1] == "ingested 162 molecules: 0 added, 162 already present"


def test_bad_file_gives_one_clear_error_and_nonzero_exit(database_url, tmp_path: Path):
    bad = tmp_path / "bad.xyz"
    bad.write_text("1\n\nQq 0 0 0\n")
    result = _atomloop("ingest", str(bad))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"error: {bad}:3: unknown element 'Qq'"
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_clear_and_masks_password(database_url, tmp_path: Path):
    env = os.environ.copy()
    env["ATOMLOOP_DATABASE_URL"] = "postgresql+psycopg://alice:s3cret-pw@127.0.0.1:1/atomloop"
    result = _atomloop("ingest", "ase:g2", env=env)
    assert result.returncode == 1
    assert "cannot reach the database postgresql+psycopg://alice:***@127.0.0.1:1/atomloop" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_concurrent_ingest_from_two_processes(database_url, tmp_path: Path, engine):
    import ase.collections
    import ase.io

    shared = [ase.collections.g2[name] for name in ase.collections.g2.names[:120]]
    extra_a = [molecule("H2O")]
    extra_b = [molecule("NH3")]
    file_a, file_b = tmp_path / "a.xyz", tmp_path / "b.xyz"
    ase.io.write(file_a, shared + extra_a, format="extxyz")
    ase.io.write(file_b, list(reversed(shared)) + extra_b, format="extxyz")
    command = [sys.executable, "-c", "from atomloop.cli import main; main()", "ingest"]
    procs = [subprocess.Popen([*command, str(f)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f in (file_a, file_b)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    from sqlalchemy import text

    with engine.connect() as connection:
        total = connection.execute(text("SELECT count(*), count(DISTINCT structure_hash) FROM molecules")).one()
    from atomloop.store import record_from_atoms

    unique_expected = len({record_from_atoms(a).structure_hash for a in shared + extra_a + extra_b})
    assert unique_expected >= 121
    assert total == (unique_expected, unique_expected)
    added = sum(int(out.strip().splitlines()[-1].split(": ")[1].split()[0]) for out, _ in outputs)
    assert added == unique_expected
