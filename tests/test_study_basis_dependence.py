"""Claim 3's comparison: atomic energies of each scheme at two basis sets (real PySCF labels,
HF/STO-3G and HF/6-31G, stored in the real PostgreSQL store), their changes summing to the
molecule's change in every scheme, and the paired AO-vs-MO interval equal to SciPy's."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import molecule
from scipy import stats

from atomloop.db.engine import session_scope
from atomloop.ingest import ingest_atoms
from atomloop.labelling import label_molecules
from atomloop.qm import QMSettings
from atomloop.store.tables import Calculation
from atomloop.study.basis_dependence import (
    basis_change_rows,
    basis_dependence_rows,
    stored_basis_changes,
)
from atomloop.units import HARTREE_TO_KCAL_PER_MOL

SCHEMES = ("ao-eda", "mo-pm-iao")
NAMES = ("H2O", "CH4", "NH3", "CH3OH", "HCN")


@pytest.fixture
def two_bases(engine):
    ids = ingest_atoms([molecule(n) for n in NAMES], source="test", tags=["b"], engine=engine).molecule_ids
    levels = [QMSettings(basis=basis, schemes=SCHEMES) for basis in ("sto-3g", "6-31g")]
    for level in levels:
        assert label_molecules(level, engine=engine, molecule_ids=ids, progress=False).done == len(ids)
    return ids, levels


def test_changes_sum_to_the_molecular_change_and_rows_match_the_labels(engine, two_bases):
    from sqlalchemy import select

    ids, (first, second) = two_bases
    with session_scope(engine) as session:
        changes = stored_basis_changes(session, ids, first.settings_hash, second.settings_hash, SCHEMES)
        totals = {
            (c.molecule_id, c.settings_hash): c.total_energy
            for c in session.scalars(select(Calculation).where(Calculation.molecule_id.in_(ids)))
        }
    assert sorted(set(changes.molecule.tolist())) == sorted(ids)
    for m in ids:
        molecular = (totals[m, second.settings_hash] - totals[m, first.settings_hash]) * HARTREE_TO_KCAL_PER_MOL
        assert molecular < 0  # the larger basis lowers every HF energy (variational)
        for scheme in SCHEMES:  # the sum rule: schemes differ only in how they share the change
            assert changes.change[scheme][changes.molecule == m].sum() == pytest.approx(molecular, abs=1e-6)
    rows = {(r["scheme"], r["element"]): r for r in basis_change_rows(changes)}
    assert {e for _, e in rows} == {"H", "C", "N", "O", "all"}
    for scheme in SCHEMES:
        delta = changes.change[scheme]
        hydrogens = changes.element == "H"
        centre = delta[hydrogens].mean()
        assert rows[scheme, "H"]["n_atoms"] == 4 + 3 + 2 + 4 + 1
        assert rows[scheme, "H"]["mean_change_kcal_mol"] == pytest.approx(centre, rel=1e-12)
        assert rows[scheme, "H"]["centred_change_kcal_mol"] == pytest.approx(np.abs(delta[hydrogens] - centre).mean(), rel=1e-12)
        assert rows[scheme, "N"]["n_molecules"] == 2  # NH3, HCN


def test_paired_interval_of_mo_against_ao_is_scipys(engine, two_bases):
    ids, (first, second) = two_bases
    with session_scope(engine) as session:
        changes = stored_basis_changes(session, ids, first.settings_hash, second.settings_hash, SCHEMES)
    (row,) = [r for r in basis_dependence_rows(changes) if r["element"] == "H"]
    hydrogens = changes.element == "H"
    per_molecule = {
        s: [changes.centred(s)[hydrogens & (changes.molecule == m)].mean() for m in sorted(ids)] for s in SCHEMES
    }
    expected = stats.ttest_rel(per_molecule["mo-pm-iao"], per_molecule["ao-eda"]).confidence_interval()
    assert row["scheme"] == "mo-pm-iao" and row["n_molecules"] == len(ids)
    assert (row["difference_low"], row["difference_high"]) == pytest.approx((expected.low, expected.high), rel=1e-10)
    assert row["difference_kcal_mol"] == pytest.approx(np.mean(per_molecule["mo-pm-iao"]) - np.mean(per_molecule["ao-eda"]), abs=1e-12)


def test_cli_prints_both_tables_and_refuses_a_dataset_without_a_second_basis(engine, two_bases):
    from typer.testing import CliRunner

    from atomloop.cli import app
    from atomloop.errors import InputError

    runner = CliRunner()
    result = runner.invoke(app, ["study", "basis-dependence", "--dataset", "b", "--basis", "sto3g", "--second-basis", "6-31G"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "5 molecules, 21 atoms, schemes ao-eda, mo-pm-iao"
    assert "| scheme | element | n_atoms | n_molecules | mean_change_kcal_mol | centred_change_kcal_mol |" in lines
    assert sum(line.startswith("| mo-pm-iao | all | 21 | 5 |") for line in lines) == 1
    assert sum(line.startswith("| H | mo-pm-iao | 5 |") for line in lines) == 1
    missing = runner.invoke(app, ["study", "basis-dependence", "--dataset", "b", "--basis", "sto-3g"])
    assert isinstance(missing.exception, InputError) and "name one with --second-basis" in str(missing.exception)


def test_the_shipped_second_basis_lands_on_the_same_molecules(engine):
    import json

    from sqlalchemy import func, select

    from atomloop.datasets.qm9_labelled import SECOND_BASIS
    from atomloop.store.labels import labelled_subset
    from atomloop.store.tables import Molecule
    from atomloop.study.dataset import dataset_molecule_ids, second_basis_level

    manifest = json.loads((SECOND_BASIS.data_dir / "manifest.json").read_text())
    shipped = sum(len(c["qm9_indices"]) - len(c["failed"]) for c in manifest["chunks"].values())
    ids = dataset_molecule_ids(engine, "qm9-labelled")
    level = second_basis_level(engine, "qm9-labelled", ids)
    assert level == SECOND_BASIS.level.settings_hash and second_basis_level(engine, "qm9-labelled", ids) == level
    with session_scope(engine) as session:
        assert len(labelled_subset(session, ids, level)) == shipped  # every cc-pVDZ label on a dataset molecule
    with session_scope(engine) as session:  # and no molecule added: the same structures matched
        assert session.scalar(select(func.count()).select_from(Molecule)) == len(ids)
    assert second_basis_level(engine, "organic", ids) is None
