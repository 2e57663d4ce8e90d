"""The active-learning loop as a Prefect flow: select -> label -> train -> evaluate, per round.

Entrypoint ``flows/active_learning.py:active_learning`` (what ``atomloop loop`` runs and what
the deployments in ``deploy/`` schedule). Starting it again with the same parameters resumes
the same run. Labelling fans out over the flow's task runner (local processes by default;
``task_runner="dask"`` for a Dask cluster). Its one parameter is a :class:`LoopConfig`
(a mapping of its fields in a deployment or the Prefect UI).
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from atomloop.loop import LoopConfig, run_loop
from atomloop.loop.steps import RoundSummary
from atomloop.loop.tasks import make_task_runner, prefect_step_runner


def _log_round(summary: RoundSummary) -> None:
    auc = "-" if summary.auc is None else f"{summary.auc:.3f}"
    errors = ", ".join(f"{arch} {mae:.2f}" for arch, mae in sorted(summary.test_mae_kcal_mol.items()))
    get_run_logger().info(
        "round %d: %d labelled, AUC %s, test MAE (kcal/mol) %s", summary.index, summary.n_train, auc, errors or "-"
    )


@flow(name="active-learning", log_prints=True, task_runner=make_task_runner("process", 2))
def active_learning(config: LoopConfig = LoopConfig()) -> str:
    """Run or resume the active-learning run that ``config`` describes; returns the per-round table."""
    result = run_loop(config, runner=prefect_step_runner(), on_round=_log_round)
    table = result.table()
    print(f"run {result.run_name} (id {result.run_id})\n{table}")
    return table
