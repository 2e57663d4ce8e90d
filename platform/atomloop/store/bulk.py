"""Bulk insert of molecules: COPY into a staging table, then one INSERT ... ON CONFLICT.

One call of :func:`write_molecules` is one transaction: either every structure of the
stream is in the store afterwards or none is. Structures stream through in chunks, so
memory stays flat for any number of molecules. Concurrent writers are serialised by a
transaction-level advisory lock, so two processes ingesting overlapping sets never
deadlock, never duplicate and never lose a structure. Structures given with external labels
(:class:`~atomloop.store.external.LabelledRecord`) get their calculations in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice

from sqlalchemy import Engine

from atomloop.store.external import ExternalLevel, LabelledRecord, PySCFLevel, write_external_labels
from atomloop.store.molecules import MoleculeRecord

CHUNK_SIZE = 2000
_ADVISORY_LOCK_KEY = 7_310_001  # "atomloop ingest"

_STAGING_DDL = """
CREATE TEMP TABLE IF NOT EXISTS ingest_staging (
    ord bigint, numbers smallint[], positions double precision[][], natoms integer,
    charge integer, multiplicity integer, formula varchar(200), structure_hash varchar(64),
    composition_hash varchar(64), name text, smiles text, tags text[]
) ON COMMIT DROP
"""

_COPY = (
    "COPY ingest_staging (ord, numbers, positions, natoms, charge, multiplicity, formula, "
    "structure_hash, composition_hash, name, smiles, tags) FROM STDIN"
)

_INSERT_NEW = """
INSERT INTO molecules (numbers, positions, natoms, charge, multiplicity, formula,
                       structure_hash, composition_hash, name, smiles, source, tags)
SELECT numbers, positions, natoms, charge, multiplicity, formula,
       structure_hash, composition_hash, name, smiles, %(source)s,
       ARRAY(SELECT DISTINCT unnest(tags || %(tags)s::text[]) ORDER BY 1)
FROM (SELECT DISTINCT ON (structure_hash) * FROM ingest_staging ORDER BY structure_hash, ord) AS first_copies
ORDER BY ord
ON CONFLICT (structure_hash) DO NOTHING
"""

_TAG_EXISTING = """
UPDATE molecules AS m SET tags = ARRAY(SELECT DISTINCT unnest(m.tags || s.tags || %(tags)s::text[]) ORDER BY 1)
FROM ingest_staging AS s
WHERE m.structure_hash = s.structure_hash AND NOT m.tags @> (s.tags || %(tags)s::text[])
"""

_IDS = "SELECT s.ord, m.id FROM ingest_staging AS s JOIN molecules AS m USING (structure_hash) ORDER BY s.ord"


@dataclass
class WriteReport:
    """Counts of one bulk write; ``molecule_ids`` is aligned with the input stream."""

    added: int = 0
    present: int = 0
    labels_added: int = 0
    molecule_ids: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.added + self.present


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: str | None) -> str:
    return "\\N" if value is None else value.translate(_COPY_ESCAPES)


def _text_array(values: Sequence[str]) -> str:
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return _text("{" + ",".join(quoted) + "}")


def _copy_line(ordinal: int, record: MoleculeRecord) -> str:
    """One row in PostgreSQL's COPY text format (arrays as literals, floats as exact repr)."""
    numbers = "{" + ",".join(map(str, record.numbers.tolist())) + "}"
    positions = "{" + ",".join("{%r,%r,%r}" % tuple(row) for row in record.positions.tolist()) + "}"
    fields = (
        str(ordinal), numbers, positions, str(len(record.numbers)), str(record.charge), str(record.multiplicity),
        _text(record.formula), record.structure_hash, record.composition_hash, _text(record.name), _text(record.smiles),
        _text_array(record.tags),
    )
    return "\t".join(fields) + "\n"


Item = MoleculeRecord | LabelledRecord


def _record(item: Item) -> MoleculeRecord:
    return item.record if isinstance(item, LabelledRecord) else item


def _chunks(records: Iterable[Item], size: int) -> Iterator[Sequence[Item]]:
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _prefetched(chunks: Iterator[Sequence[Item]]) -> Iterator[Sequence[Item]]:
    """Compute the next chunk in a thread while the caller writes the current one (the
    database works in its own process, so the two overlap); errors surface in the caller."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-records") as pool:
        upcoming = pool.submit(next, chunks, None)
        while (chunk := upcoming.result()) is not None:
            upcoming = pool.submit(next, chunks, None)
            yield chunk


def write_molecules(
    engine: Engine,
    records: Iterable[Item],
    *,
    source: str,
    tags: Sequence[str] = (),
    chunk_size: int = CHUNK_SIZE,
    level: ExternalLevel | PySCFLevel | None = None,
) -> WriteReport:
    """Insert ``records`` not yet stored (by ``structure_hash``) in one transaction.

    Structures already present get ``tags`` (and each record's own tags) added. A
    :class:`LabelledRecord` also stores its label as a done calculation at ``level``. Errors raised while the stream is consumed (bad input) roll
    the whole transaction back.
    """
    report = WriteReport()
    tag_list = sorted(set(tags))
    with engine.begin() as connection:
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK_KEY,))
            cursor.execute(_STAGING_DDL)
            offset = 0
            for chunk in _prefetched(_chunks(records, chunk_size)):
                cursor.execute("TRUNCATE ingest_staging")
                with cursor.copy(_COPY) as copy:
                    copy.write("".join(_copy_line(ordinal, _record(item)) for ordinal, item in enumerate(chunk, offset)))
                cursor.execute(_INSERT_NEW, {"source": source, "tags": tag_list})
                added = cursor.rowcount
                cursor.execute(_TAG_EXISTING, {"tags": tag_list})
                cursor.execute(_IDS)
                ids = [row[1] for row in cursor.fetchall()]
                report.molecule_ids.extend(ids)
                labelled = [(i, item) for i, item in zip(ids, chunk, strict=True) if isinstance(item, LabelledRecord)]
                if labelled:
                    if level is None:
                        raise ValueError("labelled records need the level of their labels")
                    report.labels_added += write_external_labels(cursor, level, labelled)
                report.added += added
                report.present += len(chunk) - added
                offset += len(chunk)
    return report
