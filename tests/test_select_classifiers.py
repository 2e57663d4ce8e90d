"""The classifiers of adversarial validation: Newton logistic regression against scikit-learn's,
the size rule of ``auto``, the principal-axes features."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression

from atomloop.errors import InputError
from atomloop.select.adversarial import classifier_features
from atomloop.select.classifiers import AUTO_LOGISTIC_MAX, NewtonLogisticRegression, resolve_classifiers


@pytest.mark.parametrize(("n", "k", "shift"), [(256, 16, 0.3), (256, 16, 3.0), (2000, 17, 0.1), (60, 40, 5.0)])
def test_newton_logistic_regression_is_scikit_learns_fit(n, k, shift):
    """Same objective, same optimum: scales spread over 100x, nearly separable classes, k ~ n."""
    rng = np.random.default_rng(n + k)
    features = rng.normal(size=(n, k)) * np.linspace(10, 0.1, k)
    labels = (rng.random(n) < 0.4).astype(int)
    features[labels == 1, 0] += 10 * shift
    reference = LogisticRegression(C=0.1, tol=1e-10, max_iter=100_000).fit(features, labels)
    ours = NewtonLogisticRegression(C=0.1).fit(features, labels)
    np.testing.assert_allclose(ours.coef_, reference.coef_, atol=1e-5)
    np.testing.assert_allclose(ours.intercept_, reference.intercept_, atol=1e-5)
    np.testing.assert_allclose(ours.predict_proba(features), reference.predict_proba(features), atol=1e-6)
    assert ours.get_params() == {"C": 0.1, "max_iter": 100, "tol": 1e-10}


def test_auto_tests_with_logistic_and_ranks_with_trees_beyond_the_size_limit_of_the_smaller_side():
    assert AUTO_LOGISTIC_MAX == 1000
    assert resolve_classifiers("auto", 160, 160) == ("logistic", "logistic")
    assert resolve_classifiers("auto", 1000, 100_000) == ("logistic", "logistic")
    assert resolve_classifiers("auto", 5000, 100_000) == ("logistic", "hgb")
    assert resolve_classifiers("hgb", 10, 10) == ("hgb", "hgb")
    assert resolve_classifiers("logistic", 10**6, 10**6) == ("logistic", "logistic")
    with pytest.raises(InputError, match="unknown classifier 'svm'"):
        resolve_classifiers("svm", 10, 10)


def test_logistic_features_are_standardized_principal_axes_and_hgb_sees_the_varying_columns():
    rng = np.random.default_rng(0)
    features = np.c_[rng.normal(size=(300, 5)) @ rng.normal(size=(5, 30)), np.ones(300)]  # rank 5, one constant column
    projected = classifier_features(features, "logistic", 4, rng)
    standardized = (features[:, :30] - features[:, :30].mean(0)) / features[:, :30].std(0)
    reference = PCA(n_components=4).fit_transform(standardized)
    assert projected.shape == (300, 4)
    np.testing.assert_allclose(np.abs(projected), np.abs(reference), atol=1e-8)  # axes up to sign
    np.testing.assert_allclose(classifier_features(features, "logistic", None, rng), standardized, atol=1e-12)
    np.testing.assert_array_equal(classifier_features(features, "hgb", 4, rng), features[:, :30])
