"""skgap's compiled k-means engine (skgap/_engine.py, skgap/_kmeans_fast.pyx).

Its iterations against a literal NumPy Lloyd (tests/_oracle.py), its corner
cases, its quality against scikit-learn's KMeans, its results on every
instruction set, who gets it, and the fitted KMeans it hands back.
"""

import pickle

import _engine_fixture
import _oracle
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from skgap import GapKMeans, within_cluster_dispersion
from skgap._engine import EngineSettings, engine_fit, engine_labels, engine_settings
from skgap._kmeans_fast import _use_simd, lloyd, simd

SETTINGS = EngineSettings(n_init=3, max_iter=300, tol=1e-4)


def _fit(X, ks, seed=0, sample_weight=None, settings=SETTINGS):
    seeds = [seed + k for k in ks]
    return engine_fit(
        X, sample_weight, ks, seeds, settings, dispersion=True, labels=True
    )


def _lloyd(X, centers, max_iter=300, tol=0.0, sample_weight=None):
    centers = np.array(centers, dtype=np.float64)
    labels = np.empty(X.shape[0], dtype=np.intc)
    n_iter = lloyd(X, sample_weight, centers, labels, max_iter, tol)
    return centers, labels, n_iter


def _random_case(rng):
    n = int(rng.integers(5, 200))
    p = int(rng.integers(1, 7))
    k = int(rng.integers(2, min(n, 9) + 1))
    X = rng.normal(size=(n, p)) + rng.integers(0, 3, size=(n, 1)) * 3.0
    return X, X[rng.choice(n, k, replace=False)]


@pytest.mark.parametrize("seed", range(40))
def test_lloyd_matches_the_oracle(seed):
    rng = np.random.default_rng(seed)
    X, initial = _random_case(rng)
    tol = [0.0, 1e-4 * X.var(axis=0).mean()][seed % 2]
    weights = rng.uniform(0.1, 3.0, X.shape[0]) if seed % 3 == 0 else None
    expected = _oracle.lloyd(X, initial, 300, tol, weights)
    centers, labels, n_iter = _lloyd(X, initial, tol=tol, sample_weight=weights)
    assert_array_equal(labels, expected[1])
    assert_allclose(centers, expected[0], rtol=1e-10, atol=1e-12)
    assert n_iter == expected[2]


@pytest.mark.parametrize("max_iter", [1, 2, 3])
def test_lloyd_stops_at_max_iter(max_iter):
    X, _ = make_blobs(n_samples=200, centers=6, cluster_std=3.0, random_state=0)
    initial = X[:6]
    expected = _oracle.lloyd(X, initial, max_iter, 0.0)
    centers, labels, n_iter = _lloyd(X, initial, max_iter=max_iter)
    assert n_iter == max_iter
    assert_array_equal(labels, expected[1])
    assert_allclose(centers, expected[0], rtol=1e-12)


def test_empty_cluster_is_relocated_as_the_oracle():
    # the third centre is far from every sample: its cluster is empty at once
    X, _ = make_blobs(n_samples=60, centers=2, random_state=0)
    initial = np.vstack([X[0], X[1], [1e3, 1e3]])
    expected = _oracle.lloyd(X, initial, 300, 0.0)
    centers, labels, _ = _lloyd(X, initial)
    assert_array_equal(labels, expected[1])
    assert_allclose(centers, expected[0], rtol=1e-12)
    assert np.unique(labels).size == 3  # relocated: every cluster has samples


@pytest.mark.parametrize("scale", [1e-25, 1.0, 1e30, 1e150])
def test_bounds_kept_as_floats_change_nothing_at_any_scale(scale):
    # Hamerly's lower bounds are floats rounded down and clamped to
    # [0, FLT_MAX]: they skip less, never wrongly, at scales where the
    # distances underflow or overflow a float. Two centres far from every
    # sample: two empty clusters relocated, the farthest samples first.
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(150, 3)) + rng.integers(0, 3, size=(150, 1)) * 4.0) * scale
    initial = np.vstack([X[:4], [[1e3 * scale] * 3, [-1e3 * scale] * 3]])
    expected = _oracle.lloyd(X, initial, 300, 0.0)
    centers, labels, n_iter = _lloyd(X, initial)
    assert_array_equal(labels, expected[1])
    assert_allclose(centers, expected[0], rtol=1e-10)
    assert n_iter == expected[2]
    assert np.unique(labels).size == 6
    fit = _fit(X, [1, 3, 6])
    assert_array_equal(fit.labels[1], _fit(X / scale, [1, 3, 6]).labels[1])


def test_float32_is_computed_in_double():
    rng = np.random.default_rng(0)
    X32 = (1e4 + rng.normal(size=(300, 3))).astype(np.float32)  # large offset
    X64 = X32.astype(np.float64)
    initial = X64[:4]
    centers32, labels32, _ = _lloyd(X32, initial)
    centers64, labels64, _ = _lloyd(X64, initial)
    assert_array_equal(labels32, labels64)
    assert_allclose(centers32, centers64, rtol=1e-14)
    fit32 = _fit(X32, [2, 3, 4])
    fit64 = _fit(X64, [2, 3, 4])
    assert_allclose(fit32.dispersion, fit64.dispersion, rtol=1e-12)


def test_integer_weights_are_repeated_rows():
    rng = np.random.default_rng(1)
    X, _ = make_blobs(n_samples=80, centers=3, random_state=1)
    weights = rng.integers(1, 4, size=80).astype(float)
    initial = X[:3]
    centers, labels, n_iter = _lloyd(X, initial, sample_weight=weights)
    repeated = np.repeat(X, weights.astype(int), axis=0)
    centers_r, labels_r, n_iter_r = _lloyd(repeated, initial)
    assert_allclose(centers, centers_r, rtol=1e-12)
    assert_array_equal(np.repeat(labels, weights.astype(int)), labels_r)
    assert n_iter == n_iter_r


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dispersion_and_labels_of_the_best_start(dtype):
    X = make_blobs(n_samples=300, centers=4, n_features=3, random_state=2)[0]
    X = X.astype(dtype)
    ks = [1, 2, 3, 5, 8]
    fit = _fit(X, ks)
    for q, k in enumerate(ks):
        labels = fit.labels[q]
        assert_allclose(
            fit.dispersion[q], within_cluster_dispersion(X, labels), rtol=1e-10
        )
        # the centres alone give the labels back (the engine's final assignment)
        assert_array_equal(engine_labels(X, fit.centers[q]), labels)
        assert fit.n_distinct[q] == np.unique(labels).size == k
        assert_allclose(
            fit.inertia[q],
            ((X.astype(np.float64) - fit.centers[q][labels]) ** 2).sum(),
            rtol=1e-10,
        )


def test_k_equals_n_samples():
    X = make_blobs(n_samples=12, centers=3, random_state=0)[0]
    fit = _fit(X, [12])
    assert fit.dispersion[0] == 0.0
    assert fit.n_distinct[0] == 12


def test_duplicate_points_give_fewer_distinct_clusters():
    X = np.repeat([[0.0, 0.0], [3.0, 1.0], [1.0, 4.0]], 7, axis=0)
    fit = _fit(X, [2, 3, 4, 6])
    assert_array_equal(fit.n_distinct, [2, 3, 3, 3])
    assert_array_equal(fit.dispersion[1:], 0.0)


def test_one_feature():
    X = np.r_[np.zeros(30), np.full(30, 10.0), np.full(30, 20.0)][:, None]
    X = X + np.random.default_rng(0).normal(scale=0.1, size=X.shape)
    fit = _fit(X, [3])
    assert np.unique(fit.labels[0][:30]).size == 1
    assert_allclose(np.sort(fit.centers[0][:, 0]), [0, 10, 20], atol=0.1)


def test_read_only_input_is_not_written():
    X = make_blobs(n_samples=100, centers=3, random_state=0)[0]
    X.flags.writeable = False
    before = X.copy()
    _fit(X, [2, 3])
    assert_array_equal(X, before)


def test_same_seed_same_result_and_seeds_matter():
    X = make_blobs(n_samples=200, centers=5, cluster_std=2.0, random_state=0)[0]
    a, b = _fit(X, [6], seed=3), _fit(X, [6], seed=3)
    assert_array_equal(a.labels, b.labels)
    assert_array_equal(a.centers[0], b.centers[0])
    starts = {tuple(_fit(X, [6], seed=s).inertia) for s in range(8)}
    assert len(starts) > 1  # different seeds, different starts


def test_same_bits_as_the_fixture():
    """The engine's outputs on 400 seeded cases are those stored in the fixture.

    A change of the engine that should not change its results (a rewrite, an
    optimisation) must keep every bit; regenerate tests/data/engine_fixture.npz
    with ``python tests/_engine_fixture.py`` only for an intended change.
    """
    stored = np.load(_engine_fixture.PATH)
    digests = stored["digests"]
    assert len(digests) == _engine_fixture.N_CASES
    differ = []
    for index, case in enumerate(_engine_fixture.cases()):
        result = _engine_fixture.outputs(index, case)
        if index < _engine_fixture.N_RAW:  # the raw outputs name what differs
            for name, array in result.items():
                expected = stored[f"{index}/{name}"]
                assert array.dtype == expected.dtype  # (strict=: NumPy >= 1.24)
                assert_array_equal(array, expected)
        if _engine_fixture.digest(result) != digests[index]:
            differ.append(index)
    assert not differ, f"cases {differ} differ from the fixture"


def test_every_instruction_set_gives_the_same_bits():
    X = make_blobs(n_samples=500, centers=4, n_features=5, random_state=0)[0]
    X32 = X.astype(np.float32)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, X.shape[0])
    chosen = simd()
    results = {}
    try:
        for name in ("avx512f", "avx2", "sse2", "baseline"):
            if _use_simd(name):
                results[name] = [
                    _fit(data, [2, 5, 9], sample_weight=w)
                    for data in (X, X32)
                    for w in (None, weights)
                ]
    finally:
        assert _use_simd(chosen)
    assert results, "no instruction set could be selected"
    first = next(iter(results.values()))
    for fits in results.values():
        for fit, expected in zip(fits, first, strict=True):
            assert_array_equal(fit.labels, expected.labels)
            assert_array_equal(fit.inertia, expected.inertia)
            assert_array_equal(fit.dispersion, expected.dispersion)


@pytest.mark.parametrize(
    "data",
    [
        make_blobs(n_samples=1000, centers=4, random_state=0)[0],
        make_blobs(n_samples=2000, n_features=5, centers=6, random_state=1)[0],
        np.random.default_rng(0).uniform(size=(500, 3)),
    ],
    ids=["blobs-2d", "blobs-5d", "uniform-3d"],
)
def test_as_good_as_scikit_learn(data):
    """The mean inertia over ks and 20 seeds is not 0.5 % worse than KMeans'.

    (Each k alone varies by a few % between the local optima that 20 seeds
    reach; benchmarks/accuracy.py compares many more fits.)
    """
    ks = list(range(2, 9))
    seeds = range(20)
    engine = np.mean([_fit(data, ks, seed=100 * s).inertia for s in seeds], axis=0)
    sklearn = np.mean(
        [
            [KMeans(k, n_init=3, random_state=s).fit(data).inertia_ for k in ks]
            for s in seeds
        ],
        axis=0,
    )
    assert 0.98 < np.mean(engine / sklearn) < 1.005


# -- who gets the engine -----------------------------------------------------


@pytest.mark.parametrize(
    "estimator, n_init",
    [(KMeans(), 1), (KMeans(n_init=7), 7), (KMeans(n_init="auto"), 1)],
)
def test_plain_kmeans_runs_on_the_engine(estimator, n_init):
    settings = engine_settings(estimator)
    assert settings == EngineSettings(n_init=n_init, max_iter=300, tol=1e-4)


class MyKMeans(KMeans):
    pass


@pytest.mark.parametrize(
    "estimator",
    [
        MyKMeans(),
        KMeans(init="random"),
        KMeans(init=np.zeros((2, 2)), n_init=1),
        KMeans(init=lambda X, k, random_state: X[:k]),
        KMeans(algorithm="elkan"),
        KMeans(verbose=1),
    ],
    ids=["subclass", "random", "array", "callable", "elkan", "verbose"],
)
def test_other_kmeans_run_as_given(estimator):
    assert engine_settings(estimator) is None


def test_kmeans_engine_sklearn_runs_scikit_learns_fits(monkeypatch):
    fits = []
    original = KMeans.fit

    def counting_fit(self, *args, **kwargs):
        fits.append(self.n_clusters)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(KMeans, "fit", counting_fit)
    X = make_blobs(n_samples=60, centers=3, random_state=0)[0]
    params = dict(n_clusters_range=[1, 2, 3], n_refs=2, random_state=0)
    GapKMeans(**params).fit(X)
    assert len(fits) == 1  # only best_estimator_
    fits.clear()
    GapKMeans(kmeans_engine="sklearn", **params).fit(X)
    assert len(fits) == 3 * 2 + 1


# -- the fitted KMeans ---------------------------------------------------------


@pytest.fixture(scope="module")
def fitted():
    X = make_blobs(n_samples=400, centers=4, random_state=1)[0]
    return X, GapKMeans(random_state=0).fit(X)


@pytest.mark.filterwarnings("ignore:GapKMeans.score:skgap.exceptions.SkgapWarning")
def test_best_estimator_is_a_fitted_kmeans(fitted):
    X, gap = fitted
    best = gap.best_estimator_
    assert type(best) is KMeans
    assert best.get_params()["n_init"] == 3 and best.get_params()["init"] == "k-means++"
    assert best.n_clusters == gap.n_clusters_ == best.cluster_centers_.shape[0]
    assert_array_equal(gap.labels_, best.labels_)
    assert_array_equal(best.predict(X), gap.labels_)
    assert_array_equal(gap.predict(X), gap.labels_)
    assert best.n_iter_ >= 1
    position = list(gap.gap_results_["n_clusters"]).index(gap.n_clusters_)
    assert_allclose(
        within_cluster_dispersion(X, gap.labels_), gap.dispersions_[position]
    )
    assert_allclose(best.inertia_, gap.dispersions_[position], rtol=1e-6)
    assert_allclose(-gap.score(X), best.inertia_, rtol=1e-10)
    assert gap.transform(X).shape == (X.shape[0], gap.n_clusters_)
    restored = pickle.loads(pickle.dumps(gap))
    assert_array_equal(restored.predict(X), gap.labels_)
    assert_array_equal(clone(best).get_params()["n_init"], 3)
