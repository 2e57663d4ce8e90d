"""Run a study over the store: ingest the default dataset if needed (:mod:`atomloop.study.dataset`; with the
``larger-molecules`` split also the larger set), label every molecule once, then run each experiment of the
matrix that is not finished yet.

Reuse: labelling is idempotent (molecules labelled at the study's settings are not computed
again); a finished experiment (``status = 'done'``) is skipped; a model already registered for
the same architecture, target, labels, training set, test set and training settings is reused
instead of trained again; an experiment's training set is reused from its sibling experiments
(same split, strategy, size and seed). A failed experiment is stored with its reason and
retried on the next run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from ase import Atoms
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tqdm.auto import tqdm

from atomloop.db.engine import get_engine, session_scope
from atomloop.errors import AtomloopError, InputError
from atomloop.labelling.runner import label_in_process
from atomloop.models.evaluate import predict
from atomloop.models.fitting import TrainingData, fit
from atomloop.models.names import ATOMIC_ENERGIES_ARRAY_KEY
from atomloop.models.training import TrainingConfig
from atomloop.qm import QMSettings
from atomloop.recipes.registered_model import load_registered_model
from atomloop.recipes.train import train_and_register
from atomloop.select import adversarial_validation
from atomloop.store import studies
from atomloop.store.labels import LabelSource, labelled_atoms
from atomloop.store.molecules import molecule_tags
from atomloop.store.registry import model_row, models_trained_on, stored_predictions
from atomloop.store.studies import ExperimentKey
from atomloop.study.atomic_errors import AtomicEnergies, AtomicErrorRow, atomic_error_rows
from atomloop.study.breakdown import error_breakdown
from atomloop.study.dataset import dataset_molecule_ids, larger_molecule_ids
from atomloop.select.environments import environment_keys
from atomloop.study.matrix import Experiment, StudyConfig, Target
from atomloop.study.splits import LARGER_MOLECULES, SplitSets, StudyMolecule, functional_group, split_dataset
from atomloop.study.training_sets import AUC_BOOTSTRAP, choose_training_set

COMMITTEE_ARCHITECTURE = "schnet"
STUDY_KIND = "transferability"

Labeller = Callable[[QMSettings, list[int]], Mapping[str, int]]


def open_study(engine: Engine, config: StudyConfig) -> int:
    """The id of the study row for ``config`` (created on first run; a name already used with
    other inputs is refused)."""
    with session_scope(engine) as session:
        return studies.open_study(session, config.study_name, STUDY_KIND, config.parameters(),
                                  config.qm_settings.settings_hash)


def _key(experiment: Experiment) -> ExperimentKey:
    return ExperimentKey(experiment.split, experiment.target, experiment.architecture, experiment.strategy,
                         experiment.size, experiment.seed, experiment.atomic_weight)


def _labelled_molecules(session: Session, settings: QMSettings, ids: list[int],
                        larger: frozenset[int] = frozenset()) -> tuple[dict[int, StudyMolecule], dict[int, Atoms]]:
    """Molecules of ``ids`` with a finished label and atomic energies of every scheme (those of
    ``larger``: of the larger set)."""
    atoms_by_id = labelled_atoms(session, LabelSource(settings.settings_hash), ids)
    for scheme in settings.schemes:
        complete = labelled_atoms(session, LabelSource(settings.settings_hash, scheme), list(atoms_by_id))
        atoms_by_id = {i: a for i, a in atoms_by_id.items() if i in complete}
    tags = molecule_tags(session, list(atoms_by_id))
    molecules = {
        i: StudyMolecule(i, len(atoms), int((atoms.numbers > 1).sum()), functional_group(tags[i]),
                         atoms.info["composition_hash"], atoms.info["formula"], i in larger)
        for i, atoms in atoms_by_id.items()
    }
    return molecules, atoms_by_id


class AdversarialTest(NamedTuple):
    """Adversarial validation of an experiment's training vs test set."""

    auc: float
    auc_low: float
    auc_high: float
    p_value: float | None  # one-sided permutation p-value; None without a permutation test

    def columns(self) -> dict[str, float | None]:
        """The values of the ``experiments`` columns."""
        return {"auc": self.auc, "auc_low": self.auc_low, "auc_high": self.auc_high, "auc_p_value": self.p_value}


@dataclass
class StudyPlan:
    """A study's labelled molecules and the caches its experiments share (splits, training
    sets, adversarial AUCs)."""

    engine: Engine
    config: StudyConfig
    study_id: int
    molecules: dict[int, StudyMolecule]
    atoms_by_id: dict[int, Atoms]
    _splits: dict[tuple[str, int], SplitSets] = field(default_factory=dict)
    _training: dict[tuple, list[int]] = field(default_factory=dict)
    _auc: dict[tuple, AdversarialTest] = field(default_factory=dict)
    _environments: dict[int, list[str]] = field(default_factory=dict)

    @property
    def settings_hash(self) -> str:
        return self.config.qm_settings.settings_hash

    def split(self, name: str, seed: int) -> SplitSets:
        """The split's pool/validation/test ids for ``seed``."""
        key = (name, seed)
        if key not in self._splits:
            self._splits[key] = split_dataset(
                list(self.molecules.values()), name, seed=seed, test_fraction=self.config.test_fraction,
                valid_fraction=self.config.valid_fraction, transfer_groups=self.config.transfer_groups,
            )
        return self._splits[key]

    def training_set(self, experiment: Experiment) -> list[int]:
        """The experiment's training ids: stored by a sibling experiment, else chosen now."""
        key = (experiment.split, experiment.strategy, experiment.size, experiment.seed)
        if key not in self._training:
            with session_scope(self.engine) as session:
                stored = studies.stored_training_set(session, self.study_id, experiment.split, experiment.strategy,
                                                     experiment.size, experiment.seed)
            split = self.split(experiment.split, experiment.seed)
            self._training[key] = sorted(stored) if stored else choose_training_set(
                experiment.strategy, split.pool, experiment.size, seed=experiment.seed, atoms_by_id=self.atoms_by_id,
                committee=lambda base, candidates: self.committee_predictions(base, candidates, split, experiment.seed),
            )
        return self._training[key]

    def committee_predictions(self, base: list[int], candidates: list[int], split: SplitSets, seed: int) -> np.ndarray:
        """Total energies (Hartree) of ``candidates`` by ``committee_size`` models trained on
        ``base`` (weights initialised with different seeds); shape (n_models, n_candidates)."""
        data = TrainingData(LabelSource(self.settings_hash), base, split.valid, [], [], self.atoms_by_id)
        config = TrainingConfig(target="total", epochs=self.config.epochs, early_stopping_patience=self.config.patience,
                                seed=seed, device=self.config.device, progress=False)
        candidate_atoms = [self.atoms_by_id[i] for i in candidates]
        energies = []
        for member in range(self.config.committee_size):
            result, _ = fit(COMMITTEE_ARCHITECTURE, data, config, {"seed": member})
            energies.append([p.energy for p in predict(result.model, candidate_atoms)])
        return np.array(energies)

    def auc(self, train_ids: list[int], test_ids: list[int], seed: int) -> AdversarialTest:
        """Adversarial validation of training vs test molecules: ROC AUC, its bootstrap interval
        and the one-sided permutation p-value over the study's ``permutations`` (else the
        defaults of :func:`adversarial_validation`)."""
        key = (tuple(train_ids), tuple(test_ids), seed)
        if key not in self._auc:
            result = adversarial_validation(
                [self.atoms_by_id[i] for i in train_ids], [self.atoms_by_id[i] for i in test_ids],
                seed=seed, n_bootstrap=AUC_BOOTSTRAP, permutations=self.config.permutations,
            )
            self._auc[key] = AdversarialTest(result.auc, *result.auc_interval, result.p_value)
        return self._auc[key]

    def environments(self, molecule_id: int) -> list[str]:
        """The radius-2 environment key of each atom of a molecule."""
        if molecule_id not in self._environments:
            self._environments[molecule_id] = environment_keys(self.atoms_by_id[molecule_id])
        return self._environments[molecule_id]

    def atomic_errors(self, session: Session, model_id: int, train_ids: list[int]) -> list[AtomicErrorRow]:
        """The model's test atomic-energy errors against every labelled scheme, raw and
        element-centred (offsets fitted on its predictions of ``train_ids``), beside the
        element-mean baseline of ``train_ids``' labels, split by whether each atom's environment
        occurs in ``train_ids``."""
        seen = {key for i in train_ids for key in self.environments(i)}
        model = load_registered_model(model_id, engine=self.engine)
        train_atoms = [self.atoms_by_id[i] for i in train_ids]
        on_train = [p.atomic_energies for p in predict(model, train_atoms)]
        rows = []
        for scheme in self.config.qm_settings.schemes:
            source = LabelSource(self.settings_hash, scheme)
            predictions = stored_predictions(session, model_id, "test", source)
            labels = labelled_atoms(session, source, train_ids)
            test = AtomicEnergies.of([p.atomic_energies for p in predictions],
                                     [p.reference_atomic_energies for p in predictions],
                                     [p.numbers for p in predictions])
            train = AtomicEnergies.of(on_train, [labels[i].arrays[ATOMIC_ENERGIES_ARRAY_KEY] for i in train_ids],
                                      [a.numbers for a in train_atoms])
            in_training = np.array([key in seen for p in predictions for key in self.environments(p.molecule_id)])
            rows += atomic_error_rows(scheme, test, in_training, train)
        return rows

    def finished(self) -> set[Experiment]:
        """Experiments of this study already done."""
        with session_scope(self.engine) as session:
            keys = studies.finished_experiments(session, self.study_id)
        return {Experiment(k.target, k.architecture, k.strategy, k.training_size, k.split, k.seed, k.atomic_weight)
                for k in keys}


def plan_study(engine: Engine, config: StudyConfig, study_id: int, molecule_ids: list[int],
               larger_ids: Sequence[int] = ()) -> StudyPlan:
    """The plan over the labelled molecules of ``molecule_ids`` and of the larger set's ``larger_ids``
    (the test side of ``larger-molecules``, in no other split)."""
    with session_scope(engine) as session:
        molecules, atoms_by_id = _labelled_molecules(session, config.qm_settings, sorted({*molecule_ids, *larger_ids}),
                                                     frozenset(larger_ids))
    if (own := sum(not m.larger for m in molecules.values())) < 8:
        raise InputError(f"only {own} molecules of the dataset are labelled; a study needs at least 8")
    return StudyPlan(engine, config, study_id, molecules, atoms_by_id)


def _reusable_model(session: Session, plan: StudyPlan, experiment: Experiment, train_ids: list[int], split: SplitSets) -> int | None:
    """A registered model trained exactly as ``experiment`` asks, if one exists."""
    target = Target.parse(experiment.target)
    overrides = plan.config.hyperparameters.get(experiment.architecture, {})
    candidates = models_trained_on(session, experiment.architecture, target.model_target, target.scheme,
                                   plan.settings_hash, train_ids)
    for model_id, h in candidates:
        if (
            h.get("labels", {}).get("atomic_column") == ("atomization" if target.atomization else "energy")
            and h.get("validation_molecule_ids") == split.valid and h.get("test_molecule_ids") == split.test
            and h.get("training", {}).get("epochs") == plan.config.epochs and h.get("training", {}).get("seed") == experiment.seed
            and h.get("training", {}).get("early_stopping_patience") == plan.config.patience
            and (target.kind == "total" or h.get("training", {}).get("atomic_weight", 1.0) == experiment.atomic_weight)
            and all(h.get("model", {}).get(k) == v for k, v in overrides.items())
        ):
            return model_id
    return None


def _store(engine: Engine, plan: StudyPlan, experiment: Experiment, values: dict, errors: list, atomic_errors: list) -> None:
    """Replace the experiment's row (and error rows) in one transaction."""
    target = Target.parse(experiment.target)
    with session_scope(engine) as session:
        studies.store_experiment(session, plan.study_id, _key(experiment), target.scheme, target.atomization, values,
                                 errors, atomic_errors)


def _training(plan: StudyPlan, experiment: Experiment) -> dict:
    """The experiment's :class:`TrainingConfig` fields: at most ``epochs``, stopped early after
    ``patience`` epochs without a better validation MAE (the best epoch's weights kept); an
    atomic target's weight (a total target keeps the default, so its models keep their
    fingerprints)."""
    weight = {} if experiment.target == "total" else {"atomic_weight": experiment.atomic_weight}
    return {"epochs": plan.config.epochs, "early_stopping_patience": plan.config.patience, "seed": experiment.seed,
            **weight}


def run_experiment(plan: StudyPlan, experiment: Experiment) -> str:
    """Train (or reuse) the experiment's model, measure its errors and store its row; returns
    ``done`` or ``failed`` (the failure's reason is stored)."""
    started = time.perf_counter()
    target = Target.parse(experiment.target)
    split = plan.split(experiment.split, experiment.seed)
    train_ids: list[int] = []
    try:
        train_ids = plan.training_set(experiment)
        test = plan.auc(train_ids, split.test, experiment.seed)
        with session_scope(plan.engine) as session:
            model_id = _reusable_model(session, plan, experiment, train_ids, split)
        source = LabelSource(plan.settings_hash, target.scheme, target.atomization)
        if model_id is None:
            model_id = train_and_register(
                arch=experiment.architecture, target=target.model_target, labels=source, train_ids=train_ids,
                valid_ids=split.valid, test_ids=split.test,
                hyperparameters=plan.config.hyperparameters.get(experiment.architecture),
                training=_training(plan, experiment), device=plan.config.device,
                progress=False, engine=plan.engine,
            )
        groups = {i: plan.molecules[i].group for i in split.test}
        with session_scope(plan.engine) as session:
            metrics = model_row(session, model_id).metrics["test"]
            errors = error_breakdown(stored_predictions(session, model_id, "test", source), groups)
            atomic_errors = plan.atomic_errors(session, model_id, train_ids)
        energy = metrics["energy"]
        atoms_total = [e for e in errors if e.kind == "group"]
        n_atoms = sum(e.n_atoms for e in atoms_total)
        atomic_kcal = sum(e.atomic_mae_kcal_mol * e.n_atoms for e in atoms_total) / n_atoms if target.scheme else None
        values = {
            "status": "done", "model_id": model_id, "train_molecule_ids": train_ids, "test_molecule_ids": split.test,
            **test.columns(), "mae_kcal_mol": energy["mae_kcal_mol"],
            "rmse_kcal_mol": energy["rmse_kcal_mol"], "mae_mev_atom": energy["mae_mev_atom"],
            "atomic_mae_kcal_mol": atomic_kcal,
            "atomic_mae_mev": None if atomic_kcal is None else sum(e.atomic_mae_mev * e.n_atoms for e in atoms_total) / n_atoms,
            "wall_time": time.perf_counter() - started,
        }
    except (AtomloopError, ValueError, RuntimeError) as error:
        values = {"status": "failed", "reason": f"{type(error).__name__}: {error}", "train_molecule_ids": train_ids,
                  "test_molecule_ids": split.test, "wall_time": time.perf_counter() - started}
        errors, atomic_errors = [], []
    _store(plan.engine, plan, experiment, values, errors, atomic_errors)
    return values["status"]


ExperimentRunner = Callable[[StudyPlan, Experiment], str]


@dataclass
class StudyResult:
    """What a study run did: counts of experiments run, skipped (already done) and failed."""

    study_id: int
    name: str
    done: int = 0
    failed: int = 0
    skipped: int = 0
    tests_filled: int = 0
    atomic_errors_filled: int = 0

    def summary(self) -> str:
        filled = f", {self.tests_filled} permutation tests filled in" if self.tests_filled else ""
        filled += f", {self.atomic_errors_filled} atomic errors filled in" if self.atomic_errors_filled else ""
        return (f"study {self.name} (id {self.study_id}): {self.done} run, {self.skipped} already done, "
                f"{self.failed} failed{filled}")


def fill_permutation_tests(plan: StudyPlan, *, progress: bool = False) -> int:
    """Run the adversarial test of every finished experiment stored without a p-value (studies
    run before revision 0009) and store its AUC, interval and p-value together; returns how
    many experiments it filled."""
    with session_scope(plan.engine) as session:
        untested = studies.experiments_without_p_value(session, plan.study_id)
    for row in tqdm(untested, desc="permutation tests", unit="exp", disable=not progress or not untested):
        test = plan.auc(row.train_molecule_ids, row.test_molecule_ids, row.seed)
        with session_scope(plan.engine) as session:
            studies.update_experiment(session, row.id, test.columns())
    return len(untested)


def fill_atomic_errors(plan: StudyPlan, *, progress: bool = False) -> int:
    """Compute again the atomic errors of every finished experiment stored without the
    element-mean baseline (studies run before revision 0012, whose offsets were fitted on test
    atoms); returns how many experiments it filled."""
    with session_scope(plan.engine) as session:
        stale = studies.experiments_without_baseline(session, plan.study_id)
    for row in tqdm(stale, desc="atomic errors", unit="exp", disable=not progress or not stale):
        with session_scope(plan.engine) as session:
            errors = plan.atomic_errors(session, row.model_id, row.train_molecule_ids)
            studies.replace_atomic_errors(session, row.id, errors)
    return len(stale)


def run_study(
    config: StudyConfig,
    *,
    engine: Engine | None = None,
    labeller: Labeller | None = None,
    experiment_runner: ExperimentRunner | None = None,
    progress: bool = True,
) -> StudyResult:
    """Run (or resume) the study described by ``config``."""
    engine = engine or get_engine()
    ids = dataset_molecule_ids(engine, config.dataset)
    larger = larger_molecule_ids(engine, ids) if LARGER_MOLECULES in config.splits else []
    study_id = open_study(engine, config)
    if labeller is None:
        label_in_process(config.qm_settings, [*ids, *larger], engine=engine, workers=2, progress=True)
    else:
        labeller(config.qm_settings, [*ids, *larger])
    plan = plan_study(engine, config, study_id, ids, larger)
    result = StudyResult(study_id, config.study_name)
    finished = plan.finished()
    pending = [e for e in config.experiments() if e not in finished]
    result.skipped = len(config.experiments()) - len(pending)
    for experiment in tqdm(pending, desc="experiments", unit="exp", disable=not progress):
        status = (experiment_runner or run_experiment)(plan, experiment)
        setattr(result, status, getattr(result, status) + 1)
    result.tests_filled = fill_permutation_tests(plan, progress=progress)
    result.atomic_errors_filled = fill_atomic_errors(plan, progress=progress)
    with session_scope(engine) as session:
        studies.finish_study(session, study_id, "done" if result.failed == 0 else "failed")
    return result
