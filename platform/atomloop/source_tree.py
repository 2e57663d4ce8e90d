"""Folders of the repository that the library reads at run time (migrations, flows)."""

from __future__ import annotations

import os
from pathlib import Path

from atomloop.errors import AtomloopError

REPOSITORY = Path(__file__).resolve().parents[2]


def source_folder(name: str, *, override_variable: str, marker: str) -> Path:
    """``$override_variable`` or ``<repository>/<name>``, checked to contain ``marker``."""
    override = os.environ.get(override_variable)
    path = Path(override) if override else REPOSITORY / name
    if not (path / marker).exists():
        raise AtomloopError(f"no {name}/ folder with {marker} at {path}; set {override_variable}")
    return path
