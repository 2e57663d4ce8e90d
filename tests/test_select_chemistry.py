"""Descriptors that see chemistry, not size: a functional-group shift at equal molecular formula,
no shift in a random split, and atom-level molecule scores that are fair to size.

Isomers of C_nH_{2n+2}O (n = 4, 5, 6) from RDKit (ETKDG + MMFF, :mod:`atomloop.ingest.smiles`):
all 24 ethers R-O-R' and as many alcohols R-OH of each formula, two conformers each; a molecule's
conformers share one group (``composition_hash`` is set to its SMILES).
"""

from __future__ import annotations

from itertools import combinations_with_replacement

import numpy as np
import pytest
from scipy.special import expit

from atomloop.ingest.smiles import atoms_from_smiles
from atomloop.select import adversarial_validation, roc_auc
from atomloop.select.adversarial import CrossValidation, aucs_per_repeat, group_keys, size_fair_scores

Chem = pytest.importorskip("rdkit.Chem")

CARBONS = (4, 5, 6)
CONFORMERS = 2


def alkyl_groups(max_carbons: int) -> dict[int, list[str]]:
    """Every alkyl group of 1..``max_carbons`` carbons, as SMILES written from the attachment
    carbon (so ``"O" + R`` is an alcohol), by carbon count."""
    attached = {1: {"[*]C"}}
    for n in range(2, max_carbons + 1):
        attached[n] = {_grown(smiles, atom) for smiles in attached[n - 1] for atom in _carbons_with_h(smiles)}
    return {n: sorted(_rooted_at_attachment(smiles) for smiles in group) for n, group in attached.items()}


def _carbons_with_h(smiles: str) -> list[int]:
    molecule = Chem.MolFromSmiles(smiles)
    return [a.GetIdx() for a in molecule.GetAtoms() if a.GetAtomicNum() == 6 and a.GetTotalNumHs() > 0]


def _grown(smiles: str, atom: int) -> str:
    """Canonical SMILES of ``smiles`` with a methyl added on ``atom``."""
    molecule = Chem.RWMol(Chem.MolFromSmiles(smiles))
    molecule.AddBond(atom, molecule.AddAtom(Chem.Atom(6)), Chem.BondType.SINGLE)
    return Chem.MolToSmiles(molecule)


def _rooted_at_attachment(smiles: str) -> str:
    """``[*]``-marked alkyl SMILES -> the group's SMILES starting at the carbon ``[*]`` marks."""
    molecule = Chem.RWMol(Chem.MolFromSmiles(smiles))
    star = next(a for a in molecule.GetAtoms() if a.GetAtomicNum() == 0)
    root = star.GetNeighbors()[0].GetIdx()
    molecule.RemoveAtom(star.GetIdx())
    return Chem.MolToSmiles(molecule, rootedAtAtom=root - (root > star.GetIdx()))


def ethers(groups: dict[int, list[str]], n: int) -> list[str]:
    """Every ether R-O-R' of ``n`` carbons."""
    found = []
    for i in range(1, n // 2 + 1):
        pairs = combinations_with_replacement(groups[i], 2) if 2 * i == n else (
            (a, b) for a in groups[i] for b in groups[n - i]
        )
        found += [f"O({a}){b}" for a, b in pairs]
    return found


def conformers(smiles_list: list[str]) -> list:
    """``CONFORMERS`` relaxed structures per SMILES, grouped by it (``composition_hash``)."""
    structures = []
    for smiles in smiles_list:
        for atoms in atoms_from_smiles(smiles, conformers=CONFORMERS, seed=7):
            atoms.info["composition_hash"] = smiles
            structures.append(atoms)
    return structures


@pytest.fixture(scope="module")
def isomers() -> tuple[list[str], list[str]]:
    """(ethers, alcohols): SMILES, equally many of each formula C_nH_{2n+2}O (24 a side)."""
    groups = alkyl_groups(max(CARBONS))
    ether_smiles, alcohol_smiles = [], []
    for n in CARBONS:
        some = ethers(groups, n)
        ether_smiles += some
        alcohol_smiles += ["O" + r for r in groups[n]][: len(some)]
    return ether_smiles, alcohol_smiles


def atom_count_auc(train: list, pool: list, seed: int = 0) -> float:
    """The adversarial AUC of a classifier that sees the atom count alone (same group CV)."""
    natoms = np.array([len(a) for a in train + pool], dtype=float)[:, None]
    labels = np.r_[np.zeros(len(train), dtype=int), np.ones(len(pool), dtype=int)]
    groups = np.unique(group_keys(train + pool), return_inverse=True)[1]
    features = (natoms - natoms.mean()) / natoms.std()
    scores = CrossValidation().repeated(features, labels, groups, np.random.SeedSequence(seed).spawn(3))
    return float(aucs_per_repeat(scores, labels).mean())


def test_a_functional_group_at_equal_formula_is_detected_where_size_sees_nothing(isomers):
    ether_smiles, alcohol_smiles = isomers
    assert (len(ether_smiles), len(alcohol_smiles)) == (24, 24)
    train, pool = conformers(ether_smiles), conformers(alcohol_smiles)
    assert sorted(a.get_chemical_formula() for a in train) == sorted(a.get_chemical_formula() for a in pool)
    result = adversarial_validation(train, pool, seed=0)
    # Measured: AUC 1.000 [1.00, 1.00], p = 1/101; atom count alone 0.356 (equal formulas: the
    # cross-validation anti-learns, as under no shift).
    assert result.settings["descriptors"]["molecule_kind"] == "pooled"
    assert result.auc >= 0.85 and result.p_value < 0.02 and result.shift_detected
    assert atom_count_auc(train, pool) < 0.6


def test_a_random_split_of_the_isomers_reads_no_shift(isomers):
    ether_smiles, alcohol_smiles = isomers
    molecules = ether_smiles + alcohol_smiles
    order = np.random.default_rng(0).permutation(len(molecules))
    train = conformers([molecules[i] for i in order[:24]])
    pool = conformers([molecules[i] for i in order[24:]])
    result = adversarial_validation(train, pool, seed=0)
    assert result.p_value > 0.05 and not result.shift_detected  # measured AUC 0.505, p = 0.43


def test_atom_level_scores_one_new_group_alike_in_a_small_and_a_large_molecule(isomers):
    """Training: half the ethers; pool: the other half, the alcohols, and ethanol (9 atoms) and
    1-decanol (33 atoms), which hold the hydroxyl group new to training once each."""
    ether_smiles, alcohol_smiles = isomers
    order = np.random.default_rng(0).permutation(len(ether_smiles))
    small, large = "OCC", "OCCCCCCCCCC"
    train = conformers([ether_smiles[i] for i in order[:12]])
    pool_smiles = [ether_smiles[i] for i in order[12:]] + alcohol_smiles + [small, large]
    pool = conformers(pool_smiles)
    result = adversarial_validation(train, pool, level="atom", seed=0, permutations=0)
    smiles = [a.info["composition_hash"] for a in pool]
    ethanol, decanol = result.scores[smiles.index(small)], result.scores[smiles.index(large)]
    is_alcohol = np.array([s in alcohol_smiles or s in (small, large) for s in smiles])
    # Measured: ethanol 1.000, 1-decanol 1.000; every alcohol above every ether (AUC 1.000).
    assert abs(ethanol - decanol) < 0.05 and min(ethanol, decanol) > 0.9
    assert roc_auc(result.scores, is_alcohol.astype(int)) > 0.95


def test_size_fair_scores_are_uniform_under_the_null_whatever_the_size():
    """Atom scores drawn from the training atoms' distribution: molecules of 5 and of 30 atoms
    score alike, where the maximum ranks the large ones first by chance alone."""
    rng = np.random.default_rng(0)
    null = expit(rng.normal(size=5000))
    molecules = [expit(rng.normal(size=n)) for n in [5] * 2000 + [30] * 2000]
    is_large = np.r_[np.zeros(2000, dtype=int), np.ones(2000, dtype=int)]
    fair = size_fair_scores(molecules, null)
    maximum = np.array([scores.max() for scores in molecules])
    # Measured: mean 0.506 (5 atoms) and 0.513 (30 atoms); large-vs-small AUC 0.506 vs 0.860 for the maximum.
    assert abs(fair[is_large == 0].mean() - 0.5) < 0.03 and abs(fair[is_large == 1].mean() - 0.5) < 0.03
    assert abs(roc_auc(fair, is_large) - 0.5) < 0.03 and roc_auc(maximum, is_large) > 0.8
    # One strongly new environment (5 standard deviations out) scores alike in both sizes.
    new_small, new_large = (np.r_[expit(rng.normal(size=n - 1)), expit(5.0)] for n in (5, 30))
    assert np.ptp(size_fair_scores([new_small, new_large], null)) < 0.01
