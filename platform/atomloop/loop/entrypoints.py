"""Where the Prefect flows of ``flows/`` live, and loading them by entrypoint.

The flows are files of the source tree (``flows/<name>.py:<function>``), as Prefect
deployments name them; ``ATOMLOOP_FLOWS`` overrides the folder.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from atomloop.source_tree import source_folder


def flows_dir() -> Path:
    """The folder with the flow files: ``ATOMLOOP_FLOWS`` or ``flows/`` of the source tree."""
    return source_folder("flows", override_variable="ATOMLOOP_FLOWS", marker="active_learning.py")


@cache
def load_flow(entrypoint: str):
    """The flow object of ``"file.py:function"`` inside :func:`flows_dir`.

    Loaded once per process: Prefect imports the file as a module named after it, which
    process-pool workers can import too; a second load would get an unimportable name.
    """
    from prefect.flows import load_flow_from_entrypoint

    file_name, _, function = entrypoint.partition(":")
    return load_flow_from_entrypoint(f"{flows_dir() / file_name}:{function}")
