"""``atomloop export`` (issue 27): a file it cannot write, or nothing to write, is one line
naming the cause, exit status 1, and no file (nor a ``.partial`` one) is left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_output import one_error_line
from mounts import tmpfs

from atomloop.cli import EXIT_ERROR


@pytest.fixture
def store(database_url, tmp_path, atomloop):
    """The test's store with two of ASE's G2 molecules, labelled (an extxyz file with energies)."""
    import ase.io
    from ase.build import molecule
    from ase.calculators.singlepoint import SinglePointCalculator

    frames = []
    for name, energy in (("H2O", -2080.0), ("CH4", -1100.0)):
        atoms = molecule(name)
        atoms.calc = SinglePointCalculator(atoms, energy=energy)
        frames.append(atoms)
    path = tmp_path / "labelled.extxyz"
    ase.io.write(path, frames, format="extxyz")
    status, _, stderr = atomloop("ingest", str(path), "--labels", "--label-program", "orca", "--label-method",
                                 "b3lyp", "--label-basis", "def2-SVP", "--tag", "small")
    assert status == 0, stderr
    return database_url


def _refused(atomloop, target: Path, *options: str) -> str:
    status, stdout, stderr = atomloop("export", "--to", str(target), *options)
    assert (status, stdout) == (EXIT_ERROR, "")
    assert not target.exists() and not target.with_name(target.name + ".partial").exists()
    return one_error_line(stderr)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("/nonexistent/x.db", "cannot write /nonexistent/x.db: no folder /nonexistent"),
        ("/nonexistent/x.extxyz", "cannot write /nonexistent/x.extxyz: no folder /nonexistent"),
        ("/proc/x.extxyz", "cannot write /proc/x.extxyz: cannot create a file in /proc (No such file or directory)"),
        ("/proc/x.db", "cannot write /proc/x.db: cannot create a file in /proc (No such file or directory)"),
        ("/sys/x.db", "cannot write /sys/x.db: cannot create a file in /sys (Permission denied)"),
    ],
)
def test_a_place_that_cannot_be_written_is_one_line(store, atomloop, target, message):
    assert _refused(atomloop, Path(target)) == f"error: {message}"


def test_a_file_in_place_of_the_folder_is_one_line(store, tmp_path, atomloop):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("")
    assert _refused(atomloop, blocker / "x.db") == f"error: cannot write {blocker}/x.db: {blocker} is not a folder"


@pytest.mark.parametrize("name", ["x.db", "x.extxyz"])
def test_a_read_only_folder_is_one_line(store, tmp_path, atomloop, name):
    with tmpfs(tmp_path / "read-only", "ro") as folder:
        assert _refused(atomloop, folder / name) == (
            f"error: cannot write {folder / name}: cannot create a file in {folder} (Read-only file system)")


@pytest.mark.parametrize("name", ["x.db", "x.extxyz"])
def test_an_unknown_tag_writes_nothing(store, tmp_path, atomloop, name):
    assert _refused(atomloop, tmp_path / name, "--tag", "nosuchtag") == "error: no molecules are tagged 'nosuchtag'"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labelled.extxyz"]


def test_an_empty_store_writes_no_database(database_url, tmp_path, atomloop):
    assert _refused(atomloop, tmp_path / "x.db") == "error: the store holds no molecules; add some with atomloop ingest"


def test_a_write_that_fails_half_way_leaves_no_file(store, tmp_path, atomloop, monkeypatch):
    import errno

    import ase.io

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(ase.io, "write", full_disk)
    target = tmp_path / "x.extxyz"
    assert _refused(atomloop, target) == f"error: cannot write {target}: No space left on device"


@pytest.mark.parametrize("name", ["x.db", "x.extxyz"])
def test_the_tagged_molecules_are_still_written(store, tmp_path, atomloop, name):
    status, stdout, stderr = atomloop("export", "--to", str(tmp_path / name), "--tag", "small")
    assert (status, stderr) == (0, "")
    assert stdout.startswith(f"wrote 2 molecules to {tmp_path / name} (")
    assert not (tmp_path / (name + ".partial")).exists()
