"""Adversarial validation: can a classifier tell the pool from the training set?

Training items get label 0 and pool items label 1 (molecules, or atoms at ``level="atom"``).
A classifier is trained in stratified *group* k-fold cross-validation and every item gets its
**out-of-fold** P(pool): the item's OOD score. The ROC AUC of these scores measures the shift
(0.5: indistinguishable; Lopez-Paz & Oquab, ICLR 2017). The cross-validation is repeated with
``repeats`` fold seeds: ``auc`` is the mean of the repeats' AUCs and an item's score the mean of
its out-of-fold probabilities. Pool molecules with an element absent from the training set are
out of distribution whatever the classifier says: their score is 1 and they are listed in
``unseen_element_molecules``.

Two uncertainties, each the right tool for one question:

* **Is there a shift?** A permutation test (one-sided, H1: AUC > 0.5). The train/pool labels
  are permuted among *groups* (molecule identity: all conformers of a molecule keep one label;
  a molecule on both sides is one unit per side) and the whole repeated cross-validation is
  rerun on each of ``permutations`` relabellings (descriptors and projection are computed once;
  they do not depend on labels). ``p_value = (1 + #{null >= auc}) / (B + 1)`` is exact at any
  size and accounts for what a bootstrap cannot: the classifier is refitted, so the null
  includes cross-validation's own bias (its AUC under no shift is often below 0.5).
  ``null_auc``: the null's 2.5 %, 50 % and 97.5 % quantiles.
* **How large is it?** ``auc_interval``: the 95 % percentile interval of the repeat-mean AUC over
  group-bootstrap resamples of the scored items (classes resampled separately; the same
  resample for every repeat). It holds the classifier fixed, so it measures the sampling
  spread of the AUC, not refitting; the stopping rule uses its upper bound only.

:attr:`AdversarialResult.decision` reads both as a stopping signal
(:func:`atomloop.select.stopping.stopping_decision`: shift when ``p <= 0.05``; stop when
``p > 0.05`` and the upper bound lies below 0.55).

Design choices, each against a known pitfall or measured (the classifier measurements below
were made with the former ``"counts"`` molecule descriptor, ~600 columns; the default
``"pooled"`` one, :mod:`atomloop.select.descriptors`, has some 2 000 varying columns on G2):

* **Classifier** (``classifier="auto"``, the default: ``logistic`` runs the test at every size
  and scores the pool up to 1 000 molecules on the smaller side; beyond, one cross-validation of
  ``hgb`` scores the pool, which it ranks better there, and ``settings["ranking_auc"]`` records
  its AUC; measurements in :mod:`atomloop.select.classifiers`).
  ``logistic`` is L2 logistic regression (C = 0.1) on the descriptors standardized and projected
  on their first ``n_components = 16`` principal axes (fitted once on all items, at most 20 000
  drawn at random: unsupervised, so no labels leak and permutations reuse them). Against
  ``hgb`` (gradient-boosted trees on all ~600 descriptor columns) on G2 shifts
  (bench/selection.py's generator) it finds the same AUC within the noise of fold seeds (160 vs
  160, three draws: 0.66-0.68 vs 0.66-0.69; 2 000 vs 2 000 and 1 000 vs 5 000: 0.68-0.72 vs
  0.69-0.72), at about 0.1 ms a fit instead of 2-13 s, which makes a 100-permutation test of a
  160 vs 160 round take about 2 s on 2 cores. 16 axes: at 160 a side the power (p <= 0.05, 24
  draws, standard error ~0.09) is within noise of 8 axes (0.25 / 0.29 / 0.38 vs 0.38 / 0.29 /
  0.38 for a pool with 40 % larger molecules, with carbonyls new to it, and 60 a side with 60 %
  larger), above 32 (0.12) and 4 (0.13 with carbonyls), while from 500 a side more axes rank
  better (within-pool AUC 0.92 vs 0.95-0.97 with 32-64). 3 repeats: power 0.17 / 0.25 / 0.29
  for 1 / 3 / 5, the cost in proportion. ``classifier="hgb"`` gets 1 repeat and no
  permutations by default (the stopping rule then reads the interval): a 100-permutation null
  would refit it 1 500 times, and past 1 000 molecules a side fold seeds barely move its AUC (standard deviation over 8 seeds 0.012 at
  160 a side, 0.004 at 1 000, 0.001 at 3 000, against interval widths of 0.12, 0.07, 0.06).
* **Leakage**: folds are grouped by molecule identity (``atoms.info["composition_hash"]``,
  shared by all conformers of one molecule; if absent, the Hill formula -- coarser, so it
  can only merge groups, never leak), so no molecule sits on both sides of a fold. At atom
  level all atoms of a molecule share its group. Groups are shuffled within their (majority)
  class and dealt to the folds in turn: stratified group folds, vectorized (scikit-learn's
  ``StratifiedGroupKFold`` costs 35 ms a split here, 10 s over a permutation test).
* **Imbalance** (pool >> training): the classifier is fitted on the data as they are and its
  probabilities are corrected to equal class priors (Bayes' rule: the odds are multiplied by
  ``n_train / n_pool`` of the fitting folds). The scores are then P(pool) under equal priors:
  0.5 means "as typical of training as of the pool", whatever the sizes. (Prior correction
  rather than sample weights: scikit-learn's weighted binning is orders of magnitude slower.)
  The AUC itself does not depend on priors.
* **Large pools**: each fold fits on at most ``max_fit_per_class`` items of each class (a
  seeded random subsample; the prior correction uses the counts fitted); every item still
  gets an out-of-fold score. Cost then grows with the pool only through prediction.
* **Singletons**: a motif that occurs in only one group of the pool sits in one fold only,
  so the classifier never sees it during training; it is scored by its resemblance to the
  rest. Shifts are found when a motif recurs across several molecules of the pool.

At atom level the training atoms' out-of-fold scores are the null distribution of the scores
of in-distribution environments. An atom is *flagged* when its score exceeds both 0.5 and the
``flag_quantile`` quantile of that null, so under no shift a fraction ``1 - flag_quantile`` of
pool atoms is flagged, and under a shift the atoms whose environments are new. A molecule's
score is **size-fair** (:func:`size_fair_scores`): each atom's score becomes its tail
probability ``p`` under the null, read from a normal fitted to the logits of the training
atoms' scores, and the molecule's score is ``(1 - p_min) ** n_atoms``, one minus the
Sidak-corrected p-value of its most unusual atom. The maximum of the raw atom scores (the
former aggregate) favours large molecules: under no shift the largest of n draws grows with n,
so a 30-atom molecule outranks a 5-atom one by chance alone. The corrected score is uniform
under the null whatever the size (for independent atoms; neighbouring environments are
correlated, which tilts it slightly towards small molecules), and a molecule holding one
environment new to training scores near 1 whatever its size. Measured on ethers in training
against other ethers plus alcohols of equal formulas in the pool (tests/test_select_chemistry.py):
alcohol-vs-ether AUC within the pool and the scores of ethanol (9 atoms) and 1-decanol (33),
for the maximum 1.000, 0.986 / 0.991; the mean of the top-3 atom scores 0.977, 0.766 / 0.956
(dilutes one new group in small molecules, and still grows with size under the null); the
empirical tail ``(1 + #{null >= s}) / (N + 1)`` 0.953, 0.981 / 0.932 (its floor ``1 / (N + 1)``
caps every strongly new molecule at ``(N / (N + 1)) ** n_atoms``, ranking those by size); the
normal tail 1.000, 1.000 / 1.000. Scores of molecules beyond some 8 standard deviations of the
null round to 1.

Deterministic for a given ``seed``: every random choice (projection rows, folds, fitting
subsamples, permutations, bootstrap) draws from streams spawned from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from ase import Atoms
from scipy.special import log_ndtr, logit
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from atomloop.errors import InputError
from atomloop.select.auc import bootstrap_auc_interval, label_units, permutation_p_value, roc_auc
from atomloop.select.classifiers import classifier_params, make_classifier, resolve_classifiers
from atomloop.select.descriptors import (
    DescriptorSettings,
    atom_descriptors,
    molecule_descriptors,
    resolve_molecule_kind,
)
from atomloop.select.names import LEVELS
from atomloop.select.stopping import ShiftTest, StopDecision, stopping_decision

Level = Literal["molecule", "atom"]
ClassifierName = Literal["auto", "logistic", "hgb"]

DEFAULT_REPEATS = 3
DEFAULT_PERMUTATIONS = 100
DEFAULT_COMPONENTS = 16
NULL_QUANTILES = (0.025, 0.5, 0.975)
_PROJECTION_ROWS = 20_000  # rows the principal axes are fitted on, at most
# Columns spread by less than this (descriptor units; values O(0.01-10)) are constant but for
# rounding (an angular term of a linear triplet, the spread of the four equal H of methane:
# 1e-66 to 1e-16); standardizing them would blow rounding up to unit variance and make scores
# depend on orientation and atom order.
_CONSTANT_SPREAD = 1e-12
_ATOM_LEVEL_SCORE = "(1 - p_min) ** n_atoms; p: an atom's normal tail probability under the training atoms"
_MIN_LOGIT_SPREAD = 1e-6  # floor of the null's logit standard deviation (all training atoms alike)


@dataclass(frozen=True)
class AdversarialResult:
    """Outcome of one adversarial validation.

    ``auc``: mean over the ``repeat_aucs`` (shape (R,), one per cross-validation repeat) of the
    classifier that ran the test (``settings["classifier"]``); ``auc_interval``, ``null_aucs`` and
    ``p_value`` are that classifier's too, and ``scores`` the ranking classifier's
    (``settings["ranking_classifier"]``, the same one but for large ``auto`` rounds).
    ``auc_interval``: its 95 % group-bootstrap interval. ``null_aucs``: shape (B,), the
    repeat-mean AUC of each label permutation (empty when the test was off). ``scores``: shape
    (n_pool,), out-of-fold P(pool) per pool molecule, mean over repeats (at atom level, the
    size-fair score of its atoms, :func:`size_fair_scores`); higher = more out of distribution.
    ``train_scores``: the same for training molecules. ``atom_scores`` / ``flagged_atoms`` (atom
    level only): one array per pool molecule, of shape (natoms,) and of atom indices.
    ``pool_descriptors``: molecule descriptors of the pool, shape (n_pool, D), for diversity in
    selection.
    """

    level: str
    auc: float
    auc_interval: tuple[float, float]
    scores: np.ndarray
    train_scores: np.ndarray
    n_train: int
    n_pool: int
    settings: dict
    pool_descriptors: np.ndarray = field(repr=False)
    atom_scores: list[np.ndarray] | None = field(default=None, repr=False)
    flagged_atoms: list[np.ndarray] | None = field(default=None, repr=False)
    unseen_element_molecules: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    repeat_aucs: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    null_aucs: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    @property
    def p_value(self) -> float | None:
        """One-sided permutation p-value of ``auc`` (H1: AUC > 0.5); None without permutations."""
        return permutation_p_value(self.auc, self.null_aucs) if self.null_aucs.size else None

    @property
    def null_auc(self) -> tuple[float, float, float] | None:
        """The permutation null's 2.5 %, 50 % and 97.5 % quantiles; None without permutations."""
        if not self.null_aucs.size:
            return None
        low, median, high = np.quantile(self.null_aucs, NULL_QUANTILES)
        return float(low), float(median), float(high)

    @property
    def shift_test(self) -> ShiftTest:
        """What the stopping rule reads of this validation."""
        null = self.null_auc
        return ShiftTest(self.auc, self.auc_interval, len(self.unseen_element_molecules), self.p_value,
                         None if null is None else null[0])

    @property
    def decision(self) -> StopDecision:
        """The stopping decision (one-sided; unseen elements are always a shift)."""
        return stopping_decision(self.shift_test)

    @property
    def shift_detected(self) -> bool:
        """Whether the pool differs from training: ``p <= 0.05`` (without permutations: the
        interval lies above 0.5), or a pool molecule holds an unseen element."""
        return self.decision.shift_detected

    @property
    def stop(self) -> bool:
        """Whether the loop may stop: no shift detected and the AUC confidently near 0.5."""
        return self.decision.stop


def group_keys(atoms_list: Sequence[Atoms]) -> list[str]:
    """Molecule identity of each structure: ``info['composition_hash']``, else the Hill formula."""
    return [
        str(atoms.info.get("composition_hash") or "formula:" + atoms.get_chemical_formula(mode="hill"))
        for atoms in atoms_list
    ]


def classifier_features(
    features: np.ndarray, classifier: str, n_components: int | None, rng: np.random.Generator
) -> np.ndarray:
    """What the classifier sees, shape (n, D'): the varying columns of ``features`` (n, D), those
    whose spread exceeds ``_CONSTANT_SPREAD``; for ``logistic`` standardized and, unless
    ``n_components`` is None, projected on the first ``n_components`` principal axes, fitted on
    at most ``_PROJECTION_ROWS`` rows drawn by ``rng``."""
    features = features[:, features.max(axis=0) - features.min(axis=0) > _CONSTANT_SPREAD]
    if classifier != "logistic":
        return features
    fitted = features if len(features) <= _PROJECTION_ROWS else features[
        np.sort(rng.choice(len(features), size=_PROJECTION_ROWS, replace=False))
    ]
    mean, scale = fitted.mean(axis=0), fitted.std(axis=0)
    scale[scale == 0] = 1.0
    if n_components is None:
        return (features - mean) / scale
    axes = np.linalg.svd((fitted - mean) / scale, full_matrices=False)[2][:n_components]
    return features @ (axes / scale).T - (mean / scale) @ axes.T


def equal_prior_probability(probability: np.ndarray, n_negative: int, n_positive: int) -> np.ndarray:
    """P(label 1) re-expressed for equal class priors, from a model fitted with the given counts.

    Bayes' rule: posterior odds scale with prior odds, so the odds are multiplied by
    ``n_negative / n_positive``.
    """
    return probability * n_negative / (probability * n_negative + (1.0 - probability) * n_positive)


def stratified_group_folds(
    labels: np.ndarray, groups: np.ndarray, n_splits: int, rng: np.random.Generator
) -> np.ndarray:
    """Fold of each item, shape (n,), for ``labels`` and integer ``groups`` (both shape (n,)).

    A group's class is its items' majority label; groups are shuffled within their class and
    dealt to the folds in turn (the second class continuing where the first stopped), so every
    fold holds groups of both classes. ``n_splits`` is lowered to the number of groups of the
    smaller class if needed (at least 2).
    """
    counts = np.bincount(groups)
    pool_majority = (2 * np.bincount(groups, weights=labels, minlength=counts.size) > counts)[counts > 0]
    present = np.flatnonzero(counts)
    groups_per_class = [int((pool_majority == c).sum()) for c in (0, 1)]
    splits = min(n_splits, *groups_per_class)
    if splits < 2:
        raise InputError(
            f"adversarial validation needs at least 2 distinct molecules on each side; "
            f"got {groups_per_class[0]} in training and {groups_per_class[1]} in the pool"
        )
    fold_of_group = np.zeros(counts.size, dtype=int)
    dealt = 0
    for c in (0, 1):
        members = rng.permutation(present[pool_majority == c])
        fold_of_group[members] = (dealt + np.arange(members.size)) % splits
        dealt += members.size
    return fold_of_group[groups]


@dataclass(frozen=True)
class CrossValidation:
    """How one cross-validated scoring runs (``seed``: the classifier's own; folds and fitting
    subsamples draw from the generator each run gets)."""

    classifier: str = "logistic"
    n_splits: int = 5
    seed: int = 0
    prior_correction: bool = True
    max_fit_per_class: int | None = 20_000

    def probabilities(
        self, features: np.ndarray, labels: np.ndarray, groups: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Out-of-fold P(label 1), shape (n,), of ``features`` (n, D) with ``labels`` and integer ``groups`` (n,)."""
        folds = stratified_group_folds(labels, groups, self.n_splits, rng)
        probabilities = np.empty(labels.size)
        for fold in range(int(folds.max()) + 1):
            held_out = folds == fold
            fit_rows = np.flatnonzero(~held_out)
            if self.max_fit_per_class is not None:
                fit_rows = _capped(fit_rows, labels, self.max_fit_per_class, rng)
            model = make_classifier(self.classifier, self.seed).fit(features[fit_rows], labels[fit_rows])
            probability = model.predict_proba(features[held_out])[:, 1]
            if self.prior_correction:
                n_negative, n_positive = np.bincount(labels[fit_rows], minlength=2)
                probability = equal_prior_probability(probability, n_negative, n_positive)
            probabilities[held_out] = probability
        return probabilities

    def repeated(
        self, features: np.ndarray, labels: np.ndarray, groups: np.ndarray, seeds: Sequence[np.random.SeedSequence]
    ) -> np.ndarray:
        """Out-of-fold probabilities of one run per seed: shape (R, n), R = ``len(seeds)``."""
        return np.stack([self.probabilities(features, labels, groups, np.random.default_rng(s)) for s in seeds])


def _capped(rows: np.ndarray, labels: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``cap`` of ``rows`` per class, drawn at random, in their original order."""
    kept = [
        members if members.size <= cap else rng.choice(members, size=cap, replace=False)
        for members in (rows[labels[rows] == c] for c in (0, 1))
    ]
    return np.sort(np.concatenate(kept))


def aucs_per_repeat(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """AUC of each repeat's scores (``probabilities``: shape (R, n)) -> shape (R,)."""
    return np.array([roc_auc(row, labels) for row in probabilities])


def permutation_null(
    cv: CrossValidation,
    features: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    *,
    seeds: Sequence[np.random.SeedSequence],
    repeats: int,
    progress: bool = False,
) -> np.ndarray:
    """Repeat-mean AUC under one group-level label permutation per seed: shape (B,), B = ``len(seeds)``.

    The labels of (group, label) units are permuted (the number of pool units stays), every
    item takes its unit's new label and the whole repeated cross-validation is rerun.
    """
    unit_of_item, unit_label = label_units(labels, groups)
    null = np.empty(len(seeds))
    for b, seed in enumerate(tqdm(seeds, desc="permutation null", disable=not (progress and seeds))):
        relabel, *fold_seeds = seed.spawn(1 + repeats)
        permuted = np.random.default_rng(relabel).permutation(unit_label)[unit_of_item]
        null[b] = aucs_per_repeat(cv.repeated(features, permuted, groups, fold_seeds), permuted).mean()
    return null


def adversarial_validation(
    train: Sequence[Atoms],
    pool: Sequence[Atoms],
    *,
    level: Level = "molecule",
    seed: int = 0,
    classifier: ClassifierName = "auto",
    n_components: int | None = DEFAULT_COMPONENTS,
    n_splits: int = 5,
    repeats: int | None = None,
    permutations: int | None = None,
    groups: Sequence[str] | None = None,
    descriptor_settings: DescriptorSettings | None = None,
    n_bootstrap: int = 1000,
    prior_correction: bool = True,
    max_fit_per_class: int | None = 20_000,
    flag_quantile: float = 0.99,
    progress: bool = False,
) -> AdversarialResult:
    """Test ``train`` (label 0) against ``pool`` (label 1) and score every pool molecule.

    ``classifier``: ``auto``, ``logistic`` or ``hgb`` (module docstring; ``settings["classifier"]``
    records the one that ran the test, ``settings["ranking_classifier"]`` the one that scored). ``n_components``: principal axes the ``logistic`` classifier sees
    (None: all varying standardized descriptor columns, some 100 times slower a fit; ignored by
    ``hgb``). ``descriptor_settings.molecule_kind`` chooses the molecule descriptor
    (``"pooled"``, the default, or the former ``"counts"``). ``repeats``: cross-validation runs
    with different fold seeds of the test; None means ``DEFAULT_REPEATS`` (3) when ``logistic``
    runs it and 1 for ``hgb``. ``permutations``: size B of the permutation null; 0 turns the test
    off (``p_value`` and ``null_auc`` are None, the stopping rule falls back to the interval);
    None means ``DEFAULT_PERMUTATIONS`` (100) when ``logistic`` runs the test and 0 for ``hgb``. ``groups``: optional
    molecule identities aligned with ``list(train) + list(pool)`` (default: :func:`group_keys`).
    ``prior_correction=False`` leaves the pool/training size ratio in the scores (for
    comparison only). Deterministic for a given ``seed``.
    """
    train, pool = list(train), list(pool)
    if not train:
        raise InputError("adversarial validation needs a training set; it is empty")
    if not pool:
        raise InputError("adversarial validation needs a pool; it is empty")
    if level not in LEVELS:
        raise InputError(f"unknown level {level!r}; choose one of {list(LEVELS)}")
    tested, ranking = resolve_classifiers(classifier, len(train), len(pool))
    if repeats is None:
        repeats = DEFAULT_REPEATS if tested == "logistic" else 1
    if permutations is None:
        permutations = DEFAULT_PERMUTATIONS if tested == "logistic" else 0
    if repeats < 1 or permutations < 0:
        raise InputError(f"repeats must be at least 1 and permutations at least 0; got {repeats} and {permutations}")
    keys = list(groups) if groups is not None else group_keys(train + pool)
    if len(keys) != len(train) + len(pool):
        raise InputError(f"groups has {len(keys)} entries; expected {len(train) + len(pool)} (train + pool)")
    settings = descriptor_settings or DescriptorSettings()
    settings = replace(settings, molecule_kind=resolve_molecule_kind(settings.molecule_kind, len(train) + len(pool)))
    molecule_groups = np.unique(np.asarray(keys, dtype=object).astype(str), return_inverse=True)[1]
    molecule_labels = np.r_[np.zeros(len(train), dtype=int), np.ones(len(pool), dtype=int)]
    descriptors = molecule_descriptors(train + pool, settings, progress=progress)

    if level == "molecule":
        features, labels, item_groups = descriptors, molecule_labels, molecule_groups
    else:
        features, offsets = atom_descriptors(train + pool, settings, progress=progress)
        atoms_per_molecule = np.diff(offsets)
        labels = np.repeat(molecule_labels, atoms_per_molecule)
        item_groups = np.repeat(molecule_groups, atoms_per_molecule)

    projection_seed, observed_seed, null_seed, ranking_seed = np.random.SeedSequence(seed).spawn(4)
    cv = CrossValidation(tested, n_splits, seed, prior_correction, max_fit_per_class)
    # Small fits and the projection: BLAS threads only contend (an SVD of 320 x 1 800 takes
    # 0.06 s on one thread, 0.28 s on two shared cores; 5 000 x 1 500: 3.7 s against 11.8 s).
    with threadpool_limits(limits=1, user_api="blas"):
        test_features = classifier_features(features, tested, n_components, np.random.default_rng(projection_seed))
        repeat_probabilities = cv.repeated(test_features, labels, item_groups, observed_seed.spawn(repeats))
        null_aucs = permutation_null(
            cv, test_features, labels, item_groups, seeds=null_seed.spawn(permutations), repeats=repeats,
            progress=progress,
        )
        probabilities = repeat_probabilities.mean(axis=0)
        if ranking != tested:  # one cross-validation of the ranking classifier scores the pool
            ranking_cv = replace(cv, classifier=ranking)
            probabilities = ranking_cv.probabilities(
                classifier_features(features, ranking, n_components, np.random.default_rng(projection_seed)),
                labels, item_groups, np.random.default_rng(ranking_seed),
            )
    repeat_aucs = aucs_per_repeat(repeat_probabilities, labels)
    interval = bootstrap_auc_interval(repeat_probabilities, labels, item_groups, n_bootstrap=n_bootstrap, seed=seed)

    atom_scores = flagged = flag_threshold = None
    if level == "molecule":
        molecule_scores = probabilities
    else:
        per_molecule = np.split(probabilities, offsets[1:-1])
        null_atoms = probabilities[labels == 0]
        molecule_scores = size_fair_scores(per_molecule, null_atoms)
        atom_scores = per_molecule[len(train) :]
        flag_threshold = max(0.5, float(np.quantile(null_atoms, flag_quantile)))
        flagged = [np.flatnonzero(p > flag_threshold) for p in atom_scores]

    train_elements = np.unique(np.concatenate([atoms.numbers for atoms in train]))
    unseen_atoms = [~np.isin(atoms.numbers, train_elements) for atoms in pool]
    unseen = np.array([i for i, mask in enumerate(unseen_atoms) if mask.any()], dtype=int)
    pool_scores = molecule_scores[len(train) :].copy()
    pool_scores[unseen] = 1.0
    if atom_scores is not None:  # atoms of unseen elements: score 1, always flagged
        for i in unseen:
            atom_scores[i] = np.where(unseen_atoms[i], 1.0, atom_scores[i])
            flagged[i] = np.union1d(flagged[i], np.flatnonzero(unseen_atoms[i]))

    return AdversarialResult(
        level=level,
        auc=float(repeat_aucs.mean()),
        auc_interval=interval,
        scores=pool_scores,
        train_scores=molecule_scores[: len(train)],
        n_train=len(train),
        n_pool=len(pool),
        settings={
            "classifier": tested,
            "classifier_requested": classifier,
            "classifier_params": classifier_params(tested, seed),
            "features": _feature_description(tested, n_components),
            "ranking_classifier": ranking,
            **({} if ranking == tested else {
                "ranking_classifier_params": classifier_params(ranking, seed),
                "ranking_features": _feature_description(ranking, n_components),
                "ranking_auc": roc_auc(probabilities, labels),
            }),
            "n_splits": n_splits,
            "repeats": repeats,
            "permutations": permutations,
            "seed": seed,
            "n_bootstrap": n_bootstrap,
            "max_fit_per_class": max_fit_per_class,
            "auc": "mean over repeats of the out-of-fold AUC",
            "auc_interval": "95% group-bootstrap percentile interval of the repeat-mean AUC (classifier fixed)",
            "null": "group-level label permutations, whole repeated cross-validation rerun" if permutations else None,
            "imbalance": "probabilities corrected to equal class priors" if prior_correction else None,
            "grouping": "composition_hash, else Hill formula" if groups is None else "given",
            "molecule_score": "out-of-fold P(pool)" if level == "molecule" else _ATOM_LEVEL_SCORE,
            "flag_quantile": flag_quantile if level == "atom" else None,
            "flag_threshold": flag_threshold,
            "descriptors": settings.as_dict(),
        },
        pool_descriptors=descriptors[len(train) :],
        atom_scores=atom_scores,
        flagged_atoms=flagged,
        unseen_element_molecules=unseen,
        repeat_aucs=repeat_aucs,
        null_aucs=null_aucs,
    )


def size_fair_scores(atom_scores: Sequence[np.ndarray], null_scores: np.ndarray) -> np.ndarray:
    """One score per molecule, shape (n_molecules,), in [0, 1], from its atoms' scores (one
    array of P(pool) of shape (n_atoms,) per molecule) against ``null_scores`` (shape (N,), the
    training atoms' P(pool)).

    With ``z`` an atom's logit in standard deviations of the null's logits above their mean, the
    molecule scores ``Phi(z_max) ** n_atoms``: ``(1 - p_min) ** n_atoms`` for the normal tail
    probability ``p`` (module docstring: uniform under the null whatever the size).
    """
    null = _logit(null_scores)
    spread = max(float(null.std()), _MIN_LOGIT_SPREAD)
    sizes = np.array([scores.size for scores in atom_scores])
    z = (_logit(np.concatenate(atom_scores)) - null.mean()) / spread
    z_max = np.maximum.reduceat(z, np.r_[0, np.cumsum(sizes)[:-1]])
    return np.exp(sizes * log_ndtr(z_max))


def _logit(probability: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), with p kept a machine epsilon away from 0 and 1."""
    eps = np.finfo(float).eps
    return logit(np.clip(probability, eps, 1.0 - eps))


def _feature_description(classifier: str, n_components: int | None) -> str:
    if classifier != "logistic":
        return "varying descriptor columns"
    if n_components is None:
        return "standardized descriptors"
    return f"standardized descriptors on their first {n_components} principal axes"

