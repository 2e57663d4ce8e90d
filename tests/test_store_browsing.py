"""The store seen through ASE's own PostgreSQL backend, and the ASE SQLite export."""

from __future__ import annotations

import ase.collections
import ase.db
import numpy as np
import pytest
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


def test_export_by_tag_takes_exactly_the_tagged_molecules_and_leaves_nothing_half_written(database_url, engine,
                                                                                           tmp_path):
    from atomloop.errors import InputError

    ingest_atoms([molecule(n) for n in ("H2O", "NH3", "CH4")], source="test", tags=["ab", "b"], engine=engine)
    ingest_atoms([molecule("CO")], source="test", tags=["a"], engine=engine)
    assert export_ase_database(tmp_path / "ab.db", tag="ab", url=database_url) == 3
    assert export_ase_database(tmp_path / "a.db", tag="a", url=database_url) == 1  # not the 'ab' ones
    with pytest.raises(InputError, match="no molecules are tagged 'nothing'"):
        export_ase_database(tmp_path / "none.db", tag="nothing", url=database_url)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.db", "ab.db"]  # nothing for the unknown tag, no .partial


def test_ase_web_browser_lists_the_live_store(database_url, engine):
    from atomloop.cli.db import ase_web_app

    ingest_source("ase:g2", engine=engine)
    client = ase_web_app(database_url).test_client()
    assert client.get("/").status_code == 200
    page = client.get("/update/1/query/0/?query=C%3D2").get_data(as_text=True)
    with_two_carbons = sum(1 for atoms in ase.collections.g2 if (atoms.numbers == 6).sum() == 2)
    assert f"out of {with_two_carbons}" in page
    assert "C2H6" in page


def test_extxyz_export_carries_every_schemes_atomic_energies_for_ase_and_nequip(database_url, engine, tmp_path):
    import torch
    from ase import units
    from ase.io import read
    from nequip.data.dataset import ASEDataset
    from typer.testing import CliRunner

    from atomloop.cli import app
    from atomloop.errors import InputError
    from atomloop.labelling import label_molecules
    from atomloop.qm import QMSettings

    ingest_atoms([molecule(n) for n in ("H2O", "NH3")], source="test", tags=["x"], engine=engine)
    settings = QMSettings(basis="sto-3g", schemes=("ao-eda", "mo-pm-iao"))
    label_molecules(settings, engine=engine, progress=False)
    path = tmp_path / "train.extxyz"
    runner = CliRunner()
    result = runner.invoke(app, ["export", "--to", str(path), "--basis", "STO3G"])  # energies: mo-pm-iao, the default
    assert result.exit_code == 0 and "wrote 2 molecules" in result.output and "(extended XYZ)" in result.output
    frames = read(path, index=":")
    assert [a.get_chemical_formula() for a in frames] == ["H2O", "H3N"]
    water = frames[0]
    assert {key: water.info[key] for key in ("program", "method", "basis", "settings_hash", "energies_scheme")} == {
        "program": "pyscf", "method": settings.method, "basis": "sto-3g", "settings_hash": settings.settings_hash,
        "energies_scheme": "mo-pm-iao"}
    assert water.info["energy_hartree"] == pytest.approx(-74.96, abs=0.01)
    assert water.get_potential_energy() == pytest.approx(water.info["energy_hartree"] * units.Hartree, rel=1e-12)
    # ASE writes per-atom columns with 8 decimals (%16.8f): atomic energies come back to 5e-9 (Ha, eV)
    for scheme in settings.schemes:
        atomic = water.arrays[f"atomic_energies_{scheme}_hartree"]
        assert atomic.sum() == pytest.approx(water.info["energy_hartree"], abs=len(water) * 5e-9)
    np.testing.assert_allclose(
        water.get_potential_energies(), water.arrays["atomic_energies_mo-pm-iao_hartree"] * units.Hartree, atol=2e-7
    )
    dataset = ASEDataset(file_path=str(path))  # nequip's own reader
    first = dataset[0]
    energy = first["total_energy"]
    # nequip holds energies in its default dtype (float32 here): agreement to its precision
    assert float(energy.sum()) == pytest.approx(water.get_potential_energy(), rel=4 * float(torch.finfo(energy.dtype).eps))
    np.testing.assert_allclose(first["atomic_energy"].reshape(-1).double().numpy(), water.get_potential_energies(),
                               rtol=4 * float(torch.finfo(energy.dtype).eps))
    assert first["pos"].shape == (3, 3)
    wrong = runner.invoke(app, ["export", "--to", str(tmp_path / "x.csv")])
    assert isinstance(wrong.exception, InputError) and "unknown extension '.csv'" in str(wrong.exception)
