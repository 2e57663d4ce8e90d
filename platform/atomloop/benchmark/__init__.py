"""``atomloop benchmark selection``: how many labels would selection have saved on this data?

Simulated campaigns against an oracle that knows every label (:mod:`.oracle`), one per strategy
and seed (:mod:`.campaign`), scored by endpoints fixed in advance (:mod:`.endpoints`) and
reported as ``summary.json``, ``results.md`` and learning curves (:mod:`.report`). Each seed is
written to ``OUT/seed-N.json`` after every strategy it finishes: a rerun with the same
configuration resumes where the last one stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from atomloop.benchmark.campaign import (
    BENCHMARK_STRATEGIES,
    ORACLE_BOUND,
    BenchmarkConfig,
    Campaign,
    geometric_budgets,
    target_molecules,
)
from atomloop.benchmark.oracle import Oracle, extxyz_oracle, qm9_oracle
from atomloop.benchmark.report import SEED_FILE, write_report
from atomloop.benchmark.targets import resolve_target
from atomloop.errors import InputError
from atomloop.models.atomic_mlp import MLPSettings
from atomloop.select.strategies import STRATEGIES

__all__ = ["BENCHMARK_STRATEGIES", "BenchmarkConfig", "QUICK", "geometric_budgets", "prepare", "run_seed",
           "run_selection_benchmark"]

QUICK = {"pool_size": 1_500, "test_size": 200, "target_test_size": 100, "target_query_size": 50,
         "target_fraction": 0.04, "budgets": (40, 60, 90), "mlp": MLPSettings(max_epochs=60, patience=4)}


def prepare(targets: Sequence[str], oracle_path: Path | None, strategies: Sequence[str], **options) -> tuple:
    """Check everything before any work: the targets, the strategies, the sets against the oracle.
    Returns ``(config, oracle, membership)``; bad input is an ``InputError``."""
    if not targets:
        raise InputError("give at least one --target (a functional group name or a SMARTS pattern)")
    unknown = [s for s in strategies if s not in STRATEGIES and s != ORACLE_BOUND]
    if unknown:
        raise InputError(f"unknown strategy {unknown[0]!r}; choose from {', '.join([*BENCHMARK_STRATEGIES, ORACLE_BOUND])}")
    config = BenchmarkConfig(targets=tuple(resolve_target(t) for t in targets), strategies=tuple(strategies), **options)
    config.check_sizes()
    oracle: Oracle = extxyz_oracle(oracle_path) if oracle_path is not None else qm9_oracle()
    membership = target_molecules(oracle, config.targets)
    config.check(membership)
    return config, oracle, membership


def _campaign_settings(settings: dict) -> dict:
    """What makes two seed files comparable: the configuration less its list of strategies (a
    rerun may add strategies to a stored seed)."""
    return {key: value for key, value in settings.items() if key != "strategies"}


def run_seed(config: BenchmarkConfig, oracle: Oracle, membership, seed: int, out: Path,
             progress: Callable[[str], None] | None = None) -> Path:
    """Every strategy of ``config`` (random first, then the oracle bound) on one seed, resuming
    ``out/seed-N.json`` (strategies it lacks are added); returns that file."""
    path = out / SEED_FILE.format(seed=seed)
    settings = json.loads(json.dumps(config.as_dict()))
    result = json.loads(path.read_text()) if path.exists() else {"seed": seed, "oracle": oracle.name,
                                                                  "config": settings, "strategies": {}}
    if _campaign_settings(result["config"]) != _campaign_settings(settings) or result["oracle"] != oracle.name:
        raise InputError(f"{path} holds results of another configuration; choose another --out")
    result["config"]["strategies"] = sorted({*result["config"]["strategies"], *settings["strategies"]})
    order = ["random", *[s for s in config.strategies if s != "random"], ORACLE_BOUND]
    missing = [s for s in order if s not in result["strategies"]]
    if missing:
        campaign = Campaign(config, oracle, membership, seed)
        for strategy in missing:
            result["strategies"][strategy] = campaign.run(strategy, progress)
            temporary = path.with_suffix(".tmp")
            temporary.write_text(json.dumps(result, indent=1) + "\n")
            temporary.replace(path)
    return path


def run_selection_benchmark(targets: Sequence[str], seeds: Sequence[int], out: Path, *, oracle_path: Path | None = None,
                            strategies: Sequence[str] = BENCHMARK_STRATEGIES, quick: bool = False,
                            progress: Callable[[str], None] | None = None, **options) -> dict:
    """Run (or resume) the benchmark's seeds into ``out`` and write its report; returns the summary."""
    config, oracle, membership = prepare(targets, oracle_path, strategies, **({**QUICK, **options} if quick else options))
    out.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        run_seed(config, oracle, membership, seed, out, progress)
    return write_report(out)

