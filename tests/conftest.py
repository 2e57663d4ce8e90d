"""Test harness: one throwaway PostgreSQL cluster per test session (real server, 127.0.0.1).

Every test that asks for ``database_url`` gets its own fresh database, cloned from a
template migrated to ``head`` once, and ``ATOMLOOP_DATABASE_URL`` / ``ATOMLOOP_HOME`` point at
it and at a private home directory, so tests never share state.
"""

from __future__ import annotations

import functools
import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).parent / "helpers"))  # the tests' helper modules: tests/helpers/
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("OMP_NUM_THREADS", "1")

TEMPLATE = "atomloop_template"
_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory):
    """A PostgreSQL cluster started for this test session and stopped after it, also when pytest
    is stopped: SIGTERM interrupts the session as Ctrl-C does (teardown runs), and after a
    SIGKILL a watchdog stops the server."""
    from atomloop.db.embedded import throwaway_cluster
    from atomloop.lifetime import sigterm_raises

    with sigterm_raises(KeyboardInterrupt), throwaway_cluster(tmp_path_factory.mktemp("pg") / "postgres") as server:
        yield server


def _admin(server) -> psycopg.Connection:
    return psycopg.connect(
        host="127.0.0.1", port=server.port, user="postgres", password=server.password,
        dbname="postgres", autocommit=True,
    )


@pytest.fixture(scope="session")
def template_database(postgres_server) -> str:
    """Name of a database migrated to head, cloned by each test."""
    from atomloop.db import migrate

    with _admin(postgres_server) as conn:
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    migrate.upgrade(postgres_server.url(TEMPLATE))
    return TEMPLATE


@pytest.fixture
def empty_database_url(postgres_server) -> Iterator[str]:
    """URL of a new, empty (never migrated) database."""
    name = f"t_empty_{os.getpid()}_{next(_counter)}"
    with _admin(postgres_server) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield postgres_server.url(name)
    with _admin(postgres_server) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def atomloop_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private ATOMLOOP_HOME for one test."""
    from atomloop.config import get_settings

    home = tmp_path / "home"
    monkeypatch.setenv("ATOMLOOP_HOME", str(home))
    get_settings(reload=True)
    yield home
    get_settings(reload=True)


@pytest.fixture
def database_url(postgres_server, template_database, atomloop_home, monkeypatch) -> Iterator[str]:
    """URL of a fresh migrated database, exported as ATOMLOOP_DATABASE_URL."""
    from atomloop.config import get_settings

    name = f"t_{os.getpid()}_{next(_counter)}"
    with _admin(postgres_server) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template_database}")
    url = postgres_server.url(name)
    monkeypatch.setenv("ATOMLOOP_DATABASE_URL", url)
    get_settings(reload=True)
    yield url
    from atomloop.db.engine import _engine_for

    _engine_for(url).dispose()
    with _admin(postgres_server) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def engine(database_url):
    """SQLAlchemy engine of the test's database."""
    from atomloop.db.engine import get_engine

    return get_engine(database_url)


@pytest.fixture(scope="session")
def prefect_server_url() -> Iterator[str]:
    """One temporary Prefect server (SQLite) for the whole test session."""
    import prefect.settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield prefect.settings.PREFECT_API_URL.value()


@pytest.fixture
def prefect_api(prefect_server_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The session's Prefect API URL, exported so subprocesses (workers, CLI) use it too."""
    monkeypatch.setenv("PREFECT_API_URL", prefect_server_url)
    return prefect_server_url


@pytest.fixture
def atomloop(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run ``atomloop ARGS`` in this process through the console entry point: (exit status,
    stdout, stderr)."""
    from atomloop.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["atomloop", *args])
        with pytest.raises(SystemExit) as exited:
            main()
        captured = capsys.readouterr()
        return exited.value.code, captured.out, captured.err

    return run


# -- markers: unit / integration (real servers or processes) / slow --------------------------------
REAL_SERVER_FIXTURES = {"postgres_server", "prefect_server_url"}
SLOW_MODULES = (  # modules whose tests each take 20 s or more in a full run (`make test`'s durations)
    "test_interrupt.py", "test_loop_database_restart.py", "test_serve.py", "test_benchmark_selection.py",
    "test_loop_lifetime.py", "test_loop_resilience.py", "test_scale_concurrency.py", "test_export_model.py",
)


@functools.cache
def _starts_processes(module: Path) -> bool:
    source = module.read_text()
    return "import subprocess" in source or "from process_tree import" in source


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test ``integration`` (it talks to a real PostgreSQL or Prefect server, or starts
    processes) or ``unit``, and ``slow`` where its module is in :data:`SLOW_MODULES`, so that
    ``pytest -m unit`` and ``pytest -m "not slow"`` are fast inner loops."""
    for item in items:
        module = Path(str(item.fspath))
        real = REAL_SERVER_FIXTURES & set(getattr(item, "fixturenames", ())) or _starts_processes(module)
        item.add_marker(pytest.mark.integration if real else pytest.mark.unit)
        if module.name in SLOW_MODULES or item.get_closest_marker("slow") is not None:
            item.add_marker(pytest.mark.slow)
