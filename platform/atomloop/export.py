"""Export the store's molecules: an ASE SQLite database (for sharing, ``ase gui``), or an
extended-XYZ training file with the labels of one level (read by ``ase.io.read`` and by
nequip's and MACE's ASE data loaders)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import ase.db
import numpy as np
from ase import units

from atomloop.db.connect import database_url
from atomloop.db.url import ase_url
from atomloop.errors import InputError


def _id_ranges(ids: list[int]) -> list[tuple[int, int]]:
    """Ascending ``ids`` as runs of consecutive values ``(first, last)``."""
    ranges: list[tuple[int, int]] = []
    for i in ids:
        if ranges and i == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], i)
        else:
            ranges.append((i, i))
    return ranges


@contextmanager
def _written_whole(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path``, created on entry (so a folder that is missing or
    unwritable is refused before any work) and renamed to ``path`` only when the block
    succeeds: a killed or failed export leaves no file that blocks the retry (``path`` existing
    is refused). Any failure to write is an :class:`InputError` naming ``path`` and the cause."""
    if path.exists():
        raise InputError(f"{path} exists; choose a new file name")
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"cannot write {path}: "
                         + (f"{folder} is not a folder" if folder.exists() else f"no folder {folder}"))
    partial = path.with_name(path.name + ".partial")
    try:
        partial.unlink(missing_ok=True)
        partial.open("xb").close()
    except OSError as error:
        raise InputError(f"cannot write {path}: cannot create a file in {folder} ({error.strerror})") from None
    try:
        yield partial
        partial.replace(path)
    except (OSError, sqlite3.Error) as error:
        raise InputError(f"cannot write {path}: {getattr(error, 'strerror', None) or error}") from None
    finally:
        partial.unlink(missing_ok=True)


def export_ase_database(path: Path, *, tag: str | None = None, url: str | None = None) -> int:
    """Write the molecules (optionally those tagged ``tag``) to the ASE database ``path``.

    Rows are read through the store's ASE views, so the file holds exactly what
    ``ase db $(atomloop db ase-url)`` shows: positions (Å), energy (eV) when labelled, the
    key-value pairs and ``data`` (atomic energies per scheme in Hartree, ``energies`` in eV).
    The tag is matched in the store (exactly as stored), and only the
    matching rows are read. Returns the number of rows written; refuses to overwrite a file, and
    writes nothing when no molecule matches (an :class:`InputError`).
    """
    from atomloop.db.engine import get_engine, session_scope
    from atomloop.store.molecules import tagged_ids

    url = url or database_url()
    with _written_whole(Path(path)) as partial:
        queries: list[str | None] = [None]
        if tag is not None:
            with session_scope(get_engine(url)) as session:
                ids = tagged_ids(session, tag)
            if not ids:
                raise InputError(f"no molecules are tagged {tag!r}")
            queries = [f"id>={first},id<={last}" for first, last in _id_ranges(ids)]
        source = ase.db.connect(ase_url(url))
        count = 0
        with ase.db.connect(str(partial), type="db") as target:
            for query in queries:
                for row in source.select(query):
                    target.write(row.toatoms(), key_value_pairs=row.key_value_pairs, data=row.data)
                    count += 1
        if count == 0:
            raise InputError("the store holds no molecules; add some with atomloop ingest")
    return count


def extxyz_atoms(session, *, tag: str | None = None, settings_hash: str | None = None, method: str | None = None,
                 basis: str | None = None, scheme: str | None = None) -> list:
    """The labelled molecules of one level as ``Atoms`` for a training file.

    ASE's convention (eV) on a single-point calculator: ``energy`` (the total) and, with
    ``scheme``, per-atom ``energies`` of that scheme. Beside it, in Hartree with the unit in the
    key: ``info['energy_hartree']`` and, for every scheme stored at that level,
    ``arrays['atomic_energies_<scheme>_hartree']``. ``info`` also holds ``molecule_id``,
    ``settings_hash``, ``formula``, ``charge`` and ``multiplicity``.
    """
    from atomloop.models.names import ENERGY_INFO_KEY
    from atomloop.store.labels import (
        LabelSource,
        atomic_energy_arrays,
        labelled_atoms,
        resolve_settings_hash,
        schemes_at,
    )
    from atomloop.store.molecules import tagged_ids

    level = resolve_settings_hash(session, settings_hash=settings_hash, method=method, basis=basis)
    schemes = schemes_at(session, level)
    if scheme is not None and scheme not in schemes:
        raise InputError(f"no atomic energies of scheme {scheme!r} at this level; stored: {', '.join(schemes) or 'none'}")
    ids = tagged_ids(session, tag) if tag is not None else None
    if tag is not None and not ids:
        raise InputError(f"no molecules are tagged {tag!r}")
    molecules = labelled_atoms(session, LabelSource(level), ids)
    per_atom_by_scheme = atomic_energy_arrays(session, level, list(molecules), schemes)
    out = []
    for molecule_id, atoms in molecules.items():
        energy = float(atoms.info.pop(ENERGY_INFO_KEY))
        atoms.info["settings_hash"] = level
        out.append(labelled_frame(atoms, energy, per_atom_by_scheme.get(molecule_id, {}), scheme))
    return out


def atomic_energies_key(scheme: str) -> str:
    """The ``arrays`` key of a scheme's atomic energies in a training file (Hartree)."""
    return f"atomic_energies_{scheme}_hartree"


def labelled_frame(atoms, energy: float, atomic_by_scheme: dict[str, np.ndarray], scheme: str | None = None):
    """``atoms`` (changed in place and returned) carrying its labels as a training file does:
    ``info['energy_hartree']`` = ``energy`` (Hartree), ``arrays[atomic_energies_key(s)]`` per
    scheme (Hartree, shape (natoms,)), and ASE's single-point calculator in eV with the total
    and, with ``scheme``, that scheme's per-atom ``energies``."""
    from ase.calculators.singlepoint import SinglePointCalculator

    atoms.info["energy_hartree"] = energy
    for name, values in atomic_by_scheme.items():
        atoms.arrays[atomic_energies_key(name)] = np.asarray(values, dtype=float)
    per_atom = atoms.arrays.get(atomic_energies_key(scheme)) if scheme else None
    atoms.calc = SinglePointCalculator(
        atoms, energy=energy * units.Hartree, energies=None if per_atom is None else per_atom * units.Hartree,
    )
    return atoms


def export_extxyz(path: Path, *, url: str | None = None, **choice) -> int:
    """Write :func:`extxyz_atoms` (``choice``: tag, settings_hash, method, basis, scheme) to the
    extended-XYZ file ``path``; returns the number of molecules. Refuses to overwrite a file."""
    from ase.io import write

    from atomloop.db.engine import get_engine, session_scope

    with _written_whole(Path(path)) as partial:
        with session_scope(get_engine(url)) as session:
            frames = extxyz_atoms(session, **choice)
        write(partial, frames, format="extxyz")
    return len(frames)
