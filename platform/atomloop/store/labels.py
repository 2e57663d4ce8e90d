"""Labels in the store: which calculations label a molecule, read back as ASE ``Atoms``.

A molecule is labelled at ``settings_hash`` when its ``Calculation`` there is ``done``. Its
molecular energy is ``Calculation.total_energy`` (Hartree); with a ``scheme``, its atomic
energies are the ``AtomicEnergy.energy`` rows of that scheme (Hartree, by ``atom_index``).
With ``atomization=True`` the ``AtomicEnergy.atomization`` column (atomic energy minus the
free atom's, Hartree) is the atomic target and the molecular target is its sum (the
atomization energy).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms
from sqlalchemy import select
from sqlalchemy.orm import Session

from atomloop.errors import InputError
from atomloop.models.names import ATOMIC_ENERGIES_ARRAY_KEY, ENERGY_INFO_KEY, LabelSource
from atomloop.qm.settings import basis_key
from atomloop.store.molecules import molecule_to_atoms
from atomloop.store.tables import AtomicEnergy, Calculation, CalculationStatus, Molecule


MIN_HASH_PREFIX = 8


def resolve_settings_hash(
    session: Session, *, settings_hash: str | None = None, method: str | None = None, basis: str | None = None
) -> str:
    """The one level (settings hash) with finished calculations that matches the arguments:
    ``settings_hash`` in full or as a prefix of at least 8 characters, ``method`` (any case),
    ``basis`` (as PySCF reads it: ``sto3g`` is ``sto-3g``). None, or several, is an error that
    lists the levels and the option that tells them apart."""
    if settings_hash is not None and len(settings_hash) < MIN_HASH_PREFIX:
        raise InputError(f"--settings-hash needs at least {MIN_HASH_PREFIX} characters, got {settings_hash!r}")
    levels = session.execute(
        select(Calculation.settings_hash, Calculation.method, Calculation.basis)
        .where(Calculation.status == CalculationStatus.done).distinct()
    ).all()
    found = sorted({
        (level_hash, level_method, level_basis) for level_hash, level_method, level_basis in levels
        if (settings_hash is None or level_hash.startswith(settings_hash.lower()))
        and (method is None or level_method == method.strip().lower())
        and (basis is None or basis_key(level_basis) == basis_key(basis.strip().lower()))
    })
    hashes = sorted({level[0] for level in found})
    if len(hashes) == 1:
        return hashes[0]
    if not hashes:
        known = ", ".join(sorted({f"{m}/{b}" for _, m, b in levels})) or "none"
        raise InputError(f"no finished calculations match the requested labels; labelled levels: {known}")
    described = "; ".join(f"{m}/{b} (--settings-hash {h[:12]})" for h, m, b in found)
    if len({m for _, m, _ in found}) > 1:
        option = "--method"
    elif len({basis_key(b) for _, _, b in found}) > 1:
        option = "--basis"
    else:
        option = "--settings-hash"  # same method and basis, other SCF settings
    raise InputError(f"labels are ambiguous: {len(hashes)} levels match ({described}); choose one with {option}")


def labelled_atoms(session: Session, source: LabelSource, molecule_ids: Sequence[int] | None = None) -> dict[int, Atoms]:
    """Labelled molecules by id (all, or those of ``molecule_ids`` that are labelled).

    Labels: ``info['energy']`` and, with a scheme, ``arrays['atomic_energies']`` (Hartree).
    Molecules without a complete set of atomic energies of the scheme are left out.
    """
    query = (
        select(Calculation, Molecule)
        .join(Molecule, Molecule.id == Calculation.molecule_id)
        .where(Calculation.status == CalculationStatus.done, Calculation.settings_hash == source.settings_hash)
        .order_by(Molecule.id)
    )
    if molecule_ids is not None:
        query = query.where(Molecule.id.in_(list(molecule_ids)))
    rows = session.execute(query).all()
    atomic: dict[int, dict[int, float | None]] = {}
    if source.scheme is not None:
        column = AtomicEnergy.atomization if source.atomization else AtomicEnergy.energy
        energies = session.execute(
            select(AtomicEnergy.calculation_id, AtomicEnergy.atom_index, column).where(
                AtomicEnergy.scheme == source.scheme,
                AtomicEnergy.calculation_id.in_([calculation.id for calculation, _ in rows]),
            )
        )
        for calculation_id, index, value in energies:
            atomic.setdefault(calculation_id, {})[index] = value
    out: dict[int, Atoms] = {}
    for calculation, molecule in rows:
        atoms = molecule_to_atoms(molecule)
        if source.scheme is not None:
            per_atom = atomic.get(calculation.id, {})
            values = [per_atom.get(i) for i in range(molecule.natoms)]
            if any(v is None for v in values):
                continue
            atoms.arrays[ATOMIC_ENERGIES_ARRAY_KEY] = np.array(values, dtype=float)
        if source.atomization:
            atoms.info[ENERGY_INFO_KEY] = float(atoms.arrays[ATOMIC_ENERGIES_ARRAY_KEY].sum())
        elif calculation.total_energy is not None:
            atoms.info[ENERGY_INFO_KEY] = float(calculation.total_energy)
        else:
            continue
        out[molecule.id] = atoms
    return out


def labelled_subset(session: Session, molecule_ids: list[int], settings_hash: str) -> list[int]:
    """Those of ``molecule_ids`` with a finished calculation at ``settings_hash``."""
    if not molecule_ids:
        return []
    query = select(Calculation.molecule_id).where(
        Calculation.molecule_id.in_(molecule_ids),
        Calculation.settings_hash == settings_hash,
        Calculation.status == CalculationStatus.done,
    )
    done = set(session.scalars(query))
    return [i for i in molecule_ids if i in done]


def schemes_at(session: Session, settings_hash: str) -> list[str]:
    """The partition schemes with atomic energies among the finished calculations at ``settings_hash``."""
    query = (
        select(AtomicEnergy.scheme).join(Calculation, Calculation.id == AtomicEnergy.calculation_id)
        .where(Calculation.settings_hash == settings_hash, Calculation.status == CalculationStatus.done)
        .distinct()
    )
    return sorted(session.scalars(query))


def atomic_energy_arrays(
    session: Session, settings_hash: str, molecule_ids: Sequence[int], schemes: Sequence[str]
) -> dict[int, dict[str, np.ndarray]]:
    """Atomic energies (natoms,) in Hartree of every scheme in ``schemes`` for the finished
    calculations at ``settings_hash`` of ``molecule_ids``, by molecule id and scheme, read in
    one query; a scheme whose set of atoms is incomplete is left out."""
    rows = session.execute(
        select(Calculation.molecule_id, Molecule.natoms, AtomicEnergy.scheme, AtomicEnergy.atom_index,
               AtomicEnergy.energy)
        .join(Calculation, Calculation.id == AtomicEnergy.calculation_id)
        .join(Molecule, Molecule.id == Calculation.molecule_id)
        .where(Calculation.settings_hash == settings_hash, Calculation.status == CalculationStatus.done,
               Calculation.molecule_id.in_(list(molecule_ids)), AtomicEnergy.scheme.in_(list(schemes)))
    )
    values: dict[tuple[int, str], np.ndarray] = {}
    for molecule_id, natoms, scheme, index, energy in rows:
        values.setdefault((molecule_id, scheme), np.full(natoms, np.nan))[index] = energy
    out: dict[int, dict[str, np.ndarray]] = {}
    for (molecule_id, scheme), energies in values.items():
        if not np.isnan(energies).any():
            out.setdefault(molecule_id, {})[scheme] = energies
    return out


def level_of(session: Session, settings_hash: str | None):
    """``(program, method, basis)`` of the calculations at ``settings_hash`` (None if there are none)."""
    return session.execute(
        select(Calculation.program, Calculation.method, Calculation.basis).where(Calculation.settings_hash == settings_hash).limit(1)
    ).first()


def how_to_label(session: Session, source: LabelSource) -> str:
    """What a user runs to give molecules the labels of ``source``: the ``atomloop label``
    command of its level, or, for labels computed elsewhere, the ``atomloop ingest`` one."""
    calculation = level_of(session, source.settings_hash)
    if calculation is None:
        return f"label them at the level of settings hash {source.settings_hash[:12]}"
    if calculation.program != "pyscf":
        return (f"ingest their {calculation.program} {calculation.method}/{calculation.basis} labels: atomloop ingest FILE "
                f"--labels --label-program {calculation.program} --label-method {calculation.method} "
                f"--label-basis {calculation.basis}")
    scheme = f" --scheme {source.scheme}" if source.scheme else ""
    return f"label them first: atomloop label --method {calculation.method} --basis {calculation.basis}{scheme} --where TAG"
