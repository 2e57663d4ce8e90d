"""Atomic-energy errors of any model against any partition scheme's labels.

Every model predicts atomic energies (its per-atom outputs, Hartree), whatever it was trained
on; a total-trained model's are determined by the totals only up to how the network shares
the energy out, starting with its per-element reference energies. To compare models of every
target against one scheme's labels on equal terms, each error is reported twice:

* ``mae``: mean |predicted - reference| over the atoms;
* ``centred_mae``: the same after subtracting, per element Z, the mean signed error of Z's
  atoms over the experiment's test set (the ``offset``), i.e. the error that remains once any
  per-element constant is removed: ``e_i - mean_{j: Z_j = Z_i} e_j``. One number per element
  is fitted on test atoms; with tens of atoms per element this removes an offset and nothing
  that distinguishes two models of the same element.

Rows per element (and ``all``) and per environment: ``seen`` (the atom's radius-2 bond-graph
key, :mod:`atomloop.select.environments`, occurs in the training set), ``unseen``, ``all``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase.data import chemical_symbols

from atomloop.units import HARTREE_TO_KCAL_PER_MOL

ALL = "all"
ENVIRONMENTS = ("all", "seen", "unseen")


@dataclass(frozen=True)
class AtomicErrorRow:
    """Errors (kcal/mol) of the atoms of one element (or ``all``) in one kind of environment
    against ``scheme``'s labels; the columns of ``experiment_atomic_errors``."""

    scheme: str
    element: str
    environment: str
    n_atoms: int
    mae_kcal_mol: float
    centred_mae_kcal_mol: float
    offset_kcal_mol: float | None


def atomic_error_rows(
    scheme: str, predicted: Sequence[np.ndarray], reference: Sequence[np.ndarray],
    numbers: Sequence[np.ndarray], seen: Sequence[np.ndarray],
) -> list[AtomicErrorRow]:
    """Rows for M test molecules: per molecule the predicted and reference atomic energies
    (Hartree, shape (n_atoms,)), atomic numbers and whether each atom's environment was seen
    in training (bool, shape (n_atoms,))."""
    error = np.concatenate([np.asarray(p) - np.asarray(r) for p, r in zip(predicted, reference)]) * HARTREE_TO_KCAL_PER_MOL
    z = np.concatenate([np.asarray(n) for n in numbers])
    known = np.concatenate([np.asarray(s, dtype=bool) for s in seen])
    offsets = {int(element): float(error[z == element].mean()) for element in np.unique(z)}
    centred = error - np.array([offsets[int(element)] for element in z])
    rows = []
    for element in [ALL, *sorted(offsets)]:
        in_element = np.ones_like(known) if element == ALL else z == element
        for environment, mask in (("all", in_element), ("seen", in_element & known), ("unseen", in_element & ~known)):
            if not mask.any():
                continue
            rows.append(AtomicErrorRow(
                scheme, ALL if element == ALL else chemical_symbols[element], environment, int(mask.sum()),
                float(np.abs(error[mask]).mean()), float(np.abs(centred[mask]).mean()),
                None if element == ALL else offsets[element],
            ))
    return rows
