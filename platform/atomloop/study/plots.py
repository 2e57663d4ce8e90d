"""Plots of a study, drawn from the rows of the store's views (:func:`atomloop.store.reports.study_rows`).

- ``learning_curves``: test MAE of molecular energies (kcal/mol) against training-set size, one
  panel per split and target, a line per architecture (colour) and strategy (line style), error
  bars the spread (standard deviation) over seeds;
- ``error_vs_auc``: test MAE per atom (meV/atom) against the adversarial AUC between training
  and test set, one point per experiment;
- ``element_errors``: MAE of atomic energies per element (meV), per atomic target;
- ``partition_comparison``: AO- vs MO-based (and atomization-style) targets per split;
- ``atomic_weight_trade_off``: molecular-energy MAE (meV/atom) against the centred atomic MAE as
  a fraction of the element-mean baseline's, one panel per split, one line per atomic target
  through its atomic weights (0: the total-trained model), from
  :func:`atomloop.study.claims.trade_off_rows`.

Figures are built with :class:`matplotlib.figure.Figure` (no pyplot state, Agg rendering) and
saved as PNG. Error axes are logarithmic (:func:`log_y_axis`); where errors reach
:data:`HUGE_ERRORS` the axes say why such errors arise, and :func:`figure_warnings` reads that
warning back for the HTML page.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from ase import units
from ase.data import atomic_numbers
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

from atomloop.study.claims import trade_off_rows

if TYPE_CHECKING:
    from atomloop.store.reports import Row, StudyRows
LINE_STYLES = {"random": "-", "adversarial": "--", "committee": ":"}
MARKERS = {"in-distribution": "o", "size-transfer": "s", "group-transfer": "^", "larger-molecules": "D"}
PLOTS = ("learning_curves", "error_vs_auc", "element_errors", "partition_comparison", "atomic_weight_trade_off")
KCAL_MOL_IN_MEV = units.kcal / units.mol * 1000.0  # 1 kcal/mol = 43.36 meV
# Errors beyond any fit (an element missing from training is predicted from an untrained embedding
# and a reference energy of 0: ~1e5 kcal/mol): 1e4 kcal/mol for a molecular or atomic energy,
# 1e3 kcal/mol for the per-atom error of a molecular energy.
HUGE_ERRORS = {"kcal/mol": 1e4, "meV": 1e4 * KCAL_MOL_IN_MEV, "meV/atom": 1e3 * KCAL_MOL_IN_MEV}
WARNING_GID = "huge-errors-warning"  # gid (with ":<unit>") of the text artist that carries an axes' warning


def _ordered(values) -> list:
    return sorted(set(values), key=str)


def _colours(keys: Sequence[str]) -> dict[str, str]:
    return {key: f"C{i}" for i, key in enumerate(keys)}


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard deviation (NaN, 0 for no values)."""
    return (float(np.mean(values)), float(np.std(values))) if values else (float("nan"), 0.0)


def _grouped_bars(ax, positions: Sequence[str], series: dict[str, list[tuple[float, float]]]) -> None:
    """One bar per series at each position, with its spread as an error bar."""
    width = 0.8 / max(1, len(series))
    for k, (label, stats) in enumerate(series.items()):
        offset = (k - (len(series) - 1) / 2) * width
        ax.bar(np.arange(len(positions)) + offset, [m for m, _ in stats], width, yerr=[sd for _, sd in stats],
               capsize=2, label=label)
    ax.set_xticks(np.arange(len(positions)), positions)


def huge_error_warning(largest: float, unit: str) -> str | None:
    """Why a log-scale axis of errors in ``unit`` (a key of :data:`HUGE_ERRORS`) reaching
    ``largest`` spans so many decades; None below the unit's threshold."""
    if not largest >= HUGE_ERRORS[unit]:
        return None
    return (f"Log scale: errors reach {largest:.3g} {unit}, beyond any fitting error. Errors this large usually "
            "mean molecules with elements absent from the training set (untrained embeddings, reference energy 0), "
            "not a poor fit.")


def log_y_axis(ax, unit: str | None = None) -> None:
    """Logarithmic y axis labelled at 1, 2, 5 x 10^n in plain numbers (readable even when
    the data span less than a decade). With the ``unit`` of plotted errors, call it after
    plotting: data reaching :data:`HUGE_ERRORS` get a short warning on the axes (its gid names
    the unit, for :func:`figure_warnings`)."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    largest = float(ax.dataLim.y1)
    if unit and huge_error_warning(largest, unit):
        ax.text(0.02, 0.97, f"log scale: errors reach {largest:.3g} {unit}\n(elements unseen in training?)",
                transform=ax.transAxes, ha="left", va="top", color="#c33", fontsize="x-small", gid=f"{WARNING_GID}:{unit}",
                bbox={"facecolor": "white", "edgecolor": "#c33", "alpha": 0.85})


def figure_warnings(fig: Figure) -> list[str]:
    """One :func:`huge_error_warning` per unit of the axes :func:`log_y_axis` warned on, for
    the largest error among them."""
    largest: dict[str, float] = {}
    for ax in fig.axes:
        for text in ax.texts:
            kind, _, unit = (text.get_gid() or "").partition(":")
            if kind == WARNING_GID:
                largest[unit] = max(largest.get(unit, 0.0), float(ax.dataLim.y1))
    return [huge_error_warning(value, unit) for unit, value in largest.items()]


def empty_axes(ax, message: str) -> None:
    """An axes without data: ``message`` in its middle, no frame."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_axis_off()


def learning_curves(summary: Sequence[Row]) -> Figure:
    """Test MAE (kcal/mol) vs training-set size per split (rows) and target (columns)."""
    splits, targets = _ordered(r["split"] for r in summary), _ordered(r["target"] for r in summary)
    sizes = sorted({r["training_size"] for r in summary})
    colours = _colours(_ordered(r["architecture"] for r in summary))
    fig = Figure(figsize=(4.0 * max(1, len(targets)), 3.2 * max(1, len(splits))), layout="constrained")
    axes = fig.subplots(max(1, len(splits)), max(1, len(targets)), squeeze=False)
    for i, split in enumerate(splits):
        for j, target in enumerate(targets):
            ax = axes[i][j]
            lines: dict[tuple[str, str, float | None], list[Row]] = defaultdict(list)
            for r in summary:
                if r["split"] == split and r["target"] == target:
                    lines[(r["architecture"], r["strategy"], r.get("atomic_weight"))].append(r)
            weighted = len({weight for _, _, weight in lines}) > 1
            for (arch, strategy, weight), rows in sorted(lines.items()):
                rows.sort(key=lambda r: r["training_size"])
                ax.errorbar(
                    [r["training_size"] for r in rows], [r["mae_kcal_mol_mean"] for r in rows],
                    yerr=[r["mae_kcal_mol_std"] or 0.0 for r in rows], color=colours[arch],
                    linestyle=LINE_STYLES.get(strategy, "-"), marker="o", capsize=3,
                    label=f"{arch}, {strategy}" + (f", w={weight:g}" if weighted else ""),
                )
            ax.set(title=f"{split}: {target}", xlabel="training molecules", ylabel="test MAE (kcal/mol)", xscale="log")
            log_y_axis(ax, "kcal/mol")
            ax.set_xticks(sizes, [str(n) for n in sizes])
            ax.minorticks_off()
            ax.grid(alpha=0.3)
    if summary:
        axes[0][-1].legend(fontsize="small")
    else:
        empty_axes(axes[0][0], "no finished experiments")
    return fig


def error_vs_auc(experiments: Sequence[Row]) -> Figure:
    """Test MAE per atom (meV/atom) vs adversarial AUC (training vs test set), one point per
    experiment: colour = target, marker = split."""
    done = [r for r in experiments if r["status"] == "done" and r["auc"] is not None]
    colours = _colours(_ordered(r["target"] for r in done))
    splits = _ordered(r["split"] for r in done)
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.subplots()
    if not done:
        empty_axes(ax, "no finished experiments")
        return fig
    for split in splits:
        rows = [r for r in done if r["split"] == split]
        ax.scatter([r["auc"] for r in rows], [r["mae_mev_atom"] for r in rows], c=[colours[r["target"]] for r in rows],
                   marker=MARKERS.get(split, "o"), alpha=0.7, edgecolors="none")
    ax.axvline(0.5, color="grey", linewidth=0.8)
    ax.set(xlabel="adversarial AUC, training vs test set (0.5: indistinguishable)", ylabel="test MAE (meV/atom)",
           title="Test error vs distance from the training data")
    log_y_axis(ax, "meV/atom")
    ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=c, marker="o", linestyle="", label=t) for t, c in colours.items()]
    handles += [Line2D([], [], color="grey", marker=MARKERS.get(s, "o"), linestyle="", label=s) for s in splits]
    ax.legend(handles=handles, fontsize="small")
    return fig


def _representative(rows: Sequence[Row]) -> list[Row]:
    """The rows of the largest training size, random strategy and in-distribution split when
    present (the control), else of whatever strategy/split there is."""
    if not rows:
        return []
    size = max(r["training_size"] for r in rows)
    rows = [r for r in rows if r["training_size"] == size]
    for key, preferred in (("strategy", "random"), ("split", "in-distribution")):
        if any(r[key] == preferred for r in rows):
            rows = [r for r in rows if r[key] == preferred]
    return rows


def element_errors(element_rows: Sequence[Row]) -> Figure:
    """MAE of atomic energies (meV) per element and atomic target, mean and standard deviation
    over seeds and architectures (largest training set, random strategy, in-distribution split)."""
    rows = _representative(element_rows)
    fig = Figure(figsize=(7.0, 4.5), layout="constrained")
    ax = fig.subplots()
    if not rows:
        empty_axes(ax, "no atomic-energy targets in this study")
        return fig
    elements = sorted({r["element"] for r in rows}, key=atomic_numbers.__getitem__)
    series = {
        target: [_mean_std([r["atomic_mae_mev"] for r in rows if r["target"] == target and r["element"] == e]) for e in elements]
        for target in _ordered(r["target"] for r in rows)
    }
    _grouped_bars(ax, elements, series)
    first = rows[0]
    log_y_axis(ax, "meV")
    ax.set(ylabel="atomic-energy MAE (meV)",
           title=f"Atomic-energy errors per element ({first['split']}, {first['strategy']}, n={first['training_size']})")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def partition_comparison(experiments: Sequence[Row]) -> Figure:
    """AO vs MO partitions: molecular-energy MAE (kcal/mol) and atomic-energy MAE (meV) per
    split and atomic target, mean and standard deviation over seeds and architectures (largest
    size, random strategy)."""
    atomic = [r for r in experiments if r["status"] == "done" and r["scheme"] is not None]
    size = max((r["training_size"] for r in atomic), default=0)
    chosen = [r for r in atomic if r["training_size"] == size]
    if any(r["strategy"] == "random" for r in chosen):
        chosen = [r for r in chosen if r["strategy"] == "random"]
    fig = Figure(figsize=(10.0, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    if not chosen:
        for ax in axes:
            empty_axes(ax, "no atomic-energy targets in this study")
        return fig
    splits, targets = _ordered(r["split"] for r in chosen), _ordered(r["target"] for r in chosen)
    panels = ((axes[0], "mae_kcal_mol", "molecular energy MAE", "kcal/mol"), (axes[1], "atomic_mae_mev", "atomic energy MAE", "meV"))
    for ax, column, label, unit in panels:
        series = {
            target: [_mean_std([r[column] for r in chosen if r["split"] == s and r["target"] == target]) for s in splits]
            for target in targets
        }
        _grouped_bars(ax, splits, series)
        ax.set(ylabel=f"{label} ({unit})")
        log_y_axis(ax, unit)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize="small")
    fig.suptitle(f"AO- vs MO-based atomic energies (n={size} training molecules, mean over seeds and architectures)")
    return fig


def atomic_weight_trade_off(trade_off: Sequence[Mapping]) -> Figure:
    """Molecular MAE (meV/atom) vs centred atomic MAE / baseline MAE per split (panels), a line
    per atomic target and architecture through its weights (labelled), mean over seeds; at the
    largest training size, the random strategy where the study has it."""
    size = max((r["training_size"] for r in trade_off), default=0)
    chosen = [r for r in trade_off if r["training_size"] == size]
    if any(r["strategy"] == "random" for r in chosen):
        chosen = [r for r in chosen if r["strategy"] == "random"]
    splits = _ordered(r["split"] for r in chosen)
    fig = Figure(figsize=(5.0 * max(1, len(splits)), 4.2), layout="constrained")
    axes = fig.subplots(1, max(1, len(splits)), squeeze=False)[0]
    if not chosen:
        empty_axes(axes[0], "no atomic-energy targets with a total-trained model at weight 0")
        return fig
    colours = _colours(_ordered(r["target"] for r in chosen))
    styles = dict(zip(_ordered(r["architecture"] for r in chosen), ("-", "--", ":", "-.")))
    for ax, split in zip(axes, splits):
        lines: dict[tuple[str, str], list[Mapping]] = defaultdict(list)
        for r in chosen:
            if r["split"] == split:
                lines[(r["target"], r["architecture"])].append(r)
        for (target, arch), points in sorted(lines.items()):
            points.sort(key=lambda r: r["atomic_weight"])
            x, y = [r["atomic_fraction"] for r in points], [r["mev_atom"] for r in points]
            ax.plot(x, y, color=colours[target], linestyle=styles[arch], marker="o", label=f"{target}, {arch}")
            for r in points:
                ax.annotate(f"{r['atomic_weight']:g}", (r["atomic_fraction"], r["mev_atom"]), fontsize="x-small",
                            textcoords="offset points", xytext=(3, 3))
        ax.axvline(1.0, color="grey", linewidth=0.8)
        ax.set(title=f"{split} (n={size})", xlabel="centred atomic MAE / element-mean baseline MAE",
               ylabel="molecular MAE (meV/atom)")
        log_y_axis(ax, "meV/atom")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    fig.suptitle("Atomic-weight trade-off (labels: weight of the atomic term; grey line: the baseline)")
    return fig


def study_figures(rows: StudyRows) -> dict[str, Figure]:
    """Every plot of a study by name (see ``PLOTS``), from its view rows."""
    experiments = rows.views["study_experiments"]
    return {
        "learning_curves": learning_curves(rows.views["study_summary"]),
        "error_vs_auc": error_vs_auc(experiments),
        "element_errors": element_errors(rows.views["study_element_errors"]),
        "partition_comparison": partition_comparison(experiments),
        "atomic_weight_trade_off": atomic_weight_trade_off(
            trade_off_rows(experiments, rows.views["study_atomic_errors"])
        ),
    }


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes (100 dpi)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def write_plots(rows: StudyRows, out_dir: Path) -> list[Path]:
    """Write every plot of a study as ``<out_dir>/<name>.png``; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in study_figures(rows).items():
        path = out_dir / f"{name}.png"
        path.write_bytes(png_bytes(fig))
        paths.append(path)
    return paths
