"""Benchmark of labelling on a Dask cluster: throughput and the per-molecule overhead.

1. Throughput (molecules per hour) of ``label_molecules(..., dask_address=...)`` on a real
   ``dask scheduler`` with 1, 2 and 4 separate ``dask worker`` processes of one thread (started
   here, as on a multi-machine cluster), each run on a fresh database of one throwaway embedded
   PostgreSQL server, against a plain loop over ``atomloop.qm.compute`` in one process on the
   same molecules (no store, no scheduler). Ratio to plain = plain wall time / this wall time.
   A row "store, no scheduler" runs ``label_molecules`` in this process (one worker, no Dask):
   the store's share of the overhead alone.
2. Scheduler + claim overhead per molecule (ms): the same runs on trivially fast molecules (H2
   at HF/STO-3G), minus their compute time: ``(min(workers, cores) x wall - plain) / N``, the
   worker time each molecule costs beyond its SCF (task round trip, claim, load, store).

Every cluster is warmed up (imports, connections, PySCF set-up) before it is timed; each
measurement is the best of ``--repeats``. More workers than cores oversubscribe the machine:
their numbers show contention, not scaling. The load average before the run is printed: other
work on the machine slows every row.

Usage: ``python bench/scale.py [--molecules 16] [--trivial 40] [--repeats 1] [--workers 1 2 4]
[--method hf] [--basis 6-31g*]``
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from ase import Atoms
from ase.build import molecule
from ase.collections import g2
from throwaway import throwaway_server  # bench/throwaway.py, beside this script

from atomloop.db import get_engine, migrate
from atomloop.db.embedded import EmbeddedPostgres
from atomloop.ingest import ingest_atoms
from atomloop.labelling import label_molecules
from atomloop.labelling.cluster import dask_processes
from atomloop.qm import QMSettings, compute

WORKER_COUNTS = (1, 2, 4)
FIRST_ROW = set("HCNOF")
_databases = itertools.count()


def g2_molecules(count: int) -> list[Atoms]:
    """``count`` closed-shell g2 molecules of 3 to 8 atoms of H, C, N, O and F (the g2 order)."""
    names = [name for name in g2.names
             if 3 <= len(atoms := molecule(name)) <= 8 and set(atoms.get_chemical_symbols()) <= FIRST_ROW
             and not atoms.get_initial_magnetic_moments().any()]
    if count > len(names):
        raise SystemExit(f"--molecules: at most {len(names)} g2 molecules qualify")
    return [molecule(name) for name in names[:count]]


def h2_molecules(count: int, start: float = 0.60) -> list[Atoms]:
    """``count`` distinct H2 molecules, bond lengths from ``start`` Å 0.005 Å apart."""
    return [Atoms("H2", positions=[(0.0, 0.0, 0.0), (0.0, 0.0, float(d))]) for d in start + 0.005 * np.arange(count)]


def plain_seconds(molecules: Sequence[Atoms], settings: QMSettings) -> float:
    """Wall time (s) of ``compute`` over ``molecules`` in this process, after one untimed warm-up."""
    compute(molecules[0], settings)
    started = time.perf_counter()
    for atoms in molecules:
        compute(atoms, settings)
    return time.perf_counter() - started


def label_seconds(server: EmbeddedPostgres, molecules: Sequence[Atoms], settings: QMSettings,
                  address: str | None) -> float:
    """Wall time (s) of ``label_molecules`` of ``molecules`` on a fresh database: on the scheduler
    at ``address``, or in this process when it is None."""
    name = f"bench_{next(_databases)}"
    server.ensure_database(name)
    url = server.url(name)
    migrate.upgrade(url)
    engine = get_engine(url)
    ids = ingest_atoms(molecules, source="bench", engine=engine).molecule_ids
    report = label_molecules(settings, engine=engine, molecule_ids=ids, dask_address=address, progress=False)
    engine.dispose()
    if report.done != len(molecules):
        raise RuntimeError(report.summary())
    return report.wall_time


@dataclass
class Row:
    """One line of the table: wall times (s) of the real and the trivial molecules."""

    mode: str
    workers: int
    seconds: float
    trivial_seconds: float


def best_of(repeats: int, run: Callable[[], float]) -> float:
    """The shortest of ``repeats`` wall times (s) of ``run``: other load on the machine only adds time."""
    return min(run() for _ in range(repeats))


def measure(molecules: Sequence[Atoms], trivial: Sequence[Atoms], settings: QMSettings, trivial_settings: QMSettings,
            workers: Sequence[int], repeats: int) -> list[Row]:
    """The plain loop, the store alone, then each worker count on its own cluster (warmed up first)."""
    rows = [Row("plain loop, 1 process", 1, best_of(repeats, lambda: plain_seconds(molecules, settings)),
                best_of(repeats, lambda: plain_seconds(trivial, trivial_settings)))]
    with throwaway_server() as (server, home):
        rows.append(Row("store, no scheduler, 1 process", 1,
                        best_of(repeats, lambda: label_seconds(server, molecules, settings, None)),
                        best_of(repeats, lambda: label_seconds(server, trivial, trivial_settings, None))))
        for count in workers:
            directory = home / f"dask-{count}"
            directory.mkdir()
            with dask_processes(count, directory) as address:
                label_seconds(server, h2_molecules(4 * count, start=2.0), trivial_settings, address)  # warm-up
                real = best_of(repeats, lambda: label_seconds(server, molecules, settings, address))
                fast = best_of(repeats, lambda: label_seconds(server, trivial, trivial_settings, address))
            rows.append(Row(f"dask, {count} worker process{'es' if count > 1 else ''}", count, real, fast))
    return rows


def overhead_ms(row: Row, plain: Row, cores: int, count: int) -> float:
    """Worker time (ms) per trivial molecule beyond its compute time (see the module docstring)."""
    return 1000 * (min(row.workers, cores) * row.trivial_seconds - plain.trivial_seconds) / count


def print_table(rows: list[Row], n: int, n_trivial: int, settings: QMSettings, cores: int, load: float) -> None:
    """Throughput and overhead of each row, against the plain loop (the first row)."""
    plain = rows[0]
    print(f"\n== labelling {n} g2 molecules at {settings.method}/{settings.basis} ({', '.join(settings.schemes)}); "
          f"overhead from {n_trivial} H2 at hf/sto-3g ==")
    most = max(row.workers for row in rows)
    print(f"this machine: {cores} cores, load average {load:.1f} before the run"
          + (f"; {most} workers oversubscribe it" if most > cores else ""))
    print(f"{'mode':32s} {'wall s':>7s} {'molecules/hour':>14s} {'ratio to plain':>14s} {'overhead ms/mol':>15s}")
    for row in rows:
        overhead = "-" if row is plain else f"{overhead_ms(row, plain, cores, n_trivial):.0f}"
        mode = row.mode + (" *" if row.workers > cores else "")
        print(f"{mode:32s} {row.seconds:7.1f} {3600 * n / row.seconds:14.0f} {plain.seconds / row.seconds:14.2f} "
              f"{overhead:>15s}")
    print(f"plain H2 compute: {1000 * plain.trivial_seconds / n_trivial:.1f} ms/molecule; "
          "overhead = (min(workers, cores) x wall - plain) / N on the H2 runs")
    if any(row.workers > cores for row in rows):
        print(f"* more worker processes than the {cores} cores: oversubscribed, numbers show contention")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--molecules", type=int, default=16, help="g2 molecules labelled per run")
    parser.add_argument("--trivial", type=int, default=40, help="H2 molecules of the overhead runs")
    parser.add_argument("--method", default="hf")
    parser.add_argument("--basis", default="6-31g*")
    parser.add_argument("--workers", type=int, nargs="+", default=list(WORKER_COUNTS), help="worker processes per run")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each measurement (the best is kept)")
    args = parser.parse_args()
    settings = QMSettings(method=args.method, basis=args.basis, schemes=("ao-eda",))
    trivial_settings = QMSettings(method="hf", basis="sto-3g", schemes=("ao-eda",))
    load = os.getloadavg()[0]
    rows = measure(g2_molecules(args.molecules), h2_molecules(args.trivial), settings, trivial_settings, args.workers,
                   args.repeats)
    print_table(rows, args.molecules, args.trivial, settings, len(os.sched_getaffinity(0)), load)


if __name__ == "__main__":
    main()
