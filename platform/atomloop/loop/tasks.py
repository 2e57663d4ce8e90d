"""Prefect tasks over the library's steps, and the labelling fan-out through a task runner.

Tasks retry only when the database is unreachable (a reconnect can help); any other
failure is a bug or bad input and surfaces at once. No task takes a database URL as a
parameter (Prefect stores parameters): workers resolve the store from their environment
(``ATOMLOOP_DATABASE_URL`` or ``ATOMLOOP_HOME``), which process pools and Dask workers
started here inherit. A labelling task carries the identity of its store instead
(:mod:`atomloop.store.store_identity`): a worker started for another store refuses it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence

from prefect import get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

from atomloop.db.engine import get_engine, session_scope
from atomloop.db.errors import is_connection_error
from atomloop.errors import InputError
from atomloop.lifetime import exit_when_orphaned, ignore_interrupts
from atomloop.loop import steps
from atomloop.loop.driver import StepRunner
from atomloop.loop.state import prepare_run
from atomloop.qm import QMSettings

TASK_RUNNERS = ("process", "thread", "dask")


def _database_unreachable(task, task_run, state) -> bool:  # noqa: ARG001 - Prefect's signature
    """Retry condition: the task failed because the store could not be reached."""
    try:
        state.result()
    except Exception as error:  # noqa: BLE001 - a lost connection is retried; every other failure is final
        return is_connection_error(error)
    return False


TASK_OPTIONS: dict = {
    "retries": 3,
    "retry_delay_seconds": [2, 10, 30],
    "retry_condition_fn": _database_unreachable,
    "cache_policy": NO_CACHE,
    "persist_result": False,
}

prepare_task = task(prepare_run, name="prepare-run", **TASK_OPTIONS)
select_task = task(steps.select_step, name="select", **TASK_OPTIONS)
train_task = task(steps.train_step, name="train", **TASK_OPTIONS)
evaluate_task = task(steps.evaluate_step, name="evaluate", **TASK_OPTIONS)
summarize_task = task(steps.summarize_round, name="summarize", **TASK_OPTIONS)


@task(name="label-chunk", **TASK_OPTIONS)
def label_chunk(store: str, settings: dict, molecule_ids: list[int], threads: int = 1) -> dict[str, int]:
    """Label a few molecules in this worker (one PySCF process); returns the counts. ``store``: the
    identity of the loop's store; a worker whose environment names another store refuses the task
    (:class:`~atomloop.store.store_identity.WrongStoreError`). A worker process whose parent (the
    loop, a Dask nanny) died exits instead of labelling on."""
    import multiprocessing

    from atomloop.labelling import label_molecules
    from atomloop.lifetime import exit_when_orphaned

    if (parent := multiprocessing.parent_process()) is not None:
        exit_when_orphaned(parent.pid)  # the pid that started us: it may be gone already

    return label_molecules(
        QMSettings.from_dict(settings), molecule_ids=molecule_ids, threads=threads, progress=False, store=store
    ).counts()


PROGRESS_STEPS = 4  # progress lines per labelling fan-out: at a quarter, half, three quarters, all


class _ChunkStatesOffTheConsole(logging.Filter):
    """Every ``label-chunk`` task run logs its end ("Finished in state Completed()"): one console
    line per two molecules. The console keeps their warnings and errors, and the flow's progress
    lines stand in for the rest; the task runs and their logs stay in the Prefect UI."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "task_name", None) != label_chunk.name or record.levelno >= logging.WARNING


def keep_chunk_states_off_the_console() -> None:
    """Install :class:`_ChunkStatesOffTheConsole` on this process's Prefect console handlers (once)."""
    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler) and not any(
            isinstance(f, _ChunkStatesOffTheConsole) for f in handler.filters
        ):
            handler.addFilter(_ChunkStatesOffTheConsole())


def start_labelling_worker(loop_pid: int) -> None:
    """Initializer of the loop's labelling processes: end with the loop (``loop_pid``), keep
    the chunks' state lines off the shared console."""
    exit_when_orphaned(loop_pid)
    ignore_interrupts()  # a Ctrl-C is the loop's to handle: it stops its workers
    keep_chunk_states_off_the_console()


def fan_out_labeller(settings: QMSettings, molecule_ids: Sequence[int], *, chunk_size: int = 2) -> dict[str, int]:
    """Label ``molecule_ids`` as ``label-chunk`` tasks on the current flow's task runner; the flow
    logs progress :data:`PROGRESS_STEPS` times (molecules finished, done, failed, seconds).
    Only molecules without a finished SCF at this level are fanned out; the others can only lack
    derived rows (a new scheme, atomization values), which are computed here, without an SCF."""
    from atomloop.labelling import label_molecules
    from atomloop.store.queue import pending_molecule_ids
    from atomloop.store.store_identity import store_identity

    engine = get_engine()
    with session_scope(engine) as session:
        without_scf = set(pending_molecule_ids(session, settings.settings_hash, molecule_ids=list(molecule_ids)))
    ids = [i for i in molecule_ids if i in without_scf]
    totals = {"done": 0, "failed": 0, "refused": 0, "remaining": 0}
    if labelled := [i for i in molecule_ids if i not in without_scf]:
        label_molecules(settings, molecule_ids=labelled, progress=False)
    chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    if not chunks:
        return totals
    keep_chunk_states_off_the_console()
    logger, started, finished, step = get_run_logger(), time.monotonic(), 0, 1
    for future in as_completed(label_chunk.map(unmapped(store_identity(engine)), unmapped(settings.to_dict()), chunks)):
        for key, value in future.result().items():
            totals[key] += value
        finished += 1
        if finished * PROGRESS_STEPS >= step * len(chunks):
            step = finished * PROGRESS_STEPS // len(chunks) + 1
            logger.info(
                "labelling: %d of %d molecules finished (%d done, %d failed, %d refused) after %.1f s",
                totals["done"] + totals["failed"] + totals["refused"], len(ids),
                totals["done"], totals["failed"], totals["refused"], time.monotonic() - started,
            )
    return totals


def make_task_runner(kind: str, workers: int):
    """The labelling fan-out's task runner: local processes (default), threads, or Dask.

    ``dask`` connects to the scheduler at ``ATOMLOOP_DASK_ADDRESS`` when set (a cluster on
    other machines), else starts a ``distributed.LocalCluster`` of ``workers`` processes.
    """
    if kind == "process":  # idle workers too end with the loop, even one still starting up when it dies
        return ProcessPoolTaskRunner(max_workers=workers, initializer=start_labelling_worker, initargs=(os.getpid(),))
    if kind == "thread":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "dask":
        from prefect_dask import DaskTaskRunner

        address = os.environ.get("ATOMLOOP_DASK_ADDRESS")
        if address:
            return DaskTaskRunner(address=address)
        return DaskTaskRunner(
            cluster_class="distributed.LocalCluster",
            cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True, "dashboard_address": None},
        )
    raise InputError(f"unknown task runner {kind!r}; choose from {', '.join(TASK_RUNNERS)}")


def prefect_step_runner() -> StepRunner:
    """Steps as Prefect tasks; labelling runs in the flow itself and fans its molecules out as
    ``label-chunk`` tasks over the flow's task runner."""
    return StepRunner(
        prepare=prepare_task,
        select=select_task,
        label=steps.label_step,
        train=train_task,
        evaluate=evaluate_task,
        summarize=summarize_task,
        labeller=fan_out_labeller,
    )
