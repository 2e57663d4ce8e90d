"""Loading atomloop's Prefect flows by entrypoint.

Deployments name a flow by its file in the repository (``flows/<name>.py:<function>``); the
files ship in the package as ``atomloop.flows``, so an installed wheel has them too.
"""

from __future__ import annotations

import importlib


def load_flow(entrypoint: str):
    """The flow object of ``"[flows/]file.py:function"``, imported from ``atomloop.flows``.

    Imported as a module of the package, so process-pool and Dask workers import the same name.
    """
    file_name, _, function = entrypoint.removeprefix("flows/").partition(":")
    module = importlib.import_module(f"atomloop.flows.{file_name.removesuffix('.py')}")
    return getattr(module, function)
