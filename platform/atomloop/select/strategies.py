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
    shape (n_models, n), total energies in Hartree.
    """

    descriptors: np.ndarray
    natoms: np.ndarray
    ood_scores: np.ndarray | None = None
    committee_predictions: np.ndarray | None = None

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


class Strategy(ABC):
    """A way to pick k pool molecules; subclasses set ``name`` and define :meth:`select`."""

    name: ClassVar[str]
    needs_ood: ClassVar[bool] = False
    needs_committee: ClassVar[bool] = False

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
    needs_ood = True

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
    needs_committee = True

    def score(self, pool: PoolView) -> np.ndarray:
        predictions = _require(pool.committee_predictions, "predictions of at least two models", self.name)
        return committee_disagreement(predictions, pool.natoms)


class HybridStrategy(ScoredStrategy):
    name = "hybrid"
    needs_ood = True
    needs_committee = True
    committee_weight: ClassVar[float] = 0.5

    def score(self, pool: PoolView) -> np.ndarray:
        committee = CommitteeStrategy().score(pool)
        ood = AdversarialStrategy().score(pool)
        w = self.committee_weight
        return w * _rank_percentile(committee) + (1.0 - w) * _rank_percentile(ood)


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


def pick(
    strategy: str, result: AdversarialResult, natoms: np.ndarray, committee: np.ndarray | None, k: int, seed: int,
    groups: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Pool positions in rank order and their strategy scores, from an adversarial validation
    ``result``, atom counts (n_pool,) and committee predictions (n_models, n_pool; Hartree) or
    None. Committee strategies only see pool molecules that every committee model has predicted.

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
        )

    if groups is not None:
        scores = chosen_strategy.score(view_of(covered)) if isinstance(chosen_strategy, ScoredStrategy) else None
        covered = covered[one_per_group(np.asarray(groups, dtype=object)[covered], scores, seed)]
    picked = chosen_strategy.select(view_of(covered), k, seed=seed)
    return covered[picked.indices], picked.scores


for _strategy in (AdversarialStrategy(), RandomStrategy(), CommitteeStrategy(), HybridStrategy()):
    register_strategy(_strategy)
