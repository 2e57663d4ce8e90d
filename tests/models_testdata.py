"""Labelled molecules for the model tests: real PySCF HF/STO-3G energies (Hartree) and an
AO-based (Mulliken-type) partition of the total energy into atoms:

    E_A = sum_{mu in A} [h D + 1/2 (J - K/2) D]_{mu mu} + 1/2 sum_{B != A} Z_A Z_B / R_AB,

which sums to the RHF total energy exactly. Results are cached per process.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from ase import Atoms
from ase.build import molecule

SMALL_MOLECULES = ("H2O", "NH3", "CH4", "HCN", "CO", "H2CO", "C2H2", "C2H4", "CH3OH", "N2")


def _label(atoms: Atoms) -> tuple[float, np.ndarray]:
    from pyscf import gto, scf

    mol = gto.M(
        atom=[(s, p) for s, p in zip(atoms.get_chemical_symbols(), atoms.positions)],
        basis="sto-3g", unit="Angstrom", verbose=0,
    )
    mf = scf.RHF(mol).run(conv_tol=1e-10)
    density = mf.make_rdm1()
    vj, vk = mf.get_jk(mol, density)
    per_ao = np.einsum("ij,ji->i", mf.get_hcore() + 0.5 * (vj - 0.5 * vk), density)
    ao_atom = np.array([slot[0] for slot in mol.ao_labels(fmt=False)])
    atomic = np.bincount(ao_atom, weights=per_ao, minlength=mol.natm)
    charges = mol.atom_charges().astype(float)
    coords = mol.atom_coords()  # Bohr
    distances = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    atomic += 0.5 * charges * (charges[None, :] / distances).sum(axis=1)
    assert abs(atomic.sum() - mf.e_tot) < 1e-8
    return float(mf.e_tot), atomic


@lru_cache(maxsize=None)
def _labelled(name: str, rattle_seed: int | None) -> Atoms:
    atoms = molecule(name)
    if rattle_seed is not None:
        atoms.rattle(0.05, seed=rattle_seed)
    energy, atomic = _label(atoms)
    atoms.info["energy"] = energy
    atoms.arrays["atomic_energies"] = atomic
    return atoms


def labelled(names=SMALL_MOLECULES, rattle_seed: int | None = None) -> list[Atoms]:
    """Copies of the labelled molecules (``info['energy']``, ``arrays['atomic_energies']``)."""
    return [_labelled(name, rattle_seed).copy() for name in names]
