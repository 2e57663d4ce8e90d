"""``atomloop db``: the embedded server, migrations and URLs."""

from __future__ import annotations

from pathlib import Path

import typer

from atomloop.config import get_settings
from atomloop.db.connect import database_url, embedded_server
from atomloop.db.url import ase_url, mask_password

db_app = typer.Typer(help="Manage the store: embedded server, migrations, URLs.", no_args_is_help=True)


def _require_embedded() -> None:
    if get_settings().database_url:
        raise typer.BadParameter("ATOMLOOP_DATABASE_URL is set: the store is an external server, not embedded")


@db_app.command()
def start() -> None:
    """Start the embedded PostgreSQL server (creating it on first use)."""
    _require_embedded()
    typer.echo(f"embedded PostgreSQL running: {mask_password(embedded_server().start())}")


@db_app.command()
def stop() -> None:
    """Stop the embedded PostgreSQL server."""
    _require_embedded()
    was_running = embedded_server().stop()
    typer.echo("embedded PostgreSQL stopped" if was_running else "embedded PostgreSQL was not running")


def _stale_pid_note(data_dir: Path) -> str:
    """For a server ``pg_ctl status`` finds not running: why ``postmaster.pid`` remains, if it
    does (a clean stop removes it; a crash or a kill leaves it), else nothing."""
    pid_file = data_dir / "postmaster.pid"
    try:
        if not pid_file.exists():
            return ""
    except OSError as error:
        return f"; cannot look into {data_dir}: {error.strerror}"
    return f"; {pid_file} remains: the server crashed or was killed ('atomloop db start' recovers)"


@db_app.command()
def status() -> None:
    """Say where the store is and whether it runs."""
    settings = get_settings()
    if settings.database_url:
        typer.echo(f"external store: {mask_password(settings.database_url)}")
        return
    server = embedded_server()
    state = server.status()
    typer.echo(
        f"embedded PostgreSQL at {state.cluster_dir} (binaries {state.bindir}): "
        f"{'running' if state.running else 'stopped'}"
        + (f" on 127.0.0.1:{state.port}" if state.port else "")
        + ("" if state.running else _stale_pid_note(server.data_dir))
    )


@db_app.command()
def url() -> None:
    """Print the store's SQLAlchemy URL (starts the embedded server if needed)."""
    typer.echo(database_url())


@db_app.command("ase-url")
def ase_url_command() -> None:
    """Print the URL to give ASE's tools: ase db "$(atomloop db ase-url)"."""
    typer.echo(ase_url(database_url()))


@db_app.command("optuna-url")
def optuna_url_command() -> None:
    """Print the storage URL of the hyper-parameter searches (Optuna's own schema in the store):
    optuna-dashboard "$(atomloop db optuna-url)"."""
    from atomloop.tune.storage import optuna_url

    typer.echo(optuna_url(database_url()))


def ase_project(name: str, database):
    """ASE's web project (``ase.db.project.DatabaseProject``) over ``database`` with the
    store's ASE metadata (``ase.information``, migration 0008): its title, default columns (id,
    formula, name, split, energy) and key descriptions with units, over ASE's own descriptions.
    ASE's ``ase db URL -w`` reads only the title."""
    from ase.db.core import KeyDescription, get_key_descriptions
    from ase.db.project import DatabaseProject
    from ase.db.table import all_columns

    metadata = database.metadata
    descriptions = get_key_descriptions()
    for key, (short, long, unit) in metadata.get("key_descriptions", {}).items():
        descriptions[key] = KeyDescription(key, short, long, unit)
    return DatabaseProject(
        name=name, title=metadata.get("title", ""), key_descriptions=descriptions, database=database,
        default_columns=list(metadata.get("default_columns", all_columns)),
    )


def ase_web_app(url: str):
    """ASE's own database web application (Flask) over the store's ASE views, with the
    store's default columns and key descriptions (:func:`ase_project`), working without
    internet (:func:`atomloop.db.browse.serve_offline`)."""
    import ase.db
    from ase.db.app import DBApp

    from atomloop.db.browse import serve_offline

    app = DBApp()
    app.projects["default"] = ase_project("default", ase.db.connect(ase_url(url)))
    serve_offline(app)
    return app.flask


@db_app.command()
def browse(port: int = typer.Option(5000, min=1, max=65535, help="Port on 127.0.0.1.")) -> None:
    """Serve ASE's web browser of the molecules on http://127.0.0.1:PORT.

    The same pages as 'ase db URL -w', which listens on every interface with Flask's
    debugger on; this one listens on the loopback address only, without the debugger.
    """
    from atomloop.db.engine import get_engine

    url = database_url()
    get_engine(url)  # fail fast, with a clear message, when the store is unreachable
    typer.echo(f"ASE database browser on http://127.0.0.1:{port} (Ctrl-C stops it)")
    ase_web_app(url).run(host="127.0.0.1", port=port, debug=False)


@db_app.command()
def upgrade(revision: str = typer.Argument("head", help="Alembic revision")) -> None:
    """Migrate the store's schema up (alembic upgrade)."""
    from atomloop.db import migrate
    from atomloop.db.connect import database_url
    from atomloop.db.engine import get_engine

    url = database_url()
    get_engine(url)  # fail fast, with a clear message, when the store is unreachable
    migrate.upgrade(url, revision)
    typer.echo(f"store at revision {migrate.current_revision(url)}")


@db_app.command()
def downgrade(revision: str = typer.Argument(..., help="Alembic revision, 'base' drops everything")) -> None:
    """Migrate the store's schema down (alembic downgrade)."""
    from atomloop.db import migrate
    from atomloop.db.connect import database_url
    from atomloop.db.engine import get_engine

    url = database_url()
    get_engine(url)  # fail fast, with a clear message, when the store is unreachable
    migrate.downgrade(url, revision)
    typer.echo(f"store at revision {migrate.current_revision(url)}")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
