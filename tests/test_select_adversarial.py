"""Adversarial validation on ASE's G2 collection: known shift, no shift, atoms, determinism.

The permutation test has its own file (test_select_permutation.py), the stopping rule too
(test_select_stopping.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from scipy.stats import spearmanr
from select_testdata import G2, heavy_atoms, rattled
from sklearn.metrics import roc_auc_score

from atomloop.errors import InputError
from atomloop.select import adversarial_validation, bootstrap_auc_interval, roc_auc
from atomloop.select.adversarial import stratified_group_folds
from atomloop.select.descriptors import DescriptorSettings


@pytest.fixture(scope="module")
def known_shift():
    """Training: G2 molecules with at most 2 heavy atoms; pool: all larger ones."""
    train = [a for a in G2 if heavy_atoms(a) <= 2]
    pool = [a for a in G2 if heavy_atoms(a) > 2]
    return train, pool, adversarial_validation(train, pool, seed=0)


def test_known_shift_is_detected_and_larger_molecules_rank_higher(known_shift):
    train, pool, result = known_shift
    assert (len(train), len(pool)) == (77, 85)
    # Measured: AUC 0.924 (repeats 0.921, 0.923, 0.926), interval (0.880, 0.961); with the former
    # "counts" descriptor 0.920 (0.910, 0.927, 0.924), (0.874, 0.960).
    assert result.auc > 0.88
    assert result.auc_interval[0] > 0.8 and result.auc_interval[0] < result.auc < result.auc_interval[1]
    assert not result.stop and result.decision.shift_detected
    assert (result.settings["classifier"], result.settings["classifier_requested"]) == ("logistic", "auto")
    assert result.scores.shape == (85,) and ((result.scores >= 0) & (result.scores <= 1)).all()
    assert result.repeat_aucs.shape == (3,) and result.auc == pytest.approx(result.repeat_aucs.mean(), abs=1e-15)
    single = adversarial_validation(train, pool, seed=0, repeats=1, permutations=0)
    labels = np.r_[np.zeros(len(train)), np.ones(len(pool))]
    assert single.auc == pytest.approx(roc_auc_score(labels, np.r_[single.train_scores, single.scores]), abs=1e-12)
    # Larger molecules look more out of distribution: per heavy-atom count, mean score rises.
    sizes = np.array([heavy_atoms(a) for a in train + pool])
    scores = np.r_[result.train_scores, result.scores]
    assert spearmanr(sizes, scores).statistic > 0.5
    pool_sizes = sizes[len(train) :]
    assert result.scores[pool_sizes >= 4].mean() > result.scores[pool_sizes == 3].mean() > result.train_scores.mean()


def test_same_seed_same_result_and_rigid_motions_do_not_change_scores(known_shift):
    train, pool, first = known_shift
    moved_pool = []
    for index, atoms in enumerate(pool):
        rng = np.random.default_rng(index)
        moved = atoms[rng.permutation(len(atoms))]
        moved.positions = moved.positions @ Rotation.random(random_state=index).as_matrix().T + rng.normal(size=3)
        moved_pool.append(moved)
    again = adversarial_validation(train, moved_pool, seed=0)
    np.testing.assert_allclose(again.scores, first.scores, atol=1e-9)
    assert again.auc == pytest.approx(first.auc, abs=1e-9)
    assert again.auc_interval == pytest.approx(first.auc_interval, abs=1e-9)
    np.testing.assert_allclose(again.null_aucs, first.null_aucs, atol=1e-9)
    other_seed = adversarial_validation(train, pool, seed=1, permutations=0)
    assert not np.array_equal(other_seed.scores, first.scores)
    assert np.array_equal(other_seed.scores, adversarial_validation(train, pool, seed=1, permutations=0).scores)


def test_boosted_trees_detect_the_known_shift_in_one_repeat_without_permutations_by_default(known_shift):
    train, pool, linear = known_shift
    result = adversarial_validation(train, pool, seed=0, classifier="hgb")
    assert (result.settings["repeats"], result.settings["permutations"]) == (1, 0)
    # Measured: AUC 0.984 [0.96, 1.00] (logistic on 16 principal axes: 0.924): the trees use the
    # pooled descriptor's ~2 000 varying columns, the linear model their 16 principal axes.
    assert result.auc > 0.88 and result.auc > linear.auc - 0.02
    assert result.p_value is None and result.null_auc is None
    assert result.shift_detected and result.decision.verdict.endswith("lies above 0.5")


def test_a_large_auto_round_keeps_the_permutation_test_and_ranks_with_trees(known_shift, monkeypatch):
    """Past ``AUTO_LOGISTIC_MAX`` molecules a side (lowered here to 50) ``logistic`` still runs
    the test, so the round has a p-value; one ``hgb`` cross-validation scores the pool."""
    train, pool, logistic = known_shift
    trees = adversarial_validation(train, pool, seed=0, classifier="hgb")
    monkeypatch.setattr("atomloop.select.classifiers.AUTO_LOGISTIC_MAX", 50)
    large = adversarial_validation(train, pool, seed=0)
    settings = large.settings
    assert (settings["classifier"], settings["ranking_classifier"], settings["permutations"]) == ("logistic", "hgb", 100)
    # The test is the logistic one, unchanged; the scores are the trees' (from other folds than
    # those of classifier="hgb", so compared by AUC and rank, not value).
    assert large.auc == pytest.approx(logistic.auc, abs=1e-12)
    np.testing.assert_allclose(large.null_aucs, logistic.null_aucs, atol=1e-12)
    assert large.p_value == logistic.p_value and large.p_value < 0.05 and large.shift_detected
    assert settings["ranking_auc"] == pytest.approx(roc_auc(np.r_[large.train_scores, large.scores],
                                                            np.r_[np.zeros(len(train)), np.ones(len(pool))]))
    # Measured: ranking AUC 0.979 against 0.984 for hgb alone (other folds), 0.924 for the test;
    # Spearman correlation with hgb's scores over all molecules 0.92.
    assert settings["ranking_auc"] == pytest.approx(trees.auc, abs=0.03) and settings["ranking_auc"] > large.auc
    both = np.r_[large.train_scores, large.scores], np.r_[trees.train_scores, trees.scores]
    assert spearmanr(*both).statistic > 0.8
    assert not np.allclose(large.scores, logistic.scores, atol=1e-3)


def test_no_shift_gives_an_interval_containing_one_half_and_grouping_prevents_leakage():
    """A random split of G2 by molecule, 3 rattled conformers each, all on one side. (Split 3:
    split 0 is one of the random splits the test rejects at 5 %, p = 0.02; calibration over
    splits is tested in test_select_permutation.py.)"""
    order = np.random.default_rng(3).permutation(len(G2))
    conformers = {i: [rattled(G2[i], seed=10 * i + c) for c in range(3)] for i in range(len(G2))}
    train = [c for i in order[:81] for c in conformers[i]]
    pool = [c for i in order[81:] for c in conformers[i]]
    result = adversarial_validation(train, pool, seed=0)
    low, high = result.auc_interval
    assert low <= 0.5 <= high and result.p_value > 0.2 and not result.shift_detected
    assert abs(result.auc - 0.5) < 0.1  # measured 0.466 [0.39, 0.55], p = 0.72
    # Folds that split conformers of one molecule leak: the classifier recognises the molecule.
    each_alone = [str(i) for i in range(len(train) + len(pool))]
    leaky = adversarial_validation(train, pool, seed=0, groups=each_alone)
    assert leaky.auc > result.auc + 0.1 and leaky.p_value == pytest.approx(1 / 101)  # measured 0.579: a false shift
    assert leaky.shift_detected and not leaky.stop
    # With all ~600 standardized columns of the "counts" descriptor the logistic model memorizes
    # molecules better (measured 0.89; 0.98 with the ~2 000 varying pooled columns, 80 times slower).
    wide = adversarial_validation(
        train, pool, seed=0, n_components=None, groups=each_alone, repeats=1, permutations=0,
        descriptor_settings=DescriptorSettings(molecule_kind="counts"),
    )
    assert wide.auc > 0.8


def test_imbalance_correction_pulls_scores_towards_one_half():
    """Pool three times the training set, same distribution (a random split of G2 conformers)."""
    molecules = [rattled(a, seed=i) for i, a in enumerate(G2)]
    order = np.random.default_rng(3).permutation(len(molecules))
    train = [molecules[i] for i in order[:40]]
    pool = [molecules[i] for i in order[40:160]]
    corrected = adversarial_validation(train, pool, seed=0)
    uncorrected = adversarial_validation(train, pool, seed=0, prior_correction=False)
    # the classifier sees no shift (a random 40-molecule split can leave pool elements unseen,
    # which the stopping rule counts as a shift of its own)
    assert corrected.auc_interval[0] <= 0.5 and uncorrected.auc_interval[0] <= 0.5

    def mean_score(result):
        return np.r_[result.train_scores, result.scores].mean()

    # Measured 0.541 corrected vs 0.753 uncorrected: the prior 120 / 160 = 0.75 leaks in uncorrected.
    assert mean_score(uncorrected) > 0.72
    assert mean_score(corrected) < mean_score(uncorrected) - 0.05


def test_atom_level_flags_an_unseen_element_and_functional_group():
    """Training has no chlorine; the pool adds the organochlorides of G2 (C-Cl group)."""
    plain = [a for a in G2 if "Cl" not in a.get_chemical_symbols()]
    chlorides = [a for a in G2 if {"C", "Cl"} <= set(a.get_chemical_symbols())]
    assert len(chlorides) == 9
    train = [rattled(a, seed=i) for i, a in enumerate(plain)]
    pool_plain = [rattled(a, seed=1000 + i) for i, a in enumerate(plain)]
    pool_chlorides = [rattled(a, seed=2000 + i) for i, a in enumerate(chlorides)]
    result = adversarial_validation(train, pool_plain + pool_chlorides, level="atom", seed=0)

    assert result.level == "atom" and len(result.atom_scores) == len(pool_plain) + len(chlorides)
    for scores, atoms in zip(result.atom_scores, pool_plain + pool_chlorides, strict=True):
        assert scores.shape == (len(atoms),)
    assert result.settings["molecule_score"].startswith("(1 - p_min) ** n_atoms")
    n_plain = len(pool_plain)
    # Every organochloride scores above every chlorine-free pool molecule.
    assert result.scores[n_plain:].min() > result.scores[:n_plain].max()
    cutoff = result.settings["descriptors"]["atom_cutoff"]
    flagged_cl = total_cl = 0
    for atoms, flagged in zip(pool_chlorides, result.flagged_atoms[n_plain:], strict=True):
        symbols = np.array(atoms.get_chemical_symbols())
        chlorines = np.flatnonzero(symbols == "Cl")
        to_chlorine = atoms.get_all_distances()[:, chlorines].min(axis=1)
        carbon_of_ccl = int(np.argmin(np.where(symbols == "C", to_chlorine, np.inf)))
        assert flagged.size > 0
        assert carbon_of_ccl in flagged or set(chlorines) <= set(flagged)  # the C-Cl group is flagged
        assert (to_chlorine[flagged] < cutoff).all()  # ...and nothing that cannot see a chlorine
        flagged_cl += np.isin(chlorines, flagged).sum()
        total_cl += chlorines.size
    assert flagged_cl / total_cl > 0.7  # measured 15 of 18 chlorine atoms
    # 1-chloropropane's far methyl group (> cutoff from Cl) is not flagged.
    propyl = pool_chlorides[[a.get_chemical_formula() for a in chlorides].index("C3H7Cl")]
    far = np.flatnonzero(propyl.get_all_distances()[:, propyl.numbers == 17].min(axis=1) > cutoff)
    assert far.size >= 1
    # Chlorine-free pool atoms are flagged at about the null rate (1 - flag_quantile = 1 %).
    plain_flagged = sum(f.size for f in result.flagged_atoms[:n_plain])
    assert plain_flagged / sum(len(a) for a in pool_plain) < 0.03


def test_auc_and_cluster_bootstrap():
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(300, int), np.ones(500, int)]
    scores = np.round(rng.normal(size=800) + 0.5 * labels, 1)  # ties on purpose
    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    independent = bootstrap_auc_interval(scores, labels, np.arange(800), seed=0)
    assert independent[0] < roc_auc(scores, labels) < independent[1]
    # Items that come in clusters of 4 identical copies carry less information: wider interval.
    items = np.repeat(rng.choice(800, size=200, replace=False), 4)
    clusters = np.repeat(np.arange(200), 4)
    clustered = bootstrap_auc_interval(scores[items], labels[items], clusters, seed=0)
    flat = bootstrap_auc_interval(scores[items], labels[items], np.arange(800), seed=0)
    assert clustered[1] - clustered[0] > 1.5 * (flat[1] - flat[0])
    # Repeats (shape (R, n)) share each resample: identical repeats give the single interval, and
    # the interval of two repeats brackets the mean of their AUCs.
    other = np.round(rng.normal(size=800) + 0.3 * labels, 1)
    assert bootstrap_auc_interval(np.stack([scores, scores]), labels, np.arange(800), seed=0) == independent
    low, high = bootstrap_auc_interval(np.stack([scores, other]), labels, np.arange(800), seed=0)
    assert low < (roc_auc(scores, labels) + roc_auc(other, labels)) / 2 < high


def test_stratified_group_folds_keep_groups_whole_and_deal_both_classes_evenly():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(40), rng.integers(1, 5, size=40))  # 40 molecules of 1-4 conformers
    labels = (groups >= 13).astype(int)  # 13 training molecules, 27 in the pool
    folds = stratified_group_folds(labels, groups, 5, rng)
    assert all(np.unique(folds[groups == g]).size == 1 for g in range(40))
    for c, n_groups in ((0, 13), (1, 27)):
        per_fold = [np.unique(groups[(folds == f) & (labels == c)]).size for f in range(5)]
        assert sum(per_fold) == n_groups and max(per_fold) - min(per_fold) <= 1
    assert set(stratified_group_folds(labels, groups, 50, rng)) == set(range(13))  # at most the smaller class
    with pytest.raises(InputError, match="got 1 in training and 39 in the pool"):
        stratified_group_folds((groups >= 1).astype(int), groups, 5, rng)


def test_clear_errors():
    some = G2[:5]
    with pytest.raises(InputError, match="training set"):
        adversarial_validation([], some)
    with pytest.raises(InputError, match="pool"):
        adversarial_validation(some, [])
    with pytest.raises(InputError, match="level"):
        adversarial_validation(some, some, level="bond")
    with pytest.raises(InputError, match="classifier"):
        adversarial_validation(some, some, classifier="svm")
    with pytest.raises(InputError, match="at least 2 distinct molecules"):
        adversarial_validation([G2[0]], [G2[1], G2[2]])
    with pytest.raises(InputError, match="groups has 3 entries"):
        adversarial_validation(some, some, groups=["a", "b", "c"])
    with pytest.raises(InputError, match="repeats must be at least 1"):
        adversarial_validation(some, some, repeats=0)
    with pytest.raises(InputError, match="permutations at least 0"):
        adversarial_validation(some, some, permutations=-1)


def test_unseen_elements_are_always_out_of_distribution():
    """A boron molecule in the pool of a training set without boron scores 1, and blocks stopping."""
    from ase.build import molecule

    train = [rattled(a, seed=i) for i, a in enumerate(G2) if 5 not in a.numbers][:60]
    pool = [rattled(a, seed=100 + i) for i, a in enumerate(G2) if 5 not in a.numbers][60:100] + [molecule("BF3")]
    result = adversarial_validation(train, pool, seed=0)
    assert len(pool) - 1 in result.unseen_element_molecules
    assert np.all(result.scores[result.unseen_element_molecules] == 1.0)
    assert result.decision.shift_detected and not result.stop
