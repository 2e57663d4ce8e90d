"""``tune``: a hyper-parameter *search* of one architecture and target, its best model registered.

A search is kept as an Optuna study (atomloop says "search" so that "study" names only the
transferability study of :mod:`atomloop.study`). Searches are named ``r{round}-{arch}-{target}``
(round 0 when there is none). A new search warm-starts by enqueueing the best parameters of the
latest earlier round's search of the same architecture and target. Each trial trains on the same data split (see
:func:`atomloop.recipes.train.prepare_data`) and reports its molecular-energy validation MAE (kcal/mol) every
epoch; the median pruner stops trials worse than the median of earlier trials at the same epoch.
The objective, named ``OBJECTIVE_NAME`` in the Optuna study, is the best validation MAE in kcal/mol,
the quantity training selects its epoch by, the same for every target. Where the training set is
validated by k folds (:mod:`atomloop.models.fitting`), a trial reports fold f's epoch e as step
(f - 1) * epochs + e, so the pruner compares the same fold's epochs, and its objective is the
minimum of the folds' mean curve. The best trial's training is then registered with
:func:`~atomloop.recipes.train.train_and_register`, which finds that trial's finished
checkpoint (same fingerprint) instead of training again.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from sqlalchemy import Engine

from atomloop.db.engine import get_engine, session_scope
from atomloop.errors import AtomloopError
from atomloop.models.fitting import fit
from atomloop.models.training import SELECTION_METRIC, TrainingConfig
from atomloop.recipes.train import check_labels, prepare_data, train_and_register
from atomloop.store.labels import LabelSource
from atomloop.store.registry import add_metrics
from atomloop.store.runs import round_position
from atomloop.tune.space import split_parameters, suggest
from atomloop.tune.storage import optuna_storage

OBJECTIVE_NAME = "validation MAE of molecular energies (kcal/mol)"

_FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


@dataclass(frozen=True)
class TuneResult:
    """Outcome of :func:`tune`: the search (its Optuna study's name), its best trial and the
    registered model."""

    search_name: str
    model_id: int
    best_params: dict[str, Any]
    best_value: float
    completed: int
    pruned: int
    warm_started_from: str | None

    @property
    def study_name(self) -> str:
        """The name before 0.2 (:attr:`search_name`)."""
        return self.search_name


ADHOC_SCOPE = "adhoc"


@dataclass(frozen=True)
class SearchScope:
    """What one family of searches tunes: a run's name (or a name the user gives; ``adhoc``
    without either), a label set, an architecture and a target. Searches of one scope differ
    only in their round; two label sets never share a search, and warm starts stay in scope."""

    scope: str
    source: LabelSource
    arch: str
    target: str

    @property
    def labels(self) -> str:
        """``<settings hash, 12 characters>[-<scheme>][-atomization]``."""
        return "-".join([self.source.settings_hash[:12], *([self.source.scheme] if self.source.scheme else []),
                         *(["atomization"] if self.source.atomization else [])])

    def name(self, round_index: int) -> str:
        """``{scope}.r{round}.{labels}.{arch}.{target}``: the Optuna study's name."""
        return f"{self.scope}.r{round_index}.{self.labels}.{self.arch}.{self.target}"

    def round_of(self, name: str) -> int | None:
        """The round of a search name of this scope (None for other scopes)."""
        prefix, suffix = f"{self.scope}.r", f".{self.labels}.{self.arch}.{self.target}"
        middle = name[len(prefix):len(name) - len(suffix)]
        return int(middle) if name.startswith(prefix) and name.endswith(suffix) and middle.isdigit() else None


def search_name(scope: SearchScope, round_index: int) -> str:
    """The Optuna study name of ``scope``'s search in round ``round_index``."""
    return scope.name(round_index)


def _earlier_best(storage: optuna.storages.BaseStorage, scope: SearchScope, before_round: int) -> tuple[str, dict] | None:
    """(name, best parameters) of the scope's latest search before round ``before_round``."""
    earlier = []
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=True):
        index = scope.round_of(summary.study_name)
        if index is not None and index < before_round and summary.best_trial is not None:
            earlier.append((index, summary.study_name, summary.best_trial.params))
    if not earlier:
        return None
    _, name, params = max(earlier, key=lambda item: item[0])
    return name, params


def latest_best_parameters(
    scope: SearchScope, *, before_round: int, url: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model hyper-parameters, training settings) of the best trial of ``scope``'s latest
    search before round ``before_round``; empty dicts when none."""
    found = _earlier_best(optuna_storage(url), scope, before_round)
    return split_parameters(found[1]) if found else ({}, {})


def _scope_and_round(engine: Engine, round_id: int | None, name: str | None) -> tuple[str, int]:
    """The scope name (``name``, else the round's run, else ``adhoc``) and round index (0 without a round)."""
    if round_id is None:
        return name or ADHOC_SCOPE, 0
    with session_scope(engine) as session:
        run_name, index = round_position(session, round_id)
    return name or run_name or ADHOC_SCOPE, index


def tune(
    *,
    arch: str,
    target: str,
    trials: int,
    labels: LabelSource,
    timeout: float | None = None,
    train_ids: Sequence[int] | None = None,
    valid_ids: Sequence[int] | None = None,
    test_ids: Sequence[int] | None = None,
    ood_ids: Sequence[int] | None = None,
    round_id: int | None = None,
    name: str | None = None,
    epochs: int = 100,
    device: str = "auto",
    seed: int = 0,
    validation: str = "auto",
    pruner_startup_trials: int = 2,
    pruner_warmup_epochs: int = 5,
    engine: Engine | None = None,
) -> TuneResult:
    """Run (or resume) the search until it holds ``trials`` finished (complete or pruned)
    trials or ``timeout`` seconds pass, then register the best trial's model. Every trial and
    the registered model of ``target`` train on the molecules labelled by ``labels``
    (for example from :func:`~atomloop.recipes.train.label_source`).

    The search is named by :class:`SearchScope` (``name``, else the run of ``round_id``) and
    the round's index; a new search warm-starts from the scope's latest earlier one. A run's
    ``round_id``: the ids not given are that round's training set and the run's test and OOD
    molecules (:func:`~atomloop.recipes.train.prepare_data`), for every trial and the registered model.
    ``validation``: the rule (``TrainingConfig.validation``) of every trial and of the
    registered model."""
    engine = engine or get_engine()
    check_labels(target, labels.scheme, labels.atomization)
    data = prepare_data(
        labels, train_ids=train_ids, valid_ids=valid_ids, test_ids=test_ids, ood_ids=ood_ids, round_id=round_id,
        seed=seed, validation=validation, engine=engine,
    )
    storage = optuna_storage(engine.url.render_as_string(hide_password=False))
    scope_name, round_index = _scope_and_round(engine, round_id, name)
    scope = SearchScope(scope_name, labels, arch, target)
    name = scope.name(round_index)
    study = optuna.create_study(
        storage=storage, study_name=name, direction="minimize", load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=pruner_startup_trials, n_warmup_steps=pruner_warmup_epochs),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([OBJECTIVE_NAME])
    warm = None
    if not study.trials:
        warm = _earlier_best(storage, scope, round_index)
        if warm is not None:
            study.enqueue_trial(warm[1], skip_if_exists=True)

    def objective(trial: optuna.Trial) -> float:
        hyperparameters, training = split_parameters(suggest(trial, arch))
        config = TrainingConfig(
            target=target, epochs=epochs, device=device, seed=seed, validation=validation, progress=False, **training
        )

        def report(record: dict[str, float]) -> None:
            trial.report(record[SELECTION_METRIC], (record.get("fold", 1) - 1) * epochs + record["epoch"])
            if trial.should_prune():
                raise optuna.TrialPruned(f"epoch {record['epoch']}: validation MAE {record[SELECTION_METRIC]:.4g} kcal/mol")

        result, fingerprint = fit(arch, data, config, hyperparameters, epoch_callback=report)
        trial.set_user_attr("fingerprint", fingerprint)
        trial.set_user_attr("best_epoch", result.best_epoch)
        return result.best_valid_mae_kcal_mol

    finished = sum(t.state in _FINISHED for t in study.trials)
    if trials > finished:
        study.optimize(objective, n_trials=trials - finished, timeout=timeout, show_progress_bar=True)
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not completed:
        raise AtomloopError(f"tuning search {name}: no trial completed; nothing to register")
    best = study.best_trial
    hyperparameters, training = split_parameters(best.params)
    model_id = train_and_register(
        arch=arch, target=target, labels=labels,
        # k-fold data: no held-out ids; the same rule on the same molecules gives the same folds
        train_ids=data.train_ids, valid_ids=None if data.folds else data.valid_ids,
        test_ids=data.test_ids, ood_ids=data.ood_ids,
        round_id=round_id, hyperparameters=hyperparameters,
        training={**training, "epochs": epochs, "seed": seed, "validation": validation}, device=device,
        progress=False, engine=engine,
    )
    tuning = {"search": name, "trial": best.number, "value": best.value, "trials": len(study.trials),
              "warm_started_from": warm[0] if warm else None}
    with session_scope(engine) as session:
        add_metrics(session, model_id, tuning=tuning)
    study.set_user_attr("model_id", model_id)
    return TuneResult(
        search_name=name, model_id=model_id, best_params=dict(best.params), best_value=float(best.value),
        completed=len(completed), pruned=sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
        warm_started_from=warm[0] if warm else None,
    )
