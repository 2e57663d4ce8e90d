"""A read-only ``ATOMLOOP_HOME`` (issue 27; a real read-only tmpfs, so it holds for root too):
commands that need the embedded store say so in one line, exit status 1, and start nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_output import one_error_line
from mounts import tmpfs

from atomloop.cli import EXIT_ERROR

COMMANDS = [["loop", "--rounds", "0"], ["export", "--to", "{tmp}/x.db"], ["label", "--limit", "1"], ["db", "start"]]


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_read_only_home_is_one_line(tmp_path, command):
    with tmpfs(tmp_path / "home", "ro") as home:
        env = {key: value for key, value in os.environ.items() if not key.startswith("ATOMLOOP_")}
        env["ATOMLOOP_HOME"] = str(home)
        args = [part.format(tmp=tmp_path) for part in command]
        done = subprocess.run([sys.executable, "-m", "atomloop", *args], env=env, capture_output=True, text=True,
                              timeout=120)
    assert (done.returncode, done.stdout) == (EXIT_ERROR, ""), done.stderr
    assert one_error_line(done.stderr) == (
        f"error: cannot write the store's folder {home / 'postgres'}: Read-only file system; set ATOMLOOP_HOME to a "
        "writable folder, or ATOMLOOP_DATABASE_URL to a PostgreSQL server")
    assert not Path(tmp_path / "x.db").exists()
