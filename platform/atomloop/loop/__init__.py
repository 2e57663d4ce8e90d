"""The active-learning loop: run inputs, idempotent round steps, stopping rules, driver."""

from atomloop.loop.config import LoopConfig
from atomloop.loop.driver import LoopResult, StepRunner, run_loop

__all__ = ["LoopConfig", "LoopResult", "StepRunner", "run_loop"]
