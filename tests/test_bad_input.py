"""Faults a new user runs into (issue 16): each is one ``error:`` line on stderr, no traceback,
and a known exit status (1: bad input or an unreachable store, 2: a bad option value)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from atomloop.cli import EXIT_ERROR, EXIT_USAGE

UNREACHABLE = "postgresql+psycopg://alice:{password}@127.0.0.1:1/atomloop"


def _subprocess(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    """``atomloop ARGS`` in its own interpreter, against ``database_url``."""
    env = {**os.environ, "ATOMLOOP_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-c", "from atomloop.cli import main; main()", *args],
        capture_output=True, text=True, env=env, timeout=300,
    )


def _one_error_line(stderr: str) -> str:
    """The single ``error:`` line that ``stderr`` must consist of."""
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def _xyz(path: Path, comment: str, *atoms: str) -> Path:
    path.write_text(f"{len(atoms)}\n{comment}\n" + "\n".join(atoms) + "\n")
    return path


def test_two_atoms_at_one_position_are_rejected(database_url, tmp_path, atomloop):
    source = _xyz(tmp_path / "twice.xyz", "", "O 0 0 0", "H 0 0 0.96", "H 0 0.93 -0.24", "H 0 0.01 0.96")
    status, _, stderr = atomloop("ingest", str(source))
    assert status == EXIT_ERROR
    assert _one_error_line(stderr) == (
        f"error: {source}:1: atoms 2 (H) and 4 (H) are 0.01 Å apart; "
        "atoms closer than 0.1 Å are one atom written twice"
    )


@pytest.mark.parametrize("coordinate", ["1e300", "nan", "-inf"])
def test_coordinates_far_away_or_not_finite_are_rejected(database_url, tmp_path, atomloop, coordinate):
    source = _xyz(tmp_path / "far.xyz", "", "H 0 0 0", f"H 0 0 {coordinate}")
    status, _, stderr = atomloop("ingest", str(source))
    assert status == EXIT_ERROR
    line = _one_error_line(stderr)
    assert line.startswith(f"error: {source}:1: atom 2 (H) is at ")
    assert line.endswith("coordinates must be finite and within ±10000 Å")


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        ("charge=0.5", "charge must be a whole number, got 0.5"),
        ("charge=abc", "charge must be a whole number, got 'abc'"),
        ("multiplicity=2.5", "multiplicity must be a whole number, got 2.5"),
    ],
)
def test_charge_and_multiplicity_must_be_whole_numbers(database_url, tmp_path, atomloop, comment, message):
    source = _xyz(tmp_path / "ion.xyz", comment, "Li 0 0 0")
    status, _, stderr = atomloop("ingest", str(source))
    assert status == EXIT_ERROR
    assert _one_error_line(stderr) == f"error: {source}:1: {message}"


def test_a_charge_written_as_a_whole_float_is_that_integer(database_url, engine, tmp_path, atomloop):
    from sqlalchemy import text

    source = _xyz(tmp_path / "cation.xyz", "charge=1.0", "Li 0 0 0")
    status, _, _ = atomloop("ingest", str(source))
    assert status == 0
    with engine.connect() as connection:
        assert connection.execute(text("SELECT charge, multiplicity FROM molecules")).one() == (1, 1)


def test_an_ase_database_input_is_never_written(database_url, tmp_path, atomloop):
    empty = tmp_path / "empty.db"
    empty.touch()
    status, _, stderr = atomloop("ingest", str(empty))
    assert status == EXIT_ERROR
    assert _one_error_line(stderr) == f"error: no molecules in {empty}: the file is empty"
    assert empty.stat().st_size == 0
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE measurements (x REAL)")
    connection.close()
    before = foreign.read_bytes()
    status, _, stderr = atomloop("ingest", str(foreign))
    assert status == EXIT_ERROR
    assert _one_error_line(stderr) == (
        f"error: {foreign}: not a readable ASE database: an SQLite file without ASE's tables"
    )
    assert foreign.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db", "foreign.db"]  # no lock or journal files


def test_a_real_ase_database_is_read_and_left_unchanged(database_url, tmp_path, atomloop):
    import ase.db
    from ase.build import molecule

    path = tmp_path / "water.db"
    with ase.db.connect(path) as database:
        database.write(molecule("H2O"), name="water")
    before = path.read_bytes()
    status, _, stderr = atomloop("ingest", str(path))
    assert (status, stderr) == (0, "")
    assert path.read_bytes() == before


@pytest.mark.parametrize(("content", "detail"), [("", ": the file is empty"), ("\n  \n\n", "")])
def test_an_xyz_without_molecules_is_an_error(database_url, tmp_path, atomloop, content, detail):
    source = tmp_path / "nothing.xyz"
    source.write_text(content)
    status, _, stderr = atomloop("ingest", str(source))
    assert status == EXIT_ERROR
    assert _one_error_line(stderr) == f"error: no molecules in {source}{detail}"


def test_a_huge_smiles_is_refused_before_embedding(database_url, tmp_path, atomloop):
    from atomloop.ingest.smiles import MAX_SMILES_ATOMS

    source = tmp_path / "polymer.smi"
    source.write_text("C" * 700 + " polyethylene\n")
    status, _, stderr = atomloop("ingest", str(source))
    assert status == EXIT_ERROR
    assert _one_error_line(stderr) == (
        f"error: {source}:1: SMILES '{'C' * 60}...' has 2102 atoms with its hydrogens; at most "
        f"{MAX_SMILES_ATOMS} are embedded in 3-D (give larger molecules as .xyz)"
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("binary.xyz", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "{path}: binary data, not a text file"),
        ("latin1.xyz", "1\nméthane, café\nH 0 0 0\n".encode("latin-1"),
         "{path}:2: not UTF-8 text (byte 0xe9); convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8"),
        ("latin1.smi", "CCO éthanol\n".encode("latin-1"),
         "{path}:1: not UTF-8 text (byte 0xe9); convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8"),
        ("broken.json", b"{not json", "{path}: not a readable ASE database: Expecting property name enclosed in "
         "double quotes: line 1 column 2 (char 1)"),
        ("list.json", b"[1, 2]", "{path}: not a readable ASE database: Does not resemble ASE JSON database"),
        ("row.json", b'{"ids": [1], "nextid": 2, "1": {"numbers": "x"}}',
         "{path}:id=1: malformed row: 'AtomsRow' object has no attribute 'positions'"),
    ],
)
def test_unreadable_files_give_one_line(database_url, tmp_path, atomloop, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    status, _, stderr = atomloop("ingest", str(path))
    assert status == EXIT_ERROR
    assert _one_error_line(stderr) == "error: " + message.format(path=path)


def test_a_directory_is_not_a_source(database_url, tmp_path, atomloop):
    folder = tmp_path / "molecules.xyz"
    folder.mkdir()
    status, _, stderr = atomloop("ingest", str(folder))
    assert status == EXIT_ERROR
    assert _one_error_line(stderr) == f"error: {folder}: a directory; give the molecule files inside it"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "ase:g2", "--conformers", "-1"],
         "Invalid value for '--conformers': Input should be greater than or equal to 1 (see 'atomloop ingest --help')"),
        (["label", "--limit", "-1"],
         "Invalid value for '--limit': Input should be greater than or equal to 1 (see 'atomloop label --help')"),
        (["loop", "--initial", "1"],
         "Invalid value for '--initial': Input should be greater than or equal to 2 (see 'atomloop loop --help')"),
        (["ingest", "ase:g2", "--conformer", "2"],
         "No such option: --conformer (Possible options: --conformers) (see 'atomloop ingest --help')"),
    ],
)
def test_bad_option_values_are_one_line_and_exit_2(atomloop_home, atomloop, args, message):
    status, _, stderr = atomloop(*args)
    assert status == EXIT_USAGE
    assert _one_error_line(stderr) == f"error: {message}"


@pytest.mark.parametrize("command", [["db", "upgrade"], ["db", "browse"], ["export", "--to", "{tmp}/out.db"],
                                     ["export", "--to", "{tmp}/out.extxyz"]])
def test_an_unreachable_store_is_one_line(atomloop_home, tmp_path, command):
    args = [part.format(tmp=tmp_path) for part in command]
    result = _subprocess(*args, database_url=UNREACHABLE.format(password="s3cret-pw"))
    assert result.returncode == EXIT_ERROR
    assert _one_error_line(result.stderr).startswith(
        "error: cannot reach the database postgresql+psycopg://alice:***@127.0.0.1:1/atomloop: "
    )
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert not list(tmp_path.glob("out.*"))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://alice@127.0.0.1:1/atomloop?password=s3cret-pw",
         "error: cannot reach the database postgresql+psycopg://alice@127.0.0.1:1/atomloop?password=***: "),
        ("postgresql+psycopg://alice@127.0.0.1:1/atomloop?sslmode=disable&password=s3cret-pw&connect_timeout=3",
         "error: cannot reach the database postgresql+psycopg://alice@127.0.0.1:1/atomloop?sslmode=disable&"
         "password=***&connect_timeout=3: "),
        ("postgresql+psycopg://alice:p@s3cret-pw@127.0.0.1:1/atomloop",
         "error: ATOMLOOP_DATABASE_URL postgresql+psycopg://alice:***@127.0.0.1:1/atomloop: the user or password "
         "contains an un-encoded '@'; write it as %40"),
    ],
)
def test_every_form_of_password_is_masked(atomloop_home, url, shown):
    result = _subprocess("db", "upgrade", database_url=url)
    assert result.returncode == EXIT_ERROR
    assert _one_error_line(result.stderr).startswith(shown)
    assert "s3cret-pw" not in result.stdout + result.stderr
    status = _subprocess("db", "status", database_url=url)
    assert "s3cret-pw" not in status.stdout + status.stderr


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://alice:p@ss@host/db: refused", "postgresql://alice:***@host/db: refused"),
        ("postgresql://alice:pa:ss@host/db", "postgresql://alice:***@host/db"),
        ("postgresql://alice@host:5432/db", "postgresql://alice@host:5432/db"),
        ("host=h user=alice password='a b' dbname=x", "host=h user=alice password=*** dbname=x"),
        ("postgresql://h/db?password=s3cret: refused", "postgresql://h/db?password=***: refused"),
    ],
)
def test_mask_password(text, masked):
    from atomloop.db.url import mask_password

    assert mask_password(text) == masked


def test_db_status_names_a_postmaster_pid_left_behind(atomloop_home, atomloop):
    from atomloop.db.connect import embedded_server

    server = embedded_server()
    try:
        server.data_dir.mkdir(parents=True)
        (server.data_dir / "PG_VERSION").write_text("15\n")
        pid_file = server.data_dir / "postmaster.pid"
        pid_file.write_text("999999999\n")  # a server killed without cleaning up: no such process
        status, stdout, _ = atomloop("db", "status")
    finally:
        server.destroy()
    assert status == 0
    assert stdout.strip().endswith(
        f": stopped; {pid_file} remains: the server crashed or was killed ('atomloop db start' recovers)"
    )


def test_a_forged_checkpoint_is_one_clear_error(tmp_path):
    import torch

    from atomloop.errors import AtomloopError
    from atomloop.models.checkpoint import load_model, load_payload

    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(bytes(range(256)) * 16)
    with pytest.raises(AtomloopError) as error:
        load_payload(garbage)
    assert str(error.value) == (
        f"{garbage}: not an atomloop model file (torch cannot load it: UnpicklingError); remove it and train again"
    )
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(AtomloopError) as error:
        load_model(foreign)
    assert str(error.value) == f"{foreign}: not an atomloop model: KeyError: 'spec'"
    listed = tmp_path / "list.pt"
    torch.save([1, 2], listed)
    with pytest.raises(AtomloopError, match="holds a list, not a mapping"):
        load_model(listed)


def test_an_empty_home_variable_is_the_default_home_not_the_current_directory(monkeypatch):
    from atomloop.config import _default_home, get_settings

    monkeypatch.setenv("ATOMLOOP_HOME", "")
    monkeypatch.setenv("ATOMLOOP_DATABASE_URL", "")
    try:
        settings = get_settings(reload=True)
        assert settings.home == _default_home() and settings.database_url is None
    finally:
        monkeypatch.undo()
        get_settings(reload=True)


def test_serve_refuses_a_port_another_server_holds(database_url, atomloop):
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        status, _, stderr = atomloop("serve", "--port", str(port))
    assert status == EXIT_ERROR
    assert _one_error_line(stderr) == (f"error: port {port} on 127.0.0.1 is in use (another Prefect server or program); "
                                       "stop it or choose another with --port")


def test_a_lost_connection_is_recognised_whichever_layer_raises_it():
    """Retried by the loop's tasks and printed in one line by the command line: psycopg's own
    error too (a label chunk raised it unwrapped when the database restarted)."""
    import psycopg
    from sqlalchemy.exc import OperationalError

    from atomloop.db.errors import DatabaseUnavailableError, is_connection_error

    assert is_connection_error(psycopg.OperationalError("connection refused"))
    assert is_connection_error(OperationalError("SELECT 1", {}, Exception("gone")))
    assert is_connection_error(DatabaseUnavailableError("cannot reach"))
    assert not is_connection_error(ValueError("bad input"))
