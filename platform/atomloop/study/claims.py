"""The study's answers to the paper's claims, each a paired comparison over seeds with a 95 %
interval, computed from the rows of the study views (:mod:`atomloop.store.reports`).

Pairs: two experiments are a pair when they share split, architecture, strategy, training-set
size and seed, so they trained on the same molecules and were tested on the same ones. For n
pairs with differences d_k, the interval is mean(d) ± t_{0.975, n-1} · sd(d) / sqrt(n)
(Student's t; none for n < 2). An interval that excludes 0 is a difference at the 5 % level.

* **Claim 1** (atomic energies train better local predictions): per reference scheme S, the
  element-centred atomic-energy MAE (kcal/mol, :mod:`atomloop.study.atomic_errors`) against
  S's labels, ``atomic:S``-trained minus ``total``-trained; on every test atom and on the
  atoms whose environment the training set never held. Negative: training on S helps.
  Beside it, what atomic targets cost in molecular energies: the per-atom molecular MAE
  (meV/atom) of ``atomic:S``-trained minus ``total``-trained models (positive: worse totals).
* **Claim 2** (transfer beyond the training set's composition and size): per transfer split
  (size-transfer, group-transfer) and target, the per-atom molecular-energy MAE (meV/atom) on
  that split divided by the in-distribution one, paired by seed; the interval is over
  log-ratios, reported as ratios. Beside it the mean adversarial AUC of training vs test
  molecules on each split and the largest of its seeds' one-sided permutation p-values (the
  test rejects "same distribution" for every seed when it is <= 0.05; None when a seed's row
  has no test).
* **Claim 3, learnability across bases** (:func:`basis_learnability_rows`, two studies of the
  same molecules, splits and seeds labelled at two basis sets): per scheme S, the
  element-centred atomic MAE (kcal/mol) of the ``atomic:S``-trained model against S's own
  labels, second basis minus first, paired by seed (pairs also share split, architecture,
  strategy and size, so they trained and tested on the same molecules). Positive: S's atomic
  energies are harder to learn at the second basis. Beside it (:func:`basis_molecular_rows`) the
  per-atom molecular MAE (meV/atom) of every target's models, second minus first basis, and for
  each atomic target that change minus the total-trained models' change (paired by seed): what
  the scheme's labels add to the second basis's cost beyond the total energies' own.
* **Architectures** (:func:`architecture_rows`): per split, target, strategy and size, the
  per-atom molecular MAE (meV/atom) of one architecture minus another's (names in alphabetical
  order: ``nequip`` - ``schnet``), paired by seed (the same training and test molecules).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONTEXT = ("split", "architecture", "strategy", "training_size")
CLAIM_1_COLUMNS = (
    "reference_scheme", "environment", *CONTEXT, "n_pairs", "atomic_trained_kcal_mol", "total_trained_kcal_mol",
    "difference_kcal_mol", "difference_low", "difference_high",
)
MOLECULAR_COST_COLUMNS = (
    "target", *CONTEXT, "n_pairs", "atomic_trained_mev_atom", "total_trained_mev_atom", "difference_mev_atom",
    "difference_low", "difference_high",
)
BASIS_LEARNABILITY_COLUMNS = (
    "scheme", "environment", *CONTEXT, "n_pairs", "first_basis_kcal_mol", "second_basis_kcal_mol",
    "difference_kcal_mol", "difference_low", "difference_high",
)
BASIS_MOLECULAR_COLUMNS = (
    "target", *CONTEXT, "n_pairs", "first_basis_mev_atom", "second_basis_mev_atom", "difference_mev_atom",
    "difference_low", "difference_high", "beyond_total_mev_atom", "beyond_total_low", "beyond_total_high",
)
CELL = ("split", "target", "strategy", "training_size")
ARCHITECTURE_COLUMNS = (
    *CELL, "first_architecture", "second_architecture", "n_pairs", "first_mev_atom", "second_mev_atom",
    "difference_mev_atom", "difference_low", "difference_high",
)
TARGET_SIDES = ("total_trained", "atomic_trained")  # claim 1's sides: first total-, then atomic-trained
TRANSFER_SPLITS = ("size-transfer", "group-transfer")
CLAIM_2_COLUMNS = (
    "transfer_split", "target", "architecture", "strategy", "training_size", "n_pairs", "in_distribution_mev_atom",
    "transfer_mev_atom", "ratio", "ratio_low", "ratio_high", "auc_in_distribution", "auc_transfer",
    "p_in_distribution", "p_transfer",
)


@dataclass(frozen=True)
class Paired:
    """Mean of paired differences (or log-ratios) with its 95 % interval (None for n < 2)."""

    n: int
    mean: float
    low: float | None
    high: float | None


def paired(differences: Sequence[float]) -> Paired:
    """Student-t 95 % interval of the mean of ``differences``."""
    d = np.asarray(differences, dtype=float)
    if d.size < 2:
        return Paired(int(d.size), float(d.mean()) if d.size else math.nan, None, None)
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size)
    return Paired(int(d.size), float(d.mean()), float(d.mean() - half), float(d.mean() + half))


def _finished(experiments: Iterable[Mapping]) -> list[Mapping]:
    """The ``study_experiments`` rows that finished with a molecular MAE."""
    return [r for r in experiments if r["status"] == "done" and r["mae_mev_atom"] is not None]


def _by(rows: Iterable[Mapping], keys: Sequence[str]) -> dict[tuple, list[Mapping]]:
    grouped: dict[tuple, list[Mapping]] = defaultdict(list)
    for row in rows:
        grouped[tuple(row[k] for k in keys)].append(row)
    return grouped


def _second_minus_first(first: Mapping[int, float], second: Mapping[int, float], sides: tuple[str, str],
                        unit: str) -> dict | None:
    """Means of both sides (by seed) over their common seeds and the paired difference second -
    first: columns ``n_pairs``, ``<sides[0]>_<unit>``, ``<sides[1]>_<unit>``, ``difference_<unit>``,
    ``difference_low``, ``difference_high``; None without a common seed."""
    seeds = sorted(set(first) & set(second))
    if not seeds:
        return None
    result = paired([second[s] - first[s] for s in seeds])
    return {
        "n_pairs": result.n,
        f"{sides[0]}_{unit}": float(np.mean([first[s] for s in seeds])),
        f"{sides[1]}_{unit}": float(np.mean([second[s] for s in seeds])),
        f"difference_{unit}": result.mean, "difference_low": result.low, "difference_high": result.high,
    }


def claim_1_rows(atomic_errors: Iterable[Mapping]) -> list[dict]:
    """Claim 1's table from ``study_atomic_errors`` rows (element ``all``): one row per
    reference scheme, environment (``all``, ``unseen``) and context with both targets."""
    rows = [r for r in atomic_errors if r["element"] == "all" and r["environment"] in ("all", "unseen")]
    table = []
    for (scheme, environment, *context), cell in sorted(_by(rows, ("reference_scheme", "environment", *CONTEXT)).items()):
        by_target = {t: {r["seed"]: r["centred_mae_kcal_mol"] for r in rs} for (t,), rs in _by(cell, ("target",)).items()}
        compared = _second_minus_first(by_target.get("total", {}), by_target.get(f"atomic:{scheme}", {}), TARGET_SIDES,
                                       "kcal_mol")
        if compared:
            table.append({"reference_scheme": scheme, "environment": environment, **dict(zip(CONTEXT, context)), **compared})
    return table


def molecular_cost_rows(experiments: Iterable[Mapping]) -> list[dict]:
    """What training on atomic energies costs (or gains) in molecular energies: per atomic
    target and context, its per-atom molecular MAE (meV/atom) minus the total-trained model's,
    paired by seed, from ``study_experiments`` rows."""
    done = _finished(experiments)
    table = []
    for context, cell in sorted(_by(done, CONTEXT).items()):
        by_target = {t: {r["seed"]: r["mae_mev_atom"] for r in rs} for (t,), rs in _by(cell, ("target",)).items()}
        for target in sorted(t for t in by_target if t.startswith("atomic:")):
            compared = _second_minus_first(by_target.get("total", {}), by_target[target], TARGET_SIDES, "mev_atom")
            if compared:
                table.append({"target": target, **dict(zip(CONTEXT, context)), **compared})
    return table


def claim_2_rows(experiments: Iterable[Mapping]) -> list[dict]:
    """Claim 2's table from ``study_experiments`` rows: each transfer split's per-atom error over
    the in-distribution one, per target and context, paired by seed."""
    done = [r for r in experiments if r["status"] == "done" and r["mae_mev_atom"]]
    table = []
    for (target, architecture, strategy, size), cell in sorted(
        _by(done, ("target", "architecture", "strategy", "training_size")).items()
    ):
        by_split = {split: {r["seed"]: r for r in rs} for (split,), rs in _by(cell, ("split",)).items()}
        inside = by_split.get("in-distribution", {})
        for transfer in TRANSFER_SPLITS:
            outside = by_split.get(transfer, {})
            seeds = sorted(set(inside) & set(outside))
            if not seeds:
                continue
            result = paired([math.log(outside[s]["mae_mev_atom"] / inside[s]["mae_mev_atom"]) for s in seeds])
            table.append({
                "transfer_split": transfer, "target": target, "architecture": architecture, "strategy": strategy,
                "training_size": size, "n_pairs": result.n,
                "in_distribution_mev_atom": float(np.mean([inside[s]["mae_mev_atom"] for s in seeds])),
                "transfer_mev_atom": float(np.mean([outside[s]["mae_mev_atom"] for s in seeds])),
                "ratio": math.exp(result.mean),
                "ratio_low": None if result.low is None else math.exp(result.low),
                "ratio_high": None if result.high is None else math.exp(result.high),
                "auc_in_distribution": float(np.mean([inside[s]["auc"] for s in seeds])),
                "auc_transfer": float(np.mean([outside[s]["auc"] for s in seeds])),
                "p_in_distribution": _largest_p_value([inside[s] for s in seeds]),
                "p_transfer": _largest_p_value([outside[s] for s in seeds]),
            })
    return table


def _largest_p_value(experiments: Sequence[Mapping]) -> float | None:
    """The largest permutation p-value of ``experiments`` (None when one has none)."""
    values = [r.get("auc_p_value") for r in experiments]
    return None if any(v is None for v in values) else max(values)


def _own_scheme_errors(atomic_errors: Iterable[Mapping]) -> dict[tuple, dict[int, float]]:
    """Centred atomic MAE of each ``atomic:S``-trained model against S's labels (element
    ``all``; environments ``all`` and ``unseen``), by (S, environment, *context) and seed."""
    own = [r for r in atomic_errors if r["element"] == "all" and r["environment"] in ("all", "unseen")
           and r["target"] == f"atomic:{r['reference_scheme']}"]
    return {key: {r["seed"]: r["centred_mae_kcal_mol"] for r in rows}
            for key, rows in _by(own, ("reference_scheme", "environment", *CONTEXT)).items()}


def basis_learnability_rows(first: Iterable[Mapping], second: Iterable[Mapping]) -> list[dict]:
    """Claim 3's learnability table from the ``study_atomic_errors`` rows of two studies (first
    and second basis): per scheme, environment and context both means and the paired
    difference second - first over common seeds."""
    by_first, by_second = _own_scheme_errors(first), _own_scheme_errors(second)
    table = []
    for key in sorted(set(by_first) & set(by_second)):
        compared = _second_minus_first(by_first[key], by_second[key], ("first_basis", "second_basis"), "kcal_mol")
        if compared:
            scheme, environment, *context = key
            table.append({"scheme": scheme, "environment": environment, **dict(zip(CONTEXT, context)), **compared})
    return table


def _molecular_errors(experiments: Iterable[Mapping]) -> dict[tuple, dict[int, float]]:
    """Per-atom molecular MAE (meV/atom) of the finished ``study_experiments`` rows, by (target,
    *context) and seed."""
    return {key: {r["seed"]: r["mae_mev_atom"] for r in rows}
            for key, rows in _by(_finished(experiments), ("target", *CONTEXT)).items()}


def basis_molecular_rows(first: Iterable[Mapping], second: Iterable[Mapping]) -> list[dict]:
    """Claim 3's molecular side from the ``study_experiments`` rows of two studies (first and
    second basis): per target and context the per-atom molecular MAE (meV/atom) at both bases and
    the paired difference second - first over common seeds; for ``atomic:S`` targets also
    ``beyond_total``: that difference minus the ``total``-trained models' difference of the same
    seed and context (None without a total-trained pair), so the total energies' own change of
    difficulty with the basis is taken out."""
    by_first, by_second = _molecular_errors(first), _molecular_errors(second)
    common = sorted(set(by_first) & set(by_second))
    change = {key: {s: by_second[key][s] - by_first[key][s] for s in set(by_first[key]) & set(by_second[key])}
              for key in common}
    table = []
    for key in common:
        compared = _second_minus_first(by_first[key], by_second[key], ("first_basis", "second_basis"), "mev_atom")
        if not compared:
            continue
        target, *context = key
        total = change.get(("total", *context), {})
        seeds = sorted(set(change[key]) & set(total)) if target != "total" else []
        beyond = paired([change[key][s] - total[s] for s in seeds]) if seeds else None
        table.append({"target": target, **dict(zip(CONTEXT, context)), **compared,
                      "beyond_total_mev_atom": beyond.mean if beyond else None,
                      "beyond_total_low": beyond.low if beyond else None,
                      "beyond_total_high": beyond.high if beyond else None})
    return table


def architecture_rows(experiments: Iterable[Mapping]) -> list[dict]:
    """Architectures compared on the same molecules, from ``study_experiments`` rows (of one
    study, or of several studies of the same dataset, splits and seeds): per split, target,
    strategy and training size and each pair of architectures (by name), the per-atom molecular
    MAE (meV/atom) of the second minus the first, paired by seed."""
    done = _finished(experiments)
    table = []
    for cell_key, cell in sorted(_by(done, CELL).items()):
        by_architecture = {a: {r["seed"]: r["mae_mev_atom"] for r in rs} for (a,), rs in _by(cell, ("architecture",)).items()}
        names = sorted(by_architecture)
        for i, first in enumerate(names):
            for second in names[i + 1:]:
                compared = _second_minus_first(by_architecture[first], by_architecture[second], ("first", "second"),
                                               "mev_atom")
                if compared:
                    table.append({**dict(zip(CELL, cell_key)), "first_architecture": first,
                                  "second_architecture": second, **compared})
    return table
