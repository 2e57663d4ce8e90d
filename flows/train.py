"""Prefect flows ``train`` and ``tune``: register a model trained (or tuned) on the store's labels."""

from __future__ import annotations

from prefect import flow, task

from atomloop.loop.tasks import TASK_OPTIONS
from atomloop.models.registry import train_and_register
from atomloop.tune import tune as tune_study

train_task = task(train_and_register, name="train-and-register", **TASK_OPTIONS)
tune_task = task(tune_study, name="tune-study", **TASK_OPTIONS)


@flow(name="train", log_prints=True)
def train(
    arch: str = "schnet", target: str = "total", scheme: str | None = None, method: str | None = None,
    basis: str | None = None, epochs: int = 200, device: str = "auto",
) -> int:
    """Train ``arch`` on every labelled molecule at ``method``/``basis``; returns the model id."""
    model_id = train_task(
        arch=arch, target=target, scheme=scheme, method=method, basis=basis, training={"epochs": epochs},
        device=device, progress=False,
    )
    print(f"registered model {model_id}")
    return model_id


@flow(name="tune", log_prints=True)
def tune(
    arch: str = "schnet", target: str = "total", scheme: str | None = None, trials: int = 10,
    timeout: float | None = None, epochs: int = 100, device: str = "auto",
) -> int:
    """An Optuna study in the store's database; returns the best trial's registered model id."""
    result = tune_task(arch=arch, target=target, scheme=scheme, trials=trials, timeout=timeout, epochs=epochs, device=device)
    print(f"study {result.study_name}: best value {result.best_value:.4g}, model {result.model_id}")
    return result.model_id
