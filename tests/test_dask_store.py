"""Labels go to the store they were asked for: Dask labelling of a subset of a store's molecules,
and Dask workers started for another store, against a real scheduler and real worker processes."""

from __future__ import annotations

import pytest
from ase.build import molecule
from sqlalchemy import func, select

from atomloop.db import migrate, session_scope
from atomloop.db.engine import get_engine
from atomloop.ingest import ingest_atoms
from atomloop.labelling import label_molecules
from atomloop.labelling.cluster import dask_processes
from atomloop.loop import steps
from atomloop.loop.config import LoopConfig
from atomloop.loop.state import prepare_run
from atomloop.qm import QMSettings
from atomloop.store.store_identity import WrongStoreError, store_identity
from atomloop.store.tables import Calculation, CalculationStatus

SETTINGS = QMSettings(method="hf", basis="sto-3g", schemes=("ao-eda",))
TINY = ("H2", "LiH", "HF", "H2O", "NH3", "CH4")
MID = ("CH3OH", "HCOOH", "H2CO", "CH3CN", "C2H4", "HCN", "CO2", "N2H4")


def _calculations(engine) -> dict[int, CalculationStatus]:
    with session_scope(engine) as session:
        return dict(session.execute(select(Calculation.molecule_id, Calculation.status)).all())


def test_dask_labels_exactly_the_molecules_asked_for_in_a_store_that_holds_others(engine, tmp_path):
    tiny = ingest_atoms([molecule(n) for n in TINY], source="test", tags=["tiny"], engine=engine).molecule_ids
    mid = ingest_atoms([molecule(n) for n in MID], source="test", tags=["mid"], engine=engine).molecule_ids
    first = label_molecules(SETTINGS, engine=engine, tag="mid", limit=2, progress=False)  # in this process
    assert first.counts() == {"done": 2, "failed": 0, "refused": 0, "remaining": 0}
    label_molecules(SETTINGS, engine=engine, molecule_ids=tiny[:3], progress=False)
    # calculation ids and molecule ids now differ: the next mid molecules' calculations get new ids
    with dask_processes(2, tmp_path) as address:
        report = label_molecules(SETTINGS, engine=engine, tag="mid", limit=4, dask_address=address, progress=False)
    assert report.counts() == {"done": 4, "failed": 0, "refused": 0, "remaining": 0}
    statuses = _calculations(engine)
    assert sorted(statuses) == sorted(mid[:6] + tiny[:3])  # the 4 next mid molecules, nothing else
    assert set(statuses.values()) == {CalculationStatus.done}
    with session_scope(engine) as session:
        ids_of_the_dask_run = session.scalars(select(Calculation.molecule_id).where(
            Calculation.id.in_(report.calculation_ids))).all()
    assert sorted(ids_of_the_dask_run) == mid[2:6]


@pytest.fixture
def other_store(empty_database_url):
    """A second migrated store in the same PostgreSQL cluster."""
    migrate.upgrade(empty_database_url)
    return empty_database_url


def test_stores_have_distinct_identities_also_when_cloned_from_one_template(engine, other_store):
    mine, other = store_identity(engine), store_identity(get_engine(other_store))
    assert mine != other
    assert mine == store_identity(engine)  # stable
    assert mine.count("/") == 1 and len(mine.partition("/")[0]) == 36  # uuid/oid


def test_dask_workers_started_for_another_store_refuse_the_loops_labels(engine, other_store, database_url,
                                                                        tmp_path, monkeypatch, prefect_api):
    from prefect import flow
    from prefect_dask import DaskTaskRunner

    from atomloop.config import get_settings
    from atomloop.loop.tasks import fan_out_labeller

    ids = ingest_atoms([molecule(n) for n in ("H2O", "NH3", "CH4")], source="test", engine=engine).molecule_ids
    ingest_atoms([molecule(n) for n in ("HF", "LiH", "H2", "CO")], source="test", engine=get_engine(other_store))
    monkeypatch.setenv("ATOMLOOP_DATABASE_URL", other_store)  # the workers' environment: the other store
    with dask_processes(2, tmp_path) as address:
        monkeypatch.setenv("ATOMLOOP_DATABASE_URL", database_url)
        get_settings(reload=True)

        @flow(task_runner=DaskTaskRunner(address=address))
        def label_elsewhere() -> dict[str, int]:
            return fan_out_labeller(SETTINGS, ids, chunk_size=1)

        with pytest.raises(WrongStoreError, match="is not the store the task was made for"):
            label_elsewhere()
    assert _calculations(get_engine(other_store)) == {}  # nothing written to the workers' store
    assert CalculationStatus.done not in _calculations(engine).values()


def test_a_round_whose_labeller_reports_done_without_stored_labels_is_not_marked_labelled(engine):
    pool = ["CH4", "NH3", "H2O", "HF", "CO", "HCN", "H2CO", "CH3OH", "C2H4", "C2H2", "CH3CH2OH", "CH3CN"]
    ingest_atoms([molecule(n) for n in pool], source="test", tags=["lied"], engine=engine)
    config = LoopConfig(pool="lied", initial=3, test_size=2, ood_size=2, k=2, rounds=1, method="hf", basis="sto-3g",
                        schemes=("ao-eda",), architectures=("schnet",), target="total", epochs=2, name="lied")
    run_id = prepare_run(engine, config)
    initial = steps.select_step(engine, config, run_id, 0).molecule_ids

    def labelled_somewhere_else(settings, molecule_ids):  # what a worker of another store reported before
        return {"done": len(molecule_ids), "failed": 0, "refused": 0, "remaining": 0}

    with pytest.raises(steps.LabellingUnfinishedError, match=r"round 0: (\d+) of \1 molecules have no finished label "
                                                             r"in this store \(no finished calculation is stored"):
        steps.label_step(engine, config, run_id, 0, initial, labelled_somewhere_else)
    assert not steps.round_state(engine, run_id, 0).done("labelled")
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Calculation)) == 0
