"""Selection strategies behind one interface, found by name in a registry.

A strategy sees a :class:`PoolView` (what is known about each pool molecule) and picks ``k``
of them in rank order. Score-based strategies pick the top scorers made diverse by greedy
farthest-point sampling (:func:`diverse_top_k`), so one new motif does not fill a batch.

* ``adversarial``: the adversarial-validation OOD score (out-of-fold P(pool)).
* ``random``: a seeded uniform draw, the baseline every study compares against.
* ``committee``: disagreement of the models' energy predictions, per atom
  (:func:`committee_disagreement`, Hartree/atom).
* ``hybrid``: the mean of the two scores' rank percentiles, ``w r_committee + (1 - w) r_ood``
  with ``w = 0.5``: rank-based, so the scales (Hartree/atom vs probability) do not matter.
* ``ensemble``: ``committee`` with at least :data:`ENSEMBLE_MEMBERS` members (models trained on
  bootstrap resamples of the labelled set).
* ``targeted``: toward molecules the user wants to predict (unlabelled): a classifier tells the
  labelled set (0) from the target molecules (1); a pool molecule's score is its logit, the log
  of the density ratio p_target / p_labelled up to a constant (:func:`target_density_ratio`).
* ``k-center``: greedy k-center (Sener & Savarese 2018): each pick the pool molecule farthest, in
  standardised descriptors, from everything labelled or picked before.
* ``lcmd``: largest-cluster maximum-distance (Holzmüller et al., JMLR 2023) in the model's
  last-layer features (the gradient kernel of its output layer): every pool molecule belongs to
  its nearest centre (labelled or picked); each pick is the farthest member of the cluster with
  the largest sum of squared distances.
* ``targeted-lcmd``: half of every batch (rounded up) by ``targeted``, the rest by ``lcmd`` with
  those picks counted as labelled; with no molecules to be predicted, all ``lcmd``.
* ``coverage``: radius-2 bond-graph atom environments (:mod:`atomloop.select.environments`) not
  yet in the labelled set, each weighted by how many pool molecules hold it; greedy, a pick's
  environments count as covered for the next (a pool whose environments are all covered is
  topped up at random).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from scipy.stats import rankdata

from atomloop.errors import InputError

if TYPE_CHECKING:
    from atomloop.select.adversarial import AdversarialResult

DEFAULT_CANDIDATE_FACTOR = 5


@dataclass(frozen=True)
class PoolView:
    """What a strategy may use, aligned over the n pool molecules.

    ``descriptors``: shape (n, D), molecule descriptors (diversity). ``natoms``: shape (n,).
    ``ood_scores``: shape (n,), higher = more out of distribution. ``committee_predictions``:
    shape (n_models, n), total energies (Hartree, or any one unit). ``labelled_descriptors`` (m, D)
    and ``target_descriptors`` (t, D): the same descriptors of the m labelled molecules and of t
    molecules to be predicted. ``embeddings`` (n, E) and ``labelled_embeddings`` (m, E): the
    model's last-layer features. ``environments``: per pool molecule, the integer ids of its atoms'
    environments; ``labelled_environments``: the ids the labelled set holds.
    """

    descriptors: np.ndarray
    natoms: np.ndarray
    ood_scores: np.ndarray | None = None
    committee_predictions: np.ndarray | None = None
    labelled_descriptors: np.ndarray | None = None
    target_descriptors: np.ndarray | None = None
    embeddings: np.ndarray | None = None
    labelled_embeddings: np.ndarray | None = None
    environments: Sequence[np.ndarray] | None = None
    labelled_environments: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(self.natoms.size)


@dataclass(frozen=True)
class Picked:
    """Chosen pool positions in rank order, with the strategy's score of each (None: unscored)."""

    indices: np.ndarray
    scores: np.ndarray | None


def diverse_top_k(
    scores: np.ndarray, descriptors: np.ndarray, k: int, *, candidate_factor: int = DEFAULT_CANDIDATE_FACTOR
) -> np.ndarray:
    """Greedy farthest-point sampling among the ``candidate_factor * k`` top scorers.

    Starts from the best scorer; each next pick is the candidate farthest (Euclidean, in
    descriptors standardised over the candidates) from everything picked so far; ties go to the
    higher score. Returns pool positions, shape (min(k, n),).
    """
    order = np.argsort(-scores, kind="stable")
    candidates = order[: min(scores.size, candidate_factor * k)]
    features = descriptors[candidates]
    spread = features.std(axis=0)
    features = (features - features.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    picked = [0]
    nearest = np.linalg.norm(features - features[0], axis=1)
    nearest[0] = -np.inf
    for _ in range(min(k, candidates.size) - 1):
        best = int(np.argmax(nearest))
        picked.append(best)
        nearest = np.minimum(nearest, np.linalg.norm(features - features[best], axis=1))
        nearest[picked] = -np.inf
    return candidates[picked]


def committee_disagreement(predictions: np.ndarray, natoms: np.ndarray) -> np.ndarray:
    """Standard deviation over models of the predicted energy, per atom (Hartree/atom).

    ``predictions``: shape (n_models >= 2, n). For two models this is |E_1 - E_2| / (2 N).
    """
    predictions = np.asarray(predictions, dtype=float)
    if predictions.ndim != 2 or predictions.shape[0] < 2:
        raise InputError(
            f"committee needs predictions of at least 2 models, shape (n_models, n); got {predictions.shape}"
        )
    return predictions.std(axis=0) / np.asarray(natoms, dtype=float)


def _rank_percentile(values: np.ndarray) -> np.ndarray:
    return rankdata(values) / values.size


ENSEMBLE_MEMBERS = 4


class Strategy(ABC):
    """A way to pick k pool molecules; subclasses set ``name`` and define :meth:`select`.
    ``needs``: the :class:`PoolView` fields beyond descriptors and atom counts it reads."""

    name: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ()

    @property
    def needs_ood(self) -> bool:
        return "ood_scores" in self.needs

    @property
    def needs_committee(self) -> bool:
        return "committee_predictions" in self.needs

    @abstractmethod
    def select(self, pool: PoolView, k: int, *, seed: int = 0) -> Picked:
        """The ``k`` picks (fewer if the pool is smaller) in rank order; deterministic per seed."""


class ScoredStrategy(Strategy):
    """Picks the top scorers of :meth:`score`, made diverse by :func:`diverse_top_k`."""

    @abstractmethod
    def score(self, pool: PoolView) -> np.ndarray:
        """One score per pool molecule, shape (n,), higher = pick first."""

    def select(self, pool: PoolView, k: int, *, seed: int = 0) -> Picked:
        _check_k(k, pool)
        scores = self.score(pool)
        chosen = diverse_top_k(scores, pool.descriptors, k)
        return Picked(indices=chosen, scores=scores[chosen])


def _check_k(k: int, pool: PoolView) -> None:
    if k < 1:
        raise InputError(f"k must be at least 1; got {k}")
    if pool.size == 0:
        raise InputError("the pool is empty: nothing to select")


def _require(values: np.ndarray | None, what: str, strategy: str) -> np.ndarray:
    if values is None:
        raise InputError(f"strategy {strategy!r} needs {what}")
    return values


class AdversarialStrategy(ScoredStrategy):
    name = "adversarial"
    needs = ("ood_scores",)

    def score(self, pool: PoolView) -> np.ndarray:
        return _require(pool.ood_scores, "adversarial-validation scores", self.name)


class RandomStrategy(Strategy):
    name = "random"

    def select(self, pool: PoolView, k: int, *, seed: int = 0) -> Picked:
        _check_k(k, pool)
        chosen = np.random.default_rng(seed).permutation(pool.size)[:k]
        return Picked(indices=chosen, scores=None)


class CommitteeStrategy(ScoredStrategy):
    name = "committee"
    needs = ("committee_predictions",)
    min_members: ClassVar[int] = 2

    def score(self, pool: PoolView) -> np.ndarray:
        predictions = _require(pool.committee_predictions, f"predictions of at least {self.min_members} models",
                               self.name)
        if predictions.shape[0] < self.min_members:
            raise InputError(f"strategy {self.name!r} needs predictions of at least {self.min_members} models; "
                             f"got {predictions.shape[0]}")
        return committee_disagreement(predictions, pool.natoms)


class EnsembleStrategy(CommitteeStrategy):
    name = "ensemble"
    min_members = ENSEMBLE_MEMBERS


class HybridStrategy(ScoredStrategy):
    name = "hybrid"
    needs = ("ood_scores", "committee_predictions")
    committee_weight: ClassVar[float] = 0.5

    def score(self, pool: PoolView) -> np.ndarray:
        committee = CommitteeStrategy().score(pool)
        ood = AdversarialStrategy().score(pool)
        w = self.committee_weight
        return w * _rank_percentile(committee) + (1.0 - w) * _rank_percentile(ood)


def _standardised(*blocks: np.ndarray) -> list[np.ndarray]:
    """``blocks`` standardised with the mean and spread of all their rows together."""
    stacked = np.vstack(blocks)
    spread = stacked.std(axis=0)
    mean, scale = stacked.mean(axis=0), np.where(spread > 0, spread, 1.0)
    return [(block - mean) / scale for block in blocks]


def target_density_ratio(labelled: np.ndarray, target: np.ndarray, pool: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Log density ratio log(p_target / p_labelled) of each pool row, up to a constant, shape (n,):
    the logit of an L2-regularised logistic regression of labelled rows (0, shape (m, D)) against
    target rows (1, shape (t, D)), classes weighted equally, on standardised descriptors."""
    from sklearn.linear_model import LogisticRegression

    labelled, target, pool = _standardised(labelled, target, pool)
    features = np.vstack([labelled, target])
    labels = np.r_[np.zeros(len(labelled)), np.ones(len(target))]
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000, tol=1e-8, random_state=seed)
    return model.fit(features, labels).decision_function(pool)


def _nearest(rows: np.ndarray, centres: np.ndarray, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Index of each row's nearest centre and the squared distance to it, shapes (n,) and (n,),
    for rows (n, D) and centres (c >= 1, D)."""
    best, owner = np.full(len(rows), np.inf), np.zeros(len(rows), dtype=int)
    norms = (rows**2).sum(axis=1)[:, None]
    for start in range(0, len(centres), chunk):
        block = centres[start:start + chunk]
        d2 = np.maximum(norms - 2 * rows @ block.T + (block**2).sum(axis=1)[None, :], 0.0)
        column = d2.argmin(axis=1)
        value = d2[np.arange(len(rows)), column]
        better = value < best
        best, owner = np.where(better, value, best), np.where(better, start + column, owner)
    return owner, best


def greedy_centres(pool: np.ndarray, labelled: np.ndarray, k: int, *, largest_cluster: bool) -> np.ndarray:
    """k pool positions picked one at a time, each becoming a centre beside the labelled rows.

    ``largest_cluster=False``: greedy k-center, the pool row farthest from every centre.
    ``True``: LCMD, the farthest member of the cluster (pool rows sharing a nearest centre) whose
    squared distances sum highest. ``pool`` (n, D), ``labelled`` (m, D); returns shape (min(k, n),).
    """
    n = len(pool)
    if len(labelled):
        owner, d2 = _nearest(pool, labelled)
    else:
        owner, d2 = np.zeros(n, dtype=int), np.full(n, np.inf)
    available = np.ones(n, dtype=bool)
    picked: list[int] = []
    for _ in range(min(k, n)):
        if largest_cluster and np.isfinite(d2).all():
            sizes = np.bincount(owner, weights=d2, minlength=len(labelled) + n)
            members = np.flatnonzero((owner == np.argmax(sizes)) & available)
            choice = int(members[np.argmax(d2[members])]) if members.size else int(np.argmax(np.where(available, d2, -1)))
        else:
            choice = int(np.argmax(np.where(available, d2, -1.0)))
        picked.append(choice)
        available[choice] = False
        new = ((pool - pool[choice]) ** 2).sum(axis=1)
        closer = new < d2
        d2, owner = np.where(closer, new, d2), np.where(closer, len(labelled) + choice, owner)
    return np.array(picked, dtype=int)


class TargetedStrategy(ScoredStrategy):
    name = "targeted"
    needs = ("labelled_descriptors", "target_descriptors")

    def score(self, pool: PoolView) -> np.ndarray:
        labelled = _require(pool.labelled_descriptors, "descriptors of the labelled molecules", self.name)
        target = _require(pool.target_descriptors, "descriptors of the molecules to be predicted", self.name)
        return target_density_ratio(labelled, target, pool.descriptors)


class KCenterStrategy(Strategy):
    name = "k-center"
    needs = ("labelled_descriptors",)

    def select(self, pool: PoolView, k: int, *, seed: int = 0) -> Picked:
        _check_k(k, pool)
        labelled = _require(pool.labelled_descriptors, "descriptors of the labelled molecules", self.name)
        rows, labelled = _standardised(pool.descriptors, labelled)
        return Picked(indices=greedy_centres(rows, labelled, k, largest_cluster=False), scores=None)


class LCMDStrategy(Strategy):
    name = "lcmd"
    needs = ("embeddings", "labelled_embeddings")

    def select(self, pool: PoolView, k: int, *, seed: int = 0) -> Picked:
        _check_k(k, pool)
        rows = _require(pool.embeddings, "the model's last-layer features of the pool", self.name)
        labelled = _require(pool.labelled_embeddings, "the model's last-layer features of the labelled set", self.name)
        return Picked(indices=greedy_centres(rows, labelled, k, largest_cluster=True), scores=None)


class TargetedLCMDStrategy(Strategy):
    name = "targeted-lcmd"
    needs = ("labelled_descriptors", "target_descriptors", "embeddings", "labelled_embeddings")

    def select(self, pool: PoolView, k: int, *, seed: int = 0) -> Picked:
        _check_k(k, pool)
        rows = _require(pool.embeddings, "the model's last-layer features of the pool", self.name)
        labelled = _require(pool.labelled_embeddings, "the model's last-layer features of the labelled set", self.name)
        if pool.target_descriptors is None or len(pool.target_descriptors) == 0:
            return Picked(indices=greedy_centres(rows, labelled, k, largest_cluster=True), scores=None)
        toward = TargetedStrategy().select(pool, (min(k, pool.size) + 1) // 2, seed=seed).indices
        rest = np.setdiff1d(np.arange(pool.size), toward)
        spread = greedy_centres(rows[rest], np.vstack([labelled, rows[toward]]), min(k, pool.size) - toward.size,
                                largest_cluster=True)
        return Picked(indices=np.concatenate([toward, rest[spread]]), scores=None)


def environment_coverage(environments: Sequence[np.ndarray], covered: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Greedy picks (positions, shape (min(k, n),)) that add the most pool-frequency-weighted
    environments not in ``covered``; ``environments``: one int array of environment ids per pool
    molecule. Once nothing new is left, the rest is a seeded uniform draw."""
    from scipy.sparse import csr_matrix

    n = len(environments)
    unique = [np.unique(ids) for ids in environments]
    columns = np.concatenate(unique) if n else np.zeros(0, dtype=int)
    keys, column = np.unique(columns, return_inverse=True)
    holds = csr_matrix((np.ones(column.size), (np.repeat(np.arange(n), [u.size for u in unique]), column)),
                       shape=(n, keys.size))
    weight = np.asarray(holds.sum(axis=0)).ravel() * ~np.isin(keys, covered)
    by_environment = holds.T.tocsr()
    gains = holds @ weight
    picked: list[int] = []
    available = np.ones(n, dtype=bool)
    for _ in range(min(k, n)):
        choice = int(np.argmax(np.where(available, gains, -1.0)))
        if gains[choice] <= 0:
            break
        picked.append(choice)
        available[choice] = False
        new = holds.indices[holds.indptr[choice]:holds.indptr[choice + 1]]
        new = new[weight[new] > 0]
        gains -= by_environment[new].T @ weight[new]
        weight[new] = 0.0
    rest = np.random.default_rng(seed).permutation(np.flatnonzero(available))[: min(k, n) - len(picked)]
    return np.r_[np.array(picked, dtype=int), rest]


class CoverageStrategy(Strategy):
    name = "coverage"
    needs = ("environments", "labelled_environments")

    def select(self, pool: PoolView, k: int, *, seed: int = 0) -> Picked:
        _check_k(k, pool)
        environments = _require(pool.environments, "atom environments of the pool", self.name)
        covered = _require(pool.labelled_environments, "atom environments of the labelled set", self.name)
        return Picked(indices=environment_coverage(environments, covered, k, seed), scores=None)


STRATEGIES: dict[str, Strategy] = {}


def register_strategy(strategy: Strategy) -> Strategy:
    """Add ``strategy`` to the registry under its ``name`` (replacing one of the same name)."""
    STRATEGIES[strategy.name] = strategy
    return strategy


def get_strategy(name: str) -> Strategy:
    """The registered strategy called ``name``."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise InputError(f"unknown selection strategy {name!r}; choose one of {sorted(STRATEGIES)}") from None


def one_per_group(groups: Sequence[str], scores: np.ndarray | None, seed: int) -> np.ndarray:
    """Positions of one representative per group (ascending): the best scorer of each group,
    or, unscored, a seeded uniform choice among its members."""
    keys = np.asarray(groups, dtype=object)
    order = np.random.default_rng(seed).permutation(keys.size) if scores is None else np.argsort(-scores, kind="stable")
    _, first = np.unique(keys[order].astype(str), return_index=True)
    return np.sort(order[first])


@dataclass(frozen=True)
class LabelledSet:
    """What strategies know beyond an adversarial validation: the labelled set's molecule
    descriptors (m, D; the kind of ``AdversarialResult.pool_descriptors``) and atom environment
    ids, the environment ids of each pool molecule, a model's last-layer features of the
    labelled set (m, F) and of the pool (n_pool, F), and the descriptors of the t molecules to be
    predicted (t, D)."""

    descriptors: np.ndarray | None = None
    environments: np.ndarray | None = None
    pool_environments: Sequence[np.ndarray] | None = None
    embeddings: np.ndarray | None = None
    pool_embeddings: np.ndarray | None = None
    target_descriptors: np.ndarray | None = None


def pick(
    strategy: str, result: AdversarialResult, natoms: np.ndarray, committee: np.ndarray | None, k: int, seed: int,
    groups: Sequence[str] | None = None, labelled: LabelledSet = LabelledSet(),
) -> tuple[np.ndarray, np.ndarray | None]:
    """Pool positions in rank order and their strategy scores, from an adversarial validation
    ``result``, atom counts (n_pool,) and committee predictions (n_models, n_pool; Hartree) or
    None, and what ``labelled`` holds. Committee strategies only see pool molecules that every
    committee model has predicted.

    ``groups`` (molecule identity per pool molecule, e.g. conformers of one molecule share one):
    a round takes at most one structure per group, its best scorer under the strategy (random:
    a seeded uniform choice), so k picks are k different molecules."""
    covered = np.arange(natoms.size) if committee is None else np.flatnonzero(~np.isnan(committee).any(axis=0))
    if covered.size == 0:
        raise InputError("no pool molecule has predictions from every committee model")
    chosen_strategy = get_strategy(strategy)

    def view_of(positions: np.ndarray) -> PoolView:
        return PoolView(
            descriptors=result.pool_descriptors[positions], natoms=natoms[positions],
            ood_scores=result.scores[positions],
            committee_predictions=None if committee is None else committee[:, positions],
            labelled_descriptors=labelled.descriptors, labelled_environments=labelled.environments,
            environments=None if labelled.pool_environments is None else [labelled.pool_environments[i] for i in positions],
            labelled_embeddings=labelled.embeddings, target_descriptors=labelled.target_descriptors,
            embeddings=None if labelled.pool_embeddings is None else labelled.pool_embeddings[positions],
        )

    if groups is not None:
        scores = chosen_strategy.score(view_of(covered)) if isinstance(chosen_strategy, ScoredStrategy) else None
        covered = covered[one_per_group(np.asarray(groups, dtype=object)[covered], scores, seed)]
    picked = chosen_strategy.select(view_of(covered), k, seed=seed)
    return covered[picked.indices], picked.scores


for _strategy in (AdversarialStrategy(), RandomStrategy(), CommitteeStrategy(), HybridStrategy(), EnsembleStrategy(),
                  TargetedStrategy(), KCenterStrategy(), LCMDStrategy(), TargetedLCMDStrategy(), CoverageStrategy()):
    register_strategy(_strategy)
