"""Hyper-parameter tuning of atomloop models with Optuna: one *search* per round, architecture and
target, kept as an Optuna study in the store's database (``study_name`` is the old name of
``search_name``)."""

from atomloop.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "suggest": ".space",
    "optuna_storage": ".storage",
    "TuneResult": ".search",
    "latest_best_parameters": ".search",
    "search_name": ".search",
    "study_name": ".search",
    "tune": ".search",
})

__all__ = ["TuneResult", "latest_best_parameters", "optuna_storage", "search_name", "study_name", "suggest", "tune"]
