"""Frame-by-frame reading of xyz/extxyz files that names the line of any error."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from contextlib import closing
from itertools import islice
from pathlib import Path

import ase.io
from ase import Atoms
from ase.data import atomic_numbers

from atomloop.errors import InputError

_SNIFFED_BYTES = 8000  # a NUL byte among the first this many makes a file binary (as git decides)


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
            try:
                atoms = ase.io.read(io.StringIO(header + "".join(body)), format="extxyz")
            except Exception as error:  # ASE raises many types for malformed text
                raise InputError(f"{path}:{start}: malformed frame: {error}") from None
            yield atoms, f"{path}:{start}"
