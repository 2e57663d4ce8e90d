"""Labels from elsewhere: energies in an extxyz file or QM9's U0 stored as finished calculations
at a stated level (Hartree), read by training like PySCF's, never recomputed."""

from __future__ import annotations

import subprocess
import sys

import ase.io
import numpy as np
import pytest
from ase.build import molecule
from ase.calculators.singlepoint import SinglePointCalculator
from ase.units import Hartree
from sqlalchemy import func, select

from atomloop.db import session_scope
from atomloop.errors import InputError
from atomloop.ingest import ExternalLevel, ingest_atoms, ingest_source
from atomloop.ingest.qm9 import QM9_LEVEL, read_qm9
from atomloop.store.labels import LabelSource, labelled_atoms, resolve_settings_hash
from atomloop.store.tables import Calculation, CalculationStatus, Model, Molecule

LEVEL = ExternalLevel(program="orca", method="B3LYP", basis="def2-SVP")


def _labelled_water_and_methane(path):
    frames = []
    for name, energy_ev in (("H2O", -2080.1234567), ("CH4", -1100.7654321)):
        atoms = molecule(name)
        per_atom = np.linspace(-1.0, 1.0, len(atoms)) + energy_ev / len(atoms)
        atoms.calc = SinglePointCalculator(atoms, energy=energy_ev, energies=per_atom)
        frames.append(atoms)
    ase.io.write(path, frames, format="extxyz")
    return frames


def _counts(engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        return (session.scalar(select(func.count()).select_from(Molecule)),
                session.scalar(select(func.count()).select_from(Calculation)))


def test_extxyz_energies_become_done_calculations_in_hartree_at_the_stated_level(engine, tmp_path):
    path = tmp_path / "labelled.extxyz"
    frames = _labelled_water_and_methane(path)
    report = ingest_source(str(path), labels=LEVEL, engine=engine)
    assert (report.added, report.labels_added) == (2, 2)
    with session_scope(engine) as session:
        assert resolve_settings_hash(session, method="b3lyp", basis="def2svp") == LEVEL.settings_hash
        rows = session.scalars(select(Calculation).order_by(Calculation.molecule_id)).all()
        assert {(r.status, r.program, r.method, r.basis) for r in rows} == {(CalculationStatus.done, "orca", "b3lyp", "def2-SVP")}
        labelled = labelled_atoms(session, LabelSource(LEVEL.settings_hash, "external"))
    for molecule_id, frame in zip(report.molecule_ids, frames, strict=True):
        atoms = labelled[molecule_id]
        assert atoms.info["energy"] == pytest.approx(frame.get_potential_energy() / Hartree, abs=1e-12)
        np.testing.assert_allclose(atoms.arrays["atomic_energies"], frame.get_potential_energies() / Hartree, atol=1e-12)
    # again: nothing new, the first labels are kept
    again = ingest_source(str(path), labels=LEVEL, engine=engine)
    assert (again.added, again.labels_added) == (0, 0) and _counts(engine) == (2, 2)


def test_a_structure_without_energy_names_its_place_and_nothing_is_stored(engine, tmp_path):
    path = tmp_path / "partly.extxyz"
    frames = _labelled_water_and_methane(path)
    unlabelled = molecule("NH3")
    ase.io.write(path, [*frames, unlabelled], format="extxyz")
    with pytest.raises(InputError, match=r"partly\.extxyz.*no energy"):
        ingest_source(str(path), labels=LEVEL, engine=engine)
    assert _counts(engine) == (0, 0)


def test_per_atom_energies_of_a_molecule_stored_in_another_atom_order_follow_the_stored_order(engine):
    rng = np.random.default_rng(7)
    ethanol = molecule("CH3CH2OH")
    ethanol.positions += rng.normal(scale=0.05, size=ethanol.positions.shape)  # no two atoms alike
    (ethanol_id,) = ingest_atoms([ethanol], source="first", engine=engine).molecule_ids
    order = rng.permutation(len(ethanol))
    moved = ethanol[order]  # atom i of the file is stored atom order[i]
    moved.rotate(40, (1, 2, 3))
    moved.translate((1.0, -2.0, 3.0))
    per_atom = -100.0 - np.arange(len(moved)) * 1.25  # eV, one value per file atom
    moved.calc = SinglePointCalculator(moved, energy=per_atom.sum(), energies=per_atom)
    report = ingest_atoms([moved], source="second", labels=LEVEL, engine=engine)
    assert (report.molecule_ids, report.added, report.labels_added) == ([ethanol_id], 0, 1)
    with session_scope(engine) as session:
        stored = labelled_atoms(session, LabelSource(LEVEL.settings_hash, "external"))[ethanol_id]
    expected = np.empty(len(moved))
    expected[order] = per_atom / Hartree
    np.testing.assert_allclose(stored.arrays["atomic_energies"], expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(stored.numbers, ethanol.numbers)


def test_an_atom_mapping_keeps_every_distance_or_there_is_none():
    from atomloop.store.external import atom_mapping

    water = molecule("H2O")
    mapping = atom_mapping(water.numbers[[1, 0, 2]], water.positions[[1, 0, 2]], water.numbers, water.positions)
    assert sorted(mapping.tolist()) == [0, 1, 2] and mapping[1] == 0  # the oxygen; the hydrogens either way
    stretched = water.positions.copy()
    stretched[1] *= 1.01  # one O-H bond 0.01 Å longer
    assert atom_mapping(water.numbers, stretched, water.numbers, water.positions) is None
    assert atom_mapping(water.numbers, water.positions, np.array([8, 1, 9]), water.positions) is None


def test_the_shipped_labelled_set_ingests_into_a_store_holding_qm9(engine):
    """QM9 stored first (from qm9pack's CSV); the shipped set's frames are the same molecules
    rounded to 8 decimals: their per-atom energies are aligned to the stored atoms."""
    from atomloop.datasets.qm9_labelled import LEVEL as SHIPPED
    from atomloop.ingest.sources import read_source
    from atomloop.store.external import PySCFLevel

    qm9 = ingest_source("qm9", limit=30, labels=QM9_LEVEL, engine=engine)
    frames = [frame for frame, _ in read_source("atomloop:qm9-labelled", limit=12)]
    report = ingest_source("atomloop:qm9-labelled", labels=PySCFLevel(SHIPPED), engine=engine, limit=12)
    assert report.present == report.labels_added == len(frames) and report.added == 0
    assert set(report.molecule_ids) <= set(qm9.molecule_ids)
    with session_scope(engine) as session:
        for scheme in SHIPPED.schemes:
            labelled = labelled_atoms(session, LabelSource(SHIPPED.settings_hash, scheme), report.molecule_ids)
            for molecule_id, frame in zip(report.molecule_ids, frames, strict=True):
                np.testing.assert_allclose(labelled[molecule_id].arrays["atomic_energies"],
                                           frame.arrays[f"atomic_energies_{scheme}_hartree"], rtol=0, atol=1e-8)
                assert labelled[molecule_id].info["energy"] == pytest.approx(frame.info["energy_hartree"], abs=1e-10)
        u0 = labelled_atoms(session, LabelSource(QM9_LEVEL.settings_hash), report.molecule_ids)
    assert sorted(u0) == sorted(report.molecule_ids)  # QM9's own labels stay beside them


def test_qm9_small_molecules_with_u0_as_labels(engine):
    smallest = list(read_qm9(max_heavy_atoms=2))
    assert [atoms.info["name"] for atoms, _ in smallest[:3]] == ["qm9:1", "qm9:2", "qm9:3"]
    assert all(sum(atoms.numbers > 1) <= 2 for atoms, _ in smallest)
    report = ingest_atoms((atoms for atoms, _ in smallest), source="qm9", labels=QM9_LEVEL, engine=engine)
    assert report.added == report.labels_added == len(smallest)
    with session_scope(engine) as session:
        methane = labelled_atoms(session, LabelSource(QM9_LEVEL.settings_hash), [report.molecule_ids[0]])
    assert methane[report.molecule_ids[0]].info["energy"] == pytest.approx(-40.47893, abs=1e-9)  # QM9's U0 of CH4
    assert len(list(read_qm9(limit=5))) == 5


def _atomloop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "atomloop", *args], capture_output=True, text=True, timeout=300)


def test_command_line_ingests_qm9_offline_with_labels_then_trains_on_them(engine):
    shown = _atomloop("ingest", "qm9", "--max-heavy-atoms", "3", "--labels", "--tag", "qm9")
    assert shown.returncode == 0, shown.stderr
    first, total = shown.stdout.strip().splitlines()
    assert first.startswith("qm9: ") and first.endswith(" labels at b3lyp/6-31G(2df,p) (gaussian09)")
    count = int(total.split()[1])
    assert count == len(list(read_qm9(max_heavy_atoms=3)))
    trained = _atomloop("train", "--arch", "schnet", "--target", "total", "--method", "b3lyp",
                        "--basis", "6-31G(2df,p)", "--epochs", "2", "--device", "cpu")
    assert trained.returncode == 0, trained.stderr
    assert "schnet/total" in trained.stdout
    with session_scope(engine) as session:
        model = session.scalars(select(Model)).one()
    assert model.settings_hash == QM9_LEVEL.settings_hash and len(model.training_molecule_ids) <= count


def test_command_line_labels_need_their_level(database_url, tmp_path):
    path = tmp_path / "labelled.extxyz"
    _labelled_water_and_methane(path)
    missing = _atomloop("ingest", str(path), "--labels", "--label-method", "b3lyp")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().splitlines() == [
        "error: --labels needs the level of the file's energies: --label-program, --label-method and --label-basis"]
    stated = _atomloop("ingest", str(path), "--labels", "--label-program", "orca", "--label-method", "B3LYP",
                       "--label-basis", "def2-SVP")
    assert stated.returncode == 0, stated.stderr
    assert stated.stdout.splitlines()[0].endswith("2 added, 0 already present; 2 labels at b3lyp/def2-SVP (orca)")


def test_the_shipped_labelled_set_is_stored_at_pyscf_level_and_never_recomputed(engine):
    from atomloop.datasets.qm9_labelled import LEVEL, chunk_path
    from atomloop.labelling import label_molecules
    from atomloop.store.external import PySCFLevel

    frames = ase.io.read(chunk_path(0), index=":")
    report = ingest_source("atomloop:qm9-labelled", labels=PySCFLevel(LEVEL), tags=["qm9-labelled"], engine=engine)
    assert report.labels_added == report.added >= len(frames)
    with session_scope(engine) as session:
        for scheme in LEVEL.schemes:
            labelled = labelled_atoms(session, LabelSource(LEVEL.settings_hash, scheme), report.molecule_ids[:len(frames)])
            for molecule_id, frame in zip(report.molecule_ids, frames, strict=False):
                np.testing.assert_allclose(labelled[molecule_id].arrays["atomic_energies"],
                                           frame.arrays[f"atomic_energies_{scheme}_hartree"], atol=1e-8)
                assert labelled[molecule_id].info["energy"] == pytest.approx(frame.info["energy_hartree"], abs=1e-10)
    relabel = label_molecules(LEVEL, engine=engine, tag="qm9-labelled", progress=False)
    assert (relabel.requested, relabel.derived) == (0, 0)  # the same level: nothing is computed again


def test_an_exported_training_file_reingests_with_every_scheme(engine, tmp_path):
    path = tmp_path / "labelled.extxyz"
    frames = _labelled_water_and_methane(path)
    for frame in frames:  # another partition of the same total (Hartree)
        per_atom = frame.get_potential_energy() / Hartree / len(frame)
        frame.arrays["atomic_energies_mo-pm-iao_hartree"] = np.full(len(frame), per_atom)
    ase.io.write(path, frames, format="extxyz")
    report = ingest_source(str(path), labels=LEVEL, engine=engine)
    with session_scope(engine) as session:
        schemes = {scheme: labelled_atoms(session, LabelSource(LEVEL.settings_hash, scheme))
                   for scheme in ("external", "mo-pm-iao")}
    for molecule_id, frame in zip(report.molecule_ids, frames, strict=True):
        np.testing.assert_allclose(schemes["mo-pm-iao"][molecule_id].arrays["atomic_energies"],
                                   frame.arrays["atomic_energies_mo-pm-iao_hartree"], rtol=0, atol=1e-8)  # 8 decimals
        assert molecule_id in schemes["external"]


def test_atomization_of_shipped_labels_comes_from_the_free_atoms_alone(engine):
    """Asking the shipped labels for atomization energies (as the study does) runs no SCF of a
    molecule: each atom's value is its stored energy minus its free atom's at the same level."""
    from dataclasses import replace

    from atomloop.datasets.qm9_labelled import LEVEL
    from atomloop.labelling import label_molecules
    from atomloop.qm.atoms import free_atom_energy
    from atomloop.store.external import PySCFLevel
    from atomloop.store.molecules import load_atoms
    from atomloop.store.tables import AtomicEnergy, ScfSolution

    report = ingest_source("atomloop:qm9-labelled", labels=PySCFLevel(LEVEL), tags=["qm9-labelled"], engine=engine, limit=4)
    wanted = replace(LEVEL, schemes=("mo-pm-iao",), atomization=True)
    relabel = label_molecules(wanted, engine=engine, molecule_ids=report.molecule_ids, progress=False)
    assert (relabel.requested, relabel.derived) == (0, 4)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(ScfSolution)) == 0  # no SCF ran
        rows = session.scalars(select(AtomicEnergy).where(AtomicEnergy.scheme == "mo-pm-iao")).all()
        assert len(rows) == sum(len(a) for a in load_atoms(session, report.molecule_ids))
        for row in rows:
            assert row.atomization == pytest.approx(row.energy - free_atom_energy(row.atomic_number, LEVEL), abs=1e-10)
        assert all(r.atomization is None for r in session.scalars(select(AtomicEnergy).where(AtomicEnergy.scheme == "ao-eda")))
    assert label_molecules(wanted, engine=engine, molecule_ids=report.molecule_ids, progress=False).derived == 0



def test_the_study_dataset_qm9_labelled_is_the_shipped_set_at_its_own_level(engine):
    import json

    from atomloop.datasets.qm9_labelled import DATA_DIR, LEVEL
    from atomloop.study.dataset import dataset_molecule_ids
    from atomloop.study.matrix import StudyConfig

    manifest = json.loads((DATA_DIR / "manifest.json").read_text())
    shipped = sum(len(c["qm9_indices"]) - len(c["failed"]) for c in manifest["chunks"].values())
    ids = dataset_molecule_ids(engine, "qm9-labelled")
    assert len(ids) == shipped and dataset_molecule_ids(engine, "qm9-labelled") == ids  # ingested once
    config = StudyConfig(dataset="qm9-labelled", targets=("total", "atomic:mo-pm-iao"))
    assert config.basis == "6-31g*" and config.qm_settings.settings_hash == LEVEL.settings_hash
    with session_scope(engine) as session:
        labelled = labelled_atoms(session, LabelSource(LEVEL.settings_hash, "mo-pm-iao"), ids)
    assert len(labelled) == shipped
    assert StudyConfig().basis == "6-31g*" and StudyConfig(dataset="organic").basis == "sto-3g"
