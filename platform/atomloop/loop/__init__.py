"""The active-learning loop: run inputs, idempotent round steps, stopping rules, driver."""

from atomloop.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "LoopConfig": ".config",
    "LoopResult": ".driver",
    "StepRunner": ".driver",
    "run_loop": ".driver",
})

__all__ = ["LoopConfig", "LoopResult", "StepRunner", "run_loop"]
