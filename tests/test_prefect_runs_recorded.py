"""Every flow run of a home is recorded in the home's PostgreSQL Prefect database, also without
``atomloop serve``: a real ``label`` flow run (HF/STO-3G on two molecules, its ``label-chunk``
task in a real process pool) in its own process, on the temporary Prefect server that
``shared_prefect_api`` starts; then the home's Prefect server, started as ``atomloop serve``
starts it, answers with that flow run, its task run and its logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest
from ase.build import molecule

from atomloop.ingest import ingest_atoms
from atomloop.labelling.cluster import free_port

pytestmark = pytest.mark.slow  # two Prefect servers start (the first also migrates Prefect's database)

FLOW = """
from atomloop.loop.entrypoints import load_flow
from atomloop.loop.prefect_api import shared_prefect_api
with shared_prefect_api():
    state = load_flow("label.py:label")(method="hf", basis="sto-3g", schemes=("mo-pm-iao",), tag="recorded",
                                        return_state=True)
print("flow run", state.state_details.flow_run_id, state.type.value)
"""


def _api(api_url: str, path: str, body: dict | None = None):
    """GET (no ``body``) or POST ``body`` as JSON to the Prefect API; the decoded answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{api_url}{path}", data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.timeout(600)
def test_a_flow_run_without_serve_is_in_the_homes_prefect_database(engine, atomloop_home):
    from atomloop.serve import prefect_server

    ingest_atoms([molecule("H2"), molecule("LiH")], source="test", tags=["recorded"], engine=engine)
    environment = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_HOME")}  # no served API
    result = subprocess.run([sys.executable, "-c", FLOW], capture_output=True, text=True, timeout=400, env=environment)
    assert result.returncode == 0, result.stderr[-2000:]
    flow_run_id, state = result.stdout.split("flow run ")[-1].split()
    assert state == "COMPLETED"
    assert not list((atomloop_home / "prefect").glob("*.db")), "a SQLite Prefect database was written"
    assert "temporary server" not in result.stderr + result.stdout  # Prefect's start and stop notices stay off the console

    with prefect_server(free_port()) as api_url:
        run = _api(api_url, f"/flow_runs/{flow_run_id}")
        flow = _api(api_url, f"/flows/{run['flow_id']}")
        tasks = _api(api_url, "/task_runs/filter", {"flow_runs": {"id": {"any_": [flow_run_id]}}})
        logs = _api(api_url, "/logs/filter", {"logs": {"flow_run_id": {"any_": [flow_run_id]}}, "limit": 200})
    assert (flow["name"], run["state_type"], run["parameters"]["tag"]) == ("label", "COMPLETED", "recorded")
    assert [(t["name"].rpartition("-")[0], t["state_type"]) for t in tasks] == [("label-chunk", "COMPLETED")]
    messages = [log["message"] for log in logs]
    assert any(m.startswith("labelled 2 molecules at hf/sto-3g") for m in messages), messages
