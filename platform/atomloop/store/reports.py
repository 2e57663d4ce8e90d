"""What the reports and plots show, read from the store: a study's views, a run's rounds.

Rows are plain dicts of database values (errors in kcal/mol, meV/atom and meV as the views
define them; energies in Hartree, positions in Å), so :mod:`atomloop.study.plots` and
:mod:`atomloop.study.report` (a study) and :mod:`atomloop.report.run` (a run) draw and write without a database session.

A run's *random baseline* is the run whose stored inputs (``runs.parameters``) are the run's
own with ``strategy`` ``random``: the same pool, seed and hence splits, selected at random.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import any_, func, select, text
from sqlalchemy.orm import Session

from atomloop.errors import InputError
from atomloop.store.labels import level_of
from atomloop.store.registry import StoredPrediction, label_source, stored_predictions, training_curves, training_elements
from atomloop.store.selections import latest_validation, shift_test
from atomloop.store.tables import Model, Molecule, Prediction, Round, Run, Selection, Study, StudyExperiment
from atomloop.units import HARTREE_TO_MEV

Row = dict[str, Any]
STUDY_VIEWS = ("study_experiments", "study_summary", "study_element_errors", "study_group_errors", "study_atomic_errors")
PREDICTED_SPLITS = ("test", "ood_test")  # the labelled splits a run's models predict


@dataclass(frozen=True)
class StudyRows:
    """A study's row (``study``: name, status, settings_hash, created, finished, parameters), the
    rows of each study view by view name and ``molecule_errors`` (:func:`study_molecule_errors`)."""

    study: Row
    views: dict[str, list[Row]] = field(default_factory=dict)
    molecule_errors: dict[int, dict[int, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRows:
    """An active-learning run's row and its rounds, models and selections, one dict per row;
    each model's training curves (``curves``: model id -> fold -> ``training_epochs`` rows) and
    predictions with their labels (``predictions``: model id -> split of
    :data:`PREDICTED_SPLITS` -> by molecule id); the selected and predicted ``molecules`` by id
    (formula, name, smiles, charge, numbers (n,), positions (n, 3) in Å); the run's random
    ``baseline`` when the store holds one."""

    run: Row
    rounds: list[Row]
    models: list[Row]
    selections: list[Row]
    curves: dict[int, dict[int, list[Row]]] = field(default_factory=dict)
    predictions: dict[int, dict[str, list[StoredPrediction]]] = field(default_factory=dict)
    molecules: dict[int, Row] = field(default_factory=dict)
    baseline: RunRows | None = None


def view_rows(session: Session, view: str, study: str) -> list[Row]:
    """Rows of a study view (one of :data:`STUDY_VIEWS`) as dicts."""
    if view not in STUDY_VIEWS:
        raise InputError(f"unknown study view {view!r}; views: {', '.join(STUDY_VIEWS)}")
    result = session.execute(text(f"SELECT * FROM {view} WHERE study = :study"), {"study": study})
    return [dict(row._mapping) for row in result]


def study_molecule_errors(session: Session, name: str) -> dict[int, dict[int, float]]:
    """Per test molecule, the absolute molecular-energy error per atom (meV/atom) of each
    finished experiment's model: experiment id -> molecule id -> error; their mean over an
    experiment's molecules is its ``mae_mev_atom``."""
    per_atom = func.abs(Prediction.energy - Prediction.reference_energy) / func.cardinality(Molecule.numbers)
    query = (
        select(StudyExperiment.id, Prediction.molecule_id, per_atom)
        .join(Study, Study.id == StudyExperiment.study_id)
        .join(Prediction, (Prediction.model_id == StudyExperiment.model_id) & (Prediction.split == "test")
              & (Prediction.molecule_id == any_(StudyExperiment.test_molecule_ids)))
        .join(Molecule, Molecule.id == Prediction.molecule_id)
        .where(Study.name == name, StudyExperiment.status == "done", Prediction.reference_energy.is_not(None))
    )
    errors: dict[int, dict[int, float]] = {}
    for experiment_id, molecule_id, error in session.execute(query):
        errors.setdefault(experiment_id, {})[molecule_id] = error * HARTREE_TO_MEV
    return errors


def study_rows(session: Session, name: str) -> StudyRows:
    """Everything a study's report and plots show."""
    study = session.scalars(select(Study).where(Study.name == name)).one_or_none()
    if study is None:
        raise InputError(f"no study named {name!r}")
    row = {"name": study.name, "status": study.status, "settings_hash": study.settings_hash,
           "created": str(study.created), "finished": str(study.finished), "parameters": dict(study.parameters)}
    return StudyRows(row, {view: view_rows(session, view, name) for view in STUDY_VIEWS},
                     study_molecule_errors(session, name))


def _level(session: Session, settings_hash: str | None, scheme: str | None) -> str | None:
    """``method/basis`` of the calculations at ``settings_hash`` (program too when not PySCF),
    with the partition scheme of atomic targets."""
    calculation = level_of(session, settings_hash)
    if calculation is None:
        return None
    program = "" if calculation.program == "pyscf" else f"{calculation.program} "
    return f"{program}{calculation.method}/{calculation.basis}" + (f" {scheme}" if scheme else "")


def _predictions(session: Session, model: Model) -> dict[str, list[StoredPrediction]]:
    """The model's predictions of each split of :data:`PREDICTED_SPLITS` with their labels."""
    source = label_source(model)
    if source is None:
        return {}
    return {split: found for split in PREDICTED_SPLITS if (found := stored_predictions(session, model.id, split, source))}


def _molecule_rows(session: Session, ids: set[int]) -> dict[int, Row]:
    molecules = session.scalars(select(Molecule).where(Molecule.id.in_(sorted(ids))))
    return {m.id: {"formula": m.formula, "name": m.name, "smiles": m.smiles, "charge": m.charge,
                   "numbers": list(m.numbers), "positions": list(m.positions)} for m in molecules}


def random_baseline(session: Session, run: Run) -> str | None:
    """The name of the run's random baseline (see the module docstring), None when the run
    selects at random itself or the store holds none."""
    if run.parameters.get("strategy") == "random":
        return None
    return session.scalars(
        select(Run.name).where(Run.parameters == {**run.parameters, "strategy": "random"}).order_by(Run.id)
    ).first()


def run_rows(session: Session, name: str) -> RunRows:
    """Everything an active-learning run's report shows: per round the selection count, the
    AUC with its interval and permutation test, each model's validation, test and OOD errors,
    metrics, training elements, training curves and predictions, the selected molecules with
    their structures, and the same of the run's random baseline."""
    run = session.scalars(select(Run).where(Run.name == name)).one_or_none()
    if run is None:
        known = session.scalars(select(Run.name).order_by(Run.id)).all()
        raise InputError(f"no run named {name!r}; runs: {', '.join(known) or 'none'}")
    rounds = session.scalars(select(Round).where(Round.run_id == run.id).order_by(Round.index)).all()
    round_rows, model_rows, selection_rows, curves, predictions, total = [], [], [], {}, {}, 0
    for r in rounds:
        picks = session.execute(
            select(Selection, Molecule).join(Molecule, Molecule.id == Selection.molecule_id)
            .where(Selection.round_id == r.id).order_by(Selection.rank)
        ).all()
        total += len(picks)
        validation = latest_validation(session, r.id)
        round_rows.append({
            "round": r.index, "status": r.status.value, "selected": len(picks), "selected_total": total,
            **{column: getattr(validation, column) if validation else None
               for column in ("auc", "auc_low", "auc_high", "p_value", "null_auc_low")},
            "shift_test": shift_test(validation) if validation else None,
        })
        selection_rows += [
            {"round": r.index, "rank": s.rank, "molecule_id": m.id, "formula": m.formula, "name": m.name,
             "strategy": s.strategy, "score": s.score}
            for s, m in picks
        ]
        for model in session.scalars(select(Model).where(Model.round_id == r.id).order_by(Model.id)):
            test, ood = (model.metrics.get(split, {}).get("energy", {}) for split in ("test", "ood_test"))
            training = model.metrics.get("training", {})
            model_rows.append({
                "round": r.index, "model_id": model.id, "architecture": model.architecture, "target": model.target,
                "scheme": model.scheme, "n_train": len(model.training_molecule_ids),
                "validation": training.get("validation", {}).get("kind"), "best_epoch": training.get("best_epoch"),
                "test_mae_kcal_mol": test.get("mae_kcal_mol"), "test_mae_mev_atom": test.get("mae_mev_atom"),
                "ood_mae_kcal_mol": ood.get("mae_kcal_mol"), "ood_mae_mev_atom": ood.get("mae_mev_atom"),
                "status": model.status, "labels": _level(session, model.settings_hash, model.scheme),
                "hyperparameters": model.hyperparameters.get("model", {}), "metrics": dict(model.metrics),
                "training_elements": training_elements(session.get_bind(), model.id),
            })
            curves[model.id] = training_curves(session, model.id)
            predictions[model.id] = _predictions(session, model)
    predicted = {p.molecule_id for splits in predictions.values() for found in splits.values() for p in found}
    molecules = _molecule_rows(session, predicted | {row["molecule_id"] for row in selection_rows})
    run_row = {"name": run.name, "status": run.status, "stop_reason": run.stop_reason, "created": str(run.created),
               "parameters": dict(run.parameters)}
    baseline = random_baseline(session, run)
    return RunRows(run_row, round_rows, model_rows, selection_rows, curves, predictions, molecules,
                   run_rows(session, baseline) if baseline else None)
