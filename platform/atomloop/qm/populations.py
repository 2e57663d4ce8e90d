"""Atomic populations of occupied orbitals: Mulliken, Löwdin and IAO.

``population_matrices(mol, coeff, method)`` returns W of shape (natoms, nocc, nocc): W[A] is the
symmetric population matrix of atom A in the orbital basis, with sum_A W[A] = 1 (the identity).
Its diagonal W[A, i, i] is the classic weight w_iA of orbital i on atom A; the off-diagonal
elements are what makes D_A = C W[A] C^T independent of rotations within a set of orbitals that
the localization (or the canonical orbital energies) leaves undetermined (see
:func:`atomloop.qm.blocks.block_mask`).
"""

from __future__ import annotations

import numpy as np
from pyscf import gto, lo


def ao_atom_index(mol: gto.Mole) -> np.ndarray:
    """Atom index of every AO of ``mol``, shape (nao,)."""
    index = np.empty(mol.nao, dtype=int)
    for atom, (_, _, start, stop) in enumerate(mol.aoslice_by_atom()):
        index[start:stop] = atom
    return index


def _by_atom(left: np.ndarray, right: np.ndarray, ao_atom: np.ndarray, natm: int) -> np.ndarray:
    """W[A] = sym(left[rows of A]^T right[rows of A]) for (nbasis, nocc) arrays -> (natm, nocc, nocc)."""
    out = np.zeros((natm, left.shape[1], left.shape[1]))
    for atom in range(natm):
        rows = ao_atom == atom
        product = left[rows].T @ right[rows]
        out[atom] = 0.5 * (product + product.T)
    return out


def _normalise(matrices: np.ndarray) -> np.ndarray:
    """Scale so that sum_A W[A] is the identity (it is up to rounding, or IAO's projection)."""
    total = matrices.sum(axis=0)
    values, vectors = np.linalg.eigh(total)
    inverse_root = (vectors / np.sqrt(values)) @ vectors.T
    return np.einsum("ij,ajk,kl->ail", inverse_root, matrices, inverse_root)


def mulliken_matrices(mol: gto.Mole, coeff: np.ndarray) -> np.ndarray:
    """W[A]_ij = 1/2 sum_{mu in A} (c_mu,i (S c_j)_mu + c_mu,j (S c_i)_mu)."""
    overlap = mol.intor_symmetric("int1e_ovlp")
    return _normalise(_by_atom(coeff, overlap @ coeff, ao_atom_index(mol), mol.natm))


def lowdin_matrices(mol: gto.Mole, coeff: np.ndarray) -> np.ndarray:
    """W[A]_ij = sum_{mu in A} (S^1/2 c_i)_mu (S^1/2 c_j)_mu: Mulliken in Löwdin-orthogonal AOs."""
    overlap = mol.intor_symmetric("int1e_ovlp")
    values, vectors = np.linalg.eigh(overlap)
    orthogonal = ((vectors * np.sqrt(values)) @ vectors.T) @ coeff
    return _normalise(_by_atom(orthogonal, orthogonal, ao_atom_index(mol), mol.natm))


def iao_matrices(mol: gto.Mole, coeff: np.ndarray) -> np.ndarray:
    """W[A]_ij = sum_{a in A} p_ai p_aj with p = IAO^T S c, the projections on atom A's IAOs.

    The (Löwdin-orthogonalised) IAOs are built from the span of ``coeff`` (the occupied space),
    so canonical and localized orbitals of the same channel share them.
    """
    overlap = mol.intor_symmetric("int1e_ovlp")
    iaos = lo.orth.vec_lowdin(lo.iao.iao(mol, coeff), overlap)
    projections = iaos.T @ overlap @ coeff
    reference = lo.iao.reference_mol(mol)
    return _normalise(_by_atom(projections, projections, ao_atom_index(reference), mol.natm))


POPULATION_METHODS = {"mulliken": mulliken_matrices, "lowdin": lowdin_matrices, "iao": iao_matrices}


def population_matrices(mol: gto.Mole, coeff: np.ndarray, method: str) -> np.ndarray:
    """Population matrices (natoms, nocc, nocc) of ``coeff`` (nao, nocc) by ``method``."""
    if coeff.shape[1] == 0:
        return np.zeros((mol.natm, 0, 0))
    return POPULATION_METHODS[method](mol, coeff)


def orbital_weights(mol: gto.Mole, coeff: np.ndarray, method: str) -> np.ndarray:
    """Weights w_iA (natoms, nocc) of each orbital on each atom; each column sums to 1."""
    return np.einsum("aii->ai", population_matrices(mol, coeff, method))
