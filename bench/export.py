"""Export throughput at QM9 scale: ``atomloop export`` vs ASE's own one-transaction write.

Ingests the first N QM9 molecules with their U0 labels (``atomloop.ingest.ingest_source("qm9",
limit=N, labels=QM9_LEVEL)``) into a throwaway store, then times

1. ``atomloop export --to all.db`` and ``atomloop export --to all.extxyz``, each the real
   command in a child process (start-up included), which reports its own peak memory
   (``resource.getrusage``, max RSS);
2. ASE's own ``ase.db.connect(path)`` write of the same molecules as ``Atoms`` (positions and
   the energy on a single-point calculator, built before the clock starts) in one
   transaction (``with db: for atoms in molecules: db.write(atoms)``), the baseline; and, for
   reference, ASE's ``ase.io.write(path, molecules, format="extxyz")``.

Prints molecules/s of each, atomloop's time over ASE's one-transaction time (the target: at
most 2x) and the peak memory of each export (flat memory: about the same for N = 20,000 and
``--all``).

    .venv/bin/python bench/export.py            # N = 20,000 (a few minutes)
    .venv/bin/python bench/export.py --all      # every QM9 molecule (130,831; 130,763 distinct)
    .venv/bin/python bench/export.py --count 2000 --repeats 1
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import ase.db
import ase.io
from ase.calculators.singlepoint import SinglePointCalculator

_CHILD = """
import resource, sys, time
from atomloop.cli import main
sys.argv = ["atomloop", "export", "--to", sys.argv[1]]
start = time.perf_counter()
try:
    main()
finally:
    print(f"{time.perf_counter() - start} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
"""


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_atomloop_export(path: Path, count: int) -> tuple[float, float, float]:
    """(wall seconds of the whole command, seconds inside it, peak MB) of ``atomloop export --to path``."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"atomloop export --to {path} failed: {done.stderr.strip().splitlines()[-1:]}")
    assert done.stdout.strip().startswith(f"wrote {count} molecules to {path}"), done.stdout
    inside, rss_kb = done.stderr.strip().splitlines()[-1].split()
    path.unlink()
    return wall, float(inside), int(rss_kb) / 1024


def qm9_atoms(count: int | None) -> list:
    """The first ``count`` QM9 molecules (all when None) with U0 (eV) on a single-point calculator."""
    from atomloop.ingest.qm9 import read_qm9

    molecules = []
    for atoms, _ in read_qm9(limit=count):
        atoms.calc = SinglePointCalculator(atoms, energy=atoms.info.pop("energy"))
        molecules.append(atoms)
    return molecules


def time_ase_database(path: Path, molecules: list) -> float:
    """Seconds of ASE's own one-transaction write of ``molecules`` to a new ``path``."""
    db = ase.db.connect(path)
    start = time.perf_counter()
    with db:
        for atoms in molecules:
            db.write(atoms)
    seconds = time.perf_counter() - start
    path.unlink()
    return seconds


def time_ase_extxyz(path: Path, molecules: list) -> float:
    start = time.perf_counter()
    ase.io.write(path, molecules, format="extxyz")
    seconds = time.perf_counter() - start
    path.unlink()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20_000, help="QM9 molecules to ingest and export (default 20,000)")
    parser.add_argument("--all", action="store_true", help="every QM9 molecule")
    parser.add_argument("--repeats", type=int, default=2, help="best of this many runs per figure (2 cores are noisy)")
    args = parser.parse_args()

    from throwaway import throwaway_store  # bench/throwaway.py, beside this script

    from atomloop.ingest import ingest_source
    from atomloop.ingest.qm9 import QM9_LEVEL

    limit = None if args.all else args.count
    with throwaway_store() as engine:
        scratch = Path(os.environ["ATOMLOOP_HOME"])
        start = time.perf_counter()
        report = ingest_source("qm9", limit=limit, labels=QM9_LEVEL, engine=engine)
        stored = report.added
        print(f"ingested {report.total} QM9 molecules ({stored} distinct, {report.labels_added} labels) "
              f"in {time.perf_counter() - start:.0f} s", flush=True)

        exports = {}
        for suffix in (".db", ".extxyz"):
            runs = [time_atomloop_export(scratch / f"all{suffix}", stored) for _ in range(args.repeats)]
            exports[suffix] = min(runs)  # best wall time; its own inside time and peak memory
        molecules = qm9_atoms(limit)
        ase_db = min(time_ase_database(scratch / "ase.db", molecules) for _ in range(args.repeats))
        ase_xyz = min(time_ase_extxyz(scratch / "ase.extxyz", molecules) for _ in range(args.repeats))
        count = len(molecules)

        print(f"ASE one transaction (ase.db write): {count / ase_db:7.0f} mol/s, {ase_db:6.1f} s for {count} molecules",
              flush=True)
        print(f"ASE ase.io.write extxyz (reference): {count / ase_xyz:6.0f} mol/s, {ase_xyz:6.1f} s", flush=True)
        for suffix, (wall, inside, rss) in exports.items():
            print(f"atomloop export --to all{suffix:<8} {stored / wall:7.0f} mol/s, {wall:6.1f} s "
                  f"(command; {inside:.1f} s inside it) | {wall / ase_db:4.2f}x ASE's one-transaction time "
                  f"({inside / ase_db:4.2f}x inside) | peak memory {rss:.0f} MB", flush=True)
        print(f"bench process peak memory {max_rss_mb():.0f} MB (holds ASE's {count} Atoms); best of {args.repeats}")


if __name__ == "__main__":
    main()
