"""Loading atomloop's Prefect flows by entrypoint.

Deployments name a flow by its file in the repository (``flows/<name>.py:<function>``); the
files ship in the package as ``atomloop.flows``, so an installed wheel has them too.
Prefect's own state (its home: profiles, the temporary server's database) lives in
``$ATOMLOOP_HOME/prefect`` unless ``PREFECT_HOME`` is set: two homes share nothing.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from atomloop.config import get_settings


def load_flow(entrypoint: str):
    """The flow object of ``"[flows/]file.py:function"``, imported from ``atomloop.flows``.

    Imported as a module of the package, so process-pool and Dask workers import the same name.
    """
    prefect_home = Path(os.environ.setdefault("PREFECT_HOME", str(get_settings().home / "prefect")))  # before Prefect reads it
    prefect_home.mkdir(parents=True, exist_ok=True)
    file_name, _, function = entrypoint.removeprefix("flows/").partition(":")
    module = importlib.import_module(f"atomloop.flows.{file_name.removesuffix('.py')}")
    return getattr(module, function)
