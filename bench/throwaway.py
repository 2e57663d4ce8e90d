"""Throwaway databases for benchmarks: an embedded PostgreSQL in a temporary folder
(:func:`throwaway_server`) and an atomloop store on it (:func:`throwaway_store`), removed
afterwards, also when the bench is stopped with SIGTERM (after a SIGKILL the server is stopped,
the folder stays: :func:`atomloop.db.embedded.throwaway_cluster`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def throwaway_server() -> Iterator[tuple]:
    """Yield ``(server, folder)``: a started :class:`~atomloop.db.embedded.EmbeddedPostgres` and
    the temporary folder that holds it (free for the bench's other files)."""
    from atomloop.db.embedded import throwaway_cluster
    from atomloop.lifetime import sigterm_raises

    with sigterm_raises(), tempfile.TemporaryDirectory() as home, throwaway_cluster(Path(home) / "pg") as server:
        yield server, Path(home)


@contextmanager
def throwaway_store() -> Iterator:
    """Yield an engine on a fresh store; ``ATOMLOOP_HOME`` and ``ATOMLOOP_DATABASE_URL`` point
    at it meanwhile, so labelling and training workers find it."""
    with throwaway_server() as (server, home):
        os.environ["ATOMLOOP_HOME"] = str(home)
        from atomloop.db import get_engine, migrate

        url = server.url()
        migrate.upgrade(url)
        os.environ["ATOMLOOP_DATABASE_URL"] = url
        engine = get_engine(url)
        yield engine
        engine.dispose()
