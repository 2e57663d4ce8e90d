"""The study's tables (migration ``0003``): studies, their experiments, and each experiment's
errors per element and per functional group.

Errors: molecular energies in kcal/mol and meV/atom, atomic energies in kcal/mol and meV
(mean absolute errors on the experiment's test molecules).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Double, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from atomloop.db.orm import Base


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
            "study_id", "split", "target", "architecture", "strategy", "training_size", "seed",
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
    mae_kcal_mol: Mapped[float | None] = mapped_column(Double, comment="molecular energies, kcal/mol")
    rmse_kcal_mol: Mapped[float | None] = mapped_column(Double)
    mae_mev_atom: Mapped[float | None] = mapped_column(Double, comment="molecular energy error per atom, meV/atom")
    atomic_mae_kcal_mol: Mapped[float | None] = mapped_column(Double, comment="atomic energies, all atoms, kcal/mol")
    atomic_mae_mev: Mapped[float | None] = mapped_column(Double)
    wall_time: Mapped[float | None] = mapped_column(Double, comment="seconds")
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


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
