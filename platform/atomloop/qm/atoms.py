"""Free-atom reference energies for atomization-style atomic contributions (Hartree).

Each element's ground-state multiplicity follows Hund's rule for the aufbau configuration;
the atom is computed spin-polarised (UHF/UKS) at the same method, basis, grid and
convergence settings as the molecule. Results are cached per process.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from ase import Atoms
from ase.data import chemical_symbols

from atomloop.qm.scf import build_molecule, run_scf
from atomloop.qm.settings import QMSettings

# Subshells in aufbau (Madelung) order: (n + l, n), with angular momentum l.
_SUBSHELL_L = (0, 0, 1, 0, 1, 0, 2, 1, 0, 2, 1, 0, 3, 2, 1, 0, 3, 2, 1)
# Exceptions to aufbau filling: one s electron promoted into d (Cr, Cu, Mo, Ag, Au ...).
_HALF_OR_FULL_D = {24: 6, 29: 1, 42: 6, 47: 1, 79: 1}


def ground_state_multiplicity(atomic_number: int) -> int:
    """2S+1 of the free atom by Hund's rule on the last, partially filled subshell."""
    if atomic_number in _HALF_OR_FULL_D:
        return _HALF_OR_FULL_D[atomic_number] + 1
    remaining, unpaired = atomic_number, 0
    for l in _SUBSHELL_L:
        capacity = 2 * (2 * l + 1)
        electrons = min(remaining, capacity)
        remaining -= electrons
        if remaining == 0:
            orbitals = 2 * l + 1
            unpaired = electrons if electrons <= orbitals else capacity - electrons
            break
    return unpaired + 1


def free_atom_settings(settings: QMSettings) -> QMSettings:
    """The level of ``settings`` for a neutral, spin-unrestricted atom without partitioning."""
    return replace(settings, schemes=(), atomization=False, charge=0, multiplicity=None, reference="unrestricted")


def free_atom_energy(atomic_number: int, settings: QMSettings) -> float:
    """Total energy (Hartree) of the isolated, spin-polarised atom at the level of ``settings``."""
    return _free_atom_energy(atomic_number, free_atom_settings(settings))


@lru_cache(maxsize=None)
def _free_atom_energy(atomic_number: int, level: QMSettings) -> float:
    atom = Atoms(chemical_symbols[atomic_number], positions=[(0.0, 0.0, 0.0)])
    atom.info["charge"] = 0
    atom.info["multiplicity"] = ground_state_multiplicity(atomic_number)
    mol = build_molecule(atom, level)
    return float(run_scf(mol, level, label=f"free {atom.get_chemical_formula()} atom").mf.e_tot)
