"""External labels read from structures, in ASE's conventions: the total energy (eV) in
``info['energy']`` or as the attached calculator's ``energy`` result, per-atom energies (eV) in
``arrays['energies']`` or as the calculator's ``energies`` result; and in atomloop's training
files (``atomloop export --to F.extxyz``), every scheme's atomic energies in Hartree in
``arrays['atomic_energies_<scheme>_hartree']``. Stored in Hartree."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.units import Hartree

from atomloop.errors import InputError
from atomloop.store.external import ExternalLabel


def _calculator_result(atoms: Atoms, name: str):
    calculator = atoms.calc
    return None if calculator is None else getattr(calculator, "results", {}).get(name)


def _schemes_in_hartree(atoms: Atoms) -> dict[str, np.ndarray]:
    prefix, suffix = "atomic_energies_", "_hartree"
    return {key[len(prefix):-len(suffix)]: np.asarray(values, dtype=float) for key, values in atoms.arrays.items()
            if key.startswith(prefix) and key.endswith(suffix)}


def external_label(atoms: Atoms, where: str, scheme: str) -> ExternalLabel:
    """The label of ``atoms`` (Hartree), ASE's per-atom ``energies`` as ``scheme``; an
    :class:`InputError` naming ``where`` when there is no total energy or a value is not finite."""
    energy = atoms.info.get("energy", _calculator_result(atoms, "energy"))
    if energy is None:
        raise InputError(f"{where}: no energy (ASE reads it from info 'energy' or a calculator result); "
                         "--labels needs one for every structure")
    try:
        energy = float(energy)
    except (TypeError, ValueError):
        raise InputError(f"{where}: energy {energy!r} is not a number") from None
    per_atom = atoms.arrays.get("energies", _calculator_result(atoms, "energies"))
    if per_atom is not None:
        per_atom = np.asarray(per_atom, dtype=float).reshape(-1)
        if per_atom.shape != (len(atoms),):
            raise InputError(f"{where}: {per_atom.size} per-atom energies for {len(atoms)} atoms")
    atomic = _schemes_in_hartree(atoms) | ({} if per_atom is None else {scheme: per_atom / Hartree})
    if not np.isfinite(energy) or not all(np.isfinite(values).all() for values in atomic.values()):
        raise InputError(f"{where}: energies must be finite")
    return ExternalLabel(energy / Hartree, atomic)
