"""Optuna's storage: the store's own PostgreSQL database, in a separate schema ``optuna``.

Optuna keeps its schema version in an ``alembic_version`` table, as atomloop's migrations do;
a schema of its own (selected with ``search_path``) keeps the two apart. Trials send a
heartbeat; a trial whose process was killed is marked failed after the grace period and
retried once, so a killed study resumes where it stopped.
"""

from __future__ import annotations

import warnings

import optuna
from sqlalchemy.engine import make_url

from atomloop.db.connect import database_url
from atomloop.db.engine import create_schema

SCHEMA = "optuna"
HEARTBEAT_SECONDS = 60
GRACE_SECONDS = 180


def optuna_url(url: str | None = None) -> str:
    """The store URL with ``search_path`` set to the Optuna schema."""
    parsed = make_url(url or database_url())
    return parsed.update_query_dict({"options": f"-csearch_path={SCHEMA}"}).render_as_string(hide_password=False)


def optuna_storage(url: str | None = None) -> optuna.storages.RDBStorage:
    """RDB storage of Optuna studies in the store's database (schema created on first use)."""
    url = url or database_url()
    create_schema(url, SCHEMA)
    with warnings.catch_warnings():
        # heartbeats are marked experimental in Optuna 5.0; they are what makes kills recoverable
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            optuna_url(url),
            heartbeat_interval=HEARTBEAT_SECONDS,
            grace_period=GRACE_SECONDS,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1),
        )
