"""``atomloop train``, ``atomloop evaluate``, ``atomloop tune``: models over the store."""

from __future__ import annotations

import json
from typing import Any

import typer

from atomloop.cli.choices import (
    ARCHITECTURE,
    PREDICTION_DEVICE,
    TARGET,
    TRAINING_DEVICE,
    VALIDATION,
    naming,
    require_model,
)

_ARCH_HELP = "Architecture."
_TARGET_HELP = "total (molecular energies) or atomic (per-atom energies of --scheme, plus the total)."
_ROUND_HELP = ("Index of the round the model belongs to: of --run, where it trains on that round's training set "
               "(the run's molecules selected up to that round, labelled) and is tested on the run's test and OOD "
               "molecules; else of the rounds without a run (as 'atomloop select' makes them).")
_RUN_HELP = "Name of the active-learning run whose --round is meant."


def _parse_hyperparameters(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; values parsed as JSON where possible (numbers), else strings."""
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expects KEY=VALUE, got {pair!r}", param_hint="'--hp'")
        try:
            parsed[key] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key] = value
    return parsed


def _given(**options: Any) -> dict[str, Any]:
    """The options the user set (the rest keep :class:`TrainingConfig`'s defaults)."""
    return {key: value for key, value in options.items() if value is not None}


def _tagged_ids(tag: str | None) -> list[int] | None:
    if tag is None:
        return None
    from atomloop.db import session_scope
    from atomloop.errors import InputError
    from atomloop.store.molecules import tagged_ids

    with session_scope() as session:
        ids = tagged_ids(session, tag)
    if not ids:
        raise InputError(f"no molecules are tagged {tag!r}")
    return ids


def _round_id(run: str | None, round_index: int | None) -> int | None:
    """``rounds.id`` of ``--run``'s (else the run-less) round ``--round``; a usage error when
    there is none."""
    if round_index is None:
        if run is not None:
            raise typer.BadParameter("needs --round INDEX", param_hint="'--run'")
        return None
    from atomloop.db import session_scope
    from atomloop.store.runs import run_named
    from atomloop.store.selections import round_id_of

    with session_scope() as session:
        if run is not None:
            with naming("'--run'"):
                run_named(session, run)
        with naming("'--round'"):
            return round_id_of(session, run, round_index)


def _summary(metrics: dict[str, Any]) -> str:
    lines = []
    for split in ("train", "valid", "test", "ood_test"):
        energy = metrics.get(split, {}).get("energy")
        if energy:
            lines.append(
                f"  {split:9s} n={energy['n']:<5d} MAE {energy['mae_kcal_mol']:.3f} kcal/mol  RMSE "
                f"{energy['rmse_kcal_mol']:.3f} kcal/mol  MAE {energy['mae_mev_atom']:.2f} meV/atom"
            )
        for element, atomic in metrics.get(split, {}).get("atomic", {}).items():
            lines.append(f"  {'':9s} {element:2s} atomic MAE {atomic['mae_kcal_mol']:.3f} kcal/mol (n={atomic['n']})")
        unseen = metrics.get(split, {}).get("unseen_elements")
        if unseen:
            lines.append(f"  {'':9s} {metrics[split]['unseen_element_molecules']} molecules hold elements absent from "
                         f"the training set ({', '.join(unseen)}): their errors are meaningless")
    return "\n".join(lines)


def train(
    arch: str = ARCHITECTURE.option(..., "--arch", help=_ARCH_HELP),
    target: str = TARGET.option("total", "--target", help=_TARGET_HELP),
    scheme: str | None = typer.Option(None, "--scheme", help="Partition scheme of the atomic energies (e.g. mo-pm-iao)."),
    settings_hash: str | None = typer.Option(None, "--settings-hash", help="Labels: calculations at this settings hash."),
    method: str | None = typer.Option(None, "--method", help="Labels: calculations of this method (if unambiguous)."),
    basis: str | None = typer.Option(None, "--basis", help="Labels: calculations in this basis (if unambiguous)."),
    atomization: bool = typer.Option(False, "--atomization", help="Learn atomization-style energies (E_A minus free atom)."),
    round_index: int | None = typer.Option(None, "--round", help=_ROUND_HELP),
    run: str | None = typer.Option(None, "--run", help=_RUN_HELP),
    epochs: int | None = typer.Option(None, "--epochs", help="Maximum epochs; early stopping may end sooner [200]."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Molecules per batch [8]."),
    learning_rate: float | None = typer.Option(None, "--learning-rate", help="Initial Adam learning rate [5e-3]."),
    atomic_weight: float | None = typer.Option(
        None, "--atomic-weight", help="Weight of the atomic-energy term against the total's, each normalised by its "
        "label spread (atomic target) [1.0].",
    ),
    validation: str | None = VALIDATION.option(
        None, "--validation", help="auto (hold out max(10%, 50) molecules where 100 remain for training, else a k-fold "
        "estimate of the epochs), holdout or k-fold [auto].",
    ),
    folds: int | None = typer.Option(None, "--folds", help="Folds of a k-fold validation [5]."),
    hp: list[str] = typer.Option([], "--hp", help="Model hyper-parameter KEY=VALUE (repeatable), e.g. --hp num_layers=3."),
    test_tag: str | None = typer.Option(None, "--test-tag", help="Molecules with this tag form the test set."),
    ood_tag: str | None = typer.Option(None, "--ood-tag", help="Molecules with this tag form the out-of-distribution test set."),
    device: str = TRAINING_DEVICE.option("auto", "--device", help="auto: CUDA when available."),
) -> None:
    """Train a model on the labelled molecules of the store (with --run and --round: on that
    round's training set) and register it."""
    hyperparameters = _parse_hyperparameters(hp)
    round_id = _round_id(run, round_index)
    test_ids, ood_ids = _tagged_ids(test_tag), _tagged_ids(ood_tag)
    from atomloop.recipes.train import label_source, train_and_register

    labels = label_source(target=target, scheme=scheme, settings_hash=settings_hash, method=method, basis=basis,
                          atomization=atomization)
    model_id = train_and_register(
        arch=arch, target=target, labels=labels, test_ids=test_ids, ood_ids=ood_ids, round_id=round_id,
        hyperparameters=hyperparameters,
        training=_given(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, atomic_weight=atomic_weight,
                        validation=validation, folds=folds),
        device=device,
    )
    _report(model_id)


def _report(model_id: int) -> None:
    from atomloop.db import session_scope
    from atomloop.store.registry import model_row

    with session_scope() as session:
        row = model_row(session, model_id)
        typer.echo(f"model {model_id}: {row.architecture}/{row.target}"
                   + (f" scheme {row.scheme}" if row.scheme else "")
                   + f", {len(row.training_molecule_ids)} training molecules, artifact {row.artifact_path}")
        typer.echo(_summary(row.metrics))


def evaluate(
    model_id: int = typer.Argument(..., help="Registered model id."),
    test_tag: str | None = typer.Option(None, "--test-tag", help="Evaluate on molecules with this tag (default: the model's test set)."),
    ood_tag: str | None = typer.Option(None, "--ood-tag", help="Out-of-distribution molecules with this tag (default: the model's)."),
    device: str = PREDICTION_DEVICE.option("cpu", "--device", help="Where the model predicts."),
) -> None:
    """Predict a registered model's test and OOD molecules; store predictions and metrics."""
    require_model(model_id)
    test_ids, ood_ids = _tagged_ids(test_tag), _tagged_ids(ood_tag)
    from atomloop.recipes.evaluate import evaluate_registered

    evaluate_registered(model_id, test_ids=test_ids, ood_ids=ood_ids, device=device)
    _report(model_id)


def tune(
    arch: str = ARCHITECTURE.option(..., "--arch", help=_ARCH_HELP),
    target: str = TARGET.option("total", "--target", help=_TARGET_HELP),
    trials: int = typer.Option(..., "--trials", help="Finished trials the search should hold (resumes the search of the same name, round, labels, architecture and target)."),
    timeout: float | None = typer.Option(None, "--timeout", help="Stop starting trials after this many seconds."),
    scheme: str | None = typer.Option(None, "--scheme", help="Partition scheme (atomic target)."),
    settings_hash: str | None = typer.Option(None, "--settings-hash", help="Labels: calculations at this settings hash."),
    method: str | None = typer.Option(None, "--method", help="Labels: calculations of this method (if unambiguous)."),
    basis: str | None = typer.Option(None, "--basis", help="Labels: calculations in this basis (if unambiguous)."),
    atomization: bool = typer.Option(False, "--atomization", help="Learn atomization-style energies (E_A minus free atom)."),
    round_index: int | None = typer.Option(None, "--round", help=_ROUND_HELP),
    run: str | None = typer.Option(None, "--run", help=_RUN_HELP),
    name: str | None = typer.Option(None, "--name", help="Name of the searches (default: the run of --run, else 'adhoc'); "
                                    "a search warm-starts from the latest earlier round of the same name, labels, architecture and target."),
    epochs: int = typer.Option(100, "--epochs", help="Maximum epochs per trial."),
    test_tag: str | None = typer.Option(None, "--test-tag", help="Molecules with this tag form the test set."),
    ood_tag: str | None = typer.Option(None, "--ood-tag", help="Molecules with this tag form the OOD test set."),
    device: str = TRAINING_DEVICE.option("auto", "--device", help="auto: CUDA when available."),
) -> None:
    """Tune hyper-parameters with Optuna (a search, kept as an Optuna study in the store's database) and register
    the best model; with --run and --round on that round's training set."""
    round_id = _round_id(run, round_index)
    test_ids, ood_ids = _tagged_ids(test_tag), _tagged_ids(ood_tag)
    from atomloop.recipes.train import label_source
    from atomloop.tune import tune as run_tuning

    labels = label_source(target=target, scheme=scheme, settings_hash=settings_hash, method=method, basis=basis,
                          atomization=atomization)
    result = run_tuning(
        arch=arch, target=target, trials=trials, labels=labels, timeout=timeout, test_ids=test_ids, ood_ids=ood_ids,
        round_id=round_id, name=name, epochs=epochs, device=device,
    )
    typer.echo(
        f"tuning search {result.search_name}: {result.completed} complete, {result.pruned} pruned"
        + (f" (warm-started from {result.warm_started_from})" if result.warm_started_from else "")
        + f"; best validation loss {result.best_value:.4g} with {json.dumps(result.best_params)}"
    )
    _report(result.model_id)


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.command()(evaluate)
    app.command()(tune)
