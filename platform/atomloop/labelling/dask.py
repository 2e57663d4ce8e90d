"""Labelling on a Dask ``distributed`` cluster: the molecules go out as small tasks, each of which
runs :func:`~atomloop.labelling.runner.label_molecules` on its chunk inside a Dask worker.

A worker needs only the installed package: the database URL travels with each task, and
labels are written straight to the store. A worker that dies loses nothing: the scheduler
runs its task again on another worker, where ``label_molecules`` finds the dead worker's
claim (its process is gone, or its heartbeat is older than ``stale_after_s``), puts it back
and computes it; a finished calculation is never computed again (claims are rows locked with
``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Engine

from atomloop.errors import AtomloopError
from atomloop.labelling.limits import ResourceLimits
from atomloop.qm.settings import QMSettings

CHUNK_SIZE = 2  # molecules per task: what a worker's death costs is at most one chunk's restart


class DaskUnavailableError(AtomloopError):
    """The Dask scheduler cannot be reached."""


def _label_chunk(url: str, store: str, settings: dict, molecule_ids: list[int], limits: ResourceLimits,
                 threads: int, stale_after_s: float, device: str = "cpu") -> dict[str, int]:
    """A Dask task: label one chunk in this worker (one PySCF process) and return its counts;
    ``device`` (auto, cpu, cuda) is resolved on the worker's machine. ``url`` reaching a store
    other than ``store`` (the identity of the one the task was made for) is refused."""
    from atomloop.db.engine import get_engine
    from atomloop.labelling.runner import label_molecules

    return label_molecules(
        QMSettings.from_dict(settings), engine=get_engine(url), molecule_ids=molecule_ids, threads=threads,
        limits=limits, stale_after_s=stale_after_s, progress=False, device=device, store=store,
    ).counts()


def label_on_dask(
    engine: Engine, settings: QMSettings, molecule_ids: Sequence[int], address: str, *, limits: ResourceLimits,
    threads: int = 1, stale_after_s: float, chunk_size: int = CHUNK_SIZE, on_finished: Callable[[int], None] | None = None,
    device: str = "cpu",
) -> None:
    """Label the molecules ``molecule_ids`` (their calculations queued) as chunks of ``chunk_size`` on the scheduler at ``address``
    (``tcp://host:port``); ``on_finished(n)`` after each chunk of ``n`` molecules; the SCFs run
    on ``device`` of each worker's machine (``auto``: its GPU where it has one)."""
    from distributed import Client, as_completed

    from atomloop.store.store_identity import store_identity

    url, store = engine.url.render_as_string(hide_password=False), store_identity(engine)
    ids = list(molecule_ids)
    chunks = [ids[i:i + chunk_size] for i in range(0, len(ids), chunk_size)]
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as error:
        raise DaskUnavailableError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    with client:
        futures = {
            client.submit(_label_chunk, url, store, settings.to_dict(), chunk, limits, threads, stale_after_s, device,
                          key=f"label-{settings.settings_hash[:12]}-{chunk[0]}-{len(chunk)}", pure=False): len(chunk)
            for chunk in chunks
        }
        for future in as_completed(futures):
            future.result()
            if on_finished is not None:
                on_finished(futures[future])
