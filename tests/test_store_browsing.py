"""The store seen through ASE's own PostgreSQL backend, and the ASE SQLite export."""

from __future__ import annotations

import ase.collections
import ase.db
import numpy as np
from ase.build import molecule
from sqlalchemy import text

from atomloop.db import session_scope
from atomloop.db.url import ase_url
from atomloop.export import export_ase_database
from atomloop.ingest import ingest_atoms, ingest_source
from atomloop.store.tables import Calculation, CalculationStatus

HARTREE_IN_EV = 27.211386245988


def test_ase_backend_reads_positions_numbers_and_keys(database_url, engine):
    report = ingest_source("ase:g2", tags=["g2", "demo"], engine=engine)
    db = ase.db.connect(ase_url(database_url))
    assert db.count() == 162
    with_two_carbons = sum(1 for atoms in ase.collections.g2 if (atoms.numbers == 6).sum() >= 2)
    assert db.count("C>=2") == with_two_carbons > 0
    water_id = report.molecule_ids[ase.collections.g2.names.index("H2O")]
    row = db.get(id=water_id)
    np.testing.assert_array_equal(row.numbers, molecule("H2O").numbers)
    np.testing.assert_allclose(row.positions, molecule("H2O").positions, atol=0)
    assert row.formula == "H2O"
    assert row.key_value_pairs["tag_list"] == "demo,g2"
    assert row.name == "H2O"
    assert db.count(name="H2O") == 1


def test_labelled_energy_in_ev_and_export(database_url, engine, tmp_path):
    (water_id,) = ingest_atoms([molecule("H2O")], source="test", tags=["t"], engine=engine).molecule_ids
    ingest_atoms([molecule("NH3")], source="test", engine=engine)
    with session_scope(engine) as session:
        session.add(
            Calculation(
                molecule_id=water_id, method="hf", basis="sto-3g", settings_hash="x" * 64, settings={},
                status=CalculationStatus.done, total_energy=-74.9628687969,
            )
        )
        session.execute(text("UPDATE calculations SET finished = now()"))
    db = ase.db.connect(ase_url(database_url))
    row = db.get(id=water_id)
    assert row.energy == np.float64(-74.9628687969 * HARTREE_IN_EV)
    assert row.key_value_pairs["energy_hartree"] == -74.9628687969
    assert row.method == "hf"
    path = tmp_path / "share.db"
    assert export_ase_database(path, tag="t", url=database_url) == 1
    exported = ase.db.connect(path).get(1)
    assert exported.energy == row.energy
    np.testing.assert_allclose(exported.positions, molecule("H2O").positions, atol=0)


def test_ase_web_browser_lists_the_live_store(database_url, engine):
    from atomloop.cli.db import ase_web_app

    ingest_source("ase:g2", engine=engine)
    client = ase_web_app(database_url).test_client()
    assert client.get("/").status_code == 200
    page = client.get("/update/1/query/0/?query=C%3D2").get_data(as_text=True)
    with_two_carbons = sum(1 for atoms in ase.collections.g2 if (atoms.numbers == 6).sum() == 2)
    assert f"out of {with_two_carbons}" in page
    assert "C2H6" in page
