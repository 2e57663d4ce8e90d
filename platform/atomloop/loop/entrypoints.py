"""Loading atomloop's Prefect flows by entrypoint.

Deployments name a flow by its file in the repository (``flows/<name>.py:<function>``); the
files ship in the package as ``atomloop.flows``, so an installed wheel has them too, and each
is imported here by name. Prefect's own state (its home: profiles, the temporary server's
database) lives in ``$ATOMLOOP_HOME/prefect`` unless ``PREFECT_HOME`` is set: two homes share
nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from atomloop.config import get_settings
from atomloop.errors import InputError

ENTRYPOINTS = ("active_learning.py:active_learning", "evaluate.py:evaluate", "label.py:label", "study.py:transferability")


def load_flow(entrypoint: str):
    """The flow object of ``"[flows/]file.py:function"`` (one of :data:`ENTRYPOINTS`), imported
    from ``atomloop.flows``; another entrypoint is an :class:`~atomloop.errors.InputError`.

    Imported as a module of the package, so process-pool and Dask workers import the same name;
    the flows are imported only here, after ``PREFECT_HOME`` is set.
    """
    prefect_home = Path(os.environ.setdefault("PREFECT_HOME", str(get_settings().home / "prefect")))  # before Prefect reads it
    prefect_home.mkdir(parents=True, exist_ok=True)
    match entrypoint.removeprefix("flows/"):
        case "active_learning.py:active_learning":
            from atomloop.flows.active_learning import active_learning as flow
        case "evaluate.py:evaluate":
            from atomloop.flows.evaluate import evaluate as flow
        case "label.py:label":
            from atomloop.flows.label import label as flow
        case "study.py:transferability":
            from atomloop.flows.study import transferability as flow
        case _:
            raise InputError(f"no flow {entrypoint!r}; atomloop's flows: {', '.join(ENTRYPOINTS)}")
    return flow
