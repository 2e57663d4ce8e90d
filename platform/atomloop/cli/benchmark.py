"""``atomloop benchmark selection``: simulated campaigns that tell how many labels selection saves."""

from __future__ import annotations

from pathlib import Path

import typer

from atomloop.errors import InputError
from atomloop.select.names import BENCHMARK_STRATEGIES as STRATEGY_NAMES


benchmark_app = typer.Typer(help="Benchmarks a user can run on their own data.", no_args_is_help=True)


def _budgets(budgets: str | None, initial: int, growth: float, final: int) -> tuple[int, ...]:
    from atomloop.benchmark import geometric_budgets

    if budgets is None:
        return geometric_budgets(initial, growth, final)
    try:
        return tuple(int(b) for b in budgets.split(","))
    except ValueError:
        raise typer.BadParameter(f"--budgets {budgets!r}: comma-separated label counts, e.g. 100,150,225") from None


@benchmark_app.command("selection")
def selection(
    target: list[str] = typer.Option(..., "--target", help="A chemistry to predict: a functional group name "
                                     "(heteroaromatic, aromatic, amide, ester, acid, aldehyde, ketone, nitrile, alkyne, "
                                     "amine, alcohol, ether, alkene, halide) or a SMARTS pattern; repeatable."),
    oracle: Path | None = typer.Option(None, "--oracle", help="A labelled extxyz file (total energies in eV, ASE's "
                                       "conventions); default: QM9's U0 from qm9pack."),
    seeds: int = typer.Option(5, min=1, help="Seeds 0..N-1 (each resamples pool, initial and test sets)."),
    seed: list[int] | None = typer.Option(None, "--seed", help="Run only these seeds (repeatable)."),
    pool_size: int = typer.Option(20_000, min=100, help="Pool molecules per seed."),
    test_size: int = typer.Option(1_000, min=10, help="In-distribution test molecules per seed."),
    target_test_size: int = typer.Option(500, min=10, help="Test molecules per target."),
    target_query_size: int = typer.Option(200, min=1, help="Unlabelled target molecules the targeted strategy sees."),
    target_fraction: float = typer.Option(0.03, min=0.001, max=0.2, help="Share of the pool per target."),
    initial: int = typer.Option(100, help="Random labels to start from (no target molecules)."),
    growth: float = typer.Option(1.5, help="Factor by which each round grows the labelled set."),
    final: int = typer.Option(3200, help="The last budget."),
    budgets: str | None = typer.Option(None, help="Explicit budgets, e.g. 100,150,225 (overrides the three above)."),
    strategy: list[str] | None = typer.Option(None, "--strategy", help=f"Strategies to compare with random "
                                              f"(default: all: {', '.join(STRATEGY_NAMES[1:])})."),
    quick: bool = typer.Option(False, help="A few minutes: 1,500-molecule pool, 2 rounds, 2 seeds."),
    out: Path = typer.Option(Path("selection-benchmark"), help="Where per-seed results, the table, the plot and "
                             "summary.json go; a rerun with the same options resumes there."),
) -> None:
    """Simulated active learning against an oracle: per strategy, the labels it needs to reach
    random selection's final error on the target chemistry (the label-saving factor)."""
    from atomloop.benchmark import QUICK, prepare, run_seed
    from atomloop.benchmark.report import write_report

    chosen = tuple(strategy) if strategy else STRATEGY_NAMES
    options = dict(pool_size=pool_size, test_size=test_size, target_test_size=target_test_size,
                   target_query_size=target_query_size, target_fraction=target_fraction,
                   budgets=_budgets(budgets, initial, growth, final))
    if quick:
        options.update(QUICK)
    seed_list = list(seed) if seed else list(range(2 if quick else seeds))
    try:
        config, data, membership = prepare(target, oracle, ("random", *[s for s in chosen if s != "random"]), **options)
    except InputError as error:
        raise typer.BadParameter(str(error)) from None
    out.mkdir(parents=True, exist_ok=True)
    for number in seed_list:
        run_seed(config, data, membership, number, out, progress=typer.echo)
    summary = write_report(out)
    typer.echo((out / "results.md").read_text())
    typer.echo(f"default strategy: {summary['default_strategy']}; files in {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(benchmark_app, name="benchmark")
