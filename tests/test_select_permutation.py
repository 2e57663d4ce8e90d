"""The permutation test of adversarial validation on ASE's G2 collection: its p-value's formula
and floor, calibration under exchangeable labels, a clear shift, anti-learning, groups moving
together, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from select_testdata import G2, heavy_atoms, rattled

from atomloop.select import adversarial_validation
from atomloop.select.adversarial import permutation_null
from atomloop.select.auc import permutation_p_value
from atomloop.select.stopping import ANTI_LEARNING


def random_split(seed: int):
    """G2 split at random by molecule into 81 training and 81 pool molecules: exchangeable labels."""
    order = np.random.default_rng(seed).permutation(len(G2))
    return [G2[i] for i in order[:81]], [G2[i] for i in order[81:]]


def test_p_value_formula_counts_ties_and_has_floor_one_over_b_plus_one():
    assert permutation_p_value(0.9, np.full(100, 0.5)) == pytest.approx(1 / 101)
    assert permutation_p_value(0.5, np.full(100, 0.5)) == 1.0  # ties count against the observed
    assert permutation_p_value(0.55, np.linspace(0.4, 0.6, 9)) == pytest.approx((1 + 3) / 10)
    assert permutation_p_value(0.0, np.full(19, 0.5)) == 1.0


def test_exchangeable_labels_give_roughly_uniform_p_values():
    """Ten random splits of one set of molecules: p is below 0.05 about as often as chance says."""
    p_values = np.array([
        adversarial_validation(*random_split(seed), seed=0, repeats=1, permutations=50).p_value for seed in range(10)
    ])
    # Measured: 0.059 0.412 0.412 0.667 0.353 0.725 0.157 0.275 0.039 0.196.
    assert (p_values < 0.05).sum() <= 2  # Binomial(10, 0.05): P(>= 3) = 1.2 %
    assert 0.2 < p_values.mean() < 0.7 and p_values.max() > 0.5


def test_a_clear_shift_reaches_the_floor_of_the_p_value():
    """Training: G2 molecules with at most 2 heavy atoms; pool: the larger ones."""
    train = [a for a in G2 if heavy_atoms(a) <= 2]
    pool = [a for a in G2 if heavy_atoms(a) > 2]
    result = adversarial_validation(train, pool, seed=0)
    assert result.settings["permutations"] == 100 and result.null_aucs.shape == (100,)
    assert result.p_value == pytest.approx(1 / 101) and result.shift_detected and not result.stop
    low, median, high = result.null_auc
    # Measured: AUC 0.924, null quantiles 0.36 / 0.50 / 0.59 (the "counts" descriptor: 0.920).
    assert low < median < high and abs(median - 0.5) < 0.05 and result.auc > high + 0.2
    assert result.decision.verdict.startswith("shift: AUC 0.924") and "p = 0.010 <= 0.05" in result.decision.verdict


def test_anti_learning_below_the_null_reads_no_evidence_of_shift_and_stops():
    """Each G2 molecule once in training and once (another conformer) in the pool, as different
    molecules: a held-out conformer's twin sits on the other side of the fit, so cross-validation
    anti-learns, as after a selection that spread the training set evenly over the pool."""
    train = [rattled(a, seed=i) for i, a in enumerate(G2)]
    pool = [rattled(a, seed=500 + i) for i, a in enumerate(G2)]
    groups = [f"train{i}" for i in range(len(G2))] + [f"pool{i}" for i in range(len(G2))]
    result = adversarial_validation(train, pool, seed=0, groups=groups)
    # Measured: AUC 0.338 [0.30, 0.38], null 2.5 % quantile 0.42, p = 1.
    assert result.auc < result.null_auc[0] and result.p_value > 0.95
    assert not result.shift_detected and result.stop
    assert f"STOP - {ANTI_LEARNING}, below the null's 2.5 % quantile" in result.decision.verdict


class _RecordingCV:
    """Stands in for a cross-validation: records the labels it is run with, returns random scores."""

    def __init__(self) -> None:
        self.labels: list[np.ndarray] = []

    def repeated(self, features, labels, groups, seeds):
        self.labels.append(labels.copy())
        return np.random.default_rng(len(self.labels)).random((len(seeds), labels.size))


def test_permutations_move_whole_groups_and_keep_the_number_of_pool_units():
    groups = np.repeat(np.arange(12), 3)  # 12 molecules of 3 conformers
    labels = np.repeat(np.r_[np.zeros(5, int), np.ones(7, int)], 3)
    labels[33:36] = [0, 1, 1]  # molecule 11 sits on both sides: two units
    cv = _RecordingCV()
    null = permutation_null(cv, np.zeros((36, 1)), labels, groups, seeds=np.random.SeedSequence(0).spawn(20), repeats=2)
    assert null.shape == (20,) and len(cv.labels) == 20
    for permuted in cv.labels:
        for g in range(11):  # a molecule on one side keeps one label for all its conformers
            assert np.unique(permuted[groups == g]).size == 1
        assert permuted[34] == permuted[35]  # molecule 11's pool unit
        assert permuted[:33:3].sum() + permuted[33] + permuted[34] == 7  # 7 of the 13 units are pool
    assert len({tuple(p) for p in cv.labels}) > 15  # the relabellings differ


def test_same_seed_same_null_other_seed_other_null():
    train, pool = random_split(3)
    first = adversarial_validation(train, pool, seed=4, repeats=2, permutations=20)
    again = adversarial_validation(train, pool, seed=4, repeats=2, permutations=20)
    np.testing.assert_array_equal(first.null_aucs, again.null_aucs)
    np.testing.assert_array_equal(first.repeat_aucs, again.repeat_aucs)
    assert first.p_value == again.p_value and first.auc_interval == again.auc_interval
    other = adversarial_validation(train, pool, seed=5, repeats=2, permutations=20)
    assert not np.array_equal(other.null_aucs, first.null_aucs)
    # The observed cross-validation does not depend on how many permutations follow.
    fewer = adversarial_validation(train, pool, seed=4, repeats=2, permutations=5)
    np.testing.assert_array_equal(fewer.repeat_aucs, first.repeat_aucs)


def test_permutations_off_give_no_p_value_and_the_interval_rule():
    train, pool = random_split(3)
    result = adversarial_validation(train, pool, seed=0, permutations=0)
    assert result.p_value is None and result.null_auc is None and result.null_aucs.size == 0
    assert result.settings["permutations"] == 0 and result.settings["null"] is None
    assert "p =" not in result.decision.verdict
