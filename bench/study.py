"""Benchmark of the transferability study on the organic set: how long its parts take on this machine,
and what one slice of it measures.

In a throwaway embedded store (and artifacts directory):

1. ingest and label the organic dataset (shipped organic SMILES, 2 conformers each, and the
   closed-shell G2 molecules of H, C, N, O, F, Cl; HF/STO-3G,
   ``ao-eda`` + ``mo-pm-iao`` with atomization energies) with ``--workers`` processes, then label
   again (the baseline for reuse: nothing is computed twice);
2. run one slice of the default matrix (``--split``, seed 0: every target, architecture,
   strategy and size) and print its errors and AUCs, the time per experiment of each strategy
   as a ratio to ``random`` (the baseline; committee selection trains extra models), and the
   whole default study's time extrapolated from the slice (the slice is 1 of 3 splits x 3 seeds).

Usage: ``python bench/study.py [--workers 2] [--split in-distribution] [--epochs 60] [--out DIR]``
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from throwaway import throwaway_store  # noqa: E402 - after the thread count is fixed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--split", default="in-distribution")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--out", type=Path, help="also write the slice's plots and report.html here")
    args = parser.parse_args()
    with throwaway_store() as engine:
        run(engine, args)


def run(engine, args) -> None:
    from sqlalchemy import text

    from atomloop.labelling.runner import label_in_process
    from atomloop.study import StudyConfig, run_experiment, run_study
    from atomloop.study.dataset import dataset_molecule_ids

    default = StudyConfig(dataset="organic", epochs=args.epochs)
    start = time.perf_counter()
    ids = dataset_molecule_ids(engine, default.dataset)
    ingest_s = time.perf_counter() - start
    start = time.perf_counter()
    counts = label_in_process(default.qm_settings, ids, engine=engine, workers=args.workers)
    label_s = time.perf_counter() - start
    start = time.perf_counter()
    label_in_process(default.qm_settings, ids, engine=engine, workers=args.workers)
    relabel_s = time.perf_counter() - start
    print(f"dataset: {len(ids)} structures, ingest {ingest_s:.1f} s; labelling {label_s:.1f} s "
          f"({counts}); labelling again {relabel_s:.2f} s (ratio {relabel_s / label_s:.4f})")

    config = StudyConfig(dataset="organic", splits=(args.split,), seeds=(0,), epochs=args.epochs, name="bench")
    seconds: dict[str, list[float]] = defaultdict(list)

    def timed(plan, experiment):
        began = time.perf_counter()
        status = run_experiment(plan, experiment)
        seconds[experiment.strategy].append(time.perf_counter() - began)
        return status

    start = time.perf_counter()
    result = run_study(config, engine=engine, labeller=lambda settings, ids: {}, experiment_runner=timed, progress=False)
    slice_s = time.perf_counter() - start
    print(f"\n{result.summary()} in {slice_s:.0f} s")
    baseline = sum(seconds["random"]) / len(seconds["random"])
    for strategy, values in seconds.items():
        mean = sum(values) / len(values)
        print(f"  {strategy:12s} {mean:6.2f} s/experiment  ratio to random {mean / baseline:.2f}")
    slices = 3 * 3
    print(f"default study (3 splits x 3 seeds = {slices} slices): about {(label_s + slices * slice_s) / 60:.0f} min "
          f"({label_s / 60:.1f} min labelling + {slices} x {slice_s / 60:.1f} min)")
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT target, architecture, strategy, training_size, auc, mae_kcal_mol, mae_mev_atom, atomic_mae_mev "
            "FROM study_experiments WHERE study = 'bench' ORDER BY target, architecture, strategy, training_size"
        )).all()
    print(f"\n{'target':24s} {'arch':7s} {'strategy':12s} {'n':>3s} {'AUC':>6s} {'kcal/mol':>9s} {'meV/atom':>9s} {'atomic meV':>10s}")
    for t, a, s, n, auc, mae, mev, atomic in rows:
        print(f"{t:24s} {a:7s} {s:12s} {n:3d} {auc:6.3f} {mae:9.2f} {mev:9.1f} {'-' if atomic is None else f'{atomic:10.1f}'}")
    if args.out:
        from atomloop.db import session_scope
        from atomloop.store.reports import study_rows
        from atomloop.study.report import write_study_outputs

        with session_scope(engine) as session:
            print("wrote", ", ".join(str(p) for p in write_study_outputs(study_rows(session, "bench"), args.out)))


if __name__ == "__main__":
    main()
