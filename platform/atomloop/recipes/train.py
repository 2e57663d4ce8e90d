"""Train and register: read labels from the store, fit (:mod:`atomloop.models.fitting`), register
the ``Model`` row, its ``TrainingEpoch`` rows (training curves) and its test/OOD ``Prediction``
rows. :mod:`atomloop.recipes.evaluate` predicts with registered models.

Labels are those of :mod:`atomloop.store.labels`. The final model is
``<artifacts>/models/<arch>-<target>-<fingerprint>.pt`` with its sha256 in the ``Model`` row,
its curves also TensorBoard event files in ``<artifacts>/tensorboard/<arch>-<target>-<fingerprint>/``
(``metrics -> 'training' ->> 'tensorboard_dir'``; :mod:`atomloop.models.curves`);
re-running a killed :func:`train_and_register` resumes its training from the checkpoints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from atomloop.config import get_settings
from atomloop.db.engine import get_engine, session_scope
from atomloop.errors import ArtifactWriteError, UsageError
from atomloop.models.artifacts import writing_artifacts
from atomloop.models.checkpoint import save_model
from atomloop.models.curves import curves_of, write_event_files
from atomloop.models.data import type_names_for
from atomloop.models.evaluate import metrics_of, predict
from atomloop.models.fitting import TrainingData, can_continue, fit, software_versions, split_training_data
from atomloop.models.training import DEFAULT_FOLDS, SELECTION_METRIC, EpochCallback, TrainingConfig, resolve_device
from atomloop.recipes.evaluate import SPLIT_OF_SET
from atomloop.recipes.registered_model import load_registered_model
from atomloop.store.labels import LabelSource, labelled_atoms, resolve_settings_hash
from atomloop.store.registry import register_model
from atomloop.store.runs import round_position, run_named, selected_ids, split_ids


def round_sets(session: Session, round_id: int) -> dict[str, list[int]] | None:
    """What the loop's training step trains and tests a run's round on: ``train``, the molecules
    selected in rounds 0 up to this one (the initial set included), and the run's ``test`` and
    ``ood`` molecules, labelled or not. None for a round without a run."""
    run_name, index = round_position(session, round_id)
    if run_name is None:
        return None
    run_id, _ = run_named(session, run_name)
    return {"train": selected_ids(session, run_id, up_to_round=index), "test": split_ids(session, run_name, "test"),
            "ood": split_ids(session, run_name, "ood_test")}


def label_source(
    *,
    target: str,
    scheme: str | None = None,
    settings_hash: str | None = None,
    method: str | None = None,
    basis: str | None = None,
    atomization: bool = False,
    engine: Engine | None = None,
) -> LabelSource:
    """The labels a model of ``target`` trains on: the one labelled level that ``settings_hash``
    (or a prefix), ``method`` and ``basis`` name (:func:`~atomloop.store.labels.resolve_settings_hash`),
    atomic energies of ``scheme``, as atomization energies where ``atomization``."""
    check_labels(target, scheme, atomization)
    with session_scope(engine or get_engine()) as session:
        return LabelSource(
            resolve_settings_hash(session, settings_hash=settings_hash, method=method, basis=basis), scheme, atomization
        )


def check_labels(target: str, scheme: str | None, atomization: bool) -> None:
    """A usage error where a model of ``target`` cannot train on the labels of ``scheme``
    (:class:`~atomloop.models.names.LabelSource`): target ``atomic`` and atomization energies
    need a partition scheme."""
    if target == "atomic" and scheme is None:
        raise UsageError("target 'atomic' needs a partition scheme (--scheme)")
    if atomization and scheme is None:
        raise UsageError("atomization-style targets need a partition scheme")


def prepare_data(
    source: LabelSource,
    *,
    train_ids: Sequence[int] | None = None,
    valid_ids: Sequence[int] | None = None,
    test_ids: Sequence[int] | None = None,
    ood_ids: Sequence[int] | None = None,
    round_id: int | None = None,
    seed: int = 0,
    validation: str = "auto",
    folds: int = DEFAULT_FOLDS,
    engine: Engine | None = None,
) -> TrainingData:
    """Load the molecules labelled by ``source`` (:func:`label_source`) and split them (see
    :func:`train_and_register`; ``validation`` and ``folds`` as in
    :class:`~atomloop.models.training.TrainingConfig`); deterministic for the same store contents
    and arguments. A run's ``round_id``: the ids not given are the round's (:func:`round_sets`),
    those of them that are labelled."""
    with session_scope(engine or get_engine()) as session:
        atoms_by_id = labelled_atoms(session, source)
        in_round = round_sets(session, round_id) if round_id is not None else None
    if in_round is not None:
        given = {"train": train_ids, "test": test_ids, "ood": ood_ids}
        train_ids, test_ids, ood_ids = (
            [i for i in in_round[name] if i in atoms_by_id] if given[name] is None else given[name]
            for name in ("train", "test", "ood")
        )
    return split_training_data(
        source, atoms_by_id, train_ids=train_ids, valid_ids=valid_ids, test_ids=test_ids, ood_ids=ood_ids, seed=seed,
        validation=validation, folds=folds,
    )


def train_and_register(
    *,
    arch: str,
    target: str,
    labels: LabelSource,
    train_ids: Sequence[int] | None = None,
    valid_ids: Sequence[int] | None = None,
    test_ids: Sequence[int] | None = None,
    ood_ids: Sequence[int] | None = None,
    round_id: int | None = None,
    hyperparameters: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    device: str = "auto",
    progress: bool = True,
    epoch_callback: EpochCallback | None = None,
    warm_start: int | None = None,
    engine: Engine | None = None,
) -> int:
    """Train a model of ``target`` on the molecules of the store labelled by ``labels`` (for
    example from :func:`label_source`) and register it; returns its id.

    ``round_id`` of a run: the model belongs to that round and, where not given, trains on its
    training set and is tested on the run's test and OOD molecules, as the loop's models are
    (those of them that are labelled; :func:`round_sets`). Otherwise ``train_ids`` None: every
    labelled molecule not in the validation/test/OOD ids.
    ``valid_ids`` None: validation by ``training["validation"]`` (default ``auto``: a hold-out of
    max(10 %, 50) molecules where 100 remain for training, else a 5-fold estimate of the number of
    epochs; :mod:`atomloop.models.fitting`); given ``valid_ids`` are used as they are.
    ``hyperparameters``: the architecture's (see :mod:`atomloop.models.networks`); ``training``:
    fields of :class:`~atomloop.models.training.TrainingConfig`. Test and OOD molecules get
    ``Prediction`` rows (splits ``test`` and ``ood_test``) and metrics in the ``Model`` row,
    marked where they hold elements the training molecules lack; every epoch of every training
    gets a ``TrainingEpoch`` row, in the transaction that registers the model.
    ``warm_start``: id of a registered model to continue instead of training a new one (its
    artifact checked against its sha256; ``training["warm_start_epochs"]`` epochs,
    :func:`atomloop.models.fitting.fit`); recorded as ``metrics -> 'training' -> 'warm_start_from'``
    (None where the model is new, also when that model lacks an element of the labels).
    """
    engine = engine or get_engine()
    config = TrainingConfig(target=target, device=device, progress=progress, **(training or {}))
    check_labels(target, labels.scheme, labels.atomization)
    data = prepare_data(
        labels, train_ids=train_ids, valid_ids=valid_ids, test_ids=test_ids, ood_ids=ood_ids, round_id=round_id,
        seed=config.seed, validation=config.validation, folds=config.folds, engine=engine,
    )
    initial = load_registered_model(warm_start, engine=engine) if warm_start is not None else None
    continued = initial is not None and can_continue(initial, arch, data)
    artifacts = get_settings().artifacts_dir
    try:
        with writing_artifacts(artifacts):
            result, fingerprint = fit(
                arch, data, config, hyperparameters, epoch_callback=epoch_callback, initial_model=initial
            )
            model_path = artifacts / "models" / f"{arch}-{target}-{fingerprint}.pt"
            checksum = save_model(result.model, model_path)
            curves = curves_of(result)
            tensorboard_dir = write_event_files(artifacts / "tensorboard" / f"{arch}-{target}-{fingerprint}", curves)
    except ArtifactWriteError as error:  # the row says why; no artifact, no predictions
        register_model(
            engine, {}, architecture=arch, target=target, scheme=labels.scheme, settings_hash=labels.settings_hash,
            hyperparameters={"model": hyperparameters or {}, "training": config.optimisation_settings()},
            round_id=round_id, training_molecule_ids=data.train_ids, metrics={"failure": str(error)},
            versions=software_versions(), status="failed",
        )
        raise
    model = result.model
    elements = type_names_for(data.atoms("train"))
    evaluated = [name for name in ("train", "valid", "test", "ood") if getattr(data, f"{name}_ids")]
    predictions = {name: predict(model, data.atoms(name)) for name in evaluated}
    metrics: dict[str, Any] = {
        "training": {
            "epochs": len(result.history), "best_epoch": result.best_epoch,
            "best_valid_loss": result.best_valid_loss, "stopped_early": result.stopped_early,
            "selection_metric": SELECTION_METRIC, "best_valid_mae_kcal_mol": result.best_valid_mae_kcal_mol,
            "loss_scales_hartree": result.loss_scales, "validation": data.validation_record(result),
            "tensorboard_dir": str(tensorboard_dir), "warm_start_from": warm_start if continued else None,
        },
        **{
            SPLIT_OF_SET.get(name, name): metrics_of(data.atoms(name), predictions[name], elements)
            for name in evaluated
        },
    }
    return register_model(
        engine,
        {SPLIT_OF_SET[name]: (data.atoms(name), predictions[name]) for name in ("test", "ood") if name in predictions},
        curves,
        architecture=arch, target=target, scheme=labels.scheme, settings_hash=labels.settings_hash,
        hyperparameters={
            "model": model.hyperparameters, "training": result.config.optimisation_settings(),
            "labels": {"atomic_column": "atomization" if labels.atomization else "energy"},
            "validation_molecule_ids": data.valid_ids,
            "test_molecule_ids": data.test_ids, "ood_molecule_ids": data.ood_ids,
        },
        round_id=round_id, training_molecule_ids=data.train_ids, artifact_path=str(model_path),
        checksum=checksum, metrics=metrics, versions={**software_versions(), "device": str(resolve_device(config.device))},
        status="done",
    )
