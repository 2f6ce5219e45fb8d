"""warm_start=True: incremental refits give exactly the cold-fit result."""

import threading

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from skgap import GapKMeans

_FITS = []
_LOCK = threading.Lock()


class CountingKMeans(KMeans):
    """KMeans that records (n_clusters, first value of X) of every fit."""

    def fit(self, X, y=None, sample_weight=None):
        with _LOCK:
            _FITS.append((self.n_clusters, float(np.asarray(X)[0, 0])))
        return super().fit(X, y=y, sample_weight=sample_weight)


@pytest.fixture
def fits():
    _FITS.clear()
    yield _FITS
    _FITS.clear()


@pytest.fixture
def X():
    return make_blobs(
        n_samples=120, centers=3, n_features=2, cluster_std=0.5, random_state=0
    )[0]


def _gap(estimator=None, **params):
    defaults = dict(n_clusters_range=range(1, 5), n_refs=3, random_state=0)
    defaults.update(params)
    if estimator is None:
        estimator = CountingKMeans(n_init=1)
    return GapKMeans(estimator, **defaults)


def _assert_same_fit(warm, cold):
    assert warm.n_clusters_ == cold.n_clusters_
    assert warm.gap_results_.keys() == cold.gap_results_.keys()
    for key in cold.gap_results_:
        np.testing.assert_array_equal(warm.gap_results_[key], cold.gap_results_[key])
    np.testing.assert_array_equal(warm.dispersions_, cold.dispersions_)
    np.testing.assert_array_equal(
        warm.reference_dispersions_, cold.reference_dispersions_
    )
    np.testing.assert_array_equal(warm.labels_, cold.labels_)
    np.testing.assert_array_equal(warm.cluster_centers_, cold.cluster_centers_)


def test_more_refs_fits_only_new_draws(X, fits):
    warm = _gap(warm_start=True).fit(X)
    # (B + 1) data sets x the ks 2, 3, 4, and the chosen k again for
    # best_estimator_ (kept in the cache: the refit below keeps k = 3)
    assert len(fits) == 4 * 3 + 1
    fits.clear()
    warm.set_params(n_refs=6).fit(X)
    assert len(fits) == 3 * 3  # 3 new draws x 3 ks
    assert {k for k, _ in fits} == {2, 3, 4}
    cold = _gap(n_refs=6).fit(X)
    _assert_same_fit(warm, cold)


def test_wider_range_fits_only_new_ks(X, fits):
    warm = _gap(warm_start=True).fit(X)
    fits.clear()
    warm.set_params(n_clusters_range=range(1, 8)).fit(X)
    assert sorted(k for k, _ in fits) == sorted([5, 6, 7] * 4)
    cold = _gap(n_clusters_range=range(1, 8)).fit(X)
    _assert_same_fit(warm, cold)


def test_more_refs_and_ks_at_once(X, fits):
    warm = _gap(warm_start=True, n_clusters_range=[1, 3, 4]).fit(X)
    first_k = warm.n_clusters_
    fits.clear()
    warm.set_params(n_refs=5, n_clusters_range=[1, 2, 3, 4, 6]).fit(X)
    # ks 2 and 6 on the 4 old data sets, every k > 1 on the 2 new draws, and
    # the chosen k on the data again if it is not the one fitted before
    assert len(fits) == 2 * 4 + 4 * 2 + (warm.n_clusters_ != first_k)
    cold = _gap(n_refs=5, n_clusters_range=[1, 2, 3, 4, 6]).fit(X)
    _assert_same_fit(warm, cold)


def test_narrower_refit_fits_nothing(X, fits):
    warm = _gap(warm_start=True, n_refs=5, n_clusters_range=range(1, 7)).fit(X)
    fits.clear()
    warm.set_params(n_refs=2, n_clusters_range=range(1, 4)).fit(X)
    assert fits == []
    cold = _gap(n_refs=2, n_clusters_range=range(1, 4)).fit(X)
    _assert_same_fit(warm, cold)


def test_warm_start_in_parallel_matches_cold(X, fits):
    warm = _gap(warm_start=True, n_jobs=2).fit(X)
    warm.set_params(n_refs=5, n_clusters_range=range(1, 6)).fit(X)
    cold = _gap(n_refs=5, n_clusters_range=range(1, 6)).fit(X)
    _assert_same_fit(warm, cold)


@pytest.mark.parametrize(
    "change",
    [
        {"power": 1.0},
        {"reference": "uniform"},
        {"random_state": 1},
        {"estimator": CountingKMeans(n_init=2)},
    ],
    ids=["power", "reference", "random_state", "estimator"],
)
def test_changed_parameters_start_cold(X, fits, change):
    warm = _gap(warm_start=True).fit(X)
    fits.clear()
    warm.set_params(**change).fit(X)
    n_warm = len(fits)
    fits.clear()
    cold = _gap(**change).fit(X)
    assert n_warm == len(fits) >= 4 * 3
    _assert_same_fit(warm, cold)


@pytest.mark.parametrize(
    "new_X",
    [
        lambda X: X + 1e-9,  # same shape and dtype, other values
        lambda X: X[:-1],  # other shape
        lambda X: X.astype(np.float32),  # other dtype
    ],
    ids=["values", "shape", "dtype"],
)
def test_other_data_start_cold(X, fits, new_X):
    warm = _gap(warm_start=True).fit(X)
    fits.clear()
    other = new_X(X)
    warm.fit(other)
    assert len(fits) == 4 * 3 + 1
    cold = _gap().fit(other)
    _assert_same_fit(warm, cold)


def test_without_warm_start_every_fit_runs(X, fits):
    gap = _gap().fit(X)
    fits.clear()
    gap.fit(X)
    assert len(fits) == 4 * 3 + 1
    assert not hasattr(gap, "_warm_start_state_")


def test_turning_warm_start_off_drops_the_cache(X):
    gap = _gap(warm_start=True).fit(X)
    assert hasattr(gap, "_warm_start_state_")
    gap.set_params(warm_start=False).fit(X)
    assert not hasattr(gap, "_warm_start_state_")


def test_random_state_none_reuses_previous_draws(X, fits):
    warm = _gap(warm_start=True, random_state=None).fit(X)
    first = warm.reference_dispersions_.copy()
    fits.clear()
    warm.set_params(n_refs=5).fit(X)
    # (the seeds are random: the chosen k may be 1, fitted once for predict)
    assert sum(k > 1 for k, _ in fits) == 2 * 3
    np.testing.assert_array_equal(warm.reference_dispersions_[:3], first)


def test_chosen_k_of_one_is_kept(fits):
    X = np.random.default_rng(0).random((200, 3))
    warm = _gap(warm_start=True, n_clusters_range=range(1, 4)).fit(X)
    assert warm.n_clusters_ == 1
    fits.clear()
    warm.fit(X)
    assert fits == []  # not even the k = 1 clone behind best_estimator_
    cold = _gap(n_clusters_range=range(1, 4)).fit(X)
    _assert_same_fit(warm, cold)


def test_no_new_public_attributes(X):
    cold = _gap().fit(X)
    warm = _gap(warm_start=True).fit(X)
    public = {name for name in vars(warm) if not name.startswith("_")}
    assert public == {name for name in vars(cold) if not name.startswith("_")}


class ArrayParamKMeans(KMeans):
    """KMeans with an array parameter (unused by the fit, part of the key)."""

    def __init__(self, n_clusters=8, *, n_init=1, random_state=None, weights=None):
        super().__init__(
            n_clusters=n_clusters, n_init=n_init, random_state=random_state
        )
        self.weights = weights

    def fit(self, X, y=None, sample_weight=None):
        with _LOCK:
            _FITS.append((self.n_clusters, float(np.asarray(X)[0, 0])))
        return super().fit(X, y=y, sample_weight=sample_weight)


def test_one_element_of_a_long_array_parameter_starts_cold(X, fits):
    # numpy abbreviates the repr of arrays over 1,000 elements with "...": the
    # key compares their contents
    weights = np.zeros(5_000)
    gap = _gap(ArrayParamKMeans(n_init=1, weights=weights), warm_start=True).fit(X)
    fits.clear()
    changed = weights.copy()
    changed[2_500] = 1.0
    gap.set_params(estimator=ArrayParamKMeans(n_init=1, weights=changed)).fit(X)
    assert len(fits) >= 4 * 3  # everything fitted again
    fits.clear()
    gap.set_params(estimator=ArrayParamKMeans(n_init=1, weights=changed.copy()))
    gap.fit(X)
    assert fits == []  # equal contents: reused


def test_a_changed_nested_estimator_starts_cold(X, fits):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipeline = make_pipeline(StandardScaler(), CountingKMeans(n_init=1))
    gap = _gap(pipeline, warm_start=True).fit(X)
    fits.clear()
    gap.set_params(estimator__standardscaler__with_mean=False).fit(X)
    assert len(fits) >= 4 * 3
    fits.clear()
    gap.fit(X)
    assert fits == []


def test_callable_parameters_are_reused_only_when_the_same_object(X, fits):
    def draw(X, seed):
        return np.random.default_rng(seed).uniform(X.min(0), X.max(0), X.shape)

    gap = _gap(reference=draw, warm_start=True).fit(X)
    fits.clear()
    gap.fit(X)
    assert fits == []  # the very same function

    def draw_again(X, seed):  # equal code, another object: cannot be shown equal
        return np.random.default_rng(seed).uniform(X.min(0), X.max(0), X.shape)

    gap.set_params(reference=draw_again).fit(X)
    assert len(fits) >= 4 * 3
