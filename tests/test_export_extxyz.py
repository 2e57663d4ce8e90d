"""``atomloop export`` (issue 29): extxyz training files carry the total and a default scheme's
per-atom energies in eV, every scheme's in Hartree and the level; they read back through ASE and
nequip and ingest back to the same labels; both formats stream in chunks to the same file."""

from __future__ import annotations

import ase.db
import ase.io
import numpy as np
import pytest
from ase.build import molecule
from ase.units import Hartree
from sqlalchemy import text

from atomloop.db import session_scope
from atomloop.db.url import ase_url
from atomloop.export import export_ase_database, export_extxyz
from atomloop.ingest import ExternalLevel, ingest_atoms
from atomloop.store.labels import LabelSource, atomic_energy_arrays, labelled_atoms

LEVEL = ExternalLevel(program="orca", method="b3lyp", basis="def2-SVP")
LEVEL_OPTIONS = ("--label-program", "orca", "--label-method", "b3lyp", "--label-basis", "def2-SVP")

# Per-atom energies (Hartree, 8 decimals: exactly what an extxyz column holds) of two schemes.
ATOMIC = {
    "H2O": {"ao-eda": [-75.31234567, -0.35432109, -0.35432109], "mo-pm-iao": [-74.91234567, -0.55432109, -0.55432109]},
    "CH4": {"ao-eda": [-37.81234567, -0.66543210, -0.66543210, -0.66543210, -0.66543210],
            "mo-pm-iao": [-38.01234567, -0.61543210, -0.61543210, -0.61543210, -0.61543210]},
}


def _total(name: str) -> float:
    return float(np.sum(ATOMIC[name]["ao-eda"]))


@pytest.fixture
def labelled(engine):
    """H2O and CH4 labelled at LEVEL with two schemes; NH3 stored without labels. Molecule ids by formula."""
    frames = []
    for name in ATOMIC:
        atoms = molecule(name)
        atoms.info["energy"] = _total(name) * Hartree
        for scheme, values in ATOMIC[name].items():
            atoms.arrays[f"atomic_energies_{scheme}_hartree"] = np.array(values)
        frames.append(atoms)
    report = ingest_atoms(frames, source="test", tags=["small"], labels=LEVEL, engine=engine)
    (ammonia,) = ingest_atoms([molecule("NH3")], source="test", tags=["small"], engine=engine).molecule_ids
    return {"H2O": report.molecule_ids[0], "CH4": report.molecule_ids[1], "NH3": ammonia}


def test_frames_carry_energy_default_energies_every_scheme_and_the_level(labelled, atomloop, tmp_path):
    path = tmp_path / "train.extxyz"
    status, stdout, stderr = atomloop("export", "--to", str(path))
    assert (status, stdout, stderr) == (0, f"wrote 2 molecules to {path} (extended XYZ)\n", "")
    frames = ase.io.read(path, index=":")
    assert [frame.get_chemical_formula() for frame in frames] == ["H2O", "CH4"]  # NH3 is not labelled
    for frame in frames:
        name = frame.get_chemical_formula()
        assert frame.info["molecule_id"] == labelled[name]
        assert frame.info["energy_hartree"] == pytest.approx(_total(name), abs=1e-12)  # stored from eV; written as repr
        assert frame.get_potential_energy() == pytest.approx(_total(name) * Hartree, rel=1e-15)
        assert {key: frame.info[key] for key in ("program", "method", "basis", "settings_hash", "energies_scheme")} == {
            "program": "orca", "method": "b3lyp", "basis": "def2-SVP", "settings_hash": LEVEL.settings_hash,
            "energies_scheme": "mo-pm-iao"}
        for scheme, values in ATOMIC[name].items():
            np.testing.assert_allclose(frame.arrays[f"atomic_energies_{scheme}_hartree"], values, rtol=0, atol=1e-8)
        # ASE's per-atom energies (eV): mo-pm-iao, the default when stored; 8 decimals in eV
        np.testing.assert_allclose(frame.get_potential_energies(), np.array(ATOMIC[name]["mo-pm-iao"]) * Hartree,
                                   rtol=0, atol=1e-8)
        assert (frame.info["charge"], frame.info["multiplicity"], frame.info["formula"]) == (0, 1, name)


def test_scheme_chooses_the_per_atom_energies(labelled, atomloop, tmp_path):
    path = tmp_path / "ao.extxyz"
    assert atomloop("export", "--to", str(path), "--scheme", "ao-eda")[0] == 0
    water = ase.io.read(path, index=0)
    assert water.info["energies_scheme"] == "ao-eda"
    np.testing.assert_allclose(water.get_potential_energies(), np.array(ATOMIC["H2O"]["ao-eda"]) * Hartree,
                               rtol=0, atol=1e-8)
    status, stdout, stderr = atomloop("export", "--to", str(tmp_path / "x.extxyz"), "--scheme", "mo-fb-iao")
    assert (status, stdout) == (1, "")
    assert stderr.strip().splitlines() == [
        "error: no atomic energies of scheme 'mo-fb-iao' at this level; stored: ao-eda, mo-pm-iao"]


def test_without_mo_pm_iao_the_first_scheme_by_name_is_the_default(engine, atomloop, tmp_path):
    from ase.calculators.singlepoint import SinglePointCalculator

    water = molecule("H2O")
    water.calc = SinglePointCalculator(water, energy=_total("H2O") * Hartree,
                                       energies=np.array(ATOMIC["H2O"]["mo-pm-iao"]) * Hartree)  # stored as 'external'
    water.arrays["atomic_energies_ao-eda_hartree"] = np.array(ATOMIC["H2O"]["ao-eda"])
    ingest_atoms([water], source="test", labels=LEVEL, engine=engine)
    path = tmp_path / "x.extxyz"
    assert atomloop("export", "--to", str(path))[0] == 0
    frame = ase.io.read(path)
    assert frame.info["energies_scheme"] == "ao-eda"  # before 'external'
    np.testing.assert_allclose(frame.get_potential_energies(), np.array(ATOMIC["H2O"]["ao-eda"]) * Hartree,
                               rtol=0, atol=1e-8)
    np.testing.assert_allclose(frame.arrays["atomic_energies_external_hartree"], ATOMIC["H2O"]["mo-pm-iao"],
                               rtol=0, atol=1e-8)


def test_nequip_reads_the_total_and_per_atom_energies(labelled, atomloop, tmp_path):
    import torch
    from nequip.data.dataset import ASEDataset

    path = tmp_path / "train.extxyz"
    assert atomloop("export", "--to", str(path))[0] == 0
    dataset = ASEDataset(file_path=str(path))
    assert len(dataset) == 2
    water = dataset[0]
    eps = float(torch.finfo(water["total_energy"].dtype).eps)  # nequip's default dtype
    assert float(water["total_energy"].sum()) == pytest.approx(_total("H2O") * Hartree, rel=4 * eps)
    np.testing.assert_allclose(water["atomic_energy"].reshape(-1).double().numpy(),
                               np.array(ATOMIC["H2O"]["mo-pm-iao"]) * Hartree, rtol=4 * eps)
    assert tuple(water["pos"].shape) == (3, 3)


def _stored_labels(engine) -> dict:
    """Formula -> (settings hash, total in Hartree, {scheme: per-atom energies}) of every label."""
    with session_scope(engine) as session:
        molecules = labelled_atoms(session, LabelSource(LEVEL.settings_hash))
        schemes = atomic_energy_arrays(session, LEVEL.settings_hash, list(molecules), ["ao-eda", "mo-pm-iao", "external"])
    return {atoms.get_chemical_formula(): (atoms.info["energy"], schemes.get(i, {})) for i, atoms in molecules.items()}


def test_an_exported_file_ingests_back_to_the_same_labels(labelled, engine, atomloop, tmp_path):
    before = _stored_labels(engine)
    path = tmp_path / "train.extxyz"
    assert atomloop("export", "--to", str(path))[0] == 0
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE molecules CASCADE"))
    assert _stored_labels(engine) == {}
    status, stdout, stderr = atomloop("ingest", str(path), "--labels", *LEVEL_OPTIONS, "--label-scheme", "mo-pm-iao")
    assert status == 0, stderr
    assert stdout.splitlines()[0] == f"{path}: 2 added, 0 already present; 2 labels at b3lyp/def2-SVP (orca)"
    after = _stored_labels(engine)
    assert sorted(after) == sorted(before) == ["CH4", "H2O"]
    for name, (energy, schemes) in before.items():
        assert after[name][0] == pytest.approx(energy, abs=1e-10)
        assert sorted(after[name][1]) == sorted(schemes) == ["ao-eda", "mo-pm-iao"]
        for scheme, values in schemes.items():
            np.testing.assert_allclose(after[name][1][scheme], values, rtol=0, atol=1e-8)


def test_chunks_of_one_write_the_same_files(labelled, database_url, tmp_path):
    assert export_extxyz(tmp_path / "one.extxyz", url=database_url, chunk_size=1) == 2
    assert export_extxyz(tmp_path / "all.extxyz", url=database_url) == 2
    assert (tmp_path / "one.extxyz").read_text() == (tmp_path / "all.extxyz").read_text()
    assert export_ase_database(tmp_path / "one.db", url=database_url, chunk_size=1) == 3
    view = {row.id: row for row in ase.db.connect(ase_url(database_url)).select()}
    exported = list(ase.db.connect(tmp_path / "one.db").select())
    assert [row.unique_id for row in exported] == [view[i].unique_id for i in sorted(view)]  # structure hashes
    for row, molecule_id in zip(exported, sorted(view), strict=True):
        stored = view[molecule_id]
        assert row.key_value_pairs == stored.key_value_pairs
        assert row.get("energy") == stored.get("energy")
        np.testing.assert_array_equal(row.positions, stored.positions)
        assert sorted(row.data) == sorted(stored.data)
        for key, values in stored.data.items():
            np.testing.assert_array_equal(row.data[key], values)


def test_the_progress_bar_counts_molecules(labelled, database_url, tmp_path, capsys):
    assert export_ase_database(tmp_path / "x.db", url=database_url, progress=True) == 3
    bar = capsys.readouterr().err.splitlines()[-1]
    assert bar.startswith("export x.db: 100%") and " 3/3 " in bar
    assert export_extxyz(tmp_path / "x.extxyz", url=database_url, progress=True) == 2
    bar = capsys.readouterr().err.splitlines()[-1]
    assert bar.startswith("export x.extxyz: 100%") and " 2/2 " in bar


def test_tagged_molecules_none_labelled_is_one_line(labelled, engine, atomloop, tmp_path):
    ingest_atoms([molecule("CO")], source="test", tags=["bare"], engine=engine)
    target = tmp_path / "x.extxyz"
    status, stdout, stderr = atomloop("export", "--to", str(target), "--tag", "bare")
    assert (status, stdout) == (1, "")
    assert stderr.strip().splitlines() == ["error: none of the tagged molecules is labelled at this level"]
    assert not target.exists() and not target.with_name("x.extxyz.partial").exists()


def test_a_name_ase_refuses_is_one_line_naming_the_molecule(engine, atomloop, tmp_path):
    water = molecule("H2O")
    water.info["name"] = "42"  # ASE's database refuses text that reads as a number
    (water_id,) = ingest_atoms([water], source="test", engine=engine).molecule_ids
    target = tmp_path / "x.db"
    status, stdout, stderr = atomloop("export", "--to", str(target))
    assert (status, stdout) == (1, "")
    (line,) = stderr.strip().splitlines()
    assert line.startswith(f"error: molecule {water_id}: ASE's database refuses it: Value 42 is put in as string")
    assert not target.exists() and not target.with_name("x.db.partial").exists()
