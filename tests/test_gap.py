"""GapKMeans (skgap/_gap.py): the estimator's behaviour.

Seeded results on clear data, the fitted attributes and scikit-learn's API,
the SPEC table, edge cases, invariances, the forward scan, n_refs="auto",
warm start, sample weights and metadata routing, the clusterers it wraps
(scikit-learn's, Pipelines, duck-typed), GridSearchCV and Pipeline around it,
metric, set_output, the warnings about the result and rule_choices_.

Elsewhere: bad input (test_validation.py), seeds and copies (test_fits.py),
backends (test_execution.py), failing clusterers (test_faults.py), the rules
and selection frequencies (test_selection.py), W_k (test_dispersion.py).
"""

import pickle
import re
import threading
import warnings
from collections import namedtuple

import _oracle
import numpy as np
import pytest
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, clone
from sklearn.cluster import (
    AgglomerativeClustering,
    Birch,
    BisectingKMeans,
    KMeans,
    MiniBatchKMeans,
    SpectralClustering,
)
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError, UnsetMetadataPassedError
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.metadata_routing import MetadataRouter

from skgap import GapKMeans, select_k, within_cluster_dispersion
from skgap._selection import FORWARD_RULES, RESULT_KEYS, STATISTICS
from skgap.exceptions import SkgapWarning


def _blobs(n_samples=300, random_state=0, **kwargs):
    X, y = make_blobs(
        n_samples=n_samples, centers=3, random_state=random_state, **kwargs
    )
    return X, y


def _noise(n_samples=150, seed=0, n_features=2):
    return np.random.RandomState(seed).uniform(size=(n_samples, n_features))


def _fast(**params):
    """GapKMeans with test settings: small B, short range, cheap KMeans."""
    defaults = dict(n_clusters_range=range(1, 7), n_refs=10, random_state=0)
    defaults.update(params)
    estimator = defaults.pop("estimator", KMeans(n_init=3))
    return GapKMeans(estimator, **defaults)


def _ward(**params):
    """GapKMeans with a deterministic clusterer (Ward), for exact comparisons."""
    return _fast(estimator=AgglomerativeClustering(linkage="ward"), **params)


@pytest.fixture(scope="module")
def blobs_fit():
    X, _ = _blobs()
    return X, _fast().fit(X)


def _two_blobs(std, n_samples=200):
    """Two blobs 5 apart: the gap hesitates between 1 and 2 at std 1.85."""
    return make_blobs(
        n_samples=n_samples, centers=[[0, 0], [5, 0]], cluster_std=std, random_state=0
    )[0]


def _small_blobs():
    """90 samples in three clear blobs (the fit chooses k = 3)."""
    return make_blobs(n_samples=90, centers=3, cluster_std=0.6, random_state=1)


_FITTED_ARRAYS = (
    "dispersions_",
    "reference_dispersions_",
    "labels_",
    "selection_frequencies_",
    "cluster_centers_",
)


def _assert_identical_fits(a, b):
    assert a.n_clusters_ == b.n_clusters_
    assert a.n_refs_ == b.n_refs_
    assert a.gap_results_.keys() == b.gap_results_.keys()
    for key in a.gap_results_:
        assert_array_equal(a.gap_results_[key], b.gap_results_[key], err_msg=key)
    for name in _FITTED_ARRAYS:
        if hasattr(b, name):
            assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        else:
            assert not hasattr(a, name), name
    assert a.rule_choices_ == b.rule_choices_


# Every fit of a RecordingKMeans: its k, the first value of its X and its
# sample weights (None if none). A subclass of KMeans runs scikit-learn's
# fits, never skgap's engine; fits may run in threads.
Fit = namedtuple("Fit", "k first weights")
_FITS = []
_LOCK = threading.Lock()


class RecordingKMeans(KMeans):
    """KMeans that records every fit in _FITS."""

    def fit(self, X, y=None, sample_weight=None):
        weights = None if sample_weight is None else np.array(sample_weight, copy=True)
        with _LOCK:
            _FITS.append(Fit(self.n_clusters, float(np.asarray(X)[0, 0]), weights))
        return super().fit(X, y=y, sample_weight=sample_weight)


@pytest.fixture
def fits():
    """The fits of RecordingKMeans during the test."""
    _FITS.clear()
    yield _FITS
    _FITS.clear()


@pytest.fixture
def routing():
    """Metadata routing enabled for the test, restored after it."""
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def _weighted_data(n_samples=90):
    X, _ = make_blobs(n_samples=n_samples, centers=3, cluster_std=0.6, random_state=1)
    weights = np.random.RandomState(0).randint(0, 4, size=n_samples)
    weights[:3] = [0, 1, 3]
    return X, weights


def _weighted(estimator=None, **params):
    defaults = dict(n_clusters_range=range(1, 5), n_refs=5, random_state=0)
    defaults.update(params)
    return GapKMeans(estimator, **defaults)


def _n_fits(gap, X):
    """Clusterer fits of a GapKMeans fit: k > 1 of the data and every
    reference, and the chosen k fitted again (for best_estimator_)."""
    n_ks = sum(1 for k in gap.gap_results_["n_clusters"] if k > 1)
    return (gap.n_refs_ + 1) * n_ks + 1


# --- seeded behaviour ---------------------------------------------------------


@pytest.mark.parametrize("reference", ["pca", "uniform"])
@pytest.mark.parametrize("random_state", [0, 1, 2])
def test_blobs_give_three(reference, random_state):
    # make_blobs(centers=3, random_state=0) with 300 samples; with its default
    # 100 samples two of the centres are too close (R's clusGap also says 1)
    X, _ = _blobs()
    gap = _fast(reference=reference, random_state=random_state).fit(X)
    assert gap.n_clusters_ == 3
    assert gap.best_estimator_.n_clusters == 3
    assert np.unique(gap.labels_).shape[0] == 3


@pytest.mark.parametrize("reference", ["pca", "uniform"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_uniform_noise_gives_one(reference, seed):
    X = _noise(seed=seed)
    gap = _fast(reference=reference, random_state=seed).fit(X)
    assert gap.n_clusters_ == 1
    assert_array_equal(gap.labels_, np.zeros(X.shape[0]))
    assert gap.best_estimator_.n_clusters == 1
    assert_array_equal(gap.predict(X[:5]), np.zeros(5))


def test_fitted_attributes(blobs_fit):
    X, gap = blobs_fit
    ks = np.arange(1, 7)
    assert set(gap.gap_results_) == set(RESULT_KEYS)
    for key in RESULT_KEYS:
        value = gap.gap_results_[key]
        assert isinstance(value, np.ndarray) and value.shape == (6,), key
    assert_array_equal(gap.gap_results_["n_clusters"], ks)
    assert gap.gap_results_["n_clusters"].dtype.kind == "i"
    assert gap.dispersions_.shape == (6,)
    assert gap.reference_dispersions_.shape == (10, 6)
    assert gap.n_features_in_ == 2
    assert not hasattr(gap, "feature_names_in_")
    assert isinstance(gap.best_estimator_, KMeans)
    assert gap.labels_.shape == (X.shape[0],)
    assert_array_equal(gap.labels_, gap.best_estimator_.labels_)
    assert_array_equal(gap.cluster_centers_, gap.best_estimator_.cluster_centers_)
    assert gap.cluster_centers_.shape == (3, 2)
    assert_array_equal(gap.predict(X), gap.labels_)
    assert_allclose(gap.transform(X), gap.best_estimator_.transform(X))
    assert gap.transform(X).shape == (X.shape[0], 3)
    assert_allclose(_fast().fit_transform(X), gap.transform(X))
    with pytest.warns(SkgapWarning, match="improves with the number of clusters"):
        assert gap.score(X) == gap.best_estimator_.score(X)
    with pytest.warns(SkgapWarning, match="GapKMeans.score"):
        assert gap.score(X) == pytest.approx(-gap.best_estimator_.inertia_, rel=1e-6)


def test_gap_df(blobs_fit):
    pd = pytest.importorskip("pandas")
    _, gap = blobs_fit
    df = gap.gap_df_
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == list(RESULT_KEYS)
    assert df.shape == (6, len(RESULT_KEYS))
    for key in RESULT_KEYS:
        assert_array_equal(df[key].to_numpy(), gap.gap_results_[key])
    assert not hasattr(_fast(), "gap_df_")


def test_fit_returns_self_and_fit_predict():
    X, _ = _blobs(n_samples=120)
    gap = _fast(n_refs=5)
    assert gap.fit(X) is gap
    assert_array_equal(_fast(n_refs=5).fit_predict(X), gap.labels_)


# --- the SPEC table -----------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reference", ["pca", "uniform"])
def test_gap_results_equal_oracle(dtype, reference):
    X, _ = _blobs(n_samples=150)
    X = X.astype(dtype)
    gap = _fast(reference=reference, n_refs=7).fit(X)
    expected = _oracle.gap_statistics(gap.dispersions_, gap.reference_dispersions_)
    for key in expected:
        assert_allclose(gap.gap_results_[key], expected[key], rtol=1e-12, err_msg=key)
    # the hand formulas, spelled out once more for k = 2 (position 1)
    W, W_ref, B = gap.dispersions_, gap.reference_dispersions_, 7
    L = np.log(W_ref[:, 1])
    assert_allclose(gap.gap_results_["gap"][1], L.mean() - np.log(W[1]), rtol=1e-12)
    assert_allclose(
        gap.gap_results_["se"][1], L.std(ddof=0) * np.sqrt(1 + 1 / B), rtol=1e-12
    )
    assert_allclose(
        gap.gap_results_["se_star"][1],
        W_ref[:, 1].std(ddof=0) * np.sqrt(1 + 1 / B),
        rtol=1e-12,
    )
    assert np.isnan(gap.gap_results_["diff"][-1])
    assert np.isnan(gap.gap_results_["diff_star"][-1])


@pytest.mark.parametrize("power", [2.0, 1.0, 0.5])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dispersions_are_those_of_the_labels(power, dtype):
    # a deterministic clusterer and a recording reference let us recompute
    # every W_k and W*_kb from the labels, with the oracle
    X, _ = _blobs(n_samples=60)
    X = X.astype(dtype)
    drawn = []

    def reference(X_seen, seed):
        Z = np.random.default_rng(seed).uniform(-10, 10, size=X_seen.shape)
        drawn.append(Z.astype(dtype))
        return Z

    gap = _ward(n_refs=3, reference=reference, power=power, n_clusters_range=[1, 2, 4])
    gap.fit(X)
    assert len(drawn) == 3
    rtol = 1e-7 if dtype == np.float64 else 1e-4
    for i, k in enumerate([1, 2, 4]):
        labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(X)
        assert_allclose(
            gap.dispersions_[i], _oracle.dispersion(X, labels, power), rtol=rtol
        )
        for b, Z in enumerate(drawn):
            labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(
                Z
            )
            assert_allclose(
                gap.reference_dispersions_[b, i],
                _oracle.dispersion(Z, labels, power),
                rtol=rtol,
            )
    chosen = list(gap.gap_results_["n_clusters"]).index(gap.n_clusters_)
    assert gap.dispersions_[chosen] == pytest.approx(
        within_cluster_dispersion(X, gap.labels_, power=power), rel=1e-12
    )


def test_dispersions_equal_those_of_fitted_labels(blobs_fit):
    X, gap = blobs_fit
    assert gap.dispersions_[2] == pytest.approx(
        within_cluster_dispersion(X, gap.labels_), rel=1e-12
    )
    # W_k comes from the labels, which for KMeans equals the inertia
    assert_allclose(gap.dispersions_[2], gap.best_estimator_.inertia_, rtol=1e-6)
    # k = 1 needs no clustering: the total sum of squares
    assert gap.dispersions_[0] == pytest.approx(((X - X.mean(0)) ** 2).sum(), rel=1e-12)


def test_power_changes_the_dispersion():
    X, _ = _blobs(n_samples=80, cluster_std=0.5)
    gap2 = _ward(n_refs=3).fit(X)
    gap1 = _ward(n_refs=3, power=1.0).fit(X)
    assert not np.allclose(gap1.dispersions_, gap2.dispersions_)
    labels = AgglomerativeClustering(n_clusters=3, linkage="ward").fit_predict(X)
    assert gap1.dispersions_[2] == pytest.approx(
        _oracle.dispersion(X, labels, 1.0), rel=1e-10
    )
    assert gap1.n_clusters_ == 3


RULE_SE_FACTORS = [0.0, 1.0, 15.0]


@pytest.fixture(scope="module")
def rule_data():
    # two far-apart groups of four blobs: the gap has a first local maximum at
    # k=2 and its global maximum at k=8, Gap* prefers 2, and a large se_factor
    # moves the global SE-max rule from 8 to 2
    centres = [[0, 0], [0, 3], [3, 0], [3, 3]]
    centres += [[x + 30, y + 30] for x, y in centres]
    X, _ = make_blobs(n_samples=240, centers=centres, cluster_std=0.4, random_state=0)
    return X


@pytest.mark.parametrize("statistic", ["gap", "gap_star"])
@pytest.mark.parametrize("method", _oracle.METHODS)
@pytest.mark.parametrize("se_factor", RULE_SE_FACTORS)
def test_every_rule_selects_what_select_k_says(rule_data, statistic, method, se_factor):
    gap = _ward(
        n_refs=5,
        statistic=statistic,
        method=method,
        se_factor=se_factor,
        n_clusters_range=range(1, 11),
    ).fit(rule_data)
    values = gap.gap_results_[statistic]
    se = gap.gap_results_[STATISTICS[statistic]]
    position = select_k(values, se, method=method, se_factor=se_factor)
    assert position == _oracle.select(values, se, method, se_factor)
    assert gap.n_clusters_ == position + 1
    assert gap.best_estimator_.n_clusters == gap.n_clusters_


def test_rules_are_discriminated_by_rule_data(rule_data):
    # the test above would not notice a wrong statistic, rule or se_factor if
    # they all chose alike: on this data they do not
    gap = _ward(n_refs=5, n_clusters_range=range(1, 11)).fit(rule_data)

    def chosen(statistic, method, factor):
        return 1 + select_k(
            gap.gap_results_[statistic],
            gap.gap_results_[STATISTICS[statistic]],
            method=method,
            se_factor=factor,
        )

    assert chosen("gap", "first_max", 1.0) == 2
    assert chosen("gap", "global_max", 1.0) == 8
    assert chosen("gap_star", "global_max", 1.0) == 2
    assert chosen("gap", "global_se_max", 1.0) == 8
    assert chosen("gap", "global_se_max", 15.0) == 2


def test_non_consecutive_ks_sorted_and_next_means_next_candidate():
    X, _ = _blobs(n_samples=150)
    gap = _fast(n_refs=5, n_clusters_range=[2, 5, 3]).fit(X)
    results = gap.gap_results_
    assert_array_equal(results["n_clusters"], [2, 3, 5])
    expected = _oracle.gap_statistics(gap.dispersions_, gap.reference_dispersions_)
    assert_allclose(results["diff"], expected["diff"], rtol=1e-12)
    # diff of k=3 compares with k=5, the next candidate
    assert results["diff"][1] == pytest.approx(
        results["gap"][1] - results["gap"][2] + results["se"][2], rel=1e-12
    )
    assert gap.n_clusters_ == 3
    # (each (k, b) has its own seeds: test_fits.py)


def test_n_clusters_range_default_is_1_to_10():
    X, _ = _blobs(n_samples=60)
    gap = GapKMeans(KMeans(n_init=1), n_refs=2, random_state=0).fit(X)
    assert_array_equal(gap.gap_results_["n_clusters"], np.arange(1, 11))


def test_estimator_none_is_kmeans():
    X, _ = _blobs(n_samples=60)
    gap = GapKMeans(n_clusters_range=[1, 3], n_refs=2, random_state=0).fit(X)
    assert isinstance(gap.best_estimator_, KMeans)


# --- edge cases ---------------------------------------------------------------


def test_k_equal_n_samples_is_kept():
    X = _noise(n_samples=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkgapWarning)
        gap = _ward(n_refs=3, n_clusters_range=[1, 6]).fit(X)
    # k = n: every sample alone, in the data and in every reference: W = 0,
    # log W = -inf and the gap -inf - -inf is NaN, never chosen
    assert gap.dispersions_[1] == 0.0
    assert_array_equal(gap.reference_dispersions_[:, 1], 0.0)
    assert gap.gap_results_["log_w"][1] == -np.inf
    assert gap.gap_results_["expected_log_w"][1] == -np.inf
    assert np.isnan(gap.gap_results_["gap"][1])
    assert gap.gap_results_["gap_star"][1] == 0.0
    assert gap.n_clusters_ == 1


@pytest.mark.parametrize("n_masses", [2, 3, 4])
@pytest.mark.parametrize("method", _oracle.METHODS)
def test_point_masses_give_infinite_gap_and_win(n_masses, method):
    # n_masses points on a spiral (each farther out than the last, so that
    # every split helps whatever the references), each repeated: W = 0 at
    # k = n_masses only
    angles = 2 * np.pi * np.arange(n_masses) / n_masses
    radii = 10 * 3.0 ** np.arange(n_masses)
    masses = np.c_[radii * np.cos(angles), radii * np.sin(angles)]
    X = np.repeat(masses, 15, axis=0)
    gap = _ward(n_refs=5, method=method, n_clusters_range=range(1, n_masses + 1))
    gap.fit(X)
    assert gap.dispersions_[-1] == 0.0
    assert gap.gap_results_["gap"][-1] == np.inf
    assert np.all(np.isfinite(gap.gap_results_["gap"][:-1]))
    assert gap.n_clusters_ == n_masses


# --- invariances --------------------------------------------------------------


def _assert_same_results(a, b, rtol):
    for key in RESULT_KEYS:
        assert_allclose(
            a.gap_results_[key], b.gap_results_[key], rtol=rtol, atol=1e-9, err_msg=key
        )
    assert a.n_clusters_ == b.n_clusters_


@pytest.mark.parametrize("reference", ["pca", "uniform"])
@pytest.mark.parametrize("seed", [0, 1])
def test_invariant_to_translation(reference, seed):
    X, _ = _blobs(n_samples=90, random_state=seed)
    shift = np.random.RandomState(seed).uniform(-50, 50, size=2)
    a = _ward(n_refs=5, reference=reference, random_state=seed).fit(X)
    b = _ward(n_refs=5, reference=reference, random_state=seed).fit(X + shift)
    _assert_same_results(a, b, rtol=1e-6)


@pytest.mark.parametrize("reference", ["pca", "uniform"])
@pytest.mark.parametrize("power", [2.0, 1.0])
def test_gap_invariant_to_scaling_and_gap_star_scales(reference, power):
    # scaling X by c multiplies every W by c ** power: the gap does not move,
    # Gap* and its SE scale by c ** power
    X, _ = _blobs(n_samples=60)
    c = 7.5
    a = _ward(n_refs=4, reference=reference, power=power).fit(X)
    b = _ward(n_refs=4, reference=reference, power=power).fit(c * X)
    for key in ("gap", "se", "sd", "diff"):
        assert_allclose(b.gap_results_[key], a.gap_results_[key], rtol=1e-7, atol=1e-10)
    assert_allclose(
        b.gap_results_["log_w"], a.gap_results_["log_w"] + power * np.log(c), rtol=1e-10
    )
    for key in ("gap_star", "se_star", "diff_star"):
        assert_allclose(b.gap_results_[key], c**power * a.gap_results_[key], rtol=1e-7)
    assert a.n_clusters_ == b.n_clusters_


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_invariant_to_rotation_under_pca(seed):
    rng = np.random.RandomState(seed)
    X, _ = make_blobs(n_samples=90, centers=3, n_features=3, random_state=seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    a = _ward(n_refs=5, random_state=seed).fit(X)
    b = _ward(n_refs=5, random_state=seed).fit(X @ rotation)
    _assert_same_results(a, b, rtol=1e-6)


def test_invariant_to_sample_order_for_the_data_part():
    X, _ = _blobs(n_samples=90)
    permutation = np.random.RandomState(0).permutation(90)
    a = _ward(n_refs=4).fit(X)
    b = _ward(n_refs=4).fit(X[permutation])
    assert_allclose(a.dispersions_, b.dispersions_, rtol=1e-9)


# --- data handling ------------------------------------------------------------


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_caller_X_and_weights_not_modified(n_jobs):
    X, _ = _blobs(n_samples=80)
    X_copy = X.copy()
    X32 = X.astype(np.float32)
    X32_copy = X32.copy()
    Xf = np.asfortranarray(X)
    for data in (X, X32, Xf):
        _fast(n_refs=3, n_jobs=n_jobs).fit(data)
    assert_array_equal(X, X_copy)
    assert_array_equal(X32, X32_copy)
    assert_array_equal(Xf, X_copy)
    # with sample weights, on the engine and on scikit-learn's fits
    X, weights = _weighted_data()
    weights = weights.astype(np.float64)
    X_copy, weights_copy = X.copy(), weights.copy()
    _weighted(n_jobs=n_jobs).fit(X, sample_weight=weights)
    _weighted(RecordingKMeans(n_init=1), n_jobs=n_jobs).fit(X, sample_weight=weights)
    assert_array_equal(weights, weights_copy)
    assert_array_equal(X, X_copy)


def test_float32_kept():
    X, _ = _blobs(n_samples=80)
    X32 = X.astype(np.float32)
    dtypes = []

    def reference(X_seen, seed):
        dtypes.append(X_seen.dtype)
        return np.random.default_rng(seed).uniform(-10, 10, size=X_seen.shape)

    gap = _fast(n_refs=2, reference=reference).fit(X32)
    assert dtypes == [np.float32, np.float32]
    assert gap.cluster_centers_.dtype == np.float32
    assert gap.transform(X32).dtype == np.float32
    # the statistics are computed in float64 and are close to float64's
    gap64 = _fast(n_refs=2, reference=reference).fit(X)
    assert gap.gap_results_["gap"].dtype == np.float64
    assert_allclose(gap.gap_results_["log_w"], gap64.gap_results_["log_w"], rtol=1e-4)
    for name in ("pca", "uniform"):
        g = _fast(n_refs=2, reference=name).fit(X32)
        assert g.cluster_centers_.dtype == np.float32
        assert g.best_estimator_.cluster_centers_.dtype == np.float32
        assert_array_equal(g.predict(X32), g.labels_)


def test_pandas_dataframe_feature_names():
    pd = pytest.importorskip("pandas")
    X, _ = _blobs(n_samples=90)
    df = pd.DataFrame(X, columns=["height", "weight"])
    gap = _fast(n_refs=3).fit(df)
    assert_array_equal(gap.feature_names_in_, ["height", "weight"])
    assert_array_equal(gap.predict(df), gap.labels_)
    with pytest.warns(UserWarning, match="feature names"):
        gap.predict(X)
    with pytest.raises(ValueError, match="feature names"):
        gap.predict(df.rename(columns={"height": "h"}))


def test_not_fitted():
    gap = _fast()
    with pytest.raises(NotFittedError):
        gap.predict(np.zeros((3, 2)))
    assert not hasattr(gap, "cluster_centers_")


def test_pickle_round_trip(blobs_fit):
    X, gap = blobs_fit
    restored = pickle.loads(pickle.dumps(gap))
    assert_array_equal(restored.predict(X), gap.predict(X))
    for key in RESULT_KEYS:
        assert_array_equal(restored.gap_results_[key], gap.gap_results_[key])
    assert restored.get_params()["n_refs"] == 10
    # and an unfitted one with a reference callable defined at module level
    unfitted = pickle.loads(pickle.dumps(clone(gap)))
    assert unfitted.get_params()["n_refs"] == 10


def test_set_params_then_refit():
    X, _ = _blobs(n_samples=90)
    gap = _ward(n_refs=3).fit(X)
    gap.set_params(n_clusters_range=[1, 2])
    gap.fit(X)
    assert_array_equal(gap.gap_results_["n_clusters"], [1, 2])
    assert gap.reference_dispersions_.shape == (3, 2)


def test_single_reference():
    # B = 1: the spread of one value is 0 (R's 1/(B-1) variance would be NaN)
    X, _ = _blobs(n_samples=60)
    with pytest.warns(SkgapWarning, match=r"n_refs=1.*standard errors are 0"):
        gap = _ward(n_refs=1).fit(X)
    assert gap.reference_dispersions_.shape == (1, 6)
    assert_array_equal(gap.gap_results_["sd"], 0.0)
    assert_array_equal(gap.gap_results_["se"], 0.0)
    assert_array_equal(gap.gap_results_["se_star"], 0.0)
    assert_allclose(
        gap.gap_results_["gap"],
        np.log(gap.reference_dispersions_[0]) - np.log(gap.dispersions_),
        rtol=1e-12,
    )


def test_repr_and_get_params():
    gap = GapKMeans(KMeans(n_init=1), n_refs=4, method="global_max")
    assert "n_refs=4" in repr(gap)
    assert gap.get_params()["estimator__n_init"] == 1
    assert re.search(r"method='global_max'", repr(gap))


# --- a property over small data sets ------------------------------------------


@st.composite
def small_problems(draw):
    n = draw(st.integers(3, 14))
    # a coarse grid: duplicate points (W = 0, infinite gaps) are frequent
    X = draw(hnp.arrays(np.float64, (n, 2), elements=st.integers(-3, 3).map(float)))
    ks = draw(st.lists(st.integers(1, n), min_size=1, max_size=4, unique=True))
    return X, ks


# each example fits 4 data sets for up to 4 ks: fewer examples than the profile,
# unless a thorough profile is loaded
@settings(max_examples=max(25, settings.default.max_examples // 4))
@given(
    problem=small_problems(),
    statistic=st.sampled_from(["gap", "gap_star"]),
    method=st.sampled_from(_oracle.METHODS),
    reference=st.sampled_from(["pca", "uniform"]),
)
def test_property_fit_follows_the_spec(problem, statistic, method, reference):
    X, ks = problem
    gap = _ward(
        n_refs=3,
        n_clusters_range=ks,
        statistic=statistic,
        method=method,
        reference=reference,
    )
    if np.ptp(X, axis=0).max() == 0:
        with pytest.raises(ValueError, match="no spread"):
            gap.fit(X)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkgapWarning)  # fewer distinct clusters
        try:
            gap.fit(X)
        except ValueError as exc:
            # only when every value is NaN: every k is n_samples for the gap
            assert statistic == "gap" and ks == [X.shape[0]], exc
            assert "NaN" in str(exc)
            return
    results = gap.gap_results_
    assert_array_equal(results["n_clusters"], sorted(ks))
    expected = _oracle.gap_statistics(gap.dispersions_, gap.reference_dispersions_)
    for key in expected:
        assert_allclose(results[key], expected[key], rtol=1e-12, err_msg=key)
    values = results[statistic]
    se = results[STATISTICS[statistic]]
    position = _oracle.select(values, se, method)
    assert gap.n_clusters_ == sorted(ks)[position]
    assert not np.isnan(values[position])
    assert np.unique(gap.labels_).shape[0] <= gap.n_clusters_


# -- scan="forward": candidates in increasing k until the choice is final ----------


@pytest.mark.parametrize("method", ["tibshirani", "first_se_max", "first_max"])
@pytest.mark.parametrize("statistic", ["gap", "gap_star"])
@pytest.mark.parametrize(
    "data",
    [
        make_blobs(n_samples=200, centers=4, random_state=1)[0],
        make_blobs(n_samples=150, centers=2, n_features=3, random_state=3)[0],
        np.random.default_rng(0).uniform(size=(100, 2)),
    ],
    ids=["4 blobs", "2 blobs", "uniform"],
)
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_forward_scan_chooses_the_k_of_the_full_scan(data, method, statistic, n_jobs):
    params = dict(
        n_clusters_range=range(1, 9),
        n_refs=6,
        method=method,
        statistic=statistic,
        random_state=0,
        n_jobs=n_jobs,
    )
    full = GapKMeans(**params).fit(data)
    forward = GapKMeans(scan="forward", **params).fit(data)
    assert forward.n_clusters_ == full.n_clusters_
    m = len(forward.gap_results_["n_clusters"])
    assert forward.n_clusters_ in forward.gap_results_["n_clusters"]
    # the candidates computed are the first ones, with the full scan's values
    for key in ("n_clusters", "log_w", "gap", "se", "gap_star", "se_star"):
        assert_array_equal(forward.gap_results_[key], full.gap_results_[key][:m])
    assert_array_equal(
        forward.reference_dispersions_, full.reference_dispersions_[:, :m]
    )
    assert_array_equal(forward.labels_, full.labels_)


def test_forward_scan_skips_the_larger_candidates():
    X = make_blobs(n_samples=400, centers=4, random_state=1)[0]
    gap = GapKMeans(scan="forward", random_state=0).fit(X)
    assert gap.n_clusters_ == 4
    # k = 5 settles the rule at k = 4: 6..10 are never fitted
    assert_array_equal(gap.gap_results_["n_clusters"], [1, 2, 3, 4, 5])
    assert gap.reference_dispersions_.shape == (20, 5)


@pytest.mark.parametrize("method", ["global_max", "global_se_max"])
def test_forward_scan_refuses_global_rules(method):
    with pytest.raises(ValueError, match=r"scan='forward'.*every candidate"):
        GapKMeans(scan="forward", method=method).fit(_noise())


# --- n_refs="auto" ------------------------------------------------------------


def test_auto_n_refs_stops_early_on_clear_data():
    X, _ = _blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkgapWarning)
        gap = _fast(n_refs="auto").fit(X)
    assert gap.n_clusters_ == 3
    assert gap.n_refs_ == 10
    assert gap.reference_dispersions_.shape == (10, 6)
    assert gap.selection_frequencies_[2] == 1.0


@pytest.mark.parametrize(
    "data, params",
    [
        (_blobs()[0], {}),
        (_two_blobs(1.85), {}),
        (_two_blobs(1.85), {"max_n_refs": 25}),
        (_noise(), {"method": "global_max", "max_n_refs": 30}),
        (_two_blobs(0.97), {"statistic": "gap_star", "stability": 0.8}),
    ],
    ids=["blobs", "hesitant", "hesitant-max-25", "noise-global-max", "gap-star"],
)
def test_auto_n_refs_identical_to_a_fixed_fit_with_the_b_reached(data, params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkgapWarning)
        auto = _fast(n_refs="auto", **params).fit(data)
        again = _fast(n_refs="auto", **params).fit(data)
        fixed = _fast(n_refs=auto.n_refs_, **params).fit(data)
    _assert_identical_fits(auto, again)
    _assert_identical_fits(auto, fixed)
    # it stopped at the first B whose choice is stable enough, or at the max
    stability = params.get("stability", 0.95)
    frequency = auto.selection_frequencies_[
        list(auto.gap_results_["n_clusters"]).index(auto.n_clusters_)
    ]
    assert (frequency >= stability) or auto.n_refs_ == params.get("max_n_refs", 100)
    if auto.n_refs_ > 10:
        # the previous batch (10, 20, ..., then max_n_refs) was not stable
        before = _fast(n_refs=(auto.n_refs_ - 1) // 10 * 10, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SkgapWarning)
            before.fit(data)
        chosen = list(before.gap_results_["n_clusters"]).index(before.n_clusters_)
        assert before.selection_frequencies_[chosen] < stability


def test_auto_n_refs_hesitant_data_stop_at_max_and_warn():
    X = _two_blobs(1.85)
    with pytest.warns(
        SkgapWarning,
        match=r"n_refs='auto' reached max_n_refs=20 with the chosen k=1 in 90\.6% "
        r"of the resamples of the references, short of stability=0\.95",
    ):
        gap = _fast(n_refs="auto", max_n_refs=20).fit(X)
    assert gap.n_refs_ == 20
    assert gap.reference_dispersions_.shape == (20, 6)
    # a max that is not a multiple of the batch is reached exactly
    with pytest.warns(SkgapWarning, match="reached max_n_refs=15"):
        assert _fast(n_refs="auto", max_n_refs=15).fit(X).n_refs_ == 15


def test_auto_n_refs_never_exceeds_a_small_max():
    # max_n_refs below the first batch of 10
    with pytest.warns(SkgapWarning, match="reached max_n_refs=5"):
        gap = _fast(n_refs="auto", max_n_refs=5).fit(_two_blobs(1.85))
    assert gap.n_refs_ == 5
    assert gap.reference_dispersions_.shape == (5, 6)


def test_auto_n_refs_with_warm_start_reuses_fits(fits):
    X = _two_blobs(1.8)
    estimator = RecordingKMeans(n_init=1)
    params = dict(estimator=estimator, n_clusters_range=range(1, 5), max_n_refs=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkgapWarning)
        cold = _fast(n_refs="auto", **params).fit(X)
        gap = _fast(n_refs=10, warm_start=True, **params).fit(X)
        first_k = gap.n_clusters_
        fits.clear()
        gap.set_params(n_refs="auto").fit(X)
    assert cold.n_refs_ > 10  # more references were needed
    _assert_identical_fits(gap, cold)
    # only the new references were fitted (k = 2, 3, 4), and the chosen k
    # again if it changed (k = 1 too: best_estimator_ is a fitted clone)
    refit = int(gap.n_clusters_ != first_k)
    assert len(fits) == (gap.n_refs_ - 10) * 3 + refit
    # a refit with nothing new fits nothing
    fits.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkgapWarning)
        gap.fit(X)
    assert fits == []
    _assert_identical_fits(gap, cold)


@pytest.mark.parametrize("method", ["tibshirani", "first_max"])
def test_auto_n_refs_with_forward_scan(method):
    X = _two_blobs(1.85)
    params = dict(method=method, n_clusters_range=range(1, 9))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkgapWarning)
        forward = _fast(n_refs="auto", scan="forward", **params).fit(X)
        fixed = _fast(n_refs=forward.n_refs_, scan="forward", **params).fit(X)
        full = _fast(n_refs=forward.n_refs_, **params).fit(X)
    _assert_identical_fits(forward, fixed)
    assert forward.n_clusters_ == full.n_clusters_
    assert len(forward.gap_results_["n_clusters"]) < 8  # stopped early


# --- warm start: incremental refits give exactly the cold fit -----------------


@pytest.fixture
def warm_X():
    return make_blobs(
        n_samples=120, centers=3, n_features=2, cluster_std=0.5, random_state=0
    )[0]


def _warm(estimator=None, **params):
    defaults = dict(n_clusters_range=range(1, 5), n_refs=3, random_state=0)
    defaults.update(params)
    if estimator is None:
        estimator = RecordingKMeans(n_init=1)
    return GapKMeans(estimator, **defaults)


def test_more_refs_fits_only_new_draws(warm_X, fits):
    warm = _warm(warm_start=True).fit(warm_X)
    # (B + 1) data sets x the ks 2, 3, 4, and the chosen k again for
    # best_estimator_ (kept in the cache: the refit below keeps k = 3)
    assert len(fits) == 4 * 3 + 1
    fits.clear()
    warm.set_params(n_refs=6).fit(warm_X)
    assert len(fits) == 3 * 3  # 3 new draws x 3 ks
    assert {fit.k for fit in fits} == {2, 3, 4}
    cold = _warm(n_refs=6).fit(warm_X)
    _assert_identical_fits(warm, cold)


def test_wider_range_fits_only_new_ks(warm_X, fits):
    warm = _warm(warm_start=True).fit(warm_X)
    fits.clear()
    warm.set_params(n_clusters_range=range(1, 8)).fit(warm_X)
    assert sorted(fit.k for fit in fits) == sorted([5, 6, 7] * 4)
    cold = _warm(n_clusters_range=range(1, 8)).fit(warm_X)
    _assert_identical_fits(warm, cold)


def test_more_refs_and_ks_at_once(warm_X, fits):
    warm = _warm(warm_start=True, n_clusters_range=[1, 3, 4]).fit(warm_X)
    first_k = warm.n_clusters_
    fits.clear()
    warm.set_params(n_refs=5, n_clusters_range=[1, 2, 3, 4, 6]).fit(warm_X)
    # ks 2 and 6 on the 4 old data sets, every k > 1 on the 2 new draws, and
    # the chosen k on the data again if it is not the one fitted before
    assert len(fits) == 2 * 4 + 4 * 2 + (warm.n_clusters_ != first_k)
    cold = _warm(n_refs=5, n_clusters_range=[1, 2, 3, 4, 6]).fit(warm_X)
    _assert_identical_fits(warm, cold)


def test_narrower_refit_fits_nothing(warm_X, fits):
    warm = _warm(warm_start=True, n_refs=5, n_clusters_range=range(1, 7)).fit(warm_X)
    fits.clear()
    warm.set_params(n_refs=2, n_clusters_range=range(1, 4)).fit(warm_X)
    assert fits == []
    cold = _warm(n_refs=2, n_clusters_range=range(1, 4)).fit(warm_X)
    _assert_identical_fits(warm, cold)


def test_warm_start_in_parallel_matches_cold(warm_X, fits):
    warm = _warm(warm_start=True, n_jobs=2).fit(warm_X)
    warm.set_params(n_refs=5, n_clusters_range=range(1, 6)).fit(warm_X)
    cold = _warm(n_refs=5, n_clusters_range=range(1, 6)).fit(warm_X)
    _assert_identical_fits(warm, cold)


@pytest.mark.parametrize(
    "change",
    [
        {"power": 1.0},
        {"reference": "uniform"},
        {"random_state": 1},
        {"estimator": RecordingKMeans(n_init=2)},
    ],
    ids=["power", "reference", "random_state", "estimator"],
)
def test_changed_parameters_start_cold(warm_X, fits, change):
    warm = _warm(warm_start=True).fit(warm_X)
    fits.clear()
    warm.set_params(**change).fit(warm_X)
    n_warm = len(fits)
    fits.clear()
    cold = _warm(**change).fit(warm_X)
    assert n_warm == len(fits) >= 4 * 3
    _assert_identical_fits(warm, cold)


@pytest.mark.parametrize(
    "new_X",
    [
        lambda warm_X: warm_X + 1e-9,  # same shape and dtype, other values
        lambda warm_X: warm_X[:-1],  # other shape
        lambda warm_X: warm_X.astype(np.float32),  # other dtype
    ],
    ids=["values", "shape", "dtype"],
)
def test_other_data_start_cold(warm_X, fits, new_X):
    warm = _warm(warm_start=True).fit(warm_X)
    fits.clear()
    other = new_X(warm_X)
    warm.fit(other)
    assert len(fits) == 4 * 3 + 1
    cold = _warm().fit(other)
    _assert_identical_fits(warm, cold)


def test_without_warm_start_every_fit_runs(warm_X, fits):
    gap = _warm().fit(warm_X)
    fits.clear()
    gap.fit(warm_X)
    assert len(fits) == 4 * 3 + 1
    assert not hasattr(gap, "_warm_start_state_")


def test_turning_warm_start_off_drops_the_cache(warm_X):
    gap = _warm(warm_start=True).fit(warm_X)
    assert hasattr(gap, "_warm_start_state_")
    gap.set_params(warm_start=False).fit(warm_X)
    assert not hasattr(gap, "_warm_start_state_")


def test_random_state_none_reuses_previous_draws(warm_X, fits):
    warm = _warm(warm_start=True, random_state=None).fit(warm_X)
    first = warm.reference_dispersions_.copy()
    fits.clear()
    warm.set_params(n_refs=5).fit(warm_X)
    # two new reference data sets at k = 2, 3, 4 (the chosen k, random here,
    # may be fitted again on the data for best_estimator_)
    assert sum(fit.k > 1 and fit.first != warm_X[0, 0] for fit in fits) == 2 * 3
    np.testing.assert_array_equal(warm.reference_dispersions_[:3], first)


def test_chosen_k_of_one_is_kept(fits):
    warm_X = np.random.default_rng(0).random((200, 3))
    warm = _warm(warm_start=True, n_clusters_range=range(1, 4)).fit(warm_X)
    assert warm.n_clusters_ == 1
    fits.clear()
    warm.fit(warm_X)
    assert fits == []  # not even the k = 1 clone behind best_estimator_
    cold = _warm(n_clusters_range=range(1, 4)).fit(warm_X)
    _assert_identical_fits(warm, cold)


@pytest.mark.parametrize("engine", ["skgap", "sklearn"])
@pytest.mark.parametrize("refit", [{"n_refs": 12}, {}], ids=["more-refs", "same"])
def test_warm_refit_is_the_cold_fit_whatever_the_caller_did(warm_X, engine, refit):
    # issue #17: the cache handed out the same objects, mutated by the caller
    estimator = KMeans(n_init=1)
    gap = _warm(estimator, kmeans_engine=engine, warm_start=True).fit(warm_X)
    gap.labels_[:] = 0
    gap.best_estimator_.labels_[:] = 0
    gap.best_estimator_.cluster_centers_[:] = 0.0
    gap.set_params(**refit).fit(warm_X)
    cold = _warm(estimator, kmeans_engine=engine, **refit).fit(warm_X)
    assert_array_equal(gap.labels_, cold.labels_)
    assert_array_equal(gap.predict(warm_X), cold.predict(warm_X))
    assert_array_equal(
        gap.best_estimator_.cluster_centers_, cold.best_estimator_.cluster_centers_
    )
    assert len(np.unique(gap.labels_)) == gap.n_clusters_ == cold.n_clusters_


def test_no_new_public_attributes(warm_X):
    cold = _warm().fit(warm_X)
    warm = _warm(warm_start=True).fit(warm_X)
    public = {name for name in vars(warm) if not name.startswith("_")}
    assert public == {name for name in vars(cold) if not name.startswith("_")}


class ArrayParamKMeans(RecordingKMeans):
    """KMeans with an array parameter (unused by the fit, part of the key)."""

    def __init__(self, n_clusters=8, *, n_init=1, random_state=None, weights=None):
        super().__init__(
            n_clusters=n_clusters, n_init=n_init, random_state=random_state
        )
        self.weights = weights


def test_one_element_of_a_long_array_parameter_starts_cold(warm_X, fits):
    # numpy abbreviates the repr of arrays over 1,000 elements with "...": the
    # key compares their contents
    weights = np.zeros(5_000)
    gap = _warm(ArrayParamKMeans(n_init=1, weights=weights), warm_start=True).fit(
        warm_X
    )
    fits.clear()
    changed = weights.copy()
    changed[2_500] = 1.0
    gap.set_params(estimator=ArrayParamKMeans(n_init=1, weights=changed)).fit(warm_X)
    assert len(fits) >= 4 * 3  # everything fitted again
    fits.clear()
    gap.set_params(estimator=ArrayParamKMeans(n_init=1, weights=changed.copy()))
    gap.fit(warm_X)
    assert fits == []  # equal contents: reused


def test_a_changed_nested_estimator_starts_cold(warm_X, fits):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipeline = make_pipeline(StandardScaler(), RecordingKMeans(n_init=1))
    gap = _warm(pipeline, warm_start=True).fit(warm_X)
    fits.clear()
    gap.set_params(estimator__standardscaler__with_mean=False).fit(warm_X)
    assert len(fits) >= 4 * 3
    fits.clear()
    gap.fit(warm_X)
    assert fits == []


def test_callable_parameters_are_reused_only_when_the_same_object(warm_X, fits):
    def draw(warm_X, seed):
        return np.random.default_rng(seed).uniform(
            warm_X.min(0), warm_X.max(0), warm_X.shape
        )

    gap = _warm(reference=draw, warm_start=True).fit(warm_X)
    fits.clear()
    gap.fit(warm_X)
    assert fits == []  # the very same function

    def draw_again(warm_X, seed):  # equal code, another object: cannot be shown equal
        return np.random.default_rng(seed).uniform(
            warm_X.min(0), warm_X.max(0), warm_X.shape
        )

    gap.set_params(reference=draw_again).fit(warm_X)
    assert len(fits) >= 4 * 3


@pytest.mark.parametrize(
    "change",
    [
        {"metric": "cityblock", "metric_params": None},
        {"metric": "minkowski", "metric_params": {"p": 1}},
    ],
)
def test_warm_start_with_another_metric_starts_cold(change):
    X, _ = _small_blobs()
    params = dict(n_clusters_range=range(1, 5), n_refs=4, metric="minkowski")
    gap = _fast(warm_start=True, metric_params={"p": 3}, **params).fit(X)
    gap.set_params(**{**params, **change}).fit(X)
    cold = _fast(**{**params, **change}).fit(X)
    _assert_identical_fits(gap, cold)


def test_warm_start_with_other_weights_starts_cold(fits):
    X, weights = _weighted_data()
    gap = _weighted(RecordingKMeans(n_init=1), warm_start=True)
    gap.fit(X, sample_weight=weights)
    other = np.where(weights > 0, weights, 2)
    fits.clear()
    gap.fit(X, sample_weight=other)
    assert len(fits) == _n_fits(gap, X)  # every fit again
    cold = _weighted(RecordingKMeans(n_init=1)).fit(X, sample_weight=other)
    for key in cold.gap_results_:
        assert_array_equal(gap.gap_results_[key], cold.gap_results_[key])


def test_routing_warm_start_with_another_request_starts_cold(routing):
    X, weights = _weighted_data()
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


# --- sample weights -----------------------------------------------------------


@pytest.mark.parametrize("factor", [1e300, 1e-300])
def test_equal_extreme_weights_give_the_unweighted_result(factor):
    # issue #17: W_k of weights near the float limits would over/underflow
    X, _ = _blobs()
    unweighted = _fast().fit(X)
    gap = _fast().fit(X, sample_weight=np.full(len(X), factor))
    assert gap.n_clusters_ == unweighted.n_clusters_
    assert_allclose(gap.gap_results_["gap"], unweighted.gap_results_["gap"], rtol=1e-9)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_weights_reach_every_clusterer_fit(fits, n_jobs, threads_even_for_small_data):
    X, weights = _weighted_data()
    gap = _weighted(RecordingKMeans(n_init=1), n_jobs=n_jobs).fit(
        X, sample_weight=weights
    )
    assert gap.n_clusters_ == 3
    assert len(fits) == _n_fits(gap, X) == (5 + 1) * 3 + 1
    for fit in fits:
        assert fit.weights is not None
        assert_array_equal(fit.weights, weights)


@pytest.mark.parametrize(
    "params",
    [{}, {"power": 1.0}, {"metric": "cityblock"}, {"kmeans_engine": "sklearn"}],
    ids=["engine", "power-1", "cityblock", "sklearn-fits"],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weighted_dispersions_of_the_data_equal_repeated_rows(params, dtype):
    # the reference draws differ by design (one reference row per sample), so
    # only W_k of the data is compared, for the labels the fit returned
    X, weights = _weighted_data()
    X = X.astype(dtype)
    gap = _weighted(**params).fit(X, sample_weight=weights)
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
    gap = _weighted(**params).fit(X, sample_weight=weights)
    assert gap.dispersions_[3] == 0.0
    assert np.all(gap.dispersions_[:3] > 0)


def test_weights_change_the_engine_fit():
    X, weights = _weighted_data()
    weighted = _weighted().fit(X, sample_weight=weights)
    plain = _weighted().fit(X)
    assert not np.array_equal(weighted.dispersions_, plain.dispersions_)
    assert not np.array_equal(
        weighted.reference_dispersions_, plain.reference_dispersions_
    )
    # unit weights are no weights
    ones = _weighted().fit(X, sample_weight=np.ones(len(X)))
    for key in plain.gap_results_:
        assert_array_equal(ones.gap_results_[key], plain.gap_results_[key])


def test_reference_row_i_carries_weight_i():
    # a reference callable that always returns the same data set R: its W*_1
    # is W_1 of R weighted by the weights of X's samples, row by row
    X, weights = _weighted_data()
    R = np.random.RandomState(5).uniform(-10, 10, size=X.shape)

    def fixed(X, seed):
        return R

    gap = _weighted(reference=fixed).fit(X, sample_weight=weights)
    expected = within_cluster_dispersion(
        R, np.zeros(len(R), int), sample_weight=weights
    )
    assert_allclose(gap.reference_dispersions_[:, 0], expected, rtol=1e-12)
    assert expected != within_cluster_dispersion(R, np.zeros(len(R), int))


@pytest.mark.filterwarnings("ignore:GapKMeans.score:skgap.exceptions.SkgapWarning")
def test_weighted_fit_is_reproducible_and_fit_transform_consistent():
    X, weights = _weighted_data()
    a = _weighted().fit(X, sample_weight=weights)
    b = _weighted().fit(X, sample_weight=weights)
    for key in a.gap_results_:
        assert_array_equal(a.gap_results_[key], b.gap_results_[key])
    assert_array_equal(
        _weighted().fit_transform(X, sample_weight=weights), a.transform(X)
    )
    assert_array_equal(_weighted().fit_predict(X, sample_weight=weights), a.labels_)
    assert a.score(X, sample_weight=weights) == a.best_estimator_.score(
        X, sample_weight=weights
    )


# --- metadata routing ---------------------------------------------------------


def test_get_metadata_routing_is_a_router(routing):
    router = GapKMeans().get_metadata_routing()
    assert isinstance(router, MetadataRouter)
    # the default clusterer asks for the weights
    routed = router.route_params(params={"sample_weight": 1}, caller="fit")
    assert routed.estimator.fit == {"sample_weight": 1}


@pytest.mark.parametrize("in_pipeline", [False, True])
def test_routing_requested_weights_reach_the_clusterer(routing, fits, in_pipeline):
    X, weights = _weighted_data()
    estimator = RecordingKMeans(n_init=1).set_fit_request(sample_weight=True)
    if in_pipeline:
        scaler = StandardScaler().set_fit_request(sample_weight=True)
        estimator = make_pipeline(scaler, estimator)
    gap = _weighted(estimator).fit(X, sample_weight=weights)
    assert len(fits) == _n_fits(gap, X)
    for fit in fits:
        assert_array_equal(fit.weights, weights)


def test_routing_not_requested_the_clusterer_gets_none_but_w_is_weighted(routing, fits):
    X, weights = _weighted_data()
    estimator = RecordingKMeans(n_init=1).set_fit_request(sample_weight=False)
    gap = _weighted(estimator).fit(X, sample_weight=weights)
    assert len(fits) == _n_fits(gap, X)
    assert all(fit.weights is None for fit in fits)
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
    X, weights = _weighted_data(30)
    with pytest.raises(UnsetMetadataPassedError, match="RecordingKMeans.fit"):
        _weighted(RecordingKMeans(n_init=1)).fit(X, sample_weight=weights)


def test_routing_default_clusterer_same_fit_as_without_routing():
    X, weights = _weighted_data()
    plain = _weighted().fit(X, sample_weight=weights)
    with sklearn.config_context(enable_metadata_routing=True):
        routed = _weighted().fit(X, sample_weight=weights)
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


@pytest.mark.filterwarnings("ignore:GapKMeans.score:skgap.exceptions.SkgapWarning")
def test_grid_search_routes_weights(routing, fits):
    X, weights = _weighted_data()
    gap = (
        _weighted(RecordingKMeans(n_init=1).set_fit_request(sample_weight=True))
        .set_fit_request(sample_weight=True)
        .set_score_request(sample_weight=True)
    )
    search = GridSearchCV(gap, {"method": ["tibshirani", "global_max"]})
    search.fit(X, sample_weight=weights)
    assert search.best_params_["method"] in ("tibshirani", "global_max")
    assert hasattr(search.best_estimator_, "n_clusters_")
    # every fit of every fold received the weights of its training samples
    assert len(fits) > 10
    _assert_each_from([fit.weights for fit in fits], _fold_weights(weights))


@pytest.mark.filterwarnings("ignore:GapKMeans.score:skgap.exceptions.SkgapWarning")
def test_grid_search_without_routing(fits):
    X, weights = _weighted_data()
    search = GridSearchCV(
        _weighted(RecordingKMeans(n_init=1)), {"method": ["tibshirani", "global_max"]}
    )
    search.fit(X, sample_weight=weights)
    assert search.best_estimator_.n_clusters_ >= 1
    _assert_each_from([fit.weights for fit in fits], _fold_weights(weights))


# --- the clusterers it wraps --------------------------------------------------


CLUSTERERS = {
    "KMeans": KMeans(n_init=2),
    "MiniBatchKMeans": MiniBatchKMeans(n_init=2, batch_size=64),
    "BisectingKMeans": BisectingKMeans(n_init=2),
    "AgglomerativeClustering": AgglomerativeClustering(),
    "GaussianMixture": GaussianMixture(n_init=1),
    "Birch": Birch(threshold=0.3),
    "SpectralClustering": SpectralClustering(
        affinity="nearest_neighbors", n_neighbors=10
    ),
}
HAS_PREDICT = {
    "KMeans": True,
    "MiniBatchKMeans": True,
    "BisectingKMeans": True,
    "AgglomerativeClustering": False,
    "GaussianMixture": True,
    "Birch": True,
    "SpectralClustering": False,
}


@pytest.fixture(scope="module")
def three_blobs():
    X, y = make_blobs(
        n_samples=150, centers=[[0, 0], [8, 0], [0, 8]], cluster_std=0.8, random_state=0
    )
    return X, y


def _wrapping(estimator, **params):
    defaults = dict(n_clusters_range=range(1, 6), n_refs=5, random_state=0)
    defaults.update(params)
    return GapKMeans(estimator, **defaults)


@pytest.mark.parametrize("name", list(CLUSTERERS))
def test_clusterer_finds_three_blobs(three_blobs, name):
    X, y = three_blobs
    gap = _wrapping(clone(CLUSTERERS[name]))
    with warnings.catch_warnings():
        # spectral clustering of uniform references may warn about the graph
        warnings.simplefilter("ignore", UserWarning)
        labels = gap.fit_predict(X)
    assert gap.n_clusters_ == 3
    assert adjusted_rand_score(y, labels) == 1.0
    assert_array_equal(labels, gap.labels_)
    assert hasattr(gap, "predict") is HAS_PREDICT[name]
    if HAS_PREDICT[name]:
        assert adjusted_rand_score(gap.labels_, gap.predict(X)) == 1.0
    # W_k is computed from the labels, whatever the clusterer
    assert gap.dispersions_[2] == pytest.approx(
        within_cluster_dispersion(X, gap.labels_), rel=1e-12
    )
    param = "n_components" if name == "GaussianMixture" else "n_clusters"
    assert gap.best_estimator_.get_params()[param] == 3


def test_agglomerative_has_no_predict_transform_or_set_output(three_blobs):
    X, _ = three_blobs
    gap = _wrapping(AgglomerativeClustering())
    for name in ("predict", "set_output", "get_feature_names_out"):
        assert not hasattr(gap, name), name
    gap.fit(X)
    for name in (
        "predict",
        "transform",
        "cluster_centers_",
        "set_output",
        "get_feature_names_out",
    ):
        assert not hasattr(gap, name), name
    with pytest.raises(AttributeError):
        gap.predict(X)


@pytest.mark.filterwarnings("ignore:GapKMeans.score:skgap.exceptions.SkgapWarning")
def test_gaussian_mixture_delegation(three_blobs):
    X, _ = three_blobs
    gap = _wrapping(GaussianMixture()).fit(X)
    assert gap.best_estimator_.n_components == 3
    assert gap.score(X) == pytest.approx(gap.best_estimator_.score(X))
    assert not hasattr(gap, "transform")
    assert not hasattr(gap, "cluster_centers_")  # GaussianMixture has means_


def test_birch_delegation(three_blobs):
    X, _ = three_blobs
    gap = _wrapping(Birch(threshold=0.3)).fit(X)
    assert gap.transform(X).shape[0] == X.shape[0]
    assert not hasattr(gap, "score")


@pytest.mark.parametrize("name", list(CLUSTERERS))
def test_clusterer_on_noise_chooses_one(name):
    # k = 1 is chosen: the best estimator is then fitted with one cluster
    X = np.random.RandomState(0).uniform(size=(120, 2))
    gap = _wrapping(clone(CLUSTERERS[name]), n_clusters_range=range(1, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        gap.fit(X)
    assert gap.n_clusters_ == 1
    assert_array_equal(gap.labels_, 0)
    if HAS_PREDICT[name]:
        assert_array_equal(gap.predict(X[:7]), 0)


def test_pipeline_as_estimator(three_blobs):
    X, y = three_blobs
    pipe = Pipeline([("scale", StandardScaler()), ("kmeans", KMeans(n_init=2))])
    gap = _wrapping(pipe).fit(X)
    assert gap.n_clusters_ == 3
    assert gap.best_estimator_.named_steps["kmeans"].n_clusters == 3
    assert adjusted_rand_score(y, gap.labels_) == 1.0
    assert_array_equal(gap.predict(X), gap.labels_)
    # the nested random_state of the pipeline is seeded too
    assert isinstance(gap.best_estimator_.named_steps["kmeans"].random_state, int)
    # the user's pipeline is untouched
    assert pipe.named_steps["kmeans"].n_clusters == 8
    assert not hasattr(pipe.named_steps["kmeans"], "labels_")


def test_pipeline_with_gaussian_mixture_nested_n_components(three_blobs):
    X, _ = three_blobs
    pipe = make_pipeline(StandardScaler(), GaussianMixture())
    gap = _wrapping(pipe).fit(X)
    assert gap.best_estimator_[-1].n_components == 3


def test_pipeline_with_pca_and_gaussian_mixture(three_blobs):
    # both steps have n_components: the final step is the clusterer
    from sklearn.decomposition import PCA

    X, _ = three_blobs
    pipe = make_pipeline(StandardScaler(), PCA(n_components=2), GaussianMixture())
    gap = _wrapping(pipe).fit(X)
    assert gap.n_clusters_ == 3
    assert gap.best_estimator_[-1].n_components == 3
    assert gap.best_estimator_[1].n_components == 2


def test_pipeline_sets_the_final_step(three_blobs):
    X, _ = three_blobs
    pipe = Pipeline([("a", KMeans(n_clusters=5, n_init=1)), ("b", KMeans(n_init=2))])
    gap = _wrapping(pipe).fit(X)
    assert gap.best_estimator_.named_steps["b"].n_clusters == gap.n_clusters_
    assert gap.best_estimator_.named_steps["a"].n_clusters == 5


class TwoClusterers(BaseEstimator):
    def __init__(self, first=None, second=None):
        self.first = first
        self.second = second

    def fit(self, X, y=None):
        self.labels_ = self.second.fit_predict(X)
        return self


def test_two_nested_clusterers_are_ambiguous(three_blobs):
    X, _ = three_blobs
    with pytest.raises(ValueError, match="several nested parameters"):
        _wrapping(TwoClusterers(KMeans(), KMeans())).fit(X)


class DuckKMeans:
    """A clusterer that is no scikit-learn estimator: only the methods needed."""

    def __init__(self, n_clusters=2, random_state=None):
        self.n_clusters = n_clusters
        self.random_state = random_state

    def get_params(self, deep=True):
        return {"n_clusters": self.n_clusters, "random_state": self.random_state}

    def set_params(self, **params):
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def fit(self, X, y=None):
        self.kmeans_ = KMeans(self.n_clusters, n_init=3, random_state=self.random_state)
        self.labels_ = self.kmeans_.fit(X).labels_
        return self

    def predict(self, X):
        return self.kmeans_.predict(X)


def test_duck_typed_clusterer_works(three_blobs):
    X, _ = three_blobs
    gap = _wrapping(DuckKMeans(), n_clusters_range=[1, 2, 3, 4], n_refs=3).fit(X)
    assert gap.n_clusters_ == 3
    assert_array_equal(gap.predict(X), gap.labels_)
    assert not gap.__sklearn_tags__().input_tags.sparse


# --- GridSearchCV and Pipeline around it --------------------------------------


def test_grid_search_over_method_and_statistic(three_blobs):
    X, y = three_blobs
    gap = _wrapping(KMeans(n_init=1), n_refs=3, n_clusters_range=range(1, 5))
    search = GridSearchCV(
        gap,
        {"method": ["tibshirani", "global_max"], "statistic": ["gap", "gap_star"]},
        scoring="adjusted_rand_score",
        cv=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkgapWarning)  # scoring= scores by labels
        search.fit(X, y)
    assert set(search.cv_results_["param_method"]) == {"tibshirani", "global_max"}
    assert len(search.cv_results_["mean_test_score"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_score_ == pytest.approx(1.0)
    assert search.best_estimator_.n_clusters_ == 3
    assert search.predict(X).shape == (X.shape[0],)


def test_grid_search_by_score_warns_that_it_rewards_more_clusters():
    X = StandardScaler().fit_transform(_table_data()["wine"])
    search = GridSearchCV(
        GapKMeans(n_refs=5, random_state=0), {"method": ["tibshirani", "global_max"]}
    )
    with pytest.warns(SkgapWarning, match=r"Pass scoring= with known labels"):
        search.fit(X)
    # -inertia: the rule with more clusters wins
    assert search.best_params_["method"] == "global_max"


def test_gap_kmeans_inside_pipeline(three_blobs):
    X, y = three_blobs
    pipe = make_pipeline(StandardScaler(), _wrapping(KMeans(n_init=2)))
    labels = pipe.fit_predict(X)
    assert pipe[-1].n_clusters_ == 3
    assert adjusted_rand_score(y, labels) == 1.0
    assert_array_equal(pipe.predict(X), labels)
    # set_params through the pipeline reaches the gap parameters
    pipe.set_params(gapkmeans__n_clusters_range=[1, 2])
    pipe.fit(X)
    assert_array_equal(pipe[-1].gap_results_["n_clusters"], [1, 2])


# --- metric and metric_params -----------------------------------------------


def _rays(n_samples=120):
    """Three blobs in three directions: clusters of angle, for cosine."""
    return make_blobs(
        n_samples=n_samples,
        centers=[[10, 0], [0, 10], [-10, 0]],
        random_state=0,
    )[0]


def _cosine_agglomerative(**params):
    return _fast(
        estimator=AgglomerativeClustering(metric="cosine", linkage="average"),
        metric="cosine",
        method="global_se_max",
        n_clusters_range=range(1, 6),
        n_refs=5,
        **params,
    )


def test_metric_cosine_with_cosine_agglomerative_clustering():
    X = _rays()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkgapWarning)
        gap = _cosine_agglomerative().fit(X)
    assert gap.n_clusters_ == 3
    # W_k of the data: the cosine dispersion of the clusterer's labels at every k
    for position, k in enumerate(gap.gap_results_["n_clusters"]):
        labels = AgglomerativeClustering(
            n_clusters=int(k), metric="cosine", linkage="average"
        ).fit_predict(X)
        assert_allclose(
            gap.dispersions_[position],
            within_cluster_dispersion(X, labels, metric="cosine"),
            rtol=1e-12,
        )
    # the Euclidean dispersions are other numbers
    euclidean = _fast(
        estimator=AgglomerativeClustering(metric="cosine", linkage="average"),
        method="global_se_max",
        n_clusters_range=range(1, 6),
        n_refs=5,
    ).fit(X)
    assert not np.allclose(euclidean.dispersions_, gap.dispersions_)


@pytest.mark.parametrize(
    "estimator, params",
    [
        (AgglomerativeClustering(metric="cosine", linkage="average"), {}),
        (KMeans(n_init=1), {"kmeans_engine": "sklearn"}),
    ],
    ids=["agglomerative", "sklearn-kmeans"],
)
def test_metric_deterministic_clusterer_not_reported_non_deterministic(
    estimator, params
):
    gap = _fast(
        estimator=estimator,
        metric="cosine",
        method="global_se_max",
        n_clusters_range=range(1, 6),
        n_refs=5,
        **params,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkgapWarning)
        gap.fit(_rays())
    assert gap.n_clusters_ > 1


@pytest.mark.parametrize("kmeans_engine", ["skgap", "sklearn"])
def test_metric_cosine_with_the_default_clusterer(kmeans_engine):
    X = _rays()
    gap = GapKMeans(
        metric="cosine",
        method="global_se_max",
        n_clusters_range=range(1, 6),
        n_refs=5,
        random_state=0,
        kmeans_engine=kmeans_engine,
    ).fit(X)
    ks = list(gap.gap_results_["n_clusters"])
    assert_allclose(
        gap.dispersions_[ks.index(gap.n_clusters_)],
        within_cluster_dispersion(X, gap.labels_, metric="cosine"),
        rtol=1e-12,
    )
    assert_allclose(
        gap.dispersions_[ks.index(1)],
        within_cluster_dispersion(X, np.zeros(len(X), int), metric="cosine"),
        rtol=1e-12,
    )


def test_metric_params_and_power_reach_the_dispersions():
    X, _ = _small_blobs()
    gap = _fast(
        metric="minkowski",
        metric_params={"p": 3},
        power=1.5,
        n_clusters_range=range(1, 5),
        n_refs=4,
    ).fit(X)
    ks = list(gap.gap_results_["n_clusters"])
    for k in (1, gap.n_clusters_):
        labels = np.zeros(len(X), int) if k == 1 else gap.labels_
        assert_allclose(
            gap.dispersions_[ks.index(k)],
            within_cluster_dispersion(
                X, labels, metric="minkowski", metric_params={"p": 3}, power=1.5
            ),
            rtol=1e-12,
        )


def test_metric_callable():
    X, _ = _small_blobs()

    def chebyshev(u, v):
        return float(np.max(np.abs(u - v)))

    gap = _fast(metric=chebyshev, n_clusters_range=range(1, 5), n_refs=3).fit(X)
    named = _fast(metric="chebyshev", n_clusters_range=range(1, 5), n_refs=3).fit(X)
    assert_allclose(gap.dispersions_, named.dispersions_, rtol=1e-12)
    assert_allclose(
        gap.reference_dispersions_, named.reference_dispersions_, rtol=1e-12
    )


def test_metric_nan_distances_fail_the_fit_naming_the_metric():
    X, _ = _small_blobs()
    X[4] = 2.0  # a constant sample: its correlation distances are NaN
    with pytest.raises(ValueError, match=r"metric 'correlation' gave NaN"):
        _fast(metric="correlation", n_clusters_range=range(1, 4), n_refs=3).fit(X)


# --- set_output and get_feature_names_out -------------------------------------


def test_get_feature_names_out_names_the_distances():
    X, _ = _small_blobs()
    gap = _fast(n_clusters_range=range(1, 5), n_refs=4).fit(X)
    names = gap.get_feature_names_out()
    assert gap.n_clusters_ == 3
    assert_array_equal(names, ["gapkmeans0", "gapkmeans1", "gapkmeans2"])
    assert gap.transform(X).shape == (90, len(names))


def test_set_output_pandas():
    pd = pytest.importorskip("pandas")
    X, _ = _small_blobs()
    frame = pd.DataFrame(X, columns=["a", "b"])
    gap = _fast(n_clusters_range=range(1, 5), n_refs=4).set_output(transform="pandas")
    out = gap.fit_transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["gapkmeans0", "gapkmeans1", "gapkmeans2"]
    assert_array_equal(out.index, frame.index)
    assert_allclose(out.to_numpy(), gap.best_estimator_.transform(X))
    assert isinstance(gap.transform(frame), pd.DataFrame)
    # kept by clone; "default" goes back to arrays
    assert isinstance(clone(gap).fit(X).transform(X), pd.DataFrame)
    assert isinstance(gap.set_output(transform="default").transform(frame), np.ndarray)


def test_set_output_pandas_in_a_pipeline():
    pd = pytest.importorskip("pandas")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, _ = _small_blobs()
    pipeline = make_pipeline(
        StandardScaler(), _fast(n_clusters_range=range(1, 5), n_refs=4)
    ).set_output(transform="pandas")
    out = pipeline.fit_transform(X)
    assert isinstance(out, pd.DataFrame)
    n_clusters = pipeline[-1].n_clusters_
    assert list(out.columns) == [f"gapkmeans{i}" for i in range(n_clusters)]
    assert_array_equal(
        pipeline.get_feature_names_out(), [f"gapkmeans{i}" for i in range(n_clusters)]
    )


# --- warnings about the result ----------------------------------------------------


def test_warns_when_the_largest_candidate_is_chosen():
    X = make_blobs(n_samples=300, centers=6, cluster_std=0.3, random_state=0)[0]
    with pytest.warns(
        SkgapWarning,
        match=r"The chosen k=3 is the largest candidate.*range\(1, 7\)",
    ):
        gap = _fast(n_clusters_range=range(1, 4)).fit(X)
    assert gap.n_clusters_ == 3


def _standardised_iris():
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler

    return StandardScaler().fit_transform(load_iris().data)


@pytest.mark.parametrize(
    "data",
    [
        lambda: _blobs()[0],
        lambda: make_blobs(n_samples=500, centers=4, random_state=1)[0],
        _standardised_iris,
    ],
    ids=["blobs-3", "blobs-4", "iris"],
)
@pytest.mark.parametrize("random_state", [0, 1])
def test_no_warning_on_clean_data_with_the_default_estimator(data, random_state):
    X = data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkgapWarning)
        gap = GapKMeans(random_state=random_state).fit(X)
    assert 1 < gap.n_clusters_ < 10


# --- rule_choices_ -------------------------------------------------------------


@pytest.mark.parametrize("se_factor", [1.0, 0.5])
def test_rule_choices_are_each_rule_on_the_fit(se_factor):
    X = _two_blobs(1.85)
    gap = _fast(se_factor=se_factor, statistic="gap_star").fit(X)
    ks = gap.gap_results_["n_clusters"]
    assert set(gap.rule_choices_) == {"gap", "gap_star"}
    for statistic, se_key in STATISTICS.items():
        assert set(gap.rule_choices_[statistic]) == set(_oracle.METHODS)
        for method in _oracle.METHODS:
            position = select_k(
                gap.gap_results_[statistic],
                gap.gap_results_[se_key],
                method=method,
                se_factor=se_factor,
            )
            chosen = gap.rule_choices_[statistic][method]
            assert chosen == ks[position]
            assert type(chosen) is int
    # the estimator's own choice is its statistic's and rule's
    assert gap.rule_choices_["gap_star"]["tibshirani"] == gap.n_clusters_


def test_rule_choices_differ_between_rules_where_the_curve_says_so():
    # uniform noise: the default rule says 1, the global maximum is elsewhere
    gap = _fast(n_refs=10).fit(_noise())
    ks, values = gap.gap_results_["n_clusters"], gap.gap_results_["gap"]
    assert gap.n_clusters_ == 1
    assert gap.rule_choices_["gap"]["tibshirani"] == 1
    assert gap.rule_choices_["gap"]["global_max"] == ks[np.argmax(values)] != 1


_FOUR_BLOBS = make_blobs(n_samples=400, centers=4, random_state=1)[0]


@pytest.mark.parametrize(
    "data, method, statistic",
    [
        (_FOUR_BLOBS, "tibshirani", "gap"),
        (_FOUR_BLOBS, "first_max", "gap_star"),
        (_two_blobs(1.85), "first_se_max", "gap"),
    ],
    ids=["blobs-4", "blobs-4-gap-star", "hesitant"],
)
def test_rule_choices_after_a_forward_scan(data, method, statistic):
    params = dict(method=method, statistic=statistic, random_state=0)
    forward = GapKMeans(scan="forward", **params).fit(data)
    full = GapKMeans(**params).fit(data)
    assert len(forward.gap_results_["n_clusters"]) < 10
    for stat in ("gap", "gap_star"):
        assert forward.rule_choices_[stat]["global_max"] is None
        assert forward.rule_choices_[stat]["global_se_max"] is None
        for rule in FORWARD_RULES:
            chosen = forward.rule_choices_[stat][rule]
            if chosen is not None:
                assert chosen == full.rule_choices_[stat][rule]
    # the estimator's own rule is settled
    assert forward.rule_choices_[statistic][method] == forward.n_clusters_
    assert forward.n_clusters_ == full.n_clusters_


# --- resamples of the data (n_bootstrap) -------------------------------------------


def _table_data():
    """The data sets of issue #19's table, where the data's sampling matters."""
    from sklearn.datasets import load_iris, load_wine

    return {
        "blobs-std-2.5": make_blobs(300, centers=3, cluster_std=2.5, random_state=2)[0],
        "iris": StandardScaler().fit_transform(load_iris().data),
        "wine": StandardScaler().fit_transform(load_wine().data),
        "4-blobs": make_blobs(400, centers=4, random_state=1)[0],
    }


@pytest.mark.parametrize("name", list(_table_data()))
def test_bootstrap_frequencies_match_brute_force_resampling(name):
    # Brute force: GapKMeans refitted from scratch on 40 resamples of the data
    # rows, the references drawn anew from the data's own null (that of the
    # resample would shrink with the extremes it lacks).
    from skgap._reference import make_reference_sampler

    X = _table_data()[name]
    n_resamples = 40
    gap = GapKMeans(random_state=0, n_bootstrap=n_resamples).fit(X)
    sampler = make_reference_sampler("pca", X)
    rng = np.random.default_rng(0)
    brute = np.zeros(len(gap.gap_results_["n_clusters"]))
    for r in range(n_resamples):
        rows = rng.integers(0, len(X), len(X))
        refit = GapKMeans(random_state=r, reference=lambda _, s: sampler.sample(s))
        brute[refit.fit(X[rows]).n_clusters_ - 1] += 1 / n_resamples
    frequencies = gap.selection_frequencies_
    assert np.argmax(frequencies) == np.argmax(brute)
    assert 0.5 * np.abs(frequencies - brute).sum() <= 0.25, (frequencies, brute)
    assert gap.selection_resamples_ == "the data and the references"


def test_bootstrap_sees_what_reference_resamples_miss():
    # Issue #19's blobs: the references alone say k=2 always; the data hesitate
    X = _table_data()["blobs-std-2.5"]
    alone = GapKMeans(random_state=0).fit(X)
    assert alone.selection_frequencies_[1] == 1.0
    assert alone.selection_resamples_ == "the references"
    both = GapKMeans(random_state=0, n_bootstrap=40).fit(X)
    assert both.n_clusters_ == alone.n_clusters_ == 2  # the choice itself stays
    assert 0 < both.selection_frequencies_[0] < both.selection_frequencies_[1] < 1
    assert both.selection_frequencies_.sum() == pytest.approx(1.0)
    assert_array_equal(both.gap_results_["gap"], alone.gap_results_["gap"])


def test_bootstrap_costs_one_data_set_of_fits_per_resample(fits):
    X, _ = _blobs()
    params = dict(n_clusters_range=range(1, 5), n_refs=5, random_state=0)
    GapKMeans(RecordingKMeans(n_init=1), n_bootstrap=7, **params).fit(X)
    # (1 data + 5 references + 7 resamples) x the 3 ks that need a fit, + the
    # chosen k fitted again
    assert len(fits) == (1 + 5 + 7) * 3 + 1


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_bootstrap_is_reproducible_for_every_n_jobs(
    n_jobs, threads_even_for_small_data
):
    X = _table_data()["iris"]
    serial = GapKMeans(random_state=3, n_bootstrap=20).fit(X)
    gap = GapKMeans(random_state=3, n_bootstrap=20, n_jobs=n_jobs).fit(X)
    assert_array_equal(gap.selection_frequencies_, serial.selection_frequencies_)
    assert_array_equal(
        gap.gap_results_["selection_frequency"], serial.selection_frequencies_
    )


def test_bootstrap_warm_start_adds_resamples_only(fits):
    X, _ = _blobs()
    gap = GapKMeans(
        RecordingKMeans(n_init=1),
        n_clusters_range=range(1, 4),
        n_refs=4,
        random_state=0,
        warm_start=True,
        n_bootstrap=2,
    ).fit(X)
    fits.clear()
    gap.set_params(n_bootstrap=5).fit(X)
    assert len(fits) == 3 * 2  # 3 new resamples x the 2 ks that need a fit
    cold = clone(gap).set_params(warm_start=False).fit(X)
    assert_array_equal(gap.selection_frequencies_, cold.selection_frequencies_)


def test_bootstrap_with_a_forward_scan_covers_the_candidates_computed():
    X, _ = _blobs()
    gap = GapKMeans(random_state=0, scan="forward", n_bootstrap=10).fit(X)
    computed = len(gap.gap_results_["n_clusters"])
    assert gap.selection_frequencies_.shape == (computed,)
    assert gap.selection_frequencies_.sum() == pytest.approx(1.0)
