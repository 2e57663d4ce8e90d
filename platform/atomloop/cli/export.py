"""``atomloop export``: the store's molecules as an ASE SQLite database for sharing."""

from __future__ import annotations

from pathlib import Path

import typer


def export(
    to: Path = typer.Option(..., "--to", help="ASE database file to write (.db)."),
    tag: str | None = typer.Option(None, help="Only molecules with this tag."),
) -> None:
    """Write molecules (with formula, tags, split and labelled energy) to an ASE database."""
    from atomloop.export import export_ase_database

    count = export_ase_database(to, tag=tag)
    typer.echo(f"wrote {count} molecules to {to}")


def register(app: typer.Typer) -> None:
    app.command()(export)
