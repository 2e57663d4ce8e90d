"""One-machine service: embedded PostgreSQL, a local Prefect server on it, scheduled deployments.

Prefect keeps its own tables in a separate database ``prefect`` on the same PostgreSQL
server (both use Alembic; one database each keeps their migrations apart): the database the
temporary server of a ``loop`` run without ``serve`` records into too
(:mod:`atomloop.db.prefect_database`), so the UI shows those runs as well.

The Prefect server ends with ``serve`` however ``serve`` ends: Ctrl-C or SIGTERM stop the
deployments first and then the server; a SIGKILL leaves it to a watchdog
(:func:`atomloop.lifetime.stop_with_this_process`). It runs in a process group of its own, so
that the terminal's Ctrl-C reaches ``serve`` alone, which pauses its deployments on the live
server before stopping it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from atomloop.config import get_settings
from atomloop.db import migrate
from atomloop.db.connect import database_url
from atomloop.db.prefect_database import one_migration_at_a_time, prefect_database_url
from atomloop.db.url import mask_password
from atomloop.errors import AtomloopError
from atomloop.loop.prefect_api import announced_server


def _wait_healthy(api_url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AtomloopError(f"the Prefect server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AtomloopError(f"the Prefect server did not answer at {api_url} within {timeout:.0f} s")


def _require_free_port(port: int) -> None:
    """Refuse a port something already listens on: a Prefect server of another installation
    there would answer our health check, and our deployments would be served into its home."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise AtomloopError(f"port {port} on 127.0.0.1 is in use (another Prefect server or program); "
                                "stop it or choose another with --port") from None


@contextmanager
def prefect_server(port: int = 4200) -> Iterator[str]:
    """Run ``prefect server start`` on 127.0.0.1:``port`` backed by PostgreSQL; yield its API URL."""
    _require_free_port(port)
    env = os.environ.copy()
    api_url = f"http://127.0.0.1:{port}/api"
    prefect_url = prefect_database_url()
    env.update(
        PREFECT_HOME=str(get_settings().home / "prefect"),
        PREFECT_API_DATABASE_CONNECTION_URL=prefect_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_API_PORT=str(port),
        PREFECT_SERVER_UI_API_URL=api_url,  # the UI asks /ui-settings where its API is: this port, not 4200
    )
    from atomloop.lifetime import stop_with_this_process

    with one_migration_at_a_time(prefect_url):  # until it answers: its migrations are done
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env,
            process_group=0, stdin=subprocess.DEVNULL,
        )
        watchdog = stop_with_this_process(process.pid)  # a SIGKILLed serve leaves no server holding the port
        try:
            _wait_healthy(api_url, process)
        except BaseException:
            _stop(process, watchdog)
            raise
    try:
        yield api_url
    finally:
        _stop(process, watchdog)


def _stop(process: subprocess.Popen, watchdog: subprocess.Popen) -> None:
    """Stop the Prefect server ``process`` (SIGTERM, then SIGKILL after 30 s) and its watchdog."""
    from atomloop.lifetime import dismiss_watchdog

    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    dismiss_watchdog(watchdog)


def _exit_on_sigterm(*_: object) -> None:
    raise SystemExit(0)


def serve(port: int = 4200) -> None:
    """Start everything and serve the scheduled deployments until interrupted (Ctrl-C or
    SIGTERM; either stops the Prefect server and withdraws the announcement). A Ctrl-C ends in
    ``KeyboardInterrupt`` (the command's one line and status 130), also when Prefect's ``serve``
    took it for a request to shut down and returned."""
    from atomloop.lifetime import stopping
    from atomloop.loop.prefect_api import quiet_known_errors

    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    url = database_url()
    migrate.upgrade(url)
    print(f"store: {mask_password(url)}")
    with prefect_server(port) as api_url, announced_server(api_url):
        os.environ["PREFECT_API_URL"] = api_url
        print(f"Prefect UI: {api_url.removesuffix('/api')}", flush=True)
        from prefect import serve as prefect_serve
        from prefect.context import refresh_global_settings_context

        from atomloop.flows.deployments import deployments

        refresh_global_settings_context()
        quiet_known_errors()
        prefect_serve(*deployments())
        if stopping():
            raise KeyboardInterrupt
