"""Plots of an active-learning run, drawn from the rows of :func:`atomloop.store.reports.run_rows`.

- :func:`auc_over_rounds`: adversarial AUC (pool vs training set) per round;
- :func:`errors_over_rounds`: test and OOD-test MAE of molecular energies (kcal/mol) per round;
- :func:`model_learning_curves`: each model's MAE (kcal/mol) per training epoch;
- :func:`parity_plots`: each model's predicted vs reference molecular energies, relative to a
  per-element fit (kcal/mol).

A run's random baseline (``RunRows.baseline``), when given, is drawn in grey beside the run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from ase.data import chemical_symbols
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from atomloop.models.names import MODEL_FOLD
from atomloop.study.plots import LINE_STYLES, empty_axes, log_y_axis
from atomloop.units import HARTREE_TO_KCAL_PER_MOL

if TYPE_CHECKING:
    from atomloop.store.registry import StoredPrediction
    from atomloop.store.reports import Row

BASELINE = "grey"  # colour of the random baseline
SPLIT_MAE = {"test": "test_mae_kcal_mol", "ood_test": "ood_mae_kcal_mol"}  # model-row column of each split's MAE
SPLIT_MARKERS = {"test": "o", "ood_test": "s"}


def _panels(model_rows: Sequence[Row], width: float, height: float) -> tuple[Figure, dict[int, object]]:
    """A figure with a panel per model, rounds down and architectures across: model id -> axes."""
    rounds = sorted({r["round"] for r in model_rows})
    architectures = sorted({r["architecture"] for r in model_rows})
    fig = Figure(figsize=(width * max(1, len(architectures)), height * max(1, len(rounds))), layout="constrained")
    axes = fig.subplots(max(1, len(rounds)), max(1, len(architectures)), squeeze=False)
    return fig, {r["model_id"]: axes[rounds.index(r["round"])][architectures.index(r["architecture"])] for r in model_rows}


def _round_axis(ax, rows: Sequence[Row]) -> None:
    """An x axis of rounds: integer ticks, half a round of margin either side."""
    ax.set_xlabel("round")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if rows:
        ax.set_xlim(min(r["round"] for r in rows) - 0.5, max(r["round"] for r in rows) + 0.5)


def auc_over_rounds(round_rows: Sequence[Row], baseline_rounds: Sequence[Row] = ()) -> Figure:
    """Adversarial AUC (pool vs training set) per round, with its bootstrap interval; the random
    baseline's shifted a little to the right (the two coincide while their training sets do)."""
    fig = Figure(figsize=(6.0, 3.8), layout="constrained")
    ax = fig.subplots()
    for rows, colour, label, shift in ((round_rows, "C0", "this run", 0.0), (baseline_rounds, BASELINE, "random baseline", 0.08)):
        rows = [r for r in rows if r["auc"] is not None]
        if rows:
            ax.errorbar([r["round"] + shift for r in rows], [r["auc"] for r in rows], color=colour, label=label,
                        yerr=[[r["auc"] - r["auc_low"] for r in rows], [r["auc_high"] - r["auc"] for r in rows]],
                        marker="o", capsize=3)
    ax.axhline(0.5, color="grey", linewidth=0.8, linestyle="--")
    ax.set(ylabel="adversarial AUC", title="Pool vs training set", ylim=(0.0, 1.05))
    _round_axis(ax, [*round_rows, *baseline_rounds])
    ax.grid(alpha=0.3)
    if baseline_rounds:
        ax.legend(fontsize="small")
    return fig


def errors_over_rounds(model_rows: Sequence[Row], baseline_models: Sequence[Row] = ()) -> Figure:
    """Test and OOD-test MAE (kcal/mol) per round and architecture; the random baseline's in grey."""
    fig = Figure(figsize=(6.0, 3.8), layout="constrained")
    ax = fig.subplots()
    architectures = sorted({r["architecture"] for r in [*model_rows, *baseline_models]})
    for rows, baseline in ((model_rows, False), (baseline_models, True)):
        by_arch: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            by_arch[row["architecture"]].append(row)
        for arch, arch_rows in sorted(by_arch.items()):
            for column, style in (("test_mae_kcal_mol", LINE_STYLES["random"]), ("ood_mae_kcal_mol", LINE_STYLES["adversarial"])):
                points = [(r["round"], r[column]) for r in arch_rows if r[column] is not None]
                if points:
                    ax.plot(*zip(*points), color=BASELINE if baseline else f"C{architectures.index(arch)}", linestyle=style,
                            marker="o", label=f"{'random baseline ' if baseline else ''}{arch} {column.split('_')[0]}")
    ax.set(ylabel="MAE (kcal/mol)", title="Errors over rounds")
    _round_axis(ax, [*model_rows, *baseline_models])
    log_y_axis(ax, "kcal/mol")
    ax.grid(alpha=0.3)
    if architectures:
        ax.legend(fontsize="small")
    return fig


def validation_curve(folds: Mapping[int, Sequence[Row]]) -> list[float]:
    """Validation MAE of molecular energies (kcal/mol) per epoch: the model's own (a hold-out),
    else the mean over its k-fold trainings (empty when it had neither)."""
    own = [r["valid_mae_kcal_mol"] for r in folds.get(MODEL_FOLD, [])]
    if own and None not in own:
        return own
    validation = [[r["valid_mae_kcal_mol"] for r in rows] for fold, rows in folds.items() if fold != MODEL_FOLD]
    return np.mean(validation, axis=0).tolist() if validation else []


def model_learning_curves(model_rows: Sequence[Row], curves: Mapping[int, Mapping[int, Sequence[Row]]]) -> Figure:
    """A small panel per model (rounds down, architectures across): MAE of molecular energies
    (kcal/mol) per epoch on the training molecules and on the validation molecules (the mean
    over the folds for a k-fold validation), the model's chosen epoch dotted."""
    fig, panels = _panels(model_rows, 3.2, 1.9)
    for row in model_rows:
        ax = panels[row["model_id"]]
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
            log_y_axis(ax, "kcal/mol")
        ax.legend(fontsize="x-small")
    return fig


def unseen_symbols(numbers: Sequence[int], training_elements: Sequence[str]) -> list[str]:
    """Symbols of the elements among atomic ``numbers`` that ``training_elements`` lack, by Z."""
    return [chemical_symbols[z] for z in sorted(set(int(z) for z in numbers)) if chemical_symbols[z] not in training_elements]


def composition_baseline(predictions: Sequence[StoredPrediction]) -> np.ndarray:
    """The energy (Hartree) a composition-only model gives each molecule: a per-element
    least-squares fit of the molecules' reference energies, shape (n_molecules,)."""
    elements = sorted({int(z) for p in predictions for z in p.numbers})
    counts = np.array([[list(p.numbers).count(z) for z in elements] for p in predictions], dtype=float)
    reference = np.array([p.reference_energy for p in predictions])
    per_element, *_ = np.linalg.lstsq(counts, reference, rcond=None)
    return counts @ per_element


def parity_plots(model_rows: Sequence[Row], predictions: Mapping[int, Mapping[str, Sequence[StoredPrediction]]]) -> Figure:
    """A panel per model (rounds down, architectures across): predicted against reference
    molecular energy of each predicted split (test, OOD test), both relative to a per-element fit
    of the panel's reference energies (:func:`composition_baseline`, kcal/mol; a total energy in
    Hartree spans hundreds of Hartree and hides every error), the diagonal dashed, molecules with
    elements absent from the model's training set ringed red; the legend gives each split's MAE
    (kcal/mol)."""
    fig, panels = _panels(model_rows, 3.4, 3.0)
    for row in model_rows:
        ax = panels[row["model_id"]]
        splits = predictions.get(row["model_id"], {})
        every = [p for found in splits.values() for p in found]
        baselines = np.split(composition_baseline(every), np.cumsum([len(f) for f in splits.values()])[:-1]) if every else []
        energies = []
        for (split, found), baseline in zip(splits.items(), baselines):
            reference = (np.array([p.reference_energy for p in found]) - baseline) * HARTREE_TO_KCAL_PER_MOL
            predicted = (np.array([p.energy for p in found]) - baseline) * HARTREE_TO_KCAL_PER_MOL
            energies += [*reference, *predicted]
            mae = row[SPLIT_MAE[split]]
            ax.scatter(reference, predicted, marker=SPLIT_MARKERS[split], alpha=0.7, s=18,
                       label=f"{split} (n={len(found)}" + (f", MAE {mae:.3g} kcal/mol)" if mae is not None else ")"))
            unseen = np.array([bool(unseen_symbols(p.numbers, row["training_elements"])) for p in found])
            if unseen.any():
                ax.scatter(reference[unseen], predicted[unseen], s=60, facecolors="none",
                           edgecolors="red", label=f"{split}: elements unseen in training")
        ax.set_title(f"round {row['round']} {row['architecture']} (model {row['model_id']})", fontsize="small")
        ax.set(xlabel="reference - composition fit (kcal/mol)", ylabel="predicted - composition fit (kcal/mol)")
        if every:
            ax.plot([min(energies), max(energies)], [min(energies), max(energies)], color="grey", linewidth=0.8, linestyle="--")
            ax.legend(fontsize="x-small")
            ax.grid(alpha=0.3)
        else:
            empty_axes(ax, "no stored predictions")
    return fig
