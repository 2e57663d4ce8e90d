"""Every table of the store as a typed SQLAlchemy ORM (PostgreSQL): molecules, labels
(calculations, atomic energies), runs, rounds and selections, models, their training curves
(``training_epochs``, migration 0005) and predictions, and the transferability studies
(``studies``, ``experiments``, ``experiment_errors``, migration 0003).

Units: positions in Ångström, energies in Hartree, times in seconds; the study's errors in
kcal/mol and meV/atom (molecular energies), kcal/mol and meV (atomic energies). Unique constraints make
every write idempotent: a structure is stored once (``structure_hash``), a molecule is
computed once per settings (``molecule_id, settings_hash``), a round exists once per run
and index, a molecule is selected once per round.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """Declarative base of every atomloop table."""


class CalculationStatus(str, enum.Enum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class RoundStatus(str, enum.Enum):
    running = "running"
    done = "done"
    failed = "failed"


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Molecule(Base):
    """One 3-D structure (conformers of one molecule are separate rows)."""

    __tablename__ = "molecules"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    numbers: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), nullable=False)
    positions: Mapped[list[list[float]]] = mapped_column(
        ARRAY(Double, dimensions=2), nullable=False, comment="Cartesian positions, Å, shape (natoms, 3)"
    )
    natoms: Mapped[int] = mapped_column(Integer, nullable=False)
    charge: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    multiplicity: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    formula: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    structure_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    composition_hash: Mapped[str] = mapped_column(
        String(64), nullable=False, index=True, comment="same for every conformer of one molecule"
    )
    name: Mapped[str | None] = mapped_column(Text)
    smiles: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default="{}")
    created: Mapped[datetime] = _created()


class Calculation(Base):
    """One SCF of one molecule at one level (``settings_hash`` of the SCF-level settings,
    :attr:`atomloop.qm.settings.QMSettings.settings_hash`); its atomic energies per scheme are
    derived rows (:class:`AtomicEnergy`), its orbitals kept in :class:`ScfSolution`."""

    __tablename__ = "calculations"
    __table_args__ = (UniqueConstraint("molecule_id", "settings_hash", name="uq_calculation_molecule_settings"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    molecule_id: Mapped[int] = mapped_column(ForeignKey("molecules.id", ondelete="CASCADE"), nullable=False, index=True)
    method: Mapped[str] = mapped_column(String(64), nullable=False)
    basis: Mapped[str] = mapped_column(String(64), nullable=False)
    settings_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    settings: Mapped[dict] = mapped_column(JSONB, nullable=False)
    program: Mapped[str] = mapped_column(String(32), nullable=False, default="pyscf")
    program_version: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[CalculationStatus] = mapped_column(
        Enum(CalculationStatus, name="calculation_status"), nullable=False, default=CalculationStatus.queued
    )
    reason: Mapped[str | None] = mapped_column(Text, comment="why a calculation failed")
    total_energy: Mapped[float | None] = mapped_column(Double, comment="Hartree")
    converged: Mapped[bool | None] = mapped_column(Boolean)
    scf_info: Mapped[dict | None] = mapped_column(JSONB, comment="iterations, fallbacks used, stability")
    wall_time: Mapped[float | None] = mapped_column(Double, comment="seconds")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    worker: Mapped[str | None] = mapped_column(Text, comment="host:pid that holds or held the calculation")
    heartbeat: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created: Mapped[datetime] = _created()
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    molecule: Mapped[Molecule] = relationship()


class ScfSolution(Base):
    """The converged occupied orbitals of a finished calculation (:mod:`atomloop.qm.orbitals`),
    so a scheme added later is derived without a new SCF."""

    __tablename__ = "scf_solutions"

    calculation_id: Mapped[int] = mapped_column(ForeignKey("calculations.id", ondelete="CASCADE"), primary_key=True)
    format: Mapped[str] = mapped_column(String(32), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, comment="compressed npz")
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    created: Mapped[datetime] = _created()


class AtomicEnergy(Base):
    """One atom's share of a calculation's total energy in one partition scheme (Hartree)."""

    __tablename__ = "atomic_energies"

    calculation_id: Mapped[int] = mapped_column(
        ForeignKey("calculations.id", ondelete="CASCADE"), primary_key=True
    )
    scheme: Mapped[str] = mapped_column(String(64), primary_key=True)
    atom_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    atomic_number: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    energy: Mapped[float] = mapped_column(Double, nullable=False, comment="Hartree")
    kinetic: Mapped[float | None] = mapped_column(Double)
    nuclear_attraction: Mapped[float | None] = mapped_column(Double)
    coulomb: Mapped[float | None] = mapped_column(Double)
    exchange: Mapped[float | None] = mapped_column(Double)
    xc: Mapped[float | None] = mapped_column(Double)
    nuclear_repulsion: Mapped[float | None] = mapped_column(Double)
    atomization: Mapped[float | None] = mapped_column(
        Double, comment="energy minus the free atom's energy at the same level, Hartree"
    )


class Dataset(Base):
    """A named collection of molecules with a split per member."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = _created()


class DatasetMember(Base):
    __tablename__ = "dataset_members"

    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    molecule_id: Mapped[int] = mapped_column(ForeignKey("molecules.id", ondelete="CASCADE"), primary_key=True)
    split: Mapped[str] = mapped_column(String(32), nullable=False, comment="train, valid, test, ood_test, pool")


class Run(Base):
    """One active-learning run (the inputs of the loop flow)."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    parameters: Mapped[dict] = mapped_column(JSONB, nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="running")
    stop_reason: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = _created()


# The steps of a round, in order; ``rounds.step`` holds the last one finished.
ROUND_STEPS = ("selected", "labelled", "trained", "evaluated")


class Round(Base):
    """One round of a run: select, label, train, evaluate (:data:`ROUND_STEPS`)."""

    __tablename__ = "rounds"
    __table_args__ = (UniqueConstraint("run_id", "index", name="uq_round_run_index", postgresql_nulls_not_distinct=True),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[RoundStatus] = mapped_column(
        Enum(RoundStatus, name="round_status"), nullable=False, default=RoundStatus.running
    )
    step: Mapped[str | None] = mapped_column(String(32), comment="last finished step")
    timings: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    created: Mapped[datetime] = _created()
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AdversarialValidation(Base):
    """One adversarial-validation test of training vs pool (cross-validated ROC AUC)."""

    __tablename__ = "adversarial_validations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    level: Mapped[str] = mapped_column(String(16), nullable=False, comment="molecule or atom")
    auc: Mapped[float] = mapped_column(Double, nullable=False)
    auc_low: Mapped[float] = mapped_column(Double, nullable=False)
    auc_high: Mapped[float] = mapped_column(Double, nullable=False)
    p_value: Mapped[float | None] = mapped_column(
        Double, comment="one-sided permutation p-value, (1 + #null >= auc) / (B + 1); NULL without a permutation test"
    )
    null_auc_low: Mapped[float | None] = mapped_column(Double, comment="2.5 % quantile of the permutation null's AUCs")
    null_auc_median: Mapped[float | None] = mapped_column(Double, comment="median of the permutation null's AUCs")
    null_auc_high: Mapped[float | None] = mapped_column(Double, comment="97.5 % quantile of the permutation null's AUCs")
    n_train: Mapped[int] = mapped_column(Integer, nullable=False)
    n_pool: Mapped[int] = mapped_column(Integer, nullable=False)
    settings: Mapped[dict] = mapped_column(JSONB, nullable=False, comment="classifier and descriptor settings")
    created: Mapped[datetime] = _created()


class OODScore(Base):
    """A pool molecule's out-of-distribution score in one adversarial validation."""

    __tablename__ = "ood_scores"

    validation_id: Mapped[int] = mapped_column(
        ForeignKey("adversarial_validations.id", ondelete="CASCADE"), primary_key=True
    )
    molecule_id: Mapped[int] = mapped_column(ForeignKey("molecules.id", ondelete="CASCADE"), primary_key=True)
    score: Mapped[float] = mapped_column(Double, nullable=False, comment="out-of-fold P(pool)")
    atom_scores: Mapped[list[float] | None] = mapped_column(ARRAY(Double))
    flagged_atoms: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))


class Selection(Base):
    """A molecule chosen for labelling in a round."""

    __tablename__ = "selections"

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True)
    molecule_id: Mapped[int] = mapped_column(ForeignKey("molecules.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, nullable=False)
    score: Mapped[float | None] = mapped_column(Double)
    strategy: Mapped[str] = mapped_column(String(32), nullable=False)
    flagged_atoms: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))


class Model(Base):
    """A trained network with everything needed to reproduce and load it."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    architecture: Mapped[str] = mapped_column(String(32), nullable=False)
    target: Mapped[str] = mapped_column(String(32), nullable=False, comment="total or atomic")
    scheme: Mapped[str | None] = mapped_column(String(64), comment="partition scheme of atomic targets")
    settings_hash: Mapped[str | None] = mapped_column(String(64), comment="labelling settings of the targets")
    hyperparameters: Mapped[dict] = mapped_column(JSONB, nullable=False)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id", ondelete="SET NULL"), index=True)
    training_molecule_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), nullable=False)
    artifact_path: Mapped[str | None] = mapped_column(Text)
    checksum: Mapped[str | None] = mapped_column(String(64), comment="sha256 of the artifact")
    metrics: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    versions: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default="{}")
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="done")
    created: Mapped[datetime] = _created()


class Prediction(Base):
    """A model's prediction for one molecule (Hartree)."""

    __tablename__ = "predictions"

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    molecule_id: Mapped[int] = mapped_column(ForeignKey("molecules.id", ondelete="CASCADE"), primary_key=True)
    split: Mapped[str] = mapped_column(String(32), nullable=False, comment="test, ood_test, train, pool")
    energy: Mapped[float] = mapped_column(Double, nullable=False, comment="Hartree")
    atomic_energies: Mapped[list[float] | None] = mapped_column(ARRAY(Double), comment="Hartree, one per atom")
    reference_energy: Mapped[float | None] = mapped_column(Double, comment="Hartree")


class TrainingEpoch(Base):
    """One epoch of one of a model's trainings (migration 0005): fold 0 is the training that made
    the model, folds 1..k the k-fold validation trainings that chose its number of epochs. Losses
    are the normalised training objective (dimensionless), mean over the epoch's molecules."""

    __tablename__ = "training_epochs"

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    fold: Mapped[int] = mapped_column(
        SmallInteger, primary_key=True, comment="0: the model's own training; 1..k: k-fold validation trainings"
    )
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True, comment="1-based")
    train_loss: Mapped[float] = mapped_column(Double, nullable=False, comment="training loss, dimensionless")
    train_mae: Mapped[float] = mapped_column(
        Double, nullable=False, comment="molecular energies, training molecules, Hartree (during the epoch's updates)"
    )
    train_mae_kcal_mol: Mapped[float] = mapped_column(Double, nullable=False, comment="train_mae in kcal/mol")
    train_atomic_mae: Mapped[float | None] = mapped_column(Double, comment="atomic energies, Hartree (atomic targets)")
    valid_loss: Mapped[float | None] = mapped_column(
        Double, comment="validation loss, dimensionless; NULL where the training had no validation molecules"
    )
    valid_mae: Mapped[float | None] = mapped_column(Double, comment="molecular energies, validation molecules, Hartree")
    valid_mae_kcal_mol: Mapped[float | None] = mapped_column(
        Double, comment="valid_mae in kcal/mol: early stopping, learning-rate schedule and k-fold choose on it"
    )
    valid_atomic_mae: Mapped[float | None] = mapped_column(Double, comment="atomic energies, Hartree (atomic targets)")
    learning_rate: Mapped[float] = mapped_column(Double, nullable=False, comment="Adam learning rate of the epoch")


# --- transferability studies (migration 0003) ---


class Study(Base):
    """A named matrix of experiments and its inputs."""

    __tablename__ = "studies"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False, comment="transferability")
    parameters: Mapped[dict] = mapped_column(JSONB, nullable=False)
    settings_hash: Mapped[str] = mapped_column(String(64), nullable=False, comment="labelling settings of the targets")
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="running")
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StudyExperiment(Base):
    """One experiment: a model trained on one training set and tested on one split's test set."""

    __tablename__ = "experiments"
    __table_args__ = (
        UniqueConstraint(
            "study_id", "split", "target", "architecture", "strategy", "training_size", "seed", "atomic_weight",
            name="uq_experiment_cell",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), nullable=False, index=True)
    split: Mapped[str] = mapped_column(String(32), nullable=False, comment="in-distribution, size-transfer, group-transfer")
    target: Mapped[str] = mapped_column(String(80), nullable=False, comment="total, atomic:<scheme>, atomization:<scheme>")
    scheme: Mapped[str | None] = mapped_column(String(64))
    atomization: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    architecture: Mapped[str] = mapped_column(String(32), nullable=False)
    strategy: Mapped[str] = mapped_column(String(32), nullable=False, comment="random, adversarial, committee")
    training_size: Mapped[int] = mapped_column(Integer, nullable=False)
    seed: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False, comment="done or failed")
    reason: Mapped[str | None] = mapped_column(Text, comment="why an experiment failed")
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id", ondelete="SET NULL"))
    train_molecule_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), nullable=False)
    test_molecule_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), nullable=False)
    auc: Mapped[float | None] = mapped_column(Double, comment="adversarial ROC AUC, training vs test set")
    auc_low: Mapped[float | None] = mapped_column(Double)
    auc_high: Mapped[float | None] = mapped_column(Double)
    auc_p_value: Mapped[float | None] = mapped_column(
        Double, comment="one-sided permutation p-value of the AUC, (1 + #null >= auc) / (B + 1)"
    )
    mae_kcal_mol: Mapped[float | None] = mapped_column(Double, comment="molecular energies, kcal/mol")
    rmse_kcal_mol: Mapped[float | None] = mapped_column(Double)
    mae_mev_atom: Mapped[float | None] = mapped_column(Double, comment="molecular energy error per atom, meV/atom")
    atomic_mae_kcal_mol: Mapped[float | None] = mapped_column(Double, comment="atomic energies, all atoms, kcal/mol")
    atomic_mae_mev: Mapped[float | None] = mapped_column(Double)
    wall_time: Mapped[float | None] = mapped_column(Double, comment="seconds")
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    atomic_weight: Mapped[float] = mapped_column(
        Double, nullable=False, server_default="1",
        comment="weight of the atomic term against the total term of the loss; 0 for target total",
    )


class ExperimentAtomicError(Base):
    """An experiment's atomic-energy test errors against one partition scheme's labels, for one
    element (or ``all``) and one kind of local environment (``seen``, ``unseen``, ``all``)."""

    __tablename__ = "experiment_atomic_errors"

    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True)
    scheme: Mapped[str] = mapped_column(String(64), primary_key=True, comment="the partition scheme whose labels are the reference")
    element: Mapped[str] = mapped_column(String(8), primary_key=True, comment="element symbol, or 'all'")
    environment: Mapped[str] = mapped_column(
        String(8), primary_key=True,
        comment="'seen': the atom's radius-2 bond-graph environment occurs in the training set; 'unseen'; 'all'",
    )
    n_atoms: Mapped[int] = mapped_column(Integer, nullable=False)
    mae_kcal_mol: Mapped[float] = mapped_column(Double, nullable=False, comment="mean |predicted - reference| atomic energy, kcal/mol")
    centred_mae_kcal_mol: Mapped[float] = mapped_column(
        Double, nullable=False,
        comment="the same after subtracting each element's mean error over the model's training atoms, kcal/mol",
    )
    offset_kcal_mol: Mapped[float | None] = mapped_column(
        Double, comment="the element's mean error that centring removes (NULL for 'all'), kcal/mol"
    )
    baseline_mae_kcal_mol: Mapped[float | None] = mapped_column(
        Double, comment="MAE of the element-mean baseline (each element's mean label over the training atoms), kcal/mol"
    )


class ExperimentError(Base):
    """An experiment's test errors restricted to one element or one functional group."""

    __tablename__ = "experiment_errors"

    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True, comment="element or group")
    key: Mapped[str] = mapped_column(String(32), primary_key=True, comment="element symbol or group name")
    n_molecules: Mapped[int] = mapped_column(Integer, nullable=False)
    n_atoms: Mapped[int] = mapped_column(Integer, nullable=False)
    mae_kcal_mol: Mapped[float | None] = mapped_column(Double, comment="molecular energies (groups only)")
    mae_mev_atom: Mapped[float | None] = mapped_column(Double)
    atomic_mae_kcal_mol: Mapped[float | None] = mapped_column(Double, comment="atomic energies (atomic targets)")
    atomic_mae_mev: Mapped[float | None] = mapped_column(Double)


class StoreIdentity(Base):
    """The store's one identity row, written by migration 0010 (see :mod:`atomloop.store.store_identity`)."""

    __tablename__ = "store_identity"
    __table_args__ = (CheckConstraint("singleton", name="ck_store_identity_one_row"),)

    singleton: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default="true",
                                            comment="always true: the table holds one row")
    store_id: Mapped[str] = mapped_column(Text, nullable=False, server_default=func.gen_random_uuid().cast(Text),
                                          comment="random id written when the store was created")
    created: Mapped[datetime] = _created()
