"""Atomic weights w_iA of occupied orbitals: Mulliken, Löwdin and IAO populations.

Every function takes orbital coefficients ``coeff`` of shape (nao, nocc) and returns weights of
shape (natoms, nocc) normalised so that each orbital's weights sum to 1 over atoms.
"""

from __future__ import annotations

import numpy as np
from pyscf import gto, lo


def _sum_rows_by_atom(values: np.ndarray, ao_atom: np.ndarray, natm: int) -> np.ndarray:
    """Sum rows of ``values`` (nbasis, nocc) that belong to each atom -> (natm, nocc)."""
    out = np.zeros((natm, values.shape[1]))
    np.add.at(out, ao_atom, values)
    return out


def ao_atom_index(mol: gto.Mole) -> np.ndarray:
    """Atom index of every AO of ``mol``, shape (nao,)."""
    index = np.empty(mol.nao, dtype=int)
    for atom, (_, _, start, stop) in enumerate(mol.aoslice_by_atom()):
        index[start:stop] = atom
    return index


def _normalise(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum(axis=0, keepdims=True)


def mulliken_weights(mol: gto.Mole, coeff: np.ndarray) -> np.ndarray:
    """w_iA = sum_{mu in A} c_mu,i (S c_i)_mu (may be slightly negative)."""
    overlap = mol.intor_symmetric("int1e_ovlp")
    return _normalise(_sum_rows_by_atom(coeff * (overlap @ coeff), ao_atom_index(mol), mol.natm))


def lowdin_weights(mol: gto.Mole, coeff: np.ndarray) -> np.ndarray:
    """w_iA = sum_{mu in A} ((S^1/2 c_i)_mu)^2, the Mulliken weights in the Löwdin-orthogonal AOs."""
    overlap = mol.intor_symmetric("int1e_ovlp")
    values, vectors = np.linalg.eigh(overlap)
    sqrt_overlap = (vectors * np.sqrt(values)) @ vectors.T
    return _normalise(_sum_rows_by_atom((sqrt_overlap @ coeff) ** 2, ao_atom_index(mol), mol.natm))


def iao_weights(mol: gto.Mole, coeff: np.ndarray) -> np.ndarray:
    """w_iA = sum of squared projections of c_i on the (Löwdin-orthogonalised) IAOs of atom A.

    The IAOs are built from the span of ``coeff`` (the occupied space), so canonical and
    localized orbitals of the same channel share them.
    """
    overlap = mol.intor_symmetric("int1e_ovlp")
    iaos = lo.orth.vec_lowdin(lo.iao.iao(mol, coeff), overlap)
    projections = iaos.T @ overlap @ coeff
    reference = lo.iao.reference_mol(mol)
    return _normalise(_sum_rows_by_atom(projections**2, ao_atom_index(reference), mol.natm))


POPULATION_METHODS = {"mulliken": mulliken_weights, "lowdin": lowdin_weights, "iao": iao_weights}


def orbital_weights(mol: gto.Mole, coeff: np.ndarray, method: str) -> np.ndarray:
    """Weights (natoms, nocc) of each orbital on each atom by ``method`` (mulliken, lowdin, iao)."""
    if coeff.shape[1] == 0:
        return np.zeros((mol.natm, 0))
    return POPULATION_METHODS[method](mol, coeff)
