"""A study's experiment matrix: which targets, architectures, training-data strategies,
training-set sizes, transfer splits and seeds are compared.

Targets (``Target.parse``):

- ``total``: molecular energies only (Hartree);
- ``atomic:<scheme>``: atomic energies E_A of a partition scheme (``ao-eda``, ``mo-pm-iao``, ...);
- ``atomization:<scheme>``: E_A minus the free atom's energy at the same level (Hartree).

Every combination of the lists in :class:`StudyConfig` is one :class:`Experiment`; atomic and
atomization targets once per atomic weight (``atomic_weights``: the weight of the atomic term
against the total term of the loss, :class:`~atomloop.models.training.TrainingConfig`). Weight 0
is training on totals only: the ``total`` target, so it is not trained again per scheme.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from itertools import product

from atomloop.errors import InputError
from atomloop.models.names import ARCHITECTURES
from atomloop.qm.schemes import parse_scheme
from atomloop.qm.settings import QMSettings

TARGET_KINDS = ("total", "atomic", "atomization")
STRATEGIES = ("random", "adversarial", "committee")
DEFAULT_SPLITS = ("in-distribution", "size-transfer", "group-transfer")
# larger-molecules: trains on the dataset, tests on the shipped larger set (atomloop:larger-labelled,
# HF/6-31G* only); not a default while that set is being built
SPLITS = (*DEFAULT_SPLITS, "larger-molecules")
# atomization targets differ from atomic ones by a per-element constant (the free atom's energy),
# which the per-element reference energies absorb: not a separate default
DEFAULT_TARGETS = ("total", "atomic:ao-eda", "atomic:mo-pm-iao")
DEFAULT_ATOMIC_WEIGHTS = (1.0,)  # TrainingConfig's default
DEFAULT_TRANSFER_GROUPS = ("aromatic", "heteroaromatic", "amide", "ester")
DATASET_BASIS = {"qm9-labelled": "6-31g*", "larger-labelled": "6-31g*"}  # the level its shipped labels were computed at
DEFAULT_DATASET = "qm9-labelled"
# A dataset's matrix where the user names none of its lists. On the shipped QM9 set: the three
# claims' comparisons (every scheme, the three splits) at one training size with ten seeds, each
# model trained to its validation plateau (early stopping after 30 epochs without a better
# validation MAE, at most 400 epochs; the best epoch's weights kept); learning curves (--sizes)
# and NequIP (--archs) extend it.
DATASET_MATRICES: dict[str, dict] = {
    "qm9-labelled": {
        "targets": ("total", "atomic:ao-eda", "atomic:mo-pm-iao", "atomic:mo-fb-iao"), "architectures": ("schnet",),
        "strategies": ("random",), "sizes": (200,), "seeds": tuple(range(10)), "epochs": 400, "patience": 30,
    },
}
AUC_PERMUTATIONS = 1000  # permutations of every AUC test: the p-value's floor is 1 / 1001
# the values studies ran with before these fields existed: a parameter at its legacy value is left
# out of the record (:meth:`StudyConfig.parameters`), so those studies keep their records and names
LEGACY_PARAMETERS = {"permutations": 100, "patience": 40}
# --quick: every target kind, architecture, strategy and split at toy sizes and widths (the
# tests run it, on a tiny dataset), AUC tests of 100 permutations; its numbers check the
# machinery, not the science
QUICK_MATRIX: dict = {
    "targets": ("total", "atomic:ao-eda", "atomic:mo-pm-iao", "atomization:mo-pm-iao"),
    "architectures": ("schnet", "nequip"), "sizes": (3, 5), "seeds": (0, 1), "epochs": 2, "permutations": 100,
    "hyperparameters": {"schnet": {"num_layers": 1, "num_features": 8, "num_rbf": 8}, "nequip": {"num_layers": 1, "num_features": 4}},
}


def default_basis(dataset: str) -> str:
    """The basis of a dataset's own labels (:data:`DATASET_BASIS`), else STO-3G."""
    return DATASET_BASIS.get(dataset, "sto-3g")


@dataclass(frozen=True)
class Target:
    """What a model learns: ``kind`` total | atomic | atomization, and the partition ``scheme``."""

    kind: str
    scheme: str | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        """``total``, ``atomic:<scheme>`` or ``atomization:<scheme>``."""
        kind, _, scheme = text.strip().lower().partition(":")
        if kind not in TARGET_KINDS:
            raise InputError(f"unknown target {text!r}; use total, atomic:<scheme> or atomization:<scheme>")
        if kind == "total":
            if scheme:
                raise InputError(f"target 'total' takes no scheme (got {text!r})")
            return cls("total")
        if not scheme:
            raise InputError(f"target {kind!r} needs a partition scheme, e.g. {kind}:mo-pm-iao")
        return cls(kind, parse_scheme(scheme).name)

    @property
    def name(self) -> str:
        return self.kind if self.scheme is None else f"{self.kind}:{self.scheme}"

    @property
    def model_target(self) -> str:
        """The training target of :func:`atomloop.recipes.train.train_and_register`."""
        return "total" if self.kind == "total" else "atomic"

    @property
    def atomization(self) -> bool:
        return self.kind == "atomization"


@dataclass(frozen=True)
class Experiment:
    """One cell of the matrix: a model trained on ``size`` molecules chosen by ``strategy``
    from the training side of ``split``, tested on that split's test side."""

    target: str
    architecture: str
    strategy: str
    size: int
    split: str
    seed: int
    atomic_weight: float | None = None  # the atomic term's weight; None: 0 for ``total``, else 1

    def __post_init__(self) -> None:
        if self.atomic_weight is None:
            object.__setattr__(self, "atomic_weight", 0.0 if self.target == "total" else 1.0)

    @property
    def label(self) -> str:
        weight = "" if self.target == "total" else f"/w={self.atomic_weight:g}"
        return f"{self.split}/{self.target}{weight}/{self.architecture}/{self.strategy}/n={self.size}/seed={self.seed}"


@dataclass(frozen=True)
class StudyConfig:
    """The inputs of a transferability study.

    ``dataset``: tag of the molecules studied. ``sizes``: training-set sizes (molecules).
    ``test_fraction``: share of molecules (whole molecules, all conformers) held out as the
    in-distribution test set, and the share of the largest molecules in the size-transfer
    test. ``transfer_groups``: functional groups held out in the group-transfer split.
    ``atomic_weights``: weights of the atomic term (each atomic target trained at each weight > 0;
    0 is the ``total`` target, added to ``targets`` where missing). ``epochs``: the most training
    epochs of every model; ``patience``: epochs without a better validation MAE after which a
    training stops, keeping its best epoch's weights (``TrainingConfig.early_stopping_patience``);
    ``permutations``: size of the permutation null of every adversarial AUC test (the p-value's
    floor is 1 / (permutations + 1)); ``hyperparameters``: per architecture, overrides
    of the model defaults; ``device`` (not part of the record): auto, cpu or cuda. Labels:
    ``method``/``basis`` with every scheme the targets name; ``basis`` None: the dataset's own
    (:data:`DATASET_BASIS`: 6-31G* for the shipped ``qm9-labelled``, else STO-3G).
    """

    dataset: str = DEFAULT_DATASET
    targets: tuple[str, ...] = DEFAULT_TARGETS
    architectures: tuple[str, ...] = ARCHITECTURES
    strategies: tuple[str, ...] = STRATEGIES
    splits: tuple[str, ...] = DEFAULT_SPLITS
    sizes: tuple[int, ...] = (16, 32, 64)
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 60
    method: str = "hf"
    basis: str | None = None
    test_fraction: float = 0.25
    valid_fraction: float = 0.1
    transfer_groups: tuple[str, ...] = DEFAULT_TRANSFER_GROUPS
    committee_size: int = 2
    hyperparameters: dict[str, dict] = field(default_factory=dict)
    name: str | None = None
    device: str = "auto"
    atomic_weights: tuple[float, ...] = DEFAULT_ATOMIC_WEIGHTS
    patience: int = 40
    permutations: int = AUC_PERMUTATIONS

    @classmethod
    def from_options(cls, *, quick: bool = False, **options) -> StudyConfig:
        """The study of the options given (``None`` or an empty list: not given). What is not
        given comes from :data:`QUICK_MATRIX` with ``quick``, else from the dataset's matrix
        (:data:`DATASET_MATRICES`), else from the field defaults above. Lists become tuples."""
        given = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items() if v is not None and v != []}
        dataset = given.setdefault("dataset", DEFAULT_DATASET)
        return cls(**{**DATASET_MATRICES.get(dataset, {}), **(QUICK_MATRIX if quick else {}), **given})

    def __post_init__(self) -> None:
        if self.basis is None:
            object.__setattr__(self, "basis", default_basis(self.dataset))
        for value, allowed, what in (
            (self.architectures, ARCHITECTURES, "architecture"),
            (self.strategies, STRATEGIES, "strategy"),
            (self.splits, SPLITS, "split"),
        ):
            unknown = [v for v in value if v not in allowed]
            if unknown or not value:
                raise InputError(f"unknown or missing {what} {unknown}; choose from {', '.join(allowed)}")
        if not self.atomic_weights or min(self.atomic_weights) < 0:
            raise InputError(f"atomic weights must be >= 0 (got {list(self.atomic_weights)})")
        object.__setattr__(self, "atomic_weights", tuple(sorted({float(w) for w in self.atomic_weights})))
        targets = tuple(Target.parse(t).name for t in self.targets)
        if 0.0 in self.atomic_weights and "total" not in targets:
            targets = ("total", *targets)
        object.__setattr__(self, "targets", targets)
        if not self.targets or not self.sizes or not self.seeds:
            raise InputError("a study needs at least one target, size and seed")
        if min(self.sizes) < 2:
            raise InputError(f"training-set sizes must be >= 2 molecules (got {min(self.sizes)})")
        if not 0 < self.test_fraction < 1 or not 0 < self.valid_fraction < 1:
            raise InputError("test_fraction and valid_fraction must lie between 0 and 1")
        if self.epochs < 1 or self.committee_size < 2 or self.patience < 1 or self.permutations < 1:
            raise InputError("epochs, patience and permutations must be >= 1 and committee_size >= 2")
        if "larger-molecules" in self.splits:
            from atomloop.datasets.larger_labelled import LARGER

            if self.qm_settings.settings_hash != LARGER.level.settings_hash:
                raise InputError(f"split larger-molecules: the larger set is labelled at HF/6-31G* only (this study "
                                 f"labels at {self.method}/{self.basis}); leave the split out or use --basis 6-31G*")

    @property
    def schemes(self) -> tuple[str, ...]:
        """Every partition scheme the targets need (sorted)."""
        return tuple(sorted({t.scheme for t in map(Target.parse, self.targets) if t.scheme}))

    @property
    def qm_settings(self) -> QMSettings:
        """The labelling level: atomization energies always stored, so one label serves every target."""
        return QMSettings(method=self.method, basis=self.basis, schemes=self.schemes or ("mo-pm-iao",), atomization=True)

    def parameters(self) -> dict:
        """Every input as plain JSON (the study's record); ``atomic_weights`` only where not the
        default and the fields of :data:`LEGACY_PARAMETERS` only where not the value studies ran
        with before them, so those studies keep their record and name."""
        legacy = {**LEGACY_PARAMETERS, "atomic_weights": DEFAULT_ATOMIC_WEIGHTS}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()
                if k != "device" and not (k in legacy and v == legacy[k])}

    @property
    def study_name(self) -> str:
        """``name``, else ``transferability-`` and a hash of the inputs (so a rerun resumes)."""
        if self.name:
            return self.name
        digest = hashlib.sha256(json.dumps(self.parameters(), sort_keys=True).encode()).hexdigest()[:10]
        return f"transferability-{self.dataset}-{digest}"

    def experiments(self) -> list[Experiment]:
        """The full matrix, in the order it runs (small training sets first)."""
        weighted = [(target, None if target == "total" else weight) for target in self.targets
                    for weight in ((0.0,) if target == "total" else [w for w in self.atomic_weights if w > 0])]
        return [
            Experiment(target, arch, strategy, size, split, seed, weight)
            for split, size, seed, strategy, arch, (target, weight) in product(
                self.splits, sorted(self.sizes), self.seeds, self.strategies, self.architectures, weighted
            )
        ]
