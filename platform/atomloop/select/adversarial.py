"""Adversarial validation: can a classifier tell the pool from the training set?

Training items get label 0 and pool items label 1 (molecules, or atoms at ``level="atom"``).
A classifier is trained in stratified *group* k-fold cross-validation and every item gets its
**out-of-fold** P(pool): the item's OOD score. The ROC AUC of these scores measures the shift
(0.5: indistinguishable; Lopez-Paz & Oquab, ICLR 2017), with a cluster-bootstrap 95 %
interval. When the interval contains 0.5 the pool holds nothing the classifier can tell
from training data; :attr:`AdversarialResult.decision` reads it as a stopping signal
(:func:`atomloop.select.stopping.stopping_decision`, one-sided). Pool molecules with an element
absent from the training set are out of distribution whatever the classifier says: their score
is 1 and they are listed in ``unseen_element_molecules``.

Design choices, each against a known pitfall:

* **Leakage**: folds are grouped by molecule identity (``atoms.info["composition_hash"]``,
  shared by all conformers of one molecule; if absent, the Hill formula -- coarser, so it
  can only merge groups, never leak), so no molecule sits on both sides of a fold. At atom
  level all atoms of a molecule share its group.
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

At atom level a molecule's score is the **maximum** of its atoms' scores. An atom is
*flagged* when its score exceeds both 0.5 and the ``flag_quantile`` quantile of the training
atoms' out-of-fold scores: training atoms are the null distribution of scores of
in-distribution environments, so under no shift a fraction ``1 - flag_quantile`` of pool
atoms is flagged, and under a shift the atoms whose environments are new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from ase import Atoms
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from atomloop.errors import InputError
from atomloop.select.auc import bootstrap_auc_interval, roc_auc
from atomloop.select.descriptors import DescriptorSettings, atom_descriptors, molecule_descriptors
from atomloop.select.names import CLASSIFIERS, LEVELS
from atomloop.select.stopping import StopDecision, stopping_decision

Level = Literal["molecule", "atom"]
ClassifierName = Literal["hgb", "logistic"]


@dataclass(frozen=True)
class AdversarialResult:
    """Outcome of one adversarial validation.

    ``scores``: shape (n_pool,), out-of-fold P(pool) per pool molecule (at atom level, the
    maximum over its atoms); higher = more out of distribution. ``train_scores``: the same for
    training molecules. ``atom_scores`` / ``flagged_atoms`` (atom level only): one array per
    pool molecule, of shape (natoms,) and of atom indices. ``pool_descriptors``: molecule
    descriptors of the pool, shape (n_pool, D), for diversity in selection.
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

    @property
    def decision(self) -> StopDecision:
        """The stopping decision (one-sided; unseen elements are always a shift)."""
        return stopping_decision(self.auc, self.auc_interval, unseen_element_molecules=len(self.unseen_element_molecules))

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


def make_classifier(name: str, seed: int):
    """An unfitted scikit-learn classifier: ``hgb`` (gradient-boosted trees) or ``logistic``."""
    if name == "hgb":
        return HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=5, l2_regularization=1.0,
            random_state=seed,
        )
    if name == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=5000))
    raise InputError(f"unknown classifier {name!r}; choose one of {list(CLASSIFIERS)}")


def equal_prior_probability(probability: np.ndarray, n_negative: int, n_positive: int) -> np.ndarray:
    """P(label 1) re-expressed for equal class priors, from a model fitted with the given counts.

    Bayes' rule: posterior odds scale with prior odds, so the odds are multiplied by
    ``n_negative / n_positive``.
    """
    return probability * n_negative / (probability * n_negative + (1.0 - probability) * n_positive)


def out_of_fold_probabilities(
    features: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    *,
    classifier: str = "hgb",
    n_splits: int = 5,
    seed: int = 0,
    prior_correction: bool = True,
    max_fit_per_class: int | None = 20_000,
) -> np.ndarray:
    """Out-of-fold P(label 1), shape (n,), from stratified group k-fold cross-validation.

    ``n_splits`` is lowered to the number of groups of the smaller class if needed (at least 2).
    """
    groups_per_class = [np.unique(groups[labels == c]).size for c in (0, 1)]
    splits = min(n_splits, *groups_per_class)
    if splits < 2:
        raise InputError(
            f"adversarial validation needs at least 2 distinct molecules on each side; "
            f"got {groups_per_class[0]} in training and {groups_per_class[1]} in the pool"
        )
    varying = features.max(axis=0) > features.min(axis=0)
    features = features[:, varying]
    probabilities = np.empty(labels.size)
    rng = np.random.default_rng(seed)
    folds = StratifiedGroupKFold(n_splits=splits, shuffle=True, random_state=seed)
    for fit_rows, held_out in folds.split(features, labels, groups):
        if max_fit_per_class is not None:
            fit_rows = _capped(fit_rows, labels, max_fit_per_class, rng)
        if np.unique(labels[fit_rows]).size < 2:
            raise InputError("a cross-validation fold lacks one class; add molecules or lower n_splits")
        model = make_classifier(classifier, seed).fit(features[fit_rows], labels[fit_rows])
        probability = model.predict_proba(features[held_out])[:, 1]
        if prior_correction:
            n_negative, n_positive = np.bincount(labels[fit_rows], minlength=2)
            probability = equal_prior_probability(probability, n_negative, n_positive)
        probabilities[held_out] = probability
    return probabilities


def _capped(rows: np.ndarray, labels: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``cap`` of ``rows`` per class, drawn at random, in their original order."""
    kept = [
        members if members.size <= cap else rng.choice(members, size=cap, replace=False)
        for members in (rows[labels[rows] == c] for c in (0, 1))
    ]
    return np.sort(np.concatenate(kept))


def adversarial_validation(
    train: Sequence[Atoms],
    pool: Sequence[Atoms],
    *,
    level: Level = "molecule",
    seed: int = 0,
    classifier: ClassifierName = "hgb",
    n_splits: int = 5,
    groups: Sequence[str] | None = None,
    descriptor_settings: DescriptorSettings | None = None,
    n_bootstrap: int = 1000,
    prior_correction: bool = True,
    max_fit_per_class: int | None = 20_000,
    flag_quantile: float = 0.99,
    progress: bool = False,
) -> AdversarialResult:
    """Test ``train`` (label 0) against ``pool`` (label 1) and score every pool molecule.

    ``groups``: optional molecule identities aligned with ``list(train) + list(pool)``
    (default: :func:`group_keys`). ``prior_correction=False`` leaves the pool/training size
    ratio in the scores (for comparison only). Deterministic for a given ``seed``.
    """
    train, pool = list(train), list(pool)
    if not train:
        raise InputError("adversarial validation needs a training set; it is empty")
    if not pool:
        raise InputError("adversarial validation needs a pool; it is empty")
    if level not in LEVELS:
        raise InputError(f"unknown level {level!r}; choose one of {list(LEVELS)}")
    if classifier not in CLASSIFIERS:
        raise InputError(f"unknown classifier {classifier!r}; choose one of {list(CLASSIFIERS)}")
    keys = list(groups) if groups is not None else group_keys(train + pool)
    if len(keys) != len(train) + len(pool):
        raise InputError(f"groups has {len(keys)} entries; expected {len(train) + len(pool)} (train + pool)")
    settings = descriptor_settings or DescriptorSettings()
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

    probabilities = out_of_fold_probabilities(
        features, labels, item_groups, classifier=classifier, n_splits=n_splits, seed=seed,
        prior_correction=prior_correction, max_fit_per_class=max_fit_per_class,
    )
    auc = roc_auc(probabilities, labels)
    interval = bootstrap_auc_interval(probabilities, labels, item_groups, n_bootstrap=n_bootstrap, seed=seed)

    atom_scores = flagged = flag_threshold = None
    if level == "molecule":
        molecule_scores = probabilities
    else:
        per_molecule = np.split(probabilities, offsets[1:-1])
        molecule_scores = np.array([p.max() for p in per_molecule])
        atom_scores = per_molecule[len(train) :]
        flag_threshold = max(0.5, float(np.quantile(probabilities[labels == 0], flag_quantile)))
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
        auc=auc,
        auc_interval=interval,
        scores=pool_scores,
        train_scores=molecule_scores[: len(train)],
        n_train=len(train),
        n_pool=len(pool),
        settings={
            "classifier": classifier,
            "classifier_params": _classifier_params(classifier, seed),
            "n_splits": n_splits,
            "seed": seed,
            "n_bootstrap": n_bootstrap,
            "max_fit_per_class": max_fit_per_class,
            "imbalance": "probabilities corrected to equal class priors" if prior_correction else None,
            "grouping": "composition_hash, else Hill formula" if groups is None else "given",
            "molecule_score": "out-of-fold P(pool)" if level == "molecule" else "max over atoms of out-of-fold P(pool)",
            "flag_quantile": flag_quantile if level == "atom" else None,
            "flag_threshold": flag_threshold,
            "descriptors": settings.as_dict(),
        },
        pool_descriptors=descriptors[len(train) :],
        atom_scores=atom_scores,
        flagged_atoms=flagged,
        unseen_element_molecules=unseen,
    )


def _classifier_params(name: str, seed: int) -> dict:
    params = make_classifier(name, seed).get_params(deep=True)
    return {key: value for key, value in params.items() if isinstance(value, (int, float, str, bool, type(None)))}
