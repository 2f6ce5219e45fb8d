"""scikit-learn's estimator checks on several GapKMeans configurations."""

import pytest
from sklearn.cluster import AgglomerativeClustering, Birch, KMeans
from sklearn.mixture import GaussianMixture
from sklearn.utils.estimator_checks import parametrize_with_checks

from skgap import GapKMeans

# scikit-learn's checks fit tiny data sets on a few candidates: the clusterers'
# warnings about them (fewer distinct clusters, Birch's subclusters) are expected
pytestmark = [
    pytest.mark.filterwarnings("ignore::skgap.exceptions.SkgapWarning"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

# fast settings: a short range of k, few references, one k-means initialisation
_FAST = dict(n_clusters_range=range(1, 4), n_refs=5)

CONFIGURATIONS = [
    GapKMeans(**_FAST),
    GapKMeans(KMeans(n_init=1), **_FAST),
    GapKMeans(KMeans(n_init=1), kmeans_engine="sklearn", **_FAST),
    GapKMeans(AgglomerativeClustering(), **_FAST),
    GapKMeans(GaussianMixture(), **_FAST),
    GapKMeans(Birch(), **_FAST),
    GapKMeans(KMeans(n_init=1), reference="pca", power=1.0, **_FAST),
    GapKMeans(KMeans(n_init=1), reference="uniform", **_FAST),
    GapKMeans(KMeans(n_init=1), statistic="gap_star", method="global_se_max", **_FAST),
]


def _expected_failed_checks(estimator):
    """The checks a configuration is expected to fail, each with its reason.

    The weight-equivalence check may pass by chance (a clear-cut k, starts
    that land alike), so it is not a strict failure. Clusterers that take no
    sample_weight accept equal weights (they change nothing) and refuse
    others with a TypeError that names them, so they fail it too.
    """
    failed = {
        "check_sample_weight_equivalence_on_dense_data": (
            "the reference data sets have X's number of rows, so repeating rows "
            "changes them and the random starts; W_k is weight-equivalent "
            "(tests/test_dispersion.py); clusterers without sample_weight refuse "
            "unequal weights (issue #12, #20)"
        ),
    }
    if isinstance(
        estimator.estimator, (AgglomerativeClustering, Birch, GaussianMixture)
    ):
        # its weights are unequal (10 and ones)
        failed["check_sample_weights_not_overwritten"] = (
            f"{type(estimator.estimator).__name__} takes no sample_weight: "
            "GapKMeans refuses unequal weights with a TypeError that names it "
            "(issue #20)"
        )
    return failed


def _parametrize_with_checks(estimators, **kwargs):
    """scikit-learn's ``parametrize_with_checks``, its checks as a list.

    Before 1.8 it hands pytest a generator of checks, which pytest >= 9
    deprecates (an error under this suite's warning filters).
    """
    mark = parametrize_with_checks(estimators, **kwargs).mark
    names, checks = mark.args
    return pytest.mark.parametrize(names, list(checks), **mark.kwargs)


@_parametrize_with_checks(
    CONFIGURATIONS, expected_failed_checks=_expected_failed_checks
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
