"""Molecules the selection tests share: ASE's G2 collection, heavy-atom counts, conformers."""

from __future__ import annotations

from ase import Atoms
from ase.collections import g2

G2 = list(g2)


def heavy_atoms(atoms: Atoms) -> int:
    """Non-hydrogen atoms of ``atoms``."""
    return int((atoms.numbers > 1).sum())


def rattled(atoms: Atoms, seed: int, stdev: float = 0.03) -> Atoms:
    """A thermal-like conformer: every coordinate displaced by N(0, stdev) Å."""
    copy = atoms.copy()
    copy.rattle(stdev, seed=seed)
    return copy
