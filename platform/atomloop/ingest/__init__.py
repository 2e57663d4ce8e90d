"""Getting molecules into the store: validate, deduplicate, bulk insert, one transaction per source.

With ``labels`` (an :class:`~atomloop.store.external.ExternalLevel`) the energies the structures
carry (ASE's conventions, eV; see :mod:`atomloop.ingest.labels`: finite numbers within 1e5 eV per
atom, per-atom energies summing to the total within 1e-6 Hartree) are stored in the same
transaction as finished calculations at that level, in Hartree, and never recomputed. A label
that differs from the one stored for the molecule at that level is an error naming both, unless
``replace`` (see :func:`atomloop.store.external.write_external_labels`). Tags are checked by
:func:`atomloop.store.molecules.checked_tags`. On any error nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

from ase import Atoms
from sqlalchemy import Engine
from tqdm import tqdm

from atomloop.db.engine import get_engine
from atomloop.ingest.labels import external_label
from atomloop.ingest.sources import read_source
from atomloop.store.bulk import WriteReport, write_molecules
from atomloop.store.external import EXTERNAL_SCHEME, ExternalLevel, LabelledRecord, PySCFLevel
from atomloop.store.molecules import MoleculeRecord, checked_tags, records_from_atoms

__all__ = ["ExternalLevel", "WriteReport", "ingest_atoms", "ingest_source", "read_source"]


def _records(
    located: Iterable[tuple[Atoms, str]], labels: ExternalLevel | PySCFLevel | None, scheme: str, replace: bool,
    batch: int = 1000,
) -> Iterator[MoleculeRecord | LabelledRecord]:
    iterator = iter(located)
    while structures := list(islice(iterator, batch)):
        records = records_from_atoms(structures)
        if labels is None:
            yield from records
            continue
        for record, (atoms, where) in zip(records, structures, strict=True):
            yield LabelledRecord(record, external_label(atoms, where, scheme), where, replace)


def ingest_atoms(
    atoms: Iterable[Atoms],
    *,
    source: str,
    tags: Sequence[str] = (),
    engine: Engine | None = None,
    progress: bool = False,
    labels: ExternalLevel | PySCFLevel | None = None,
    scheme: str = EXTERNAL_SCHEME,
    replace: bool = False,
) -> WriteReport:
    """Store ``atoms`` (positions in Å; ``info['charge']``, ``info['multiplicity']`` optional),
    with ``labels``: also their energies as labels at that level (per-atom ones as ``scheme``;
    with ``replace`` replacing different labels stored at that level).

    Structures already in the store (same geometry up to rotation, translation and atom
    order) are not added again but get ``tags``. One transaction: on any bad structure
    nothing is written and ``InputError`` names the structure's index.
    """
    tags = checked_tags(tags)
    located = ((a, f"{source}[{i}]") for i, a in enumerate(atoms))
    if progress:
        located = tqdm(located, desc=f"ingest {source}", unit="mol")
    return write_molecules(engine or get_engine(), _records(located, labels, scheme, replace), source=source,
                           tags=tags, level=labels)


def ingest_source(
    spec: str,
    *,
    tags: Sequence[str] = (),
    conformers: int = 1,
    max_heavy_atoms: int | None = None,
    limit: int | None = None,
    engine: Engine | None = None,
    progress: bool = False,
    labels: ExternalLevel | PySCFLevel | None = None,
    scheme: str = EXTERNAL_SCHEME,
    replace: bool = False,
) -> WriteReport:
    """Store every structure of source ``spec`` (see :mod:`atomloop.ingest.sources`; at most
    ``max_heavy_atoms`` heavy atoms, the first ``limit``) in one transaction, with ``labels``
    also their energies (and ``replace``, see :func:`ingest_atoms`); errors name the file and line, and leave
    the store unchanged."""
    tags = checked_tags(tags)
    located: Iterable[tuple[Atoms, str]] = read_source(spec, conformers=conformers, max_heavy_atoms=max_heavy_atoms,
                                                       limit=limit)
    if progress:
        located = tqdm(located, desc=f"ingest {spec}", unit="mol")
    return write_molecules(engine or get_engine(), _records(located, labels, scheme, replace), source=spec,
                           tags=tags, level=labels)
