"""The inputs of one active-learning run: a typed, hashable description.

The run's name defaults to a hash of these inputs, so starting the loop again with the
same inputs continues the same run (resume) instead of starting a new one. ``LoopConfig`` is
the single parameter of the Prefect flow; ``atomloop loop``'s options and the deployments'
parameters are derived from its fields (``pool`` and ``arch`` are accepted aliases).

A run can also be written down as a YAML file of these fields (:meth:`LoopConfig.to_yaml`,
:meth:`LoopConfig.from_yaml`; ``atomloop loop --config run.yaml``, ``--dump-config``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from atomloop.models.names import ARCHITECTURES, VALIDATION_RULES
from atomloop.qm.errors import UnknownSchemeError
from atomloop.qm.schemes import parse_scheme
from atomloop.select.names import LEVELS
from atomloop.select.stopping import STOP_MARGIN

STRATEGIES = ("adversarial", "random", "committee", "hybrid", "k-center", "coverage", "lcmd", "targeted",
              "targeted-lcmd")  # the loop can feed these
NEEDS_QUERY = ("targeted",)  # strategies that need molecules to be predicted (``query``)
TARGETS = ("total", "atomic")
LATER_FIELDS = ("atomic_weight", "validation", "query", "warm_start_epochs")  # added after 0.1.0: in the run identity only when not the default
CHOICES = {"strategy": STRATEGIES, "level": LEVELS, "target": TARGETS, "validation": VALIDATION_RULES}  # one of a few names


class LoopConfig(BaseModel):
    """Everything that decides what an active-learning run computes.

    Energies are Hartree; ``max_wall_time`` is seconds; ``plateau_tolerance`` is relative.

    As a file (``atomloop loop --config run.yaml``; ``atomloop loop --dump-config`` writes one):
    a YAML mapping of these field names (or the aliases ``pool``, ``arch``) to values, fields
    left out taking their defaults, e.g. ::

        pool_tag: organic
        k: 20
        schemes: [mo-pm-iao, ao-eda]
        max_wall_time: 3600

    Values are read with JSON's types, strictly: ``k: "5"`` is not a number, ``stop_on_auc: 1``
    not a boolean; a tuple is a list. :meth:`to_yaml` writes every field in this order, and
    :meth:`from_yaml` reads that text back to an equal config.
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
    query: str | None = Field(
        None, validate_default=True, description="Tag of molecules you want predicted, unlabelled: 'targeted' and "
        "'targeted-lcmd' select toward them (targeted-lcmd without them is lcmd).",
    )
    level: str = Field("molecule", description="Adversarial validation on molecules or atoms.")
    architectures: tuple[str, ...] = Field(
        ARCHITECTURES, validation_alias=AliasChoices("architectures", "arch"),
        description=f"Architectures trained every round: {'|'.join(ARCHITECTURES)}.",
    )
    target: str = Field("atomic", description="Train on 'total' or 'atomic' energies (atomic: the first scheme).")
    epochs: int = Field(60, ge=1, description="Training epochs per round.")
    warm_start_epochs: int | None = Field(
        None, ge=1, description="Rounds after the first continue each architecture's previous model for this many "
        "epochs, one training each (None: a new model every round, validated as 'validation' says).",
    )
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

    @field_validator("query")
    @classmethod
    def _query_for_targeted(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("strategy") in NEEDS_QUERY:
            raise ValueError(f"strategy {info.data['strategy']!r} needs the tag of the molecules you want predicted")
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

    def to_yaml(self) -> str:
        """Every field, in field order, as YAML (tuples as lists) that :meth:`from_yaml` reads
        back to an equal config."""
        yaml, _, dumper = _yaml()
        return yaml.dump(self.model_dump(mode="json"), Dumper=dumper, sort_keys=False, default_flow_style=None,
                         allow_unicode=True, width=100)

    @classmethod
    def from_yaml(cls, text: str) -> LoopConfig:
        """The config a YAML text describes (see the class's docstring). Raises ValueError for
        text that is not YAML or not a mapping (:func:`load_yaml_mapping`) and
        pydantic.ValidationError for keys and values the config refuses."""
        return cls.from_mapping(load_yaml_mapping(text))

    @classmethod
    def from_mapping(cls, values: Mapping[Any, Any]) -> LoopConfig:
        """The config of a mapping read from a file, validated strictly with JSON's types."""
        keyed = {str(key): value for key, value in values.items()}
        return cls.model_validate_json(json.dumps(keyed, default=str), strict=True)


# YAML 1.1 (PyYAML) reads 1e4 as a string; these read and write it as a number, as YAML 1.2 does.
_FLOAT_WITH_EXPONENT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")


@functools.cache
def _yaml() -> tuple[Any, type, type]:
    """PyYAML (imported on first use) and its safe loader and dumper, the loader refusing a key
    given twice, both reading ``1e4`` as a number."""
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):  # noqa: ANN001, ANN202 - PyYAML's signature
            if isinstance(node, yaml.MappingNode):
                seen = set()
                for key_node, _ in node.value:
                    key = self.construct_object(key_node, deep=True)
                    if isinstance(key, str | int | float | bool) or key is None:
                        if key in seen:
                            raise yaml.constructor.ConstructorError(
                                None, None, f"the key {key!r} is given twice", key_node.start_mark
                            )
                        seen.add(key)
            return super().construct_mapping(node, deep=deep)

    class Dumper(yaml.SafeDumper):
        pass

    for cls in (Loader, Dumper):
        cls.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_WITH_EXPONENT, list("-+.0123456789"))
    return yaml, Loader, Dumper


def load_yaml_mapping(text: str) -> dict[Any, Any]:
    """The mapping a YAML text holds (an empty text: an empty mapping). ValueError, with one
    line saying where, for text that is not YAML, a key given twice or another kind of value."""
    yaml, loader, _ = _yaml()
    try:
        values = yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader
    except yaml.MarkedYAMLError as error:
        problem = error.problem or error.context or "unreadable"
        mark = error.problem_mark or error.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ValueError(f"not YAML: {problem}{where}") from None
    except yaml.YAMLError as error:
        raise ValueError(f"not YAML: {' '.join(str(error).split())}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ValueError(f"not a YAML mapping of keys to values (found {_kind(values)})")
    return values


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )
