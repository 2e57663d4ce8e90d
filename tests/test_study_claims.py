"""The study's claim arithmetic on numbers worked out by hand or by SciPy's own paired test:
environment keys, element-centred atomic errors, paired intervals, the claims' tables."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ase.build import molecule
from scipy import stats

from atomloop.study.atomic_errors import atomic_error_rows
from atomloop.study.claims import (
    architecture_rows,
    basis_learnability_rows,
    claim_1_rows,
    claim_2_rows,
    molecular_cost_rows,
    paired,
)
from atomloop.select.environments import environment_keys, seen_environments
from atomloop.units import HARTREE_TO_KCAL_PER_MOL


def test_environment_keys_see_two_bond_shells():
    ethanol = molecule("CH3CH2OH")
    keys = dict(zip(range(len(ethanol)), environment_keys(ethanol)))
    assert keys[0] == "C(CCHHO,HC,HC,HC)"  # the methyl carbon
    assert keys[2] == "O(CCHHO,HO)"
    methane = environment_keys(molecule("CH4"))
    assert len(set(methane[1:])) == 1 and methane[1] == "H(CHHHH)"
    # the methyl H of ethanol differs from the H of methane: its carbon's neighbours differ
    assert not set(environment_keys(ethanol)) & set(methane)
    assert seen_environments([molecule("C2H6")]) == {"C(CCHHH,HC,HC,HC)", "H(CCHHH)"}


def test_centred_errors_ignore_per_element_offsets():
    rng = np.random.default_rng(0)
    numbers = [np.array([6, 1, 1, 1, 1]), np.array([8, 1, 1])]
    reference = [rng.normal(size=5), rng.normal(size=3)]
    noise = [rng.normal(scale=1e-3, size=5), rng.normal(scale=1e-3, size=3)]
    offset = {1: 0.01, 6: -0.2, 8: 0.5}  # Hartree, per element
    shifted = [r + e + np.array([offset[z] for z in n]) for r, e, n in zip(reference, noise, numbers)]
    plain = [r + e for r, e in zip(reference, noise)]
    seen = [np.array([True, True, False, True, False]), np.array([False, True, True])]
    with_offsets = {(r.element, r.environment): r for r in atomic_error_rows("s", shifted, reference, numbers, seen)}
    without = {(r.element, r.environment): r for r in atomic_error_rows("s", plain, reference, numbers, seen)}
    assert set(with_offsets) == {("all", "all"), ("all", "seen"), ("all", "unseen"), ("H", "all"), ("H", "seen"),
                                 ("H", "unseen"), ("C", "all"), ("C", "seen"), ("O", "all"), ("O", "unseen")}
    for key, row in with_offsets.items():
        assert row.centred_mae_kcal_mol == pytest.approx(without[key].centred_mae_kcal_mol, abs=1e-9)
    error = np.concatenate(noise)
    z = np.concatenate(numbers)
    h = error[z == 1]
    assert with_offsets[("H", "all")].offset_kcal_mol == pytest.approx((h.mean() + 0.01) * HARTREE_TO_KCAL_PER_MOL)
    assert with_offsets[("H", "all")].n_atoms == 6 and with_offsets[("H", "seen")].n_atoms == 4
    assert with_offsets[("all", "all")].mae_kcal_mol == pytest.approx(
        np.abs(np.concatenate([s - r for s, r in zip(shifted, reference)])).mean() * HARTREE_TO_KCAL_PER_MOL)
    # a single atom of an element has no error left once centred
    assert with_offsets[("O", "all")].centred_mae_kcal_mol == pytest.approx(0.0, abs=1e-12)


def test_paired_interval_is_scipys_paired_t_interval():
    a = np.array([1.3, 0.9, 1.7, 1.1, 1.4])
    b = np.array([1.0, 1.0, 1.2, 0.7, 1.1])
    result = paired(a - b)
    reference = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert (result.n, result.mean) == (5, pytest.approx(0.28))
    assert (result.low, result.high) == (pytest.approx(reference.low), pytest.approx(reference.high))
    assert paired([0.3]).low is None


def _experiment(split, target, seed, mae, auc=0.6, p_value=0.5):
    return {"split": split, "target": target, "architecture": "schnet", "strategy": "random", "training_size": 8,
            "seed": seed, "status": "done", "mae_mev_atom": mae, "auc": auc, "auc_p_value": p_value}


def test_claim_tables_pair_by_seed():
    atomic_errors = [
        {**_experiment("in-distribution", target, seed, None), "reference_scheme": "mo-pm-iao", "element": "all",
         "environment": env, "centred_mae_kcal_mol": value}
        for target, env, values in (("atomic:mo-pm-iao", "all", (1.0, 2.0, 3.0)), ("total", "all", (2.0, 2.5, 4.5)),
                                    ("atomic:mo-pm-iao", "seen", (9.0, 9.0, 9.0)))
        for seed, value in enumerate(values)
    ]
    (row,) = claim_1_rows(atomic_errors)
    expected = paired([-1.0, -0.5, -1.5])
    assert (row["reference_scheme"], row["environment"], row["n_pairs"]) == ("mo-pm-iao", "all", 3)
    assert row["difference_kcal_mol"] == pytest.approx(-1.0) and row["difference_high"] == pytest.approx(expected.high)
    assert (row["atomic_trained_kcal_mol"], row["total_trained_kcal_mol"]) == (pytest.approx(2.0), pytest.approx(3.0))

    experiments = [_experiment("in-distribution", "total", s, m, 0.5) for s, m in enumerate((10.0, 20.0))]
    experiments += [_experiment("size-transfer", "total", s, m, 0.9, p) for s, m, p in ((0, 20.0, 0.0099), (1, 80.0, 0.0297))]
    experiments.append(_experiment("size-transfer", "total", 7, 1.0))  # no in-distribution partner: left out
    experiments += [_experiment("group-transfer", "total", s, m, 0.7, None if s else 0.01) for s, m in enumerate((5.0, 10.0))]
    ratio, group = claim_2_rows(experiments)
    assert (ratio["transfer_split"], group["transfer_split"]) == ("size-transfer", "group-transfer")
    assert ratio["n_pairs"] == 2 and ratio["ratio"] == pytest.approx(math.sqrt(2.0 * 4.0))
    assert (ratio["auc_in_distribution"], ratio["auc_transfer"]) == (0.5, 0.9)
    assert ratio["ratio_low"] < ratio["ratio"] < ratio["ratio_high"]
    assert group["ratio"] == pytest.approx(0.5) and group["auc_transfer"] == 0.7
    # the largest seed's p-value: <= 0.05 means every seed's test found a shift; a seed without a test: None
    assert (ratio["p_in_distribution"], ratio["p_transfer"], group["p_transfer"]) == (0.5, 0.0297, None)


def test_molecular_cost_pairs_each_atomic_target_with_the_total_one():
    experiments = [_experiment("in-distribution", t, s, m) for t, values in
                   (("total", (10.0, 12.0)), ("atomic:ao-eda", (11.0, 12.5)), ("atomic:mo-pm-iao", (15.0, 19.0)),
                    ("atomization:mo-pm-iao", (1.0, 1.0)))
                   for s, m in enumerate(values)]
    rows = {r["target"]: r for r in molecular_cost_rows(experiments)}
    assert set(rows) == {"atomic:ao-eda", "atomic:mo-pm-iao"}
    assert rows["atomic:mo-pm-iao"]["difference_mev_atom"] == pytest.approx(6.0)
    assert rows["atomic:mo-pm-iao"]["difference_high"] == pytest.approx(paired([5.0, 7.0]).high)
    assert (rows["atomic:ao-eda"]["atomic_trained_mev_atom"], rows["atomic:ao-eda"]["total_trained_mev_atom"]) == (11.75, 11.0)


def test_architectures_pair_by_seed_on_the_same_cell():
    def experiment(architecture, seed, mae, split="in-distribution"):
        return {**_experiment(split, "total", seed, mae), "architecture": architecture}

    experiments = [experiment("schnet", s, m) for s, m in enumerate((10.0, 12.0, 11.0))]
    experiments += [experiment("nequip", s, m) for s, m in enumerate((13.0, 12.5, 14.0))]
    experiments += [experiment("nequip", 9, 1.0), experiment("schnet", 0, 99.0, "size-transfer")]  # no partner
    (row,) = architecture_rows(experiments)
    assert (row["first_architecture"], row["second_architecture"], row["split"], row["n_pairs"]) == ("nequip", "schnet", "in-distribution", 3)
    expected = paired([-3.0, -0.5, -3.0])  # schnet - nequip, seed by seed
    assert (row["first_mev_atom"], row["second_mev_atom"]) == (pytest.approx(13.0 + 1 / 6), 11.0)
    assert row["difference_mev_atom"] == pytest.approx(expected.mean)
    assert (row["difference_low"], row["difference_high"]) == (pytest.approx(expected.low), pytest.approx(expected.high))


def test_basis_learnability_pairs_each_scheme_with_its_own_labels_by_seed():
    def rows(values: dict[tuple[str, str], tuple[float, ...]]) -> list[dict]:
        return [
            {**_experiment("in-distribution", target, seed, None), "reference_scheme": scheme, "element": "all",
             "environment": "all", "centred_mae_kcal_mol": value}
            for (target, scheme), series in values.items() for seed, value in enumerate(series)
        ]

    first = rows({("atomic:ao-eda", "ao-eda"): (1.0, 2.0, 3.0), ("atomic:mo-pm-iao", "mo-pm-iao"): (4.0, 4.0),
                  ("total", "ao-eda"): (50.0, 50.0, 50.0), ("atomic:mo-pm-iao", "ao-eda"): (9.0, 9.0)})
    second = rows({("atomic:ao-eda", "ao-eda"): (2.0, 2.5, 5.5, 7.0), ("atomic:mo-pm-iao", "mo-pm-iao"): (4.5, 3.5)})
    ao, mo = basis_learnability_rows(first, second)  # cross-scheme and total-trained rows are not learnability
    assert (ao["scheme"], ao["n_pairs"], mo["scheme"], mo["n_pairs"]) == ("ao-eda", 3, "mo-pm-iao", 2)
    assert ao["difference_kcal_mol"] == pytest.approx(4.0 / 3.0)
    assert (ao["difference_low"], ao["difference_high"]) == pytest.approx(
        (paired([1.0, 0.5, 2.5]).low, paired([1.0, 0.5, 2.5]).high))
    assert (ao["first_basis_kcal_mol"], ao["second_basis_kcal_mol"]) == (pytest.approx(2.0), pytest.approx(10.0 / 3.0))
    assert mo["difference_kcal_mol"] == pytest.approx(0.0)
