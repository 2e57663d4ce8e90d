"""Stopping rules of the loop besides the round budget: labels, wall time, error plateau."""

from __future__ import annotations

from collections.abc import Sequence

from atomloop.loop.config import LoopConfig
from atomloop.loop.steps import RoundSummary


def _best_test_mae(summary: RoundSummary) -> float | None:
    return min(summary.test_mae_kcal_mol.values()) if summary.test_mae_kcal_mol else None


def budget_or_plateau(config: LoopConfig, summaries: Sequence[RoundSummary]) -> str | None:
    """Why the loop should stop after the last of ``summaries`` (None: go on).

    Plateau: the best test MAE of the last ``plateau_rounds`` rounds did not improve on the
    best before them by more than ``plateau_tolerance`` (relative).
    """
    latest = summaries[-1]
    if config.max_labels is not None and latest.n_train >= config.max_labels:
        return f"label budget reached ({latest.n_train} >= {config.max_labels})"
    elapsed = sum(s.seconds for s in summaries)
    if config.max_wall_time is not None and elapsed >= config.max_wall_time:
        return f"wall-time budget reached ({elapsed:.0f} s >= {config.max_wall_time:.0f} s)"
    window = config.plateau_rounds
    if window and len(summaries) > window:
        before = [m for s in summaries[:-window] if (m := _best_test_mae(s)) is not None]
        recent = [m for s in summaries[-window:] if (m := _best_test_mae(s)) is not None]
        if before and recent and min(recent) > min(before) * (1 - config.plateau_tolerance):
            return f"test MAE plateau: no improvement over {window} rounds"
    return None
