"""One seed of the selection benchmark: simulated active-learning campaigns, one per strategy,
against an oracle that already knows every label.

Per seed, from the oracle: a pool of ``pool_size`` molecules in which each target chemistry is a
minority (``target_fraction`` of the pool each), an in-distribution test set drawn like the pool,
a target test set per target (absent from the pool) and a few unlabelled target molecules that
the ``targeted`` strategy is told about (the query set, absent from pool and tests). Every
campaign starts from the same random initial set of non-target pool molecules and grows it
round by round to each budget of ``budgets``; in every round each strategy's model is retrained
the same way (an :class:`~atomloop.models.atomic_mlp.AtomicMLP`, warm-started from its previous
round, to the validation plateau) and scored on the test sets (kcal/mol). The ``oracle``
campaign is the upper bound: random picks, half of every batch drawn from the pool's target
molecules, which only an oracle can tell apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from atomloop.benchmark.oracle import Oracle
from atomloop.benchmark.targets import Target, target_membership
from atomloop.errors import InputError
from atomloop.models.atomic_mlp import AtomSet, FittedMLP, MLPSettings, bootstrap_members, fit_atomic_mlp
from atomloop.select.descriptors import DescriptorSettings, atom_descriptors, pool_by_channel
from atomloop.select.environments import environment_keys
from atomloop.select.names import BENCHMARK_STRATEGIES
from atomloop.select.strategies import ENSEMBLE_MEMBERS, PoolView, get_strategy

ORACLE_BOUND = "oracle"
ELEMENTS = ("H", "C", "N", "O", "F")
DESCRIPTOR_COMPONENTS = 32  # principal axes of the molecule descriptors the strategies measure distances in


def geometric_budgets(initial: int, growth: float, final: int) -> tuple[int, ...]:
    """Budgets from ``initial`` growing by the factor ``growth`` per round, the last one ``final``."""
    if initial < 10 or final <= initial or not 1.0 < growth <= 4.0:
        raise InputError(f"budgets need 10 <= initial < final and a growth factor in (1, 4]; got "
                         f"{initial}, {final}, {growth}")
    budgets = [initial]
    while budgets[-1] * growth < final:
        budgets.append(int(round(budgets[-1] * growth)))
    return (*budgets, final)


@dataclass(frozen=True)
class BenchmarkConfig:
    """Everything a campaign depends on; its dict is stored with every result file."""

    targets: tuple[Target, ...]
    pool_size: int = 20_000
    test_size: int = 1_000
    target_test_size: int = 500
    target_query_size: int = 200
    target_fraction: float = 0.03
    budgets: tuple[int, ...] = geometric_budgets(100, 1.5, 3200)
    strategies: tuple[str, ...] = BENCHMARK_STRATEGIES
    ensemble_members: int = ENSEMBLE_MEMBERS
    validation_fraction: float = 0.1
    mlp: MLPSettings = field(default_factory=MLPSettings)

    def as_dict(self) -> dict:
        return asdict(self)

    def per_target(self, size: int) -> int:
        """Target molecules of one target in a set of ``size`` drawn like the pool."""
        return int(round(self.target_fraction * size))

    def check_sizes(self) -> None:
        """``InputError`` unless budgets and set sizes fit together (before any data is read)."""
        if len(self.budgets) < 2 or list(self.budgets) != sorted(set(self.budgets)):
            raise InputError(f"budgets must increase and be at least two; got {list(self.budgets)}")
        if self.budgets[-1] > self.pool_size // 2:
            raise InputError(f"the final budget {self.budgets[-1]} needs a pool of at least twice as many molecules; "
                             f"the pool has {self.pool_size}")
        if not 0 < self.target_fraction * len(self.targets) < 0.5:
            raise InputError(f"--target-fraction {self.target_fraction} per target must leave the targets a minority")

    def check(self, membership: np.ndarray) -> None:
        """``InputError`` unless the oracle holds enough molecules of every target and of the rest."""
        for index, target in enumerate(self.targets):
            needed = self.per_target(self.pool_size) + self.per_target(self.test_size) + self.target_test_size \
                + self.target_query_size
            found = int((membership == index).sum())
            if found < needed:
                raise InputError(f"target {target.name!r}: {found} molecules of the oracle match it; a campaign needs "
                                 f"{needed} (pool, tests, query); choose a commoner target or smaller sets")
        others = int((membership == -1).sum())
        needed = self.pool_size + self.test_size - len(self.targets) * (
            self.per_target(self.pool_size) + self.per_target(self.test_size))
        if others < needed:
            raise InputError(f"the oracle has {others} molecules outside the targets; pool and test need {needed}")


@dataclass
class Draw:
    """One seed's sets, as oracle indices: ``pool``, ``initial`` (within the pool), ``test``
    (in-distribution), ``target_tests`` and ``query`` (one array per target)."""

    pool: np.ndarray
    initial: np.ndarray
    test: np.ndarray
    target_tests: list[np.ndarray]
    queries: list[np.ndarray]


def draw_sets(config: BenchmarkConfig, membership: np.ndarray, seed: int) -> Draw:
    """The seed's pool, initial set and test sets (see the module docstring)."""
    rng = np.random.default_rng([seed, 28])
    pool, test, target_tests, queries = [], [], [], []
    for index in range(len(config.targets)):
        members = rng.permutation(np.flatnonzero(membership == index))
        cuts = np.cumsum([config.per_target(config.pool_size), config.per_target(config.test_size),
                          config.target_test_size, config.target_query_size])
        pool.append(members[:cuts[0]])
        test.append(members[cuts[0]:cuts[1]])
        target_tests.append(members[cuts[1]:cuts[2]])
        queries.append(members[cuts[2]:cuts[3]])
    others = rng.permutation(np.flatnonzero(membership == -1))
    n_pool = config.pool_size - sum(p.size for p in pool)
    n_test = config.test_size - sum(t.size for t in test)
    initial = others[:config.budgets[0]]
    pool = np.concatenate([others[:n_pool], *pool])
    test = np.concatenate([others[n_pool:n_pool + n_test], *test])
    return Draw(pool, initial, test, target_tests, queries)


@dataclass
class Features:
    """What the campaign molecules (local indices 0..M-1) are described by."""

    atoms: AtomSet
    natoms: np.ndarray
    descriptors: np.ndarray  # (M, DESCRIPTOR_COMPONENTS) principal axes of the pooled descriptors
    environments: list[np.ndarray]
    structures: list  # ASE Atoms


def featurize(structures: list, *, seed: int) -> Features:
    """Atom descriptors (network input), molecule descriptors and atom environments."""
    from sklearn.decomposition import PCA

    settings = DescriptorSettings(elements=ELEMENTS, other_channel=False)
    unknown = sorted({s for a in structures for s in a.get_chemical_symbols()} - set(ELEMENTS))
    if unknown:
        raise InputError(f"the benchmark's descriptors cover {', '.join(ELEMENTS)}; the oracle holds {', '.join(unknown)}")
    per_atom, offsets = atom_descriptors(structures, settings)
    pooled = pool_by_channel(per_atom, offsets, len(ELEMENTS))
    spread = pooled.std(axis=0)
    standardised = (pooled - pooled.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    components = min(DESCRIPTOR_COMPONENTS, *standardised.shape)
    descriptors = PCA(components, svd_solver="randomized", random_state=seed).fit_transform(standardised)
    vocabulary: dict[str, int] = {}
    environments = [np.array([vocabulary.setdefault(key, len(vocabulary)) for key in environment_keys(a)])
                    for a in structures]
    return Features(AtomSet.from_descriptors(per_atom, offsets, len(ELEMENTS)), np.diff(offsets), descriptors,
                    environments, structures)


def errors(predicted: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """MAE, RMSE, 95th percentile and maximum of the absolute errors (kcal/mol)."""
    absolute = np.abs(predicted - reference)
    return {"mae": float(absolute.mean()), "rmse": float(np.sqrt((absolute**2).mean())),
            "p95": float(np.percentile(absolute, 95)), "max": float(absolute.max())}


class Campaign:
    """One seed: the sets, their features and labels, and a campaign per strategy."""

    def __init__(self, config: BenchmarkConfig, oracle: Oracle, membership: np.ndarray, seed: int) -> None:
        self.config, self.seed = config, seed
        draw = draw_sets(config, membership, seed)
        order = np.concatenate([draw.pool, draw.test, *draw.target_tests, *draw.queries])
        local = {int(index): position for position, index in enumerate(order)}
        self.pool = np.arange(draw.pool.size)
        self.initial = np.array([local[int(i)] for i in draw.initial])
        self.test = np.array([local[int(i)] for i in draw.test])
        self.target_tests = [np.array([local[int(i)] for i in t]) for t in draw.target_tests]
        self.queries = [np.array([local[int(i)] for i in q]) for q in draw.queries]
        self.is_target = np.isin(order, np.flatnonzero(membership >= 0))
        self.energies = oracle.energies[order]
        self.features = featurize(oracle.atoms(order), seed=seed)
        self.validation_flag = np.random.default_rng([seed, 29]).random(order.size) < config.validation_fraction
        self._round_zero: FittedMLP | None = None

    def fit(self, labelled: np.ndarray, round_index: int, warm_start: dict | None,
            train: np.ndarray | None = None, member: int = 0) -> FittedMLP:
        """The round's model on ``labelled`` (its validation part held out; ``train`` overrides the
        training part and ``member`` > 0 the initial weights, for ensemble members)."""
        validation = labelled[self.validation_flag[labelled]]
        if train is None:
            train = labelled[~self.validation_flag[labelled]]
        return fit_atomic_mlp(self.features.atoms, self.energies, train, validation, settings=self.config.mlp,
                              seed=self.seed * 1000 + round_index + 100_000 * member, warm_start=warm_start)

    def evaluate(self, model: FittedMLP) -> dict:
        """Errors on the in-distribution test, on every target test and on all targets together."""
        def on(molecules: np.ndarray) -> dict[str, float]:
            return errors(model.predict(self.features.atoms, molecules), self.energies[molecules])

        targets = {t.name: on(m) for t, m in zip(self.config.targets, self.target_tests, strict=True)}
        return {"in_distribution": on(self.test), "target": on(np.concatenate(self.target_tests)), "targets": targets}

    def run(self, strategy: str, progress: Callable[[str], None] | None = None) -> dict:
        """The campaign of ``strategy`` (or :data:`ORACLE_BOUND`): per budget its errors, the
        seconds its selections took (extra models included) and the target share of its labels."""
        labelled = self.initial.copy()
        curve: dict = {"budgets": list(self.config.budgets), "rounds": []}
        model: FittedMLP | None = None
        members: list[dict | None] = [None] * self.config.ensemble_members
        for index, budget in enumerate(self.config.budgets):
            started = time.perf_counter()
            if index == 0 and self._round_zero is not None:
                model = self._round_zero
            else:
                model = self.fit(labelled, index, None if model is None else model.state())
                if index == 0:
                    self._round_zero = model
            row = {"labels": int(labelled.size), "training_seconds": time.perf_counter() - started,
                   "epochs": model.epochs, "target_share": float(self.is_target[labelled].mean()),
                   **self.evaluate(model)}
            if index + 1 < len(self.config.budgets):
                started = time.perf_counter()
                picks = self.select(strategy, labelled, model, members, self.config.budgets[index + 1] - budget, index)
                row["selection_seconds"] = time.perf_counter() - started
                labelled = np.concatenate([labelled, picks])
            curve["rounds"].append(row)
            if progress is not None:
                progress(f"seed {self.seed} {strategy}: {budget} labels, target MAE "
                         f"{row['target']['mae']:.2f}, in-distribution {row['in_distribution']['mae']:.2f} kcal/mol")
        return curve

    def select(self, strategy: str, labelled: np.ndarray, model: FittedMLP, members: list, k: int,
               index: int) -> np.ndarray:
        """``k`` new pool molecules (local indices) for the next round."""
        candidates = np.setdiff1d(self.pool, labelled)
        seed = self.seed * 1000 + index
        if strategy == ORACLE_BOUND:
            rng = np.random.default_rng([seed, 30])
            targets = rng.permutation(candidates[self.is_target[candidates]])[: k // 2]
            rest = rng.permutation(np.setdiff1d(candidates, targets))[: k - targets.size]
            return np.concatenate([targets, rest])
        chosen = get_strategy(strategy)
        view = self.view(chosen.needs, candidates, labelled, model, members, index)
        return candidates[chosen.select(view, k, seed=seed).indices]

    def view(self, needs: tuple[str, ...], candidates: np.ndarray, labelled: np.ndarray, model: FittedMLP,
             members: list, index: int) -> PoolView:
        """The :class:`PoolView` of ``candidates`` with the fields the strategy ``needs``."""
        f = self.features
        fields: dict = {"descriptors": f.descriptors[candidates], "natoms": f.natoms[candidates]}
        if "ood_scores" in needs:
            from atomloop.select.adversarial import adversarial_validation

            result = adversarial_validation([f.structures[i] for i in labelled], [f.structures[i] for i in candidates],
                                            classifier="logistic", permutations=0, repeats=1, seed=self.seed + index,
                                            groups=[str(i) for i in np.r_[labelled, candidates]])
            fields.update(descriptors=result.pool_descriptors, ood_scores=result.scores)
        if "labelled_descriptors" in needs:
            fields["labelled_descriptors"] = f.descriptors[labelled]
        if "target_descriptors" in needs:
            fields["target_descriptors"] = f.descriptors[np.concatenate(self.queries)]
        if "embeddings" in needs:
            fields["embeddings"] = model.embeddings(f.atoms, candidates)
            fields["labelled_embeddings"] = model.embeddings(f.atoms, labelled)
        if "environments" in needs:
            fields["environments"] = [f.environments[i] for i in candidates]
            fields["labelled_environments"] = np.unique(np.concatenate([f.environments[i] for i in labelled]))
        if "committee_predictions" in needs:
            train = labelled[~self.validation_flag[labelled]]
            predictions = []
            for m, resample in enumerate(bootstrap_members(train, len(members), seed=self.seed * 1000 + index)):
                member = self.fit(labelled, index, members[m], train=resample, member=m + 1)
                members[m] = member.state()
                predictions.append(member.predict(f.atoms, candidates))
            fields["committee_predictions"] = np.array(predictions)
        return PoolView(**fields)


def target_molecules(oracle: Oracle, targets: tuple[Target, ...]) -> np.ndarray:
    """Per oracle molecule, the index of the target it belongs to, else -1."""
    return target_membership(oracle.smiles, targets)
