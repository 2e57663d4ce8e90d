"""The study's answers to the paper's claims, each a paired comparison over seeds with a 95 %
interval, computed from the rows of the study views (:mod:`atomloop.store.reports`).

Pairs: two experiments are a pair when they share split, architecture, strategy, training-set
size and seed, so they trained on the same molecules and were tested on the same ones. For n
pairs with differences d_k, the interval is mean(d) ± t_{0.975, n-1} · sd(d) / sqrt(n)
(Student's t; none for n < 2). An interval that excludes 0 is a difference at the 5 % level.

Tests (:func:`paired`, :func:`holm_family`): every row that compares against "no difference"
carries ``p_value``, the two-sided paired t-test over seeds of the same differences (it is
below 0.05 exactly when the t interval excludes 0), and ``p_exact``, the two-sided sign-flip
permutation test of the mean difference (exact over all 2^n sign patterns for n <= 16; its
smallest value is 2 / 2^n, so 0.0625 for 5 pairs and 0.00195 for 10). The rows of one study's
claims tables (claim 1a, 1b, the trade-off, claim 2, architectures; claim 3's two tables of a
basis comparison) are one family: ``p_holm`` is ``p_value`` Holm-adjusted over every row of
the family with a test. ``verdict`` (at :data:`ALPHA` = 0.05):

* ``supported``: ``p_holm`` < 0.05, ``p_exact`` < 0.05 (the distribution-free test agrees) and,
  where the row has one, the hierarchical bootstrap interval excludes "no difference";
* ``not supported``: ``p_holm`` >= 0.05 with at least 6 pairs (enough for the exact test to
  reach 0.05);
* ``inconclusive``: anything else (fewer than 6 pairs, or the tests disagree).

Test-molecule sampling (:func:`hierarchical_bootstrap`): the t interval and tests treat each
seed's MAE as exact, though seeds test on overlapping molecules (the transfer splits' test sets
are the same for every seed). Beside them the molecular-MAE comparisons (claim 1b, claim 2, the
architectures, claim 3's molecular table) carry a 95 % percentile interval of a hierarchical
bootstrap from the per-molecule errors (:func:`atomloop.store.reports.study_molecule_errors`):
resample the seeds, then each chosen seed's test molecules, the same resampled molecules on both
sides of a pair (claim 2's two sides test different molecules: each resampled on its own);
:data:`BOOTSTRAP_DRAWS` draws from seed :data:`BOOTSTRAP_SEED`, so it is deterministic. Columns
``difference_boot_low``/``_high`` (claim 2: ``ratio_boot_low``/``_high``), None without stored
errors.

Each row's test is of its first interval: claim 1a the difference model - baseline, claim 1b
and the architectures the difference, claim 2 the log-ratio, claim 3 the difference second -
first basis; the trade-off tests its fraction change (its molecular change is claim 1b's row,
the same pairs, so the family holds it once).

* **Claim 1a** (atomic-trained models learn atomic energies beyond the trivial baseline): per
  reference scheme S and atomic weight, the element-centred atomic-energy MAE (kcal/mol,
  offsets fitted on training atoms, :mod:`atomloop.study.atomic_errors`) of ``atomic:S``-trained
  models against S's labels minus the element-mean baseline's MAE on the same atoms, paired by
  seed; on every test atom and on the atoms whose environment the training set never held.
  Negative: the model beats the baseline. Beside it the same as a fraction of the baseline's MAE
  (the label spread, so schemes compare), with its interval, and the total-trained models'
  fraction.
* **Claim 1b** (does atomic augmentation help molecular energies, :func:`molecular_cost_rows`):
  per atomic or atomization target and weight, the per-atom molecular MAE (meV/atom) of ``atomic:S``-trained
  minus ``total``-trained models (positive: worse totals).
* **The atomic-weight trade-off** (:func:`trade_off_rows`): per atomic target, context and
  atomic weight (0: the ``total``-trained model), the per-atom molecular MAE (meV/atom) and the
  centred atomic MAE against the target's scheme (kcal/mol, and as a fraction of the
  baseline's), each with its paired change against weight 0.
* **Claim 2** (transfer beyond the training set's composition and size): per transfer split
  (size-transfer, group-transfer, larger-molecules: trained on the dataset, tested on the larger
  set's 10 to 16 heavy atoms) and target, the per-atom molecular-energy MAE (meV/atom, the
  quantity that compares across molecule sizes) on
  that split divided by the in-distribution one, paired by seed; the interval is over
  log-ratios, reported as ratios. Beside it the mean adversarial AUC of training vs test
  molecules on each split and the largest of its seeds' one-sided permutation p-values (the
  test rejects "same distribution" for every seed when it is <= 0.05; None when a seed's row
  has no test; ``< 0.001`` at the floor of a study's 1,000 permutations, :func:`quoted_p`).
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
    "reference_scheme", "environment", *CONTEXT, "atomic_weight", "n_pairs", "baseline_kcal_mol",
    "atomic_trained_kcal_mol", "difference_kcal_mol", "difference_low", "difference_high", "atomic_trained_fraction",
    "fraction_low", "fraction_high", "total_trained_fraction", "p_value", "p_exact", "p_holm", "verdict",
)
MOLECULAR_COST_COLUMNS = (
    "target", *CONTEXT, "atomic_weight", "n_pairs", "atomic_trained_mev_atom", "total_trained_mev_atom",
    "difference_mev_atom", "difference_low", "difference_high", "difference_boot_low", "difference_boot_high",
    "p_value", "p_exact", "p_holm", "verdict",
)
TRADE_OFF_COLUMNS = (
    "target", *CONTEXT, "atomic_weight", "n_pairs", "mev_atom", "mev_atom_change", "mev_atom_low", "mev_atom_high",
    "atomic_kcal_mol", "baseline_kcal_mol", "atomic_fraction", "fraction_change", "fraction_low", "fraction_high",
    "p_value", "p_exact", "p_holm", "verdict",
)
BASIS_LEARNABILITY_COLUMNS = (
    "scheme", "environment", "atomic_weight", *CONTEXT, "n_pairs", "first_basis_kcal_mol", "second_basis_kcal_mol",
    "difference_kcal_mol", "difference_low", "difference_high", "p_value", "p_exact", "p_holm", "verdict",
)
BASIS_MOLECULAR_COLUMNS = (
    "target", "atomic_weight", *CONTEXT, "n_pairs", "first_basis_mev_atom", "second_basis_mev_atom",
    "difference_mev_atom", "difference_low", "difference_high", "difference_boot_low", "difference_boot_high",
    "beyond_total_mev_atom", "beyond_total_low", "beyond_total_high", "p_value", "p_exact", "p_holm", "verdict",
)
CELL = ("split", "target", "atomic_weight", "strategy", "training_size")
ARCHITECTURE_COLUMNS = (
    *CELL, "first_architecture", "second_architecture", "n_pairs", "first_mev_atom", "second_mev_atom",
    "difference_mev_atom", "difference_low", "difference_high", "difference_boot_low", "difference_boot_high",
    "p_value", "p_exact", "p_holm", "verdict",
)
TARGET_SIDES = ("total_trained", "atomic_trained")  # claim 1's sides: first total-, then atomic-trained
TRANSFER_SPLITS = ("size-transfer", "group-transfer", "larger-molecules")
CLAIM_2_COLUMNS = (
    "transfer_split", "target", "atomic_weight", "architecture", "strategy", "training_size", "n_pairs",
    "in_distribution_mev_atom",
    "transfer_mev_atom", "ratio", "ratio_low", "ratio_high", "ratio_boot_low", "ratio_boot_high", "auc_in_distribution",
    "auc_transfer",
    "p_in_distribution", "p_transfer", "p_value", "p_exact", "p_holm", "verdict",
)
ALPHA = 0.05  # the verdicts' level, after Holm's correction
EXACT_SIGN_FLIPS = 16  # sign-flip tests enumerate all 2^n patterns up to this n, else draw SIGN_FLIP_DRAWS
SIGN_FLIP_DRAWS = 100_000
VERDICTS = ("supported", "not supported", "inconclusive")
EXACT_LEAST_PAIRS = 6  # the fewest pairs whose exact test can reach ALPHA (2 / 2^6 < 0.05)
BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 0
BOOTSTRAP_NULLS = (("difference", 0.0), ("ratio", 1.0))  # bootstrap columns' prefix and "no difference"
MoleculeErrors = Mapping[int, Mapping[int, float]]
"""Experiment id -> test molecule id -> absolute molecular-energy error per atom (meV/atom)."""


@dataclass(frozen=True)
class Paired:
    """Mean of paired differences (or log-ratios) with its 95 % interval, the two-sided paired
    t-test's p-value and the exact sign-flip test's (all None for n < 2)."""

    n: int
    mean: float
    low: float | None
    high: float | None
    p_value: float | None = None
    p_exact: float | None = None

    def tests(self) -> dict[str, float | None]:
        """The ``p_value`` and ``p_exact`` columns of a claims row."""
        return {"p_value": self.p_value, "p_exact": self.p_exact}


def paired(differences: Sequence[float]) -> Paired:
    """Student-t 95 % interval of the mean of ``differences``, the paired t-test of mean 0 (two-sided;
    p = 0 when every difference is the same non-zero value) and :func:`sign_flip_p`."""
    d = np.asarray(differences, dtype=float)
    if d.size < 2:
        return Paired(int(d.size), float(d.mean()) if d.size else math.nan, None, None)
    mean, error = float(d.mean()), d.std(ddof=1) / math.sqrt(d.size)
    half = stats.t.ppf(0.975, d.size - 1) * error
    p = float(2 * stats.t.sf(abs(mean) / error, d.size - 1)) if error > 0 else float(mean == 0)
    return Paired(int(d.size), mean, float(mean - half), float(mean + half), p, sign_flip_p(d))


def sign_flip_p(differences: Sequence[float]) -> float:
    """Two-sided sign-flip permutation p-value of mean(``differences``) = 0: the share of sign
    patterns s with |mean(s d)| >= |mean(d)|, over all 2^n patterns (exact) for n <=
    :data:`EXACT_SIGN_FLIPS`, else (1 + hits) / (1 + B) over B = :data:`SIGN_FLIP_DRAWS` random
    patterns (seed 0)."""
    d = np.asarray(differences, dtype=float)
    if d.size <= EXACT_SIGN_FLIPS:
        signs = 1 - 2 * ((np.arange(2 ** d.size)[:, None] >> np.arange(d.size)) & 1)
        observed = abs(d.sum())
        return float(np.mean(np.abs(signs @ d) >= observed * (1 - 1e-12)))
    signs = np.random.default_rng(0).choice((-1.0, 1.0), size=(SIGN_FLIP_DRAWS, d.size))
    hits = int(np.sum(np.abs(signs @ d) >= abs(d.sum()) * (1 - 1e-12)))
    return (1 + hits) / (1 + SIGN_FLIP_DRAWS)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of ``p_values`` (one family): the k-th smallest becomes
    max over j <= k of (m - j + 1) p_(j), at most 1; returned in the input order."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((p.size - np.arange(p.size)) * p[order]))
    result = np.empty_like(p)
    result[order] = adjusted
    return result.tolist()


def hierarchical_bootstrap(sides: Sequence[tuple[Sequence[float], Sequence[float]]], *, paired: bool = True,
                           log_ratio: bool = False) -> tuple[float, float]:
    """95 % percentile interval of mean over seeds of (mean(second) - mean(first)), or with
    ``log_ratio`` of log(mean(second) / mean(first)), from ``sides``: per seed the per-molecule
    errors of the first and the second side. Each of :data:`BOOTSTRAP_DRAWS` draws (seed
    :data:`BOOTSTRAP_SEED`) resamples the seeds with replacement, then the molecules of each
    chosen seed: with ``paired`` the same molecules on both sides (the two arrays aligned by
    molecule), else each side's own."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    chosen = rng.integers(0, len(sides), size=(BOOTSTRAP_DRAWS, len(sides)))
    statistic = np.empty(chosen.shape)
    for k, (first, second) in enumerate(sides):
        first, second = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
        draws, slots = np.nonzero(chosen == k)
        picked = rng.integers(0, first.size, size=(draws.size, first.size))
        first_means = first[picked].mean(axis=1)
        if not paired:
            picked = rng.integers(0, second.size, size=(draws.size, second.size))
        second_means = second[picked].mean(axis=1)
        statistic[draws, slots] = np.log(second_means / first_means) if log_ratio else second_means - first_means
    low, high = np.percentile(statistic.mean(axis=1), [2.5, 97.5])
    return float(low), float(high)


def _bootstrap(prefix: str, first: Mapping[int, Mapping], second: Mapping[int, Mapping],
               molecule_errors: MoleculeErrors | None, *, paired: bool = True) -> dict[str, float | None]:
    """Columns ``<prefix>_boot_low`` and ``_high`` of :func:`hierarchical_bootstrap` over the common
    seeds of ``first`` and ``second`` (seed -> ``study_experiments`` row) from ``molecule_errors``;
    ``prefix`` ``ratio``: of the ratio second / first. None where an experiment has no errors."""
    seeds = sorted(set(first) & set(second))
    errors = [(molecule_errors.get(first[s]["experiment_id"]), molecule_errors.get(second[s]["experiment_id"]))
              for s in seeds] if molecule_errors else []
    if not errors or any(not a or not b for a, b in errors):
        return {f"{prefix}_boot_low": None, f"{prefix}_boot_high": None}
    if paired:
        common = [sorted(set(a) & set(b)) for a, b in errors]
        sides = [([a[i] for i in ids], [b[i] for i in ids]) for (a, b), ids in zip(errors, common)]
    else:
        sides = [(list(a.values()), list(b.values())) for a, b in errors]
    low, high = hierarchical_bootstrap(sides, paired=paired, log_ratio=prefix == "ratio")
    if prefix == "ratio":
        low, high = math.exp(low), math.exp(high)
    return {f"{prefix}_boot_low": low, f"{prefix}_boot_high": high}


def _bootstrap_excludes(row: Mapping) -> bool | None:
    """Whether the row's bootstrap interval excludes "no difference" (None: the row has none)."""
    for prefix, null in BOOTSTRAP_NULLS:
        if row.get(f"{prefix}_boot_low") is not None:
            return not row[f"{prefix}_boot_low"] <= null <= row[f"{prefix}_boot_high"]
    return None


def verdict(p_holm: float | None, p_exact: float | None, n_pairs: int, bootstrap_excludes: bool | None = None) -> str:
    """``supported``, ``not supported`` or ``inconclusive`` (module docstring); ``bootstrap_excludes``:
    whether the row's hierarchical bootstrap interval excludes "no difference" (None: no bootstrap)."""
    if p_holm is None or p_exact is None:
        return VERDICTS[2]
    if p_holm < ALPHA:
        return VERDICTS[0] if p_exact < ALPHA and bootstrap_excludes is not False else VERDICTS[2]
    return VERDICTS[1] if n_pairs >= EXACT_LEAST_PAIRS else VERDICTS[2]


def holm_family(tables: Mapping[str, list[dict]]) -> dict[str, list[dict]]:
    """The rows of ``tables`` (one family: one study's claims, or one basis comparison's) with
    ``p_holm`` (``p_value`` Holm-adjusted over every row of every table that has one; None
    without) and ``verdict``."""
    tested = [row["p_value"] for rows in tables.values() for row in rows if row.get("p_value") is not None]
    adjusted = iter(holm(tested))
    family = {}
    for name, rows in tables.items():
        family[name] = []
        for row in rows:
            p_holm = next(adjusted) if row.get("p_value") is not None else None
            family[name].append({**row, "p_holm": p_holm, "verdict": verdict(
                p_holm, row.get("p_exact"), row.get("n_pairs", 0), _bootstrap_excludes(row))})
    return family


def study_claims(experiments: Sequence[Mapping], atomic_errors: Sequence[Mapping],
                 molecule_errors: MoleculeErrors | None = None) -> dict[str, list[dict]]:
    """One study's claims tables from its ``study_experiments`` and ``study_atomic_errors`` rows
    and per-molecule errors, by name (``claim_1``, ``molecular_cost``, ``trade_off``, ``claim_2``,
    ``architectures``), one Holm family (:func:`holm_family`)."""
    return holm_family({
        "claim_1": claim_1_rows(atomic_errors), "molecular_cost": molecular_cost_rows(experiments, molecule_errors),
        "trade_off": trade_off_rows(experiments, atomic_errors), "claim_2": claim_2_rows(experiments, molecule_errors),
        "architectures": architecture_rows(experiments, molecule_errors),
    })


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
        **result.tests(),
    }


def _molecular_difference(first: Mapping[int, Mapping], second: Mapping[int, Mapping], sides: tuple[str, str],
                          molecule_errors: MoleculeErrors | None) -> dict | None:
    """:func:`_second_minus_first` of the per-atom molecular MAE (meV/atom) of two sides' rows by
    seed, with the hierarchical bootstrap interval of the difference."""
    compared = _second_minus_first({s: r["mae_mev_atom"] for s, r in first.items()},
                                   {s: r["mae_mev_atom"] for s, r in second.items()}, sides, "mev_atom")
    return compared and {**compared, **_bootstrap("difference", first, second, molecule_errors)}


def _own_side(atomic_errors: Iterable[Mapping]) -> list[Mapping]:
    """Rows of element ``all`` in environments ``all`` and ``unseen``."""
    return [r for r in atomic_errors if r["element"] == "all" and r["environment"] in ("all", "unseen")]


def claim_1_rows(atomic_errors: Iterable[Mapping]) -> list[dict]:
    """Claim 1a's table from ``study_atomic_errors`` rows (element ``all``): one row per
    reference scheme, environment, context and atomic weight of the ``atomic:S`` models, the
    centred MAE minus the baseline's (kcal/mol) and the fraction centred / baseline, paired by
    seed; ``total_trained_fraction``: the mean fraction of the total-trained models of the same
    seeds (None without them)."""
    rows = [r for r in _own_side(atomic_errors) if r["baseline_mae_kcal_mol"] is not None]
    table = []
    for (scheme, environment, *context), cell in sorted(
        _by(rows, ("reference_scheme", "environment", *CONTEXT)).items()
    ):
        total = {r["seed"]: r["centred_fraction"] for r in cell if r["target"] == "total"}
        trained = _by([r for r in cell if r["target"] == f"atomic:{scheme}"], ("atomic_weight",))
        for (weight,), models in sorted(trained.items()):
            baseline = {r["seed"]: r["baseline_mae_kcal_mol"] for r in models}
            compared = _second_minus_first(baseline, {r["seed"]: r["centred_mae_kcal_mol"] for r in models},
                                           ("baseline", "atomic_trained"), "kcal_mol")
            seeds = sorted(baseline)
            fraction = paired([r["centred_fraction"] for r in sorted(models, key=lambda r: r["seed"])])
            table.append({"reference_scheme": scheme, "environment": environment, **dict(zip(CONTEXT, context)),
                          "atomic_weight": weight, **compared, "atomic_trained_fraction": fraction.mean,
                          "fraction_low": fraction.low, "fraction_high": fraction.high,
                          "total_trained_fraction": float(np.mean([total[s] for s in seeds]))
                          if all(s in total for s in seeds) else None})
    return table


def molecular_cost_rows(experiments: Iterable[Mapping], molecule_errors: MoleculeErrors | None = None) -> list[dict]:
    """Claim 1b, whether atomic energies help molecular energies: per atomic or atomization target, weight and
    context, its per-atom molecular MAE (meV/atom) minus the total-trained model's, paired by
    seed, from ``study_experiments`` rows, with the bootstrap interval from ``molecule_errors``."""
    done = _finished(experiments)
    table = []
    for context, cell in sorted(_by(done, CONTEXT).items()):
        total = {r["seed"]: r for r in cell if r["target"] == "total"}
        by_target = _by([r for r in cell if r["target"] != "total"], ("target", "atomic_weight"))
        for (target, weight), rows in sorted(by_target.items()):
            compared = _molecular_difference(total, {r["seed"]: r for r in rows}, TARGET_SIDES, molecule_errors)
            if compared:
                table.append({"target": target, **dict(zip(CONTEXT, context)), "atomic_weight": weight, **compared})
    return table


def trade_off_rows(experiments: Iterable[Mapping], atomic_errors: Iterable[Mapping]) -> list[dict]:
    """The atomic-weight trade-off from ``study_experiments`` and ``study_atomic_errors`` rows:
    per atomic or atomization target (scheme S), context and weight w (first w = 0: the
    ``total``-trained models), means over seeds of the per-atom molecular MAE (meV/atom), of the
    centred atomic MAE against S on every test atom (kcal/mol), of the baseline's MAE and of
    their fraction; and the changes against weight 0 of the molecular MAE and of the fraction,
    paired by seed (the same molecules), with 95 % intervals (None without a total-trained pair)."""
    molecular = {r["experiment_id"]: r["mae_mev_atom"] for r in _finished(experiments)}
    every_atom = [r for r in atomic_errors if r["element"] == "all" and r["environment"] == "all"
                  and r["experiment_id"] in molecular and r["centred_fraction"] is not None]
    table = []
    for (scheme, *context), cell in sorted(_by(every_atom, ("reference_scheme", *CONTEXT)).items()):
        sides = {key: {r["seed"]: r for r in rows} for key, rows in _by(cell, ("target", "atomic_weight")).items()}
        unweighted = sides.get(("total", 0.0), {})
        for target in sorted({t for t, _ in sides if t.partition(":")[2] == scheme}):
            weighted = sorted((w, side) for (t, w), side in sides.items() if t == target)
            for weight, side in ([(0.0, unweighted)] if unweighted else []) + weighted:
                table.append({"target": target, **dict(zip(CONTEXT, context)), "atomic_weight": weight,
                              **_trade_off(side, unweighted, molecular)})
    return table


def _trade_off(side: Mapping[int, Mapping], unweighted: Mapping[int, Mapping], molecular: Mapping[int, float]) -> dict:
    """One weight's columns of :func:`trade_off_rows` from its and weight 0's atomic-error rows
    by seed (weight 0's own row, compared with itself, has no test)."""
    seeds = sorted(set(side) & set(unweighted))
    mev = paired([molecular[side[s]["experiment_id"]] - molecular[unweighted[s]["experiment_id"]] for s in seeds])
    fraction = paired([side[s]["centred_fraction"] - unweighted[s]["centred_fraction"] for s in seeds])
    rows = list(side.values())
    return {
        "n_pairs": len(seeds), "mev_atom": float(np.mean([molecular[r["experiment_id"]] for r in rows])),
        "mev_atom_change": mev.mean if seeds else None, "mev_atom_low": mev.low, "mev_atom_high": mev.high,
        "atomic_kcal_mol": float(np.mean([r["centred_mae_kcal_mol"] for r in rows])),
        "baseline_kcal_mol": float(np.mean([r["baseline_mae_kcal_mol"] for r in rows])),
        "atomic_fraction": float(np.mean([r["centred_fraction"] for r in rows])),
        "fraction_change": fraction.mean if seeds else None, "fraction_low": fraction.low,
        "fraction_high": fraction.high, **(Paired(0, math.nan, None, None) if side is unweighted else fraction).tests(),
    }


def claim_2_rows(experiments: Iterable[Mapping], molecule_errors: MoleculeErrors | None = None) -> list[dict]:
    """Claim 2's table from ``study_experiments`` rows: each transfer split's per-atom error over
    the in-distribution one, per target and context, paired by seed, with the bootstrap interval
    from ``molecule_errors``."""
    done = [r for r in experiments if r["status"] == "done" and r["mae_mev_atom"]]
    table = []
    for (target, weight, architecture, strategy, size), cell in sorted(
        _by(done, ("target", "atomic_weight", "architecture", "strategy", "training_size")).items()
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
                "transfer_split": transfer, "target": target, "atomic_weight": weight,
                "architecture": architecture, "strategy": strategy,
                "training_size": size, "n_pairs": result.n,
                "in_distribution_mev_atom": float(np.mean([inside[s]["mae_mev_atom"] for s in seeds])),
                "transfer_mev_atom": float(np.mean([outside[s]["mae_mev_atom"] for s in seeds])),
                "ratio": math.exp(result.mean),
                "ratio_low": None if result.low is None else math.exp(result.low),
                "ratio_high": None if result.high is None else math.exp(result.high),
                **_bootstrap("ratio", inside, outside, molecule_errors, paired=False),
                "auc_in_distribution": float(np.mean([inside[s]["auc"] for s in seeds])),
                "auc_transfer": float(np.mean([outside[s]["auc"] for s in seeds])),
                "p_in_distribution": _largest_p_value([inside[s] for s in seeds]),
                "p_transfer": _largest_p_value([outside[s] for s in seeds]), **result.tests(),
            })
    return table


def quoted_p(p: float | None) -> float | str | None:
    """A permutation p-value as the claims quote it: ``< 0.001`` below 0.001 (reached only at the
    floor 1 / 1001 of 1,000 permutations or more), else the value."""
    return "< 0.001" if p is not None and p < 0.001 else p


def _largest_p_value(experiments: Sequence[Mapping]) -> float | str | None:
    """The largest permutation p-value of ``experiments``, :func:`quoted_p` (None when one has none)."""
    values = [r.get("auc_p_value") for r in experiments]
    return None if any(v is None for v in values) else quoted_p(max(values))


def _own_scheme_errors(atomic_errors: Iterable[Mapping]) -> dict[tuple, dict[int, float]]:
    """Centred atomic MAE of each ``atomic:S``-trained model against S's labels (element
    ``all``; environments ``all`` and ``unseen``), by (S, environment, *context) and seed."""
    own = [r for r in _own_side(atomic_errors) if r["target"] == f"atomic:{r['reference_scheme']}"]
    return {key: {r["seed"]: r["centred_mae_kcal_mol"] for r in rows}
            for key, rows in _by(own, ("reference_scheme", "environment", "atomic_weight", *CONTEXT)).items()}


def basis_learnability_rows(first: Iterable[Mapping], second: Iterable[Mapping]) -> list[dict]:
    """Claim 3's learnability table from the ``study_atomic_errors`` rows of two studies (first
    and second basis): per scheme, environment and context both means and the paired
    difference second - first over common seeds."""
    by_first, by_second = _own_scheme_errors(first), _own_scheme_errors(second)
    table = []
    for key in sorted(set(by_first) & set(by_second)):
        compared = _second_minus_first(by_first[key], by_second[key], ("first_basis", "second_basis"), "kcal_mol")
        if compared:
            scheme, environment, weight, *context = key
            table.append({"scheme": scheme, "environment": environment, "atomic_weight": weight,
                          **dict(zip(CONTEXT, context)), **compared})
    return table


def _finished_by_cell(experiments: Iterable[Mapping]) -> dict[tuple, dict[int, Mapping]]:
    """The finished ``study_experiments`` rows by (target, *context) and seed."""
    return {key: {r["seed"]: r for r in rows}
            for key, rows in _by(_finished(experiments), ("target", "atomic_weight", *CONTEXT)).items()}


def basis_molecular_rows(first: Iterable[Mapping], second: Iterable[Mapping],
                         molecule_errors: MoleculeErrors | None = None) -> list[dict]:
    """Claim 3's molecular side from the ``study_experiments`` rows of two studies (first and
    second basis): per target and context the per-atom molecular MAE (meV/atom) at both bases and
    the paired difference second - first over common seeds; for ``atomic:S`` targets also
    ``beyond_total``: that difference minus the ``total``-trained models' difference of the same
    seed and context (None without a total-trained pair), so the total energies' own change of
    difficulty with the basis is taken out. ``molecule_errors`` (of both studies' experiments): for
    the bootstrap interval of the difference."""
    by_first, by_second = _finished_by_cell(first), _finished_by_cell(second)
    common = sorted(set(by_first) & set(by_second))
    change = {key: {s: by_second[key][s]["mae_mev_atom"] - by_first[key][s]["mae_mev_atom"]
                    for s in set(by_first[key]) & set(by_second[key])} for key in common}
    table = []
    for key in common:
        compared = _molecular_difference(by_first[key], by_second[key], ("first_basis", "second_basis"),
                                         molecule_errors)
        if not compared:
            continue
        target, weight, *context = key
        total = change.get(("total", 0.0, *context), {})
        seeds = sorted(set(change[key]) & set(total)) if target != "total" else []
        beyond = paired([change[key][s] - total[s] for s in seeds]) if seeds else None
        table.append({"target": target, "atomic_weight": weight, **dict(zip(CONTEXT, context)), **compared,
                      "beyond_total_mev_atom": beyond.mean if beyond else None,
                      "beyond_total_low": beyond.low if beyond else None,
                      "beyond_total_high": beyond.high if beyond else None})
    return table


def architecture_rows(experiments: Iterable[Mapping], molecule_errors: MoleculeErrors | None = None) -> list[dict]:
    """Architectures compared on the same molecules, from ``study_experiments`` rows (of one
    study, or of several studies of the same dataset, splits and seeds): per split, target,
    strategy and training size and each pair of architectures (by name), the per-atom molecular
    MAE (meV/atom) of the second minus the first, paired by seed, with the bootstrap interval from
    ``molecule_errors``."""
    done = _finished(experiments)
    table = []
    for cell_key, cell in sorted(_by(done, CELL).items()):
        by_architecture = {a: {r["seed"]: r for r in rs} for (a,), rs in _by(cell, ("architecture",)).items()}
        names = sorted(by_architecture)
        for i, first in enumerate(names):
            for second in names[i + 1:]:
                compared = _molecular_difference(by_architecture[first], by_architecture[second], ("first", "second"),
                                                 molecule_errors)
                if compared:
                    table.append({**dict(zip(CELL, cell_key)), "first_architecture": first,
                                  "second_architecture": second, **compared})
    return table
