"""Sources of molecules: files, ASE databases, ASE's shipped collections, SMILES lists.

A source is named by a string: ``ase:g2`` / ``ase:s22`` (collections shipped with ASE),
``atomloop:organic`` (164 small organic molecules shipped with atomloop, as SMILES with
their functional-group class as a tag), ``atomloop:qm9-labelled`` (the transferability study's
QM9 molecules with their PySCF labels, :mod:`atomloop.datasets.qm9_labelled`, tagged with their
functional groups, :mod:`atomloop.datasets.functional_groups`) and
``atomloop:qm9-labelled-cc-pvdz`` (a sixth of them at a second basis),
``atomloop:larger-labelled`` (NCI molecules of 10 to 16 heavy atoms at the same level,
:mod:`atomloop.datasets.larger_labelled`),
``*.xyz`` / ``*.extxyz`` (ase.io; also gzip-compressed, ``*.extxyz.gz``), ``*.db`` / ``*.json`` (an ASE database),
``*.smi`` / ``*.smiles`` (one SMILES per line, built into 3-D with RDKit), ``qm9`` (QM9 from the
``qm9pack`` package, :mod:`atomloop.ingest.qm9`). ``max_heavy_atoms`` and ``limit`` keep the
structures of at most that many heavy atoms, and the first ``limit`` of them.

Every structure is checked before it reaches the store (:func:`atomloop.store.molecules.records_from_atoms`:
coordinates finite and within ``MAX_COORDINATE`` Å of the origin, no two atoms closer than
``MIN_DISTANCE`` Å, ``charge`` and ``multiplicity`` whole numbers). A file is only ever read,
never written (an SQLite ASE database is opened read-only), and a file without a single
molecule is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import closing
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from ase import Atoms

from atomloop.errors import InputError
from atomloop.ingest.smiles import read_smiles_file
from atomloop.ingest.xyz import read_xyz_frames

if TYPE_CHECKING:
    from ase.db.row import AtomsRow

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


def _shipped_labelled_set(name: str) -> Iterator[tuple[Atoms, str]]:
    """The frames of a shipped labelled set, tagged with their functional groups (from their SMILES)."""
    from atomloop.datasets.functional_groups import functional_groups
    from atomloop.datasets.qm9_labelled import LABELLED_SETS

    for path in sorted(LABELLED_SETS[name].data_dir.glob("chunk-*.extxyz.gz")):
        for atoms, where in read_xyz_frames(path):
            atoms.info["tags"] = functional_groups(str(atoms.info.get("smiles", "")))
            yield atoms, where


def _labelled_set_name(spec: str) -> str | None:
    """``qm9-labelled`` for ``atomloop:qm9-labelled`` (a shipped labelled set), else None."""
    from atomloop.datasets.qm9_labelled import LABELLED_SETS

    name = spec.removeprefix("atomloop:")
    return name if spec.startswith("atomloop:") and name in LABELLED_SETS else None


def _suffix(path: Path) -> str:
    """The file type: the last suffix, or the one before ``.gz`` (``x.extxyz.gz`` is ``.extxyz``)."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    return suffixes[-2] if len(suffixes) > 1 and suffixes[-1] == ".gz" and suffixes[-2] in _XYZ else path.suffix.lower()


def _shipped_smiles(name: str) -> Path:
    path = Path(__file__).resolve().parents[1] / "data" / f"{name}.smi"
    if not path.exists():
        from atomloop.datasets.qm9_labelled import LABELLED_SETS

        available = ", ".join(f"atomloop:{n}" for n in ("organic", *LABELLED_SETS))
        raise InputError(f"unknown atomloop collection {name!r}; available: {available}")
    return path


def _ase_rows(path: Path) -> list[AtomsRow]:
    """Every row of the ASE database ``path``, read without changing the file: ASE's SQLite
    backend would turn any file it opens (an empty one too) into an ASE database."""
    import ase.db

    if path.suffix.lower() == ".json":
        return list(ase.db.connect(str(path), type="json", use_lock_file=False).select())
    import sqlite3

    from ase.db.sqlite import SQLite3Database

    read_only = f"{path.absolute().as_uri()}?mode=ro"
    with closing(sqlite3.connect(read_only, uri=True)) as connection:
        if not connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'systems'").fetchone():
            raise InputError("an SQLite file without ASE's tables")
    database = SQLite3Database(str(path.absolute()), create_indices=False, use_lock_file=False)
    database._connect = lambda: sqlite3.connect(read_only, uri=True)  # ASE's own connections may write
    return list(database.select())


def _read_ase_db(path: Path) -> Iterator[tuple[Atoms, str]]:
    try:
        rows = _ase_rows(path)
    except Exception as error:  # sqlite3, json and ASE raise many types for a file that is not a database
        raise InputError(f"{path}: not a readable ASE database: {error}") from None
    for row in rows:
        location = f"{path}:id={row.id}"
        try:
            atoms = row.toatoms()
        except Exception as error:
            raise InputError(f"{location}: malformed row: {error}") from None
        atoms.info.update({k: v for k, v in row.key_value_pairs.items() if k in ("charge", "multiplicity", "name")})
        yield atoms, location


def checked_structures(located: Iterable[tuple[Atoms, str]], source: str) -> Iterator[tuple[Atoms, str]]:
    """``located``, where a source without any structure is an error (each structure is checked
    where every structure is, in :func:`atomloop.store.molecules.records_from_atoms`)."""
    count = 0
    for item in located:
        count += 1
        yield item
    if count == 0:
        raise InputError(f"no molecules in {source}")


def _checked_file(spec: str) -> Path:
    """``spec`` as the path of an existing, non-empty file of a known type."""
    path = Path(spec)
    if not path.exists():
        raise InputError(f"{spec}: no such file")
    if path.is_dir():
        raise InputError(f"{spec}: a directory; give the molecule files inside it")
    if _suffix(path) not in _XYZ | _ASE_DB | _SMILES:
        raise InputError(
            f"{spec}: unknown source type {path.suffix!r}; use ase:g2, ase:s22, atomloop:organic, qm9, "
            ".xyz/.extxyz, .db/.json or .smi"
        )
    if path.stat().st_size == 0:
        raise InputError(f"no molecules in {spec}: the file is empty")
    return path


def own_label_level(spec: str):
    """The level of the labels a shipped source carries with it (QM9's U0 for ``qm9``,
    PySCF's for the shipped labelled sets), else None: the user must state it."""
    if spec == "qm9":
        from atomloop.ingest.qm9 import QM9_LEVEL

        return QM9_LEVEL
    if name := _labelled_set_name(spec):
        from atomloop.datasets.qm9_labelled import LABELLED_SETS
        from atomloop.store.external import PySCFLevel

        return PySCFLevel(LABELLED_SETS[name].level)
    return None


def read_source(
    spec: str, *, conformers: int = 1, max_heavy_atoms: int | None = None, limit: int | None = None
) -> Iterator[tuple[Atoms, str]]:
    """Yield ``(atoms, location)`` for every structure of source ``spec`` (of at most
    ``max_heavy_atoms`` heavy atoms, the first ``limit``); ``InputError`` names the file and
    line (or row) of a bad one."""
    if spec == "qm9":
        from atomloop.ingest.qm9 import read_qm9

        yield from checked_structures(read_qm9(max_heavy_atoms=max_heavy_atoms, limit=limit), spec)
        return
    located = _structures(spec, conformers=conformers)
    if max_heavy_atoms is not None:
        located = ((atoms, where) for atoms, where in located if int((atoms.numbers > 1).sum()) <= max_heavy_atoms)
    yield from checked_structures(islice(located, limit), spec)


def _structures(spec: str, *, conformers: int) -> Iterator[tuple[Atoms, str]]:
    if spec.startswith("ase:"):
        yield from _read_collection(spec[4:])
        return
    if name := _labelled_set_name(spec):
        yield from _shipped_labelled_set(name)
        return
    if spec.startswith("atomloop:"):
        yield from read_smiles_file(_shipped_smiles(spec[9:]), conformers=conformers)
        return
    path = _checked_file(spec)
    suffix = _suffix(path)
    if suffix in _XYZ:
        yield from read_xyz_frames(path)
    elif suffix in _ASE_DB:
        yield from _read_ase_db(path)
    else:
        yield from read_smiles_file(path, conformers=conformers)
