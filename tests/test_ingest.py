"""Ingest into a real PostgreSQL store: counts, idempotency, duplicates, bad input, tags."""

from __future__ import annotations

import ase.collections
import numpy as np
import pytest
from ase.build import molecule
from sqlalchemy import func, select

from atomloop.db import session_scope
from atomloop.errors import InputError
from atomloop.ingest import ingest_atoms, ingest_source
from atomloop.store import load_atoms
from atomloop.store.tables import Molecule


def _count(engine) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(Molecule))


def test_g2_ingest_counts_every_shipped_molecule_once(engine):
    shipped = len(ase.collections.g2.names)
    assert shipped == 162
    report = ingest_source("ase:g2", tags=["g2"], engine=engine)
    assert (report.added, report.present) == (shipped, 0)
    assert _count(engine) == shipped
    again = ingest_source("ase:g2", engine=engine)
    assert (again.added, again.present) == (0, shipped)
    assert again.molecule_ids == report.molecule_ids
    assert _count(engine) == shipped


def test_positions_and_metadata_round_trip(engine):
    water = molecule("H2O")
    methyl = molecule("CH3")
    report = ingest_atoms([water, methyl], source="test", engine=engine)
    with session_scope(engine) as session:
        stored_water, stored_methyl = load_atoms(session, report.molecule_ids)
    np.testing.assert_array_equal(stored_water.numbers, water.numbers)
    np.testing.assert_allclose(stored_water.positions, water.positions, atol=0)
    assert stored_water.info["multiplicity"] == 1
    assert stored_methyl.info["multiplicity"] == 2  # odd electron count, from ASE's magmoms
    assert stored_water.info["formula"] == "H2O"


def test_duplicates_under_rotation_translation_permutation(engine):
    ethanol = molecule("CH3CH2OH")
    moved = ethanol.copy()
    moved.rotate(73, (1, 2, 3), center="COM")
    moved.translate((5.0, -2.0, 0.7))
    permutation = np.random.default_rng(0).permutation(len(moved))
    moved = moved[permutation]
    conformer = ethanol.copy()
    conformer.positions[8] += (0.0, 0.3, 0.2)  # a hydroxyl H moved 0.36 Å: a different structure
    report = ingest_atoms([ethanol, moved, conformer], source="test", engine=engine)
    assert report.added == 2
    assert report.molecule_ids[0] == report.molecule_ids[1] != report.molecule_ids[2]
    with session_scope(engine) as session:
        rows = session.scalars(select(Molecule).order_by(Molecule.id)).all()
        assert rows[0].composition_hash == rows[1].composition_hash  # conformers: one molecule


def test_isomers_are_different_molecules(engine):
    report = ingest_atoms([molecule("CH3CH2OH"), molecule("CH3OCH3")], source="test", engine=engine)
    with session_scope(engine) as session:
        first, second = (session.get(Molecule, i) for i in report.molecule_ids)
        assert first.formula == second.formula == "C2H6O"
        assert first.composition_hash != second.composition_hash


def test_reingest_with_new_tag_tags_existing(engine):
    ingest_atoms([molecule("H2O")], source="a", tags=["first"], engine=engine)
    ingest_atoms([molecule("H2O")], source="b", tags=["second"], engine=engine)
    with session_scope(engine) as session:
        (water,) = session.scalars(select(Molecule)).all()
        assert water.tags == ["first", "second"]
        assert water.source == "a"


def test_xyz_and_smiles_and_ase_db_sources(engine, tmp_path):
    import ase.db
    import ase.io

    xyz = tmp_path / "mols.xyz"
    ase.io.write(xyz, [molecule("H2O"), molecule("NH3")], format="extxyz")
    smi = tmp_path / "mols.smi"
    smi.write_text("# small molecules\nCCO ethanol alcohol\nC1=CC=CC=C1 benzene\n")
    dbfile = tmp_path / "mols.db"
    with ase.db.connect(dbfile) as db:
        db.write(molecule("CH4"), name="methane")
    assert ingest_source(str(xyz), engine=engine).added == 2
    smiles_report = ingest_source(str(smi), engine=engine, conformers=2)
    assert smiles_report.total == 4
    assert ingest_source(str(dbfile), engine=engine).added == 1
    with session_scope(engine) as session:
        ethanol = session.scalars(select(Molecule).where(Molecule.name == "ethanol")).first()
        assert ethanol.tags == ["alcohol"]  # further SMILES columns are per-molecule tags
        benzene = session.scalars(select(Molecule).where(Molecule.name == "benzene")).first()
        assert benzene.formula == "C6H6" and benzene.smiles == "C1=CC=CC=C1"
        # MMFF-relaxed benzene: C-C bonds 1.38-1.41 Å
        atoms = load_atoms(session, [benzene.id])[0]
        carbons = atoms.positions[atoms.numbers == 6]
        nearest = np.sort(np.linalg.norm(carbons[:, None] - carbons[None], axis=-1), axis=1)[:, 1]
        assert np.all((nearest > 1.37) & (nearest < 1.42))


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("3\nwater\nO 0 0 0\nH 0 0 1\n", 5, "file ends early"),
        ("3\nwater\nO 0 0 0\nXx 0 0 1\nH 0 1 0\n", 8, "unknown element 'Xx'"),
        ("three\nwater\nO 0 0 0\n", 5, "expected the number of atoms"),
        ("3\nwater\nO 0 0 0\nH 0 zero 1\nH 0 1 0\n", 5, "malformed frame"),
    ],
)
def test_bad_xyz_names_file_and_line_and_inserts_nothing(engine, tmp_path, content, line, message):
    good = "2\nH2\nH 0 0 0\nH 0 0 0.74\n"
    path = tmp_path / "bad.xyz"
    path.write_text(good + content)
    with pytest.raises(InputError, match=message) as error:
        ingest_source(str(path), engine=engine)
    assert str(error.value).startswith(f"{path}:{line}: ")
    assert _count(engine) == 0  # the good first frame was rolled back too


def test_impossible_multiplicity_and_charge_are_refused(engine):
    water = molecule("H2O")
    water.info["multiplicity"] = 2  # 10 electrons cannot have one unpaired
    with pytest.raises(InputError, match="H2O: charge 0 and multiplicity 2 are impossible with 10 electrons"):
        ingest_atoms([molecule("CH4"), water], source="test", engine=engine)
    assert _count(engine) == 0
    cation = molecule("H2O")
    cation.info["charge"] = 1
    assert ingest_atoms([cation], source="test", engine=engine).added == 1


def test_bad_smiles_names_line(engine, tmp_path):
    path = tmp_path / "bad.smi"
    path.write_text("CCO\nC1CC(\n")
    with pytest.raises(InputError, match=r"bad.smi:2: RDKit cannot parse"):
        ingest_source(str(path), engine=engine)
    assert _count(engine) == 0


def test_shipped_organic_set_spans_functional_groups(engine):
    report = ingest_source("atomloop:organic", tags=["organic"], engine=engine)
    assert report.added == 164
    with session_scope(engine) as session:
        classes = session.scalars(select(func.unnest(Molecule.tags)).distinct()).all()
    assert {"alkane", "alcohol", "amine", "ketone", "aromatic", "halide", "organic"} <= set(classes)
