"""The inputs of one active-learning run: a typed, hashable description.

The run's name defaults to a hash of these inputs, so starting the loop again with the
same inputs continues the same run (resume) instead of starting a new one. ``LoopConfig`` is
the single parameter of the Prefect flow; ``atomloop loop``'s options and the deployments'
parameters are derived from its fields (``pool`` and ``arch`` are accepted aliases).
"""

from __future__ import annotations

import hashlib
import json

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from atomloop.models.names import ARCHITECTURES, VALIDATION_RULES
from atomloop.qm.errors import UnknownSchemeError
from atomloop.qm.schemes import parse_scheme
from atomloop.select.names import LEVELS
from atomloop.select.stopping import STOP_MARGIN

STRATEGIES = ("adversarial", "random", "committee", "hybrid", "k-center", "coverage", "lcmd")  # the loop can feed these
TARGETS = ("total", "atomic")
LATER_FIELDS = ("atomic_weight", "validation")  # added after 0.1.0: in the run identity only when not the default
CHOICES = {"strategy": STRATEGIES, "level": LEVELS, "target": TARGETS, "validation": VALIDATION_RULES}  # one of a few names


class LoopConfig(BaseModel):
    """Everything that decides what an active-learning run computes.

    Energies are Hartree; ``max_wall_time`` is seconds; ``plateau_tolerance`` is relative.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    pool_tag: str | None = Field(
        None, validation_alias=AliasChoices("pool_tag", "pool"),
        description="Tag of the pool molecules (None: every molecule).",
    )
    initial: int = Field(20, ge=2, description="Initial training-set size (at least 2: adversarial validation needs "
                                               "2 distinct molecules on each side).")
    test_size: int = Field(10, ge=1, description="In-distribution test molecules.")
    ood_size: int = Field(10, ge=0, description="Out-of-distribution test molecules (the largest).")
    k: int = Field(10, ge=1, description="Molecules selected per round.")
    rounds: int = Field(3, ge=0, description="Selection rounds after the initial training.")
    method: str = Field("hf", description="PySCF method: hf or a functional (b3lyp, pbe0, ...).")
    basis: str = Field("sto-3g", description="PySCF basis set.")
    schemes: tuple[str, ...] = Field(
        ("mo-pm-iao",), min_length=1, description="Partition schemes labelled; the first is trained on."
    )
    strategy: str = Field("lcmd", description=f"Selection strategy: {', '.join(STRATEGIES)} (lcmd, the default, "
                          "won the selection benchmark: docs/results/selection-benchmark).")
    level: str = Field("molecule", description="Adversarial validation on molecules or atoms.")
    architectures: tuple[str, ...] = Field(
        ARCHITECTURES, validation_alias=AliasChoices("architectures", "arch"),
        description=f"Architectures trained every round: {'|'.join(ARCHITECTURES)}.",
    )
    target: str = Field("atomic", description="Train on 'total' or 'atomic' energies (atomic: the first scheme).")
    epochs: int = Field(60, ge=1, description="Training epochs per round.")
    atomic_weight: float = Field(
        1.0, gt=0, description="Atomic target: weight of the atomic-energy loss term against the total's (each "
        "normalised by its label spread).",
    )
    validation: str = Field(
        "auto", description="Validation of each training set: auto (hold out max(10%, 50) molecules where 100 "
        "remain, else 5-fold), holdout or k-fold.",
    )
    tune_every: int = Field(0, ge=0, description="Tune with Optuna every n-th round (0: never).")
    tune_trials: int = Field(4, ge=1, description="Optuna trials per tuning.")
    max_labels: int | None = Field(None, ge=1, description="Stop when this many training molecules are labelled.")
    max_wall_time: float | None = Field(None, gt=0, description="Stop after this many seconds of rounds.")
    stop_on_auc: bool = Field(
        True,
        description="Stop when adversarial validation detects no shift (one-sided permutation p > 0.05) and its AUC "
                    "interval lies below 0.5 + margin.",
    )
    auc_stop_margin: float = Field(
        STOP_MARGIN, gt=0, lt=0.5, description="AUC above 0.5 that still counts as the same distribution."
    )
    plateau_rounds: int = Field(0, ge=0, description="Stop when test MAE has not improved for n rounds (0: never).")
    plateau_tolerance: float = Field(
        0.01, ge=0, description="Relative test-MAE improvement that counts as progress for plateau_rounds."
    )
    device: str = Field("auto", description="Training device: auto, cpu or cuda.")
    seed: int = Field(0, description="Seed of splits, selection and training.")
    name: str | None = Field(None, description="Run name (default: a hash of the inputs, so a rerun resumes).")

    @field_validator(*CHOICES)
    @classmethod
    def _one_of_the_choices(cls, value: str, info: ValidationInfo) -> str:
        choices = CHOICES[info.field_name]
        if value not in choices:
            raise ValueError(f"unknown {info.field_name} {value!r}; choose from {', '.join(choices)}")
        return value

    @field_validator("schemes")
    @classmethod
    def _known_schemes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return tuple(parse_scheme(scheme).name for scheme in value)
        except UnknownSchemeError as error:
            raise ValueError(str(error)) from None

    @field_validator("architectures")
    @classmethod
    def _known_architectures(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - set(ARCHITECTURES)
        if unknown or not value:
            raise ValueError(f"architectures must be among {ARCHITECTURES}, got {value}")
        return value

    def identity(self) -> dict:
        """The inputs that define the run (the name and the training device excluded). Fields
        added after a release (:data:`LATER_FIELDS`) enter only when set to other than their
        default, so runs started before they existed keep their names and resume."""
        identity = self.model_dump(mode="json", exclude={"name", "device"})
        for name in LATER_FIELDS:
            if identity[name] == type(self).model_fields[name].default:
                del identity[name]
        return identity

    @property
    def run_name(self) -> str:
        """``name`` or ``al-<12 hex digits of the inputs' hash>``."""
        if self.name:
            return self.name
        digest = hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()
        return f"al-{digest[:12]}"

    @property
    def training_scheme(self) -> str | None:
        return self.schemes[0] if self.target == "atomic" else None
