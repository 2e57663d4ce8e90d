"""The stopping rule's decisions and words: permutation p-value, interval, anti-learning, unseen elements."""

from __future__ import annotations

from atomloop.select import ShiftTest, StopDecision, stopping_decision
from atomloop.select.stopping import ALPHA, ANTI_LEARNING, STOP_MARGIN



def _decide(auc: float, interval: tuple[float, float], *, margin: float = STOP_MARGIN, alpha: float = ALPHA,
            **test) -> StopDecision:
    return stopping_decision(ShiftTest(auc, interval, **test), margin=margin, alpha=alpha)

def test_defaults_are_alpha_and_delta_of_five_hundredths():
    assert (ALPHA, STOP_MARGIN) == (0.05, 0.05)
    assert ANTI_LEARNING == "no evidence of shift (selection-induced anti-learning)"


def test_without_a_p_value_the_interval_decides_one_sided():
    """An AUC below 0.5 is no evidence of shift (selection-induced anti-learning): stop; an
    interval above 0.5 is a shift; one reaching above 0.5 + margin is inconclusive."""
    anti_learning = _decide(0.327, (0.24, 0.42))  # the demo's last round
    assert anti_learning.stop and not anti_learning.shift_detected
    assert anti_learning.verdict == f"STOP - {ANTI_LEARNING}: AUC 0.327 [0.24, 0.42] lies below 0.55"
    shift = _decide(0.736, (0.64, 0.83))
    assert not shift.stop and shift.shift_detected and shift.verdict == "shift: AUC 0.736 [0.64, 0.83] lies above 0.5"
    inconclusive = _decide(0.565, (0.47, 0.66))
    assert not inconclusive.stop and not inconclusive.shift_detected
    assert inconclusive.verdict == (
        "inconclusive - no evidence of shift: AUC 0.565 [0.47, 0.66] reaches above 0.55; go on"
    )
    assert _decide(0.50, (0.46, 0.54)).stop
    assert not _decide(0.50, (0.46, 0.54), margin=0.03).stop


def test_a_p_value_decides_the_shift_and_the_upper_bound_the_stop():
    shift = _decide(0.62, (0.53, 0.70), p_value=0.0099, null_low=0.43)
    assert shift.shift_detected and not shift.stop
    assert shift.verdict == "shift: AUC 0.620 [0.53, 0.70], p = 0.010 <= 0.05"
    # p exactly alpha is a shift; alpha is a parameter
    assert _decide(0.55, (0.45, 0.65), p_value=0.05).shift_detected
    assert not _decide(0.55, (0.45, 0.65), p_value=0.05, alpha=0.01).shift_detected
    # An interval above 0.5 with p > alpha is no shift: the permutation null (which refits the
    # classifier) decides, the interval only bounds the size.
    above = _decide(0.58, (0.51, 0.65), p_value=0.12, null_low=0.40)
    assert not above.shift_detected and not above.stop
    assert above.verdict.startswith("inconclusive - no evidence of shift:")
    stop = _decide(0.49, (0.42, 0.54), p_value=0.55, null_low=0.40)
    assert stop.stop and not stop.shift_detected
    assert stop.verdict == "STOP - no evidence of shift: AUC 0.490 [0.42, 0.54], p = 0.550 lies below 0.55"


def test_an_auc_below_the_null_quantile_is_anti_learning_and_may_stop():
    anti = _decide(0.338, (0.30, 0.38), p_value=1.0, null_low=0.42)
    assert anti.stop and not anti.shift_detected
    assert anti.verdict == (
        f"STOP - {ANTI_LEARNING}, below the null's 2.5 % quantile 0.42: "
        "AUC 0.338 [0.30, 0.38], p = 1.000 lies below 0.55"
    )
    # below 0.5 but inside the null: plain "no evidence of shift", not anti-learning
    inside = _decide(0.45, (0.38, 0.52), p_value=0.8, null_low=0.40)
    assert inside.stop and "anti-learning" not in inside.verdict
    # anti-learning whose interval still reaches above 0.5 + delta does not stop
    wide = _decide(0.40, (0.25, 0.56), p_value=0.97, null_low=0.41)
    assert not wide.stop and wide.verdict.startswith(f"inconclusive - {ANTI_LEARNING}")


def test_unseen_elements_are_always_a_shift():
    for p_value in (None, 1.0):
        unseen = _decide(0.327, (0.24, 0.42), unseen_element_molecules=2, p_value=p_value, null_low=0.4)
        assert not unseen.stop and unseen.shift_detected
        assert unseen.verdict.startswith("shift: 2 pool molecules hold elements absent from the training set")
