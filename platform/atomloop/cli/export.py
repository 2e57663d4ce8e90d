"""``atomloop export``: the store's molecules as a file, its format by the extension.

``.db``: an ASE SQLite database (what ``ase db`` browses). ``.extxyz`` / ``.xyz``: extended XYZ
with the labels of one level (totals in eV for ASE, nequip and MACE; per-atom energies of every
scheme in Hartree; ``--scheme`` also as the calculator's per-atom ``energies`` in eV).
"""

from __future__ import annotations

from pathlib import Path

import typer

from atomloop.errors import InputError

FORMATS = {".db": "ASE database", ".extxyz": "extended XYZ", ".xyz": "extended XYZ"}


def export(
    to: Path = typer.Option(..., "--to", help="File to write: .db (ASE database) or .extxyz/.xyz (extended XYZ)."),
    tag: str | None = typer.Option(None, help="Only molecules with this tag."),
    method: str | None = typer.Option(None, help="extxyz: labels of this method (if unambiguous)."),
    basis: str | None = typer.Option(None, help="extxyz: labels in this basis (if unambiguous)."),
    settings_hash: str | None = typer.Option(None, "--settings-hash", help="extxyz: labels at this level (>= 8 characters)."),
    scheme: str | None = typer.Option(None, help="extxyz: also write this scheme's atomic energies as ASE's per-atom energies (eV)."),
) -> None:
    """Write the store's molecules to a file; the extension says which format."""
    kind = FORMATS.get(to.suffix.lower())
    if kind is None:
        raise InputError(f"{to}: unknown extension {to.suffix!r}; use one of {', '.join(FORMATS)}")
    from atomloop.db.engine import get_engine

    get_engine()  # fail fast, with a clear message, when the store is unreachable
    if kind == "ASE database":
        from atomloop.export import export_ase_database

        count = export_ase_database(to, tag=tag)
    else:
        from atomloop.export import export_extxyz

        count = export_extxyz(to, tag=tag, method=method, basis=basis, settings_hash=settings_hash, scheme=scheme)
    typer.echo(f"wrote {count} molecules to {to} ({kind})")


def register(app: typer.Typer) -> None:
    app.command()(export)
