"""Frame-by-frame reading of xyz/extxyz files that names the line of any error."""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterator
from contextlib import closing
from itertools import islice
from pathlib import Path

import ase.io
from ase import Atoms
from ase.data import atomic_numbers

from atomloop.errors import InputError

_SNIFFED_BYTES = 8000  # a NUL byte among the first this many makes a file binary (as git decides)
_ENERGY_COLUMN = re.compile(r"energies|atomic_energies_.+_hartree")  # per-atom energies (see atomloop.ingest.labels)
_COLUMN_TYPES = {"L": "booleans", "S": "text"}


def text_lines(path: Path) -> Iterator[str]:
    """The lines of the UTF-8 text file ``path`` (gzip-compressed when it ends in ``.gz``),
    each ending in ``\\n`` (but perhaps the last).

    Raises ``InputError`` for a binary file, or naming the first line that is not UTF-8.
    """
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as handle:
        if b"\0" in handle.read(_SNIFFED_BYTES):
            raise InputError(f"{path}: binary data, not a text file")
        handle.seek(0)
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise InputError(
                    f"{path}:{number}: not UTF-8 text (byte {raw[error.start]:#04x}); "
                    "convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8"
                ) from None
            yield line[:-2] + "\n" if line.endswith("\r\n") else line


def _check_symbols(lines: list[str], first_line: int, path: Path) -> None:
    for offset, line in enumerate(lines):
        fields = line.split()
        if not fields:
            raise InputError(f"{path}:{first_line + offset}: empty atom line")
        symbol = fields[0]
        if symbol not in atomic_numbers and not symbol.isdigit():
            raise InputError(f"{path}:{first_line + offset}: unknown element {symbol!r}")


def _check_energy_columns(comment: str, where: str) -> None:
    """Per-atom energy columns of an extxyz comment line's ``Properties`` must be numbers (R or
    I): ASE reads a logical (L) column as 1.0 and 0.0."""
    match = re.search(r"\bProperties=(\S+)", comment, re.IGNORECASE)
    fields = match.group(1).strip("\"'").split(":") if match else []
    for name, kind in zip(fields[::3], fields[1::3], strict=False):
        if _ENERGY_COLUMN.fullmatch(name) and kind.upper() in _COLUMN_TYPES:
            raise InputError(f"{where}: column {name} holds {_COLUMN_TYPES[kind.upper()]} (type {kind}), not numbers")


def read_xyz_frames(path: Path) -> Iterator[tuple[Atoms, str]]:
    """Yield ``(atoms, "path:line")`` per frame of an xyz or extxyz file (positions in Å).

    Raises ``InputError`` naming the file and line of a malformed frame.
    """
    with closing(text_lines(path)) as lines:
        line_number = 0
        while True:
            header = next(lines, "")
            line_number += 1
            if not header:
                return
            if not header.strip():
                continue
            start = line_number
            try:
                natoms = int(header.split()[0])
            except ValueError:
                raise InputError(f"{path}:{start}: expected the number of atoms, got {header.strip()!r}") from None
            if natoms <= 0:
                raise InputError(f"{path}:{start}: a frame needs at least one atom, got {natoms}")
            body = list(islice(lines, natoms + 1))
            line_number += natoms + 1
            if len(body) < natoms + 1:
                raise InputError(f"{path}:{start}: frame declares {natoms} atoms but the file ends early")
            _check_symbols(body[1:], start + 2, path)
            _check_energy_columns(body[0], f"{path}:{start}")
            try:
                atoms = ase.io.read(io.StringIO(header + "".join(body)), format="extxyz")
            except Exception as error:  # ASE raises many types for malformed text
                raise InputError(f"{path}:{start}: malformed frame: {error}") from None
            yield atoms, f"{path}:{start}"
