"""The one rule that reads an adversarial validation as a stopping signal.

The question is one-sided: does the pool hold molecules unlike the training set (AUC > 0.5)?
An AUC *below* chance is no evidence of a shift: after adversarial selection the training set
is spread more evenly than a random sample and cross-validation anti-learns (the demo's last
round read 0.327 [0.24, 0.42]). So, with ``alpha = 0.05`` (:data:`ALPHA`) and
``delta = 0.05`` (:data:`STOP_MARGIN`, the ``margin`` argument):

* **shift detected** when a pool molecule holds an element the training set lacks (always out
  of distribution, whatever the classifier says); else, when a permutation p-value is given,
  when ``p <= alpha``; without one, when the 95 % interval lies above 0.5 (lower bound > 0.5,
  a one-sided test at about 2.5 %);
* **stop** when no shift is detected *and* the interval's upper bound lies below
  ``0.5 + delta``: the test is confident that any shift left is small;
* otherwise inconclusive: go on.

An AUC below chance reads "no evidence of shift (selection-induced anti-learning)": below the
permutation null's 2.5 % quantile when one is given (``null_low``), else an interval below 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

ALPHA = 0.05  # significance level of the permutation test
STOP_MARGIN = 0.05  # delta: AUC units above 0.5 that still count as "the same distribution"
ANTI_LEARNING = "no evidence of shift (selection-induced anti-learning)"


@dataclass(frozen=True)
class ShiftTest:
    """One adversarial validation as the stopping rule reads it: ``auc`` with its 95 %
    ``interval``; ``unseen_element_molecules``: count of pool molecules with elements absent from
    training; ``p_value``: one-sided permutation p-value (None: the interval decides);
    ``null_low``: the permutation null's 2.5 % quantile of the AUC (None: anti-learning means an
    interval below 0.5)."""

    auc: float
    interval: tuple[float, float]
    unseen_element_molecules: int = 0
    p_value: float | None = None
    null_low: float | None = None


@dataclass(frozen=True)
class StopDecision:
    """``stop``: whether the loop may stop; ``shift_detected``; ``verdict``: one line saying why."""

    stop: bool
    shift_detected: bool
    verdict: str


def stopping_decision(test: ShiftTest, *, margin: float = STOP_MARGIN, alpha: float = ALPHA) -> StopDecision:
    """Read an adversarial validation as a stopping decision (see the module docstring);
    ``margin``: delta, in AUC units; ``alpha``: the permutation test's significance level."""
    auc, (low, high), unseen_element_molecules = test.auc, test.interval, test.unseen_element_molecules
    p_value, null_low = test.p_value, test.null_low
    shown = f"AUC {auc:.3f} [{low:.2f}, {high:.2f}]" + ("" if p_value is None else f", p = {p_value:.3f}")
    if unseen_element_molecules:
        return StopDecision(False, True, f"shift: {unseen_element_molecules} pool molecules hold elements "
                                         f"absent from the training set ({shown})")
    if p_value is None and low > 0.5:
        return StopDecision(False, True, f"shift: {shown} lies above 0.5")
    if p_value is not None and p_value <= alpha:
        return StopDecision(False, True, f"shift: {shown} <= {alpha:g}")
    evidence = "no evidence of shift"
    if null_low is not None and auc < null_low:
        evidence = f"{ANTI_LEARNING}, below the null's 2.5 % quantile {null_low:.2f}"
    elif null_low is None and high < 0.5:
        evidence = ANTI_LEARNING
    if high < 0.5 + margin:
        return StopDecision(True, False, f"STOP - {evidence}: {shown} lies below {0.5 + margin:.2f}")
    return StopDecision(False, False, f"inconclusive - {evidence}: {shown} reaches above {0.5 + margin:.2f}; go on")
