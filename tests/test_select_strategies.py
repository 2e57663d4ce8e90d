"""Selection strategies: diversity, the random baseline, committee, hybrid, registry."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import molecule
from ase.collections import g2

from atomloop.errors import InputError
from atomloop.select import (
    STRATEGIES,
    Picked,
    PoolView,
    Strategy,
    committee_disagreement,
    get_strategy,
    molecule_descriptors,
    register_strategy,
)


@pytest.fixture(scope="module")
def pool():
    """Five benzene conformers (the new motif, top OOD scores) and 20 other G2 molecules."""
    benzenes = []
    for seed in range(5):
        b = molecule("C6H6")
        b.rattle(0.02, seed=seed)
        benzenes.append(b)
    others = [a for a in list(g2)[:40] if a.get_chemical_formula() != "C6H6"][:20]
    atoms = benzenes + others
    scores = np.r_[np.linspace(0.99, 0.95, 5), np.linspace(0.9, 0.3, 20)]
    return atoms, PoolView(
        descriptors=molecule_descriptors(atoms),
        natoms=np.array([len(a) for a in atoms]),
        ood_scores=scores,
    )


def test_adversarial_picks_the_best_then_diversifies(pool):
    atoms, view = pool
    picked = get_strategy("adversarial").select(view, 4)
    assert picked.indices[0] == 0  # the highest score first
    formulas = [atoms[i].get_chemical_formula() for i in picked.indices]
    assert formulas.count("C6H6") == 1, formulas  # plain top-4 would be four benzenes
    np.testing.assert_allclose(picked.scores, view.ood_scores[picked.indices])
    assert (picked.scores >= 0.3).all() and len(set(picked.indices.tolist())) == 4


def test_random_baseline_is_seeded(pool):
    _, view = pool
    strategy = get_strategy("random")
    first = strategy.select(view, 5, seed=1)
    assert first.scores is None
    np.testing.assert_array_equal(first.indices, strategy.select(view, 5, seed=1).indices)
    assert not np.array_equal(first.indices, strategy.select(view, 5, seed=2).indices)
    assert sorted(strategy.select(view, 100, seed=0).indices.tolist()) == list(range(25))


def test_committee_disagreement_per_atom_and_selection(pool):
    atoms, view = pool
    natoms = view.natoms
    rng = np.random.default_rng(0)
    energies = -40.0 * natoms + rng.normal(scale=1e-4, size=natoms.size)  # Hartree
    second = energies.copy()
    second[7] += 0.05  # one molecule the two models disagree on by 50 mHa
    predictions = np.stack([energies, second])
    disagreement = committee_disagreement(predictions, natoms)
    assert disagreement[7] == pytest.approx(0.05 / (2 * natoms[7]))
    assert disagreement[np.arange(25) != 7].max() == 0.0
    committee_view = PoolView(view.descriptors, natoms, view.ood_scores, predictions)
    assert get_strategy("committee").select(committee_view, 3).indices[0] == 7
    # Hybrid: mean of rank percentiles. Molecule 7 ranks 1st of 25 by committee and 8th by OOD
    # score: 0.5 * 25/25 + 0.5 * 18/25 = 0.86 beats molecule 0, tied with 23 others at zero
    # disagreement (mean rank 12.5): 0.5 * 12.5/25 + 0.5 * 25/25 = 0.75.
    hybrid = get_strategy("hybrid").select(committee_view, 2)
    assert hybrid.indices[0] == 7 and hybrid.scores[0] == pytest.approx(0.86)
    assert get_strategy("hybrid").score(committee_view)[0] == pytest.approx(0.75)
    with pytest.raises(InputError, match="at least 2 models"):
        committee_disagreement(predictions[:1], natoms)
    with pytest.raises(InputError, match="needs predictions"):
        get_strategy("committee").select(view, 3)


def test_registry_and_errors(pool):
    _, view = pool
    assert set(STRATEGIES) >= {"adversarial", "random", "committee", "hybrid"}
    with pytest.raises(InputError, match="unknown selection strategy 'greedy'"):
        get_strategy("greedy")
    with pytest.raises(InputError, match="k must be at least 1"):
        get_strategy("adversarial").select(view, 0)

    class Smallest(Strategy):
        name = "smallest"

        def select(self, pool: PoolView, k: int, *, seed: int = 0) -> Picked:
            order = np.argsort(pool.natoms, kind="stable")[:k]
            return Picked(indices=order, scores=pool.natoms[order].astype(float))

    register_strategy(Smallest())
    try:
        assert view.natoms[get_strategy("smallest").select(view, 1).indices[0]] == view.natoms.min()
    finally:
        del STRATEGIES["smallest"]


@pytest.mark.parametrize("strategy", ["adversarial", "random"])
def test_a_round_takes_one_conformer_per_molecule(pool, strategy):
    """The five benzene conformers are one molecule: a round picks at most one of them (for a
    scored strategy, the best-scoring one), so k picks are k different molecules."""
    from types import SimpleNamespace

    from atomloop.select.adversarial import group_keys
    from atomloop.select.strategies import pick

    atoms, view = pool
    groups = ["benzene"] * 5 + [f"other-{i}" for i in range(20)]
    result = SimpleNamespace(pool_descriptors=view.descriptors, scores=view.ood_scores)
    for seed in range(5):
        chosen, _ = pick(strategy, result, view.natoms, None, 8, seed, groups=groups)
        assert len(chosen) == 8 and len({groups[i] for i in chosen}) == 8
        if strategy == "adversarial":
            assert 0 in chosen and not set(chosen) & {1, 2, 3, 4}  # the best benzene, only it
    ungrouped, _ = pick("adversarial", result, view.natoms, None, 8, 0)
    assert len(set(ungrouped) & {0, 1, 2, 3, 4}) >= 1
    # random chooses the representative uniformly: over seeds, several benzene conformers occur
    representatives = set()
    for seed in range(40):
        chosen, _ = pick("random", result, view.natoms, None, 25, seed, groups=groups)
        representatives |= set(chosen) & {0, 1, 2, 3, 4}
    assert len(representatives) >= 3
    assert group_keys(atoms[:2])[0] == group_keys(atoms[:2])[1]  # conformers share an identity key
