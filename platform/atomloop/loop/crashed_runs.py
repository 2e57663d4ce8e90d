"""Flow runs whose process died end ``Crashed``: a Prefect automation on missed heartbeats.

A process worker killed together with the flow-run process it started (a machine lost, a
``kill -9`` of its process tree) reports nothing: the server would show the run ``Running``
for ever. Every flow run emits a ``prefect.flow-run.heartbeat`` event each
``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` seconds (``deploy/prefect.yaml`` sets :data:`HEARTBEAT_S`
for its deployments). The proactive automation made here has the server's trigger service move a
flow run tagged :data:`WATCHED_TAG` (the tag of those deployments) to ``Crashed`` when, after one
of its heartbeats, no event of that run (heartbeat or state change) arrives within ``within_s``
seconds. Other flow runs are not watched: they heartbeat at Prefect's default of 180 s.

``python -m atomloop.loop.crashed_runs [--within SECONDS]`` creates it on the server at
``PREFECT_API_URL``, or updates it there (``deploy/register.sh`` runs it).
"""

from __future__ import annotations

import argparse
from datetime import timedelta

import httpx
from prefect.automations import Automation
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification

from atomloop.errors import InputError

NAME = "atomloop: crash flow runs without heartbeats"
WATCHED_TAG = "atomloop"
HEARTBEAT_S = 30  # Prefect's smallest heartbeat interval
CRASH_AFTER_S = 90  # three heartbeats missed


def crash_automation(within_s: float = CRASH_AFTER_S) -> Automation:
    """The automation that marks a watched flow run ``Crashed`` ``within_s`` seconds after its
    last event, when that event was a heartbeat; ``within_s`` must exceed :data:`HEARTBEAT_S`."""
    if within_s <= HEARTBEAT_S:
        raise InputError(f"--within {within_s:g} s would crash live runs: it must exceed the {HEARTBEAT_S} s heartbeat")
    return Automation(
        name=NAME,
        description=f"Mark flow runs tagged {WATCHED_TAG!r} Crashed when their heartbeats stop (their process died).",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.*"},
            match=ResourceSpecification({"prefect.resource.id": "prefect.flow-run.*"}),
            match_related=ResourceSpecification(
                {"prefect.resource.role": "tag", "prefect.resource.id": f"prefect.tag.{WATCHED_TAG}"}
            ),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=within_s),
        ),
        actions=[ChangeFlowRunState(state=StateType.CRASHED,
                                    message=f"no heartbeat for {within_s:g} s: its worker or machine died")],
    )


def ensure_crash_automation(within_s: float = CRASH_AFTER_S) -> Automation:
    """Create :func:`crash_automation` on the current Prefect server, or update the one of that name."""
    wanted = crash_automation(within_s)
    try:
        wanted.id = Automation.read(name=NAME).id
    except ValueError:  # none of that name yet
        return wanted.create()
    wanted.update()
    return wanted


def main(argv: list[str] | None = None) -> None:
    """Command line: create or update the automation, say so in one line."""
    parser = argparse.ArgumentParser(prog="python -m atomloop.loop.crashed_runs", description=__doc__.splitlines()[0])
    parser.add_argument("--within", type=float, default=CRASH_AFTER_S,
                        help=f"seconds without a heartbeat before a run is marked Crashed (default {CRASH_AFTER_S})")
    args = parser.parse_args(argv)
    try:
        automation = ensure_crash_automation(args.within)
    except InputError as error:
        parser.error(str(error))
    except httpx.HTTPError as error:  # unreachable server, refused request: one line, not Prefect's traceback
        from prefect.settings import PREFECT_API_URL

        parser.exit(1, f"{parser.prog}: the Prefect API at {PREFECT_API_URL.value()} failed: {error}\n")
    print(f"automation {automation.name!r} ({automation.id}): flow runs tagged {WATCHED_TAG!r} "
          f"crash after {args.within:g} s without a heartbeat")


if __name__ == "__main__":
    main()
