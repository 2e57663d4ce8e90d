"""What makes two structures the same: charge, multiplicity and canonical hashes.

``structure_hash``: the same for structures equal up to rotation, translation and atom order.
It hashes the formula, charge, multiplicity and, per element pair, the sorted list of
interatomic distances rounded to ``DISTANCE_DECIMALS`` (10^-3 Å). Sorted pair-distance lists
are invariant to rigid motions and permutations; geometries whose every distance agrees to
about 5e-4 Å are duplicates. Different conformers differ in some distance and stay distinct.

``composition_hash``: the same for every conformer of one molecule: formula, charge,
multiplicity and a Weisfeiler-Lehman hash (two refinements: every atom's environment
out to its second neighbours) of the covalent bond graph (bonds where
d_ij < 1.2 (r_i + r_j), covalent radii from ASE). Used to group conformers so that
cross-validation never puts one molecule on both sides of a fold.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols, covalent_radii

from atomloop.errors import InputError

DISTANCE_DECIMALS = 3
BOND_TOLERANCE = 1.2
_WL_ITERATIONS = 2


def validate_numbers(numbers: np.ndarray) -> None:
    """Raise ``InputError`` for atomic numbers outside 1..118."""
    bad = numbers[(numbers < 1) | (numbers >= len(chemical_symbols))]
    if bad.size:
        raise InputError(f"unknown element with atomic number {int(bad[0])}")


def _distance_matrices(positions: np.ndarray) -> np.ndarray:
    """Interatomic distances (Å), shape (m, n, n), of ``positions`` of shape (m, n, 3)."""
    delta = positions[:, :, None, :] - positions[:, None, :, :]
    return np.sqrt(np.einsum("mijk,mijk->mij", delta, delta))


@lru_cache(maxsize=512)
def _upper_triangle(size: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(size, k=1)


def _prefix(formula: str, charge: int, multiplicity: int) -> bytes:
    return f"{formula}|{charge}|{multiplicity}|".encode()


def structure_hashes(numbers: np.ndarray, positions: np.ndarray, prefixes: list[bytes]) -> list[str]:
    """Hashes invariant to rotation, translation and atom order (see the module docstring)
    of m molecules of n atoms each: ``numbers`` shape (m, n), ``positions`` (m, n, 3) in Å,
    ``prefixes`` the formula/charge/multiplicity of each (see :func:`structure_hash`)."""
    order = np.argsort(numbers, axis=1, kind="stable")
    numbers = np.take_along_axis(numbers, order, axis=1)
    distances = _distance_matrices(np.take_along_axis(positions, order[:, :, None], axis=1))
    upper_i, upper_j = _upper_triangle(numbers.shape[1])
    pair_keys = numbers[:, upper_i].astype(np.int64) * 1000 + numbers[:, upper_j]
    rounded = np.rint(distances[:, upper_i, upper_j] * 10**DISTANCE_DECIMALS).astype(np.int64)
    canonical = np.lexsort((rounded, pair_keys), axis=-1)
    pair_keys = np.take_along_axis(pair_keys, canonical, axis=1)
    rounded = np.take_along_axis(rounded, canonical, axis=1)
    return [
        hashlib.sha256(prefix + keys.tobytes() + values.tobytes()).hexdigest()
        for prefix, keys, values in zip(prefixes, pair_keys, rounded, strict=True)
    ]


def bond_graphs(numbers: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Boolean adjacency matrices, shape (m, n, n): covalent bonds by the radii rule."""
    radii = covalent_radii[numbers]
    cutoff = BOND_TOLERANCE * (radii[:, :, None] + radii[:, None, :])
    adjacency = _distance_matrices(positions) < cutoff
    adjacency[:, np.arange(numbers.shape[1]), np.arange(numbers.shape[1])] = False
    return adjacency


def _mix(values: np.ndarray) -> np.ndarray:
    """An xor-shift-multiply mixer, elementwise on uint64 (wrapping arithmetic)."""
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    return values ^ (values >> np.uint64(29))


def composition_hashes(numbers: np.ndarray, positions: np.ndarray, prefixes: list[bytes]) -> list[str]:
    """Hashes shared by all conformers of one molecule (see the module docstring), for m
    molecules of n atoms each (shapes as in :func:`structure_hashes`).

    The Weisfeiler-Lehman refinement is vectorised: a node's new label mixes its own label
    with the wrapping sum of its neighbours' labels (an order-free multiset hash).
    """
    adjacency = bond_graphs(numbers, positions).astype(np.uint64)
    labels = _mix(numbers.astype(np.uint64))
    for _ in range(_WL_ITERATIONS):
        labels = _mix(labels * np.uint64(0x9E3779B97F4A7C15) + np.einsum("mij,mj->mi", adjacency, labels))
    labels = np.sort(labels, axis=1)
    return [hashlib.sha256(prefix + row.tobytes()).hexdigest() for prefix, row in zip(prefixes, labels, strict=True)]


def identity_hashes(
    numbers: np.ndarray, positions: np.ndarray, identities: list[tuple[str, int, int]]
) -> tuple[list[str], list[str]]:
    """Structure and composition hashes of m molecules of n atoms each; ``identities`` holds
    each molecule's (formula, charge, multiplicity)."""
    prefixes = [_prefix(*identity) for identity in identities]
    return structure_hashes(numbers, positions, prefixes), composition_hashes(numbers, positions, prefixes)


@lru_cache(maxsize=65536)
def _hill_formula_of_counts(counts: bytes) -> str:
    per_element = np.frombuffer(counts, dtype=np.int64)
    return Atoms(numbers=np.repeat(np.arange(len(per_element)), per_element)).get_chemical_formula(mode="hill")


def hill_formula(numbers: np.ndarray) -> str:
    """Hill formula (C, H, then alphabetical) of atomic numbers, as ASE writes it."""
    return _hill_formula_of_counts(np.bincount(numbers).astype(np.int64).tobytes())
