"""Atomic energies through ASE's own PostgreSQL backend (migration 0008): ``row.data`` holds
every stored scheme in Hartree and ASE's per-atom ``energies`` in eV, and the metadata gives
ASE's browser molecule columns and key descriptions with units."""

from __future__ import annotations

import ase.db
import numpy as np
import pytest
from ase.build import molecule

from atomloop.db import session_scope
from atomloop.db.url import ase_url
from atomloop.ingest import ingest_atoms
from atomloop.store.tables import AtomicEnergy, Calculation, CalculationStatus

HARTREE_IN_EV = 27.211386245988  # the views' constant (CODATA 2018)


def test_labelled_rows_carry_every_schemes_atomic_energies_in_hartree_and_ase_energies_in_ev(
    database_url, engine, tmp_path
):
    from atomloop.export import export_ase_database
    from atomloop.labelling import label_molecules
    from atomloop.qm import QMSettings
    from atomloop.store.labels import atomic_energy_arrays, resolve_settings_hash

    water, ammonia, unlabelled = ingest_atoms(
        [molecule(n) for n in ("H2O", "NH3", "CH4")], source="test", tags=["x"], engine=engine
    ).molecule_ids
    settings = QMSettings(basis="sto-3g", schemes=("ao-eda", "mo-pm-iao"))
    label_molecules(settings, molecule_ids=[water, ammonia], engine=engine, progress=False)
    with session_scope(engine) as session:
        level = resolve_settings_hash(session, basis="sto-3g")
        stored = atomic_energy_arrays(session, level, [water, ammonia], list(settings.schemes))

    db = ase.db.connect(ase_url(database_url))
    row = db.get(id=water)
    assert set(row.data) == {"atomic_energies_ao-eda_hartree", "atomic_energies_mo-pm-iao_hartree", "energies"}
    for scheme in settings.schemes:
        atomic = row.data[f"atomic_energies_{scheme}_hartree"]
        assert isinstance(atomic, np.ndarray) and atomic.shape == (3,) and atomic.dtype == np.float64
        np.testing.assert_array_equal(atomic, stored[water][scheme])  # exactly the store's values
        assert atomic.sum() == pytest.approx(row.energy_hartree, abs=1e-8)  # a partition of the total
    assert row.energies_scheme == "mo-pm-iao"
    assert row.atomic_energy_schemes == "ao-eda,mo-pm-iao"
    np.testing.assert_allclose(row.data["energies"], stored[water]["mo-pm-iao"] * HARTREE_IN_EV, rtol=1e-15, atol=0)
    assert row.data["energies"].sum() == pytest.approx(row.energy, rel=1e-12)  # eV, like row.energy

    by_id = {r.id: r for r in db.select()}  # select() reads the same data
    np.testing.assert_array_equal(by_id[ammonia].data["atomic_energies_ao-eda_hartree"], stored[ammonia]["ao-eda"])
    assert by_id[ammonia].data["energies"].shape == (4,)
    assert by_id[unlabelled].data == {} and "energies_scheme" not in by_id[unlabelled]
    assert db.count(energies_scheme="mo-pm-iao") == 2

    assert export_ase_database(tmp_path / "share.db", url=database_url) == 3  # the SQLite file keeps them
    exported = {r.formula: r for r in ase.db.connect(tmp_path / "share.db").select()}
    for key, values in row.data.items():
        np.testing.assert_array_equal(exported["H2O"].data[key], values)
    assert exported["H2O"].energies_scheme == "mo-pm-iao"


def test_energies_fall_back_to_the_stored_scheme_and_incomplete_schemes_are_left_out(database_url, engine):
    (h2,) = ingest_atoms([molecule("H2")], source="test", engine=engine).molecule_ids
    with session_scope(engine) as session:
        calculation = Calculation(
            molecule_id=h2, method="hf", basis="sto-3g", settings_hash="y" * 64, settings={},
            status=CalculationStatus.done, total_energy=-1.1,
        )
        session.add(calculation)
        session.flush()
        session.add_all([
            AtomicEnergy(calculation_id=calculation.id, scheme="ao-eda", atom_index=i, atomic_number=1, energy=-0.55)
            for i in range(2)
        ] + [AtomicEnergy(calculation_id=calculation.id, scheme="mo-fb-iao", atom_index=0, atomic_number=1, energy=-0.5)])
    row = ase.db.connect(ase_url(database_url)).get(id=h2)
    assert set(row.data) == {"atomic_energies_ao-eda_hartree", "energies"}  # mo-fb-iao lacks atom 1
    assert row.energies_scheme == "ao-eda"
    np.testing.assert_array_equal(row.data["energies"], [-0.55 * HARTREE_IN_EV] * 2)


def test_metadata_gives_molecule_columns_and_key_descriptions_with_units(database_url, engine):
    from atomloop.cli.db import ase_web_app

    ingest_atoms([molecule("H2O")], source="test", engine=engine)
    metadata = ase.db.connect(ase_url(database_url)).metadata
    assert metadata["default_columns"] == ["id", "formula", "name", "split", "energy"]
    descriptions = metadata["key_descriptions"]
    assert descriptions["energy_hartree"][2] == "Ha" and descriptions["energy"][2] == "eV"
    for key in ("split", "train_run", "train_round", "selected_round", "energies_scheme", "atomic_energy_schemes"):
        short, long, _unit = descriptions[key]
        assert short and long
    assert "eV" in descriptions["energies_scheme"][1] and "Ha" in descriptions["atomic_energy_schemes"][1]

    client = ase_web_app(database_url).test_client()
    assert client.get("/").status_code == 200
    page = client.get("/update/1/query/0/?query=").get_data(as_text=True)
    header = page[page.index('<table id="rows"'): page.index('<tr id="rowentry"')]
    shown = [key for key in ("id", "age", "user", "formula", "name", "split", "energy", "natoms", "pbc")
             if f'title="key: {key}' in header]
    assert shown == ["id", "formula", "name", "split", "energy"]
    assert 'title="key: energy [eV]"' in header
