"""``atomloop ingest``: molecules from files, ASE databases, ASE collections and SMILES."""

from __future__ import annotations

import sys

import typer


def _label_level(spec: str, labels: bool, program: str | None, method: str | None, basis: str | None):
    """The level of the labels a source carries: QM9's own, else the one the user states."""
    from atomloop.errors import InputError
    from atomloop.ingest.sources import own_label_level
    from atomloop.store.external import ExternalLevel

    if not labels:
        return None
    if not (program or method or basis) and (own := own_label_level(spec)) is not None:
        return own
    if not (program and method and basis):
        raise InputError("--labels needs the level of the file's energies: --label-program, --label-method and --label-basis")
    return ExternalLevel(program=program, method=method, basis=basis)


def ingest(
    sources: list[str] = typer.Argument(..., help="ase:g2, ase:s22, atomloop:organic, qm9, FILE.xyz/.extxyz, FILE.db, FILE.smi"),
    tag: list[str] = typer.Option([], "--tag", "-t", help="Tag the molecules (repeatable)."),
    conformers: int = typer.Option(1, min=1, help="Conformers per SMILES (RDKit ETKDG + MMFF)."),
    max_heavy_atoms: int | None = typer.Option(None, "--max-heavy-atoms", min=1, help="Only molecules with at most this many non-hydrogen atoms."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N molecules of each source (after --max-heavy-atoms)."),
    labels: bool = typer.Option(False, "--labels", help="Store the energies the structures carry as finished calculations "
                                "(ASE's conventions: eV, 'energy' in info or a calculator result, per-atom 'energies' "
                                "that must sum to it within 1e-6 Ha, at most 1e5 eV per atom; "
                                "for qm9 its U0 at B3LYP/6-31G(2df,p); for atomloop:qm9-labelled and atomloop:larger-labelled PySCF's HF/6-31G* labels); "
                                "never recomputed. A label that differs from the one stored at that level is an error."),
    label_program: str | None = typer.Option(None, "--label-program", help="With --labels: the program that computed them (e.g. orca)."),
    label_method: str | None = typer.Option(None, "--label-method", help="With --labels: their method (e.g. b3lyp)."),
    label_basis: str | None = typer.Option(None, "--label-basis", help="With --labels: their basis (e.g. def2-svp)."),
    label_scheme: str = typer.Option("external", "--label-scheme", help="With --labels: the scheme name of per-atom energies."),
    replace: bool = typer.Option(False, "--replace", help="With --labels: replace a different label stored at that level "
                                 "(the replaced energy is kept in the calculation's scf_info 'replaced')."),
) -> None:
    """Add molecules to the store; one transaction per source, duplicates stored once."""
    from atomloop.ingest import ingest_source

    if replace and not labels:
        from atomloop.errors import InputError

        raise InputError("--replace replaces stored labels: it needs --labels")
    progress = sys.stderr.isatty()  # a bar on a terminal; logs and pipes get the summary lines only
    added = present = 0
    for spec in sources:
        level = _label_level(spec, labels, label_program, label_method, label_basis)
        report = ingest_source(spec, tags=tag, conformers=conformers, max_heavy_atoms=max_heavy_atoms, limit=limit,
                               progress=progress, labels=level, scheme=label_scheme, replace=replace)
        typer.echo(f"{spec}: {report.added} added, {report.present} already present"
                   + (f"; {report.labels_added} labels at {level.method}/{level.basis} ({level.program})" if level else ""))
        added += report.added
        present += report.present
    typer.echo(f"ingested {added + present} molecules: {added} added, {present} already present")


def register(app: typer.Typer) -> None:
    app.command()(ingest)
