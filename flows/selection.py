"""Prefect flow ``select``: one adversarial-validation selection round over the store."""

from __future__ import annotations

from prefect import flow, task

from atomloop.loop.tasks import TASK_OPTIONS
from atomloop.select.store import select_round

select_task = task(select_round, name="select-round", **TASK_OPTIONS)


@flow(name="select", log_prints=True)
def select(
    strategy: str = "adversarial", k: int = 20, round_index: int = 1, pool_tag: str | None = None,
    level: str = "molecule", seed: int = 0,
) -> dict:
    """Select ``k`` molecules (labelled molecules are the training set); returns AUC and ids."""
    report = select_task(strategy=strategy, k=k, round_index=round_index, pool_tag=pool_tag, level=level, seed=seed)
    low, high = report.auc_interval
    print(f"round {report.round_index}: AUC {report.auc:.3f} [{low:.3f}, {high:.3f}], {len(report.selected)} selected")
    return {"auc": report.auc, "auc_interval": [low, high], "molecule_ids": [s.molecule_id for s in report.selected]}
