"""The classifiers of adversarial validation, by name (:data:`atomloop.select.names.CLASSIFIERS`).

* ``auto`` (the default): the test (AUC, interval, permutation null) is always run by
  ``logistic``, which makes the permutation test affordable at any size; the pool's scores come
  from ``logistic`` too while the smaller side has at most :data:`AUTO_LOGISTIC_MAX` (1 000)
  molecules, and from ``hgb`` beyond (:func:`resolve_classifiers`). Measured on bench/selection.py's
  G2 shift (training from small molecules, pool from all; scores of the pool's molecules with a
  new template against the rest, one fold seed): at 160 a side both rank alike (within-pool AUC
  0.91/0.88/0.88 for ``logistic`` vs 0.90/0.93/0.93 for ``hgb`` over three draws, top-20
  precision 0.95-1.0 both) and ``logistic`` makes the permutation test affordable; from 300 a
  side ``hgb`` ranks better (0.95 vs 0.91 at 300, 0.99 vs 0.92 at 1 000, 0.999 vs 0.95 at
  2 000; top-50 precision 1.0 vs 0.92-0.98), while the AUC of the whole test agrees within
  fold-seed noise (0.68-0.72 vs 0.69-0.72 at 1 000 vs 5 000) and refitting ``hgb`` for a
  permutation null is unaffordable (1 500 fits of 2-13 s).
* ``logistic``: :class:`NewtonLogisticRegression`, L2-penalized logistic regression (C = 0.1)
  for standardized, low-dimensional features. It minimizes scikit-learn's
  ``LogisticRegression(C=0.1)`` objective by Newton's method in plain numpy: the same fit
  without scikit-learn's per-call validation, about 0.1 ms instead of 2-4 ms for 256 rows of 16
  features. The permutation test refits it some 1 500 times per round, so that overhead was
  most of the round's time.
* ``hgb``: scikit-learn's histogram gradient boosting (about 2 s a fit of 256 rows of 600
  columns on 2 shared cores; 13 s for 24 000 rows).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier

from atomloop.errors import InputError
from atomloop.select.names import CLASSIFIERS

LOGISTIC_C = 0.1  # inverse L2 penalty, as scikit-learn's C
AUTO_LOGISTIC_MAX = 1000  # molecules on the smaller side up to which "auto" means "logistic"


class NewtonLogisticRegression(ClassifierMixin, BaseEstimator):
    """Binary logistic regression minimizing ``sum_i logloss_i + |w|^2 / (2 C)`` (intercept not
    penalized), by Newton's method with backtracking; stops when the Newton decrement falls
    below ``tol`` (objective units) or after ``max_iter`` steps."""

    def __init__(self, C: float = LOGISTIC_C, max_iter: int = 100, tol: float = 1e-10) -> None:
        self.C = C
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X: np.ndarray, y: np.ndarray) -> NewtonLogisticRegression:
        """Fit on ``X`` (n, k) and labels ``y`` (n,) in {0, 1}."""
        design = np.c_[X, np.ones(len(X))]
        penalty = np.r_[np.full(X.shape[1], 1.0 / self.C), 0.0]
        y = np.asarray(y, dtype=float)

        def objective(beta: np.ndarray) -> float:
            z = design @ beta
            return float(np.logaddexp(0.0, z).sum() - y @ z + 0.5 * penalty @ beta**2)

        beta = np.zeros(design.shape[1])
        value = objective(beta)
        for _ in range(self.max_iter):
            p = expit(design @ beta)
            gradient = design.T @ (p - y) + penalty * beta
            hessian = (design.T * (p * (1.0 - p))) @ design + np.diag(penalty)
            step = np.linalg.solve(hessian, gradient)
            decrement = float(gradient @ step)
            t = 1.0
            while (trial := objective(beta - t * step)) > value - 0.25 * t * decrement and t > 1e-8:
                t *= 0.5
            beta, value = beta - t * step, trial
            if decrement < self.tol:
                break
        self.coef_, self.intercept_ = beta[None, :-1], beta[-1:]
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(label 0) and P(label 1) of each row of ``X`` (n, k): shape (n, 2)."""
        p = expit(X @ self.coef_[0] + self.intercept_[0])
        return np.c_[1.0 - p, p]


def resolve_classifiers(name: str, n_train: int, n_pool: int) -> tuple[str, str]:
    """The classifiers ``name`` stands for with ``n_train`` and ``n_pool`` molecules: (the one
    that runs the test, the one that scores the pool). ``auto``: see the module docstring; a
    named classifier does both. An unknown name is an :class:`~atomloop.errors.InputError`."""
    if name not in CLASSIFIERS:
        raise InputError(f"unknown classifier {name!r}; choose one of {list(CLASSIFIERS)}")
    if name == "auto":
        return "logistic", "logistic" if min(n_train, n_pool) <= AUTO_LOGISTIC_MAX else "hgb"
    return name, name


def make_classifier(name: str, seed: int):
    """An unfitted classifier: ``logistic`` (:class:`NewtonLogisticRegression`, for standardized
    features) or ``hgb`` (gradient-boosted trees, seeded with ``seed``)."""
    if name == "logistic":
        return NewtonLogisticRegression()
    if name == "hgb":
        return HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=5, l2_regularization=1.0,
            random_state=seed,
        )
    raise InputError(f"no classifier named {name!r}; choose one of {[c for c in CLASSIFIERS if c != 'auto']}")


def classifier_params(name: str, seed: int) -> dict:
    """The JSON-ready parameters of :func:`make_classifier` ``(name, seed)``."""
    params = make_classifier(name, seed).get_params(deep=True)
    return {key: value for key, value in params.items() if isinstance(value, (int, float, str, bool, type(None)))}
