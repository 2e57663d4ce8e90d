"""What the k-fold validation costs against a hold-out at the demo's size.

Data: ``--molecules`` small organic molecules (the 20 closed-shell ASE g2 molecules of
``bench/train.py``, H/C/N/O, 3-12 atoms, rattled by 0.05 Å), each its own composition group,
labelled by ASE's EMT potential (in Hartree): the cost of training does not depend on the
label values, and PySCF would take minutes. Each architecture is fitted through
:func:`atomloop.models.fitting.fit` (default hyper-parameters, batch size 8) under
``validation="holdout"`` (10 % held out: 2 of 20) and ``"k-fold"`` (``--folds``), from empty
checkpoint directories, on the CPU with one thread, after a one-epoch warm-up fit (so neither
pays for the process's first use of torch).

Printed per architecture: wall and CPU seconds of each, the epochs trained, the chosen epoch,
and the ratio k-fold / hold-out.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch
from ase import Atoms, units
from ase.build import molecule
from ase.calculators.emt import EMT

NAMES = ("H2O", "NH3", "CH4", "HCN", "H2CO", "C2H2", "C2H4", "CH3OH", "C2H6", "CH3CHO", "CH3CH2OH", "HCOOH",
         "H3CNH2", "CH3CN", "C3H8", "CH2OCH2", "CH3COCH3", "C5H5N", "C6H6", "CH3CONH2")


def labelled_molecules(count: int) -> dict[int, Atoms]:
    """``count`` rattled g2 molecules with EMT energies (Hartree) in ``info['energy']``, by id."""
    out = {}
    for k in range(count):
        atoms = molecule(NAMES[k % len(NAMES)])
        atoms.rattle(0.05, seed=k)
        atoms.calc = EMT()
        atoms.info["energy"] = atoms.get_potential_energy() / units.Hartree
        atoms.calc = None
        out[k] = atoms
    return out


def timed_fit(arch: str, atoms_by_id: dict[int, Atoms], rule: str, epochs: int, folds: int) -> dict[str, float]:
    """Wall and CPU seconds of one fit under ``rule``, in a fresh artifacts directory."""
    from atomloop.config import get_settings
    from atomloop.models.fitting import fit, split_training_data
    from atomloop.models.training import TrainingConfig
    from atomloop.store.labels import LabelSource

    with tempfile.TemporaryDirectory() as home:
        os.environ["ATOMLOOP_HOME"] = home
        get_settings(reload=True)
        data = split_training_data(LabelSource("bench"), atoms_by_id, validation=rule, folds=folds)
        config = TrainingConfig(epochs=epochs, validation=rule, folds=folds, device="cpu", progress=False)
        wall, cpu = time.perf_counter(), time.process_time()
        result, _ = fit(arch, data, config)
        trained = len(result.history) + sum(len(h) for h in result.fold_histories.values())
        return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "epochs": trained,
                "best": result.best_epoch, "valid": len(data.valid_ids), "folds": len(data.folds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--molecules", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--arch", nargs="+", default=["schnet", "nequip"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    atoms_by_id = labelled_molecules(args.molecules)
    print(f"{args.molecules} molecules, {args.epochs} epochs, {args.folds} folds, 1 thread")
    for arch in args.arch:
        timed_fit(arch, atoms_by_id, "holdout", 1, args.folds)  # warm-up
        runs = {rule: timed_fit(arch, atoms_by_id, rule, args.epochs, args.folds) for rule in ("holdout", "k-fold")}
        for rule, r in runs.items():
            print(f"{arch:7s} {rule:8s} wall {r['wall']:7.1f} s  cpu {r['cpu']:7.1f} s  epochs trained {r['epochs']:4d}"
                  f"  chosen epoch {r['best']:3d}  held out {r['valid']}  folds {r['folds']}")
        print(f"{arch:7s} k-fold / holdout: wall x{runs['k-fold']['wall'] / runs['holdout']['wall']:.1f}, "
              f"cpu x{runs['k-fold']['cpu'] / runs['holdout']['cpu']:.1f}")


if __name__ == "__main__":
    main()
