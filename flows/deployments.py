"""Scheduled deployments of atomloop's flows, for ``atomloop serve`` (``prefect.serve``).

The same deployments, for Prefect workers and work pools, are declared in
``deploy/prefect.yaml``. Parameters here are the laptop-sized defaults; edit them, or
override per run in the Prefect UI.
"""

from __future__ import annotations

from atomloop.loop.config import LoopConfig
from atomloop.loop.entrypoints import load_flow

WEEKLY_CONFIG = LoopConfig(pool_tag="organic")

#: (flow file, flow function, deployment name, cron schedule, parameters)
SCHEDULED = (
    ("active_learning.py", "active_learning", "weekly-active-learning", "0 3 * * 6",
     {"config": WEEKLY_CONFIG.model_dump(mode="json")}),
    ("evaluate.py", "evaluate", "nightly-evaluation", "0 2 * * *", {}),
)


def deployments() -> list:
    """``RunnerDeployment`` objects of every scheduled flow (served in this process)."""
    return [
        load_flow(f"{file_name}:{function}").to_deployment(name=name, cron=cron, parameters=parameters, tags=["atomloop"])
        for file_name, function, name, cron, parameters in SCHEDULED
    ]


if __name__ == "__main__":
    from prefect import serve

    serve(*deployments())
