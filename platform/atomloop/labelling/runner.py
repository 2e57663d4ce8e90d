"""``label_molecules``: label every pending molecule at one settings, in parallel, resumably."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import wait

from sqlalchemy import Engine
from tqdm.auto import tqdm

from atomloop.db.engine import get_engine, session_scope
from atomloop.errors import AtomloopError, InputError
from atomloop.labelling.derived import derive_schemes
from atomloop.labelling.limits import ResourceLimits
from atomloop.labelling.worker import run_worker, worker_alive, worker_process_main
from atomloop.qm.device import check_label_device, resolve_label_device
from atomloop.qm.settings import QMSettings
from atomloop.store.molecules import tagged_ids
from atomloop.store.queue import pending_molecule_ids, queue_calculations, reclaim_abandoned, status_counts
from atomloop.store.results import lacking_schemes
from atomloop.store.store_identity import check_store_identity

STALE_AFTER_S = 300.0


class WorkerCrashedError(AtomloopError):
    """A worker process died (its unfinished calculations are redone by the next run)."""

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass
class LabelReport:
    """What one ``label_molecules`` call did (counts of molecules, seconds)."""

    settings_hash: str
    requested: int = 0
    done: int = 0
    failed: int = 0
    refused: int = 0
    remaining: int = 0
    reclaimed: int = 0
    derived: int = 0
    wall_time: float = 0.0
    calculation_ids: list[int] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Molecules done, failed, refused and remaining: what a labeller of the loop or a study returns."""
        return {"done": self.done, "failed": self.failed, "refused": self.refused, "remaining": self.remaining}

    def summary(self) -> str:
        """One line for people."""
        return (
            f"labelled {self.requested} molecules in {self.wall_time:.1f} s: {self.done} done, "
            f"{self.failed} failed, {self.refused} refused, {self.remaining} unfinished "
            f"({self.reclaimed} interrupted calculations redone; settings {self.settings_hash[:12]})"
            + (f"; {self.derived} labelled molecules gained schemes without a new SCF" if self.derived else "")
        )


@contextmanager
def _thread_environment(threads: int) -> Iterator[None]:
    """Child processes inherit ``threads`` BLAS/OpenMP threads."""
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    os.environ.update({name: str(threads) for name in _THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_processes(engine: Engine, settings: QMSettings, ids: list[int], limits: ResourceLimits, workers: int,
                   threads: int, bar: tqdm, device: str) -> None:
    """Label ``ids`` in ``workers`` spawned processes. They never see the terminal's Ctrl-C (they
    start with SIGINT blocked); this process does, and on any way out but their end (a Ctrl-C, a
    lost store) stops them at once: their unfinished calculations are redone by the next run."""
    from atomloop.lifetime import end_processes, interrupts_held

    context = multiprocessing.get_context("spawn")
    url = engine.url.render_as_string(hide_password=False)
    args = (url, settings.to_dict(), ids, limits, threads, os.getpid(), device)
    with _thread_environment(threads):
        processes = [context.Process(target=worker_process_main, args=args, daemon=True) for _ in range(workers)]
        with interrupts_held():
            for process in processes:
                process.start()
    try:
        while any(process.is_alive() for process in processes):
            wait([process.sentinel for process in processes if process.is_alive()], timeout=0.5)
            with session_scope(engine) as session:
                counts = status_counts(session, ids)
            bar.update(counts["done"] + counts["failed"] + counts["refused"] - bar.n)
    except BaseException:
        end_processes(processes, grace_s=0.5)
        raise
    finally:
        for process in processes:
            process.join(timeout=1)
            if process.is_alive():
                process.kill()
    crashed = sorted({process.exitcode for process in processes if process.exitcode != 0})
    if crashed:
        raise WorkerCrashedError(
            f"{len(processes)} labelling worker processes ended with exit codes {crashed}; unfinished "
            "calculations stay queued and are picked up by the next run"
        )


def label_molecules(
    settings: QMSettings,
    *,
    engine: Engine | None = None,
    molecule_ids: Sequence[int] | None = None,
    tag: str | None = None,
    limit: int | None = None,
    workers: int = 1,
    threads: int = 1,
    limits: ResourceLimits = ResourceLimits(),
    retry_failed: bool = False,
    stale_after_s: float = STALE_AFTER_S,
    progress: bool = True,
    dask_address: str | None = None,
    device: str = "cpu",
    store: str | None = None,
) -> LabelReport:
    """Label the molecules without a finished calculation at ``settings`` (idempotent).

    Candidates: ``molecule_ids`` (else all), filtered by ``tag``, at most ``limit``. One SCF per
    molecule, every scheme of ``settings`` partitioned and stored in one transaction; molecules
    already labelled at this level that lack a scheme get it from the kept orbitals, no new SCF. Runs in
    ``workers`` processes of ``threads`` threads (``workers=1``: in this process), or with
    ``dask_address`` as tasks on that Dask scheduler's workers (:mod:`atomloop.labelling.dask`). Calculations
    interrupted earlier (dead worker or heartbeat older than ``stale_after_s``) are redone;
    failed ones only with ``retry_failed``. Energies in Hartree. The SCFs run on ``device`` (auto,
    cpu, cuda: :mod:`atomloop.qm.device`), resolved here before any work, or with ``dask_address``
    on each Dask worker's machine; the device does not change the settings hash. ``store``: the
    identity (:func:`~atomloop.store.store_identity.store_identity`) of the store the calling task
    was made for; against any other store nothing runs (:class:`~atomloop.store.store_identity.WrongStoreError`).
    """
    device = check_label_device(device) if dask_address is not None else resolve_label_device(device)
    started = time.perf_counter()
    engine = engine or get_engine()
    if store is not None:
        check_store_identity(engine, store)
    report = LabelReport(settings_hash=settings.settings_hash)
    with session_scope(engine) as session:
        if tag is not None and not tagged_ids(session, tag):
            raise InputError(f"no molecules are tagged {tag!r}; ingest some first (atomloop ingest SOURCE --tag {tag})")
        pending = pending_molecule_ids(
            session, report.settings_hash, molecule_ids=molecule_ids, tag=tag, limit=limit, retry_failed=retry_failed
        )
        ids = queue_calculations(session, settings, pending)
        report.reclaimed = reclaim_abandoned(session, ids, stale_after_s, worker_alive)
    report.requested, report.calculation_ids = len(ids), ids
    label = f"label {settings.method}/{settings.basis}"
    with tqdm(total=len(ids), desc=label, unit="mol", disable=None if progress and ids else True) as bar:
        if dask_address is not None and ids:
            from atomloop.labelling.dask import label_on_dask

            label_on_dask(engine, settings, pending, dask_address, task=_label_chunk, limits=limits, threads=threads,
                          stale_after_s=stale_after_s, on_finished=bar.update, device=device)
        elif workers <= 1:
            from pyscf import lib

            previous = lib.num_threads()
            lib.num_threads(threads)
            try:
                run_worker(engine, settings, ids, limits, on_finished=lambda _: bar.update(1), device=device)
            finally:
                lib.num_threads(previous)
        elif ids:
            _run_processes(engine, settings, ids, limits, min(workers, len(ids)), threads, bar, device)
    with session_scope(engine) as session:
        lacking = lacking_schemes(session, settings, molecule_ids=molecule_ids, tag=tag)
    with tqdm(total=len(lacking), desc="derive schemes", unit="mol", disable=None if progress and lacking else True) as bar:
        report.derived = derive_schemes(engine, settings, lacking, max_memory_mb=limits.max_memory_mb,
                                        on_finished=lambda: bar.update(1))
    with session_scope(engine) as session:
        counts = status_counts(session, ids)
    report.done, report.failed, report.refused = counts["done"], counts["failed"], counts["refused"]
    report.remaining = counts["queued"] + counts["running"]
    report.wall_time = time.perf_counter() - started
    return report


def _label_chunk(url: str, store: str, settings: dict, molecule_ids: list[int], limits: ResourceLimits,
                 threads: int, stale_after_s: float, device: str = "cpu") -> dict[str, int]:
    """A Dask task (:func:`~atomloop.labelling.dask.label_on_dask`): label one chunk in this
    worker (one PySCF process) and return its counts; ``device`` (auto, cpu, cuda) is resolved on
    the worker's machine. ``url`` reaching a store other than ``store`` (the identity of the one
    the task was made for) is refused."""
    return label_molecules(
        QMSettings.from_dict(settings), engine=get_engine(url), molecule_ids=molecule_ids, threads=threads,
        limits=limits, stale_after_s=stale_after_s, progress=False, device=device, store=store,
    ).counts()


def label_in_process(
    settings: QMSettings, molecule_ids: Sequence[int], *, engine: Engine | None = None, workers: int = 1,
    progress: bool = True,
) -> dict[str, int]:
    """The default labeller of the loop and the studies: :func:`label_molecules` of
    ``molecule_ids`` here (``workers`` processes; a progress bar on a terminal);
    returns :meth:`LabelReport.counts`."""
    return label_molecules(
        settings, engine=engine, molecule_ids=list(molecule_ids), workers=workers, progress=progress
    ).counts()
