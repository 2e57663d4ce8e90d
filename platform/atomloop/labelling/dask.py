"""Labelling on a Dask ``distributed`` cluster: the molecules go out as small tasks, each of which
labels its chunk inside a Dask worker (the task is the runner's, which runs
:func:`~atomloop.labelling.runner.label_molecules` on the chunk).

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


#: a chunk's task: ``(url, store identity, settings dict, molecule ids, limits, threads,
#: stale_after_s, device) -> counts``, run inside a Dask worker
ChunkTask = Callable[[str, str, dict, list[int], ResourceLimits, int, float, str], dict[str, int]]


def label_on_dask(
    engine: Engine, settings: QMSettings, molecule_ids: Sequence[int], address: str, *, task: ChunkTask,
    limits: ResourceLimits, threads: int = 1, stale_after_s: float, chunk_size: int = CHUNK_SIZE,
    on_finished: Callable[[int], None] | None = None, device: str = "cpu",
) -> None:
    """Label the molecules ``molecule_ids`` (their calculations queued) as chunks of ``chunk_size`` on the scheduler at ``address``
    (``tcp://host:port``), each chunk one call of ``task`` in a worker; ``on_finished(n)`` after
    each chunk of ``n`` molecules; the SCFs run on ``device`` of each worker's machine (``auto``:
    its GPU where it has one)."""
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
            client.submit(task, url, store, settings.to_dict(), chunk, limits, threads, stale_after_s, device,
                          key=f"label-{settings.settings_hash[:12]}-{chunk[0]}-{len(chunk)}", pure=False): len(chunk)
            for chunk in chunks
        }
        for future in as_completed(futures):
            future.result()
            if on_finished is not None:
                on_finished(futures[future])
