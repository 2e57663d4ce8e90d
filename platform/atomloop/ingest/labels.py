"""External labels read from structures, in ASE's conventions: the total energy (eV) in
``info['energy']`` or as the attached calculator's ``energy`` result, per-atom energies (eV) in
``arrays['energies']`` or as the calculator's ``energies`` result. Stored in Hartree."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.units import Hartree

from atomloop.errors import InputError
from atomloop.store.external import ExternalLabel


def _calculator_result(atoms: Atoms, name: str):
    calculator = atoms.calc
    return None if calculator is None else getattr(calculator, "results", {}).get(name)


def external_label(atoms: Atoms, where: str) -> ExternalLabel:
    """The label of ``atoms`` (eV in the file, Hartree returned); an :class:`InputError`
    naming ``where`` when there is no total energy or a value is not finite."""
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
    if not np.isfinite(energy) or (per_atom is not None and not np.isfinite(per_atom).all()):
        raise InputError(f"{where}: energies must be finite")
    return ExternalLabel(energy / Hartree, None if per_atom is None else per_atom / Hartree)
