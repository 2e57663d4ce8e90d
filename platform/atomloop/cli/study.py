"""``atomloop study transferability`` (run or resume a study) and ``atomloop report`` (HTML
report of a study or an active-learning run)."""

from __future__ import annotations

from pathlib import Path

import typer

from atomloop.cli.choices import (
    ARCHITECTURE,
    FUNCTIONAL_GROUP,
    SPLIT,
    STUDY_STRATEGY,
    STUDY_TARGET,
    TRAINING_DEVICE,
    naming,
)

study_app = typer.Typer(help="Studies over the store: which data and models transfer.", no_args_is_help=True)


def _matrix_defaults() -> str:
    from atomloop.study.matrix import DATASET_MATRICES, QUICK_MATRIX, StudyConfig

    def lists(config: StudyConfig) -> str:
        return (f"targets {', '.join(config.targets)}; archs {', '.join(config.architectures)}; strategies "
                f"{', '.join(config.strategies)}; splits {', '.join(config.splits)}; sizes {', '.join(map(str, config.sizes))}; "
                f"seeds {', '.join(map(str, config.seeds))}; at most {config.epochs} epochs, stopping after "
                f"{config.patience} without a better validation MAE; AUC tests of {config.permutations} permutations")

    described = [f"{name}: {lists(StudyConfig(dataset=name, **matrix))}" for name, matrix in DATASET_MATRICES.items()]
    described.append(f"any other dataset: {lists(StudyConfig(dataset='other'))}")
    described.append(f"--quick (toy widths; what the tests run): {lists(StudyConfig(dataset='other', **QUICK_MATRIX))}")
    return ". ".join(described) + "."


@study_app.command(epilog="Default matrices: " + _matrix_defaults())
def transferability(
    dataset: str = typer.Option(None, help="Tag of the molecules studied (default qm9-labelled). Shipped and ingested on first use: "
                                "'qm9-labelled' (1,523 QM9 molecules with HF/6-31G* labels, nothing recomputed) and "
                                "'organic' (SMILES and G2, labelled here at HF/STO-3G)."),
    target: list[str] = typer.Option(None, "--targets", parser=STUDY_TARGET, metavar="<total|atomic:S|atomization:S>",
                                     help="total, atomic:<scheme> or atomization:<scheme> (repeatable)."),
    arch: list[str] = ARCHITECTURE.option(None, "--archs", help="Architectures (repeatable)."),
    strategy: list[str] = STUDY_STRATEGY.option(None, "--strategies", help="Training-data strategies (repeatable)."),
    split: list[str] = SPLIT.option(None, "--splits", help="Transfer splits (repeatable); larger-molecules trains on the "
                                    "dataset and tests on the shipped larger set (10-16 heavy atoms, HF/6-31G* only)."),
    size: list[int] = typer.Option(None, "--sizes", help="Training-set sizes in molecules (repeatable)."),
    seed: list[int] = typer.Option(None, "--seeds", help="Seeds (repeatable): paired intervals are over seeds."),
    atomic_weight: list[float] = typer.Option(
        None, "--atomic-weights", help="Weights of the atomic term against the total term (repeatable; default 1): "
        "every atomic target is trained at each weight, 0 is the total target (totals only).",
    ),
    epochs: int = typer.Option(None, help="Training epochs of every model."),
    quick: bool = typer.Option(False, "--quick", help="The toy matrix (minutes; checks the machinery, not the science)."),
    method: str = typer.Option(None, help="Labelling method (PySCF; default hf)."),
    basis: str = typer.Option(None, help="Labelling basis set (default: the dataset's: 6-31G* for qm9-labelled, else STO-3G)."),
    transfer_group: list[str] = FUNCTIONAL_GROUP.option(
        None, "--transfer-groups", help="Functional groups held out by group-transfer (default aromatic, "
        "heteroaromatic, amide, ester).",
    ),
    name: str = typer.Option(None, help="Study name (default: a hash of the inputs, so a rerun resumes)."),
    out: Path = typer.Option(Path("study"), help="Directory for the plots and report.html."),
    workers: int = typer.Option(2, help="Concurrent labelling tasks."),
    device: str = TRAINING_DEVICE.option(None, "--device", help="Training device (default auto)."),
) -> None:
    """Run (or resume) the transferability study (flows/study.py:transferability). Lists not given
    come from the dataset's matrix."""
    from atomloop.study.matrix import StudyConfig

    options = dict(dataset=dataset, targets=target, architectures=arch, strategies=strategy, splits=split, sizes=size,
                   seeds=seed, atomic_weights=atomic_weight, epochs=epochs, method=method, basis=basis,
                   transfer_groups=transfer_group, name=name, device=device)
    StudyConfig.from_options(quick=quick, **options)  # bad inputs fail before Prefect is imported and the flow starts
    from atomloop.db.engine import get_engine
    from atomloop.loop.entrypoints import load_flow
    from atomloop.loop.prefect_api import shared_prefect_api
    from atomloop.loop.tasks import make_task_runner

    get_engine()  # fail fast, with a clear message, when the store is unreachable
    flow = load_flow("study.py:transferability").with_options(task_runner=make_task_runner("process", workers))
    with shared_prefect_api():
        flow(**{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}, quick=quick, out=str(out))


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
    from atomloop.report.markdown import markdown_table
    from atomloop.store.labels import resolve_settings_hash, schemes_at
    from atomloop.study.basis_dependence import (
        BASIS_CHANGE_COLUMNS,
        BASIS_DEPENDENCE_COLUMNS,
        basis_change_rows,
        basis_dependence_rows,
        stored_basis_changes,
    )
    from atomloop.study.dataset import dataset_molecule_ids, second_basis_level
    from atomloop.study.matrix import default_basis

    engine = get_engine()
    ids = dataset_molecule_ids(engine, dataset)
    shipped_second = second_basis_level(engine, dataset, ids)
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


@study_app.command("basis-learnability")
def basis_learnability(
    first: str = typer.Option(..., help="Study at the first basis."),
    second: str = typer.Option(..., help="Study of the same dataset, splits and seeds at the second basis."),
) -> None:
    """Claim 3: how well each scheme's atomic energies are learnt at two basis sets: the
    element-centred atomic MAE (kcal/mol) of atomic:S models against S's labels, second minus
    first basis, with a paired 95 % interval over seeds; then every target's per-atom molecular
    MAE (meV/atom) at both bases, and for atomic targets its change beyond the total-trained
    models' change. Both tables are one Holm family (p_holm, verdict)."""
    from atomloop.db.engine import get_engine, session_scope
    from atomloop.errors import InputError
    from atomloop.report.markdown import markdown_table
    from atomloop.store.reports import study_rows
    from atomloop.study.claims import (
        BASIS_LEARNABILITY_COLUMNS,
        BASIS_MOLECULAR_COLUMNS,
        basis_learnability_rows,
        basis_molecular_rows,
        holm_family,
    )

    with session_scope(get_engine()) as session:
        studies = []
        for option, name in (("'--first'", first), ("'--second'", second)):
            with naming(option):
                studies.append(study_rows(session, name))
    (a, b) = (rows.study["parameters"] for rows in studies)
    if a.get("dataset") != b.get("dataset") or a.get("basis") == b.get("basis"):
        raise InputError(f"studies {first!r} and {second!r} must share a dataset and differ in basis; they have "
                         f"{a.get('dataset')}/{a.get('basis')} and {b.get('dataset')}/{b.get('basis')}")
    family = holm_family({
        "learnability": basis_learnability_rows(*(rows.views["study_atomic_errors"] for rows in studies)),
        "molecular": basis_molecular_rows(*(rows.views["study_experiments"] for rows in studies),
                                          {k: v for rows in studies for k, v in rows.molecule_errors.items()}),
    })
    table, molecular = family["learnability"], family["molecular"]
    if not table:
        raise InputError(f"studies {first!r} and {second!r} have no atomic:S experiments in common (same split, "
                         "architecture, strategy, size and seed)")
    typer.echo(f"{a['dataset']}: {a['basis']} ({first}) then {b['basis']} ({second})\n")
    typer.echo(markdown_table(table, BASIS_LEARNABILITY_COLUMNS) + "\n")
    typer.echo("molecular energies: per-atom MAE (meV/atom), second minus first basis; beyond_total: "
               "an atomic target's change minus the total-trained models' change\n")
    typer.echo(markdown_table(molecular, BASIS_MOLECULAR_COLUMNS))


def report(
    out: Path = typer.Option(..., help="The file to write: HTML, or with a .md name the claim tables as markdown (studies)."),
    study: str = typer.Option(None, help="Name of a study."),
    run: str = typer.Option(None, help="Name of an active-learning run."),
) -> None:
    """Write a self-contained HTML report (tables and plots) of a study or an active-learning run,
    or a study's claim tables as markdown (--out FILE.md)."""
    if (study is None) == (run is None):
        raise typer.BadParameter("give exactly one of them", param_hint="'--study' / '--run'")
    markdown = out.suffix.lower() == ".md"
    if markdown and run is not None:
        raise typer.BadParameter("markdown (FILE.md) is written for studies; write a run's report as .html",
                                 param_hint="'--out'")
    from atomloop.db.engine import get_engine, session_scope
    from atomloop.report.run import run_report
    from atomloop.store.reports import run_rows, study_rows
    from atomloop.study.markdown import study_markdown
    from atomloop.study.report import study_report

    with session_scope(get_engine()) as session:
        if study is not None:
            with naming("'--study'"):
                rows = study_rows(session, study)
            document = study_markdown(rows) if markdown else study_report(rows)
        else:
            with naming("'--run'"):
                rows = run_rows(session, run)
            document = run_report(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document, encoding="utf-8")
    typer.echo(f"wrote {out} ({len(document) // 1024} KiB)")


def register(app: typer.Typer) -> None:
    app.add_typer(study_app, name="study")
    app.command()(report)
