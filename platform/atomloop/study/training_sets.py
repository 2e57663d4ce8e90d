"""Training sets of equal size chosen by different strategies from a split's pool.

Every strategy starts from the same seeded random half (``size // 2``, at least 2 molecules)
and fills the other half its own way, so the sets differ only in how the second half was chosen:

- ``random``: the next molecules of the same seeded permutation (sets are nested over sizes);
- ``adversarial``: the pool molecules the adversarial classifier finds least like the first
  half (out-of-fold P(pool)), diversified by farthest-point sampling;
- ``committee``: the molecules on which a committee of models trained on the first half
  disagrees most (Hartree/atom), diversified the same way.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from ase import Atoms

from atomloop.errors import InputError
from atomloop.select import PoolView, adversarial_validation, get_strategy, molecule_descriptors

CommitteePredictor = Callable[[list[int], list[int]], np.ndarray]
"""(training ids, candidate ids) -> energies of the candidates, shape (n_models, n_candidates), Hartree."""

AUC_BOOTSTRAP = 200


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
    order = sorted(pool)
    random.Random(seed).shuffle(order)
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
            [atoms_by_id[i] for i in base], candidate_atoms, seed=seed, n_bootstrap=AUC_BOOTSTRAP
        )
        view = PoolView(descriptors=result.pool_descriptors, natoms=natoms, ood_scores=result.scores)
    elif strategy == "committee":
        if committee is None:
            raise InputError("the committee strategy needs a committee predictor")
        predictions = committee(sorted(base), candidates)
        view = PoolView(molecule_descriptors(candidate_atoms), natoms, committee_predictions=predictions)
    else:
        raise InputError(f"unknown training-data strategy {strategy!r}")
    picked = get_strategy(strategy).select(view, k, seed=seed)
    return sorted(base + [candidates[i] for i in picked.indices])
