"""``atomloop serve`` for real: an embedded store, a Prefect server on the port asked for (its UI
pointed at that port), announced to the commands of the same home."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.mark.timeout(300)
def test_serve_on_another_port_points_its_ui_there_and_commands_of_the_home_find_it(tmp_path):
    environment = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "ATOMLOOP_DATABASE_URL")}
    environment["ATOMLOOP_HOME"] = str(tmp_path / "home")
    port = _free_port()
    serve = subprocess.Popen([sys.executable, "-m", "atomloop", "serve", "--port", str(port)], env=environment,
                             stdout=subprocess.DEVNULL, stderr=(tmp_path / "serve.log").open("w"), start_new_session=True)
    try:
        announced = tmp_path / "home" / "prefect" / "served.json"
        deadline = time.monotonic() + 240
        while not announced.exists() and time.monotonic() < deadline and serve.poll() is None:
            time.sleep(0.5)
        assert announced.exists(), (tmp_path / "serve.log").read_text()[-2000:]
        api = f"http://127.0.0.1:{port}/api"
        assert _get(f"http://127.0.0.1:{port}/ui-settings")["api_url"] == api
        found = subprocess.run(
            [sys.executable, "-c", "from atomloop.loop.prefect_api import served_api_url; print(served_api_url())"],
            env=environment, capture_output=True, text=True, timeout=60,
        )
        assert found.stdout.strip() == api
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(timeout=60)
        subprocess.run([sys.executable, "-m", "atomloop", "db", "stop"], env=environment, capture_output=True, timeout=60)
        from atomloop.db.embedded import EmbeddedPostgres

        EmbeddedPostgres(tmp_path / "home" / "postgres").destroy()  # its folder may lie outside tmp_path
    assert not announced.exists()  # withdrawn when serve stops


POOL = ["CH4", "NH3", "H2O", "HF", "CO", "HCN", "H2CO", "CH3OH", "C2H4", "C2H2", "CH3CH2OH", "CH3CN"]


def _served_environment(tmp_path) -> dict:
    environment = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "ATOMLOOP_DATABASE_URL")}
    environment["ATOMLOOP_HOME"] = str(tmp_path / "home")
    return environment


def _stop_the_store(environment: dict, tmp_path) -> None:
    subprocess.run([sys.executable, "-m", "atomloop", "db", "stop"], env=environment, capture_output=True, timeout=60)
    from atomloop.db.embedded import EmbeddedPostgres

    EmbeddedPostgres(tmp_path / "home" / "postgres").destroy()  # its folder may lie outside tmp_path


def _completed_flow_runs(api: str) -> int:
    body = json.dumps({"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}).encode()
    request = urllib.request.Request(f"{api}/flow_runs/count", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(json.loads(response.read()))


@pytest.mark.timeout(600)
def test_a_loop_in_the_home_of_serve_uses_its_server_and_one_ctrl_c_stops_serve(tmp_path):
    """The loop reports to the served API from every thread (it used to start a second, temporary
    server on SQLite for the labelling workers' events: foreign-key tracebacks, a uvicorn left
    listening); then a Ctrl-C at serve's terminal stops it in one line, server included."""
    from ase.build import molecule
    from ase.io import write

    from atomloop.lifetime import INTERRUPTED_MESSAGE
    from process_tree import Command, command_line, messages

    environment = _served_environment(tmp_path)
    write(tmp_path / "pool.xyz", [molecule(name) for name in POOL])
    ingested = subprocess.run([sys.executable, "-m", "atomloop", "ingest", str(tmp_path / "pool.xyz"), "--tag", "served"],
                              env=environment, capture_output=True, text=True, timeout=300)
    assert ingested.returncode == 0, ingested.stderr
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    serve = Command(environment, "serve", "--port", str(port), log=tmp_path / "serve.log")
    loop = None
    try:
        serve.wait_for(lambda: (tmp_path / "home" / "prefect" / "served.json").exists(), timeout=240, poll=0.5)
        loop = Command(environment, "loop", "--pool", "served", "--initial", "3", "--test-size", "2", "--ood-size", "2",
                       "--k", "2", "--rounds", "0", "--arch", "schnet", "--target", "total", "--epochs", "2",
                       "--no-stop-on-auc", "--name", "served", "--workers", "2", log=tmp_path / "loop.log")
        status, _, stderr = loop.finish(timeout=400)
        assert status == 0, stderr[-3000:]
        assert f"using the Prefect server of atomloop serve at http://127.0.0.1:{port}" in stderr
        assert "Starting temporary server" not in stderr and "Traceback" not in stderr, stderr[-3000:]
        assert loop.leftovers() == []
        assert _completed_flow_runs(api) == 1  # the loop's run, on the served server
        server = [pid for pid in serve.seen if "prefect server start" in command_line(pid)]
        assert server, [command_line(pid) for pid in serve.seen]
        status, seconds, after = serve.interrupt()
        assert status == 130, serve.stderr()[-3000:]
        assert messages(after) == [INTERRUPTED_MESSAGE], after[-3000:]
        assert "Traceback" not in serve.stderr(), serve.stderr()[-3000:]
        assert seconds < 30
        assert serve.leftovers() == []
        assert not (tmp_path / "home" / "prefect" / "served.json").exists()
    finally:
        for command in (loop, serve):
            if command is not None and command.process.poll() is None:
                command.kill()
        _stop_the_store(environment, tmp_path)


@pytest.mark.timeout(300)
def test_a_killed_serve_takes_its_prefect_server_with_it(tmp_path):
    """SIGKILL (or SIGTERM) of serve alone, not its group: its Prefect server used to stay, with
    PPID 1, holding the port."""
    from process_tree import Command, alive, command_line

    environment = _served_environment(tmp_path)
    port = _free_port()
    serve = Command(environment, "serve", "--port", str(port), log=tmp_path / "serve.log")
    try:
        serve.wait_for(lambda: (tmp_path / "home" / "prefect" / "served.json").exists(), timeout=240, poll=0.5)
        server = [pid for pid in serve.seen if "prefect server start" in command_line(pid)]
        assert server, [command_line(pid) for pid in serve.seen]
        os.kill(serve.pid, signal.SIGKILL)
        serve.finish(timeout=10)
        deadline = time.monotonic() + 15
        while any(alive(pid) for pid in server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(alive(pid) for pid in server), "the Prefect server outlived a SIGKILLed serve"
        assert serve.leftovers() == []
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))  # the port is free again
    finally:
        if serve.process.poll() is None:
            serve.kill()
        _stop_the_store(environment, tmp_path)
