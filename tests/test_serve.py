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
