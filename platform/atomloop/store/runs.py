"""Active-learning runs: the ``runs`` row, its dataset splits (dataset ``run:<name>``), its
rounds' progress (``rounds.step``, one of :data:`ROUND_STEPS`, and per-step seconds) and what
each round selected and trained."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from atomloop.errors import InputError
from atomloop.store.selections import get_or_create_round, latest_validation
from atomloop.store.tables import (
    ROUND_STEPS,
    Dataset,
    DatasetMember,
    Model,
    Molecule,
    Round,
    RoundStatus,
    Run,
    Selection,
)


@dataclass(frozen=True)
class PoolMolecules:
    """The molecules a run draws from: ids (ascending), heavy-atom counts and element sets,
    each of length n."""

    ids: np.ndarray
    heavy_atoms: np.ndarray
    element_sets: list[frozenset[int]]


def pool_molecules(session: Session, pool_tag: str | None, exclude_tag: str | None = None) -> PoolMolecules:
    """Every molecule (or those tagged ``pool_tag``), less those tagged ``exclude_tag``."""
    query = select(Molecule.id, Molecule.numbers).order_by(Molecule.id)
    if pool_tag is not None:
        query = query.where(Molecule.tags.any(pool_tag))
    if exclude_tag is not None:
        query = query.where(~Molecule.tags.any(exclude_tag))
    rows = session.execute(query).all()
    return PoolMolecules(
        ids=np.array([row.id for row in rows], dtype=np.int64),
        heavy_atoms=np.array([sum(1 for z in row.numbers if z > 1) for row in rows], dtype=np.int64),
        element_sets=[frozenset(row.numbers) for row in rows],
    )


def locked_run_parameters(session: Session, name: str) -> tuple[int, dict] | None:
    """Serialise creators of run ``name`` (a transaction-level advisory lock), then return its
    id and stored parameters, or None when no such run exists."""
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(name))))
    row = session.execute(select(Run.id, Run.parameters).where(Run.name == name)).first()
    return None if row is None else (row.id, row.parameters)


def create_run(session: Session, name: str, parameters: dict, splits: dict[str, list[int]]) -> int:
    """Insert the run and its dataset ``run:<name>`` with one member row per molecule and split."""
    run = Run(name=name, parameters=parameters, status="running")
    dataset = Dataset(name=f"run:{name}", description=f"splits of active-learning run {name}")
    session.add_all([run, dataset])
    session.flush()
    session.execute(
        insert(DatasetMember),
        [
            {"dataset_id": dataset.id, "molecule_id": molecule_id, "split": split}
            for split, members in splits.items()
            for molecule_id in members
        ],
    )
    return run.id


def finish_run(session: Session, run_id: int, status: str, reason: str | None) -> None:
    """Record how a run ended (``done`` or ``stopped``) and why."""
    run = session.get_one(Run, run_id)
    run.status = status
    run.stop_reason = reason


def split_ids(session: Session, run_name: str, split: str) -> list[int]:
    """Molecule ids of one split of a run's dataset, ascending."""
    query = (
        select(DatasetMember.molecule_id)
        .join(Dataset, Dataset.id == DatasetMember.dataset_id)
        .where(Dataset.name == f"run:{run_name}", DatasetMember.split == split)
        .order_by(DatasetMember.molecule_id)
    )
    return list(session.scalars(query))


def selected_ids(session: Session, run_id: int, *, up_to_round: int) -> list[int]:
    """Molecules selected (or given as the initial set) in rounds 0..``up_to_round``."""
    query = (
        select(Selection.molecule_id)
        .join(Round, Round.id == Selection.round_id)
        .where(Round.run_id == run_id, Round.index <= up_to_round)
        .order_by(Round.index, Selection.rank)
    )
    return list(session.scalars(query))


def record_initial_selection(session: Session, round_id: int, molecule_ids: list[int]) -> None:
    """Round 0's selection rows: the initial training set, ranked as given (idempotent)."""
    if molecule_ids:
        session.execute(
            insert(Selection).on_conflict_do_nothing(),
            [{"round_id": round_id, "molecule_id": m, "rank": r, "strategy": "initial"} for r, m in enumerate(molecule_ids)],
        )


@dataclass(frozen=True)
class RoundProgress:
    """A round's id, last finished step (None before the first) and seconds per step."""

    round_id: int
    step: str | None
    timings: dict[str, float] = field(default_factory=dict)

    def done(self, step: str) -> bool:
        """Whether ``step`` (one of :data:`ROUND_STEPS`) has finished."""
        return self.step is not None and ROUND_STEPS.index(self.step) >= ROUND_STEPS.index(step)


def round_progress(session: Session, run_id: int, index: int) -> RoundProgress:
    """The progress of round ``index`` of run ``run_id`` (the round is created when missing)."""
    row = get_or_create_round(session, run_id, index)
    return RoundProgress(row.id, row.step, dict(row.timings))


def mark_step(session: Session, run_id: int, index: int, step: str, seconds: float) -> None:
    """Record ``step`` as the round's last finished step, taking ``seconds``; the last step
    closes the round."""
    row = get_or_create_round(session, run_id, index)
    row.step = step
    row.timings = {**row.timings, step: round(seconds, 3)}
    if step == ROUND_STEPS[-1]:
        row.status = RoundStatus.done
        row.finished = datetime.now(UTC)


def trained_models(session: Session, round_id: int) -> dict[str, int]:
    """Ids of the round's finished models, by architecture."""
    rows = session.execute(select(Model.architecture, Model.id).where(Model.round_id == round_id, Model.status == "done"))
    return {architecture: model_id for architecture, model_id in rows}


def models_before(session: Session, run_id: int, index: int) -> dict[str, int]:
    """Finished models, by architecture, of the latest round of run ``run_id`` before round
    ``index`` that has any (empty when none has)."""
    row = session.execute(
        select(Round.id).join(Model, Model.round_id == Round.id)
        .where(Round.run_id == run_id, Round.index < index, Model.status == "done")
        .order_by(Round.index.desc()).limit(1)
    ).first()
    return {} if row is None else trained_models(session, row.id)


@dataclass(frozen=True)
class RoundRecord:
    """What a finished round left: its validation's AUC with 95 % interval and permutation
    p-value (None in round 0, or without a permutation test) and each model's architecture with
    its metrics (``models.metrics``), in model order."""

    auc: float | None
    auc_interval: tuple[float, float] | None
    model_metrics: list[tuple[str, dict]]
    p_value: float | None = None


def round_record(session: Session, round_id: int) -> RoundRecord:
    """Read :class:`RoundRecord` of a round."""
    validation = latest_validation(session, round_id)
    models = session.execute(select(Model.architecture, Model.metrics).where(Model.round_id == round_id).order_by(Model.id))
    return RoundRecord(
        auc=validation.auc if validation else None,
        auc_interval=(validation.auc_low, validation.auc_high) if validation else None,
        model_metrics=[(architecture, metrics or {}) for architecture, metrics in models],
        p_value=validation.p_value if validation else None,
    )


def round_position(session: Session, round_id: int) -> tuple[str | None, int]:
    """The run name (None for rounds without a run) and index of round ``round_id``."""
    row = session.execute(
        select(Run.name, Round.index).select_from(Round).outerjoin(Run, Run.id == Round.run_id).where(Round.id == round_id)
    ).one()
    return row.name, row.index


def run_named(session: Session, name: str) -> tuple[int, dict]:
    """Id and stored parameters of run ``name``; an error naming the runs there are otherwise."""
    row = session.execute(select(Run.id, Run.parameters).where(Run.name == name)).first()
    if row is None:
        known = session.scalars(select(Run.name).order_by(Run.id)).all()
        raise InputError(f"no run named {name!r}; runs: {', '.join(known) or 'none'}")
    return row.id, row.parameters


def last_round_index(session: Session, run_id: int) -> int | None:
    """The highest round index of a run (None before its first round)."""
    return session.scalar(select(func.max(Round.index)).where(Round.run_id == run_id))
