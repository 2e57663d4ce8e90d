"""Scheduled deployments of atomloop's flows, for ``atomloop serve`` (``prefect.serve``).

The same deployments, for Prefect workers and work pools, are declared in
``deploy/prefect.yaml``. Parameters here are the laptop-sized defaults; edit them, or
override per run in the Prefect UI.
"""

from __future__ import annotations

from atomloop.loop.entrypoints import load_flow

#: (flow file, flow function, deployment name, cron schedule, parameters)
SCHEDULED = (
    ("active_learning.py", "active_learning", "weekly-active-learning", "0 3 * * 6",
     {"pool": "organic", "initial": 20, "k": 10, "rounds": 3}),
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
