"""The benchmark's outputs from its per-seed result files: ``summary.json``, a markdown table and
learning-curve plots (MAE against labels, log-log, one line per strategy with its 95 % band)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from atomloop.benchmark.campaign import ORACLE_BOUND
from atomloop.benchmark.endpoints import (
    NON_INFERIORITY_MARGIN,
    PairedRatio,
    final_ratio,
    holm,
    paired_ratio,
    saving_factor,
)

SEED_FILE = "seed-{seed}.json"


def read_seeds(out: Path) -> list[dict]:
    """Every per-seed result file in ``out`` (ascending seed)."""
    seeds = [json.loads(p.read_text()) for p in out.glob("seed-*.json")]
    return sorted(seeds, key=lambda s: s["seed"])


def _curve(campaign: dict, key: str, metric: str = "mae", target: str | None = None) -> list[float]:
    if target is not None:
        return [r["targets"][target][metric] for r in campaign["rounds"]]
    return [r[key][metric] for r in campaign["rounds"]]


def _complete(seeds: list[dict], strategy: str) -> list[dict]:
    return [s for s in seeds if strategy in s["strategies"] and "random" in s["strategies"]]


def _ratio_dict(ratio: PairedRatio) -> dict:
    return {"value": ratio.value, "low": ratio.low, "high": ratio.high, "p_value": ratio.p_value}


def summarize(seeds: list[dict]) -> dict:
    """``summary.json``'s content (see :mod:`atomloop.benchmark`)."""
    names = sorted({name for s in seeds for name in s["strategies"]} - {"random"})
    targets = seeds[0]["config"]["targets"] if seeds else []
    rows: dict[str, dict] = {}
    for name in names:
        paired = _complete(seeds, name)
        if not paired:
            continue
        labels = paired[0]["config"]["budgets"]
        saving = paired_ratio([saving_factor(_curve(s["strategies"]["random"], "target"),
                                             _curve(s["strategies"][name], "target"), labels) for s in paired])
        secondary = {
            metric: paired_ratio([final_ratio(_curve(s["strategies"]["random"], "in_distribution", metric),
                                              _curve(s["strategies"][name], "in_distribution", metric))
                                  for s in paired])
            for metric in ("mae", "rmse", "p95", "max")
        }
        per_target = {
            t["name"]: _ratio_dict(paired_ratio([
                saving_factor(_curve(s["strategies"]["random"], "", target=t["name"]),
                              _curve(s["strategies"][name], "", target=t["name"]), labels) for s in paired]))
            for t in targets
        }
        seconds = [r["selection_seconds"] for s in paired for r in s["strategies"][name]["rounds"]
                   if "selection_seconds" in r]
        rows[name] = {
            "saving_factor": saving.value, "low": saving.low, "high": saving.high, "seeds": saving.seeds,
            "p_value": saving.p_value, "in_distribution_ratio": secondary["mae"].value,
            "in_distribution_low": secondary["mae"].low, "in_distribution_high": secondary["mae"].high,
            "non_inferior": bool(secondary["mae"].high < NON_INFERIORITY_MARGIN),
            "rmse_ratio": secondary["rmse"].value, "p95_ratio": secondary["p95"].value,
            "max_ratio": secondary["max"].value, "seconds_per_round": float(np.mean(seconds)) if seconds else 0.0,
            "targets": per_target,
        }
    compared = {name: row["p_value"] for name, row in rows.items() if name != ORACLE_BOUND}
    for name, adjusted in holm(compared).items():
        rows[name]["holm_p"] = adjusted
    winners = [name for name, row in rows.items() if name != ORACLE_BOUND and row["saving_factor"] > 1
               and row.get("holm_p", 1.0) < 0.05 and row["non_inferior"]]
    default = max(winners, key=lambda n: rows[n]["saving_factor"]) if winners else "random"
    return {"default_strategy": default, "strategies": rows,
            "oracle_bound": rows.get(ORACLE_BOUND), "seeds": [s["seed"] for s in seeds],
            "targets": [t["name"] for t in targets],
            "budgets": seeds[0]["config"]["budgets"] if seeds else []}


def _cell(value: float, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def markdown(summary: dict) -> str:
    """The results table: saving factors, in-distribution ratios, cost."""
    lines = [
        f"Seeds {', '.join(map(str, summary['seeds']))}; targets {', '.join(summary['targets'])}; budgets "
        f"{', '.join(map(str, summary['budgets']))}. Default strategy: **{summary['default_strategy']}**.",
        "",
        "| strategy | saving factor on the target [95 % CI] | Holm p | in-distribution MAE ratio [95 % CI] | "
        "non-inferior (< 1.05) | RMSE ratio | p95 ratio | max ratio | selection s/round |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in sorted(summary["strategies"].items(), key=lambda item: -item[1]["saving_factor"]):
        label = f"{name} (upper bound)" if name == ORACLE_BOUND else name
        lines.append(
            f"| {label} | {_cell(row['saving_factor'])} [{_cell(row['low'])}, {_cell(row['high'])}] | "
            f"{_cell(row.get('holm_p'), 3)} | {_cell(row['in_distribution_ratio'], 3)} "
            f"[{_cell(row['in_distribution_low'], 3)}, {_cell(row['in_distribution_high'], 3)}] | "
            f"{'yes' if row['non_inferior'] else 'no'} | {_cell(row['rmse_ratio'], 3)} | {_cell(row['p95_ratio'], 3)} | "
            f"{_cell(row['max_ratio'], 3)} | {_cell(row['seconds_per_round'], 1)} |"
        )
    lines += ["", "Saving factor per target [95 % CI]:", "",
              "| strategy | " + " | ".join(summary["targets"]) + " |", "|---|" + "---|" * len(summary["targets"])]
    for name, row in sorted(summary["strategies"].items()):
        cells = [f"{_cell(t['value'])} [{_cell(t['low'])}, {_cell(t['high'])}]" for t in row["targets"].values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_curves(seeds: list[dict], path: Path) -> None:
    """Learning curves on the target set(s) and in distribution (geometric mean over seeds, 95 % band;
    the y axis ends at twice the highest mean from the second budget on)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import stats

    targets = [t["name"] for t in seeds[0]["config"]["targets"]]
    panels = [("target", None, "all targets"), *(("", t, f"target {t}") for t in targets),
              ("in_distribution", None, "in distribution")]
    names = sorted({n for s in seeds for n in s["strategies"]})
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8), squeeze=False)
    for axis, (key, target, title) in zip(axes[0], panels, strict=True):
        highest = 0.0
        for name in names:
            runs = [s["strategies"][name] for s in seeds if name in s["strategies"]]
            labels = runs[0]["budgets"]
            logs = np.log([_curve(r, key, target=target) for r in runs])
            mean = logs.mean(axis=0)
            half = (stats.t.ppf(0.975, len(runs) - 1) * logs.std(axis=0, ddof=1) / np.sqrt(len(runs))
                    if len(runs) > 1 else np.zeros_like(mean))
            style = {"linestyle": "--"} if name == ORACLE_BOUND else {}
            (line,) = axis.plot(labels, np.exp(mean), marker="o", markersize=3, label=name, **style)
            axis.fill_between(labels, np.exp(mean - half), np.exp(mean + half), color=line.get_color(), alpha=0.15)
            if name == "random":
                axis.axhline(np.exp(mean[-1]), color=line.get_color(), linestyle=":", linewidth=1)
            highest = max(highest, float(np.exp(mean[1:]).max()))
        # the first budget's errors can be orders of magnitude higher (an element not yet labelled): off the axis
        axis.set(xscale="log", yscale="log", xlabel="labels", ylabel="MAE (kcal/mol)", title=title)
        axis.set_ylim(top=2.0 * highest)
    axes[0][0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_report(out: Path) -> dict:
    """``summary.json``, ``results.md`` and ``learning-curves.png`` from the seed files in ``out``."""
    seeds = read_seeds(out)
    summary = summarize(seeds)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=True) + "\n")
    (out / "results.md").write_text(markdown(summary))
    plot_curves(seeds, out / "learning-curves.png")
    return summary
