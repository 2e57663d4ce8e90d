"""``atomloop ingest``: molecules from files, ASE databases, ASE collections and SMILES."""

from __future__ import annotations

import sys

import typer


def ingest(
    sources: list[str] = typer.Argument(..., help="ase:g2, ase:s22, FILE.xyz/.extxyz, FILE.db, FILE.smi"),
    tag: list[str] = typer.Option([], "--tag", "-t", help="Tag the molecules (repeatable)."),
    conformers: int = typer.Option(1, min=1, help="Conformers per SMILES (RDKit ETKDG + MMFF)."),
) -> None:
    """Add molecules to the store; one transaction per source, duplicates stored once."""
    from atomloop.ingest import ingest_source

    progress = sys.stderr.isatty()  # a bar on a terminal; logs and pipes get the summary lines only
    added = present = 0
    for spec in sources:
        report = ingest_source(spec, tags=tag, conformers=conformers, progress=progress)
        typer.echo(f"{spec}: {report.added} added, {report.present} already present")
        added += report.added
        present += report.present
    typer.echo(f"ingested {added + present} molecules: {added} added, {present} already present")


def register(app: typer.Typer) -> None:
    app.command()(ingest)
