"""A labelling worker: claim a calculation, compute it, store it, repeat until none is left.

Runs inline (one worker) or as a spawned process; a heartbeat thread keeps the claimed row's
``heartbeat`` fresh and ends a spawned worker whose parent died (so ``kill -9`` of the
``atomloop label`` process leaves no orphan computing).
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
import traceback
from collections.abc import Callable, Sequence

from sqlalchemy import Engine

from atomloop.db.engine import get_engine, session_scope
from atomloop.errors import AtomloopError
from atomloop.labelling.limits import ResourceLimits, refusal_reason
from atomloop.lifetime import die_with_parent, ignore_interrupts
from atomloop.qm.calculation import compute
from atomloop.qm.settings import QMSettings
from atomloop.store.molecules import load_atoms
from atomloop.store.queue import beat, claim_next
from atomloop.store.results import store_failure, store_result

HEARTBEAT_INTERVAL_S = 5.0


_ACTIVE_WORKERS: set[str] = set()  # worker names of the run_worker calls running in this process


def worker_name() -> str:
    """A new worker in this process: "host:pid/token" (a process may run several, one after
    another after a failure, or side by side in threads)."""
    return f"{socket.gethostname()}:{os.getpid()}/{secrets.token_hex(4)}"


def worker_pid(worker: str) -> int:
    """The process id in a worker name ("host:pid" or "host:pid/token")."""
    return int(worker.partition(":")[2].partition("/")[0])


def worker_alive(worker: str | None) -> bool:
    """False when ``worker`` ran on this host and its process is gone, or ran in this very
    process and no longer runs (an attempt that failed, say, on a lost database connection)."""
    if not worker or ":" not in worker:
        return False
    if worker.partition(":")[0] != socket.gethostname():
        return True  # cannot tell; the heartbeat decides
    try:
        pid = worker_pid(worker)
    except ValueError:
        return True
    if pid == os.getpid():
        return worker in _ACTIVE_WORKERS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Heartbeat:
    """Background thread: refresh the held row's heartbeat; exit if the parent process died."""

    def __init__(self, engine: Engine, worker: str, parent_pid: int | None) -> None:
        self.engine, self.worker, self.parent_pid = engine, worker, parent_pid
        self.calculation_id: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="atomloop-heartbeat")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_INTERVAL_S):
            if self.parent_pid is not None and os.getppid() != self.parent_pid:
                os._exit(1)  # orphaned: the row stays 'running' and is reclaimed on the next run
            if self.calculation_id is not None:
                try:
                    beat(self.engine, self.calculation_id, self.worker)
                except Exception:  # noqa: BLE001 - a missed beat is retried; the work goes on
                    pass

    def stop(self) -> None:
        self._stop.set()


def _label_one(engine: Engine, calculation_id: int, molecule_id: int, worker: str, settings: QMSettings,
               limits: ResourceLimits, device: str) -> str:
    """Compute (SCF on ``device``) and store one calculation; returns its final status ('done' or 'failed')."""
    started = time.perf_counter()
    try:
        with session_scope(engine) as session:
            (atoms,) = load_atoms(session, [molecule_id])
        reason = refusal_reason(atoms, settings, limits)
        if reason is not None:
            store_failure(engine, calculation_id, worker, reason)
            return "failed"
        result = compute(atoms, settings, max_memory_mb=limits.max_memory_mb, device=device)
    except AtomloopError as error:
        store_failure(engine, calculation_id, worker, f"{type(error).__name__}: {error}", time.perf_counter() - started)
        return "failed"
    except Exception as error:  # noqa: BLE001 - recorded with its traceback, never dropped
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        store_failure(engine, calculation_id, worker, f"unexpected {detail}", time.perf_counter() - started)
        return "failed"
    store_result(engine, calculation_id, worker, result)
    return "done"


def run_worker(
    engine: Engine,
    settings: QMSettings,
    calculation_ids: Sequence[int],
    limits: ResourceLimits,
    *,
    parent_pid: int | None = None,
    on_finished: Callable[[str], None] | None = None,
    device: str = "cpu",
) -> None:
    """Label claimed calculations among ``calculation_ids`` until none is queued (SCFs on
    ``device``: :data:`~atomloop.qm.device.LABEL_DEVICES`)."""
    worker = worker_name()
    _ACTIVE_WORKERS.add(worker)
    heartbeat = _Heartbeat(engine, worker, parent_pid)
    try:
        while (claim := claim_next(engine, calculation_ids, worker)) is not None:
            heartbeat.calculation_id = claim[0]
            status = _label_one(engine, *claim, worker, settings, limits, device)
            heartbeat.calculation_id = None
            if on_finished is not None:
                on_finished(status)
    finally:
        heartbeat.stop()
        _ACTIVE_WORKERS.discard(worker)


EXIT_STORE_LOST = 3  # a spawned worker's status when the store went away under it


def worker_process_main(url: str, settings: dict, calculation_ids: list[int], limits: ResourceLimits,
                        threads: int, parent_pid: int, device: str = "cpu") -> None:
    """Entry point of a spawned worker process. A Ctrl-C is its parent's to handle (the parent
    stops it); a store that went away (``atomloop db stop``) ends it with status
    :data:`EXIT_STORE_LOST` and no traceback: the parent says so in one line."""
    die_with_parent()
    ignore_interrupts()
    if os.getppid() != parent_pid:
        return
    from pyscf import lib

    from atomloop.db.errors import is_connection_error

    lib.num_threads(threads)
    try:
        run_worker(get_engine(url), QMSettings.from_dict(settings), calculation_ids, limits, parent_pid=parent_pid,
                   device=device)
    except Exception as error:
        if not is_connection_error(error):
            raise
        os._exit(EXIT_STORE_LOST)
