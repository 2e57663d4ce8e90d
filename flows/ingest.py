"""Prefect flow ``ingest``: molecules from sources into the store (one transaction per source)."""

from __future__ import annotations

from prefect import flow, task

from atomloop.ingest import ingest_source
from atomloop.loop.tasks import TASK_OPTIONS

ingest_task = task(ingest_source, name="ingest-source", **TASK_OPTIONS)


@flow(name="ingest", log_prints=True)
def ingest(sources: list[str], tags: list[str] | None = None, conformers: int = 1) -> dict[str, int]:
    """Ingest each source (``ase:g2``, ``atomloop:organic``, files); returns added/present counts."""
    added = present = 0
    for spec in sources:
        report = ingest_task(spec, tags=tags or (), conformers=conformers)
        print(f"{spec}: {report.added} added, {report.present} already present")
        added, present = added + report.added, present + report.present
    return {"added": added, "present": present}
