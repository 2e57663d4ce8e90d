"""Local chemical environments of atoms, as radius-2 bond-graph keys.

Bonds: two atoms closer than the sum of their covalent radii (ASE's ``natural_cutoffs``, Å)
times ``BOND_SCALE``. An atom's key is its element with the sorted elements of its bonded
neighbours, each with the sorted elements of *its* neighbours (a Weisfeiler-Lehman step of
depth 2, no geometry): the same key means the same element in the same two bond shells.
"""

from __future__ import annotations

from collections.abc import Iterable

from ase import Atoms
from ase.data import chemical_symbols
from ase.neighborlist import natural_cutoffs, neighbor_list

BOND_SCALE = 1.2


def bonded_neighbours(atoms: Atoms) -> list[list[int]]:
    """Indices of each atom's bonded neighbours (covalent radii times :data:`BOND_SCALE`)."""
    first, second = neighbor_list("ij", atoms, natural_cutoffs(atoms, mult=BOND_SCALE))
    neighbours: list[list[int]] = [[] for _ in range(len(atoms))]
    for i, j in zip(first.tolist(), second.tolist()):
        neighbours[i].append(j)
    return neighbours


def environment_keys(atoms: Atoms) -> list[str]:
    """One radius-2 key per atom (length N): the methyl carbon of ethanol is ``C(CCHHO,HC,HC,HC)``
    (itself; per neighbour, its element and its neighbours' elements)."""
    symbols = [chemical_symbols[z] for z in atoms.numbers]
    neighbours = bonded_neighbours(atoms)
    shell_1 = [symbols[i] + "".join(sorted(symbols[j] for j in neighbours[i])) for i in range(len(atoms))]
    return [
        f"{symbols[i]}(" + ",".join(sorted(shell_1[j] for j in neighbours[i])) + ")" for i in range(len(atoms))
    ]


def seen_environments(molecules: Iterable[Atoms]) -> set[str]:
    """Every environment key of every atom of ``molecules`` (a training set)."""
    return {key for atoms in molecules for key in environment_keys(atoms)}
