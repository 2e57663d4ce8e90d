"""The study's claim arithmetic on numbers worked out by hand or by SciPy's own paired test:
environment keys, element-centred atomic errors, paired intervals, the claims' tables."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ase.build import molecule
from scipy import stats

from atomloop.study.atomic_errors import AtomicEnergies, atomic_error_rows
from atomloop.study.claims import (
    architecture_rows,
    basis_learnability_rows,
    claim_1_rows,
    claim_2_rows,
    hierarchical_bootstrap,
    holm,
    holm_family,
    molecular_cost_rows,
    paired,
    quoted_p,
    sign_flip_p,
    study_claims,
    trade_off_rows,
    verdict,
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
    offset = {1: 0.01, 6: -0.2, 8: 0.5}  # Hartree, per element, in training and test alike
    shifted = [r + e + np.array([offset[z] for z in n]) for r, e, n in zip(reference, noise, numbers)]
    plain = [r + e for r, e in zip(reference, noise)]
    seen = np.array([True, True, False, True, False, False, True, True])
    # the training atoms: the model's error there is the same per-element offset (no noise)
    train_numbers = [np.array([6, 1, 1, 1, 1]), np.array([8, 1, 1])]
    train_reference = [rng.normal(size=5), rng.normal(size=3)]
    train_shifted = [r + np.array([offset[z] for z in n]) for r, n in zip(train_reference, train_numbers)]
    shifted_train = AtomicEnergies.of(train_shifted, train_reference, train_numbers)
    plain_train = AtomicEnergies.of(train_reference, train_reference, train_numbers)
    with_offsets = {(r.element, r.environment): r for r in atomic_error_rows(
        "s", AtomicEnergies.of(shifted, reference, numbers), seen, shifted_train)}
    without = {(r.element, r.environment): r for r in atomic_error_rows(
        "s", AtomicEnergies.of(plain, reference, numbers), seen, plain_train)}
    assert set(with_offsets) == {("all", "all"), ("all", "seen"), ("all", "unseen"), ("H", "all"), ("H", "seen"),
                                 ("H", "unseen"), ("C", "all"), ("C", "seen"), ("O", "all"), ("O", "unseen")}
    for key, row in with_offsets.items():
        assert row.centred_mae_kcal_mol == pytest.approx(without[key].centred_mae_kcal_mol, abs=1e-9)
    error = np.concatenate(noise) * HARTREE_TO_KCAL_PER_MOL
    # fitted on the training atoms: the offsets are exactly the training error, not the test noise's mean
    assert with_offsets[("H", "all")].offset_kcal_mol == pytest.approx(0.01 * HARTREE_TO_KCAL_PER_MOL)
    assert with_offsets[("H", "all")].n_atoms == 6 and with_offsets[("H", "seen")].n_atoms == 4
    assert with_offsets[("all", "all")].mae_kcal_mol == pytest.approx(
        np.abs(np.concatenate([s - r for s, r in zip(shifted, reference)])).mean() * HARTREE_TO_KCAL_PER_MOL)
    # what is left is the test noise itself: a single O atom keeps its own error
    assert with_offsets[("O", "all")].centred_mae_kcal_mol == pytest.approx(abs(error[5]))
    assert with_offsets[("all", "all")].centred_mae_kcal_mol == pytest.approx(np.abs(error).mean())


def test_offsets_from_training_atoms_keep_a_systematic_transfer_error():
    """A model off by +1 kcal/mol on every training H and by +3 on every test H: centring on the
    training atoms leaves the 2 kcal/mol that appear only in the test set (centring on the test
    atoms would have removed them)."""
    kcal = 1.0 / HARTREE_TO_KCAL_PER_MOL
    train = AtomicEnergies(np.array([1.0, 1.0, 0.0]) * kcal + np.array([-0.5, -0.6, -37.8]),
                           np.array([-0.5, -0.6, -37.8]), np.array([1, 1, 6]))
    test_reference = np.array([-0.52, -0.58, -37.7])
    test = AtomicEnergies(test_reference + np.array([3.0, 3.0, 0.5]) * kcal, test_reference, np.array([1, 1, 6]))
    rows = {(r.element, r.environment): r for r in atomic_error_rows("s", test, np.ones(3, bool), train)}
    assert rows[("H", "all")].offset_kcal_mol == pytest.approx(1.0)
    assert rows[("H", "all")].mae_kcal_mol == pytest.approx(3.0)
    assert rows[("H", "all")].centred_mae_kcal_mol == pytest.approx(2.0)
    assert rows[("C", "all")].centred_mae_kcal_mol == pytest.approx(0.5)
    assert rows[("all", "all")].centred_mae_kcal_mol == pytest.approx((2.0 + 2.0 + 0.5) / 3)


def test_element_mean_baseline_by_hand():
    """The baseline predicts each test atom as its element's mean training label: H -0.55 Ha,
    C -37.8 Ha; an element absent from training (O) gets the mean of every training label."""
    train = AtomicEnergies(np.zeros(3), np.array([-0.5, -0.6, -37.8]), np.array([1, 1, 6]))
    reference = np.array([-0.52, -0.50, -37.7, -75.0])
    test = AtomicEnergies(reference, reference, np.array([1, 1, 6, 8]))
    rows = {(r.element, r.environment): r for r in atomic_error_rows("s", test, np.array([1, 0, 1, 1], bool), train)}
    h = np.array([0.03, 0.05]) * HARTREE_TO_KCAL_PER_MOL
    c = 0.1 * HARTREE_TO_KCAL_PER_MOL
    o = abs(-75.0 - np.mean([-0.5, -0.6, -37.8])) * HARTREE_TO_KCAL_PER_MOL
    assert rows[("H", "all")].baseline_mae_kcal_mol == pytest.approx(h.mean())
    assert rows[("H", "seen")].baseline_mae_kcal_mol == pytest.approx(h[0])
    assert rows[("C", "all")].baseline_mae_kcal_mol == pytest.approx(c)
    assert rows[("O", "all")].baseline_mae_kcal_mol == pytest.approx(o)
    assert rows[("all", "all")].baseline_mae_kcal_mol == pytest.approx((h.sum() + c + o) / 4)
    assert rows[("O", "all")].offset_kcal_mol is None  # no training O: nothing fitted, the raw error stays


def test_paired_interval_is_scipys_paired_t_interval():
    a = np.array([1.3, 0.9, 1.7, 1.1, 1.4])
    b = np.array([1.0, 1.0, 1.2, 0.7, 1.1])
    result = paired(a - b)
    reference = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert (result.n, result.mean) == (5, pytest.approx(0.28))
    assert (result.low, result.high) == (pytest.approx(reference.low), pytest.approx(reference.high))
    assert paired([0.3]).low is None


def test_paired_p_values_are_the_t_test_and_the_exact_sign_flip_test():
    a = np.array([1.3, 0.9, 1.7, 1.1, 1.4])
    b = np.array([1.0, 1.0, 1.2, 0.7, 1.1])
    result = paired(a - b)
    assert result.p_value == pytest.approx(stats.ttest_rel(a, b).pvalue)
    # d = (0.3, -0.1, 0.5, 0.4, 0.3), sum 1.4: |sum| >= 1.4 only for all signs kept, all flipped, and the
    # -0.1 flipped either way (sum 1.6): 4 of 32 patterns
    assert result.p_exact == pytest.approx(4 / 32)
    assert sign_flip_p([0.2, 1.0, 0.5, 3.0, 0.1]) == pytest.approx(2 / 32)  # 5 pairs all positive: the floor
    assert sign_flip_p(np.ones(10)) == pytest.approx(2 / 1024)
    assert sign_flip_p([1.0, -1.0]) == pytest.approx(1.0)
    drawn = sign_flip_p(np.ones(17))  # beyond 16 pairs: (1 + hits) / (1 + 100 000) over random patterns
    assert 1 / 100_001 <= drawn < 5e-5
    assert paired([2.0, 2.0, 2.0]).p_value == 0.0 and paired([0.0, 0.0]).p_value == 1.0
    assert paired([0.3]).p_value is None


def test_holm_adjusts_a_known_list_in_its_own_order():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04 -> running maximum 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.4]) == pytest.approx([0.8, 0.8])  # 0.4 * 2 = 0.8; then max(0.8, 0.5)
    assert holm([0.9, 0.6, 0.7]) == pytest.approx([1.0, 1.0, 1.0])  # capped at 1


def test_verdicts_need_holm_the_exact_test_and_the_bootstrap_to_agree():
    assert verdict(0.01, 0.002, 10) == "supported"
    assert verdict(0.01, 0.002, 10, bootstrap_excludes=False) == "inconclusive"
    assert verdict(0.01, 0.0625, 5) == "inconclusive"  # 5 pairs: the exact test cannot reach 0.05
    assert verdict(0.2, 0.3, 6) == "not supported"
    assert verdict(0.2, 0.3, 5) == "inconclusive"
    assert verdict(None, None, 1) == "inconclusive"


def test_one_holm_family_over_every_claims_table():
    maes = {("in-distribution", "total"): (10.0, 12.0, 11.0), ("in-distribution", "atomic:ao-eda"): (11.0, 14.0, 11.5),
            ("size-transfer", "total"): (20.0, 30.0, 21.0), ("size-transfer", "atomic:ao-eda"): (21.0, 30.5, 24.0)}
    experiments = [{**_experiment(split, target, s, m), "experiment_id": (split, target, s)}
                   for (split, target), values in maes.items() for s, m in enumerate(values)]
    claims = study_claims(experiments, [])
    tested = [r for rows in claims.values() for r in rows if r["p_value"] is not None]
    # claim 1b on both splits and claim 2 for both targets: four tests, one family
    tables = ("claim_1", "molecular_cost", "trade_off", "claim_2", "architectures")
    assert [len(claims[k]) for k in tables] == [0, 2, 0, 2, 0]
    assert [r["p_holm"] for r in tested] == pytest.approx(holm([r["p_value"] for r in tested]))
    inside = next(r for r in claims["molecular_cost"] if r["split"] == "in-distribution")
    assert inside["p_value"] == pytest.approx(stats.ttest_1samp([1.0, 2.0, 0.5], 0.0).pvalue)
    assert inside["p_exact"] == pytest.approx(2 / 8) and inside["verdict"] == "inconclusive"  # 3 pairs
    family = holm_family({"a": [{"p_value": 0.01, "p_exact": 0.002, "n_pairs": 10}, {"p_value": None, "n_pairs": 1}],
                          "b": [{"p_value": 0.02, "p_exact": 0.002, "n_pairs": 10}]})
    assert [r["p_holm"] for r in (*family["a"], *family["b"])] == [pytest.approx(0.02), None, pytest.approx(0.02)]
    assert [r["verdict"] for r in (*family["a"], *family["b"])] == ["supported", "inconclusive", "supported"]


def test_hierarchical_bootstrap_resamples_seeds_then_molecules():
    # one seed, paired differences 0 and 2: a resampled mean is 0, 1 or 2 with chances 1/4, 1/2, 1/4
    assert hierarchical_bootstrap([([1.0, 1.0], [1.0, 3.0])]) == (0.0, 2.0)
    # two seeds, every molecule of a seed off by the same amount (1 and 3): only the seeds vary
    assert hierarchical_bootstrap([([1.0, 2.0], [2.0, 3.0]), ([0.0, 5.0], [3.0, 8.0])]) == (1.0, 3.0)
    # paired: the same molecules on both sides, so a constant shift is exact; unpaired it is not
    first, second = [1.0, 5.0, 9.0], [2.0, 6.0, 10.0]
    assert hierarchical_bootstrap([(first, second)]) == pytest.approx((1.0, 1.0))
    low, high = hierarchical_bootstrap([(first, second)], paired=False)
    assert low < 0 < 1 < high and (low, high) == hierarchical_bootstrap([(first, second)], paired=False)
    assert hierarchical_bootstrap([([1.0, 1.0], [2.0, 2.0, 2.0])], paired=False, log_ratio=True) == pytest.approx(
        (math.log(2), math.log(2)))


def test_bootstrap_intervals_come_from_the_molecules_of_each_experiment():
    experiments, errors = [], {}
    for i, (split, target, seed, values) in enumerate((
        ("in-distribution", "total", 0, (1.0, 3.0)), ("in-distribution", "atomic:ao-eda", 0, (2.0, 4.0)),
        ("in-distribution", "total", 1, (2.0, 2.0)), ("in-distribution", "atomic:ao-eda", 1, (5.0, 5.0)),
        ("size-transfer", "total", 0, (4.0, 6.0)), ("size-transfer", "total", 1, (4.0, 4.0, 4.0)),
    )):
        experiments.append({**_experiment(split, target, seed, float(np.mean(values))), "experiment_id": i})
        errors[i] = dict(zip(range(10 * seed, 10 * seed + len(values)), values))
    claims = study_claims(experiments, [], errors)
    (cost,) = claims["molecular_cost"]
    # per seed the atomic side is off by 1 (seed 0, both molecules) and 3 (seed 1): the seeds decide
    assert (cost["difference_mev_atom"], cost["difference_boot_low"], cost["difference_boot_high"]) == (2.0, 1.0, 3.0)
    # seed 1: 4 / 2 whichever molecules; seed 0's transfer side 4 or 6 on its own molecules, and its
    # in-distribution side 1 or 3 on other ones: the ratio's interval reaches beyond both seeds' own
    (ratio,) = [r for r in claims["claim_2"] if r["target"] == "total"]
    assert ratio["ratio"] == pytest.approx(math.sqrt(2.5 * 2.0))
    assert ratio["ratio_boot_low"] < 2.0 < 2.5 < ratio["ratio_boot_high"] <= 6.0
    assert study_claims(experiments, [])["molecular_cost"][0]["difference_boot_low"] is None  # no stored errors
    family = holm_family({"a": [
        {"p_value": 0.001, "p_exact": 0.002, "n_pairs": 10, "difference_boot_low": -1.0, "difference_boot_high": 1.0},
        {"p_value": 0.001, "p_exact": 0.002, "n_pairs": 10, "ratio_boot_low": 1.1, "ratio_boot_high": 1.3}]})
    assert [r["verdict"] for r in family["a"]] == ["inconclusive", "supported"]


def _experiment(split, target, seed, mae, auc=0.6, p_value=0.5, weight=None):
    return {"split": split, "target": target, "architecture": "schnet", "strategy": "random", "training_size": 8,
            "seed": seed, "status": "done", "mae_mev_atom": mae, "auc": auc, "auc_p_value": p_value,
            "atomic_weight": (0.0 if target == "total" else 1.0) if weight is None else weight}


def _atomic_error(target, seed, centred, baseline, weight=None, environment="all", scheme="mo-pm-iao"):
    return {**_experiment("in-distribution", target, seed, None, weight=weight), "reference_scheme": scheme,
            "element": "all", "environment": environment, "centred_mae_kcal_mol": centred,
            "baseline_mae_kcal_mol": baseline, "centred_fraction": centred / baseline,
            "experiment_id": (target, seed, weight)}


def test_claim_tables_pair_by_seed():
    baselines = (4.0, 5.0, 6.0)  # the same training molecules per seed: one baseline for every target
    atomic_errors = [
        _atomic_error(target, seed, value, baselines[seed], weight, env)
        for target, weight, env, values in (("atomic:mo-pm-iao", None, "all", (1.0, 2.0, 3.0)),
                                            ("atomic:mo-pm-iao", 10.0, "all", (0.5, 1.0, 3.0)),
                                            ("total", None, "all", (2.0, 2.5, 4.5)),
                                            ("atomic:mo-pm-iao", None, "seen", (9.0, 9.0, 9.0)))
        for seed, value in enumerate(values)
    ]
    one, ten = claim_1_rows(atomic_errors)  # one row per weight, sorted by weight
    expected = paired([1.0 - 4.0, 2.0 - 5.0, 3.0 - 6.0])
    assert (one["reference_scheme"], one["environment"], one["atomic_weight"], one["n_pairs"]) == ("mo-pm-iao", "all", 1.0, 3)
    assert one["difference_kcal_mol"] == pytest.approx(-3.0) and one["difference_high"] == pytest.approx(expected.high)
    assert (one["atomic_trained_kcal_mol"], one["baseline_kcal_mol"]) == (pytest.approx(2.0), pytest.approx(5.0))
    fractions = paired([1.0 / 4.0, 2.0 / 5.0, 3.0 / 6.0])
    assert (one["atomic_trained_fraction"], one["fraction_low"]) == (pytest.approx(fractions.mean), pytest.approx(fractions.low))
    assert one["total_trained_fraction"] == pytest.approx(np.mean([2.0 / 4.0, 2.5 / 5.0, 4.5 / 6.0]))
    assert (ten["atomic_weight"], ten["difference_kcal_mol"]) == (10.0, pytest.approx((0.5 - 4.0 + 1.0 - 5.0 + 3.0 - 6.0) / 3))

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
    # 1,000 permutations: every seed at the floor 1 / 1001 is quoted as below 0.001
    floor = [{**r, "auc_p_value": 1 / 1001} for r in experiments if r["split"] != "group-transfer"]
    assert {r["p_transfer"] for r in claim_2_rows(floor)} == {"< 0.001"}
    assert (quoted_p(0.001), quoted_p(1 / 1001), quoted_p(None)) == (0.001, "< 0.001", None)


def test_molecular_cost_pairs_each_atomic_target_with_the_total_one():
    experiments = [_experiment("in-distribution", t, s, m) for t, values in
                   (("total", (10.0, 12.0)), ("atomic:ao-eda", (11.0, 12.5)), ("atomic:mo-pm-iao", (15.0, 19.0)),
                    ("atomization:mo-pm-iao", (1.0, 1.0)))
                   for s, m in enumerate(values)]
    rows = {r["target"]: r for r in molecular_cost_rows(experiments)}
    assert set(rows) == {"atomic:ao-eda", "atomic:mo-pm-iao", "atomization:mo-pm-iao"}
    assert rows["atomization:mo-pm-iao"]["difference_mev_atom"] == pytest.approx(-10.0)
    assert rows["atomic:mo-pm-iao"]["difference_mev_atom"] == pytest.approx(6.0)
    assert rows["atomic:mo-pm-iao"]["difference_high"] == pytest.approx(paired([5.0, 7.0]).high)
    assert (rows["atomic:ao-eda"]["atomic_trained_mev_atom"], rows["atomic:ao-eda"]["total_trained_mev_atom"]) == (11.75, 11.0)


def test_trade_off_pairs_each_weight_with_the_total_trained_model():
    baselines = (4.0, 8.0)
    molecular = {("total", None): (10.0, 12.0), ("atomic:ao-eda", 0.1): (10.5, 12.0), ("atomic:ao-eda", 1.0): (11.0, 15.0)}
    centred = {("total", None): (4.0, 8.0), ("atomic:ao-eda", 0.1): (2.0, 2.0), ("atomic:ao-eda", 1.0): (1.0, 2.0)}
    experiments = [{**_experiment("in-distribution", t, s, m, weight=w), "experiment_id": (t, s, w)}
                   for (t, w), values in molecular.items() for s, m in enumerate(values)]
    atomic_errors = [_atomic_error(t, s, c, baselines[s], w, scheme="ao-eda")
                     for (t, w), values in centred.items() for s, c in enumerate(values)]
    atomic_errors += [_atomic_error("total", s, 1.0, 2.0, scheme="mo-pm-iao") for s in (0, 1)]  # no mo-pm-iao target
    zero, tenth, one = trade_off_rows(experiments, atomic_errors)
    assert [(r["target"], r["atomic_weight"], r["n_pairs"]) for r in (zero, tenth, one)] == [
        ("atomic:ao-eda", 0.0, 2), ("atomic:ao-eda", 0.1, 2), ("atomic:ao-eda", 1.0, 2)]
    assert (zero["mev_atom"], zero["atomic_fraction"], zero["mev_atom_change"]) == (11.0, 1.0, 0.0)
    assert (one["mev_atom"], one["atomic_kcal_mol"], one["baseline_kcal_mol"]) == (13.0, 1.5, 6.0)
    change = paired([11.0 - 10.0, 15.0 - 12.0])
    assert (one["mev_atom_change"], one["mev_atom_low"]) == (pytest.approx(2.0), pytest.approx(change.low))
    fraction = paired([1.0 / 4.0 - 1.0, 2.0 / 8.0 - 1.0])
    assert one["atomic_fraction"] == pytest.approx(0.25) and one["fraction_change"] == pytest.approx(-0.75)
    assert (one["fraction_low"], one["fraction_high"]) == (pytest.approx(fraction.low), pytest.approx(fraction.high))
    assert tenth["fraction_change"] == pytest.approx(np.mean([0.5 - 1.0, 0.25 - 1.0]))
    assert (zero["p_value"], one["p_value"], one["p_exact"]) == (None, 0.0, 0.5)  # both seeds -0.75: no spread
    # weight 0 against itself is no test: it stays out of the Holm family
    adjusted = [r["p_holm"] for r in holm_family({"t": [zero, tenth, one]})["t"]]
    assert adjusted == [None, *holm([tenth["p_value"], one["p_value"]])]


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
