"""Does selection help? SchNet learning curves at equal label budgets for random, adversarial
and committee training sets, on an in-distribution test set and an out-of-distribution one.

Data: the shipped QM9 set with its HF/6-31G* labels (``atomloop:qm9-labelled``; no labelling).
The study machinery (:mod:`atomloop.study`) builds each training set: every strategy starts from
the same seeded random half of the budget and adds the rest by its own scores from the split's
pool (:mod:`atomloop.study.training_sets`); models train on total energies for a fixed number
of epochs and are scored on the split's test molecules. Splits: ``in-distribution`` (a random
quarter held out) and ``group-transfer`` (test: aromatic, heteroaromatic, amide and ester
molecules, absent from the pool, so no strategy can pick them: what is measured is how well
each strategy's choice generalises to chemistry it never saw). Hybrid selection is a loop
strategy, not a study one: it is not compared here.

Each seed runs in its own throwaway store and writes ``docs/results/selection-value/seed-N.json``
as it completes (a killed run loses at most one seed; commit the files). ``--report`` reads
every seed file and prints, per split and budget, the mean test MAE (kcal/mol) of each strategy,
its paired difference to random over the seeds with a Student-t 95 % interval, and the smallest
budget at which each strategy's mean error reaches random's at the largest budget.

Usage::

    .venv/bin/python bench/selection_value.py --seed 0 [--seed 1 ...] [--epochs 50]
    .venv/bin/python bench/selection_value.py --report
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from throwaway import throwaway_store  # noqa: E402 - after the thread count is fixed

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results" / "selection-value"
STRATEGIES = ("random", "adversarial", "committee")
SPLITS = ("in-distribution", "group-transfer")
BUDGETS = (50, 100, 200, 400, 800)


def run_seed(seed: int, epochs: int) -> Path:
    """Run every strategy, split and budget of one seed; write and return its result file."""
    from sqlalchemy import text

    from atomloop.study import StudyConfig, run_study

    config = StudyConfig(
        dataset="qm9-labelled", targets=("total",), architectures=("schnet",), strategies=STRATEGIES, splits=SPLITS,
        sizes=BUDGETS, seeds=(seed,), epochs=epochs, name=f"selection-value-{seed}", device="cpu",
    )
    started = time.perf_counter()
    with throwaway_store() as engine:
        summary = run_study(config, engine=engine, progress=True).summary()
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT split, strategy, training_size, seed, auc, mae_kcal_mol, mae_mev_atom, n_test "
                "FROM study_experiments WHERE study = :name ORDER BY split, strategy, training_size"
            ), {"name": config.study_name}).mappings().all()
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"seed-{seed}.json"
    document = {"summary": summary, "seconds": round(time.perf_counter() - started, 1), "parameters": config.parameters(),
                "experiments": [dict(row) for row in rows]}
    path.write_text(json.dumps(document, indent=1) + "\n")
    return path


def _budget_to_reach(curve: dict[int, float], target: float) -> str:
    reached = [size for size in sorted(curve) if curve[size] <= target]
    return str(reached[0]) if reached else f"> {max(curve)}"


def report() -> None:
    """Print the comparison tables of every seed file found."""
    import numpy as np

    from atomloop.study.claims import paired
    from atomloop.report.markdown import markdown_table

    files = sorted(RESULTS.glob("seed-*.json"))
    if not files:
        raise SystemExit(f"no results in {RESULTS}; run with --seed N first")
    mae: dict[tuple[str, str, int], dict[int, float]] = {}
    for path in files:
        for row in json.loads(path.read_text())["experiments"]:
            mae.setdefault((row["split"], row["strategy"], row["training_size"]), {})[row["seed"]] = row["mae_kcal_mol"]
    seeds = sorted({s for values in mae.values() for s in values})
    print(f"{len(seeds)} seeds ({', '.join(map(str, seeds))}); test MAE of molecular energies, kcal/mol\n")
    rows, reach = [], []
    for split in SPLITS:
        for size in BUDGETS:
            random = mae.get((split, "random", size), {})
            for strategy in STRATEGIES[1:]:
                other = mae.get((split, strategy, size), {})
                common = sorted(set(random) & set(other))
                result = paired([other[s] - random[s] for s in common])
                rows.append({
                    "split": split, "budget": size, "strategy": strategy, "n_seeds": result.n,
                    "random_kcal_mol": float(np.mean([random[s] for s in common])) if common else None,
                    "strategy_kcal_mol": float(np.mean([other[s] for s in common])) if common else None,
                    "difference_kcal_mol": result.mean, "difference_low": result.low, "difference_high": result.high,
                })
        final = mae.get((split, "random", max(BUDGETS)), {})
        if final:
            target = float(np.mean(list(final.values())))
            for strategy in STRATEGIES:
                curve = {size: float(np.mean(list(v.values()))) for (sp, st, size), v in mae.items() if sp == split and st == strategy}
                reach.append({"split": split, "strategy": strategy, "random_at_largest_kcal_mol": target,
                              "budget_to_reach": _budget_to_reach(curve, target)})
    print(markdown_table(rows, list(rows[0])) + "\n")
    print(markdown_table(reach, list(reach[0])) if reach else "no seed reached the largest budget yet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, action="append", default=[], help="run this seed (repeatable)")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--report", action="store_true", help="print the tables of the seed files found")
    args = parser.parse_args()
    for seed in args.seed:
        print(f"wrote {run_seed(seed, args.epochs)}")
    if args.report or not args.seed:
        report()


if __name__ == "__main__":
    main()
