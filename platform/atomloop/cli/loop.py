"""``atomloop loop``: run (or resume) the active-learning flow from the command line.

Its options are the fields of :class:`atomloop.loop.config.LoopConfig`, plus how to fan out.
"""

from __future__ import annotations

import typer

from atomloop.cli import choices
from atomloop.cli.model_options import with_model_options
from atomloop.loop.config import LoopConfig

CHOICES = {
    "strategy": choices.STRATEGY, "level": choices.LEVEL, "architectures": choices.ARCHITECTURE,
    "target": choices.TARGET, "validation": choices.VALIDATION, "schemes": choices.SCHEME,
    "device": choices.TRAINING_DEVICE,
}  # the fields of LoopConfig that take one of a few words


def loop(
    config: LoopConfig,
    workers: int = typer.Option(2, help="Concurrent labelling tasks."),
    task_runner: str = choices.LOOP_TASK_RUNNER.option("process", "--task-runner", help="Labelling fan-out."),
) -> None:
    """Run the active-learning loop (flows/active_learning.py:active_learning); rerun to resume."""
    from atomloop.db.engine import get_engine
    from atomloop.loop.entrypoints import load_flow
    from atomloop.loop.prefect_api import shared_prefect_api
    from atomloop.loop.tasks import make_task_runner

    get_engine()  # fail fast, with a clear message, when the store is unreachable
    flow = load_flow("active_learning.py:active_learning").with_options(
        task_runner=make_task_runner(task_runner, workers)
    )
    with shared_prefect_api():
        flow(config=config)


def register(app: typer.Typer) -> None:
    app.command(name="loop")(with_model_options(LoopConfig, loop, CHOICES))
