"""Export the store's molecules: an ASE SQLite database (for sharing, ``ase gui``), or an
extended-XYZ training file with the labels of one level (read by ``ase.io.read`` and by
nequip's and MACE's ASE data loaders).

Both stream: rows are read in chunks of ``CHUNK_SIZE`` through a server-side cursor inside one
read-only snapshot (the count, the rows and their labels all see the same store), the next
chunk is fetched while the current one is written, and the file is written in one transaction
(``.db``) or one pass (``.extxyz``), so memory stays flat for any number of molecules. With
``progress`` a tqdm bar counts molecules on stderr.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from pathlib import Path

import numpy as np
from ase import units

from atomloop.db.connect import database_url
from atomloop.errors import InputError

CHUNK_SIZE = 2000
DEFAULT_SCHEME = "mo-pm-iao"  # the loop's default training scheme; ASE's views prefer it too


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


@contextmanager
def _snapshot(url: str | None):
    """A SQLAlchemy connection in one read-only REPEATABLE READ transaction of the store."""
    from atomloop.db.engine import get_engine

    engine = get_engine(url or database_url())
    with engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True) as connection:
        with connection.begin():
            yield connection


def _prefetched(chunks: Generator[list, None, None]) -> Iterator[list]:
    """``chunks``, the next one fetched in a thread while the caller writes the current one
    (the database works in its own process, the driver waits without the GIL)."""
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-rows") as pool:
            upcoming = pool.submit(next, chunks, None)
            while (chunk := upcoming.result()) is not None:
                upcoming = pool.submit(next, chunks, None)
                yield chunk
    finally:
        chunks.close()  # the server-side cursor, while its transaction is open


def _streamed(connection, query: str, params: dict, chunk_size: int) -> Iterator[list[tuple]]:
    """The rows of ``query`` in chunks, read through a server-side cursor of ``connection``'s
    transaction (only one chunk at a time in this process)."""
    driver = connection.connection.driver_connection
    with driver.cursor(name="atomloop_export") as cursor:
        cursor.itersize = chunk_size
        cursor.execute(query, params)
        while rows := cursor.fetchmany(chunk_size):
            yield rows


_TAGGED = "%(tag)s = ANY(m.tags)"


def _count(connection, tag: str | None) -> int:
    """The number of molecules (tagged ``tag``); none is an :class:`InputError`."""
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM public.molecules AS m{' WHERE ' + _TAGGED if tag is not None else ''}",
                       {"tag": tag})
        (count,) = cursor.fetchone()
    if count == 0:
        raise InputError(f"no molecules are tagged {tag!r}" if tag is not None
                         else "the store holds no molecules; add some with atomloop ingest")
    return count


def _bar(total: int, path: Path, progress: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=f"export {path.name}", unit="mol", disable=not progress)


# The rows exactly as ``ase db $(atomloop db ase-url)`` shows them (schemas/views/0008_ase_views.sql).
_ASE_ROWS = """
SELECT s.id, s.unique_id, s.ctime, s.numbers, s.positions, s.energy, s.key_value_pairs, s.data
FROM ase.systems AS s {where}
ORDER BY s.id
"""


def _ndarrays(data: dict) -> dict:
    """``row.data`` of the ASE views with its arrays (ASE's JSON ``{"__ndarray__": [shape,
    dtype, flat]}``) as NumPy arrays, as ASE's own backend decodes them."""
    out = {}
    for key, value in data.items():
        if isinstance(value, dict) and "__ndarray__" in value:
            shape, dtype, flat = value["__ndarray__"]
            value = np.asarray(flat, dtype=dtype).reshape(shape)
        out[key] = value
    return out


def _ase_row(molecule_id, unique_id, ctime, numbers, positions, energy, key_value_pairs, data):
    """One exported row as ASE's :class:`~ase.db.row.AtomsRow`: the store's structure hash as
    ``unique_id`` and its creation time as ``ctime``, like the view."""
    from ase.db.row import AtomsRow

    fields = {"numbers": np.asarray(numbers, dtype=np.int64), "positions": np.asarray(positions, dtype=float),
              "unique_id": unique_id, "ctime": ctime, "user": "atomloop"}
    if energy is not None:
        fields["energy"] = float(energy)
    return AtomsRow(fields), key_value_pairs, _ndarrays(data or {})


def export_ase_database(path: Path, *, tag: str | None = None, url: str | None = None, progress: bool = False,
                        chunk_size: int = CHUNK_SIZE) -> int:
    """Write the molecules (optionally those tagged ``tag``) to the ASE database ``path``.

    Rows are read through the store's ASE views, so the file holds exactly what
    ``ase db $(atomloop db ase-url)`` shows: positions (Å), energy (eV) when labelled, the
    key-value pairs and ``data`` (atomic energies per scheme in Hartree, ``energies`` in eV),
    ``unique_id`` the store's structure hash. The tag is matched in the store (exactly as
    stored), and only the matching rows are read. Streams (see the module docstring) into one
    SQLite transaction. Returns the number of rows written; refuses to overwrite a file, and
    writes nothing when no molecule matches (an :class:`InputError`).
    """
    import ase.db

    path = Path(path)
    with _written_whole(path) as partial, _snapshot(url) as connection:
        total = _count(connection, tag)
        where = f"WHERE s.id IN (SELECT m.id FROM public.molecules AS m WHERE {_TAGGED})" if tag is not None else ""
        chunks = _streamed(connection, _ASE_ROWS.format(where=where), {"tag": tag}, chunk_size)
        count = 0
        target = ase.db.connect(str(partial), type="db", use_lock_file=False)
        with target, _bar(total, path, progress) as bar, closing(_prefetched(chunks)) as prefetched:
            for chunk in prefetched:
                for values in chunk:
                    row, key_value_pairs, data = _ase_row(*values)
                    try:
                        target.write(row, key_value_pairs=key_value_pairs, data=data)
                    except ValueError as error:  # ASE refuses a key or value (e.g. a name that reads as a number)
                        raise InputError(f"molecule {values[0]}: ASE's database refuses it: {error}") from None
                count += len(chunk)
                bar.update(len(chunk))
    return count


def default_scheme(schemes: Sequence[str]) -> str | None:
    """The scheme of ASE's per-atom ``energies`` in a training file: ``DEFAULT_SCHEME``
    (mo-pm-iao) when stored, else the first stored scheme by name; None when there is none.
    The same choice as the ASE views' ``energies``."""
    if DEFAULT_SCHEME in schemes:
        return DEFAULT_SCHEME
    return min(schemes, default=None)


def atomic_energies_key(scheme: str) -> str:
    """The ``arrays`` key of a scheme's atomic energies in a training file (Hartree)."""
    return f"atomic_energies_{scheme}_hartree"


def labelled_frame(atoms, energy: float, atomic_by_scheme: dict[str, np.ndarray], scheme: str | None = None):
    """``atoms`` (changed in place and returned) carrying its labels as a training file does:
    ``info['energy_hartree']`` = ``energy`` (Hartree), ``arrays[atomic_energies_key(s)]`` per
    scheme (Hartree, shape (natoms,)), and ASE's single-point calculator in eV with the total
    and, with ``scheme`` (when ``atomic_by_scheme`` has it), that scheme's per-atom ``energies``
    (``info['energies_scheme']`` names it)."""
    from ase.calculators.singlepoint import SinglePointCalculator

    atoms.info["energy_hartree"] = energy
    for name, values in atomic_by_scheme.items():
        atoms.arrays[atomic_energies_key(name)] = np.asarray(values, dtype=float)
    per_atom = atoms.arrays.get(atomic_energies_key(scheme)) if scheme else None
    if per_atom is not None:
        atoms.info["energies_scheme"] = scheme
    atoms.calc = SinglePointCalculator(
        atoms, energy=energy * units.Hartree, energies=None if per_atom is None else per_atom * units.Hartree,
    )
    return atoms


# Every molecule labelled at one level, with each scheme that has all of its atoms' energies.
_LABELLED_ROWS = """
SELECT m.id, m.numbers, m.positions, m.charge, m.multiplicity, m.formula, m.composition_hash, m.name,
       c.total_energy, c.program, c.method, c.basis, a.schemes, a.energies
FROM public.calculations AS c
JOIN public.molecules AS m ON m.id = c.molecule_id
LEFT JOIN LATERAL (
    SELECT array_agg(e.scheme ORDER BY e.scheme) AS schemes, array_agg(e.energies ORDER BY e.scheme) AS energies
    FROM (SELECT a.scheme::text AS scheme, array_agg(a.energy ORDER BY a.atom_index) AS energies
          FROM public.atomic_energies AS a
          WHERE a.calculation_id = c.id
          GROUP BY a.scheme
          HAVING count(*) = m.natoms) AS e
) AS a ON true
WHERE c.status = 'done' AND c.settings_hash = %(level)s AND c.total_energy IS NOT NULL {tagged}
ORDER BY m.id
"""


def _labelled_atoms(values, level: str, scheme: str | None):
    """One frame of a training file from a row of ``_LABELLED_ROWS``."""
    from ase import Atoms

    (molecule_id, numbers, positions, charge, multiplicity, formula, composition_hash, name,
     energy, program, method, basis, schemes, energies) = values
    atoms = Atoms(numbers=numbers, positions=positions)
    atoms.info.update(molecule_id=molecule_id, charge=charge, multiplicity=multiplicity, formula=formula,
                      composition_hash=composition_hash)
    if name:
        atoms.info["name"] = name
    atoms.info.update(program=program, method=method, basis=basis, settings_hash=level)
    per_atom = dict(zip(schemes, energies, strict=True)) if schemes else {}
    return labelled_frame(atoms, float(energy), per_atom, scheme)


def export_extxyz(path: Path, *, url: str | None = None, tag: str | None = None, settings_hash: str | None = None,
                  method: str | None = None, basis: str | None = None, scheme: str | None = None,
                  progress: bool = False, chunk_size: int = CHUNK_SIZE) -> int:
    """Write the molecules labelled at one level (optionally those tagged ``tag``) to the
    extended-XYZ file ``path``; returns the number of molecules. Refuses to overwrite a file.

    The level: the one matching ``settings_hash`` / ``method`` / ``basis``
    (:func:`~atomloop.store.labels.resolve_settings_hash`). Each frame holds, in ASE's
    convention (eV) on a single-point calculator, ``energy`` (the total) and per-atom
    ``energies`` of ``scheme``, by default :func:`default_scheme` of the schemes stored at the
    level (mo-pm-iao when stored, else the first by name), the same scheme in every frame
    (``info['energies_scheme']`` names it; a molecule without all its atoms' energies of it
    has no ``energies``). Beside them, in Hartree with the unit in the key:
    ``info['energy_hartree']`` and, for every scheme stored for the molecule at that level,
    ``arrays['atomic_energies_<scheme>_hartree']``. ``info`` also holds the level
    (``program``, ``method``, ``basis``, ``settings_hash``) and the molecule (``molecule_id``,
    ``formula``, ``composition_hash``, ``charge``, ``multiplicity``, ``name``). Streams (see
    the module docstring).
    """
    import ase.io
    from sqlalchemy.orm import Session

    from atomloop.store.labels import resolve_settings_hash, schemes_at

    path = Path(path)
    with _written_whole(path) as partial, _snapshot(url) as connection:
        with Session(bind=connection) as session:
            level = resolve_settings_hash(session, settings_hash=settings_hash, method=method, basis=basis)
            schemes = schemes_at(session, level)
        if scheme is not None and scheme not in schemes:
            raise InputError(f"no atomic energies of scheme {scheme!r} at this level; stored: {', '.join(schemes) or 'none'}")
        if tag is not None:
            _count(connection, tag)  # no molecule tagged so: one line
        chunks = _streamed(connection, _LABELLED_ROWS.format(tagged=f"AND {_TAGGED}" if tag is not None else ""),
                           {"level": level, "tag": tag}, chunk_size)
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM public.calculations AS c JOIN public.molecules AS m ON m.id = c.molecule_id "
                           "WHERE c.status = 'done' AND c.settings_hash = %(level)s AND c.total_energy IS NOT NULL "
                           + (f"AND {_TAGGED}" if tag is not None else ""), {"level": level, "tag": tag})
            (total,) = cursor.fetchone()
        energies_scheme = scheme or default_scheme(schemes)
        count = 0
        with partial.open("w") as handle, _bar(total, path, progress) as bar, closing(_prefetched(chunks)) as prefetched:
            for chunk in prefetched:
                ase.io.write(handle, [_labelled_atoms(values, level, energies_scheme) for values in chunk],
                             format="extxyz")
                count += len(chunk)
                bar.update(len(chunk))
        if count == 0:
            raise InputError("none of the tagged molecules is labelled at this level" if tag is not None
                             else "no molecule is labelled at this level")
    return count
