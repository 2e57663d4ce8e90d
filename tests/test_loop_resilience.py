"""The loop under stress: kill -9 mid-round and resume; Dask fan-out; deployments that load."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ase.build import molecule
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from atomloop.ingest import ingest_atoms
from atomloop.loop.config import LoopConfig
from atomloop.loop.entrypoints import load_flow
from atomloop.qm import QMSettings
from atomloop.store.runs import selected_ids, split_ids
from atomloop.store.tables import ROUND_STEPS, Calculation, CalculationStatus, Model, Round, RoundStatus, Run

REPOSITORY = Path(__file__).resolve().parents[1]
FAULT_DRIVER = Path(__file__).parent / "helpers" / "loop_fault_driver.py"
POOL = ["CH4", "NH3", "H2O", "HF", "CO", "HCN", "H2CO", "CH3OH", "C2H4", "C2H2", "CH3CH2OH", "CH3CN"]


def _loop_process(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from atomloop.cli import main; main()", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )


KILL_POINTS = [f"{where}-{step}" for step in ROUND_STEPS for where in ("inside", "after")]
FAULT_LOOP_ARGS = [
    "loop", "--pool", "faults", "--initial", "3", "--test-size", "2", "--ood-size", "2", "--k", "2",
    "--rounds", "1", "--strategy", "committee", "--arch", "schnet", "--arch", "nequip", "--target", "total",
    "--epochs", "2", "--no-stop-on-auc", "--name", "faults", "--workers", "2",
]


def _finished_work(engine) -> tuple[dict, set, set, set]:
    """What must never be computed twice: finished calculations (with their finish times),
    models, selections and adversarial validations."""
    with engine.connect() as connection:
        calculations = dict(connection.execute(text("SELECT id, finished FROM calculations WHERE status = 'done'")).all())
        models = set(connection.execute(text("SELECT id FROM models")).scalars())
        selections = set(connection.execute(text("SELECT round_id, molecule_id FROM selections")).all())
        validations = set(connection.execute(text("SELECT id FROM adversarial_validations")).scalars())
    return calculations, models, selections, validations


def test_killed_at_every_step_boundary_and_inside_every_step_the_rerun_computes_nothing_twice(engine, prefect_api):
    """SIGKILL of the loop's process group inside and after each step of round 1 in turn; each
    rerun resumes, keeps everything finished before the kill and duplicates nothing."""
    ingest_atoms([molecule(n) for n in POOL], source="test", tags=["faults"], engine=engine)
    before = _finished_work(engine)
    for point in KILL_POINTS:
        victim = subprocess.Popen(
            [sys.executable, str(FAULT_DRIVER), point, *FAULT_LOOP_ARGS],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        output, _ = victim.communicate(timeout=600)
        assert victim.returncode == -signal.SIGKILL, f"{point}: the loop was not killed\n{output}"
        after = _finished_work(engine)
        for kept, now in zip(before, after, strict=True):
            assert (kept.items() <= now.items()) if isinstance(kept, dict) else kept <= now, point
        before = after
    resumed = _loop_process(*FAULT_LOOP_ARGS)
    output, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, output
    calculations, models, selections, validations = _finished_work(engine)
    assert before[0].items() <= calculations.items() and before[1] <= models
    with Session(engine) as session:
        run = session.scalars(select(Run)).one()
        assert run.status == "done"
        rounds = session.scalars(select(Round).where(Round.run_id == run.id).order_by(Round.index)).all()
        assert [(r.index, r.status, r.step) for r in rounds] == [(i, RoundStatus.done, "evaluated") for i in (0, 1)]
        # the initial set (grown to cover every element), test, OOD and 2 selected: one finished calculation each
        expected = set(selected_ids(session, run.id, up_to_round=1)) | set(split_ids(session, "faults", "test")) | set(
            split_ids(session, "faults", "ood_test")
        )
        rows = session.scalars(select(Calculation)).all()
        assert sorted(c.molecule_id for c in rows) == sorted(expected)
        assert all(c.status == CalculationStatus.done for c in rows)
        assert sorted((m.round_id, m.architecture) for m in session.scalars(select(Model))) == sorted(
            (r.id, arch) for r in rounds for arch in ("nequip", "schnet")
        )
    assert len(validations) == 1 and len([s for s in selections if s[0] == rounds[1].id]) == 2


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


def test_a_round_whose_molecules_another_live_process_holds_is_not_marked_labelled(engine):
    """A second run while another live process holds some of the round's claims stops with a
    clear message instead of marking the round labelled and training on fewer labels."""
    from functools import partial

    from sqlalchemy import func, update

    from atomloop.db import session_scope
    from atomloop.labelling.runner import label_in_process
    from atomloop.loop import steps
    from atomloop.loop.state import prepare_run
    from atomloop.store.queue import queue_calculations

    ingest_atoms([molecule(n) for n in POOL], source="test", tags=["held"], engine=engine)
    config = LoopConfig(pool="held", initial=3, test_size=2, ood_size=2, k=2, rounds=1, method="hf", basis="sto-3g",
                        schemes=("ao-eda",), architectures=("schnet",), target="total", epochs=2, name="held")
    run_id = prepare_run(engine, config)
    initial = steps.select_step(engine, config, run_id, 0).molecule_ids
    with session_scope(engine) as session:
        (held,) = queue_calculations(session, steps.qm_settings(config), initial[:1])
        session.execute(update(Calculation).where(Calculation.id == held).values(
            status=CalculationStatus.running, worker="elsewhere:1", heartbeat=func.now(), attempts=1))
    with pytest.raises(steps.LabellingUnfinishedError, match=r"round 0: 1 of \d+ molecules have no finished label in this store \(their calculations are "
                       r"claimed by a live worker\)"):
        steps.label_step(engine, config, run_id, 0, initial, partial(label_in_process, engine=engine))
    assert not steps.round_state(engine, run_id, 0).done("labelled")
