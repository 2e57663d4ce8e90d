"""Sets of occupied orbitals that their definition leaves free to rotate among themselves.

An MO partition D_A = sum_ij C_i W[A]_ij C_j^T restricted to diagonal weights (w_iA = W[A]_ii)
is only well defined when every orbital is unique up to sign. Two cases are not, and there the
off-diagonal populations inside the set are kept, which makes D_A invariant to the rotation:

* canonical orbitals with degenerate energies (methane's t2, benzene's e1g): any rotation inside
  the degenerate set is as canonical as another, and LAPACK's choice depends on the BLAS kernels;
* Pipek-Mezey(IAO) orbitals that lie entirely on one atom (water's oxygen core and lone pairs):
  the PM objective is exactly flat under their rotations (three zero Hessian eigenvalues for water
  in any basis), so Mulliken or Löwdin weights of "the" PM orbitals were arbitrary.

Outside such sets the mask keeps only the diagonal: the classic orbital weights.
"""

from __future__ import annotations

import numpy as np

DEGENERACY_TOLERANCE = 1e-6  # Hartree: canonical orbital energies closer than this are one set
SINGLE_ATOM_TOLERANCE = 1e-8  # 1 - IAO population: an orbital is entirely on one atom


def _mask_from_labels(labels: np.ndarray) -> np.ndarray:
    return labels[:, None] == labels[None, :]


def degenerate_mask(energies: np.ndarray, tol: float = DEGENERACY_TOLERANCE) -> np.ndarray:
    """(nocc, nocc) bool: orbitals i, j in one set of (chained) degenerate orbital energies (Hartree)."""
    order = np.argsort(energies)
    labels = np.empty(energies.size, dtype=int)
    labels[order] = np.concatenate([[0], np.cumsum(np.diff(energies[order]) > tol)]) if energies.size else []
    return _mask_from_labels(labels)


def single_atom_mask(iao_weights: np.ndarray, tol: float = SINGLE_ATOM_TOLERANCE) -> np.ndarray:
    """(nocc, nocc) bool: orbitals i, j both entirely on the same atom by IAO weights (natm, nocc)."""
    nocc = iao_weights.shape[1]
    atom = np.argmax(iao_weights, axis=0)
    on_one_atom = 1.0 - iao_weights[atom, np.arange(nocc)] < tol
    labels = np.where(on_one_atom, atom, -1 - np.arange(nocc))  # others: a set of their own
    return _mask_from_labels(labels)
