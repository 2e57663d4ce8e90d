"""``atomloop serve``: embedded database + local Prefect server + scheduled deployments."""

from __future__ import annotations

import typer


def serve(port: int = typer.Option(4200, help="Port of the Prefect server/UI on 127.0.0.1.")) -> None:
    """Start the embedded PostgreSQL, a Prefect server on it and the scheduled deployments."""
    from atomloop.serve import serve as run_service

    run_service(port)


def register(app: typer.Typer) -> None:
    app.command()(serve)
