"""Free-atom reference energies for atomization-style atomic contributions (Hartree).

Each element's ground-state spin multiplicity 2S+1 comes from the tabulated experimental
ground term (NIST Atomic Spectra Database), not from an aufbau rule, which is wrong for Nb
(6D: 4d4 5s1), Pd (1S: 4d10), Ce (1G: 4f 5d 6s2), Gd (9D: 4f7 5d 6s2) and a dozen more. The atom
is computed spin-polarised (UHF/UKS) at the same method, basis, grid and convergence settings as
the molecule, then checked by an internal stability analysis and re-optimised from the lower
solution until stable (an atom's UHF often converges to a saddle point first). Results are
cached per process.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from ase import Atoms
from ase.data import chemical_symbols

from atomloop.errors import InputError
from atomloop.qm.scf import build_molecule, reoptimise_until_stable, run_scf
from atomloop.qm.settings import QMSettings

# 2S+1 of the ground term of the neutral atom, Z = 1 (H) ... 103 (Lr).
GROUND_STATE_MULTIPLICITY: tuple[int, ...] = (
    2, 1,                                                              # H He
    2, 1, 2, 3, 4, 3, 2, 1,                                            # Li - Ne
    2, 1, 2, 3, 4, 3, 2, 1,                                            # Na - Ar
    2, 1, 2, 3, 4, 7, 6, 5, 4, 3, 2, 1, 2, 3, 4, 3, 2, 1,              # K - Kr
    2, 1, 2, 3, 6, 7, 6, 5, 4, 1, 2, 1, 2, 3, 4, 3, 2, 1,              # Rb - Xe
    2, 1, 2, 1, 4, 5, 6, 7, 8, 9, 6, 5, 4, 3, 2, 1,                    # Cs - Yb
    2, 3, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 4, 3, 2, 1,                    # Lu - Rn
    2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 6, 5, 4, 3, 2, 1, 2,                 # Fr - Lr
)


def ground_state_multiplicity(atomic_number: int) -> int:
    """2S+1 of the free neutral atom's ground term (tabulated for Z = 1..103)."""
    if not 1 <= atomic_number <= len(GROUND_STATE_MULTIPLICITY):
        raise InputError(f"no ground-state multiplicity tabulated for atomic number {atomic_number}")
    return GROUND_STATE_MULTIPLICITY[atomic_number - 1]


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
    label = f"free {atom.get_chemical_formula()} atom"
    mf = run_scf(build_molecule(atom, level), level, label=label).mf
    return float(reoptimise_until_stable(mf, level, label=label).e_tot)
