"""Transferability studies: the ``studies`` row and one ``experiments`` row per matrix cell,
with its per-element and per-group errors (``experiment_errors``).

An experiment is keyed by ``(study, split, target, architecture, strategy, training_size,
seed, atomic_weight)``; storing it again replaces the row and its error rows in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from atomloop.errors import InputError
from atomloop.store.tables import ExperimentAtomicError, ExperimentError, Study, StudyExperiment


@dataclass(frozen=True)
class ExperimentKey:
    """What identifies an experiment within its study."""

    split: str
    target: str
    architecture: str
    strategy: str
    training_size: int
    seed: int
    atomic_weight: float

    def _where(self, study_id: int) -> list:
        return [StudyExperiment.study_id == study_id,
                *(getattr(StudyExperiment, name) == value for name, value in asdict(self).items())]


def open_study(session: Session, name: str, kind: str, parameters: dict, settings_hash: str) -> int:
    """The id of study ``name``, created on first use and marked running; a name already used
    with other ``parameters`` is an :class:`~atomloop.errors.InputError`."""
    study = session.scalars(select(Study).where(Study.name == name)).one_or_none()
    if study is None:
        study = Study(name=name, kind=kind, parameters=parameters, settings_hash=settings_hash, status="running")
        session.add(study)
        session.flush()
    elif study.parameters != parameters:
        raise InputError(f"study {name!r} exists with other inputs; choose another --name")
    study.status, study.finished = "running", None
    return study.id


def finish_study(session: Session, study_id: int, status: str) -> None:
    """Record how a study run ended (``done`` or ``failed``) and when."""
    study = session.get_one(Study, study_id)
    study.status, study.finished = status, datetime.now(UTC)


def finished_experiments(session: Session, study_id: int) -> list[ExperimentKey]:
    """Keys of the study's experiments that are done."""
    rows = session.execute(
        select(StudyExperiment.split, StudyExperiment.target, StudyExperiment.architecture, StudyExperiment.strategy,
               StudyExperiment.training_size, StudyExperiment.seed, StudyExperiment.atomic_weight)
        .where(StudyExperiment.study_id == study_id, StudyExperiment.status == "done")
    ).all()
    return [ExperimentKey(*row) for row in rows]


def stored_training_set(session: Session, study_id: int, split: str, strategy: str, size: int, seed: int) -> list[int] | None:
    """The training ids a done experiment of the study used for this split, strategy, size and
    seed (shared by its sibling experiments), or None."""
    return session.scalars(
        select(StudyExperiment.train_molecule_ids).where(
            StudyExperiment.study_id == study_id, StudyExperiment.split == split,
            StudyExperiment.strategy == strategy, StudyExperiment.training_size == size,
            StudyExperiment.seed == seed, StudyExperiment.status == "done",
        )
    ).first()


def experiments_without_p_value(session: Session, study_id: int) -> list[Any]:
    """The study's done experiments whose adversarial test has no p-value: rows with ``id``,
    ``train_molecule_ids``, ``test_molecule_ids`` and ``seed``."""
    return session.execute(
        select(StudyExperiment.id, StudyExperiment.train_molecule_ids, StudyExperiment.test_molecule_ids,
               StudyExperiment.seed)
        .where(StudyExperiment.study_id == study_id, StudyExperiment.status == "done",
               StudyExperiment.auc_p_value.is_(None))
        .order_by(StudyExperiment.id)
    ).all()


def experiments_without_baseline(session: Session, study_id: int) -> list[Any]:
    """The study's done experiments, with their model still registered, whose atomic-error rows
    were stored without the element-mean baseline (before revision 0012): rows with ``id``,
    ``model_id`` and ``train_molecule_ids``."""
    stale = select(ExperimentAtomicError.experiment_id).where(ExperimentAtomicError.baseline_mae_kcal_mol.is_(None))
    return session.execute(
        select(StudyExperiment.id, StudyExperiment.model_id, StudyExperiment.train_molecule_ids)
        .where(StudyExperiment.study_id == study_id, StudyExperiment.status == "done", StudyExperiment.id.in_(stale),
               StudyExperiment.model_id.is_not(None))
        .order_by(StudyExperiment.id)
    ).all()


def replace_atomic_errors(session: Session, experiment_id: int, atomic_errors: Iterable[Any]) -> None:
    """Replace one experiment's atomic-error rows (the columns of ``experiment_atomic_errors``)."""
    session.execute(delete(ExperimentAtomicError).where(ExperimentAtomicError.experiment_id == experiment_id))
    session.add_all(ExperimentAtomicError(experiment_id=experiment_id, **vars(error)) for error in atomic_errors)


def update_experiment(session: Session, experiment_id: int, values: dict[str, Any]) -> None:
    """Set columns of one experiment row (``values``: column name -> value)."""
    session.execute(update(StudyExperiment).where(StudyExperiment.id == experiment_id).values(**values))


def store_experiment(
    session: Session, study_id: int, key: ExperimentKey, scheme: str | None, atomization: bool,
    values: dict[str, Any], errors: Iterable[Any], atomic_errors: Iterable[Any] = (),
) -> None:
    """Replace the experiment's row by one with ``values`` (columns of ``experiments``), its
    error rows by ``errors`` (objects with the columns of ``experiment_errors`` as attributes)
    and its atomic-error rows by ``atomic_errors`` (the columns of ``experiment_atomic_errors``)."""
    session.execute(delete(StudyExperiment).where(*key._where(study_id)))
    row = StudyExperiment(study_id=study_id, scheme=scheme, atomization=atomization, **asdict(key), **values)
    session.add(row)
    session.flush()
    session.add_all(ExperimentError(experiment_id=row.id, **vars(error)) for error in errors)
    replace_atomic_errors(session, row.id, atomic_errors)
