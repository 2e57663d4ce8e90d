"""Getting molecules into the store: validate, deduplicate, bulk insert, one transaction per source."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

from ase import Atoms
from sqlalchemy import Engine
from tqdm import tqdm

from atomloop.db.engine import get_engine
from atomloop.ingest.sources import read_source
from atomloop.store.bulk import WriteReport, write_molecules
from atomloop.store.molecules import MoleculeRecord, records_from_atoms

__all__ = ["WriteReport", "ingest_atoms", "ingest_source", "read_source"]


def _records(located: Iterable[tuple[Atoms, str]], batch: int = 1000) -> Iterator[MoleculeRecord]:
    iterator = iter(located)
    while structures := list(islice(iterator, batch)):
        yield from records_from_atoms(structures)


def ingest_atoms(
    atoms: Iterable[Atoms],
    *,
    source: str,
    tags: Sequence[str] = (),
    engine: Engine | None = None,
    progress: bool = False,
) -> WriteReport:
    """Store ``atoms`` (positions in Å; ``info['charge']``, ``info['multiplicity']`` optional).

    Structures already in the store (same geometry up to rotation, translation and atom
    order) are not added again but get ``tags``. One transaction: on any bad structure
    nothing is written and ``InputError`` names the structure's index.
    """
    located = ((a, f"{source}[{i}]") for i, a in enumerate(atoms))
    if progress:
        located = tqdm(located, desc=f"ingest {source}", unit="mol")
    return write_molecules(engine or get_engine(), _records(located), source=source, tags=tags)


def ingest_source(
    spec: str,
    *,
    tags: Sequence[str] = (),
    conformers: int = 1,
    engine: Engine | None = None,
    progress: bool = False,
) -> WriteReport:
    """Store every structure of source ``spec`` (see :mod:`atomloop.ingest.sources`) in one
    transaction; errors name the file and line, and leave the store unchanged."""
    located: Iterable[tuple[Atoms, str]] = read_source(spec, conformers=conformers)
    if progress:
        located = tqdm(located, desc=f"ingest {spec}", unit="mol")
    return write_molecules(engine or get_engine(), _records(located), source=spec, tags=tags)
