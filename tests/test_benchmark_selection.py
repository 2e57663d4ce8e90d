"""``atomloop benchmark selection``: the endpoints on curves whose answer is known, and the
command's quick run from QM9 (qm9pack) to its files, with bad input refused before any work."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from atomloop.benchmark.endpoints import holm, labels_to_reach, paired_ratio, saving_factor


def test_labels_to_reach_interpolates_on_log_log_axes_and_extrapolates_a_curve_that_never_gets_there():
    labels, maes = [100, 200, 400], [10.0, 5.0, 2.5]
    assert labels_to_reach(labels, maes, 5.0) == pytest.approx(200)
    assert labels_to_reach(labels, maes, math.sqrt(5.0 * 2.5)) == pytest.approx(math.sqrt(200 * 400))
    assert labels_to_reach(labels, maes, 20.0) == 100
    assert labels_to_reach(labels, maes, 1.25) == pytest.approx(800)  # one more halving on the same slope
    assert labels_to_reach(labels, [10.0, 8.0, 8.0], 1.0) == 1600  # flat: capped at 4x the final budget


def test_a_strategy_whose_curve_is_random_shifted_by_one_budget_step_saves_half_the_labels():
    assert saving_factor([10.0, 5.0, 2.5], [5.0, 2.5, 1.25], [100, 200, 400]) == pytest.approx(2.0)
    assert saving_factor([10.0, 5.0, 2.5], [10.0, 5.0, 2.5], [100, 200, 400]) == pytest.approx(1.0)


def test_paired_ratios_and_holms_correction():
    same = paired_ratio([2.0, 2.0, 2.0])
    assert (same.value, same.low, same.high, same.p_value) == pytest.approx((2.0, 2.0, 2.0, 0.0))
    spread = paired_ratio([1.0, 4.0])
    assert spread.value == pytest.approx(2.0)
    assert spread.low < 1.0 < spread.high  # two seeds this far apart cannot tell
    assert holm({"a": 0.01, "b": 0.04, "c": 0.03}) == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06})


@pytest.mark.timeout(900)
def test_the_quick_benchmark_writes_every_file_and_its_summary_follows_from_the_seed_files(atomloop, tmp_path):
    out = tmp_path / "bench"
    status, printed, _ = atomloop("benchmark", "selection", "--quick", "--target", "ester", "--target", "halide",
                                  "--out", str(out))
    assert status == 0, printed
    assert {p.name for p in out.iterdir()} == {"seed-0.json", "seed-1.json", "summary.json", "results.md",
                                              "learning-curves.png"}
    summary = json.loads((out / "summary.json").read_text())
    strategies = {"adversarial", "targeted", "k-center", "ensemble", "coverage", "lcmd", "targeted-lcmd", "oracle"}
    assert set(summary["strategies"]) == strategies
    assert summary["default_strategy"] in strategies | {"random"}
    seeds = [json.loads((out / f"seed-{s}.json").read_text()) for s in (0, 1)]
    for seed in seeds:
        campaigns = seed["strategies"]
        assert set(campaigns) == strategies | {"random"}
        rounds = campaigns["random"]["rounds"]
        assert [r["labels"] for r in rounds] == [40, 60, 90]
        for name, campaign in campaigns.items():  # the same initial set and round-0 model for every strategy
            assert campaign["rounds"][0]["target"] == rounds[0]["target"], name
        assert campaigns["oracle"]["rounds"][-1]["target_share"] > campaigns["random"]["rounds"][-1]["target_share"]
    for name, row in summary["strategies"].items():
        ratios = [s["strategies"][name]["rounds"][-1]["in_distribution"]["mae"]
                  / s["strategies"]["random"]["rounds"][-1]["in_distribution"]["mae"] for s in seeds]
        assert row["in_distribution_ratio"] == pytest.approx(math.exp(np.mean(np.log(ratios))), rel=1e-12)
        assert row["seeds"] == 2 and row["seconds_per_round"] >= 0
        assert {"saving_factor", "low", "high"} <= set(row)
    assert summary["strategies"]["ensemble"]["seconds_per_round"] > summary["strategies"]["k-center"]["seconds_per_round"]
    table = (out / "results.md").read_text()
    assert "| k-center |" in table and "oracle (upper bound)" in table
    before = {p: p.stat().st_mtime_ns for p in out.glob("seed-*.json")}
    status, _, _ = atomloop("benchmark", "selection", "--quick", "--target", "ester", "--target", "halide",
                            "--out", str(out))
    assert status == 0 and before == {p: p.stat().st_mtime_ns for p in out.glob("seed-*.json")}  # resumed: nothing redone


@pytest.mark.parametrize(("arguments", "message"), [
    (("--target", "carbonyls"), "--target 'carbonyls' is neither a functional group"),
    (("--target", "C(=O"), "--target 'C(=O' is neither a functional group"),
    (("--target", "ester", "--pool-size", "1000"), "the final budget 3200 needs a pool of at least twice"),
    (("--target", "ester", "--strategy", "uncertainty"), "unknown strategy 'uncertainty'; choose from random, "),
    (("--target", "[Cl]"), "target '[Cl]': 0 molecules of the oracle match it"),
])
def test_bad_input_is_one_line_and_exit_status_2_before_anything_runs(atomloop, tmp_path, arguments, message):
    status, out, err = atomloop("benchmark", "selection", *arguments, "--out", str(tmp_path / "b"))
    assert status == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "b").exists()
