"""The inputs of one active-learning run: a typed, hashable description.

The run's name defaults to a hash of these inputs, so starting the loop again with the
same inputs continues the same run (resume) instead of starting a new one.
"""

from __future__ import annotations

import hashlib
import json

from atomloop.select.stopping import STOP_MARGIN
from pydantic import BaseModel, ConfigDict, Field, field_validator

STRATEGIES = ("adversarial", "random", "committee", "hybrid")
ARCHITECTURES = ("schnet", "nequip")


class LoopConfig(BaseModel):
    """Everything that decides what an active-learning run computes.

    Energies are Hartree; ``max_wall_time`` is seconds; ``plateau_tolerance`` is relative.
    """

    model_config = ConfigDict(frozen=True)

    pool_tag: str | None = Field(None, description="molecules with this tag form the pool (None: all)")
    initial: int = Field(20, ge=2, description="size of the initial training set")
    test_size: int = Field(10, ge=1, description="in-distribution test molecules")
    ood_size: int = Field(10, ge=0, description="out-of-distribution test molecules (the largest ones)")
    k: int = Field(10, ge=1, description="molecules selected per round")
    rounds: int = Field(3, ge=0, description="selection rounds after the initial training")
    method: str = "hf"
    basis: str = "sto-3g"
    schemes: tuple[str, ...] = ("mo-pm-iao",)
    strategy: str = "adversarial"
    level: str = Field("molecule", description="adversarial validation on molecules or atoms")
    architectures: tuple[str, ...] = ARCHITECTURES
    target: str = Field("atomic", description="'total' or 'atomic' (uses the first scheme)")
    epochs: int = Field(60, ge=1)
    tune_every: int = Field(0, ge=0, description="tune with Optuna every n-th round (0: never)")
    tune_trials: int = Field(4, ge=1)
    max_labels: int | None = Field(None, description="stop when this many molecules are labelled")
    max_wall_time: float | None = Field(None, description="stop after this many seconds of rounds")
    stop_on_auc: bool = Field(
        True, description="stop when adversarial validation detects no shift and its AUC interval lies below 0.5 + margin"
    )
    auc_stop_margin: float = Field(
        STOP_MARGIN, gt=0, lt=0.5, description="AUC above 0.5 that still counts as the same distribution"
    )
    plateau_rounds: int = Field(0, ge=0, description="stop when test MAE has not improved for n rounds (0: never)")
    plateau_tolerance: float = 0.01
    device: str = "auto"
    seed: int = 0
    name: str | None = None

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        if value not in STRATEGIES:
            raise ValueError(f"unknown strategy {value!r}; choose from {', '.join(STRATEGIES)}")
        return value

    @field_validator("architectures")
    @classmethod
    def _known_architectures(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - set(ARCHITECTURES)
        if unknown or not value:
            raise ValueError(f"architectures must be among {ARCHITECTURES}, got {value}")
        return value

    @field_validator("target")
    @classmethod
    def _known_target(cls, value: str) -> str:
        if value not in ("total", "atomic"):
            raise ValueError("target must be 'total' or 'atomic'")
        return value

    def identity(self) -> dict:
        """The inputs that define the run (the name and the training device excluded)."""
        return self.model_dump(mode="json", exclude={"name", "device"})

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
