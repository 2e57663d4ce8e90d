"""Charge and spin multiplicity of a molecule: one rule for the store and the SCF."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

from atomloop.errors import InputError

if TYPE_CHECKING:
    from ase import Atoms

    from atomloop.qm.settings import QMSettings


def _whole_number(atoms: Atoms, key: str) -> int:
    """``atoms.info[key]`` as an ``int``; a fraction (0.5), a word or a bool is an error."""
    value = atoms.info[key]
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer()):
        shown = value.item() if isinstance(value, np.generic) else value
        raise InputError(f"{key} must be a whole number, got {shown!r}")
    return int(value)


def charge_and_multiplicity(atoms: Atoms, settings: QMSettings | None = None) -> tuple[int, int]:
    """Charge (e) and spin multiplicity 2S+1 of ``atoms``.

    The charge is ``atoms.info['charge']``, else ``settings.charge``, else 0. The multiplicity is
    ``atoms.info['multiplicity']``, else the summed initial magnetic moments (2S = |sum|), else
    ``settings.multiplicity``, else the lowest the electron count allows (1 for even, 2 for odd).
    Values in ``info`` must be whole numbers (``1.0`` is 1; ``0.5`` or ``"abc"`` is an error).
    A combination no molecule can have (no electrons, or a multiplicity whose unpaired electrons
    do not fit the count) raises :class:`~atomloop.errors.InputError`.
    """
    charge = _whole_number(atoms, "charge") if "charge" in atoms.info else (settings.charge if settings else 0)
    electrons = int(atoms.numbers.sum()) - charge
    if "multiplicity" in atoms.info:
        multiplicity = _whole_number(atoms, "multiplicity")
    elif atoms.has("initial_magmoms") and np.any(atoms.get_initial_magnetic_moments() != 0):
        multiplicity = int(round(abs(float(atoms.get_initial_magnetic_moments().sum())))) + 1
    elif settings is not None and settings.multiplicity is not None:
        multiplicity = settings.multiplicity
    else:
        multiplicity = 1 + electrons % 2
    unpaired = multiplicity - 1
    if electrons < 1 or unpaired < 0 or unpaired > electrons or (electrons - unpaired) % 2:
        raise InputError(
            f"{atoms.get_chemical_formula()}: charge {charge} and multiplicity {multiplicity} are "
            f"impossible with {electrons} electrons"
        )
    return charge, multiplicity
