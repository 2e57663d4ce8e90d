"""The shipped set of molecules larger than QM9's: its selection rule, its committed chunks, and
their ingestion with labels (Hartree) as ``atomloop:larger-labelled``."""

from __future__ import annotations

import json
from collections import Counter

import ase.io
import numpy as np
import pytest

from atomloop.datasets.larger_labelled import LARGER, PER_SIZE, SIZES, candidates
from atomloop.db import session_scope
from atomloop.store.labels import LabelSource, labelled_atoms
from atomloop.store.molecules import load_atoms

MANIFEST = json.loads((LARGER.data_dir / "manifest.json").read_text())
FIRST = ase.io.read(LARGER.chunk_path(0), index=":")


def test_the_selection_rule_admits_only_neutral_hcnof_molecules_of_10_to_16_heavy_atoms():
    from rdkit import Chem

    found = candidates()
    assert sorted(found) == list(SIZES) and min(len(v) for v in found.values()) >= PER_SIZE
    canonical = Counter()
    for size, molecules in found.items():
        for _, smiles in molecules:
            molecule = Chem.MolFromSmiles(smiles)
            assert molecule.GetNumHeavyAtoms() == size and Chem.GetFormalCharge(molecule) == 0
            assert {atom.GetSymbol() for atom in molecule.GetAtoms()} <= {"C", "N", "O", "F"}
            canonical[Chem.MolToSmiles(molecule)] += 1
    assert max(canonical.values()) == 1


def test_the_manifest_records_the_level_and_the_chunks_on_disk():
    assert MANIFEST["settings_hash"] == LARGER.level.settings_hash and MANIFEST["molecules"] == PER_SIZE * len(SIZES)
    assert MANIFEST["chunk_size"] == LARGER.chunk_size and MANIFEST["command"] == LARGER.command
    on_disk = sorted(path.name for path in LARGER.data_dir.glob("chunk-*.extxyz.gz"))
    assert on_disk == [f"chunk-{number}.extxyz.gz" for number in sorted(MANIFEST["chunks"])]
    chunk = MANIFEST["chunks"]["0000"]
    kept = [number for number in chunk["nci_indices"] if f"nci:{number}" not in chunk["failed"]]
    assert [frame.info["nci_index"] for frame in FIRST] == kept
    assert sum(path.stat().st_size for path in LARGER.data_dir.iterdir()) < 20e6


def test_the_first_chunk_ingests_with_its_labels(engine, atomloop):
    status, stdout, stderr = atomloop("ingest", "atomloop:larger-labelled", "--labels", "--limit", str(len(FIRST)))
    assert status == 0, stderr
    assert f"{len(FIRST)} added" in stdout
    with session_scope(engine) as session:
        labelled = {scheme: labelled_atoms(session, LabelSource(LARGER.level.settings_hash, scheme))
                    for scheme in LARGER.level.schemes}
        ids = sorted(labelled["ao-eda"])
        stored = load_atoms(session, ids)
    assert len(ids) == len(FIRST) and all(set(by_id) == set(ids) for by_id in labelled.values())
    assert sorted(int((atoms.numbers > 1).sum()) for atoms in stored) == sorted(
        int((frame.numbers > 1).sum()) for frame in FIRST)
    assert all(10 <= int((atoms.numbers > 1).sum()) <= 16 for atoms in stored)
    totals = sorted(frame.info["energy_hartree"] for frame in FIRST)
    for scheme, by_id in labelled.items():
        assert sorted(atoms.info["energy"] for atoms in by_id.values()) == pytest.approx(totals, abs=1e-10)
        for atoms in by_id.values():  # the atomic energies of every scheme sum to the total (Hartree)
            assert atoms.arrays["atomic_energies"].sum() == pytest.approx(atoms.info["energy"], abs=1e-6), scheme
    assert all(np.isfinite(frame.arrays["atomic_energies_mo-fb-iao_hartree"]).all() and frame.info["smiles"]
               for frame in FIRST)


def test_the_chunk_builder_resumes_at_the_first_missing_chunk(tmp_path):
    from ase.build import molecule

    from atomloop.datasets.labelled_sets import LabelledSet, build
    from atomloop.qm.settings import QMSettings

    def select():
        return [(molecule(name), f"toy:{number}") for number, name in enumerate(("H2O", "NH3", "CH4"), start=1)]

    def toy(level):
        return LabelledSet("toy", level, tmp_path, select, lambda atoms, number: {"toy_index": number},
                           indices_key="toy_indices", chunk_size=2, command="build toy")

    level = QMSettings(method="hf", basis="sto-3g", schemes=("ao-eda",))
    assert build(toy(level), max_chunks=1, progress=False) == 1
    first = toy(level).chunk_path(0).read_bytes()
    toy(level).chunk_path(1).with_suffix(".partial").write_text("what a killed build left")
    assert build(toy(level), progress=False) == 1 and build(toy(level), progress=False) == 0
    assert toy(level).chunk_path(0).read_bytes() == first  # a finished chunk is never rewritten
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert {n: c["toy_indices"] for n, c in manifest["chunks"].items()} == {"0000": [1, 2], "0001": [3]}
    frames = ase.io.read(toy(level).chunk_path(1), index=":")
    assert [(f.get_chemical_formula(), f.info["toy_index"]) for f in frames] == [("CH4", 3)]
    assert frames[0].arrays["atomic_energies_ao-eda_hartree"].sum() == pytest.approx(frames[0].info["energy_hartree"])
    with pytest.raises(SystemExit, match="labels of another level"):
        build(toy(QMSettings(method="hf", basis="6-31g", schemes=("ao-eda",))), progress=False)
