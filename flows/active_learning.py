"""The active-learning loop as a Prefect flow: select -> label -> train -> evaluate, per round.

Entrypoint ``flows/active_learning.py:active_learning`` (what ``atomloop loop`` runs and what
the deployments in ``deploy/`` schedule). Starting it again with the same parameters resumes
the same run. Labelling fans out over the flow's task runner (local processes by default;
``task_runner="dask"`` for a Dask cluster).
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
def active_learning(
    pool: str | None = None,
    initial: int = 20,
    test_size: int = 10,
    ood_size: int = 10,
    k: int = 10,
    rounds: int = 3,
    method: str = "hf",
    basis: str = "sto-3g",
    schemes: tuple[str, ...] = ("mo-pm-iao",),
    strategy: str = "adversarial",
    level: str = "molecule",
    architectures: tuple[str, ...] = ("schnet", "nequip"),
    target: str = "atomic",
    epochs: int = 60,
    tune_every: int = 0,
    tune_trials: int = 4,
    max_labels: int | None = None,
    max_wall_time: float | None = None,
    stop_on_auc: bool = True,
    auc_stop_margin: float = 0.05,
    plateau_rounds: int = 0,
    seed: int = 0,
    name: str | None = None,
    device: str = "auto",
) -> str:
    """Run or resume an active-learning run over the pool tagged ``pool``; returns the per-round table."""
    config = LoopConfig(
        pool_tag=pool, initial=initial, test_size=test_size, ood_size=ood_size, k=k, rounds=rounds,
        method=method, basis=basis, schemes=tuple(schemes), strategy=strategy, level=level,
        architectures=tuple(architectures), target=target, epochs=epochs, tune_every=tune_every,
        tune_trials=tune_trials, max_labels=max_labels, max_wall_time=max_wall_time, stop_on_auc=stop_on_auc,
        auc_stop_margin=auc_stop_margin, plateau_rounds=plateau_rounds, seed=seed, name=name, device=device,
    )
    result = run_loop(config, runner=prefect_step_runner(), on_round=_log_round)
    table = result.table()
    print(f"run {result.run_name} (id {result.run_id})\n{table}")
    return table
