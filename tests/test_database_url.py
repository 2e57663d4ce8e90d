"""``ATOMLOOP_DATABASE_URL`` (issue 27): anything but a PostgreSQL URL is one line saying what is
wrong and which form is expected, exit status 1, before any connection: no file is created, no
traceback."""

from __future__ import annotations

import pytest

from atomloop.cli import EXIT_ERROR
from atomloop.db.url import EXPECTED_FORM

EXPECTED = ("expected postgresql://USER@HOST:PORT/DATABASE (a password as USER:PASSWORD@; "
            "or postgresql+psycopg://...)")


@pytest.fixture
def configured(atomloop_home, tmp_path, monkeypatch):
    """Set ``ATOMLOOP_DATABASE_URL`` to a value (the settings re-read; the current directory is
    an empty folder), and restore both afterwards."""
    from atomloop.config import get_settings

    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)

    def configure(url: str):
        monkeypatch.setenv("ATOMLOOP_DATABASE_URL", url)
        get_settings(reload=True)
        return workdir

    yield configure
    monkeypatch.undo()
    get_settings(reload=True)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("sqlite:///x.db", "the store is a PostgreSQL database, not sqlite://"),
        ("sqlite:////{tmp}/x.db", "the store is a PostgreSQL database, not sqlite://"),
        ("mysql://alice@db.example/atomloop", "the store is a PostgreSQL database, not mysql://"),
        ("http://db.example:5432/atomloop", "the store is a PostgreSQL database, not http://"),
        ("postgres://alice@db.example/atomloop", "SQLAlchemy reads postgresql://, not postgres://"),
        ("postgresql+asyncpg://alice@db.example/atomloop", "driver 'asyncpg' is not one atomloop connects with (psycopg)"),
        ("atomloop", "not a URL"),
        ("db.example:5432/atomloop", "not a URL"),
        ("host=db.example dbname=atomloop", "a libpq key=value connection string, not a URL"),
        ("postgresql://alice@db.example:port/atomloop",
         "not a URL SQLAlchemy reads (invalid literal for int() with base 10: 'port')"),
        ("postgresql+psycopg://alice@db.example/atomloop?sslmod=require", "'sslmod' is not a connection option"),
    ],
)
@pytest.mark.parametrize("command", [("db", "upgrade"), ("export", "--to", "out.db"), ("ingest", "ase:g2")])
def test_a_url_that_is_not_postgresql_is_one_line(configured, tmp_path, atomloop, url, problem, command):
    url = url.format(tmp=tmp_path)
    workdir = configured(url)
    status, stdout, stderr = atomloop(*command)
    assert (status, stdout) == (EXIT_ERROR, "")
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == [f"error: ATOMLOOP_DATABASE_URL {url}: {problem}; {EXPECTED}"]
    assert list(workdir.iterdir()) == [] and not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    ("url", "shown", "problem"),
    [
        ("postgresql+psycopg://alice@db.example/atomloop?PASSWORD=s3cret-pw",
         "postgresql+psycopg://alice@db.example/atomloop?PASSWORD=***",
         "'PASSWORD' is not a connection option (libpq's options are lower-case)"),
        ("host=db.example password=s3cret-pw", "host=db.example password=***",
         "a libpq key=value connection string, not a URL"),
        ("mysql://alice:s3cret-pw@db.example/atomloop", "mysql://alice:***@db.example/atomloop",
         "the store is a PostgreSQL database, not mysql://"),
    ],
)
def test_a_refused_url_never_shows_its_password(configured, atomloop, url, shown, problem):
    configured(url)
    status, stdout, stderr = atomloop("db", "upgrade")
    assert status == EXIT_ERROR
    assert stderr.strip().splitlines() == [f"error: ATOMLOOP_DATABASE_URL {shown}: {problem}; {EXPECTED}"]
    assert "s3cret-pw" not in stdout + stderr


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://alice@db.example/atomloop",
        "postgresql+psycopg://alice:s3cret@db.example:5432/atomloop?sslmode=require&connect_timeout=3",
        "postgresql+psycopg2://alice@db.example/atomloop",
        "postgresql+psycopg://postgres@/atomloop?host=/tmp/sockets&port=5432",
        "postgresql+psycopg://alice@db.example/atomloop?password=s3cret&options=-csearch_path%3Dase",
    ],
)
def test_postgresql_urls_are_taken_as_they_are(configured, url):
    from atomloop.db.url import configured_url

    configured(url)
    assert configured_url() == url


def test_the_expected_form_survives_password_masking():
    from atomloop.db.url import mask_password

    assert mask_password(EXPECTED_FORM) == EXPECTED_FORM == EXPECTED
