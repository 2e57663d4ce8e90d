"""One Prefect API for a command and every worker process it starts.

Without ``PREFECT_API_URL`` each Python process that runs a flow or task starts its own
temporary Prefect server (about 10 s each). ``shared_prefect_api`` uses, in this order:
``PREFECT_API_URL`` when set; the server ``atomloop serve`` runs for the same ``ATOMLOOP_HOME``
(announced in ``$ATOMLOOP_HOME/prefect/served.json`` while it runs), so runs appear in the
served UI; else one temporary server, whose URL it exports so labelling workers report to it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from atomloop.errors import AtomloopError


def _announcement() -> Path:
    from atomloop.config import get_settings

    return get_settings().home / "prefect" / "served.json"


@contextmanager
def announced_server(api_url: str) -> Iterator[None]:
    """While inside, tell commands of this home that a served Prefect API runs at ``api_url``."""
    path = _announcement()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"api_url": api_url, "pid": os.getpid()}))
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def served_api_url() -> str | None:
    """The API URL of the ``atomloop serve`` of this home, if it runs and answers."""
    try:
        announced = json.loads(_announcement().read_text())
        os.kill(int(announced["pid"]), 0)
        with urllib.request.urlopen(f"{announced['api_url']}/health", timeout=2) as response:
            return announced["api_url"] if response.status == 200 else None
    except (OSError, ValueError, KeyError):
        return None


class _KnownErrorsInOneLine(logging.Filter):
    """Prefect logs a failed flow's exception with its traceback; atomloop's own errors (bad
    input) and a lost database connection are one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        from atomloop.db.engine import is_connection_error

        error = record.exc_info[1] if record.exc_info else None
        if error is not None and (isinstance(error, AtomloopError) or is_connection_error(error)):
            record.exc_info, record.exc_text = None, None
        return True


def quiet_known_errors() -> None:
    """Install :class:`_KnownErrorsInOneLine` on Prefect's flow- and task-run loggers (once)."""
    for name in ("prefect.flow_runs", "prefect.task_runs", "prefect.flow_engine", "prefect.task_engine"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _KnownErrorsInOneLine) for f in logger.filters):
            logger.addFilter(_KnownErrorsInOneLine())


@contextmanager
def _using(api_url: str) -> Iterator[str]:
    """Point this process (settings) and the processes it starts (environment) at ``api_url``;
    the last logs are sent before leaving."""
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    os.environ["PREFECT_API_URL"] = api_url
    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            yield api_url
    finally:
        APILogWorker.drain_all(timeout=10)  # send the last logs while the server still answers
        del os.environ["PREFECT_API_URL"]


@contextmanager
def shared_prefect_api() -> Iterator[str]:
    """Yield the Prefect API URL: ``PREFECT_API_URL`` if set, else the served one of this home
    (said on stderr), else a temporary local server's. Atomloop's own errors are logged in one line."""
    quiet_known_errors()
    if os.environ.get("PREFECT_API_URL"):
        yield os.environ["PREFECT_API_URL"]
        return
    if served := served_api_url():
        print(f"using the Prefect server of atomloop serve at {served.removesuffix('/api')}", file=sys.stderr)
        with _using(served):
            yield served
        return
    from prefect.server.api.server import SubprocessASGIServer

    from atomloop.lifetime import stop_with_this_process

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    server = SubprocessASGIServer()
    try:
        server.start(timeout=120)
    except RuntimeError as error:  # Prefect's message says what failed (it timed out, the port, ...)
        raise AtomloopError(f"the temporary Prefect server did not start: {error}") from None
    watchdog = stop_with_this_process(server.server_process.pid)  # a SIGKILLed command leaves no server behind
    try:
        with _using(server.api_url):
            yield server.api_url
    finally:
        server.stop()
        watchdog.terminate()
        watchdog.wait(timeout=10)
