"""The active-learning loop as a Prefect flow: select -> label -> train -> evaluate, per round.

Entrypoint ``flows/active_learning.py:active_learning`` (what ``atomloop loop`` runs and what
the deployments in ``deploy/`` schedule). Starting it again with the same parameters resumes
the same run. Labelling fans out over the flow's task runner (local processes by default;
``task_runner="dask"`` for a Dask cluster). Its one parameter is a :class:`LoopConfig`
(a mapping of its fields in a deployment or the Prefect UI).

A run that ends early (a Ctrl-C, its embedded store stopped under it, a failed step) stops its
labelling processes at once rather than waiting for their molecules (the next run redoes them),
and never starts a store that was stopped while it ran (:func:`atomloop.db.embedded.held_open`).
"""

from __future__ import annotations

import multiprocessing
import re
from contextlib import contextmanager
from functools import partial

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from atomloop.loop import LoopConfig, run_loop
from atomloop.loop.steps import RoundSummary
from atomloop.loop.tasks import make_task_runner, prefect_step_runner


def round_markdown(run_name: str, summary: RoundSummary) -> str:
    """A round as a markdown table: labels, AUC with its 95 % interval and p-value, test and OOD MAE (kcal/mol) per model."""
    auc = "-" if summary.auc is None else f"{summary.auc:.3f} [{summary.auc_interval[0]:.2f}, {summary.auc_interval[1]:.2f}]" + (
        "" if summary.p_value is None else f", permutation p = {summary.p_value:.3f}")
    lines = [f"### Run {run_name}, round {summary.index}", "",
             f"{summary.n_train} labelled training molecules; adversarial AUC {auc}; {summary.seconds:.0f} s", "",
             "| model | test MAE (kcal/mol) | OOD MAE (kcal/mol) |", "| --- | ---: | ---: |"]
    for arch in sorted(summary.test_mae_kcal_mol):
        ood = summary.ood_mae_kcal_mol.get(arch)
        lines.append(f"| {arch} | {summary.test_mae_kcal_mol[arch]:.2f} | {'-' if ood is None else f'{ood:.2f}'} |")
    lines += ["", f"Full report: `atomloop report --run {run_name} --out {run_name}.html`"]
    return "\n".join(lines)


def _publish_round(run_name: str, summary: RoundSummary) -> None:
    """Log one line and publish the round's table as a Prefect artifact (key ``<run>-round-<n>``)."""
    auc = "-" if summary.auc is None else f"{summary.auc:.3f}"
    errors = ", ".join(f"{arch} {mae:.2f}" for arch, mae in sorted(summary.test_mae_kcal_mol.items()))
    get_run_logger().info(
        "round %d: %d labelled, AUC %s, test MAE (kcal/mol) %s", summary.index, summary.n_train, auc, errors or "-"
    )
    key = re.sub(r"[^a-z0-9-]+", "-", f"{run_name}-round-{summary.index}".lower())
    create_markdown_artifact(key=key, markdown=round_markdown(run_name, summary),
                             description=f"active-learning run {run_name}, round {summary.index}")


@contextmanager
def _workers_stopped_on_failure():
    """On any way out of the run but its end, stop the process pool's labelling workers now: the
    task runner's exit would otherwise wait for the molecules they compute (or, after a Ctrl-C,
    for ever). Dask's processes are the Dask runner's to stop."""
    from prefect.context import FlowRunContext
    from prefect.task_runners import ProcessPoolTaskRunner

    from atomloop.lifetime import end_processes

    try:
        yield
    except BaseException:
        context = FlowRunContext.get()
        if context is not None and isinstance(context.task_runner, ProcessPoolTaskRunner):
            end_processes(multiprocessing.active_children(), grace_s=1.0)
        raise


@flow(name="active-learning", log_prints=True, task_runner=make_task_runner("process", 2))
def active_learning(config: LoopConfig = LoopConfig()) -> str:
    """Run or resume the active-learning run that ``config`` describes; returns the per-round table."""
    from atomloop.db.connect import store_held_open

    with store_held_open(), _workers_stopped_on_failure():
        result = run_loop(config, runner=prefect_step_runner(), on_round=partial(_publish_round, config.run_name))
    table = result.table()
    print(f"run {result.run_name} (id {result.run_id})\n{table}")
    return table
