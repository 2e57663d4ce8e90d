"""Sources of molecules: files, ASE databases, ASE's shipped collections, SMILES lists.

A source is named by a string: ``ase:g2`` / ``ase:s22`` (collections shipped with ASE),
``atomloop:organic`` (164 small organic molecules shipped with atomloop, as SMILES with
their functional-group class as a tag),
``*.xyz`` / ``*.extxyz`` (ase.io), ``*.db`` / ``*.json`` (an ASE database),
``*.smi`` / ``*.smiles`` (one SMILES per line, built into 3-D with RDKit).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ase import Atoms

from atomloop.errors import InputError
from atomloop.ingest.smiles import read_smiles_file
from atomloop.ingest.xyz import read_xyz_frames

COLLECTIONS = ("g2", "s22")
_XYZ = {".xyz", ".extxyz"}
_ASE_DB = {".db", ".json"}
_SMILES = {".smi", ".smiles"}


def _read_collection(name: str) -> Iterator[tuple[Atoms, str]]:
    import ase.collections

    if name not in COLLECTIONS:
        raise InputError(f"unknown ASE collection {name!r}; available: {', '.join('ase:' + c for c in COLLECTIONS)}")
    collection = getattr(ase.collections, name)
    for molecule_name in collection.names:
        atoms = collection[molecule_name]
        atoms.info["name"] = molecule_name
        yield atoms, f"ase:{name}:{molecule_name}"


def _shipped_smiles(name: str) -> Path:
    path = Path(__file__).resolve().parents[1] / "data" / f"{name}.smi"
    if not path.exists():
        raise InputError(f"unknown atomloop collection {name!r}; available: atomloop:organic")
    return path


def _read_ase_db(path: Path) -> Iterator[tuple[Atoms, str]]:
    import ase.db

    try:
        database = ase.db.connect(str(path), create_indices=False)
        rows = list(database.select())
    except Exception as error:
        raise InputError(f"{path}: not a readable ASE database: {error}") from None
    for row in rows:
        atoms = row.toatoms()
        atoms.info.update({k: v for k, v in row.key_value_pairs.items() if k in ("charge", "multiplicity", "name")})
        yield atoms, f"{path}:id={row.id}"


def read_source(spec: str, *, conformers: int = 1) -> Iterator[tuple[Atoms, str]]:
    """Yield ``(atoms, location)`` for every structure of source ``spec``."""
    if spec.startswith("ase:"):
        yield from _read_collection(spec[4:])
        return
    if spec.startswith("atomloop:"):
        yield from read_smiles_file(_shipped_smiles(spec[9:]), conformers=conformers)
        return
    path = Path(spec)
    if not path.exists():
        raise InputError(f"{spec}: no such file")
    suffix = path.suffix.lower()
    if suffix in _XYZ:
        yield from read_xyz_frames(path)
    elif suffix in _ASE_DB:
        yield from _read_ase_db(path)
    elif suffix in _SMILES:
        yield from read_smiles_file(path, conformers=conformers)
    else:
        raise InputError(
            f"{spec}: unknown source type {suffix!r}; use ase:g2, ase:s22, .xyz/.extxyz, .db/.json or .smi"
        )
