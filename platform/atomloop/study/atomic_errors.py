"""Atomic-energy errors of any model against any partition scheme's labels, beside the
element-mean baseline.

Every model predicts atomic energies (its per-atom outputs, Hartree), whatever it was trained
on; a total-trained model's are determined by the totals only up to per-element constants
(how the network shares the energy out, starting with its per-element reference energies). To
compare models of every target against one scheme's labels on equal terms, each error is
reported twice, and beside the error of a model that knows nothing but the training labels:

* ``mae``: mean |predicted - reference| over the test atoms (kcal/mol);
* ``centred_mae``: the same after subtracting, per element Z, the model's mean signed error on
  Z's atoms of its own training molecules (the ``offset``, fitted on training atoms only, so a
  systematic error that appears only away from the training set stays in the error);
* ``baseline_mae``: the MAE of the element-mean baseline, which predicts each atom's label as
  the mean label of its element over the training atoms. It is the scale of the labels a model
  has to learn beyond per-element constants ("the label spread"), so every model error is also
  read as a fraction of it: ``centred_mae / baseline_mae`` (below 1: the model beats the
  baseline; the view ``study_atomic_errors`` has it as ``centred_fraction``).

An element without training atoms has no fitted offset (its raw error stays) and the baseline
predicts its atoms as the mean label of all training atoms.

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
class AtomicEnergies:
    """Predicted and reference atomic energies (Hartree) and atomic numbers of a set of atoms,
    each of shape (n_atoms,)."""

    predicted: np.ndarray
    reference: np.ndarray
    numbers: np.ndarray

    @classmethod
    def of(cls, predicted: Sequence[np.ndarray], reference: Sequence[np.ndarray],
           numbers: Sequence[np.ndarray]) -> AtomicEnergies:
        """The atoms of several molecules: per molecule arrays of shape (n_atoms,), concatenated."""
        return cls(np.concatenate(predicted).astype(float), np.concatenate(reference).astype(float),
                   np.concatenate(numbers).astype(int))

    @property
    def error_kcal_mol(self) -> np.ndarray:
        """predicted - reference, kcal/mol."""
        return (self.predicted - self.reference) * HARTREE_TO_KCAL_PER_MOL


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
    baseline_mae_kcal_mol: float


def _per_element(values: np.ndarray, numbers: np.ndarray, at: np.ndarray, default: float) -> np.ndarray:
    """For each atomic number of ``at``, the mean of ``values`` over the atoms of that element in
    ``numbers`` (``default`` for an element without atoms there)."""
    means = {int(z): float(values[numbers == z].mean()) for z in np.unique(numbers)}
    return np.array([means.get(int(z), default) for z in at], dtype=float)


def atomic_error_rows(
    scheme: str, test: AtomicEnergies, seen: np.ndarray, train: AtomicEnergies
) -> list[AtomicErrorRow]:
    """Rows for a model's test atoms (``seen``: whether each test atom's environment occurs in
    training, bool, shape (n_atoms,)); offsets and baseline come from its training atoms."""
    error = test.error_kcal_mol
    z, known = test.numbers, np.asarray(seen, dtype=bool)
    offset = _per_element(train.error_kcal_mol, train.numbers, z, 0.0)
    centred = error - offset
    baseline = _per_element(train.reference, train.numbers, z, float(train.reference.mean())) - test.reference
    baseline *= HARTREE_TO_KCAL_PER_MOL
    in_training = set(np.unique(train.numbers).tolist())
    rows = []
    for element in [ALL, *sorted(set(z.tolist()))]:
        in_element = np.ones_like(known) if element == ALL else z == element
        for environment, mask in (("all", in_element), ("seen", in_element & known), ("unseen", in_element & ~known)):
            if not mask.any():
                continue
            rows.append(AtomicErrorRow(
                scheme, ALL if element == ALL else chemical_symbols[element], environment, int(mask.sum()),
                float(np.abs(error[mask]).mean()), float(np.abs(centred[mask]).mean()),
                None if element == ALL or element not in in_training else float(offset[mask][0]),
                float(np.abs(baseline[mask]).mean()),
            ))
    return rows
