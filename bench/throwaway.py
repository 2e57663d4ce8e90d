"""A throwaway atomloop store for benchmarks: an embedded PostgreSQL and an ``ATOMLOOP_HOME``
in a temporary folder, migrated to the head revision, removed afterwards, also when the bench
is stopped with SIGTERM (after a SIGKILL the server is stopped, the folder stays:
:func:`atomloop.db.embedded.throwaway_cluster`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def throwaway_store() -> Iterator:
    """Yield an engine on a fresh store; ``ATOMLOOP_HOME`` and ``ATOMLOOP_DATABASE_URL`` point
    at it meanwhile, so labelling and training workers find it."""
    from atomloop.db.embedded import throwaway_cluster
    from atomloop.lifetime import sigterm_raises

    with sigterm_raises(), tempfile.TemporaryDirectory() as home, throwaway_cluster(Path(home) / "pg") as server:
        os.environ["ATOMLOOP_HOME"] = home
        from atomloop.db import get_engine, migrate

        url = server.url()
        migrate.upgrade(url)
        os.environ["ATOMLOOP_DATABASE_URL"] = url
        engine = get_engine(url)
        yield engine
        engine.dispose()
