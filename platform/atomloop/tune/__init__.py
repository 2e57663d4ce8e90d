"""Hyper-parameter tuning of atomloop models with Optuna: one *search* per round, architecture and
target and label set, kept as an Optuna study in the store's database."""

from atomloop.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "suggest": ".space",
    "optuna_storage": ".storage",
    "TuneResult": ".search",
    "latest_best_parameters": ".search",
    "SearchScope": ".search",
    "search_name": ".search",
    "tune": ".search",
})

__all__ = ["SearchScope", "TuneResult", "latest_best_parameters", "optuna_storage", "search_name", "suggest", "tune"]
