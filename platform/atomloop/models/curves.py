"""Training curves: the per-epoch histories of a model's trainings, as TensorBoard event files.

A model's curves are ``{fold: history}``: fold 0 is the training that made the model, folds
1..k the k-fold validation trainings that chose its number of epochs
(:attr:`~atomloop.models.training.TrainingResult.fold_histories`). Each history entry is one
epoch (:class:`~atomloop.models.training.TrainingResult`); every entry but ``epoch`` becomes a
scalar of that name at step ``epoch`` (losses dimensionless, ``*_mae`` in Hartree,
``*_mae_kcal_mol`` in kcal/mol). ``tensorboard --logdir DIR`` shows fold 0 as the run ``.``
and fold f as the run ``fold-f``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from atomloop.models.names import MODEL_FOLD, Curves
from atomloop.models.training import TrainingResult


def curves_of(result: TrainingResult) -> dict[int, list[dict[str, float]]]:
    """A training result's curves: its own history as fold 0, then its k-fold histories."""
    return {MODEL_FOLD: result.history, **result.fold_histories}


def run_directory(directory: Path, fold: int) -> Path:
    """Where fold ``fold``'s event file lives under a model's ``directory``."""
    return directory if fold == MODEL_FOLD else directory / f"fold-{fold}"


def write_event_files(directory: Path, curves: Curves) -> Path:
    """Write ``curves`` as TensorBoard event files under ``directory`` (replacing any there,
    so a model registered again does not show its epochs twice); returns ``directory``."""
    from torch.utils.tensorboard import SummaryWriter

    shutil.rmtree(directory, ignore_errors=True)
    try:
        for fold, history in curves.items():
            writer = SummaryWriter(log_dir=str(run_directory(directory, fold)))
            try:
                for record in history:
                    for name, value in record.items():
                        if name != "epoch":
                            writer.add_scalar(name, value, global_step=int(record["epoch"]))
            finally:
                writer.close()
    except OSError:  # a full or read-only disk: leave no half-written event files
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return directory
