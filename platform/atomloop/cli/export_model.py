"""``atomloop export-model``: a registered model in a directory, for use without atomloop
(:mod:`atomloop.recipes.export_model`)."""

from __future__ import annotations

from pathlib import Path

import typer

from atomloop.cli.choices import require_model


def export_model(
    model_id: int = typer.Argument(..., help="Registered model id."),
    to: Path = typer.Option(..., "--to", help="Directory to write (created if missing; files of an earlier export are replaced)."),
) -> None:
    """Export a registered model for use elsewhere: NequIP as a nequip package file for nequip's own ASE calculator,
    SchNet as TorchScript with a loader that needs only torch and ASE; energies in eV, forces in eV/Å."""
    require_model(model_id)
    from atomloop.models.export import ExportDirectoryError
    from atomloop.recipes.export_model import export_registered_model

    try:
        exported = export_registered_model(model_id, to)
    except ExportDirectoryError as error:
        raise typer.BadParameter(str(error), param_hint="'--to'") from None
    names = ", ".join(path.name for path in exported.files)
    typer.echo(f"model {model_id} ({exported.info['architecture']}, {exported.info['format']}): wrote {names} to {to}")


def register(app: typer.Typer) -> None:
    app.command("export-model")(export_model)
