"""The active-learning loop without any scheduler: rounds of select -> label -> train -> evaluate.

``run_loop`` is what the Prefect flow ``flows/active_learning.py:active_learning`` runs, with
its steps wrapped as Prefect tasks (see :mod:`atomloop.loop.tasks`); called directly it runs
them in this process. Starting it again with the same inputs resumes the same run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import Engine

from atomloop.db.engine import get_engine
from atomloop.labelling.runner import label_in_process
from atomloop.loop import steps
from atomloop.loop.config import LoopConfig
from atomloop.loop.state import prepare_run
from atomloop.loop.stopping import budget_or_plateau


@dataclass
class StepRunner:
    """How each step is executed: plain calls by default, Prefect tasks in the flow."""

    prepare: Callable = prepare_run
    select: Callable = steps.select_step
    label: Callable = steps.label_step
    train: Callable = steps.train_step
    evaluate: Callable = steps.evaluate_step
    summarize: Callable = steps.summarize_round
    labeller: steps.Labeller | None = None


@dataclass
class LoopResult:
    """A run's rounds and how it ended."""

    run_id: int
    run_name: str
    rounds: list[steps.RoundSummary] = field(default_factory=list)
    stop_reason: str | None = None

    def table(self) -> str:
        """The per-round table: labels, AUC (95 % interval) and its one-sided permutation
        p-value, test and OOD MAE (kcal/mol), an MAE
        of molecules with elements the model never trained on starred."""
        archs = sorted({a for r in self.rounds for a in r.test_mae_kcal_mol})
        header = f"{'round':>5} {'labels':>6} {'AUC [95% CI]':>20} {'p':>6} " + " ".join(
            f"{a + ' test':>12} {a + ' OOD':>11}" for a in archs
        ) + f" {'time/s':>7}"
        lines = [header]
        for r in self.rounds:
            auc = "-" if r.auc is None else f"{r.auc:.3f} [{r.auc_interval[0]:.2f},{r.auc_interval[1]:.2f}]"
            errors = " ".join(
                _cell(r.test_mae_kcal_mol.get(a, float("nan")), 12, (a, "test") in r.unseen) + " "
                + _cell(r.ood_mae_kcal_mol.get(a, float("nan")), 11, (a, "ood_test") in r.unseen)
                for a in archs
            )
            p = "-" if r.p_value is None else f"{r.p_value:.3f}"
            lines.append(f"{r.index:>5} {r.n_train:>6} {auc:>20} {p:>6} {errors} {r.seconds:7.1f}")
        lines.append("MAE in kcal/mol of molecular energies; " + (f"stopped: {self.stop_reason}" if self.stop_reason else "all rounds done"))
        if any(r.unseen for r in self.rounds):
            lines.append("* some of these molecules hold elements absent from the model's training set: that MAE is meaningless")
        return "\n".join(lines)


def _cell(mae: float, width: int, unseen: bool) -> str:
    """An MAE (kcal/mol) in ``width`` characters, starred where ``unseen`` elements spoil it."""
    return f"{mae:{width - 1}.2f}*" if unseen else f"{mae:{width}.2f}"


def run_loop(
    config: LoopConfig,
    *,
    engine: Engine | None = None,
    runner: StepRunner | None = None,
    on_round: Callable[[steps.RoundSummary], None] | None = None,
) -> LoopResult:
    """Run (or resume) the active-learning run described by ``config``."""
    engine = engine or get_engine()
    runner = runner or StepRunner()
    labeller = runner.labeller or partial(label_in_process, engine=engine)
    run_id = runner.prepare(engine, config)
    result = LoopResult(run_id=run_id, run_name=config.run_name)
    for index in range(config.rounds + 1):
        outcome = runner.select(engine, config, run_id, index)
        if outcome.stop_reason:
            result.stop_reason = f"round {index}: {outcome.stop_reason}"
            break
        runner.label(engine, config, run_id, index, outcome.molecule_ids, labeller)
        model_ids = runner.train(engine, config, run_id, index)
        runner.evaluate(engine, config, run_id, index, model_ids)
        summary = runner.summarize(engine, config, run_id, index)
        result.rounds.append(summary)
        if on_round is not None:
            on_round(summary)
        if reason := budget_or_plateau(config, result.rounds):
            result.stop_reason = f"round {index}: {reason}"
            break
    steps.finish_run(engine, run_id, "stopped" if result.stop_reason else "done", result.stop_reason)
    return result
