"""HTML reports of a study or of an active-learning run, from rows read by :mod:`atomloop.store.reports`.

Every number in a report is a database value written with :func:`atomloop.study.html.fmt`
(6 significant digits); errors in kcal/mol, meV/atom and meV as in the views.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from atomloop.models.names import MODEL_FOLD
from atomloop.study.claims import (
    CLAIM_1_COLUMNS,
    CLAIM_2_COLUMNS,
    MOLECULAR_COST_COLUMNS,
    claim_1_rows,
    claim_2_rows,
    molecular_cost_rows,
)
from atomloop.study.html import figure, page, table
from atomloop.study.plots import LINE_STYLES, log_y_axis, study_figures, write_plots

if TYPE_CHECKING:
    from atomloop.store.reports import Row, RunRows, StudyRows

EXPERIMENT_COLUMNS = (
    "experiment_id", "split", "target", "architecture", "strategy", "training_size", "seed", "status",
    "n_train", "n_test", "auc", "auc_low", "auc_high", "mae_kcal_mol", "rmse_kcal_mol", "mae_mev_atom",
    "atomic_mae_kcal_mol", "atomic_mae_mev", "model_id",
)
SUMMARY_COLUMNS = (
    "split", "target", "architecture", "strategy", "training_size", "n_seeds", "auc_mean",
    "mae_kcal_mol_mean", "mae_kcal_mol_std", "mae_mev_atom_mean", "mae_mev_atom_std", "atomic_mae_mev_mean", "atomic_mae_mev_std",
)
ELEMENT_COLUMNS = ("experiment_id", "split", "target", "architecture", "strategy", "training_size", "seed", "element", "n_atoms", "atomic_mae_kcal_mol", "atomic_mae_mev")
GROUP_COLUMNS = (
    "experiment_id", "split", "target", "architecture", "strategy", "training_size", "seed", "functional_group",
    "n_molecules", "n_atoms", "mae_kcal_mol", "mae_mev_atom", "atomic_mae_kcal_mol", "atomic_mae_mev",
)
ATOMIC_ERROR_COLUMNS = (
    "experiment_id", "split", "target", "architecture", "strategy", "training_size", "seed", "reference_scheme",
    "environment", "n_atoms", "mae_kcal_mol", "centred_mae_kcal_mol",
)
ROUND_COLUMNS = ("round", "status", "selected", "selected_total", "auc", "auc_low", "auc_high")
MODEL_COLUMNS = (
    "round", "model_id", "status", "architecture", "target", "labels", "n_train", "validation", "best_epoch",
    "test_mae_kcal_mol", "test_mae_mev_atom", "ood_mae_kcal_mol", "ood_mae_mev_atom", "hyperparameters",
)
SELECTION_COLUMNS = ("round", "rank", "molecule_id", "formula", "name", "strategy", "score")

_SORT = ("split", "target", "architecture", "strategy", "training_size", "seed")


def _sorted(rows: list[dict], keys=_SORT) -> list[dict]:
    return sorted(rows, key=lambda r: tuple(str(r[k]) if isinstance(r[k], str) else r[k] for k in keys if k in r))


def study_report(rows: StudyRows) -> str:
    """The HTML report of a study: inputs, the claims' paired comparisons
    (:mod:`atomloop.study.claims`), summary over seeds, every experiment, atomic errors against
    every scheme, errors per element and functional group, and the plots."""
    study, views, name = rows.study, rows.views, rows.study["name"]
    parameters = [
        {"parameter": k, "value": v if isinstance(v, str) else json.dumps(v)} for k, v in sorted(study["parameters"].items())
    ]
    experiments = _sorted(views["study_experiments"])
    atomic_errors = views["study_atomic_errors"]
    every_atom = _sorted([r for r in atomic_errors if r["element"] == "all"], _SORT + ("reference_scheme", "environment"))
    figures = study_figures(rows)
    sections = [
        ("Study", table("study", ("name", "status", "settings_hash", "created", "finished"), [study])
         + table("parameters", ("parameter", "value"), parameters)),
        ("Claim 1: atomic energies from atomic- vs total-trained models (element-centred MAE, kcal/mol; "
         "difference atomic - total paired over seeds, 95 % t interval)",
         table("claim_1", CLAIM_1_COLUMNS, claim_1_rows(atomic_errors))),
        ("Claim 1, the other side: molecular energies of atomic- vs total-trained models (per-atom MAE, meV/atom; "
         "difference atomic - total paired over seeds, 95 % t interval)",
         table("molecular_cost", MOLECULAR_COST_COLUMNS, molecular_cost_rows(views["study_experiments"]))),
        ("Claim 2: size transfer (per-atom MAE, size-transfer / in-distribution, paired over seeds, 95 % interval)",
         table("claim_2", CLAIM_2_COLUMNS, claim_2_rows(views["study_experiments"]))),
        ("Learning curves", figure(figures["learning_curves"], "learning curves")),
        ("Error vs adversarial AUC", figure(figures["error_vs_auc"], "error vs AUC")),
        ("AO vs MO partitions", figure(figures["partition_comparison"], "partition comparison")),
        ("Atomic-energy errors per element", figure(figures["element_errors"], "per-element errors")),
        ("Summary over seeds (mean and standard deviation)", table("summary", SUMMARY_COLUMNS, _sorted(views["study_summary"]))),
        ("Experiments", table("experiments", EXPERIMENT_COLUMNS, experiments)),
        ("Atomic-energy errors of every model against every scheme (all atoms; per element in study_atomic_errors)",
         table("atomic_errors", ATOMIC_ERROR_COLUMNS, every_atom)),
        ("Errors per element", table("element_errors", ELEMENT_COLUMNS, _sorted(views["study_element_errors"], _SORT + ("element",)))),
        ("Errors per functional group", table("group_errors", GROUP_COLUMNS, _sorted(views["study_group_errors"], _SORT + ("functional_group",)))),
    ]
    return page(f"Transferability study {name}", sections)


def auc_over_rounds(round_rows: list[dict]) -> Figure:
    """Adversarial AUC (pool vs training set) per round, with its bootstrap interval."""
    fig = Figure(figsize=(6.0, 3.8), layout="constrained")
    ax = fig.subplots()
    rows = [r for r in round_rows if r["auc"] is not None]
    ax.errorbar([r["round"] for r in rows], [r["auc"] for r in rows],
                yerr=[[r["auc"] - r["auc_low"] for r in rows], [r["auc_high"] - r["auc"] for r in rows]], marker="o", capsize=3)
    ax.axhline(0.5, color="grey", linewidth=0.8, linestyle="--")
    ax.set(xlabel="round", ylabel="adversarial AUC", title="Pool vs training set", ylim=(0.0, 1.05))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    return fig


def errors_over_rounds(model_rows: list[dict]) -> Figure:
    """Test and OOD-test MAE (kcal/mol) per round and architecture."""
    fig = Figure(figsize=(6.0, 3.8), layout="constrained")
    ax = fig.subplots()
    by_arch: dict[str, list[dict]] = defaultdict(list)
    for row in model_rows:
        by_arch[row["architecture"]].append(row)
    for i, (arch, rows) in enumerate(sorted(by_arch.items())):
        for column, style in (("test_mae_kcal_mol", LINE_STYLES["random"]), ("ood_mae_kcal_mol", LINE_STYLES["adversarial"])):
            points = [(r["round"], r[column]) for r in rows if r[column] is not None]
            if points:
                ax.plot(*zip(*points), color=f"C{i}", linestyle=style, marker="o", label=f"{arch} {column.split('_')[0]}")
    ax.set(xlabel="round", ylabel="MAE (kcal/mol)", title="Errors over rounds")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    log_y_axis(ax)
    ax.grid(alpha=0.3)
    if by_arch:
        ax.legend(fontsize="small")
    return fig


def validation_curve(folds: dict[int, list[Row]]) -> list[float]:
    """Validation MAE of molecular energies (kcal/mol) per epoch: the model's own (a hold-out),
    else the mean over its k-fold trainings (empty when it had neither)."""
    own = [r["valid_mae_kcal_mol"] for r in folds.get(MODEL_FOLD, [])]
    if own and None not in own:
        return own
    validation = [[r["valid_mae_kcal_mol"] for r in rows] for fold, rows in folds.items() if fold != MODEL_FOLD]
    return np.mean(validation, axis=0).tolist() if validation else []


def model_learning_curves(model_rows: list[dict], curves: dict[int, dict[int, list[Row]]]) -> Figure:
    """A small panel per model (rounds down, architectures across): MAE of molecular energies
    (kcal/mol) per epoch on the training molecules and on the validation molecules (the mean
    over the folds for a k-fold validation), the model's chosen epoch dotted."""
    rounds = sorted({r["round"] for r in model_rows})
    architectures = sorted({r["architecture"] for r in model_rows})
    fig = Figure(figsize=(3.2 * max(1, len(architectures)), 1.9 * max(1, len(rounds))), layout="constrained")
    axes = fig.subplots(max(1, len(rounds)), max(1, len(architectures)), squeeze=False)
    for row in model_rows:
        ax = axes[rounds.index(row["round"])][architectures.index(row["architecture"])]
        folds = curves.get(row["model_id"], {})
        own = folds.get(MODEL_FOLD, [])
        ax.plot([r["epoch"] for r in own], [r["train_mae_kcal_mol"] for r in own], color="C0", label="train")
        validation = validation_curve(folds)
        ax.plot(range(1, len(validation) + 1), validation, color="C1", label="valid (k-fold mean)" if row["validation"] == "k-fold" else "valid")
        if row["best_epoch"]:
            ax.axvline(row["best_epoch"], color="grey", linewidth=0.8, linestyle=":")
        ax.set_title(f"round {row['round']} {row['architecture']} (model {row['model_id']})", fontsize="small")
        ax.set(xlabel="epoch", ylabel="MAE (kcal/mol)")
        if own or validation:
            log_y_axis(ax)
        ax.legend(fontsize="x-small")
    return fig


def run_report(rows: RunRows) -> str:
    """The HTML report of an active-learning run: rounds, AUC and errors over rounds, each
    model's learning curves, the molecules selected in each round with their formulas."""
    round_rows, model_rows, selection_rows, name = rows.rounds, rows.models, rows.selections, rows.run["name"]
    sections = [
        ("Run", table("run", ("name", "status", "stop_reason", "created"), [rows.run])),
        ("Rounds", table("rounds", ROUND_COLUMNS, round_rows)),
        ("AUC over rounds", figure(auc_over_rounds(round_rows), "AUC over rounds")),
        ("Errors over rounds", figure(errors_over_rounds(model_rows), "errors over rounds") + table("models", MODEL_COLUMNS, model_rows)),
        ("Learning curves", figure(model_learning_curves(model_rows, rows.curves), "learning curves per model")),
        ("Selected molecules", table("selections", SELECTION_COLUMNS, selection_rows)),
    ]
    return page(f"Active-learning run {name}", sections)


def write_study_outputs(rows: StudyRows, out_dir: Path) -> list[Path]:
    """Write the study's plots (``<name>.png``) and ``report.html`` into ``out_dir``."""
    paths = write_plots(rows, out_dir)
    report = out_dir / "report.html"
    report.write_text(study_report(rows), encoding="utf-8")
    return [*paths, report]
