"""The loop under stress: kill -9 mid-round and resume; Dask fan-out; deployments that load."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from ase.build import molecule
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from atomloop.ingest import ingest_atoms
from atomloop.loop.config import LoopConfig
from atomloop.loop.entrypoints import load_flow
from atomloop.loop.state import selected_ids, split_ids
from atomloop.qm import QMSettings
from atomloop.store.tables import Calculation, CalculationStatus, Model, Round, RoundStatus, Run

REPOSITORY = Path(__file__).resolve().parents[1]
POOL = ["CH4", "NH3", "H2O", "HF", "CO", "HCN", "H2CO", "CH3OH", "C2H4", "C2H2", "CH3CH2OH", "CH3CN"]
LOOP_ARGS = [
    "loop", "--pool", "resilience", "--initial", "3", "--test-size", "2", "--ood-size", "2", "--k", "2",
    "--rounds", "1", "--arch", "schnet", "--target", "total", "--epochs", "3", "--no-stop-on-auc",
    "--name", "resilience", "--workers", "2",
]


def _loop_process(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from atomloop.cli import main; main()", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )


def test_kill_9_mid_labelling_then_resume(engine, prefect_api):
    ingest_atoms([molecule(n) for n in POOL], source="test", tags=["resilience"], engine=engine)
    victim = _loop_process(*LOOP_ARGS)
    deadline = time.monotonic() + 240
    killed_while = None
    while time.monotonic() < deadline and victim.poll() is None:
        with engine.connect() as connection:
            done = connection.execute(text("SELECT count(*) FROM calculations WHERE status = 'done'")).scalar()
            models = connection.execute(text("SELECT count(*) FROM models")).scalar()
        if done >= 2 or models:
            killed_while = f"{done} calculations done, {models} models"
            os.killpg(victim.pid, signal.SIGKILL)  # the flow and its labelling workers
            break
        time.sleep(0.05)
    victim.wait(timeout=60)
    assert killed_while is not None, victim.stdout.read()
    resumed = _loop_process(*LOOP_ARGS)
    output, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, output
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 1
        run = session.scalars(select(Run)).one()
        assert run.status == "done"
        rounds = session.scalars(select(Round).where(Round.run_id == run.id).order_by(Round.index)).all()
        assert [(r.index, r.status) for r in rounds] == [(0, RoundStatus.done), (1, RoundStatus.done)]
        calculations = session.scalars(select(Calculation)).all()
        assert all(c.status == CalculationStatus.done for c in calculations), [
            (c.molecule_id, c.status, c.reason) for c in calculations if c.status != CalculationStatus.done
        ]
        # initial + test + OOD + 2 selected: each computed exactly once, whatever the kill interrupted
        initial, both_rounds = (selected_ids(session, run.id, up_to_round=i) for i in (0, 1))
        assert len(both_rounds) == len(initial) + 2
        expected = set(both_rounds) | set(split_ids(session, "resilience", "test")) | set(
            split_ids(session, "resilience", "ood_test")
        )
        assert len(calculations) == len({c.molecule_id for c in calculations})
        assert {c.molecule_id for c in calculations} == expected
        models = session.scalars(select(Model)).all()
        assert sorted((m.round_id, m.architecture) for m in models) == [(r.id, "schnet") for r in rounds]


def test_dask_task_runner_labels_through_a_local_cluster(engine, prefect_api):
    from prefect import flow

    from atomloop.loop.tasks import fan_out_labeller, make_task_runner

    ids = ingest_atoms([molecule(n) for n in ("H2O", "NH3", "CH4")], source="test", engine=engine).molecule_ids
    settings = QMSettings(method="hf", basis="sto-3g", schemes=("ao-eda",))

    @flow(task_runner=make_task_runner("dask", 2))
    def label_with_dask() -> dict[str, int]:
        return fan_out_labeller(settings, ids, chunk_size=1)

    assert label_with_dask() == {"done": 3, "failed": 0, "refused": 0, "remaining": 0}
    with Session(engine) as session:
        water = session.scalars(select(Calculation).where(Calculation.molecule_id == ids[0])).one()
    assert water.total_energy == pytest.approx(-74.96, abs=0.01)  # HF/STO-3G water, ASE geometry


def test_deployments_load_schedules_parse_entrypoints_import():
    from prefect.client.schemas.schedules import CronSchedule

    spec = yaml.safe_load((REPOSITORY / "deploy" / "prefect.yaml").read_text())
    declared = spec["deployments"]
    assert {d["name"] for d in declared} >= {"weekly-active-learning", "nightly-evaluation"}
    for deployment in declared:
        assert (REPOSITORY / deployment["entrypoint"].partition(":")[0]).is_file()
        flow = load_flow(deployment["entrypoint"])
        assert flow.name
        for schedule in deployment.get("schedules", []):
            assert CronSchedule(cron=schedule["cron"], timezone=schedule.get("timezone")).cron
        assert set(deployment.get("parameters", {})) <= set(flow.parameters.properties)
    weekly = next(d for d in declared if d["name"] == "weekly-active-learning")
    assert LoopConfig.model_validate(weekly["parameters"]["config"]).pool_tag == "organic"
    from atomloop.flows.deployments import deployments

    served = {d.name: d for d in deployments()}
    assert [s.schedule.cron for s in served["nightly-evaluation"].schedules] == ["0 2 * * *"]
    assert served["weekly-active-learning"].entrypoint.endswith("active_learning.py:active_learning")


def test_docker_compose_declares_loopback_services_and_secrets_from_the_environment():
    compose_file = REPOSITORY / "deploy" / "docker-compose.yml"
    text = compose_file.read_text()
    services = yaml.safe_load(text)["services"]
    assert set(services) == {"postgres", "prefect-server", "worker"}
    published = [port for service in services.values() for port in service.get("ports", [])]
    assert published and all(port.startswith("127.0.0.1:") for port in published)
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${ATOMLOOP_DB_PASSWORD")
    assert ":${ATOMLOOP_DB_PASSWORD}@postgres:5432/" in services["worker"]["environment"]["ATOMLOOP_DATABASE_URL"]
    assert services["worker"]["environment"]["PREFECT_API_URL"] == "http://prefect-server:4200/api"
