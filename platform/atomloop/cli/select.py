"""``atomloop select``: one selection round (adversarial validation + strategy) into the store."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from atomloop.cli.choices import CLASSIFIER, LEVEL, STRATEGY

if TYPE_CHECKING:
    from atomloop.store.selections import SelectionReport


def _drivers(pick) -> str:
    if pick.flagged_atoms is None:
        return "- (molecule level)"
    if not pick.flagged_atoms:
        return "none flagged"
    return " ".join(f"{symbol}{index}" for symbol, index in zip(pick.flagged_symbols, pick.flagged_atoms, strict=True))


def format_report(report: SelectionReport, top: int) -> str:
    """Human-readable summary: AUC with interval, stopping signal, table of the top picks."""
    test = report.test
    low, high = test.interval
    signal = report.decision.verdict
    lines = [
        f"round {report.round_index}"
        + (f" of run {report.run_id}" if report.run_id is not None else "")
        + f": {report.strategy} picked {len(report.selected)} of {report.n_pool} pool molecules "
        f"({report.n_train} training), {report.level} level"
        + (" [stored selection, nothing written]" if report.reused else ""),
        f"adversarial validation AUC {test.auc:.3f} (95% interval {low:.3f}-{high:.3f}"
        + ("" if test.p_value is None else f", p = {test.p_value:.3f}, null 2.5-97.5% "
           f"{report.null_auc[0]:.2f}-{report.null_auc[2]:.2f}") + ")",
        f"stopping signal: {signal}",
        f"{'rank':>4}  {'molecule':>8}  {'formula':<14} {'score':>9}  atoms that drove it",
    ]
    for pick in report.selected[:top]:
        score = "-" if pick.score is None else f"{pick.score:.4g}"
        lines.append(f"{pick.rank:>4}  {pick.molecule_id:>8}  {pick.formula:<14} {score:>9}  {_drivers(pick)}")
    if len(report.selected) > top:
        lines.append(f"... and {len(report.selected) - top} more")
    return "\n".join(lines)


def select(
    strategy: str = STRATEGY.option("adversarial", "--strategy", help="How to pick the molecules."),
    k: int = typer.Option(20, min=1, help="How many molecules to select: k different molecules, at most one conformer "
                          "of each (its best scorer; random: a seeded choice), the top scorers made diverse by "
                          "farthest-point sampling among the 5k best."),
    round_index: int | None = typer.Option(None, "--round", min=0, help="Round index (default: the next one)."),
    level: str = LEVEL.option("molecule", "--level", help="Adversarial validation on molecules or on atoms."),
    pool_tag: str | None = typer.Option(None, help="Only pool molecules with this tag."),
    query: str | None = typer.Option(None, help="Tag of the molecules you want predicted (unlabelled), for the "
                                     "targeted strategies."),
    seed: int = typer.Option(0, help="Seed of folds, classifier, bootstrap and random picks."),
    run_id: int | None = typer.Option(None, help="Attach the round to this run (default: none)."),
    classifier: str = CLASSIFIER.option("auto", "--classifier", help="auto: a 100-permutation test by logistic "
                                        "regression on 16 principal axes; scores from it up to 1,000 molecules a "
                                        "side, from hgb beyond."),
    top: int = typer.Option(20, min=0, help="Rows of the table to print."),
) -> None:
    """Select molecules to label next; rerunning a round prints its stored selection."""
    from atomloop.recipes.select import select_round
    from atomloop.store.selections import next_round_index

    index = next_round_index(run_id) if round_index is None else round_index
    report = select_round(
        strategy=strategy, k=k, round_index=index, run_id=run_id, pool_tag=pool_tag, query_tag=query, seed=seed,
        level=level, classifier=classifier, progress=True,
    )
    typer.echo(format_report(report, top))


def register(app: typer.Typer) -> None:
    app.command()(select)
