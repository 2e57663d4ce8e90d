"""The batch strategies the selection benchmark compares: k-center, LCMD, environment coverage,
targeted density ratio and the ensemble's member count, on inputs whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from atomloop.errors import InputError
from atomloop.select.strategies import (
    PoolView,
    environment_coverage,
    get_strategy,
    greedy_centres,
    target_density_ratio,
)


def test_k_center_picks_the_farthest_point_from_everything_labelled_then_from_its_picks():
    pool = np.array([[0.0], [1.0], [2.0], [10.0], [9.0]])
    picked = greedy_centres(pool, np.array([[0.0]]), 3, largest_cluster=False)
    assert picked.tolist() == [3, 2, 1]  # 10 (d=10), then 2 (d=2 from 0), then 1 (d=1); 9 is 1 from 10 too, later index


def test_lcmd_picks_in_the_cluster_with_the_largest_spread_not_the_farthest_point():
    # labelled centres at 0 and 100; around 0 many points at distance 3, around 100 one point at distance 5
    pool = np.array([[3.0], [-3.0], [3.0], [-3.0], [105.0]])
    labelled = np.array([[0.0], [100.0]])
    assert greedy_centres(pool, labelled, 1, largest_cluster=True).tolist() == [0]  # cluster 0: 4 * 9 > 25
    assert greedy_centres(pool, labelled, 1, largest_cluster=False).tolist() == [4]


def test_coverage_takes_the_commonest_unseen_environments_first_and_counts_a_picks_as_covered():
    environments = [np.array([1, 2]), np.array([2, 3]), np.array([3]), np.array([1, 1]), np.array([4])]
    # pool counts: 1 -> 2 molecules, 2 -> 2, 3 -> 2, 4 -> 1; environment 1 is already labelled
    picked = environment_coverage(environments, np.array([1]), 3, seed=0)
    assert picked[0] == 1  # 2 + 3: weight 2 + 2 = 4, the most
    assert picked[1] == 4  # then only 4 is new (weight 1); 0, 2, 3 add nothing
    assert picked.size == 3 and len(set(picked.tolist())) == 3  # the rest at random, no repeats


def test_the_targeted_score_ranks_pool_molecules_like_the_targets_first():
    rng = np.random.default_rng(0)
    labelled = rng.normal(0.0, 1.0, size=(200, 3))
    target = rng.normal([4.0, 0.0, 0.0], 1.0, size=(50, 3))
    pool = np.array([[4.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [-2.0, 0.0, 0.0]])
    scores = target_density_ratio(labelled, target, pool)
    assert np.all(np.diff(scores) < 0)
    picked = get_strategy("targeted").select(
        PoolView(descriptors=pool, natoms=np.full(4, 5), labelled_descriptors=labelled, target_descriptors=target), 1)
    assert picked.indices.tolist() == [0]


def test_the_ensemble_needs_four_members_and_picks_the_largest_disagreement_per_atom():
    natoms = np.array([10, 10, 2])
    three = np.array([[0.0, 0.0, 0.0], [1.0, 3.0, 1.0], [2.0, 6.0, 2.0]])
    with pytest.raises(InputError, match="'ensemble' needs predictions of at least 4 models; got 3"):
        get_strategy("ensemble").select(PoolView(descriptors=np.eye(3), natoms=natoms, committee_predictions=three), 1)
    four = np.vstack([three, [3.0, 9.0, 3.0]])
    picked = get_strategy("ensemble").select(PoolView(descriptors=np.eye(3), natoms=natoms, committee_predictions=four), 1)
    assert picked.indices.tolist() == [2]  # std 1.12 over 2 atoms beats std 3.35 over 10


def test_targeted_lcmd_spends_half_the_batch_toward_the_targets_and_the_rest_on_lcmd():
    rng = np.random.default_rng(1)
    pool = PoolView(descriptors=rng.normal(size=(60, 3)), natoms=np.full(60, 5),
                    labelled_descriptors=rng.normal(size=(20, 3)), embeddings=rng.normal(size=(60, 4)),
                    labelled_embeddings=rng.normal(size=(20, 4)))
    alone = get_strategy("targeted-lcmd").select(pool, 5).indices
    assert alone.tolist() == greedy_centres(pool.embeddings, pool.labelled_embeddings, 5, largest_cluster=True).tolist()
    wanted = PoolView(**{**pool.__dict__, "target_descriptors": rng.normal([3.0, 0.0, 0.0], 0.5, size=(10, 3))})
    picked = get_strategy("targeted-lcmd").select(wanted, 5).indices
    toward = get_strategy("targeted").select(wanted, 3).indices
    assert picked[:3].tolist() == toward.tolist()
    rest = np.setdiff1d(np.arange(60), toward)
    spread = greedy_centres(pool.embeddings[rest], np.vstack([pool.labelled_embeddings, pool.embeddings[toward]]), 2,
                            largest_cluster=True)
    assert picked[3:].tolist() == rest[spread].tolist()
    assert wanted.descriptors[picked[:3], 0].mean() > wanted.descriptors[:, 0].mean() + 0.5  # the first half leans to x > 0
