"""Conversions between ASE ``Atoms`` and rows of the ``molecules`` table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from sqlalchemy import select
from sqlalchemy.orm import Session

from atomloop.errors import InputError
from atomloop.qm.electrons import charge_and_multiplicity
from atomloop.store.identity import hill_formula, identity_hashes, validate_numbers
from atomloop.store.tables import Molecule


@dataclass(frozen=True)
class MoleculeRecord:
    """One validated structure ready for the ``molecules`` table.

    ``numbers``: shape (n,); ``positions``: shape (n, 3), Å.
    """

    numbers: np.ndarray
    positions: np.ndarray
    charge: int
    multiplicity: int
    formula: str
    structure_hash: str
    composition_hash: str
    name: str | None
    smiles: str | None
    tags: tuple[str, ...] = ()


TAG_SEPARATOR = ","  # the ASE views' ``tag_list`` joins a molecule's tags with it (schemas/views)


def checked_tags(tags: str | Iterable[str]) -> tuple[str, ...]:
    """``tags`` as a tuple (one string is one tag), each checked to be a name ``tag_list`` can
    show: not empty (nor only spaces) and without ``TAG_SEPARATOR``; else ``InputError``."""
    tags = (tags,) if isinstance(tags, str) or not isinstance(tags, Iterable) else tuple(tags)
    for tag in tags:
        if not isinstance(tag, str):
            raise InputError(f"tag {tag!r} is not text")
        if not tag.strip():
            raise InputError("empty tag: a tag needs a character other than spaces")
        if TAG_SEPARATOR in tag:
            raise InputError(f"tag {tag!r} contains {TAG_SEPARATOR!r}, which separates the tags of tag_list; "
                             "give each tag on its own")
    return tags


MIN_DISTANCE = 0.1  # Å: two atoms closer than this are one atom written twice (the shortest bond, H2, is 0.74 Å)
MAX_COORDINATE = 1.0e4  # Å: farther from the origin is no molecule (and squares of distances overflow)


def _check_positions(atoms: Atoms, positions: np.ndarray) -> None:
    """Finite coordinates within ``MAX_COORDINATE`` Å, no two atoms within ``MIN_DISTANCE`` Å."""
    from scipy.spatial import cKDTree

    bad = np.flatnonzero(~(np.abs(positions) <= MAX_COORDINATE).all(axis=1))
    if bad.size:
        index = int(bad[0])
        raise InputError(
            f"atom {index + 1} ({atoms[index].symbol}) is at {positions[index].tolist()} Å; "
            f"coordinates must be finite and within ±{MAX_COORDINATE:g} Å"
        )
    pairs = cKDTree(positions).query_pairs(MIN_DISTANCE, output_type="ndarray")
    if len(pairs):
        distances = np.linalg.norm(positions[pairs[:, 0]] - positions[pairs[:, 1]], axis=1)
        i, j = sorted(int(k) for k in pairs[np.argmin(distances)])
        raise InputError(
            f"atoms {i + 1} ({atoms[i].symbol}) and {j + 1} ({atoms[j].symbol}) are {float(distances.min()):.3g} Å "
            f"apart; atoms closer than {MIN_DISTANCE} Å are one atom written twice"
        )


@dataclass(frozen=True)
class _Validated:
    atoms: Atoms
    numbers: np.ndarray
    positions: np.ndarray
    identity: tuple[str, int, int]  # formula, charge, multiplicity
    tags: tuple[str, ...]


def _validate(atoms: Atoms) -> _Validated:
    numbers = np.asarray(atoms.numbers, dtype=np.int64)
    if numbers.size == 0:
        raise InputError("a structure with no atoms")
    validate_numbers(numbers)
    if atoms.pbc.any():
        raise InputError("periodic structures are not molecules (pbc is set)")
    positions = np.asarray(atoms.positions, dtype=np.float64)
    _check_positions(atoms, positions)
    charge, multiplicity = charge_and_multiplicity(atoms)
    tags = checked_tags(atoms.info.get("tags", ()))
    return _Validated(atoms, numbers, positions, (hill_formula(numbers), charge, multiplicity), tags)


def records_from_atoms(located: Iterable[tuple[Atoms, str]]) -> list[MoleculeRecord]:
    """Validate each ``(atoms, location)`` (a finite, non-periodic molecule) and compute its
    identity; hashes are computed for all molecules of one size at once.

    ``atoms.info`` may carry ``charge``, ``multiplicity``, ``name``, ``smiles`` and ``tags``
    (a list of strings, e.g. a functional-group class, or one string; see :func:`checked_tags`).
    Raises ``InputError`` starting with the location of the first invalid structure.
    """
    validated = []
    for atoms, location in located:
        try:
            validated.append(_validate(atoms))
        except InputError as error:
            raise InputError(f"{location}: {error}") from None
    by_size: dict[int, list[int]] = defaultdict(list)
    for index, item in enumerate(validated):
        by_size[len(item.numbers)].append(index)
    hashes: dict[int, tuple[str, str]] = {}
    for indices in by_size.values():
        structure, composition = identity_hashes(
            np.stack([validated[i].numbers for i in indices]),
            np.stack([validated[i].positions for i in indices]),
            [validated[i].identity for i in indices],
        )
        hashes.update(zip(indices, zip(structure, composition, strict=True), strict=True))
    return [
        MoleculeRecord(
            numbers=item.numbers,
            positions=item.positions,
            charge=item.identity[1],
            multiplicity=item.identity[2],
            formula=item.identity[0],
            structure_hash=hashes[index][0],
            composition_hash=hashes[index][1],
            name=item.atoms.info.get("name"),
            smiles=item.atoms.info.get("smiles"),
            tags=item.tags,
        )
        for index, item in enumerate(validated)
    ]


def record_from_atoms(atoms: Atoms) -> MoleculeRecord:
    """The :class:`MoleculeRecord` of one molecule (see :func:`records_from_atoms`)."""
    return records_from_atoms([(atoms, "structure")])[0]


def molecule_to_atoms(molecule: Molecule) -> Atoms:
    """The ``Atoms`` of a stored molecule; ``info`` carries ``molecule_id``, ``charge``,
    ``multiplicity``, ``formula``, ``composition_hash`` and ``name``."""
    atoms = Atoms(numbers=list(molecule.numbers), positions=np.asarray(molecule.positions, dtype=float))
    atoms.info.update(
        molecule_id=molecule.id,
        charge=molecule.charge,
        multiplicity=molecule.multiplicity,
        formula=molecule.formula,
        composition_hash=molecule.composition_hash,
    )
    if molecule.name:
        atoms.info["name"] = molecule.name
    return atoms


def load_atoms(session: Session, molecule_ids: Sequence[int]) -> list[Atoms]:
    """``Atoms`` of the given molecule ids, in the order given."""
    rows = {m.id: m for m in session.scalars(select(Molecule).where(Molecule.id.in_(list(molecule_ids))))}
    missing = [i for i in molecule_ids if i not in rows]
    if missing:
        raise InputError(f"no molecules with ids {missing[:10]}")
    return [molecule_to_atoms(rows[i]) for i in molecule_ids]


def tagged_ids(session: Session, tag: str) -> list[int]:
    """Ids of the molecules tagged ``tag``, ascending (empty when none)."""
    return list(session.scalars(select(Molecule.id).where(Molecule.tags.any(tag)).order_by(Molecule.id)))


def molecule_tags(session: Session, molecule_ids: Sequence[int]) -> dict[int, list[str]]:
    """Tags of each of ``molecule_ids`` (ids not stored are left out)."""
    rows = session.execute(select(Molecule.id, Molecule.tags).where(Molecule.id.in_(list(molecule_ids))))
    return {molecule_id: list(tags or []) for molecule_id, tags in rows}
