"""The HTML report of an active-learning run, from rows read by :func:`atomloop.store.reports.run_rows`.

It opens with one sentence saying what happened (:func:`summary_sentence`). Every number in the
report is a database value, or one line of arithmetic on them (a prediction's error, kcal/mol),
rounded for reading (errors to 3 significant digits, AUCs to 3 decimals, p-values as '0.010' or
'< 0.001', energies in Hartree to 5 decimals; the database keeps full precision); errors in
kcal/mol, meV/atom and meV as in the views. Selected molecules carry one running number, the
pick, over all rounds. Where a value needs words (an AUC below the permutation null, elements a
model never trained on, a log scale stretched by huge errors) a note beside it says what it means.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ase.data import atomic_numbers

from atomloop.report.depictions import depiction_svg
from atomloop.report.html import (
    Column,
    decimals,
    figure,
    fmt,
    gallery,
    note,
    p_value,
    page,
    significant,
    summary,
    table,
)
from atomloop.report.plots import (
    auc_over_rounds,
    errors_over_rounds,
    model_learning_curves,
    parity_plots,
    unseen_symbols,
)
from atomloop.select.stopping import ANTI_LEARNING, STOP_MARGIN, StopDecision, stopping_decision
from atomloop.units import HARTREE_TO_KCAL_PER_MOL

if TYPE_CHECKING:
    from atomloop.store.reports import Row, RunRows

AUC = decimals(3)
HARTREE = decimals(5)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _interval(value: tuple[float, float] | None) -> str:
    return "-" if value is None else f"{value[0]:.3f} - {value[1]:.3f}"


def hyperparameter_list(value: Mapping[str, Any]) -> str:
    """A model's hyper-parameters as a short 'key=value' list (nested keys joined by '.'), in key order."""
    def flat(mapping: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
        items = []
        for key, inner in mapping.items():
            items += flat(inner, f"{prefix}{key}.") if isinstance(inner, Mapping) else [(f"{prefix}{key}", inner)]
        return items
    return ", ".join(f"{key}={fmt(inner)}" for key, inner in sorted(flat(value)))


ROUND_COLUMNS = (
    Column("round", "Round"), Column("status", "Status"), Column("selected", "Selected"),
    Column("selected_total", "Selected so far"), Column("auc", "AUC", AUC), Column("auc_interval", "AUC 95 % interval", _interval),
    Column("p_value", "p-value", p_value), Column("null_auc_low", "Null AUC 2.5 % quantile", AUC), Column("reading", "Reading"),
)
MODEL_COLUMNS = (
    Column("round", "Round"), Column("model_id", "Model"), Column("status", "Status"), Column("architecture", "Architecture"),
    Column("target", "Target"), Column("labels", "Labels"), Column("n_train", "Training molecules"),
    Column("validation", "Validation"), Column("best_epoch", "Best epoch"),
    Column("test_mae_kcal_mol", "Test MAE (kcal/mol)", significant), Column("test_mae_mev_atom", "Test MAE (meV/atom)", significant),
    Column("ood_mae_kcal_mol", "OOD test MAE (kcal/mol)", significant),
    Column("ood_mae_mev_atom", "OOD test MAE (meV/atom)", significant),
    Column("hyperparameters", "Hyper-parameters", hyperparameter_list, wrap=True),
)
SELECTION_COLUMNS = (
    Column("pick", "Pick"), Column("round", "Round"), Column("molecule_id", "Molecule"), Column("formula", "Formula"),
    Column("name", "Name"), Column("strategy", "Strategy"), Column("score", "Score", significant),
)
PREDICTION_COLUMNS = (
    Column("round", "Round"), Column("model_id", "Model"), Column("architecture", "Architecture"), Column("split", "Split"),
    Column("molecule_id", "Molecule"), Column("formula", "Formula"), Column("predicted_hartree", "Predicted (Hartree)", HARTREE),
    Column("reference_hartree", "Reference (Hartree)", HARTREE), Column("error_kcal_mol", "Error (kcal/mol)", significant),
    Column("unseen_elements", "Elements not in training"),
)
RUN_ELEMENT_COLUMNS = (
    Column("round", "Round"), Column("model_id", "Model"), Column("architecture", "Architecture"), Column("split", "Split"),
    Column("element", "Element"), Column("n_atoms", "Atoms"), Column("atomic_mae_kcal_mol", "Atomic MAE (kcal/mol)", significant),
    Column("atomic_mae_mev", "Atomic MAE (meV)", significant), Column("in_training", "In training", _yes_no),
)
DEPICTED_PER_ROUND = 12  # selected molecules drawn per round (the first picks of the round)


def round_decision(row: Row, margin: float) -> StopDecision | None:
    """The round's adversarial validation read by the one stopping rule
    (:func:`atomloop.select.stopping.stopping_decision`; ``margin``: the run's AUC stop margin),
    None before its first selection."""
    return None if row["shift_test"] is None else stopping_decision(row["shift_test"], margin=margin)


def round_reading(row: Row, margin: float) -> str | None:
    """The verdict of :func:`round_decision`, None before the run's first selection."""
    decision = round_decision(row, margin)
    return None if decision is None else decision.verdict


def _margin(rows: RunRows) -> float:
    return rows.run["parameters"].get("auc_stop_margin", STOP_MARGIN)


def summary_sentence(rows: RunRows) -> str:
    """What happened, in one sentence: per architecture the test-set MAE of molecular energies
    (kcal/mol) of the first and the last round's model and the rounds between them, and how
    the last adversarial validation reads (a shift found, none left, or inconclusive)."""
    changes = []
    for architecture in dict.fromkeys(m["architecture"] for m in rows.models):  # in the order trained
        errors = [m for m in rows.models if m["architecture"] == architecture and m["test_mae_kcal_mol"] is not None]
        if not errors:
            continue
        first, last = min(errors, key=lambda m: m["round"]), max(errors, key=lambda m: m["round"])
        n = last["round"] - first["round"]
        if n == 0:
            changes.append(f"were {significant(first['test_mae_kcal_mol'])} kcal/mol after round {first['round']} ({architecture})")
            continue
        verb = "fell" if last["test_mae_kcal_mol"] < first["test_mae_kcal_mol"] else "rose"
        changes.append(f"{verb} from {significant(first['test_mae_kcal_mol'])} to {significant(last['test_mae_kcal_mol'])} "
                       f"kcal/mol in {n} round{'s' if n != 1 else ''} ({architecture})")
    opening = ("Test-set errors " + " and ".join(changes)) if changes else "No model has test-set errors yet"
    validated = [r for r in rows.rounds if r["auc"] is not None]
    if not validated:
        return opening + "."
    decision = round_decision(validated[-1], _margin(rows))
    reading = ("still found a shift" if decision.shift_detected
               else "found no shift left" if decision.stop else "was inconclusive")
    return f"{opening}; the last round's adversarial AUC ({validated[-1]['auc']:.3f}) {reading}."


def _rounds(rows: RunRows) -> tuple[list[Row], list[str]]:
    """The rounds with their reading, and a note per round whose AUC reads as anti-learning."""
    margin = _margin(rows)
    shown = [{**r, "reading": round_reading(r, margin),
              "auc_interval": None if r["auc"] is None else (r["auc_low"], r["auc_high"])} for r in rows.rounds]
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


def numbered_picks(rows: RunRows) -> list[Row]:
    """The run's selections in the order they were made (round, then rank), each with its
    running number ``pick`` (1 to the run's total selected) as the report writes it everywhere."""
    ordered = sorted(rows.selections, key=lambda s: (s["round"], s["rank"]))
    return [{**s, "pick": number} for number, s in enumerate(ordered, start=1)]


def selection_gallery(picks: Sequence[Row], rows: RunRows) -> str:
    """Per round, 2-D drawings of its first :data:`DEPICTED_PER_ROUND` picks (``picks``:
    :func:`numbered_picks`; their formula where RDKit perceives no molecule), under a heading
    that says which picks are drawn."""
    parts = []
    for round_row in rows.rounds:
        chosen = [s for s in picks if s["round"] == round_row["round"]]
        if not chosen:
            continue
        items = []
        for pick in chosen[:DEPICTED_PER_ROUND]:
            molecule = rows.molecules[pick["molecule_id"]]
            svg = depiction_svg(molecule["numbers"], molecule["positions"], charge=molecule["charge"], smiles=molecule["smiles"])
            items.append((svg, pick["formula"], f"pick {pick['pick']}: {pick['formula']} (id {pick['molecule_id']})"))
        drawn = chosen[:DEPICTED_PER_ROUND]
        shown = (f"picks {drawn[0]['pick']}-{drawn[-1]['pick']} of this round's {len(chosen)}" if len(chosen) > len(drawn)
                 else f"picks {drawn[0]['pick']}-{drawn[-1]['pick']}" if len(drawn) > 1 else f"pick {drawn[0]['pick']}")
        strategies = ", ".join(sorted({pick["strategy"] for pick in chosen}))
        heading = html.escape(f"Round {round_row['round']}: {shown} ({strategies})")
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
    picks = numbered_picks(rows)
    sections = [
        ("Run", summary(summary_sentence(rows))
         + table("run", (Column("name", "Name"), Column("status", "Status"), Column("stop_reason", "Stop reason"),
                         Column("created", "Created", lambda created: created[:19])), [rows.run])
         + table("inputs", (Column("parameter", "Parameter"), Column("value", "Value")),
                 [{"parameter": k, "value": fmt(v)} for k, v in sorted(rows.run["parameters"].items())])),
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
                 "energies come from untrained embeddings; 'In training: no' marks those rows.", warning=True)
            if unseen_in_training else "")),
        ("Learning curves", figure(model_learning_curves(rows.models, rows.curves), "learning curves per model")),
        ("Selected molecules (numbered in the order picked, over all rounds)",
         selection_gallery(picks, rows) + table("selections", SELECTION_COLUMNS, picks)),
    ]
    return page(f"Active-learning run {rows.run['name']}", sections)
