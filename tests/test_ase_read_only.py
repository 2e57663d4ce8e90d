"""Writing through ASE to the store's read-only views (migration 0008) fails with one sentence,
exit status 2 and no traceback, and writes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import ase.db
import pytest
from ase.build import molecule

from atomloop.db.url import ase_url
from atomloop.ingest import ingest_atoms

ASE = str(Path(sys.executable).with_name("ase"))
SENTENCE = (
    "the atomloop store is read-only through ASE; use atomloop ingest to add molecules "
    "and atomloop label to label them"
)


def _ase_db(url: str, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([ASE, "db", url, *arguments], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "arguments",
    [("id=1", "-k", "foo=1"), ("id=1", "--delete-keys", "name"), ("id=1", "--delete", "--yes"), ("--set-metadata", "{metadata}")],
    ids=["add-key", "delete-key", "delete-row", "set-metadata"],
)
def test_ase_db_writes_fail_with_one_sentence(database_url, engine, tmp_path, arguments):
    (water,) = ingest_atoms([molecule("H2O")], source="test", tags=["t"], engine=engine).molecule_ids
    assert water == 1
    metadata = tmp_path / "metadata.json"
    metadata.write_text(json.dumps({"title": "mine"}))
    url = ase_url(database_url)
    before = ase.db.connect(url)
    before_row, before_metadata = before.get(id=water), before.metadata

    result = _ase_db(url, *(a.format(metadata=metadata) for a in arguments))

    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("ase: error:")]
    assert errors == [f"ase: error: ReadOnlySqlTransaction: {SENTENCE}"]
    assert "rollback" not in result.stderr and "cannot delete from view" not in result.stderr
    db = ase.db.connect(url)
    after = db.get(id=water)
    assert after.key_value_pairs == before_row.key_value_pairs and "foo" not in after
    assert db.count() == 1 and db.metadata == before_metadata


def test_a_write_from_python_fails_with_the_sentence_and_adds_no_row(database_url, engine):
    ingest_atoms([molecule("H2O")], source="test", engine=engine)
    db = ase.db.connect(ase_url(database_url))
    with pytest.raises(Exception, match="^" + SENTENCE) as raised:
        db.write(molecule("NH3"), foo=1)
    assert type(raised.value).__name__ == "ReadOnlySqlTransaction"
    with pytest.raises(Exception, match="^" + SENTENCE):
        db.update(1, foo=1)
    assert db.count() == 1 and "foo" not in db.get(id=1)


def test_reads_still_work_from_the_command_line(database_url, engine):
    ingest_atoms([molecule("H2O"), molecule("NH3")], source="test", engine=engine)
    result = _ase_db(ase_url(database_url), "-c", "id,formula,split,energy")
    assert result.returncode == 0, result.stderr
    assert "Rows: 2" in result.stdout and "H2O" in result.stdout
