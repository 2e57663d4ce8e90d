"""Benchmark of labelling: partitioning overhead per scheme and ``atomloop label`` throughput.

1. For molecules of 3 to 20 atoms (ASE g2, and n-hexane from SMILES with ``--full``) at
   ``--method/--basis`` (default b3lyp/def2-svp): wall time of the bare PySCF SCF vs the SCF of
   ``atomloop.qm.calculation`` and the extra time of each partition scheme (shared operators +
   its localization + its weights), best of ``--repeats``, printed as a ratio to the bare SCF.
   Targets at 20 atoms: <= 4 % (AO scheme), <= 8 % (MO schemes).
2. Throughput (molecules per hour, ``--workers`` processes of one thread) of
   ``label_molecules`` on a throwaway embedded PostgreSQL store vs a plain loop over PySCF in
   the same number of processes on the same ``--molecules`` closed-shell g2 molecules (3 to 9
   atoms), best of ``--repeats``, the modes interleaved: the platform alone (no schemes; target
   ratio >= 0.95) and with ao-eda + mo-pm-iao. Then where the time goes, measured in the same
   run: the start and imports of a fresh worker process (a label worker's vs a plain PySCF
   one's) and one in-process ``label_molecules`` pass over the same molecules with its steps
   timed (claim, molecule load, SCF, operators, each scheme, compression, store writes).
3. A scheme added later: ``repartition`` of the kept occupied orbitals and their operator blocks
   (no SCF, no operator build: localization and weights only) for one MO scheme (``--added-scheme``, default mo-pm-iao) on molecules labelled with
   ao-eda, as a ratio to the bare PySCF SCF of the same molecule. Target: <= 15 %.
4. ``--device`` (this part only): SCF + partitioning (ao-eda, mo-pm-iao) of one QM9-size molecule
   (salicylaldehyde, 9 heavy atoms) with the SCF on the GPU (gpu4pyscf) vs on the CPU
   (``--device-threads`` threads), and the difference of their energies; skipped, with a line
   saying so, without CUDA and gpu4pyscf (``pip install 'atomloop[gpu]'``).

Usage: ``python bench/label.py [--full] [--method b3lyp] [--basis def2-svp] [--workers 2] [--molecules 32]
[--repeats 3] [--only-overhead] [--only-throughput] [--device]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

from ase import Atoms
from ase.build import molecule
from throwaway import throwaway_store  # bench/throwaway.py, beside this script

from atomloop.qm import VALID_SCHEMES, QMSettings, compute, parse_scheme
from atomloop.qm.calculation import repartition

OVERHEAD_MOLECULES = ("H2O", "CH3OH", "CH3CH2OH")
THROUGHPUT_MOLECULES = (  # closed-shell g2 molecules of H, C, N, O with 3 to 9 atoms, smallest first
    "CO2", "H2O", "HCN", "N2O", "C2H2", "H2CO", "H2O2", "NCCN", "NH3", "CH4", "H2CCO", "HCOOH", "C2H4", "CH3CN",
    "CH3OH", "N2H4", "OCHCHO", "C3H4_C2v", "C3H4_C3v", "C3H4_D2d", "CH2OCH2", "CH3CHO", "CH3NO2", "CH3ONO",
    "H2CCHCN", "H3CNH2", "C2H6", "CH2NHCH2", "CH3COOH", "HCOOCH3", "C3H6_Cs", "C3H6_D3h",
)
WORKER_IMPORTS = {  # what a fresh worker process imports before its first molecule
    "atomloop label worker": "import pyscf.dft, atomloop.labelling.worker",
    "plain PySCF worker": "import pyscf.dft, ase.build",
}
QM9_SIZE_SMILES = "O=Cc1ccccc1O"  # salicylaldehyde, C7H6O2: 9 heavy atoms, as the largest QM9 molecules


def bare_scf_seconds(atoms: Atoms, settings: QMSettings) -> float:
    """Wall time (s) of a plain PySCF RHF/RKS at the same basis, grid and convergence."""
    from pyscf import dft, gto, scf

    start = time.perf_counter()
    mol = gto.M(atom=[(s, tuple(p)) for s, p in zip(atoms.get_chemical_symbols(), atoms.positions)],
                basis=settings.basis, verbose=0)
    if settings.is_dft:
        mf = dft.RKS(mol, xc=settings.method)
        mf.grids.level = settings.grid_level
    else:
        mf = scf.RHF(mol)
    mf.conv_tol = settings.conv_tol
    if settings.conv_tol_grad is not None:  # the same convergence as atomloop's SCF
        mf.conv_tol_grad = settings.conv_tol_grad
    mf.verbose = 0
    mf.kernel()
    return time.perf_counter() - start


def scheme_overhead(timings: dict[str, float], scheme_name: str) -> float:
    """Seconds one scheme adds to the SCF: shared operators + its localization + its weights."""
    scheme = parse_scheme(scheme_name)
    if scheme.family == "ao":
        return timings["operators"] + timings[f"partition:{scheme_name}"]
    return timings["operators"] + timings.get(f"localize:{scheme.localization}", 0.0) + timings[f"weights:{scheme_name}"]


def overhead_table(molecules: list[tuple[str, Atoms]], settings: QMSettings, repeats: int) -> None:
    """Per molecule: the best of ``repeats`` bare SCFs and, step by step, the best of ``repeats``
    ``compute`` calls (bare and atomloop interleaved, so that machine load hits both alike)."""
    print(f"\n== partitioning overhead at {settings.method}/{settings.basis} (1 thread, best of {repeats}) ==")
    header = f"{'molecule':10s} {'atoms':>5s} {'bare SCF s':>10s} {'qm SCF s':>9s} " + " ".join(f"{s:>12.12s}" for s in VALID_SCHEMES)
    print(header)
    warm_up = molecules[0][1]
    bare_scf_seconds(warm_up, settings)  # first calls load bases and libraries: not timed
    compute(warm_up, settings)
    for name, atoms in molecules:
        bare, timings = float("inf"), {}
        for _ in range(repeats):
            bare = min(bare, bare_scf_seconds(atoms, settings))
            for key, seconds in compute(atoms, settings).timings.items():
                timings[key] = min(timings.get(key, float("inf")), seconds)
        ratios = [scheme_overhead(timings, s) / bare for s in VALID_SCHEMES]
        print(f"{name:10s} {len(atoms):5d} {bare:10.2f} {timings['scf']:9.2f} "
              + " ".join(f"{100 * r:11.1f}%" for r in ratios))
    print("(columns per scheme: extra time of that scheme / bare SCF time)")


def added_scheme_table(molecules: list[tuple[str, Atoms]], method: str, basis: str, scheme: str) -> None:
    labelled, added = (QMSettings(method=method, basis=basis, schemes=s) for s in (("ao-eda",), (scheme,)))
    print(f"\n== adding {scheme} to molecules labelled with ao-eda at {method}/{basis} (1 thread) ==")
    print(f"{'molecule':10s} {'atoms':>5s} {'bare SCF s':>10s} {'added s':>8s} {'ratio':>7s}")
    warm_up = molecules[0][1]  # first calls load bases and libraries: not timed
    repartition(warm_up, added, (first := compute(warm_up, labelled)).orbitals, first.energy)
    total_bare = total_added = 0.0
    for name, atoms in molecules:
        bare = bare_scf_seconds(atoms, labelled)
        result = compute(atoms, labelled)
        start = time.perf_counter()
        repartition(atoms, added, result.orbitals, result.energy)
        seconds = time.perf_counter() - start
        total_bare, total_added = total_bare + bare, total_added + seconds
        print(f"{name:10s} {len(atoms):5d} {bare:10.2f} {seconds:8.2f} {100 * seconds / bare:6.1f}%")
    print(f"{'all':10s} {'':5s} {total_bare:10.2f} {total_added:8.2f} {100 * total_added / total_bare:6.1f}%"
          "   (target <= 15 %)")


def _plain_worker(item: tuple[str, QMSettings]) -> float:
    return bare_scf_seconds(molecule(item[0]), item[1])


def plain_loop_seconds(names: tuple[str, ...], settings: QMSettings, workers: int) -> float:
    """Wall time of a plain PySCF loop over ``names`` in ``workers`` spawned processes."""
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(_plain_worker, [(n, settings) for n in names], chunksize=1)
    return time.perf_counter() - start


def label_seconds(names: tuple[str, ...], settings: QMSettings, workers: int) -> float:
    """Wall time of ``label_molecules`` over ``names`` in a fresh, throwaway embedded store."""
    from atomloop.ingest import ingest_atoms
    from atomloop.labelling import label_molecules

    with throwaway_store() as engine:
        ingest_atoms([molecule(n) for n in names], source="bench", engine=engine)
        report = label_molecules(settings, engine=engine, workers=workers, progress=False)
    if report.done != len(names):
        raise RuntimeError(report.summary())
    return report.wall_time


def throughput(names: tuple[str, ...], method: str, basis: str, workers: int, repeats: int) -> None:
    """Best-of-``repeats`` wall times, modes interleaved (order reversed every other repeat) so
    that machine load hits all alike."""
    scf_only = QMSettings(method=method, basis=basis, schemes=())
    partitioned = QMSettings(method=method, basis=basis, schemes=("ao-eda", "mo-pm-iao"))
    print(f"\n== throughput on {len(names)} closed-shell g2 molecules, {workers} processes x 1 thread, {method}/{basis}, "
          f"best of {repeats} ==")
    modes = {
        "plain PySCF loop (SCF)": lambda: plain_loop_seconds(names, scf_only, workers),
        "atomloop label (SCF, no schemes)": lambda: label_seconds(names, scf_only, workers),
        "atomloop label (SCF + ao-eda + mo-pm-iao)": lambda: label_seconds(names, partitioned, workers),
    }
    best = {mode: float("inf") for mode in modes}
    for repeat in range(repeats):  # the order reversed every other time: a load trend hits all alike
        for mode in (list(modes) if repeat % 2 == 0 else list(reversed(modes))):
            best[mode] = min(best[mode], modes[mode]())
    plain = best["plain PySCF loop (SCF)"]
    for mode, seconds in best.items():
        print(f"{mode:42s} {seconds:7.1f} s {3600 * len(names) / seconds:8.0f} molecules/hour  "
              f"ratio to plain {plain / seconds:.3f}")
    print("(target: atomloop label (SCF, no schemes) ratio >= 0.95)")
    time_breakdown(names, partitioned, repeats)


def process_start_seconds(statement: str, repeats: int) -> float:
    """Best-of-``repeats`` wall time (s) of a fresh one-thread Python process running ``statement``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        best = min(best, time.perf_counter() - start)
    return best


def _timed(spent: dict[str, float], key: str, function: Callable) -> Callable:
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - start
    return timed


def time_breakdown(names: tuple[str, ...], settings: QMSettings, repeats: int) -> None:
    """Where the labelling time goes: process start + imports, and the steps of one in-process
    ``label_molecules`` pass over ``names`` (seconds summed over the molecules)."""
    from atomloop.labelling import label_molecules
    from atomloop.labelling import worker as worker_module
    from atomloop.qm.orbitals import OccupiedOrbitals

    print(f"\n== where the time goes: {len(names)} molecules, one in-process label pass, "
          f"{' + '.join(settings.schemes)} ==")
    for side, statement in WORKER_IMPORTS.items():
        print(f"{'process start + imports, ' + side:46s} {process_start_seconds(statement, repeats):7.2f} s per process")
    spent: dict[str, float] = defaultdict(float)
    qm: dict[str, float] = defaultdict(float)
    compute = worker_module.compute

    def computed(*args, **kwargs):
        result = compute(*args, **kwargs)
        for key, seconds in result.timings.items():
            qm[key] += seconds
        return result

    steps = {"claim_next": "claim (store round trip)", "load_atoms": "molecule load (store round trip)",
             "store_result": "store writes (incl. compression)"}
    originals = {name: getattr(worker_module, name) for name in steps}
    to_bytes = OccupiedOrbitals.to_bytes
    worker_module.compute = _timed(spent, "compute", computed)
    for name, key in steps.items():
        setattr(worker_module, name, _timed(spent, key, originals[name]))
    OccupiedOrbitals.to_bytes = _timed(spent, "compression", to_bytes)
    try:
        with throwaway_store() as engine:
            from atomloop.ingest import ingest_atoms

            ingest_atoms([molecule(n) for n in names], source="bench", engine=engine)
            report = label_molecules(settings, engine=engine, workers=1, progress=False)
    finally:
        worker_module.compute, OccupiedOrbitals.to_bytes = compute, to_bytes
        for name, function in originals.items():
            setattr(worker_module, name, function)
    partitions = {key: seconds for key, seconds in qm.items() if key.startswith("partition:")}
    rows = [("SCF (incl. molecule build)", qm["scf"]), ("operators (shared by the schemes)", qm.get("operators", 0.0)),
            *((f"{key} (localization + weights)", seconds) for key, seconds in partitions.items()),
            ("compute, rest", spent["compute"] - qm["scf"] - qm.get("operators", 0.0) - sum(partitions.values())),
            (steps["claim_next"], spent[steps["claim_next"]]), (steps["load_atoms"], spent[steps["load_atoms"]]),
            ("compression of orbitals + operator blocks", spent["compression"]),
            ("store writes, rest", spent[steps["store_result"]] - spent["compression"])]
    rows.append(("label_molecules, rest (queue, derive, counts)", report.wall_time - sum(seconds for _, seconds in rows)))
    for key, seconds in rows:
        print(f"{key:46s} {seconds:7.2f} s {100 * seconds / report.wall_time:6.1f}%")
    print(f"{'label_molecules (one process)':46s} {report.wall_time:7.2f} s")


def device_table(method: str, basis: str, threads: int) -> None:
    """Part 4: wall times (s) of SCF + partitioning of :data:`QM9_SIZE_SMILES` on the GPU vs the CPU."""
    from pyscf import lib

    from atomloop.ingest.smiles import atoms_from_smiles
    from atomloop.qm.device import cuda_available, gpu4pyscf_installed

    print(f"\n== SCF + partitioning on the GPU vs the CPU ({threads} threads), {QM9_SIZE_SMILES} (9 heavy atoms), "
          f"{method}/{basis} ==")
    if not (gpu4pyscf_installed() and cuda_available()):
        print("no CUDA/gpu4pyscf: skipped (pip install 'atomloop[gpu]' on a machine with a CUDA GPU)")
        return
    lib.num_threads(threads)
    settings = QMSettings(method=method, basis=basis, schemes=("ao-eda", "mo-pm-iao"))
    atoms = atoms_from_smiles(QM9_SIZE_SMILES)[0]
    for device in ("cpu", "cuda"):  # first calls load bases, libraries and CUDA kernels: not timed
        compute(molecule("H2O"), settings, device=device)
    results = {device: compute(atoms, settings, device=device) for device in ("cpu", "cuda")}
    print(f"{'device':7s} {'SCF s':>8s} {'partition s':>12s} {'total s':>8s}")
    for device, result in results.items():
        scf = result.timings["scf"]
        print(f"{device:7s} {scf:8.2f} {result.wall_time - scf:12.2f} {result.wall_time:8.2f}")
    cpu, gpu = results["cpu"], results["cuda"]
    print(f"speed-up: SCF {cpu.timings['scf'] / gpu.timings['scf']:.1f}x, SCF + partitioning "
          f"{cpu.wall_time / gpu.wall_time:.1f}x; |E_gpu - E_cpu| = {abs(gpu.energy - cpu.energy):.1e} Ha")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", default="b3lyp")
    parser.add_argument("--basis", default="def2-svp")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="repetitions of parts 1 and 2 (best is kept)")
    parser.add_argument("--molecules", type=int, default=len(THROUGHPUT_MOLECULES),
                        help=f"throughput molecules, the first N of {len(THROUGHPUT_MOLECULES)} (smallest first)")
    parser.add_argument("--full", action="store_true", help="add benzene (12 atoms) and n-hexane (20 atoms)")
    parser.add_argument("--added-scheme", default="mo-pm-iao", help="the scheme added to labelled molecules (part 3)")
    parser.add_argument("--only-added", action="store_true", help="run part 3 only")
    parser.add_argument("--only-throughput", action="store_true", help="run part 2 only")
    parser.add_argument("--only-overhead", action="store_true", help="run part 1 only")
    parser.add_argument("--device", action="store_true", help="run part 4 only: GPU vs CPU SCF + partitioning")
    parser.add_argument("--device-threads", type=int, default=os.cpu_count(), help="CPU threads of part 4")
    args = parser.parse_args()
    if args.device:
        device_table(args.method, args.basis, args.device_threads)
        return

    if args.only_throughput:
        throughput(THROUGHPUT_MOLECULES[:args.molecules], args.method, args.basis, args.workers, args.repeats)
        return
    molecules = [(name, molecule(name)) for name in OVERHEAD_MOLECULES]
    if args.full:
        from atomloop.ingest.smiles import atoms_from_smiles

        molecules += [("C6H6", molecule("C6H6")), ("n-hexane", atoms_from_smiles("CCCCCC")[0])]
    if args.only_added:
        added_scheme_table(molecules, args.method, args.basis, args.added_scheme)
        return
    overhead_table(molecules, QMSettings(method=args.method, basis=args.basis, schemes=VALID_SCHEMES), args.repeats)
    if args.only_overhead:
        return
    added_scheme_table(molecules, args.method, args.basis, args.added_scheme)
    throughput(THROUGHPUT_MOLECULES[:args.molecules], args.method, args.basis, args.workers, args.repeats)


if __name__ == "__main__":
    main()
