"""A throwaway atomloop store for benchmarks: an embedded PostgreSQL and an ``ATOMLOOP_HOME``
in a temporary folder, migrated to the head revision, removed afterwards."""

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
    with tempfile.TemporaryDirectory() as home:
        os.environ["ATOMLOOP_HOME"] = home
        from atomloop.db import get_engine, migrate
        from atomloop.db.embedded import EmbeddedPostgres

        server = EmbeddedPostgres(Path(home) / "pg")
        url = server.start()
        try:
            migrate.upgrade(url)
            os.environ["ATOMLOOP_DATABASE_URL"] = url
            engine = get_engine(url)
            yield engine
            engine.dispose()
        finally:
            server.destroy()
