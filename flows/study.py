"""The transferability study as a Prefect flow: label the dataset, run every unfinished
experiment of the matrix, write plots and the HTML report.

Entrypoint ``flows/study.py:transferability`` (what ``atomloop study transferability`` runs).
Starting it again with the same inputs resumes the same study: labels, finished experiments
and trained models are reused. Labelling fans out over the flow's task runner.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task

from atomloop.db.engine import get_engine, session_scope
from atomloop.loop.tasks import TASK_OPTIONS, fan_out_labeller, make_task_runner
from atomloop.store.reports import study_rows
from atomloop.study import StudyConfig, run_experiment, run_study
from atomloop.study.matrix import DEFAULT_TARGETS, DEFAULT_TRANSFER_GROUPS, SPLITS, STRATEGIES
from atomloop.study.report import write_study_outputs

experiment_task = task(run_experiment, name="experiment", **TASK_OPTIONS)


@flow(name="transferability", log_prints=True, task_runner=make_task_runner("process", 2))
def transferability(
    dataset: str = "organic",
    targets: tuple[str, ...] = DEFAULT_TARGETS,
    architectures: tuple[str, ...] = ("schnet", "nequip"),
    strategies: tuple[str, ...] = STRATEGIES,
    splits: tuple[str, ...] = SPLITS,
    sizes: tuple[int, ...] = (16, 32, 64),
    seeds: tuple[int, ...] = (0, 1, 2),
    epochs: int = 60,
    method: str = "hf",
    basis: str | None = None,
    transfer_groups: tuple[str, ...] = DEFAULT_TRANSFER_GROUPS,
    hyperparameters: dict[str, dict] | None = None,
    name: str | None = None,
    device: str = "auto",
    out: str | None = None,
) -> str:
    """Run or resume a transferability study; returns its one-line summary."""
    config = StudyConfig(
        dataset=dataset, targets=tuple(targets), architectures=tuple(architectures), strategies=tuple(strategies),
        splits=tuple(splits), sizes=tuple(sizes), seeds=tuple(seeds), epochs=epochs, method=method, basis=basis,
        transfer_groups=tuple(transfer_groups), hyperparameters=hyperparameters or {}, name=name, device=device,
    )
    result = run_study(config, labeller=fan_out_labeller, experiment_runner=experiment_task)
    if out:
        with session_scope(get_engine()) as session:
            for path in write_study_outputs(study_rows(session, result.name), Path(out)):
                print(f"wrote {path}")
    print(result.summary())
    return result.summary()
