"""The labelled set a simulated campaign asks instead of running DFT: QM9's U0 (default) or a
user's labelled extxyz file (ASE's conventions: the total energy in eV in ``info['energy']`` or
on the frame's calculator).

An oracle holds every molecule's SMILES (QM9's, or one RDKit perceives from the geometry) for
the target chemistry, and parses geometries only for the molecules a campaign draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.units import Hartree, kcal, mol

from atomloop.errors import InputError

EV_TO_KCAL_MOL = 1.0 / (kcal / mol)


@dataclass
class Oracle:
    """``size`` labelled molecules: ``energies`` (size,) in kcal/mol, ``smiles`` (size,) ('' when
    unknown), ``atoms(i)`` the i-th structure (Å) built on demand."""

    name: str
    energies: np.ndarray
    smiles: list[str]
    build: Callable[[int], Atoms]

    @property
    def size(self) -> int:
        return int(self.energies.size)

    def atoms(self, indices: Sequence[int]) -> list[Atoms]:
        """The structures of ``indices``, in that order."""
        return [self.build(int(i)) for i in indices]


def qm9_oracle() -> Oracle:
    """QM9's 130,831 molecules with U0 (B3LYP/6-31G(2df,p)) from ``qm9pack``."""
    from atomloop.ingest.qm9 import U0_COLUMN, qm9_rows

    rows = list(qm9_rows())
    energies = np.array([float(r.row[U0_COLUMN]) for r in rows]) * Hartree * EV_TO_KCAL_MOL
    return Oracle("qm9-u0", energies, [r.row["SMILES"] for r in rows], lambda i: rows[i].atoms())


def perceived_smiles(atoms: Atoms) -> str:
    """SMILES RDKit perceives from the geometry (bond orders for a neutral closed shell, else
    connectivity only); '' when it cannot."""
    from rdkit import Chem, RDLogger
    from rdkit.Chem import rdDetermineBonds

    RDLogger.DisableLog("rdApp.*")
    block = f"{len(atoms)}\n\n" + "\n".join(
        f"{s} {x:.6f} {y:.6f} {z:.6f}" for s, (x, y, z) in zip(atoms.get_chemical_symbols(), atoms.positions)
    )
    molecule = Chem.MolFromXYZBlock(block)
    if molecule is None:
        return ""
    try:
        rdDetermineBonds.DetermineBonds(molecule, charge=int(atoms.info.get("charge", 0)))
    except (ValueError, RuntimeError):
        rdDetermineBonds.DetermineConnectivity(molecule)
    return Chem.MolToSmiles(Chem.RemoveHs(molecule, sanitize=False))


def _frame_energy(atoms: Atoms, where: str) -> float:
    value = atoms.info.get("energy")
    if value is None and atoms.calc is not None:
        value = atoms.calc.results.get("energy")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not math.isfinite(value):
        raise InputError(f"{where}: no numeric total energy (eV) in info['energy'] or on the calculator")
    return float(value)


def extxyz_oracle(path: Path) -> Oracle:
    """The frames of an extxyz file with their total energies (eV in the file, kcal/mol here)."""
    import ase.io

    try:
        frames = ase.io.read(path, index=":", format="extxyz")
    except (OSError, ValueError, KeyError) as error:
        raise InputError(f"--oracle {path}: cannot read it as extxyz ({error})") from None
    if not frames:
        raise InputError(f"--oracle {path}: no frames")
    energies = np.array([_frame_energy(a, f"{path} frame {i}") for i, a in enumerate(frames)]) * EV_TO_KCAL_MOL
    smiles = [str(a.info.get("smiles") or perceived_smiles(a)) for a in frames]
    return Oracle(path.name, energies, smiles, lambda i: frames[i].copy())
