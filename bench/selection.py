"""Benchmark of a selection round: featurize and score a large generated pool.

Molecules are generated from ASE's G2 collection: rattled conformers (0.05 Å) of single
molecules and of random pairs placed 3.5-5 Å apart (up to 30 atoms). The training set draws
monomers and pairs of molecules with at most 3 heavy atoms, the pool draws from all of G2, so
there is a real shift to find. Prints molecules per second for the descriptors and for the
full round (descriptors, repeated 5-fold group cross-validation, permutation test, bootstrap
interval, diverse top-k) with its wall and CPU seconds and the load average (the machine may
be shared), the AUC with interval, p-value and null quantiles, the peak memory
(``ru_maxrss``), and, as a baseline measured in the same run, a straightforward per-pair
Python loop computing the same molecule descriptors.

Usage: ``python bench/selection.py [--n-pool 100000] [--n-train 5000] [--level molecule]
[--classifier auto|logistic|hgb] [--repeats R] [--permutations B]``; the small round the
issue times is ``--n-pool 160 --n-train 160``.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
from ase import Atoms
from ase.collections import g2

from atomloop.select import PoolView, adversarial_validation, get_strategy, molecule_descriptors
from atomloop.select.descriptors import DescriptorSettings, _cutoff, _radial_basis
from atomloop.select.names import CLASSIFIERS

MAX_ATOMS = 30


def _conformer(template: Atoms, rng: np.random.Generator) -> Atoms:
    atoms = template.copy()
    atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
    return atoms


def _pair(first: Atoms, second: Atoms, rng: np.random.Generator) -> Atoms:
    """Two molecules, the second shifted 3.5-5 Å beyond the first's extent in a random direction."""
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    extent = np.linalg.norm(first.positions - first.positions.mean(0), axis=1).max()
    extent += np.linalg.norm(second.positions - second.positions.mean(0), axis=1).max()
    shift = first.positions.mean(0) - second.positions.mean(0) + direction * (extent + rng.uniform(3.5, 5.0))
    return Atoms(
        numbers=np.r_[first.numbers, second.numbers],
        positions=np.r_[first.positions, second.positions + shift],
    )


def generate(templates: list[Atoms], n: int, seed: int) -> list[Atoms]:
    """``n`` molecules: 40 % conformers of one template, 60 % pairs of two (at most 30 atoms)."""
    rng = np.random.default_rng(seed)
    sizes = np.array([len(t) for t in templates])
    molecules = []
    while len(molecules) < n:
        first = int(rng.integers(len(templates)))
        if rng.random() < 0.4:
            molecules.append(_conformer(templates[first], rng))
            continue
        fitting = np.flatnonzero(sizes <= MAX_ATOMS - sizes[first])
        second = int(rng.choice(fitting))
        molecules.append(_pair(_conformer(templates[first], rng), _conformer(templates[second], rng), rng))
    return molecules


def loop_descriptors(atoms_list: list[Atoms], settings: DescriptorSettings) -> np.ndarray:
    """Baseline: the molecule descriptors with a Python loop over atom pairs."""
    channels = list(settings.channels)
    n_channels, n_radial = len(channels), settings.molecule_n_radial
    pair_index = {pair: i for i, pair in enumerate((a, b) for a in range(n_channels) for b in range(a, n_channels))}
    out = np.zeros((len(atoms_list), n_channels + len(pair_index) * n_radial))
    for row, atoms in enumerate(atoms_list):
        symbols = atoms.get_chemical_symbols()
        chan = [channels.index(s) if s in channels else n_channels - 1 for s in symbols]
        for c in chan:
            out[row, c] += 1
        for i in range(len(atoms)):
            for j in range(i + 1, len(atoms)):
                r = np.array(np.linalg.norm(atoms.positions[i] - atoms.positions[j]))
                if _cutoff(r, settings.molecule_cutoff) == 0:
                    continue
                start = n_channels + pair_index[tuple(sorted((chan[i], chan[j])))] * n_radial
                out[row, start : start + n_radial] += _radial_basis(r, settings.molecule_cutoff, n_radial)
    return out


def peak_memory_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-pool", type=int, default=100_000)
    parser.add_argument("--n-train", type=int, default=5_000)
    parser.add_argument("--level", choices=("molecule", "atom"), default="molecule")
    parser.add_argument("--classifier", choices=CLASSIFIERS, default="auto")
    parser.add_argument("--repeats", type=int, default=None, help="default: the library's (3 logistic, 1 hgb)")
    parser.add_argument("--permutations", type=int, default=None, help="default: the library's (100 logistic, 0 hgb)")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    everything = list(g2)
    small = [a for a in everything if (a.numbers > 1).sum() <= 3]
    started = time.perf_counter()
    train = generate(small, args.n_train, seed=args.seed)
    pool = generate(everything, args.n_pool, seed=args.seed + 1)
    natoms = np.array([len(a) for a in pool])
    print(
        f"generated {len(train)} training + {len(pool)} pool molecules "
        f"({natoms.min()}-{natoms.max()} atoms, mean {natoms.mean():.1f}) in {time.perf_counter() - started:.1f} s"
    )

    settings = DescriptorSettings(molecule_kind="counts")  # what loop_descriptors reproduces
    subset = pool[:500]
    started = time.perf_counter()
    reference = loop_descriptors(subset, settings)
    loop_rate = len(subset) / (time.perf_counter() - started)
    started = time.perf_counter()
    descriptors = molecule_descriptors(train + pool, settings)
    vector_seconds = time.perf_counter() - started
    vector_rate = (len(train) + len(pool)) / vector_seconds
    agreement = np.abs(descriptors[len(train) : len(train) + len(subset)] - reference).max()
    print(
        f"molecule descriptors: {vector_rate:,.0f} molecules/s vectorized ({vector_seconds:.1f} s) vs "
        f"{loop_rate:,.0f} molecules/s per-pair loop baseline: {vector_rate / loop_rate:.0f}x "
        f"(max difference {agreement:.1e})"
    )
    del descriptors, reference

    started, cpu_started = time.perf_counter(), time.process_time()
    result = adversarial_validation(
        train, pool, level=args.level, seed=args.seed, classifier=args.classifier, repeats=args.repeats,
        permutations=args.permutations, progress=True,
    )
    validation_seconds = time.perf_counter() - started
    picked = get_strategy("adversarial").select(
        PoolView(descriptors=result.pool_descriptors, natoms=natoms, ood_scores=result.scores), args.k
    )
    round_seconds = time.perf_counter() - started
    settings = result.settings
    print(
        f"full round ({args.level} level, test {settings['classifier']}, scores {settings['ranking_classifier']}, "
        f"{settings['repeats']} repeats, "
        f"{settings['permutations']} permutations): {round_seconds:.1f} s wall, "
        f"{time.process_time() - cpu_started:.1f} s CPU = {len(pool) / round_seconds:,.0f} pool molecules/s "
        f"(adversarial validation {validation_seconds:.1f} s, selection {round_seconds - validation_seconds:.2f} s; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    low, high = result.auc_interval
    null = "" if result.null_auc is None else " null AUC 2.5/50/97.5% {:.3f}/{:.3f}/{:.3f}".format(*result.null_auc)
    p_value = "" if result.p_value is None else f", p = {result.p_value:.4f}"
    top_sizes = natoms[picked.indices]
    ranking = "" if "ranking_auc" not in settings else f"; scoring classifier's AUC {settings['ranking_auc']:.3f}"
    print(
        f"AUC {result.auc:.3f} (95% interval {low:.3f}-{high:.3f}{p_value}){null}; {result.decision.verdict}; "
        f"top-{args.k} mean size {top_sizes.mean():.1f} atoms vs pool mean {natoms.mean():.1f}{ranking}"
    )
    print(f"peak memory (ru_maxrss): {peak_memory_gb():.2f} GB")


if __name__ == "__main__":
    main()
