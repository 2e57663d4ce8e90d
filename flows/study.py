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
from atomloop.study.report import write_study_outputs

experiment_task = task(run_experiment, name="experiment", **TASK_OPTIONS)


@flow(name="transferability", log_prints=True, task_runner=make_task_runner("process", 2))
def transferability(
    dataset: str | None = None,
    targets: tuple[str, ...] | None = None,
    architectures: tuple[str, ...] | None = None,
    strategies: tuple[str, ...] | None = None,
    splits: tuple[str, ...] | None = None,
    sizes: tuple[int, ...] | None = None,
    seeds: tuple[int, ...] | None = None,
    atomic_weights: tuple[float, ...] | None = None,
    epochs: int | None = None,
    method: str | None = None,
    basis: str | None = None,
    transfer_groups: tuple[str, ...] | None = None,
    hyperparameters: dict[str, dict] | None = None,
    name: str | None = None,
    device: str | None = None,
    quick: bool = False,
    out: str | None = None,
) -> str:
    """Run or resume a transferability study; returns its one-line summary. Parameters left
    None take :meth:`StudyConfig.from_options`'s defaults (the dataset's matrix; ``quick``: the toy one)."""
    config = StudyConfig.from_options(
        quick=quick, dataset=dataset, targets=targets, architectures=architectures, strategies=strategies,
        splits=splits, sizes=sizes, seeds=seeds, atomic_weights=atomic_weights, epochs=epochs, method=method,
        basis=basis, transfer_groups=transfer_groups, hyperparameters=hyperparameters, name=name, device=device,
    )
    result = run_study(config, labeller=fan_out_labeller, experiment_runner=experiment_task)
    if out:
        with session_scope(get_engine()) as session:
            for path in write_study_outputs(study_rows(session, result.name), Path(out)):
                print(f"wrote {path}")
    print(result.summary())
    return result.summary()
