"""One Prefect API for a command and every worker process it starts.

Without ``PREFECT_API_URL`` each Python process that runs a flow or task starts its own
temporary Prefect server (about 10 s each). ``shared_prefect_api`` uses, in this order:
``PREFECT_API_URL`` when set; the server ``atomloop serve`` runs for the same ``ATOMLOOP_HOME``
(announced in ``$ATOMLOOP_HOME/prefect/served.json`` while it runs), so runs appear in the
served UI; else one temporary server, whose URL it exports so labelling workers report to it.
The temporary server records into the same PostgreSQL database as ``atomloop serve``'s
(:mod:`atomloop.db.prefect_database`), so a later ``atomloop serve`` shows its runs, their task
runs, logs and artifacts.

The URL is this process's Prefect setting everywhere, its background threads included (Prefect
forwards the labelling workers' events from a thread of its own: without it, that thread started
a second temporary server, on SQLite, which knew none of the served flow runs). The temporary
server runs in a process group of its own: a Ctrl-C at the terminal stops the command, which
records the interrupted flow run on the server and then stops it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
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
        from atomloop.db.errors import is_connection_error

        error = record.exc_info[1] if record.exc_info else None
        if error is not None and (isinstance(error, AtomloopError) or is_connection_error(error)):
            record.exc_info, record.exc_text = None, None
        return True


class _QuietWhileStopping(logging.Filter):
    """After a Ctrl-C (or a stop the command asked of itself) the console shows the command's one
    last line, not Prefect's crash reports, state changes and retries on the way out; the records
    still reach the Prefect API (the UI shows the run Crashed)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from atomloop.lifetime import stopping

        return not stopping()


class _NoTemporaryServerNotices(logging.Filter):
    """Prefect announces its temporary server's start (with a link to its docs) and stop on the
    console; the command's own lines say where its runs are recorded."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Starting temporary server", "Stopping temporary server"))


def _console_handlers() -> Iterator[logging.Handler]:
    """The handlers that write to a terminal: the root's and every logger's stream handlers."""
    loggers = [logging.getLogger()] + [
        logger for logger in list(logging.Logger.manager.loggerDict.values()) if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                yield handler


def quiet_known_errors() -> None:
    """Install :class:`_KnownErrorsInOneLine` on Prefect's flow- and task-run loggers and
    :class:`_QuietWhileStopping` on the console handlers (once); a log record that cannot be
    delivered is dropped in silence (``logging.raiseExceptions``, which Prefect's API handler reads)."""
    for name in ("prefect.flow_runs", "prefect.task_runs", "prefect.flow_engine", "prefect.task_engine"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _KnownErrorsInOneLine) for f in logger.filters):
            logger.addFilter(_KnownErrorsInOneLine())
    import prefect.logging  # noqa: F401 - Prefect's handlers are configured on import

    logging.raiseExceptions = False  # a log that cannot reach the API (its store stopped) is no message of ours

    for handler in _console_handlers():
        if not any(isinstance(f, _QuietWhileStopping) for f in handler.filters):
            handler.addFilter(_QuietWhileStopping())


@contextmanager
def _using(api_url: str) -> Iterator[str]:
    """Point this process (settings) and the processes it starts (environment) at ``api_url``;
    the last logs are sent before leaving."""
    from prefect.context import refresh_global_settings_context
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    os.environ["PREFECT_API_URL"] = api_url
    refresh_global_settings_context()  # threads that do not inherit this one's context read it too
    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            yield api_url
    finally:
        APILogWorker.drain_all(timeout=10)  # send the last logs while the server still answers
        del os.environ["PREFECT_API_URL"]
        refresh_global_settings_context()


def _temporary_server(database_url: str):
    """Prefect's temporary server (``SubprocessASGIServer``) on the Prefect database at
    ``database_url``, started in a process group of its own so that the terminal's Ctrl-C reaches
    the command only (Prefect starts it in the caller's group, where the Ctrl-C killed it before
    the flow run could record its end); its output goes to ``ATOMLOOP_HOME/prefect-server.log``."""
    import prefect
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import get_current_settings

    class OwnGroupServer(SubprocessASGIServer):
        def _run_uvicorn_command(self) -> subprocess.Popen:  # Prefect 3.9's command, in a new process group
            from atomloop.config import get_settings

            log = get_settings().home / "prefect-server.log"  # its errors (a stopped store's) are not the command's
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "ab") as output:
                return self._popen(output)

        def _popen(self, output) -> subprocess.Popen:
            return subprocess.Popen(
                args=[sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent), "--factory",
                      "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port),
                      "--log-level", "error", "--lifespan", "on"],
                env={**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                     "PREFECT__SERVER_FINAL": "1", **get_current_settings().to_environment_variables(exclude_unset=True),
                     "PREFECT_API_DATABASE_CONNECTION_URL": self.database_url},
                process_group=0, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
            )

    prefect_logger = logging.getLogger("prefect")  # the logger of Prefect's start and stop notices
    if not any(isinstance(f, _NoTemporaryServerNotices) for f in prefect_logger.filters):
        prefect_logger.addFilter(_NoTemporaryServerNotices())
    server = OwnGroupServer()  # a new one: stop() forgets Prefect's instance of the port
    server.database_url = database_url
    return server


@contextmanager
def shared_prefect_api() -> Iterator[str]:
    """Yield the Prefect API URL: ``PREFECT_API_URL`` if set, else the served one of this home
    (said on stderr), else a temporary local server's. Atomloop's own errors are logged in one line;
    a failure after ``atomloop db stop`` stopped the embedded store is that stop."""
    from atomloop.db.connect import stop_explains_failures
    from atomloop.lifetime import quiet_resource_tracker

    quiet_known_errors()
    quiet_resource_tracker()  # before the labelling pool: its workers may be stopped mid-task
    if os.environ.get("PREFECT_API_URL"):
        with stop_explains_failures():
            yield os.environ["PREFECT_API_URL"]
        return
    if served := served_api_url():
        print(f"using the Prefect server of atomloop serve at {served.removesuffix('/api')}", file=sys.stderr)
        with _using(served), stop_explains_failures():
            yield served
        return
    from atomloop.db.prefect_database import one_migration_at_a_time, prefect_database_url
    from atomloop.lifetime import dismiss_watchdog, stop_with_this_process

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    database_url = prefect_database_url()
    server = _temporary_server(database_url)
    with one_migration_at_a_time(database_url):  # until it answers: its migrations are done
        try:
            server.start(timeout=120)
        except BaseException as error:  # a Ctrl-C while it starts leaves no server either
            server.stop()
            if isinstance(error, RuntimeError):  # Prefect's message says what failed (it timed out, the port, ...)
                raise AtomloopError(f"the temporary Prefect server did not start: {error}") from None
            raise
    watchdog = stop_with_this_process(server.server_process.pid)  # a SIGKILLed command leaves no server behind
    try:
        with _using(server.api_url), stop_explains_failures():
            yield server.api_url
    finally:
        server.stop()
        dismiss_watchdog(watchdog)
