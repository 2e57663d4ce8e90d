"""``atomloop loop``: run (or resume) the active-learning flow from the command line."""

from __future__ import annotations

import typer

from atomloop.loop.config import STRATEGIES


def loop(
    pool: str = typer.Option(None, help="Tag of the pool molecules (default: every molecule)."),
    initial: int = typer.Option(20, help="Initial training-set size."),
    test_size: int = typer.Option(10, help="In-distribution test molecules."),
    ood_size: int = typer.Option(10, help="Out-of-distribution test molecules (the largest)."),
    k: int = typer.Option(10, help="Molecules selected per round."),
    rounds: int = typer.Option(3, help="Selection rounds after the initial training."),
    method: str = typer.Option("hf", help="PySCF method: hf or a functional (b3lyp, pbe0, ...)."),
    basis: str = typer.Option("sto-3g", help="PySCF basis set."),
    schemes: list[str] = typer.Option(
        ["mo-pm-iao"], "--schemes", help="Partition schemes (repeatable); the first is trained on."
    ),
    strategy: str = typer.Option("adversarial", help=f"Selection strategy: {'|'.join(STRATEGIES)}."),
    level: str = typer.Option("molecule", help="Adversarial validation on molecules or atoms."),
    arch: list[str] = typer.Option(["schnet", "nequip"], "--arch", help="Architectures to train (repeatable)."),
    target: str = typer.Option("atomic", help="Train on 'total' or 'atomic' energies."),
    epochs: int = typer.Option(60, help="Training epochs per round."),
    tune_every: int = typer.Option(0, help="Tune with Optuna every n-th round (0: never)."),
    tune_trials: int = typer.Option(4, help="Optuna trials per tuning."),
    max_labels: int = typer.Option(None, help="Stop after this many training labels."),
    max_wall_time: float = typer.Option(None, help="Stop after this many seconds."),
    stop_on_auc: bool = typer.Option(
        True, help="Stop when adversarial validation detects no shift and its AUC interval lies below 0.5 + margin."
    ),
    auc_stop_margin: float = typer.Option(0.05, help="AUC above 0.5 that still counts as the same distribution."),
    seed: int = typer.Option(0, help="Seed of splits, selection and training."),
    name: str = typer.Option(None, help="Run name (default: a hash of the inputs, so a rerun resumes)."),
    workers: int = typer.Option(2, help="Concurrent labelling tasks."),
    task_runner: str = typer.Option("process", help="Labelling fan-out: process, thread or dask."),
    device: str = typer.Option("auto", help="Training device: auto, cpu or cuda."),
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
        flow(
            pool=pool, initial=initial, test_size=test_size, ood_size=ood_size, k=k, rounds=rounds,
            method=method, basis=basis, schemes=tuple(schemes), strategy=strategy, level=level,
            architectures=tuple(arch), target=target, epochs=epochs, tune_every=tune_every,
            tune_trials=tune_trials, max_labels=max_labels, max_wall_time=max_wall_time,
            stop_on_auc=stop_on_auc, auc_stop_margin=auc_stop_margin, seed=seed, name=name, device=device,
        )


def register(app: typer.Typer) -> None:
    app.command()(loop)
