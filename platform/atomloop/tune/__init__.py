"""Hyper-parameter tuning of atomloop models with Optuna (studies stored in the store's database)."""

from atomloop.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "suggest": ".space",
    "optuna_storage": ".storage",
    "TuneResult": ".study",
    "latest_best_parameters": ".study",
    "study_name": ".study",
    "tune": ".study",
})

__all__ = ["TuneResult", "latest_best_parameters", "optuna_storage", "study_name", "suggest", "tune"]
