"""Frame-by-frame reading of xyz/extxyz files that names the line of any error."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import ase.io
from ase import Atoms
from ase.data import atomic_numbers

from atomloop.errors import InputError


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
    with open(path) as handle:
        line_number = 0
        while True:
            header = handle.readline()
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
            body = [handle.readline() for _ in range(natoms + 1)]
            line_number += natoms + 1
            if not body[-1]:
                raise InputError(f"{path}:{start}: frame declares {natoms} atoms but the file ends early")
            _check_symbols(body[1:], start + 2, path)
            try:
                atoms = ase.io.read(io.StringIO(header + "".join(body)), format="extxyz")
            except Exception as error:  # ASE raises many types for malformed text
                raise InputError(f"{path}:{start}: malformed frame: {error}") from None
            yield atoms, f"{path}:{start}"
