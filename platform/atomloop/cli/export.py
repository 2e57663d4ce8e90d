"""``atomloop export``: the store's molecules as a file, its format by the extension.

``.db``: an ASE SQLite database (what ``ase db`` browses). ``.extxyz`` / ``.xyz``: extended XYZ
with the labels of one level: the total (``energy``) and per-atom ``energies`` in eV for ASE,
nequip and MACE (``energies`` of ``--scheme``, by default mo-pm-iao when stored at the level,
else the first stored scheme by name; ``energies_scheme`` in each frame's info names it), every
scheme's per-atom energies in Hartree (``atomic_energies_<scheme>_hartree``), and the level
(``program``, ``method``, ``basis``, ``settings_hash``) in each frame's info. Both stream the
store in chunks (flat memory); on a terminal a progress bar counts the molecules.
"""

from __future__ import annotations

import sys
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
    scheme: str | None = typer.Option(None, help="extxyz: the scheme of ASE's per-atom energies (eV); default mo-pm-iao "
                                      "when stored, else the first stored scheme by name."),
) -> None:
    """Write the store's molecules to a file; the extension says which format."""
    kind = FORMATS.get(to.suffix.lower())
    if kind is None:
        raise InputError(f"{to}: unknown extension {to.suffix!r}; use one of {', '.join(FORMATS)}")
    from atomloop.db.engine import get_engine

    get_engine()  # fail fast, with a clear message, when the store is unreachable
    progress = sys.stderr.isatty()  # a bar on a terminal; logs and pipes get the summary line only
    if kind == "ASE database":
        from atomloop.export import export_ase_database

        count = export_ase_database(to, tag=tag, progress=progress)
    else:
        from atomloop.export import export_extxyz

        count = export_extxyz(to, tag=tag, method=method, basis=basis, settings_hash=settings_hash, scheme=scheme,
                              progress=progress)
    typer.echo(f"wrote {count} molecules to {to} ({kind})")


def register(app: typer.Typer) -> None:
    app.command()(export)
