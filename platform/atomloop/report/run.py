"""The HTML report of an active-learning run, from rows read by :func:`atomloop.store.reports.run_rows`.

Every number in the report is a database value, or one line of arithmetic on them (a
prediction's error, kcal/mol), written with :func:`atomloop.report.html.fmt`; errors in
kcal/mol, meV/atom and meV as in the views, energies in Hartree. Where a value needs words (an
AUC below the permutation null, elements a model never trained on, a log scale stretched by
huge errors) a note beside it says what it means.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from ase.data import atomic_numbers

from atomloop.report.depictions import depiction_svg
from atomloop.report.html import figure, fmt, gallery, note, page, table
from atomloop.report.plots import (
    auc_over_rounds,
    errors_over_rounds,
    model_learning_curves,
    parity_plots,
    unseen_symbols,
)
from atomloop.select.stopping import ANTI_LEARNING, STOP_MARGIN, stopping_decision
from atomloop.units import HARTREE_TO_KCAL_PER_MOL

if TYPE_CHECKING:
    from atomloop.store.reports import Row, RunRows

ROUND_COLUMNS = ("round", "status", "selected", "selected_total", "auc", "auc_low", "auc_high", "p_value", "null_auc_low", "reading")
MODEL_COLUMNS = (
    "round", "model_id", "status", "architecture", "target", "labels", "n_train", "validation", "best_epoch",
    "test_mae_kcal_mol", "test_mae_mev_atom", "ood_mae_kcal_mol", "ood_mae_mev_atom", "hyperparameters",
)
SELECTION_COLUMNS = ("round", "rank", "molecule_id", "formula", "name", "strategy", "score")
PREDICTION_COLUMNS = (
    "round", "model_id", "architecture", "split", "molecule_id", "formula", "predicted_hartree", "reference_hartree",
    "error_kcal_mol", "unseen_elements",
)
RUN_ELEMENT_COLUMNS = (
    "round", "model_id", "architecture", "split", "element", "n_atoms", "atomic_mae_kcal_mol", "atomic_mae_mev", "in_training",
)
DEPICTED_PER_ROUND = 12  # selected molecules drawn per round (the first by rank)


def round_reading(row: Row, margin: float) -> str | None:
    """The round's adversarial validation read by the one stopping rule
    (:func:`atomloop.select.stopping.stopping_decision`; ``margin``: the run's AUC stop margin),
    None before its first selection."""
    if row["auc"] is None:
        return None
    return stopping_decision(
        row["auc"], (row["auc_low"], row["auc_high"]), unseen_element_molecules=row["unseen_element_molecules"],
        margin=margin, p_value=row["p_value"], null_low=row["null_auc_low"],
    ).verdict


def _rounds(rows: RunRows) -> tuple[list[Row], list[str]]:
    """The rounds with their reading, and a note per round whose AUC reads as anti-learning."""
    margin = rows.run["parameters"].get("auc_stop_margin", STOP_MARGIN)
    shown = [{**r, "reading": round_reading(r, margin)} for r in rows.rounds]
    return shown, [f"Round {r['round']}: {r['reading']}." for r in shown if r["reading"] and ANTI_LEARNING in r["reading"]]


def unseen_element_notes(rows: RunRows) -> list[str]:
    """A note per model and predicted split whose molecules hold elements the model's training
    set lacks (the marks :func:`atomloop.models.evaluate.metrics_of` writes into its metrics)."""
    notes = []
    for row in rows.models:
        for split in rows.predictions.get(row["model_id"], {}):
            metrics = row["metrics"].get(split, {})
            if metrics.get("unseen_elements"):
                notes.append(
                    f"Model {row['model_id']} ({row['architecture']}, round {row['round']}), {split}: "
                    f"{metrics['unseen_element_molecules']} of {metrics['energy']['n']} molecules hold elements absent "
                    f"from its training set ({', '.join(metrics['unseen_elements'])}). Their energies come from untrained "
                    "embeddings, so their errors, and the split's MAE, say nothing about the model's accuracy."
                )
    return notes


def prediction_rows(rows: RunRows) -> list[Row]:
    """One row per stored prediction of a labelled split: predicted and reference molecular
    energies (Hartree), the error (kcal/mol) and the elements unseen in the model's training."""
    out = []
    for model in rows.models:
        for split, found in rows.predictions.get(model["model_id"], {}).items():
            out += [
                {"round": model["round"], "model_id": model["model_id"], "architecture": model["architecture"], "split": split,
                 "molecule_id": p.molecule_id, "formula": rows.molecules[p.molecule_id]["formula"],
                 "predicted_hartree": p.energy, "reference_hartree": p.reference_energy,
                 "error_kcal_mol": (p.energy - p.reference_energy) * HARTREE_TO_KCAL_PER_MOL,
                 "unseen_elements": " ".join(unseen_symbols(p.numbers, model["training_elements"]))}
                for p in found
            ]
    return out


def element_error_rows(rows: RunRows) -> list[Row]:
    """Per model, predicted split and element (by atomic number): the MAE of atomic energies
    against the labels' (kcal/mol, meV) as evaluated into the model's metrics, and whether the
    element occurs in the model's training set. Models of total energies have none."""
    out = []
    for model in rows.models:
        for split in rows.predictions.get(model["model_id"], {}):
            per_element = model["metrics"].get(split, {}).get("atomic", {})
            out += [
                {"round": model["round"], "model_id": model["model_id"], "architecture": model["architecture"], "split": split,
                 "element": element, "n_atoms": per_element[element]["n"], "atomic_mae_kcal_mol": per_element[element]["mae_kcal_mol"],
                 "atomic_mae_mev": per_element[element]["mae_mev"], "in_training": element in model["training_elements"]}
                for element in sorted(per_element, key=atomic_numbers.__getitem__)
            ]
    return out


def selection_gallery(rows: RunRows) -> str:
    """Per round, 2-D drawings of the first :data:`DEPICTED_PER_ROUND` selected molecules by rank
    (their formula where RDKit perceives no bonds), under a heading that says how many are drawn."""
    parts = []
    for round_row in rows.rounds:
        picks = [s for s in rows.selections if s["round"] == round_row["round"]]
        if not picks:
            continue
        items = []
        for pick in picks[:DEPICTED_PER_ROUND]:
            molecule = rows.molecules[pick["molecule_id"]]
            svg = depiction_svg(molecule["numbers"], molecule["positions"], charge=molecule["charge"], smiles=molecule["smiles"])
            items.append((svg, pick["formula"], f"#{pick['rank']} {pick['formula']} (id {pick['molecule_id']})"))
        shown = f"the first {DEPICTED_PER_ROUND} by rank of {len(picks)}" if len(picks) > DEPICTED_PER_ROUND else f"all {len(picks)}"
        strategies = ", ".join(sorted({pick["strategy"] for pick in picks}))
        heading = html.escape(f"Round {round_row['round']}: {shown} molecules selected ({strategies})")
        parts.append(f"<h3>{heading}</h3>" + gallery(f"selected_round_{round_row['round']}", items))
    return "".join(parts)


def _baseline(rows: RunRows) -> str:
    """The random baseline's rounds and models, or a note that the store holds none."""
    if rows.baseline is None:
        if rows.run["parameters"].get("strategy") == "random":
            return note("This run selects at random: it is itself the baseline of runs with the same inputs.")
        return note("The store holds no run with this run's inputs and strategy 'random', so there is no random "
                    "baseline to compare with.")
    baseline, _ = _rounds(rows.baseline)
    return (note(f"Run {rows.baseline.run['name']}: the same inputs (pool, splits, seed, labels, models) with "
                 "molecules selected at random; drawn in grey in the plots above.")
            + table("baseline_rounds", ROUND_COLUMNS, baseline) + table("baseline_models", MODEL_COLUMNS, rows.baseline.models))


def run_report(rows: RunRows) -> str:
    """The HTML report of an active-learning run: rounds and how their AUC reads, AUC and
    errors over rounds beside the random baseline, parity plots and each prediction, atomic-energy
    errors per element, each model's learning curves, drawings of the selected molecules."""
    baseline_rounds, baseline_models = (rows.baseline.rounds, rows.baseline.models) if rows.baseline else ([], [])
    round_rows, anti_learning = _rounds(rows)
    elements = element_error_rows(rows)
    unseen_in_training = sorted({r["element"] for r in elements if not r["in_training"]}, key=atomic_numbers.__getitem__)
    sections = [
        ("Run", table("run", ("name", "status", "stop_reason", "created"), [rows.run])
         + table("inputs", ("parameter", "value"), [{"parameter": k, "value": fmt(v)} for k, v in sorted(rows.run["parameters"].items())])),
        ("Rounds", table("rounds", ROUND_COLUMNS, round_rows) + "".join(note(text) for text in anti_learning)),
        ("AUC over rounds", figure(auc_over_rounds(rows.rounds, baseline_rounds), "AUC over rounds")),
        ("Errors over rounds", figure(errors_over_rounds(rows.models, baseline_models), "errors over rounds")
         + table("models", MODEL_COLUMNS, rows.models) + "".join(note(text, warning=True) for text in unseen_element_notes(rows))),
        ("Random baseline", _baseline(rows)),
        ("Parity: predicted vs reference molecular energies (relative to a per-element fit of the references, kcal/mol; "
         "the table in Hartree)",
         figure(parity_plots(rows.models, rows.predictions), "parity plots per model")
         + table("predictions", PREDICTION_COLUMNS, prediction_rows(rows))),
        ("Atomic-energy errors per element (models of atomic energies, against the labels' atomic energies)",
         table("element_errors", RUN_ELEMENT_COLUMNS, elements)
         + (note(f"Elements absent from a model's training set ({', '.join(unseen_in_training)}): their atomic "
                 "energies come from untrained embeddings; in_training = false marks those rows.", warning=True)
            if unseen_in_training else "")),
        ("Learning curves", figure(model_learning_curves(rows.models, rows.curves), "learning curves per model")),
        ("Selected molecules", selection_gallery(rows) + table("selections", SELECTION_COLUMNS, rows.selections)),
    ]
    return page(f"Active-learning run {rows.run['name']}", sections)
