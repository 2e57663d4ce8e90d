"""``atomloop loop``: run (or resume) the active-learning flow from the command line.

Its options are the fields of :class:`atomloop.loop.config.LoopConfig`, plus how to fan out;
``--config FILE`` reads the fields from a YAML file (the options given override it) and
``--dump-config`` prints the effective configuration as such a file (:mod:`atomloop.cli.config_file`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from atomloop.cli import choices
from atomloop.cli.config_file import effective_config
from atomloop.cli.model_options import with_model_options
from atomloop.loop.config import LoopConfig

CHOICES = {
    "strategy": choices.STRATEGY, "level": choices.LEVEL, "architectures": choices.ARCHITECTURE,
    "target": choices.TARGET, "validation": choices.VALIDATION, "schemes": choices.SCHEME,
    "device": choices.TRAINING_DEVICE,
}  # the fields of LoopConfig that take one of a few words


def loop(
    config: LoopConfig,
    ctx: typer.Context,
    workers: int = typer.Option(2, help="Concurrent labelling tasks."),
    task_runner: str = choices.LOOP_TASK_RUNNER.option("process", "--task-runner", help="Labelling fan-out."),
    config_file: Path | None = typer.Option(
        None, "--config", metavar="<file>",
        help="Read the run's fields from this YAML file (keys: the options' names with _, as --dump-config "
             "writes them); options given on the command line override the file.",
    ),
    dump_config: bool = typer.Option(
        False, "--dump-config",
        help="Print the effective configuration (file, options, defaults) as YAML that --config reads, and exit.",
    ),
) -> None:
    """Run the active-learning loop (flows/active_learning.py:active_learning); rerun to resume.

    The options are LoopConfig's fields; a run can live in a YAML file of them:
      atomloop loop --k 20 --dump-config > run.yaml    # every field, as YAML
      atomloop loop --config run.yaml --rounds 6       # the file, rounds changed
    An option given on the command line wins over the file, one left out keeps the
    file's value, and fields missing from the file take their defaults.
    """
    config = effective_config(ctx, config, config_file, CHOICES, ("workers", "task_runner"))
    if dump_config:
        typer.echo(config.to_yaml(), nl=False)
        return
    run_flow(config, workers=workers, task_runner=task_runner)


def run_flow(config: LoopConfig, workers: int, task_runner: str) -> None:
    """Run the flow on ``config``, labelling with ``workers`` tasks of ``task_runner``."""
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
