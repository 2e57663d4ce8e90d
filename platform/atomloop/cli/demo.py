"""``atomloop demo``: the small end-to-end study that ``make demo`` runs."""

from __future__ import annotations

import typer

from atomloop.cli.choices import LOOP_TASK_RUNNER


def demo(
    workers: int = typer.Option(2, help="Concurrent labelling tasks."),
    task_runner: str = LOOP_TASK_RUNNER.option("process", "--task-runner", help="Labelling fan-out."),
) -> None:
    """Ingest molecules and run 3 rounds of active learning (HF/STO-3G, SchNet + NequIP)."""
    from atomloop.demo import run_demo

    run_demo(task_runner=task_runner, workers=workers)


def register(app: typer.Typer) -> None:
    app.command()(demo)
