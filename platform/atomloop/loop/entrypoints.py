"""Where the Prefect flows of ``flows/`` live, and loading them by entrypoint.

The flows are files of the source tree (``flows/<name>.py:<function>``), as Prefect
deployments name them; ``ATOMLOOP_FLOWS`` overrides the folder.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from atomloop.errors import AtomloopError


def flows_dir() -> Path:
    """The folder with the flow files."""
    override = os.environ.get("ATOMLOOP_FLOWS")
    path = Path(override) if override else Path(__file__).resolve().parents[3] / "flows"
    if not (path / "active_learning.py").exists():
        raise AtomloopError(f"no Prefect flows at {path}; set ATOMLOOP_FLOWS to the repository's flows/ folder")
    return path


@cache
def load_flow(entrypoint: str):
    """The flow object of ``"file.py:function"`` inside :func:`flows_dir`.

    Loaded once per process: Prefect imports the file as a module named after it, which
    process-pool workers can import too; a second load would get an unimportable name.
    """
    from prefect.flows import load_flow_from_entrypoint

    file_name, _, function = entrypoint.partition(":")
    return load_flow_from_entrypoint(f"{flows_dir() / file_name}:{function}")
