"""Molecules built with exact point-group symmetry (ASE's G2 coordinates are rounded to 1e-6 Å,
which leaves "equivalent" atoms unequal by up to 4e-8 Ha in the atomic energies), with the
groups of symmetry-equivalent atoms of each (indices into the ``Atoms``)."""

from __future__ import annotations

import numpy as np
from ase import Atoms


def _ring(count: int, radius: float, height: float = 0.0, phase: float = 0.0) -> np.ndarray:
    angles = phase + 2 * np.pi * np.arange(count) / count
    return np.c_[radius * np.cos(angles), radius * np.sin(angles), np.full(count, height)]


def water(oh: float = 0.9572, angle: float = 104.52) -> Atoms:
    """C2v water in the xz plane (Å, degrees)."""
    half = np.radians(angle) / 2
    return Atoms("OH2", positions=[(0, 0, 0), (oh * np.sin(half), 0, oh * np.cos(half)),
                                   (-oh * np.sin(half), 0, oh * np.cos(half))])


def methane(ch: float = 1.0870) -> Atoms:
    """Td methane."""
    corner = ch / np.sqrt(3)
    signs = [(1, 1, 1), (-1, -1, 1), (-1, 1, -1), (1, -1, -1)]
    return Atoms("CH4", positions=[(0, 0, 0)] + [tuple(corner * np.array(s)) for s in signs])


def ethane(cc: float = 1.5351, ch: float = 1.0940, angle: float = 111.2) -> Atoms:
    """Staggered D3d ethane; ``angle`` is H-C-C in degrees."""
    theta = np.radians(angle)
    radius, height = ch * np.sin(theta), cc / 2 - ch * np.cos(theta)
    positions = np.r_[[[0, 0, cc / 2], [0, 0, -cc / 2]], _ring(3, radius, height), _ring(3, radius, -height, np.pi / 3)]
    return Atoms("C2H6", positions=positions)


def benzene(cc: float = 1.3915, ch: float = 1.0800) -> Atoms:
    """D6h benzene."""
    return Atoms("C6H6", positions=np.r_[_ring(6, cc), _ring(6, cc + ch)])


EQUIVALENT_ATOMS: dict[str, tuple[Atoms, list[list[int]]]] = {
    "water": (water(), [[1, 2]]),
    "methane": (methane(), [[1, 2, 3, 4]]),
    "ethane": (ethane(), [[0, 1], [2, 3, 4, 5, 6, 7]]),
    "benzene": (benzene(), [list(range(6)), list(range(6, 12))]),
}
