"""Rounds, adversarial validations, OOD scores and selections in the store.

Reads what a selection round needs and writes what it found; the round itself
(:func:`atomloop.recipes.select.select_round`) reads here, computes in :mod:`atomloop.select`
and writes here. Defaults: the **training set** is every molecule with a finished calculation (status
``done``, any settings); the **pool** is every molecule with no calculation at all (queued,
running or failed ones are neither labelled nor available), optionally only those carrying
``pool_tag``, minus the molecules selected in an earlier round of the same run.

:func:`write_selection` writes, in one transaction: the ``Round`` (created, or reused by (run, index)), one
``AdversarialValidation`` with its settings, every pool molecule's ``OODScore`` (with atom
scores and flagged atoms at atom level) and the ``Selection`` rows. A round that already has
selections is returned as stored and nothing is written: reruns are idempotent, and two
concurrent runs of one round are serialised by a transaction-level advisory lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from ase.data import chemical_symbols
from sqlalchemy import Engine, and_, exists, func, insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.orm import Session

from atomloop.db.engine import get_engine, session_scope
from atomloop.errors import InputError
from atomloop.select.stopping import ShiftTest, StopDecision, stopping_decision
from atomloop.store.molecules import load_atoms, tagged_ids
from atomloop.store.tables import (
    ROUND_STEPS,
    AdversarialValidation,
    Calculation,
    CalculationStatus,
    Model,
    Molecule,
    OODScore,
    Prediction,
    Round,
    RoundStatus,
    Run,
    Selection,
)

if TYPE_CHECKING:
    from atomloop.select.adversarial import AdversarialResult

_LOAD_CHUNK = 10_000  # ids per query: PostgreSQL takes at most 65535 bound parameters


@dataclass(frozen=True)
class SelectedMolecule:
    """One pick: ``flagged_atoms`` are atom indices (atom level), ``flagged_symbols`` their elements."""

    molecule_id: int
    rank: int
    score: float | None
    formula: str
    flagged_atoms: list[int] | None
    flagged_symbols: list[str] | None


@dataclass(frozen=True)
class SelectionReport:
    """What a round selected and the adversarial validation behind it."""

    round_id: int
    run_id: int | None
    round_index: int
    strategy: str
    level: str
    validation_id: int
    test: ShiftTest  # the validation's AUC, interval, p-value, null's 2.5 % quantile, unseen-element count
    n_train: int
    n_pool: int
    selected: list[SelectedMolecule]
    reused: bool
    null_auc: tuple[float, float, float] | None = None  # 2.5 %, 50 %, 97.5 % quantiles

    @property
    def decision(self) -> StopDecision:
        """The stopping decision (:func:`atomloop.select.stopping.stopping_decision`)."""
        return stopping_decision(self.test)

    @property
    def stop(self) -> bool:
        """Whether the loop may stop: no shift detected and the AUC confidently near 0.5."""
        return self.decision.stop


@dataclass(frozen=True)
class SelectionInputs:
    """What a selection round computes on: ``pool_ids`` aligned with ``pool_atoms``;
    ``committee``: pool predictions (n_models, n_pool) for committee strategies, else None;
    ``stored``: the round's selection when it already has one (then nothing else is read)."""

    train_atoms: list
    pool_atoms: list
    pool_ids: list[int]
    committee: np.ndarray | None = None
    stored: SelectionReport | None = None
    query_atoms: list = field(default_factory=list)


def read_selection_inputs(
    engine: Engine,
    *,
    run_id: int | None,
    round_index: int,
    strategy: str,
    k: int,
    train: Sequence[int] | None,
    pool: Sequence[int] | None,
    pool_tag: str | None,
    with_committee: bool,
    query_tag: str | None = None,
) -> SelectionInputs:
    """Training set and pool as ``Atoms`` (defaults in the module docstring), checked disjoint and
    non-empty, and the molecules tagged ``query_tag`` (the ones to be predicted), if given."""
    with session_scope(engine) as session:
        stored = stored_report(session, run_id, round_index, strategy, k)
        if stored is not None:
            return SelectionInputs([], [], [], stored=stored)
        train = train_ids(session) if train is None else list(train)
        pool = pool_ids(session, run_id, round_index, pool_tag) if pool is None else list(pool)
        overlap = set(train) & set(pool)
        if overlap:
            raise InputError(f"{len(overlap)} molecules are in both training set and pool, e.g. {sorted(overlap)[:5]}")
        if not train:
            raise InputError("no training molecules: the store has no finished calculation")
        if not pool:
            raise InputError("the pool is empty: every molecule is labelled, queued or already selected")
        committee = committee_predictions(session, pool) if with_committee else None
        query = [] if query_tag is None else tagged_ids(session, query_tag)
        if query_tag is not None and not query:
            raise InputError(f"no molecule is tagged {query_tag!r}: the query names the tag of the molecules you want "
                             "predicted")
        return SelectionInputs(load_in_chunks(session, train), load_in_chunks(session, pool), pool, committee,
                               query_atoms=load_in_chunks(session, query))


def write_selection(
    engine: Engine,
    *,
    run_id: int | None,
    round_index: int,
    strategy: str,
    k: int,
    pool_tag: str | None,
    pool_ids: list[int],
    result: AdversarialResult,
    picked: tuple[np.ndarray, np.ndarray | None],
    seconds: float,
) -> SelectionReport:
    """Store a round's validation, scores and picks (``picked``: pool positions in rank order and
    their scores) in one transaction; a concurrent run of the round that finished first wins."""
    with session_scope(engine) as session:
        session.execute(
            select(func.pg_advisory_xact_lock(func.hashtext(f"atomloop.select:{run_id}:{round_index}")))
        )
        stored = stored_report(session, run_id, round_index, strategy, k)
        if stored is not None:
            return stored
        round_ = get_or_create_round(session, run_id, round_index)
        if round_.step is None:  # never move a round that is further along back
            round_.step = ROUND_STEPS[0]
        round_.timings = {**(round_.timings or {}), "select_s": round(seconds, 3)}
        validation = AdversarialValidation(
            round_id=round_.id,
            level=result.level,
            auc=result.auc,
            auc_low=result.auc_interval[0],
            auc_high=result.auc_interval[1],
            p_value=result.p_value,
            **dict(zip(("null_auc_low", "null_auc_median", "null_auc_high"), result.null_auc or (None,) * 3, strict=True)),
            n_train=result.n_train,
            n_pool=result.n_pool,
            settings={**result.settings, "strategy": strategy, "k": k, "pool_tag": pool_tag,
                      "unseen_element_molecules": len(result.unseen_element_molecules),
                      "repeat_aucs": [float(a) for a in result.repeat_aucs]},
        )
        session.add(validation)
        session.flush()
        _write_scores(session, validation.id, pool_ids, result)
        _write_picks(session, round_.id, strategy, pool_ids, picked, result)
        return read_report(session, round_, validation, reused=False)


def next_round_index(run_id: int | None = None, *, engine: Engine | None = None) -> int:
    """One past the highest round index of run ``run_id`` (rounds without a run when None); 0 if none."""
    with session_scope(engine or get_engine()) as session:
        same_run = Round.run_id.is_(None) if run_id is None else Round.run_id == run_id
        highest = session.scalar(select(func.max(Round.index)).where(same_run))
    return 0 if highest is None else highest + 1


def train_ids(session: Session) -> list[int]:
    done = exists().where(and_(Calculation.molecule_id == Molecule.id, Calculation.status == CalculationStatus.done))
    return list(session.scalars(select(Molecule.id).where(done).order_by(Molecule.id)))


def _earlier_rounds(run_id: int | None, round_index: int):
    same_run = Round.run_id.is_(None) if run_id is None else Round.run_id == run_id
    return select(Round.id).where(same_run, Round.index < round_index)


def pool_ids(session: Session, run_id: int | None, round_index: int, pool_tag: str | None) -> list[int]:
    any_calculation = exists().where(Calculation.molecule_id == Molecule.id)
    earlier = exists().where(
        Selection.molecule_id == Molecule.id, Selection.round_id.in_(_earlier_rounds(run_id, round_index))
    )
    query = select(Molecule.id).where(~any_calculation, ~earlier)
    if pool_tag is not None:
        query = query.where(Molecule.tags.any(pool_tag))
    return list(session.scalars(query.order_by(Molecule.id)))


def load_in_chunks(session: Session, ids: list[int]):
    chunks = (ids[start : start + _LOAD_CHUNK] for start in range(0, len(ids), _LOAD_CHUNK))
    return [atoms for chunk in chunks for atoms in load_atoms(session, chunk)]


def committee_predictions(session: Session, pool_ids: list[int]) -> np.ndarray:
    """Pool predictions (n_models, n_pool) of the latest model of each architecture; NaN where missing."""
    with_pool = exists().where(Prediction.model_id == Model.id, Prediction.split == "pool")
    latest = (
        select(Model.id, Model.architecture)
        .where(with_pool)
        .distinct(Model.architecture)
        .order_by(Model.architecture, Model.created.desc(), Model.id.desc())
    )
    models = session.execute(latest).all()
    if len(models) < 2:
        raise InputError(
            f"committee needs pool predictions of at least two model architectures; found {len(models)} "
            f"({', '.join(m.architecture for m in models) or 'none'})"
        )
    position = {molecule_id: i for i, molecule_id in enumerate(pool_ids)}
    predictions = np.full((len(models), len(pool_ids)), np.nan)
    for row_index, model in enumerate(models):
        rows = session.execute(
            select(Prediction.molecule_id, Prediction.energy).where(
                Prediction.model_id == model.id, Prediction.split == "pool"
            )
        )
        for molecule_id, energy in rows:
            if molecule_id in position:
                predictions[row_index, position[molecule_id]] = energy
    return predictions


def _flagged(result: AdversarialResult, position: int) -> list[int] | None:
    return None if result.flagged_atoms is None else [int(i) for i in result.flagged_atoms[position]]


def _write_scores(session: Session, validation_id: int, pool_ids: list[int], result: AdversarialResult) -> None:
    rows = [
        {
            "validation_id": validation_id,
            "molecule_id": molecule_id,
            "score": float(result.scores[i]),
            "atom_scores": None if result.atom_scores is None else [float(s) for s in result.atom_scores[i]],
            "flagged_atoms": _flagged(result, i),
        }
        for i, molecule_id in enumerate(pool_ids)
    ]
    session.execute(insert(OODScore), rows)


def _write_picks(
    session: Session,
    round_id: int,
    strategy: str,
    pool_ids: list[int],
    picked: tuple[np.ndarray, np.ndarray | None],
    result: AdversarialResult,
) -> None:
    positions, scores = picked
    rows = [
        {
            "round_id": round_id,
            "molecule_id": pool_ids[position],
            "rank": rank,
            "score": None if scores is None else float(scores[rank - 1]),
            "strategy": strategy,
            "flagged_atoms": _flagged(result, position),
        }
        for rank, position in enumerate(positions.tolist(), start=1)
    ]
    session.execute(insert(Selection), rows)


def find_round(session: Session, run_id: int | None, round_index: int) -> Round | None:
    same_run = Round.run_id.is_(None) if run_id is None else Round.run_id == run_id
    return session.scalars(select(Round).where(same_run, Round.index == round_index).order_by(Round.id)).first()


def get_or_create_round(session: Session, run_id: int | None, round_index: int) -> Round:
    """The round ``round_index`` of run ``run_id`` (rounds without a run when None), created when
    missing; safe against a concurrent creator (the unique key treats NULL runs as equal)."""
    session.execute(
        postgresql_insert(Round).values(run_id=run_id, index=round_index, status=RoundStatus.running, timings={})
        .on_conflict_do_nothing(constraint="uq_round_run_index")
    )
    return find_round(session, run_id, round_index)


def round_id_of(session: Session, run_name: str | None, round_index: int) -> int:
    """``rounds.id`` of round ``round_index`` of the run named ``run_name`` (None: rounds without a
    run, as ``atomloop select`` makes them); an error naming the rounds there are otherwise."""
    run_id = None
    if run_name is not None:
        run_id = session.scalar(select(Run.id).where(Run.name == run_name))
        if run_id is None:
            raise InputError(f"no run named {run_name!r}")
    round_ = find_round(session, run_id, round_index)
    if round_ is None:
        same_run = Round.run_id.is_(None) if run_id is None else Round.run_id == run_id
        known = sorted(session.scalars(select(Round.index).where(same_run)))
        where = f"run {run_name!r}" if run_name else "the rounds without a run"
        raise InputError(f"no round {round_index} in {where}; rounds: {', '.join(map(str, known)) or 'none'}")
    return round_.id


def shift_test(validation: AdversarialValidation) -> ShiftTest:
    """What the stopping rule reads of a stored adversarial validation."""
    return ShiftTest(validation.auc, (validation.auc_low, validation.auc_high),
                     int((validation.settings or {}).get("unseen_element_molecules", 0)), validation.p_value,
                     validation.null_auc_low)


def latest_validation(session: Session, round_id: int) -> AdversarialValidation | None:
    """The newest adversarial validation of a round (None before its selection)."""
    return session.scalars(
        select(AdversarialValidation)
        .where(AdversarialValidation.round_id == round_id)
        .order_by(AdversarialValidation.id.desc())
    ).first()


def stored_report(
    session: Session, run_id: int | None, round_index: int, strategy: str, k: int
) -> SelectionReport | None:
    """The round's stored selection, if any; an error if it was made differently."""
    round_ = find_round(session, run_id, round_index)
    if round_ is None:
        return None
    strategies = set(session.scalars(select(Selection.strategy).where(Selection.round_id == round_.id)))
    if not strategies:
        return None
    report = read_report(session, round_, latest_validation(session, round_.id), reused=True)
    if strategies != {strategy} or len(report.selected) != min(k, report.n_pool):
        raise InputError(
            f"round {round_index} already holds a selection of {len(report.selected)} molecules by "
            f"{', '.join(sorted(strategies))}; asked for {k} by {strategy} (use a new round index)"
        )
    return report


def read_report(session: Session, round_: Round, validation: AdversarialValidation, *, reused: bool) -> SelectionReport:
    rows = session.execute(
        select(Selection, Molecule.formula, Molecule.numbers)
        .join(Molecule, Molecule.id == Selection.molecule_id)
        .where(Selection.round_id == round_.id)
        .order_by(Selection.rank)
    ).all()
    selected = [
        SelectedMolecule(
            molecule_id=selection.molecule_id,
            rank=selection.rank,
            score=selection.score,
            formula=formula,
            flagged_atoms=selection.flagged_atoms,
            flagged_symbols=None
            if selection.flagged_atoms is None
            else [chemical_symbols[numbers[i]] for i in selection.flagged_atoms],
        )
        for selection, formula, numbers in rows
    ]
    return SelectionReport(
        round_id=round_.id,
        run_id=round_.run_id,
        round_index=round_.index,
        strategy=rows[0][0].strategy,
        level=validation.level,
        validation_id=validation.id,
        test=shift_test(validation),
        n_train=validation.n_train,
        n_pool=validation.n_pool,
        selected=selected,
        null_auc=None if validation.null_auc_low is None
        else (validation.null_auc_low, validation.null_auc_median, validation.null_auc_high),
        reused=reused,
    )
