"""Labels from elsewhere: energies in an extxyz file or QM9's U0 stored as finished calculations
at a stated level (Hartree), read by training like PySCF's, never recomputed."""

from __future__ import annotations

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
from atomloop.store.tables import Calculation, CalculationStatus, Molecule

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


def test_per_atom_energies_of_a_molecule_stored_in_another_atom_order_are_refused(engine):
    water = molecule("H2O")
    ingest_atoms([water], source="first", engine=engine)
    reordered = water[[1, 0, 2]]
    reordered.calc = SinglePointCalculator(reordered, energy=-2080.0, energies=[-700.0, -680.0, -700.0])
    with pytest.raises(InputError, match="another order"):
        ingest_atoms([reordered], source="second", labels=LEVEL, engine=engine)
    assert _counts(engine) == (1, 0)


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
