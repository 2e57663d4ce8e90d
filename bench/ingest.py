"""Ingest throughput: atomloop's bulk ingest vs ASE's own database writes, same molecules.

Generates N distinct molecules (ASE's g2 set, randomly displaced), then measures molecules
per second for (1) ``atomloop.ingest.ingest_atoms`` into PostgreSQL, duplicate detection
included (each molecule is offered twice: the second copy must be found present), and
(2) ASE's ``ase.db.connect('x.db').write`` row by row and (3) inside one transaction
(``with db:``). Peak memory (max RSS) is printed after each atomloop ingest so a 100k run
can be compared with a 10k run (flat memory = streaming).

    python bench/ingest.py                          # N = 10,000 and 100,000, best of 3
    python bench/ingest.py --sizes 2000 --repeats 1  # quick
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Iterator
from pathlib import Path

import ase.collections
import ase.db
import numpy as np
from ase import Atoms


def generated_molecules(count: int, seed: int = 0) -> Iterator[Atoms]:
    """``count`` molecules: g2 structures of 3+ atoms with random 0.05 Å displacements
    (distinct up to a rare coincidence, which duplicate detection then catches)."""
    rng = np.random.default_rng(seed)
    templates = [atoms for atoms in ase.collections.g2 if len(atoms) >= 3]
    for index in range(count):
        atoms = templates[index % len(templates)].copy()
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        yield atoms


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_atomloop(count: int, engine, seed: int) -> tuple[float, float]:
    """Rates (molecules/s) of a first ingest (all new) and a second one (all present)."""
    from atomloop.ingest import ingest_atoms

    start = time.perf_counter()
    report = ingest_atoms(generated_molecules(count, seed), source=f"bench-{count}-{seed}", engine=engine)
    first = time.perf_counter() - start
    assert report.total == count
    start = time.perf_counter()
    again = ingest_atoms(generated_molecules(count, seed), source=f"bench-{count}-{seed}", engine=engine)
    second = time.perf_counter() - start
    assert again.added == 0 and again.present == count
    return count / first, count / second


def time_ase(count: int, directory: Path, seed: int, *, one_transaction: bool) -> float:
    """Rate (molecules/s) of ASE's own SQLite ``write`` of the same molecules."""
    path = directory / f"ase-{count}-{seed}-{one_transaction}.db"
    db = ase.db.connect(path)
    start = time.perf_counter()
    if one_transaction:
        with db:
            for atoms in generated_molecules(count, seed):
                db.write(atoms)
    else:
        for atoms in generated_molecules(count, seed):
            db.write(atoms)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--row-by-row-max", type=int, default=10_000, help="skip ASE row-by-row above this N")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs per figure (2 cores are noisy)")
    args = parser.parse_args()

    from throwaway import throwaway_server  # bench/throwaway.py, beside this script

    from atomloop.db import migrate
    from atomloop.db.engine import get_engine

    with throwaway_server() as (server, scratch):
        url = server.url()
        migrate.upgrade(url)
        engine = get_engine(url)
        for count in args.sizes:
            seeds = range(count, count + args.repeats)  # new molecules for every repeat
            new_rate, present_rate = map(max, zip(*(time_atomloop(count, engine, seed) for seed in seeds)))
            rss = max_rss_mb()
            ase_tx = max(time_ase(count, scratch, seed, one_transaction=True) for seed in seeds)
            line = (
                f"N={count:>7}: atomloop {new_rate:8.0f} mol/s new, {present_rate:8.0f} mol/s all-present | "
                f"ASE one transaction {ase_tx:7.0f} mol/s (ratio {new_rate / ase_tx:4.2f}x)"
            )
            if count <= args.row_by_row_max:
                ase_rows = time_ase(count, scratch, count, one_transaction=False)
                line += f" | ASE row by row {ase_rows:6.0f} mol/s (ratio {new_rate / ase_rows:5.1f}x)"
            print(line + f" | max RSS after atomloop ingest {rss:.0f} MB (best of {args.repeats})", flush=True)


if __name__ == "__main__":
    main()
