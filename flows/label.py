"""Prefect flow ``label``: PySCF labels for unlabelled molecules, fanned out over the task runner."""

from __future__ import annotations

from prefect import flow

from atomloop.db.engine import get_engine, session_scope
from atomloop.loop.tasks import fan_out_labeller, make_task_runner
from atomloop.qm import QMSettings
from atomloop.store.queue import pending_molecule_ids


@flow(name="label", log_prints=True, task_runner=make_task_runner("process", 2))
def label(
    method: str = "hf",
    basis: str = "sto-3g",
    schemes: tuple[str, ...] = ("mo-pm-iao", "ao-eda"),
    tag: str | None = None,
    limit: int | None = None,
) -> dict[str, int]:
    """Label molecules (optionally those tagged ``tag``) without a finished calculation."""
    settings = QMSettings(method=method, basis=basis, schemes=tuple(schemes))
    with session_scope(get_engine()) as session:
        pending = pending_molecule_ids(session, settings.settings_hash, tag=tag, limit=limit)
    totals = fan_out_labeller(settings, pending)
    print(f"labelled {len(pending)} molecules at {method}/{basis}: {totals}")
    return totals
