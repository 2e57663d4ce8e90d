"""Hyper-parameter tuning of atomloop models with Optuna (studies stored in the store's database)."""

from atomloop.tune.space import suggest
from atomloop.tune.storage import optuna_storage
from atomloop.tune.study import TuneResult, latest_best_parameters, study_name, tune

__all__ = ["TuneResult", "latest_best_parameters", "optuna_storage", "study_name", "suggest", "tune"]
