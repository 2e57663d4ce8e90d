"""The ``atomloop`` command: one Typer app, one module per subcommand group."""

from __future__ import annotations

import importlib
import os
import sys

import typer

from atomloop.db.url import mask_password

app = typer.Typer(
    name="atomloop",
    help="Active learning of atomic energies over a PostgreSQL store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module defines ``register(app)``; order is the order of ``atomloop --help``.
_COMMAND_MODULES = ("db", "ingest", "export", "label", "select", "train", "loop", "serve", "demo", "study")

for _module in _COMMAND_MODULES:
    importlib.import_module(f"atomloop.cli.{_module}").register(app)

def main() -> None:
    """Console entry point: known errors become one clear line and exit status 1."""
    from atomloop.errors import AtomloopError

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no telemetry: machines may be offline
    try:
        app()
    except AtomloopError as error:
        typer.secho(f"error: {mask_password(str(error))}", fg=typer.colors.RED, err=True)
        sys.exit(1)
