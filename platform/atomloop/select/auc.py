"""ROC AUC, its cluster-bootstrap confidence interval and its permutation p-value.

The AUC is the Mann-Whitney statistic: the probability that a random positive (pool, label 1)
scores above a random negative (training, label 0), ties counting one half. With sample
weights ``w`` it reads ``sum_b P_b (N_below(b) + N_b / 2) / (P N)`` over blocks ``b`` of tied
scores, where ``P_b`` and ``N_b`` are the weights of positives and negatives in the block.

The bootstrap resamples *clusters* (conformers of one molecule, or the atoms of one
molecule) with replacement separately within each class, so correlated items move together
and each replicate keeps both classes. Scores of several cross-validation repeats (shape
(R, n)) are resampled together: a replicate's AUC is the mean over the repeats of the AUC of
the same resample, the interval of the repeat-mean AUC.

The permutation p-value (one-sided, H1: AUC > 0.5) counts the null AUCs at least as large as
the observed one, ``p = (1 + #{null >= observed}) / (B + 1)``: the observed labelling counts
as one of the equally likely labellings, so ``p >= 1 / (B + 1)`` and the test is exact.
"""

from __future__ import annotations

import numpy as np

_FLOATS_PER_BATCH = 4_000_000


class _SortedBlocks:
    """Scores sorted once, with the start of every block of tied scores."""

    def __init__(self, scores: np.ndarray, labels: np.ndarray) -> None:
        self.order = np.argsort(scores, kind="stable")
        sorted_scores = scores[self.order]
        self.starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
        self.positive = labels[self.order].astype(bool)

    def auc(self, weights: np.ndarray) -> np.ndarray:
        """AUC for each row of ``weights`` (shape (B, n), in the original item order) -> (B,)."""
        weights = weights[:, self.order]
        pos = np.add.reduceat(np.where(self.positive, weights, 0.0), self.starts, axis=1)
        neg = np.add.reduceat(np.where(self.positive, 0.0, weights), self.starts, axis=1)
        below = np.cumsum(neg, axis=1) - neg
        return (pos * (below + 0.5 * neg)).sum(axis=1) / (pos.sum(axis=1) * neg.sum(axis=1))


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC of ``scores`` (shape (n,)) for binary ``labels`` (1 = positive)."""
    blocks = _SortedBlocks(np.asarray(scores, dtype=float), np.asarray(labels))
    return float(blocks.auc(np.ones((1, len(scores))))[0])


def label_units(labels: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One unit per (class, cluster) pair: the unit of each item, shape (n,), and the class of
    each unit, shape (U,). Units are what the bootstrap resamples and the permutation test relabels."""
    labels = np.asarray(labels).astype(int)
    _, unit_of_item = np.unique(np.stack([labels, np.asarray(clusters)]), axis=1, return_inverse=True)
    unit_of_item = unit_of_item.ravel()
    unit_class = np.zeros(int(unit_of_item.max()) + 1, dtype=int)
    unit_class[unit_of_item] = labels
    return unit_of_item, unit_class


def bootstrap_auc_interval(
    scores: np.ndarray,
    labels: np.ndarray,
    clusters: np.ndarray,
    *,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of the AUC over ``n_bootstrap`` stratified cluster resamples.

    ``scores``: shape (n,), or (R, n) for R cross-validation repeats (the interval of the mean
    AUC over repeats). ``clusters`` (shape (n,), integers) names each item's cluster; a
    cluster is resampled within each class it appears in.
    """
    repeats = np.atleast_2d(np.asarray(scores, dtype=float))
    labels = np.asarray(labels).astype(int)
    blocks = [_SortedBlocks(row, labels) for row in repeats]
    rng = np.random.default_rng(seed)
    unit_of_item, unit_class = label_units(labels, clusters)
    n_units = unit_class.size
    units_by_class = [np.flatnonzero(unit_class == c) for c in (0, 1)]
    batch = max(1, _FLOATS_PER_BATCH // max(labels.size, n_units))
    aucs = []
    for start in range(0, n_bootstrap, batch):
        size = min(batch, n_bootstrap - start)
        rows = np.arange(size)[:, None] * n_units
        drawn = np.concatenate(
            [rows + units[rng.integers(0, units.size, size=(size, units.size))] for units in units_by_class], axis=1
        )
        counts = np.bincount(drawn.ravel(), minlength=size * n_units).reshape(size, n_units).astype(float)
        weights = counts[:, unit_of_item]
        aucs.append(np.mean([repeat.auc(weights) for repeat in blocks], axis=0))
    tail = 50.0 * (1.0 - confidence)
    low, high = np.percentile(np.concatenate(aucs), [tail, 100.0 - tail])
    return float(low), float(high)


def permutation_p_value(observed: float, null: np.ndarray) -> float:
    """One-sided p-value of ``observed`` against ``null`` AUCs (shape (B,), B >= 1), at least 1 / (B + 1)."""
    null = np.asarray(null, dtype=float)
    return float((1 + np.count_nonzero(null >= observed)) / (null.size + 1))
