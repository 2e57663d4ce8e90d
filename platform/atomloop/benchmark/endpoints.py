"""The benchmark's endpoints, fixed before any run.

Primary: the **label-saving factor on the target set**. Per seed, random's target MAE at the
final budget is the level; each campaign's labels to reach it are read off its learning curve
by linear interpolation in log(labels)-log(MAE) between the first budget at or below the level
and the one before (a curve that never reaches it is extrapolated from its last two budgets,
at most to :data:`MAX_EXTRAPOLATION` times the final budget); the factor is random's labels /
the strategy's. Over seeds: the mean of log factors with a Student-t 95 % interval, paired by
seed (one pool, initial set and test sets per seed), two-sided p-values Holm-corrected across
the strategies compared with random (the oracle bound is not one of them).

Secondary: in-distribution MAE at the final budget as a ratio to random's (geometric mean over
seeds, 95 % interval; non-inferior when the interval's upper end is below
:data:`NON_INFERIORITY_MARGIN`), and the same ratio for RMSE, 95th percentile and maximum error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

MAX_EXTRAPOLATION = 4.0
NON_INFERIORITY_MARGIN = 1.05


def labels_to_reach(labels: Sequence[float], maes: Sequence[float], level: float) -> float:
    """Labels at which the curve (``labels`` increasing, ``maes``) first reaches ``level``, by
    log-log interpolation (see the module docstring)."""
    x, y = np.log(np.asarray(labels, float)), np.log(np.asarray(maes, float))
    target = math.log(level)
    for i in range(len(y)):
        if y[i] <= target:
            if i == 0:
                return float(labels[0])
            fraction = (y[i - 1] - target) / (y[i - 1] - y[i])
            return float(math.exp(x[i - 1] + fraction * (x[i] - x[i - 1])))
    slope = (y[-1] - y[-2]) / (x[-1] - x[-2])
    limit = float(labels[-1]) * MAX_EXTRAPOLATION
    if slope >= 0:
        return limit
    return float(min(math.exp(x[-1] + (target - y[-1]) / slope), limit))


@dataclass(frozen=True)
class PairedRatio:
    """A ratio over seeds: geometric mean ``value`` with its 95 % interval, ``seeds`` pairs and
    the two-sided p-value of log ratio = 0 (``holm_p``: after Holm's correction)."""

    value: float
    low: float
    high: float
    seeds: int
    p_value: float
    holm_p: float | None = None


def paired_ratio(ratios: Sequence[float]) -> PairedRatio:
    """Geometric mean of per-seed ratios with a Student-t interval over their logs."""
    logs = np.log(np.asarray(ratios, float))
    n, mean = logs.size, float(logs.mean())
    if n < 2:
        return PairedRatio(math.exp(mean), math.nan, math.nan, n, math.nan)
    error = float(logs.std(ddof=1) / math.sqrt(n))
    if error == 0.0:
        return PairedRatio(math.exp(mean), math.exp(mean), math.exp(mean), n, 0.0 if mean else 1.0)
    half = float(stats.t.ppf(0.975, n - 1)) * error
    p = float(2 * stats.t.sf(abs(mean) / error, n - 1))
    return PairedRatio(math.exp(mean), math.exp(mean - half), math.exp(mean + half), n, p)


def holm(p_values: Mapping[str, float]) -> dict[str, float]:
    """Holm's step-down adjusted p-values (family-wise error), keyed like ``p_values``."""
    named = sorted((p, name) for name, p in p_values.items() if not math.isnan(p))
    adjusted, running = {}, 0.0
    for rank, (p, name) in enumerate(named):
        running = max(running, min(1.0, (len(named) - rank) * p))
        adjusted[name] = running
    return {name: adjusted.get(name, math.nan) for name in p_values}


def saving_factor(random_curve: Sequence[float], curve: Sequence[float], labels: Sequence[float]) -> float:
    """One seed's label-saving factor of ``curve`` (MAE per budget of ``labels``) against random's."""
    level = random_curve[-1]
    return labels_to_reach(labels, random_curve, level) / labels_to_reach(labels, curve, level)


def final_ratio(random_curve: Sequence[float], curve: Sequence[float]) -> float:
    """The strategy's error over random's at the final budget."""
    return curve[-1] / random_curve[-1]
