"""The labelling fan-out's console: a few progress lines from the flow, not one line per chunk
(two molecules) from the pool's task runs. Run as a user runs it: a flow in its own process,
its ``label-chunk`` tasks in a real process pool, the console read from its stderr."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from ase.build import molecule

from atomloop.ingest import ingest_atoms

MOLECULES = ["H2", "LiH", "HF", "H2O", "NH3", "CH4", "N2", "CO", "HCN", "C2H2"]

FLOW = """
from atomloop.loop.entrypoints import load_flow
load_flow("label.py:label")(method="hf", basis="sto-3g", schemes=("mo-pm-iao",), tag="logs")
"""


def test_labelling_logs_progress_lines_not_a_line_per_chunk(engine, prefect_api):
    ingest_atoms([molecule(name) for name in MOLECULES], source="test", tags=["logs"], engine=engine)
    result = subprocess.run([sys.executable, "-c", FLOW], capture_output=True, text=True, timeout=300, env=os.environ)
    assert result.returncode == 0, result.stderr[-2000:]
    console = result.stdout + result.stderr
    assert "label-chunk" not in console  # 5 chunks of 2 ran, none of their state lines reached the console
    progress = [tuple(map(int, m)) for m in re.findall(r"labelling: (\d+) of (\d+) molecules finished \((\d+) done", console)]
    assert 1 <= len(progress) <= 4
    assert [n for n, _, _ in progress] == sorted(n for n, _, _ in progress) and all(total == 10 for _, total, _ in progress)
    assert progress[-1] == (10, 10, 10)
    assert "labelled 10 molecules at hf/sto-3g" in console
