"""Claim 3 of the study: how each scheme's atomic energies change when only the basis set
changes (Kjeldal & Eriksen, JCTC 2023: AO-based schemes showed unphysical basis-set
dependence, MO-based did not).

For a molecule labelled at two levels that differ in the basis alone, atom A's change is
Delta_A = E_A(second basis) - E_A(first basis), in kcal/mol. Its mean over all atoms of an
element, c_e, is a per-element constant that a model's reference energies absorb (a basis's
incompleteness per element is physical). What a model would have to learn anew is the rest,
the element-centred change d_A = |Delta_A - c_e|. A molecule's atoms sum to its total change
in every scheme (Sum_A Delta_A = Delta E), so the schemes differ only in how they share it.

Reported (:func:`basis_change_rows`) per scheme and element: atoms, molecules, c_e and the
mean of d_A. Compared (:func:`basis_dependence_rows`): each other scheme against the AO one, per
molecule the mean d_A over its atoms of the element, paired across the two schemes (the same
atoms), as a Student-t 95 % interval over molecules (:func:`atomloop.study.claims.paired`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase.data import chemical_symbols

from atomloop.study.claims import paired
from atomloop.units import HARTREE_TO_KCAL_PER_MOL

ALL_ELEMENTS = "all"
AO_SCHEME = "ao-eda"
BASIS_CHANGE_COLUMNS = ("scheme", "element", "n_atoms", "n_molecules", "mean_change_kcal_mol", "centred_change_kcal_mol")
BASIS_DEPENDENCE_COLUMNS = (
    "element", "scheme", "n_molecules", "ao_centred_change_kcal_mol", "scheme_centred_change_kcal_mol",
    "difference_kcal_mol", "difference_low", "difference_high",
)


@dataclass(frozen=True)
class BasisChanges:
    """Per-atom changes of every scheme between two levels, for molecules labelled in every
    scheme at both: ``molecule`` (n_atoms,) molecule ids, ``element`` (n_atoms,) symbols,
    ``change[scheme]`` (n_atoms,) Delta_A in kcal/mol, ``total_change`` per molecule id (kcal/mol)."""

    molecule: np.ndarray
    element: np.ndarray
    change: dict[str, np.ndarray]
    total_change: dict[int, float]

    @property
    def schemes(self) -> list[str]:
        return list(self.change)

    def centred(self, scheme: str) -> np.ndarray:
        """d_A = |Delta_A - c_e| (n_atoms,) in kcal/mol, c_e the mean change of A's element."""
        delta = self.change[scheme]
        centre = {e: delta[self.element == e].mean() for e in np.unique(self.element)}
        return np.abs(delta - np.array([centre[e] for e in self.element]))


def basis_changes(
    first: dict[int, dict[str, np.ndarray]],
    second: dict[int, dict[str, np.ndarray]],
    numbers: dict[int, np.ndarray],
    schemes: Sequence[str],
) -> BasisChanges:
    """The changes from ``first`` to ``second`` (atomic energies in Hartree by molecule id and
    scheme, as :func:`atomloop.store.labels.atomic_energy_arrays` returns them) of the molecules
    that have every scheme at both levels; ``numbers`` gives each molecule's atomic numbers."""
    common = sorted(m for m in set(first) & set(second) if all(s in first[m] and s in second[m] for s in schemes))
    molecule = np.concatenate([np.full(len(numbers[m]), m) for m in common]) if common else np.zeros(0, int)
    element = np.array([chemical_symbols[z] for m in common for z in numbers[m]], dtype=object)
    change = {
        s: (np.concatenate([second[m][s] - first[m][s] for m in common]) if common else np.zeros(0)) * HARTREE_TO_KCAL_PER_MOL
        for s in schemes
    }
    total = {m: float(change[schemes[0]][molecule == m].sum()) for m in common} if schemes else {}
    return BasisChanges(molecule, element, change, total)


def _elements(changes: BasisChanges) -> list[str]:
    return [*sorted(set(changes.element), key=chemical_symbols.index), ALL_ELEMENTS]


def _chosen(changes: BasisChanges, element: str) -> np.ndarray:
    return np.ones(len(changes.element), bool) if element == ALL_ELEMENTS else changes.element == element


def basis_change_rows(changes: BasisChanges) -> list[dict]:
    """Per scheme and element (and ``all``): atoms, molecules, mean change c_e and mean
    element-centred change (kcal/mol); columns :data:`BASIS_CHANGE_COLUMNS`."""
    rows = []
    for scheme in changes.schemes:
        centred = changes.centred(scheme)
        for element in _elements(changes):
            chosen = _chosen(changes, element)
            rows.append({
                "scheme": scheme, "element": element, "n_atoms": int(chosen.sum()),
                "n_molecules": len(set(changes.molecule[chosen].tolist())),
                "mean_change_kcal_mol": float(changes.change[scheme][chosen].mean()),
                "centred_change_kcal_mol": float(centred[chosen].mean()),
            })
    return rows


def _per_molecule(values: np.ndarray, molecule: np.ndarray, chosen: np.ndarray) -> dict[int, float]:
    return {int(m): float(values[chosen & (molecule == m)].mean()) for m in np.unique(molecule[chosen])}


def basis_dependence_rows(changes: BasisChanges, ao_scheme: str = AO_SCHEME) -> list[dict]:
    """Each scheme other than ``ao_scheme`` against it, per element (and ``all``): per-molecule
    means of the element-centred change, their means over molecules, and the paired difference
    scheme - AO with its 95 % interval (kcal/mol); columns :data:`BASIS_DEPENDENCE_COLUMNS`.
    A negative difference: the scheme's atomic energies depend less on the basis than AO's."""
    if ao_scheme not in changes.change:
        return []
    ao = changes.centred(ao_scheme)
    rows = []
    for scheme in (s for s in changes.schemes if s != ao_scheme):
        other = changes.centred(scheme)
        for element in _elements(changes):
            chosen = _chosen(changes, element)
            ao_means = _per_molecule(ao, changes.molecule, chosen)
            other_means = _per_molecule(other, changes.molecule, chosen)
            result = paired([other_means[m] - ao_means[m] for m in ao_means])
            rows.append({
                "element": element, "scheme": scheme, "n_molecules": result.n,
                "ao_centred_change_kcal_mol": float(np.mean(list(ao_means.values()))),
                "scheme_centred_change_kcal_mol": float(np.mean(list(other_means.values()))),
                "difference_kcal_mol": result.mean, "difference_low": result.low, "difference_high": result.high,
            })
    return rows


def stored_basis_changes(session, molecule_ids: Sequence[int], first_hash: str, second_hash: str,
                         schemes: Sequence[str]) -> BasisChanges:
    """:func:`basis_changes` of the labels stored at the levels ``first_hash`` and ``second_hash``."""
    from atomloop.store.labels import atomic_energy_arrays
    from atomloop.store.molecules import load_atoms

    first = atomic_energy_arrays(session, first_hash, molecule_ids, schemes)
    second = atomic_energy_arrays(session, second_hash, molecule_ids, schemes)
    common = sorted(set(first) & set(second))
    numbers = {m: atoms.numbers for m, atoms in zip(common, load_atoms(session, common), strict=True)}
    return basis_changes(first, second, numbers, schemes)
