"""Prefect flow ``evaluate``: (re-)evaluate registered models on their test sets.

Scheduled nightly by the deployments in ``deploy/``: labels added since a model was trained
(new test molecules, relabelled ones) show up in its metrics the next morning.
"""

from __future__ import annotations

from prefect import flow, task

from atomloop.db.engine import get_engine, session_scope
from atomloop.loop.tasks import TASK_OPTIONS
from atomloop.recipes.evaluate import evaluate_registered
from atomloop.store.registry import latest_models

evaluate_task = task(evaluate_registered, name="evaluate-model", **TASK_OPTIONS)


@flow(name="evaluate", log_prints=True)
def evaluate(model_ids: list[int] | None = None) -> dict[int, dict]:
    """Evaluate ``model_ids`` (default: the newest model of each architecture)."""
    if model_ids is None:
        with session_scope(get_engine()) as session:
            model_ids = [row.id for row in latest_models(session).values()]
    results = {}
    for model_id in model_ids:
        results[model_id] = evaluate_task(model_id)
        print(f"model {model_id}: {results[model_id].get('test', {}).get('energy', {})}")
    return results
