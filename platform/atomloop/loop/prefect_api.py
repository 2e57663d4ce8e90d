"""One Prefect API for a command and every worker process it starts.

Without ``PREFECT_API_URL`` each Python process that runs a flow or task starts its own
temporary Prefect server (about 10 s each). ``shared_prefect_api`` starts one and exports
its URL, so labelling workers report to the same server and start at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from atomloop.errors import AtomloopError


@contextmanager
def shared_prefect_api() -> Iterator[str]:
    """Yield the Prefect API URL: ``PREFECT_API_URL`` if set, else a temporary local server's."""
    if os.environ.get("PREFECT_API_URL"):
        yield os.environ["PREFECT_API_URL"]
        return
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from atomloop.lifetime import stop_with_this_process

    server = SubprocessASGIServer()
    try:
        server.start(timeout=120)
    except RuntimeError as error:  # Prefect's message says what failed (it timed out, the port, ...)
        raise AtomloopError(f"the temporary Prefect server did not start: {error}") from None
    watchdog = stop_with_this_process(server.server_process.pid)  # a SIGKILLed command leaves no server behind
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=10)  # send the last logs while the server still answers
        del os.environ["PREFECT_API_URL"]
        server.stop()
        watchdog.terminate()
        watchdog.wait(timeout=10)
