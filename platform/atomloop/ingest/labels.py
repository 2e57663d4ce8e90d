"""External labels read from structures, in ASE's conventions: the total energy (eV) in
``info['energy']`` or as the attached calculator's ``energy`` result, per-atom energies (eV) in
``arrays['energies']`` or as the calculator's ``energies`` result; and in atomloop's training
files (``atomloop export --to F.extxyz``), every scheme's atomic energies in Hartree in
``arrays['atomic_energies_<scheme>_hartree']``. Stored in Hartree.

Every value is checked before anything is stored: a number (never text, nor a boolean such as
extxyz's ``energy=T``), finite, at most ``MAX_ENERGY_PER_ATOM`` eV per atom in magnitude (the
total divided by the number of atoms, and each per-atom energy), and every set of per-atom
energies sums to the total within ``ENERGY_TOLERANCE`` Hartree (1e-6 Ha).
"""

from __future__ import annotations

import numbers

import numpy as np
from ase import Atoms
from ase.units import Hartree

from atomloop.errors import InputError
from atomloop.store.external import ENERGY_TOLERANCE, ExternalLabel

MAX_ENERGY_PER_ATOM = 1.0e5  # eV: no all-electron atom up to Zr (-3538 Ha = -9.6e4 eV) comes near


def _calculator_result(atoms: Atoms, name: str):
    calculator = atoms.calc
    return None if calculator is None else getattr(calculator, "results", {}).get(name)


def _number(value, where: str) -> float:
    """``value`` (the total energy) as a float; text and booleans are refused."""
    if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{where}: energy {value!r} is not a number")
    return float(value)


def _numbers(values, name: str, where: str, natoms: int) -> np.ndarray:
    """``values`` (per-atom energies called ``name``) as floats of shape (natoms,); text and
    booleans are refused."""
    array = np.asarray(values).reshape(-1)
    if array.dtype.kind not in "iuf":
        raise InputError(f"{where}: {name} are not numbers (the first is {array[0].item()!r})")
    if array.shape != (natoms,):
        raise InputError(f"{where}: {array.size} {name} for {natoms} atoms")
    return array.astype(float)


def _per_atom_sets(atoms: Atoms, where: str, scheme: str) -> dict[str, tuple[str, np.ndarray, str]]:
    """Each scheme's per-atom energies as ``(name in the file, values, unit)``: ASE's
    ``energies`` (eV) as ``scheme``, every ``atomic_energies_<s>_hartree`` array (Hartree)."""
    prefix, suffix = "atomic_energies_", "_hartree"
    sets = {key[len(prefix):-len(suffix)]: (key, _numbers(values, key, where, len(atoms)), "Ha")
            for key, values in atoms.arrays.items() if key.startswith(prefix) and key.endswith(suffix)}
    per_atom = atoms.arrays.get("energies", _calculator_result(atoms, "energies"))
    if per_atom is not None:
        sets[scheme] = ("per-atom energies", _numbers(per_atom, "per-atom energies", where, len(atoms)), "eV")
    return sets


def external_label(atoms: Atoms, where: str, scheme: str) -> ExternalLabel:
    """The label of ``atoms`` (Hartree), ASE's per-atom ``energies`` as ``scheme``; an
    :class:`InputError` naming ``where`` (file:line) when there is no total energy, a value is
    not a finite number, beyond ``MAX_ENERGY_PER_ATOM`` eV per atom, or a set of per-atom
    energies does not sum to the total within ``ENERGY_TOLERANCE`` Hartree."""
    energy = atoms.info.get("energy", _calculator_result(atoms, "energy"))
    if energy is None:
        raise InputError(f"{where}: no energy (ASE reads it from info 'energy' or a calculator result); "
                         "--labels needs one for every structure")
    energy = _number(energy, where)
    if not abs(energy) <= MAX_ENERGY_PER_ATOM * len(atoms):
        raise InputError(f"{where}: energy {energy:.6g} eV for {len(atoms)} atoms is not finite or beyond "
                         f"±{MAX_ENERGY_PER_ATOM:g} eV per atom (ASE's energies are in eV)")
    total = energy / Hartree
    atomic = {}
    for name, (key, values, unit) in _per_atom_sets(atoms, where, scheme).items():
        per_unit = 1.0 if unit == "eV" else Hartree  # eV
        in_ev = values * per_unit
        bad = np.flatnonzero(~(np.abs(in_ev) <= MAX_ENERGY_PER_ATOM))
        if bad.size:
            i = int(bad[0])
            raise InputError(f"{where}: {key}: atom {i + 1} ({atoms[i].symbol}) has {values[i]:.6g} {unit}; "
                             f"per-atom energies must be finite and within ±{MAX_ENERGY_PER_ATOM:g} eV")
        atomic[name] = values * (per_unit / Hartree)
        if abs(atomic[name].sum() - total) > ENERGY_TOLERANCE:
            raise InputError(f"{where}: {key} sum to {atomic[name].sum():.6f} Ha but the energy is {total:.6f} Ha; "
                             f"they must agree within {ENERGY_TOLERANCE:g} Ha")
    return ExternalLabel(total, atomic)
