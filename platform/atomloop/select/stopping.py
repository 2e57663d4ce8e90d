"""The one rule that reads an adversarial validation as a stopping signal.

The question is one-sided: does the pool hold molecules unlike the training set (AUC > 0.5)?
An AUC *below* 0.5 is no evidence of a shift: after adversarial selection the training set is
spread more evenly than a random sample and cross-validation anti-learns (the demo's last round
read 0.327 [0.24, 0.42]). So:

* **shift detected** when the 95 % interval lies above 0.5 (lower bound > 0.5, a one-sided test
  at about 2.5 %), or when a pool molecule holds an element the training set lacks (always out
  of distribution, whatever the classifier says);
* **stop** when no shift is detected *and* the upper bound lies below ``0.5 + margin`` (default
  0.05): the test is confident that any shift left is small;
* otherwise inconclusive: go on.
"""

from __future__ import annotations

from dataclasses import dataclass

STOP_MARGIN = 0.05  # AUC units above 0.5 that still count as "the same distribution"


@dataclass(frozen=True)
class StopDecision:
    """``stop``: whether the loop may stop; ``shift_detected``; ``verdict``: one line saying why."""

    stop: bool
    shift_detected: bool
    verdict: str


def stopping_decision(
    auc: float, interval: tuple[float, float], *, unseen_element_molecules: int = 0, margin: float = STOP_MARGIN
) -> StopDecision:
    """Read an AUC with its 95 % interval (and the count of pool molecules with elements absent
    from training) as a stopping decision; see the module docstring."""
    low, high = interval
    shown = f"AUC {auc:.3f} [{low:.2f}, {high:.2f}]"
    if unseen_element_molecules:
        return StopDecision(False, True, f"shift: {unseen_element_molecules} pool molecules hold elements "
                                         f"absent from the training set ({shown})")
    if low > 0.5:
        return StopDecision(False, True, f"shift: {shown} lies above 0.5")
    if high < 0.5 + margin:
        note = " (selection-induced anti-learning)" if high < 0.5 else ""
        return StopDecision(True, False, f"STOP - no evidence of shift{note}: {shown} lies below {0.5 + margin:.2f}")
    return StopDecision(False, False, f"inconclusive: {shown} reaches above {0.5 + margin:.2f}; go on")
