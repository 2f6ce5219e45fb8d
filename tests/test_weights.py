"""Sample weights: the weighted W_k, the weighted references, every clusterer
fit, and scikit-learn's metadata routing."""

import threading

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.metadata_routing import MetadataRouter

from skgap import GapKMeans, within_cluster_dispersion

# --- helpers ----------------------------------------------------------------

_FITS = []
_LOCK = threading.Lock()


class RecordingKMeans(KMeans):
    """KMeans that records the sample weights of every fit (None if none).

    A subclass of KMeans runs scikit-learn's fits, never skgap's engine.
    """

    def fit(self, X, y=None, sample_weight=None):
        with _LOCK:
            _FITS.append(
                None if sample_weight is None else np.array(sample_weight, copy=True)
            )
        return super().fit(X, y=y, sample_weight=sample_weight)


@pytest.fixture
def fits():
    _FITS.clear()
    yield _FITS
    _FITS.clear()


@pytest.fixture
def routing():
    """Metadata routing enabled for the test, restored after it."""
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def _data(n_samples=90):
    X, _ = make_blobs(n_samples=n_samples, centers=3, cluster_std=0.6, random_state=1)
    weights = np.random.RandomState(0).randint(0, 4, size=n_samples)
    weights[:3] = [0, 1, 3]
    return X, weights


def _gap(estimator=None, **params):
    defaults = dict(n_clusters_range=range(1, 5), n_refs=5, random_state=0)
    defaults.update(params)
    return GapKMeans(estimator, **defaults)


def _n_fits(gap, X):
    """Clusterer fits of a GapKMeans fit: k > 1 of the data and every
    reference, and the chosen k fitted again (for best_estimator_)."""
    n_ks = sum(1 for k in gap.gap_results_["n_clusters"] if k > 1)
    return (gap.n_refs_ + 1) * n_ks + 1


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"power": 1.0},
        {"kmeans_engine": "sklearn"},
    ],
    ids=["engine", "power-1", "sklearn-fits"],
)
def test_fit_with_k_positive_weight_samples_gives_zero_dispersion(params):
    # 4 samples of positive weight among 30: at k = 4 each cluster holds one
    # of them, W_k = 0 (log W_k = -inf), as the engine already reports
    X = np.random.RandomState(0).normal(size=(30, 2))
    weights = np.zeros(30)
    weights[:4] = 1.0
    gap = _gap(**params).fit(X, sample_weight=weights)
    assert gap.dispersions_[3] == 0.0
    assert np.all(gap.dispersions_[:3] > 0)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_callers_weights_and_X_not_modified(n_jobs):
    X, weights = _data()
    weights = weights.astype(np.float64)
    X_copy, weights_copy = X.copy(), weights.copy()
    _gap(n_jobs=n_jobs).fit(X, sample_weight=weights)
    _gap(RecordingKMeans(n_init=1), n_jobs=n_jobs).fit(X, sample_weight=weights)
    assert_array_equal(weights, weights_copy)
    assert_array_equal(X, X_copy)


# --- GapKMeans with weights -------------------------------------------------


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_weights_reach_every_clusterer_fit(fits, n_jobs):
    X, weights = _data()
    gap = _gap(RecordingKMeans(n_init=1), n_jobs=n_jobs).fit(X, sample_weight=weights)
    assert gap.n_clusters_ == 3
    assert len(fits) == _n_fits(gap, X) == (5 + 1) * 3 + 1
    for recorded in fits:
        assert recorded is not None
        assert_array_equal(recorded, weights)


@pytest.mark.parametrize(
    "params",
    [{}, {"power": 1.0}, {"metric": "cityblock"}, {"kmeans_engine": "sklearn"}],
    ids=["engine", "power-1", "cityblock", "sklearn-fits"],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weighted_dispersions_of_the_data_equal_repeated_rows(params, dtype):
    # the reference draws differ by design (one reference row per sample), so
    # only W_k of the data is compared, for the labels the fit returned
    X, weights = _data()
    X = X.astype(dtype)
    gap = _gap(**params).fit(X, sample_weight=weights)
    assert gap.n_clusters_ == 3
    power, metric = params.get("power", 2.0), params.get("metric", "euclidean")
    repeated = np.repeat(X, weights, axis=0)
    ks = list(gap.gap_results_["n_clusters"])
    # k = 1 needs no clustering: W_1 of the repeated rows
    assert_allclose(
        gap.dispersions_[ks.index(1)],
        within_cluster_dispersion(
            repeated, np.zeros(len(repeated), int), power=power, metric=metric
        ),
        rtol=1e-10,
    )
    assert_allclose(
        gap.dispersions_[ks.index(gap.n_clusters_)],
        within_cluster_dispersion(
            repeated, np.repeat(gap.labels_, weights), power=power, metric=metric
        ),
        rtol=1e-10,
    )


def test_weights_change_the_engine_fit():
    X, weights = _data()
    weighted = _gap().fit(X, sample_weight=weights)
    plain = _gap().fit(X)
    assert not np.array_equal(weighted.dispersions_, plain.dispersions_)
    assert not np.array_equal(
        weighted.reference_dispersions_, plain.reference_dispersions_
    )
    # unit weights are no weights
    ones = _gap().fit(X, sample_weight=np.ones(len(X)))
    for key in plain.gap_results_:
        assert_array_equal(ones.gap_results_[key], plain.gap_results_[key])


def test_reference_row_i_carries_weight_i():
    # a reference callable that always returns the same data set R: its W*_1
    # is W_1 of R weighted by the weights of X's samples, row by row
    X, weights = _data()
    R = np.random.RandomState(5).uniform(-10, 10, size=X.shape)

    def fixed(X, seed):
        return R

    gap = _gap(reference=fixed).fit(X, sample_weight=weights)
    expected = within_cluster_dispersion(
        R, np.zeros(len(R), int), sample_weight=weights
    )
    assert_allclose(gap.reference_dispersions_[:, 0], expected, rtol=1e-12)
    assert expected != within_cluster_dispersion(R, np.zeros(len(R), int))


def test_weighted_fit_is_reproducible_and_fit_transform_consistent():
    X, weights = _data()
    a = _gap().fit(X, sample_weight=weights)
    b = _gap().fit(X, sample_weight=weights)
    for key in a.gap_results_:
        assert_array_equal(a.gap_results_[key], b.gap_results_[key])
    assert_array_equal(_gap().fit_transform(X, sample_weight=weights), a.transform(X))
    assert_array_equal(_gap().fit_predict(X, sample_weight=weights), a.labels_)
    assert a.score(X, sample_weight=weights) == a.best_estimator_.score(
        X, sample_weight=weights
    )


def test_warm_start_with_other_weights_starts_cold(fits):
    X, weights = _data()
    gap = _gap(RecordingKMeans(n_init=1), warm_start=True)
    gap.fit(X, sample_weight=weights)
    other = np.where(weights > 0, weights, 2)
    fits.clear()
    gap.fit(X, sample_weight=other)
    assert len(fits) == _n_fits(gap, X)  # every fit again
    cold = _gap(RecordingKMeans(n_init=1)).fit(X, sample_weight=other)
    for key in cold.gap_results_:
        assert_array_equal(gap.gap_results_[key], cold.gap_results_[key])


# --- metadata routing ---------------------------------------------------------


def test_get_metadata_routing_is_a_router(routing):
    router = GapKMeans().get_metadata_routing()
    assert isinstance(router, MetadataRouter)
    # the default clusterer asks for the weights
    routed = router.route_params(params={"sample_weight": 1}, caller="fit")
    assert routed.estimator.fit == {"sample_weight": 1}


def test_routing_requested_weights_reach_the_clusterer(routing, fits):
    X, weights = _data()
    estimator = RecordingKMeans(n_init=1).set_fit_request(sample_weight=True)
    gap = _gap(estimator).fit(X, sample_weight=weights)
    assert len(fits) == _n_fits(gap, X)
    for recorded in fits:
        assert_array_equal(recorded, weights)


def test_routing_weights_reach_a_pipeline_step(routing, fits):
    X, weights = _data()
    pipeline = make_pipeline(
        StandardScaler().set_fit_request(sample_weight=True),
        RecordingKMeans(n_init=1).set_fit_request(sample_weight=True),
    )
    gap = _gap(pipeline).fit(X, sample_weight=weights)
    assert len(fits) == _n_fits(gap, X)
    for recorded in fits:
        assert_array_equal(recorded, weights)


def test_routing_not_requested_the_clusterer_gets_none_but_w_is_weighted(routing, fits):
    X, weights = _data()
    estimator = RecordingKMeans(n_init=1).set_fit_request(sample_weight=False)
    gap = _gap(estimator).fit(X, sample_weight=weights)
    assert len(fits) == _n_fits(gap, X)
    assert all(recorded is None for recorded in fits)
    ks = list(gap.gap_results_["n_clusters"])
    assert_allclose(
        gap.dispersions_[ks.index(gap.n_clusters_)],
        within_cluster_dispersion(X, gap.labels_, sample_weight=weights),
        rtol=1e-12,
    )
    assert_allclose(
        gap.dispersions_[ks.index(1)],
        within_cluster_dispersion(X, np.zeros(len(X), int), sample_weight=weights),
        rtol=1e-12,
    )
    assert gap.dispersions_[ks.index(1)] != pytest.approx(
        within_cluster_dispersion(X, np.zeros(len(X), int))
    )


def test_routing_unset_request_raises(routing):
    X, weights = _data(30)
    with pytest.raises(UnsetMetadataPassedError, match="RecordingKMeans.fit"):
        _gap(RecordingKMeans(n_init=1)).fit(X, sample_weight=weights)


def test_routing_default_clusterer_same_fit_as_without_routing():
    X, weights = _data()
    plain = _gap().fit(X, sample_weight=weights)
    with sklearn.config_context(enable_metadata_routing=True):
        routed = _gap().fit(X, sample_weight=weights)
    for key in plain.gap_results_:
        assert_array_equal(routed.gap_results_[key], plain.gap_results_[key])
    assert_array_equal(routed.labels_, plain.labels_)


def _fold_weights(weights, n_splits=5):
    """The weights of each training fold of GridSearchCV's default CV."""
    folds = [weights[train] for train, _ in KFold(n_splits).split(weights)]
    return [*folds, weights]


def _assert_each_from(recorded, candidates):
    for weights in recorded:
        assert weights is not None
        assert any(
            len(weights) == len(c) and np.array_equal(weights, c) for c in candidates
        )


def test_grid_search_routes_weights(routing, fits):
    X, weights = _data()
    gap = (
        _gap(RecordingKMeans(n_init=1).set_fit_request(sample_weight=True))
        .set_fit_request(sample_weight=True)
        .set_score_request(sample_weight=True)
    )
    search = GridSearchCV(gap, {"method": ["tibshirani", "global_max"]})
    search.fit(X, sample_weight=weights)
    assert search.best_params_["method"] in ("tibshirani", "global_max")
    assert hasattr(search.best_estimator_, "n_clusters_")
    # every fit of every fold received the weights of its training samples
    assert len(fits) > 10
    _assert_each_from(fits, _fold_weights(weights))


def test_grid_search_without_routing(fits):
    X, weights = _data()
    search = GridSearchCV(
        _gap(RecordingKMeans(n_init=1)), {"method": ["tibshirani", "global_max"]}
    )
    search.fit(X, sample_weight=weights)
    assert search.best_estimator_.n_clusters_ >= 1
    _assert_each_from(fits, _fold_weights(weights))


def test_routing_warm_start_with_another_request_starts_cold(routing):
    X, weights = _data()
    X = X * [1.0, 3.0]  # less clear-cut blobs, whose fits depend on the weights
    params = dict(n_clusters_range=range(1, 5), n_refs=5, random_state=0)
    gap = GapKMeans(
        RecordingKMeans(n_init=1).set_fit_request(sample_weight=True),
        warm_start=True,
        **params,
    ).fit(X, sample_weight=weights)
    ignoring = RecordingKMeans(n_init=1).set_fit_request(sample_weight=False)
    gap.set_params(estimator=ignoring).fit(X, sample_weight=weights)
    cold = GapKMeans(clone(ignoring), **params).fit(X, sample_weight=weights)
    assert_array_equal(gap.reference_dispersions_, cold.reference_dispersions_)
    assert_array_equal(gap.dispersions_, cold.dispersions_)
