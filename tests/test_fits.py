"""The fits of a gap-statistic fit (skgap/_fits.py): their seeds and their copies.

- Every draw and clusterer fit is seeded from ``random_state`` by its place
  (data set b, k) alone: a fit is reproducible, other seeds give other draws,
  and a fit of some ks has the columns of a fit of more (the results are the
  same whatever n_jobs and backend: test_execution.py).
- Each fit is of a clone of the clusterer, its ``random_state`` (nested ones
  too) seeded; the clusterer given is never fitted.
- The caller's X is never written to, whatever ``copy_x``; skgap's own
  reference data sets are centred in place by KMeans and redrawn, which
  clusters as a copy would, and keeps a fit's memory to about one KMeans fit.
- The engine's threads share each reference draw, read-only, and draw the
  next one into a finished draw's array (no per-draw allocation).
- The engine's ``best_estimator_`` is one clustering: ``labels_`` are the
  engine's own, whose W_k the gap used and whose squared distances to its
  centres are ``inertia_``, for float32 data too (rounded centres do not
  reassign them).
"""

import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import BisectingKMeans, KMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from skgap import GapKMeans, within_cluster_dispersion
from skgap._reference import make_reference_sampler
from skgap._selection import RESULT_KEYS


def _blobs(n_samples=300, random_state=0, **kwargs):
    return make_blobs(
        n_samples=n_samples, centers=3, random_state=random_state, **kwargs
    )


def _fast(**params):
    """GapKMeans with test settings: small B, short range, cheap KMeans."""
    defaults = dict(n_clusters_range=range(1, 7), n_refs=10, random_state=0)
    defaults.update(params)
    estimator = defaults.pop("estimator", KMeans(n_init=3))
    return GapKMeans(estimator, **defaults)


# --------------------------------------------------------------------------- seeds


@pytest.fixture(scope="module")
def determinism_data():
    return _blobs(n_samples=120)[0]


@pytest.fixture(scope="module")
def serial_fit(determinism_data):
    return _fast(estimator=KMeans(n_init=1), n_refs=5).fit(determinism_data)


def test_random_state_reproducible_and_seeds_differ(determinism_data, serial_fit):
    again = _fast(estimator=KMeans(n_init=1), n_refs=5).fit(determinism_data)
    for key in RESULT_KEYS:
        assert_array_equal(again.gap_results_[key], serial_fit.gap_results_[key])
    other = _fast(estimator=KMeans(n_init=1), n_refs=5, random_state=1).fit(
        determinism_data
    )
    assert not np.array_equal(
        other.reference_dispersions_, serial_fit.reference_dispersions_
    )
    # a RandomState instance is accepted and consumed, as in scikit-learn
    rng = np.random.RandomState(0)
    first = _fast(estimator=KMeans(n_init=1), n_refs=5, random_state=rng).fit(
        determinism_data
    )
    second = _fast(estimator=KMeans(n_init=1), n_refs=5, random_state=rng).fit(
        determinism_data
    )
    assert not np.array_equal(
        first.reference_dispersions_, second.reference_dispersions_
    )


def test_each_fit_seeded_by_its_k_and_data_set_alone():
    # a fit of the ks 2, 3, 5 has the columns of a fit of 1..6: each (k, b)
    # has its own seeds, whatever the other candidates
    X, _ = _blobs(n_samples=150)
    gap = _fast(n_refs=5, n_clusters_range=[2, 5, 3]).fit(X)
    full = _fast(n_refs=5).fit(X)
    assert_array_equal(gap.dispersions_, full.dispersions_[[1, 2, 4]])
    assert_array_equal(
        gap.reference_dispersions_, full.reference_dispersions_[:, [1, 2, 4]]
    )


def test_refit_is_identical(determinism_data):
    gap = _fast(estimator=KMeans(n_init=1), n_refs=3)
    first = gap.fit(determinism_data).reference_dispersions_.copy()
    assert_array_equal(gap.fit(determinism_data).reference_dispersions_, first)


def test_clones_get_seeded_random_state(determinism_data):
    gap = _fast(estimator=KMeans(n_init=1, random_state=None), n_refs=2).fit(
        determinism_data
    )
    assert isinstance(gap.best_estimator_.random_state, int)


def test_estimator_is_never_fitted():
    X, _ = _blobs(n_samples=80)
    kmeans = KMeans(n_init=1)
    params = kmeans.get_params()
    gap = GapKMeans(kmeans, n_clusters_range=range(1, 5), n_refs=3, random_state=0).fit(
        X
    )
    with pytest.raises(NotFittedError):
        check_is_fitted(kmeans)
    assert kmeans.get_params() == params
    assert gap.best_estimator_ is not kmeans
    assert gap.estimator is kmeans


# -------------------------------------------------------------------------- copies


@pytest.mark.parametrize("copy_x", [True, False])
def test_kmeans_copy_x_either_way_same_result_caller_X_kept(copy_x):
    # copy_x=False lets KMeans centre its input in place: never the caller's X
    X, _ = _blobs(n_samples=120)
    X_copy = X.copy()
    gap = _fast(estimator=KMeans(n_init=2, copy_x=copy_x), n_refs=3).fit(X)
    assert_array_equal(X, X_copy)
    assert gap.best_estimator_.copy_x is copy_x  # the caller's parameters
    expected = _fast(estimator=KMeans(n_init=2), n_refs=3).fit(X)
    assert_array_equal(gap.reference_dispersions_, expected.reference_dispersions_)
    assert_array_equal(gap.dispersions_, expected.dispersions_)
    assert_array_equal(gap.labels_, expected.labels_)


def test_copy_x_false_nested_in_a_pipeline_works():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    centers = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    X = centers[np.arange(60) % 3] + np.random.default_rng(0).normal(size=(60, 2))
    before = X.copy()
    pipeline = make_pipeline(StandardScaler(), KMeans(n_init=3, copy_x=False))
    gap = _fast(estimator=pipeline, n_clusters_range=[1, 2, 3, 4], n_refs=3).fit(X)
    assert_array_equal(X, before)
    assert gap.n_clusters_ == 3
    # the caller's setting stays on the fitted clone
    assert gap.best_estimator_.get_params()["kmeans__copy_x"] is False


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reference", ["uniform", "pca"])
@pytest.mark.parametrize("estimator", [KMeans(n_init=2), BisectingKMeans()])
def test_references_centred_in_place_cluster_as_read_only_ones(
    estimator, reference, dtype
):
    # skgap lets KMeans centre its own reference sets in place (copy_x=False)
    # and redraws them after each fit; a callable reference (never redrawn)
    # drawing the same values gets read-only data and copy_x=True
    X = _blobs(n_samples=150)[0].astype(dtype)
    sampler = make_reference_sampler(reference, X)

    def same_draws(X_seen, seed):
        return sampler.sample(seed)

    in_place = _fast(estimator=estimator, n_refs=4, reference=reference).fit(X)
    read_only = _fast(estimator=estimator, n_refs=4, reference=same_draws).fit(X)
    assert_array_equal(
        in_place.reference_dispersions_, read_only.reference_dispersions_
    )
    assert_array_equal(in_place.gap_results_["gap"], read_only.gap_results_["gap"])


def test_peak_memory_of_a_fit_is_about_one_kmeans_fit():
    # the references are centred in place instead of copied by KMeans and the
    # pca set-up reads X in blocks: a whole fit needs about what one KMeans
    # fit on X needs (its copy of X) plus the fitted labels it keeps
    X = np.random.RandomState(0).normal(size=(40_000, 10))
    _fast(n_refs=2, n_clusters_range=[1, 2]).fit(X[:100])  # lazy imports

    def traced_peak(fit, X):
        tracemalloc.start()
        try:
            fit(X)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    one_fit = traced_peak(KMeans(4, n_init=1, random_state=0).fit, X)
    for reference in ("uniform", "pca"):
        gap = _fast(
            estimator=KMeans(n_init=1),
            n_refs=3,
            n_clusters_range=range(1, 5),
            reference=reference,
        )
        gap_fit = traced_peak(gap.fit, X)
        assert gap_fit < one_fit + 0.5 * X.nbytes


def test_reference_draws_in_threads_give_the_serial_results(
    threads_even_for_small_data,
):
    X = _blobs(n_samples=20_000, n_features=8)[0]
    gaps = [
        _fast(estimator=None, n_refs=4, n_clusters_range=range(1, 5), n_jobs=n_jobs)
        .fit(X)
        .reference_dispersions_
        for n_jobs in (1, 2)
    ]
    assert_array_equal(gaps[0], gaps[1])


# ------------------------------------------------------------------ the best fit


def _quantised_blobs():
    """Blobs 1e-3 apart at 1e4: float32 rounds them to a grid of ~1e-3."""
    X = make_blobs(400, centers=4, cluster_std=0.5, random_state=1)[0]
    return X * 1e-3 + 1e4


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("data", ["blobs", "quantised"])
def test_engine_labels_centres_and_inertia_are_one_clustering(dtype, data):
    X = _blobs(n_samples=400)[0] if data == "blobs" else _quantised_blobs()
    X = X.astype(dtype)
    gap = GapKMeans(n_clusters_range=range(1, 7), n_refs=5, random_state=0).fit(X)
    best = gap.best_estimator_
    assert_array_equal(gap.labels_, best.labels_)
    # labels_ are the engine's own: those whose W_k the gap statistic used,
    # and whose squared distances to the engine's centres are inertia_ (the
    # centres are their means: the fit converged)
    dispersion = within_cluster_dispersion(X, gap.labels_)
    position = list(gap.gap_results_["n_clusters"]).index(gap.n_clusters_)
    assert_allclose(dispersion, gap.dispersions_[position], rtol=1e-10)
    assert_allclose(dispersion, best.inertia_, rtol=1e-6)
    assert best.cluster_centers_.dtype == dtype
    if dtype is np.float32 and data == "quantised":
        # scikit-learn's predict computes float32 distances as |c|^2 - 2 x.c,
        # about 2e8 here, with a resolution of 16 against distances of 1e-6:
        # its own KMeans' predict disagrees with its labels_ on this data
        own = KMeans(gap.n_clusters_, n_init=3, random_state=0).fit(X)
        assert_allclose(own.inertia_, best.inertia_, rtol=1e-6)
    else:
        assert_array_equal(best.predict(X), gap.labels_)
        assert_array_equal(gap.predict(X), gap.labels_)
