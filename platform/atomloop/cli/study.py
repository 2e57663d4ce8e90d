"""``atomloop study transferability`` (run or resume a study) and ``atomloop report`` (HTML
report of a study or an active-learning run)."""

from __future__ import annotations

from pathlib import Path

import typer

from atomloop.study.matrix import DEFAULT_TARGETS, DEFAULT_TRANSFER_GROUPS, SPLITS, STRATEGIES

study_app = typer.Typer(help="Studies over the store: which data and models transfer.", no_args_is_help=True)


@study_app.command()
def transferability(
    dataset: str = typer.Option("organic", help="Tag of the molecules studied; 'organic' (SMILES and G2, labelled here) and "
                                "'qm9-labelled' (1,500 QM9 molecules with HF/6-31G* labels) are shipped and ingested on first use."),
    target: list[str] = typer.Option(list(DEFAULT_TARGETS), "--targets", help="total | atomic:<scheme> | atomization:<scheme> (repeatable)."),
    arch: list[str] = typer.Option(["schnet", "nequip"], "--archs", help="Architectures (repeatable)."),
    strategy: list[str] = typer.Option(list(STRATEGIES), "--strategies", help="Training-data strategies (repeatable)."),
    split: list[str] = typer.Option(list(SPLITS), "--splits", help="Transfer splits (repeatable)."),
    size: list[int] = typer.Option([16, 32, 64], "--sizes", help="Training-set sizes in molecules (repeatable)."),
    seed: list[int] = typer.Option([0, 1, 2], "--seeds", help="Seeds (repeatable): the spread over seeds is reported."),
    epochs: int = typer.Option(60, help="Training epochs of every model."),
    method: str = typer.Option("hf", help="Labelling method (PySCF)."),
    basis: str = typer.Option(None, help="Labelling basis set (default: the dataset's: 6-31G* for qm9-labelled, else STO-3G)."),
    transfer_group: list[str] = typer.Option(list(DEFAULT_TRANSFER_GROUPS), "--transfer-groups", help="Functional groups held out by group-transfer."),
    name: str = typer.Option(None, help="Study name (default: a hash of the inputs, so a rerun resumes)."),
    out: Path = typer.Option(Path("study"), help="Directory for the plots and report.html."),
    workers: int = typer.Option(2, help="Concurrent labelling tasks."),
    device: str = typer.Option("auto", help="Training device: auto, cpu or cuda."),
) -> None:
    """Run (or resume) the transferability study (flows/study.py:transferability)."""
    from atomloop.study.matrix import StudyConfig

    # bad inputs fail before Prefect is imported and the flow starts
    StudyConfig(dataset=dataset, basis=basis, targets=tuple(target), architectures=tuple(arch), strategies=tuple(strategy), splits=tuple(split),
                sizes=tuple(size), seeds=tuple(seed), epochs=epochs)
    from atomloop.db.engine import get_engine
    from atomloop.loop.entrypoints import load_flow
    from atomloop.loop.prefect_api import shared_prefect_api
    from atomloop.loop.tasks import make_task_runner

    get_engine()  # fail fast, with a clear message, when the store is unreachable
    flow = load_flow("study.py:transferability").with_options(task_runner=make_task_runner("process", workers))
    with shared_prefect_api():
        flow(
            dataset=dataset, targets=tuple(target), architectures=tuple(arch), strategies=tuple(strategy),
            splits=tuple(split), sizes=tuple(size), seeds=tuple(seed), epochs=epochs, method=method, basis=basis,
            transfer_groups=tuple(transfer_group), name=name, device=device, out=str(out),
        )


@study_app.command("basis-dependence")
def basis_dependence(
    dataset: str = typer.Option("qm9-labelled", help="Tag of the molecules; qm9-labelled brings its second basis (HF/cc-pVDZ) along."),
    method: str = typer.Option("hf", help="Method of both levels."),
    basis: str = typer.Option(None, help="First basis (default: the dataset's, 6-31G* for qm9-labelled)."),
    second_basis: str = typer.Option(None, "--second-basis", help="Second basis (default: cc-pVDZ for qm9-labelled)."),
) -> None:
    """Claim 3: how each scheme's atomic energies change with the basis set alone (kcal/mol),
    per element; each MO scheme against ao-eda with a paired 95 % interval over molecules."""
    from atomloop.db.engine import get_engine, session_scope
    from atomloop.errors import InputError
    from atomloop.store.labels import resolve_settings_hash, schemes_at
    from atomloop.study.basis_dependence import (
        BASIS_CHANGE_COLUMNS,
        BASIS_DEPENDENCE_COLUMNS,
        basis_change_rows,
        basis_dependence_rows,
        stored_basis_changes,
    )
    from atomloop.study.dataset import dataset_molecule_ids, second_basis_level
    from atomloop.study.markdown import markdown_table
    from atomloop.study.matrix import default_basis

    engine = get_engine()
    ids = dataset_molecule_ids(engine, dataset)
    shipped_second = second_basis_level(engine, dataset)
    with session_scope(engine) as session:
        first = resolve_settings_hash(session, method=method, basis=basis or default_basis(dataset))
        if second_basis is None and shipped_second is None:
            raise InputError(f"dataset {dataset!r} has no second basis of its own; name one with --second-basis")
        second = shipped_second if second_basis is None else resolve_settings_hash(session, method=method, basis=second_basis)
        schemes = [s for s in schemes_at(session, first) if s in schemes_at(session, second) and s != "external"]
        changes = stored_basis_changes(session, ids, first, second, schemes)
    if not len(changes.molecule):
        raise InputError(f"no molecule of {dataset!r} has atomic energies of the same schemes at both levels")
    typer.echo(f"{len(changes.total_change)} molecules, {len(changes.molecule)} atoms, schemes {', '.join(schemes)}\n")
    typer.echo(markdown_table(basis_change_rows(changes), BASIS_CHANGE_COLUMNS) + "\n")
    typer.echo(markdown_table(basis_dependence_rows(changes), BASIS_DEPENDENCE_COLUMNS))


def report(
    out: Path = typer.Option(..., help="The HTML file to write."),
    study: str = typer.Option(None, help="Name of a study."),
    run: str = typer.Option(None, help="Name of an active-learning run."),
) -> None:
    """Write a self-contained HTML report (tables and plots) of a study or an active-learning run."""
    from atomloop.db.engine import get_engine, session_scope
    from atomloop.errors import InputError
    from atomloop.store.reports import run_rows, study_rows
    from atomloop.study.report import run_report, study_report

    if (study is None) == (run is None):
        raise InputError("give exactly one of --study NAME or --run NAME")
    with session_scope(get_engine()) as session:
        document = study_report(study_rows(session, study)) if study else run_report(run_rows(session, run))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document, encoding="utf-8")
    typer.echo(f"wrote {out} ({len(document) // 1024} KiB)")


def register(app: typer.Typer) -> None:
    app.add_typer(study_app, name="study")
    app.command()(report)
