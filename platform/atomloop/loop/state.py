"""A run's splits, drawn once and stored with the ``runs`` row (idempotently).

Splits of a run (dataset ``run:<name>``): ``ood_test`` = ``ood_size`` molecules drawn from
the largest fifth of the pool by heavy-atom count (out of distribution for a small-molecule
start), ``train`` = the initial training set and ``test`` = in-distribution test molecules,
both drawn from the smaller half; every other pool molecule is ``pool``. Selected molecules
keep split ``pool`` in the dataset; their selection rows say when they joined training.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine

from atomloop.db.engine import session_scope
from atomloop.errors import InputError
from atomloop.loop.config import LoopConfig
from atomloop.store.runs import create_run, locked_run_parameters, pool_molecules


def _cover_elements(
    train: list[int], candidates: list[int], elements: dict[int, frozenset[int]], heavy: dict[int, int]
) -> list[int]:
    """Swap the smallest candidate carrying each element missing from ``train`` into it, so the
    initial models know every element of the pool (an unseen element cannot be predicted).
    When every training molecule is the sole carrier of one of its elements, the carrier is
    added instead: the initial set then grows beyond ``initial``."""
    train = list(train)
    for element in sorted(set().union(*(elements[i] for i in candidates + train))):
        if any(element in elements[i] for i in train):
            continue
        carriers = sorted((heavy[i], i) for i in candidates if element in elements[i] and i not in train)
        if carriers:
            replaceable = [i for i in train if not _sole_carrier(i, train, elements)]
            if replaceable:
                train.remove(replaceable[-1])
            train.append(carriers[0][1])
    return train


def _sole_carrier(molecule_id: int, train: list[int], elements: dict[int, frozenset[int]]) -> bool:
    others = set().union(*(elements[i] for i in train if i != molecule_id))
    return not elements[molecule_id] <= others


def draw_splits(
    ids: np.ndarray, heavy_atoms: np.ndarray, element_sets: list[frozenset[int]], config: LoopConfig
) -> dict[str, list[int]]:
    """Seeded split of pool molecules into ``train``, ``test``, ``ood_test`` and ``pool``.

    The initial training set is then completed so that it contains every element of the
    in-distribution candidates (the smallest molecule carrying a missing element replaces a
    training molecule whose elements others already cover, or joins the set).
    """
    needed = config.initial + config.test_size + config.ood_size + config.k
    if len(ids) < needed:
        raise InputError(
            f"the pool has {len(ids)} molecules; initial + test + ood + k needs at least {needed}"
        )
    rng = np.random.default_rng(config.seed)
    order = np.lexsort((rng.random(len(ids)), heavy_atoms))  # by size, ties broken at random
    ranked = ids[order]
    large = ranked[int(0.8 * len(ranked)):]
    ood = rng.choice(large, size=min(config.ood_size, len(large)), replace=False)
    small = [i for i in ranked[: max(len(ranked) // 2, config.initial + config.test_size)] if i not in set(ood)]
    chosen = rng.choice(np.asarray(small), size=config.initial + config.test_size, replace=False)
    elements = {int(i): s for i, s in zip(ids, element_sets)}
    heavy = {int(i): int(h) for i, h in zip(ids, heavy_atoms)}
    in_distribution = [int(i) for i in ranked if int(i) not in set(ood.tolist())]
    train = _cover_elements([int(i) for i in chosen[: config.initial]], in_distribution, elements, heavy)
    test = [int(i) for i in chosen if int(i) not in train][: config.test_size]
    spare = [int(i) for i in small if int(i) not in train and int(i) not in test]
    test += spare[: config.test_size - len(test)]
    splits = {
        "train": sorted(train),
        "test": sorted(test),
        "ood_test": sorted(int(i) for i in ood),
    }
    taken = {i for members in splits.values() for i in members}
    splits["pool"] = sorted(int(i) for i in ids if int(i) not in taken)
    return splits


def prepare_run(engine: Engine, config: LoopConfig) -> int:
    """Create the run and its dataset splits, or return the existing run of these inputs."""
    name = config.run_name
    with session_scope(engine) as session:
        existing = locked_run_parameters(session, name)
        if existing is not None:
            run_id, parameters = existing
            if parameters != config.identity():
                raise InputError(f"run {name!r} exists with other inputs; choose another --name")
            return run_id
        pool = pool_molecules(session, config.pool_tag, exclude_tag=config.query)  # the query is predicted, not labelled
        splits = draw_splits(pool.ids, pool.heavy_atoms, pool.element_sets, config)
        return create_run(session, name, config.identity(), splits)
