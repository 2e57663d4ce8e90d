"""Training sets of equal size chosen by different strategies from a split's pool.

Every strategy starts from the same seeded random half (``size // 2``, at least 2 molecules)
and fills the other half its own way, so the sets differ only in how the second half was chosen:

- ``random``: the next molecules of the same seeded permutation (sets are nested over sizes);
- ``adversarial``: the pool molecules the adversarial classifier finds least like the first
  half (out-of-fold P(pool));
- ``committee``: the molecules on which a committee of models trained on the first half
  disagrees most (Hartree/atom).

Scored picks are the top ``CANDIDATE_FACTOR * k`` scorers thinned by farthest-point sampling
(:func:`atomloop.select.diverse_top_k`); the factor is small so that the scores, not the
diversity alone, decide when k is a large part of the pool. The seeded permutation puts first
one molecule for each element of the pool (in permutation order), so that every training set
of at least as many molecules as the pool has elements knows every element: an element a model
never saw cannot be predicted, and would swamp every comparison.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from ase import Atoms

from atomloop.errors import InputError
from atomloop.select import PoolView, adversarial_validation, diverse_top_k, get_strategy, molecule_descriptors

CommitteePredictor = Callable[[list[int], list[int]], np.ndarray]
"""(training ids, candidate ids) -> energies of the candidates, shape (n_models, n_candidates), Hartree."""

AUC_BOOTSTRAP = 200
CANDIDATE_FACTOR = 2


def element_covering_order(ids: Sequence[int], atoms_by_id: Mapping[int, Atoms], seed: int) -> list[int]:
    """``ids`` in a seeded random order, the first molecule bringing each new element moved to
    the front (those keep their relative order)."""
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    seen: set[int] = set()
    covering = []
    for molecule_id in order:
        elements = set(atoms_by_id[molecule_id].numbers.tolist())
        if not elements <= seen:
            covering.append(molecule_id)
            seen |= elements
    chosen = set(covering)
    return covering + [i for i in order if i not in chosen]


def choose_training_set(
    strategy: str,
    pool: Sequence[int],
    size: int,
    *,
    seed: int,
    atoms_by_id: Mapping[int, Atoms],
    committee: CommitteePredictor | None = None,
) -> list[int]:
    """``size`` molecule ids of ``pool`` chosen by ``strategy`` (sorted; deterministic for a seed)."""
    if size > len(pool):
        raise InputError(f"training-set size {size} exceeds the {len(pool)} molecules available for training")
    order = element_covering_order(pool, atoms_by_id, seed)
    if strategy == "random":
        return sorted(order[:size])
    base, candidates = order[: max(2, size // 2)], order[max(2, size // 2) :]
    k = size - len(base)
    if k == 0:
        return sorted(base)
    candidate_atoms = [atoms_by_id[i] for i in candidates]
    natoms = np.array([len(a) for a in candidate_atoms])
    if strategy == "adversarial":
        result = adversarial_validation(
            [atoms_by_id[i] for i in base], candidate_atoms, seed=seed, n_bootstrap=AUC_BOOTSTRAP, permutations=0,
        )  # only the scores are used: no permutation test
        view = PoolView(descriptors=result.pool_descriptors, natoms=natoms, ood_scores=result.scores)
    elif strategy == "committee":
        if committee is None:
            raise InputError("the committee strategy needs a committee predictor")
        predictions = committee(sorted(base), candidates)
        view = PoolView(molecule_descriptors(candidate_atoms), natoms, committee_predictions=predictions)
    else:
        raise InputError(f"unknown training-data strategy {strategy!r}")
    picked = diverse_top_k(get_strategy(strategy).score(view), view.descriptors, k, candidate_factor=CANDIDATE_FACTOR)
    return sorted(base + [candidates[i] for i in picked])
