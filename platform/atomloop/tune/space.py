"""Hyper-parameter search spaces, one per architecture.

SchNet: cutoff ``r_max`` 3.5-6.0 Å (uniform), ``num_layers`` 2-4 interactions,
``num_features`` in {16, 32, 64}, ``num_rbf`` in {16, 32} Gaussians.
NequIP: ``r_max`` 3.5-6.0 Å, ``num_layers`` 1-3, ``l_max`` 1-2, ``num_features`` in {8, 16, 32}.
Both: Adam ``learning_rate`` 1e-3-1e-2 (log-uniform), ``batch_size`` in {4, 8, 16} molecules.
"""

from __future__ import annotations

from typing import Any

import optuna

TRAINING_PARAMETERS = ("learning_rate", "batch_size")


def _suggest_common(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "r_max": trial.suggest_float("r_max", 3.5, 6.0),
        "learning_rate": trial.suggest_float("learning_rate", 1e-3, 1e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [4, 8, 16]),
    }


def suggest(trial: optuna.Trial, arch: str) -> dict[str, Any]:
    """One point of ``arch``'s search space (model and training parameters together)."""
    params = _suggest_common(trial)
    if arch == "schnet":
        params.update(
            num_layers=trial.suggest_int("num_layers", 2, 4),
            num_features=trial.suggest_categorical("num_features", [16, 32, 64]),
            num_rbf=trial.suggest_categorical("num_rbf", [16, 32]),
        )
    else:
        params.update(
            num_layers=trial.suggest_int("num_layers", 1, 3),
            l_max=trial.suggest_int("l_max", 1, 2),
            num_features=trial.suggest_categorical("num_features", [8, 16, 32]),
        )
    return params


def split_parameters(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model hyper-parameters, training settings) of a trial's parameters."""
    model = {k: v for k, v in params.items() if k not in TRAINING_PARAMETERS}
    training = {k: v for k, v in params.items() if k in TRAINING_PARAMETERS}
    return model, training
