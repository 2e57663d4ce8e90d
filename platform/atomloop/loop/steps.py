"""The steps of one active-learning round, each idempotent and recorded on the round.

Round 0 labels the initial training set and the test sets and trains; every later round
selects ``k`` pool molecules, labels them, retrains and evaluates. A round's ``step`` column
holds its last finished step (``selected``, ``labelled``, ``trained``, ``evaluated``); a step
that finds itself done returns at once, so a killed loop resumes where it stopped and
computes nothing twice. Timings (seconds) are stored per step in ``rounds.timings``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import Engine

from atomloop.db.engine import session_scope
from atomloop.errors import AtomloopError
from atomloop.loop.config import LoopConfig
from atomloop.qm import QMSettings
from atomloop.select.stopping import stopping_decision
from atomloop.store import runs
from atomloop.store.labels import LabelSource, labelled_subset
from atomloop.store.queue import pending_molecule_ids
from atomloop.store.registry import unpredicted_ids
from atomloop.store.runs import ROUND_STEPS, RoundProgress, selected_ids, split_ids

STEPS = ROUND_STEPS
Labeller = Callable[[QMSettings, Sequence[int]], dict]  # returns counts: done, failed, refused, remaining


class LabellingUnfinishedError(AtomloopError):
    """Some of a round's molecules are still claimed by another live labelling process."""


@lru_cache(maxsize=32)
def qm_settings(config: LoopConfig) -> QMSettings:
    """The labelling level of a run (built once per config: building it checks the method and
    basis with PySCF)."""
    return QMSettings(method=config.method, basis=config.basis, schemes=config.schemes)


def _mark(engine: Engine, run_id: int, index: int, step: str, seconds: float) -> None:
    with session_scope(engine) as session:
        runs.mark_step(session, run_id, index, step, seconds)


def round_state(engine: Engine, run_id: int, index: int) -> RoundProgress:
    """The round's progress (the round is created when missing)."""
    with session_scope(engine) as session:
        return runs.round_progress(session, run_id, index)


@dataclass
class SelectOutcome:
    """What a round's selection found: its AUC (None in round 0) and whether to stop."""

    molecule_ids: list[int]
    auc: float | None = None
    auc_interval: tuple[float, float] | None = None
    stop_reason: str | None = None


def select_step(engine: Engine, config: LoopConfig, run_id: int, index: int) -> SelectOutcome:
    """Round 0: record the initial training set. Later rounds: select ``k`` pool molecules."""
    started = time.perf_counter()
    with session_scope(engine) as session:
        progress = runs.round_progress(session, run_id, index)
        if index == 0:
            initial = split_ids(session, config.run_name, "train")
            runs.record_initial_selection(session, progress.round_id, initial)
        already = progress.done("selected")
    if index == 0:
        if not already:
            _mark(engine, run_id, index, "selected", time.perf_counter() - started)
        return SelectOutcome(molecule_ids=initial)

    from atomloop.recipes.select import select_round

    settings_hash = qm_settings(config).settings_hash
    with session_scope(engine) as session:
        chosen_before = selected_ids(session, run_id, up_to_round=index - 1)
        train = labelled_subset(session, chosen_before, settings_hash)
        pool = sorted(set(split_ids(session, config.run_name, "pool")) - set(chosen_before))
    report = select_round(
        strategy=config.strategy, k=config.k, round_index=index, run_id=run_id, train_ids=train,
        pool_ids=pool, query_tag=config.query, seed=config.seed + index, level=config.level, engine=engine,
    )
    decision = stopping_decision(report.test, margin=config.auc_stop_margin)
    stop = decision.verdict if config.stop_on_auc and decision.stop else None
    if not already:
        _mark(engine, run_id, index, "selected", time.perf_counter() - started)
    return SelectOutcome([s.molecule_id for s in report.selected], report.test.auc, report.test.interval, stop)


def label_step(
    engine: Engine, config: LoopConfig, run_id: int, index: int, molecule_ids: Sequence[int], labeller: Labeller
) -> None:
    """Label ``molecule_ids`` (round 0: also the test sets) through ``labeller``.

    The step is done only when its work is, as this store's rows say: molecules without a finished
    calculation (still claimed by another live process, or labelled elsewhere) raise
    :class:`LabellingUnfinishedError` and leave the round unmarked."""
    if round_state(engine, run_id, index).done("labelled"):
        return
    started = time.perf_counter()
    ids = list(molecule_ids)
    if index == 0:
        with session_scope(engine) as session:
            ids += split_ids(session, config.run_name, "test") + split_ids(session, config.run_name, "ood_test")
    settings = qm_settings(config)
    counts = labeller(settings, ids)
    with session_scope(engine) as session:  # this store's rows decide, not what the labeller reports
        unfinished = len(pending_molecule_ids(session, settings.settings_hash, molecule_ids=ids))
    if unfinished:
        cause = ("their calculations are claimed by a live worker" if counts["remaining"]
                 else "no finished calculation is stored for them")
        raise LabellingUnfinishedError(
            f"round {index}: {unfinished} of {len(ids)} molecules have no finished label in this store ({cause}); "
            "run again when their labelling has finished (the round is not marked labelled, so no model trains "
            "on a partial set)"
        )
    _mark(engine, run_id, index, "labelled", time.perf_counter() - started)


def train_step(engine: Engine, config: LoopConfig, run_id: int, index: int) -> dict[str, int]:
    """Train every architecture on the labelled training set; returns model ids by architecture.

    Models already registered for this round are kept (a killed training resumes from its
    checkpoint inside ``train_and_register``). With ``config.warm_start_epochs``, rounds after
    the first continue the latest earlier round's model of each architecture.
    """
    from atomloop.recipes.train import train_and_register

    settings_hash = qm_settings(config).settings_hash
    labels = LabelSource(settings_hash, config.training_scheme)
    started = time.perf_counter()
    with session_scope(engine) as session:
        progress = runs.round_progress(session, run_id, index)
        round_id = progress.round_id
        existing = runs.trained_models(session, round_id)
        if progress.done("trained"):
            return existing
        train = labelled_subset(session, selected_ids(session, run_id, up_to_round=index), settings_hash)
        test = labelled_subset(session, split_ids(session, config.run_name, "test"), settings_hash)
        ood = labelled_subset(session, split_ids(session, config.run_name, "ood_test"), settings_hash)
        previous = runs.models_before(session, run_id, index) if config.warm_start_epochs else {}
    tune_now = bool(config.tune_every) and index % config.tune_every == 0
    for arch in config.architectures:
        if arch in existing:
            continue
        common = dict(
            arch=arch, target=config.target, labels=labels, train_ids=train, test_ids=test, ood_ids=ood,
            round_id=round_id, device=config.device, engine=engine,
        )
        if tune_now:
            from atomloop.tune import tune

            existing[arch] = tune(
                trials=config.tune_trials, epochs=config.epochs, seed=config.seed, validation=config.validation, **common
            ).model_id
            continue
        hyperparameters, training = _latest_tuned_parameters(config, arch, labels, index)
        existing[arch] = train_and_register(
            hyperparameters=hyperparameters,
            training={**training, "epochs": config.epochs, "seed": config.seed, "atomic_weight": config.atomic_weight,
                      "validation": config.validation, "warm_start_epochs": config.warm_start_epochs},
            warm_start=previous.get(arch), **common,
        )
    _mark(engine, run_id, index, "trained", time.perf_counter() - started)
    return existing


def _latest_tuned_parameters(config: LoopConfig, arch: str, labels: LabelSource, index: int) -> tuple[dict, dict]:
    """Model and training parameters of the run's latest search before round ``index`` for
    these labels, architecture and target (empty when none)."""
    if not config.tune_every:
        return {}, {}
    from atomloop.tune import SearchScope, latest_best_parameters

    scope = SearchScope(config.run_name, labels, arch, config.target)
    return latest_best_parameters(scope, before_round=index)


def evaluate_step(engine: Engine, config: LoopConfig, run_id: int, index: int, model_ids: dict[str, int]) -> None:
    """Predict the remaining pool with every model (the committee's signal) and close the round."""
    from atomloop.recipes.evaluate import predict_and_store

    if round_state(engine, run_id, index).done("evaluated"):
        return
    started = time.perf_counter()
    if config.strategy in ("committee", "hybrid"):
        with session_scope(engine) as session:
            chosen = set(selected_ids(session, run_id, up_to_round=index))
            pool = [m for m in split_ids(session, config.run_name, "pool") if m not in chosen]
        for model_id in model_ids.values():  # a model whose predictions were stored before a kill is skipped
            missing = unpredicted_ids(engine, model_id, pool, "pool")
            if missing:
                predict_and_store(model_id, missing, "pool", engine=engine)
    _mark(engine, run_id, index, "evaluated", time.perf_counter() - started)


@dataclass
class RoundSummary:
    """One line of the per-round table: labels so far, AUC, test MAE (kcal/mol) per model;
    ``unseen``: the (architecture, split) whose molecules hold elements absent from the model's
    training set (their MAE is meaningless)."""

    index: int
    n_train: int
    auc: float | None
    auc_interval: tuple[float, float] | None
    p_value: float | None = None
    test_mae_kcal_mol: dict[str, float] = field(default_factory=dict)
    ood_mae_kcal_mol: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    unseen: set[tuple[str, str]] = field(default_factory=set)


def summarize_round(engine: Engine, config: LoopConfig, run_id: int, index: int) -> RoundSummary:
    """Read a finished round back from the store."""
    settings_hash = qm_settings(config).settings_hash
    with session_scope(engine) as session:
        progress = runs.round_progress(session, run_id, index)
        train = labelled_subset(session, selected_ids(session, run_id, up_to_round=index), settings_hash)
        record = runs.round_record(session, progress.round_id)
    summary = RoundSummary(
        index=index, n_train=len(train), auc=record.auc, auc_interval=record.auc_interval, p_value=record.p_value,
        seconds=sum(progress.timings.get(step, 0.0) for step in STEPS),
    )
    for architecture, metrics in record.model_metrics:
        for split, target in (("test", summary.test_mae_kcal_mol), ("ood_test", summary.ood_mae_kcal_mol)):
            energy = metrics.get(split, {}).get("energy", {})
            if "mae_kcal_mol" in energy:
                target[architecture] = energy["mae_kcal_mol"]
            if metrics.get(split, {}).get("unseen_elements"):
                summary.unseen.add((architecture, split))
    return summary


def finish_run(engine: Engine, run_id: int, status: str, reason: str | None) -> None:
    """Record how a run ended (``done`` or ``stopped``) and why."""
    with session_scope(engine) as session:
        runs.finish_run(session, run_id, status, reason)
