"""scikit-learn's estimator checks on several GapKMeans configurations."""

import pytest
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.mixture import GaussianMixture
from sklearn.utils.estimator_checks import parametrize_with_checks

from skgap import GapKMeans

# fast settings: a short range of k, few references, one k-means initialisation
_FAST = dict(n_clusters_range=range(1, 4), n_refs=5)

CONFIGURATIONS = [
    GapKMeans(KMeans(n_init=1), **_FAST),
    GapKMeans(AgglomerativeClustering(), **_FAST),
    GapKMeans(GaussianMixture(), **_FAST),
    GapKMeans(KMeans(n_init=1), reference="pca", power=1.0, **_FAST),
    GapKMeans(KMeans(n_init=1), reference="uniform", **_FAST),
    GapKMeans(KMeans(n_init=1), statistic="gap_star", method="global_se_max", **_FAST),
]


def _expected_failed_checks(estimator):
    """No check is expected to fail; kept as the place to document one if ever.

    Every entry must give a reason and an issue number, e.g.
    ``{"check_name": "reason (issue #N)"}``.
    """
    return {}


def _parametrize_with_checks(estimators, **kwargs):
    """scikit-learn's ``parametrize_with_checks``, its checks as a list.

    Before 1.8 it hands pytest a generator of checks, which pytest >= 9
    deprecates (an error under this suite's warning filters).
    """
    mark = parametrize_with_checks(estimators, **kwargs).mark
    names, checks = mark.args
    return pytest.mark.parametrize(names, list(checks), **mark.kwargs)


@_parametrize_with_checks(CONFIGURATIONS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
