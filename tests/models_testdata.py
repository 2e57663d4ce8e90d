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

SETTINGS_HASH = "hf-sto3g-test"
SCHEME = "ao-mulliken-test"
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


_SPIN = {1: 1, 6: 2, 7: 3, 8: 2}  # unpaired electrons of the free atoms' ground states


@lru_cache(maxsize=None)
def free_atom_energy(number: int) -> float:
    """UHF/STO-3G energy of the free atom (Hartree), for atomization-style atomic energies."""
    from pyscf import gto, scf

    mol = gto.M(atom=[(number, (0.0, 0.0, 0.0))], basis="sto-3g", spin=_SPIN[number], verbose=0)
    return float(scf.UHF(mol).run(conv_tol=1e-10).e_tot)


def labelled(names=SMALL_MOLECULES, rattle_seed: int | None = None) -> list[Atoms]:
    """Copies of the labelled molecules (``info['energy']``, ``arrays['atomic_energies']``)."""
    return [_labelled(name, rattle_seed).copy() for name in names]


def store_labelled(engine, atoms_list, *, label=True) -> list[int]:
    """Ingest molecules and, when ``label``, store their HF energies and atomic energies as
    done ``Calculation`` rows (``SETTINGS_HASH``) and ``AtomicEnergy`` rows (``SCHEME``)."""
    from atomloop.db import session_scope
    from atomloop.db.orm import AtomicEnergy, Calculation, CalculationStatus
    from atomloop.ingest import ingest_atoms

    ids = ingest_atoms(atoms_list, source="test", engine=engine).molecule_ids
    if not label:
        return ids
    with session_scope(engine) as session:
        for molecule_id, atoms in zip(ids, atoms_list):
            calculation = Calculation(
                molecule_id=molecule_id, method="hf", basis="sto-3g", settings_hash=SETTINGS_HASH,
                settings={"method": "hf", "basis": "sto-3g"}, status=CalculationStatus.done,
                total_energy=atoms.info["energy"], converged=True,
            )
            session.add(calculation)
            session.flush()
            session.add_all(
                AtomicEnergy(calculation_id=calculation.id, scheme=SCHEME, atom_index=i, atomic_number=int(z),
                             energy=float(e), atomization=float(e) - free_atom_energy(int(z)))
                for i, (z, e) in enumerate(zip(atoms.numbers, atoms.arrays["atomic_energies"]))
            )
    return ids
