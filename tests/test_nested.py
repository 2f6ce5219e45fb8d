"""Tests of the one-tree fits of the clusterers that nest over k (skgap/_nested.py)."""

import warnings

import numpy as np
import pytest
import scipy.cluster.hierarchy
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.cluster import AgglomerativeClustering, Birch, BisectingKMeans, KMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import pairwise_distances
from sklearn.neighbors import kneighbors_graph
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgap import _nested, within_cluster_dispersion
from skgap._nested import check_tree_memory, nested_fitter, tree_bytes
from skgap.exceptions import InvalidInputError

KS = list(range(1, 11))
LINKAGES = ["ward", "complete", "average", "single"]


def _blobs_with_ties(n_samples=120, seed=0):
    """Blobs rounded to one decimal, with a block of exact duplicates."""
    X, _ = make_blobs(n_samples, n_features=3, centers=4, random_state=seed)
    X = np.round(X, 1)
    X[10:25] = X[0]
    return X


def _uniform_reference(X, seed=1):
    """A uniform draw in the bounding box of X, as skgap's references."""
    rng = np.random.default_rng(seed)
    return rng.uniform(X.min(axis=0), X.max(axis=0), size=X.shape)


def _grid_with_ties():
    """Points of an integer grid, each twice: every distance ties with many."""
    grid = np.array([[i, j] for i in range(6) for j in range(6)], dtype=float)
    return np.concatenate([grid, grid])


DATA = {
    "blobs with ties": _blobs_with_ties,
    "uniform reference": lambda: _uniform_reference(_blobs_with_ties()),
    "integer grid twice": _grid_with_ties,
}


def _per_k_labels(estimator, X, ks):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # connectivity completed
        return [clone(estimator).set_params(n_clusters=k).fit(X).labels_ for k in ks]


def _nested_labels(estimator, X, ks):
    fitter = nested_fitter(estimator, "n_clusters")
    assert fitter is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fitter.fit_labels(X, ks)


def _assert_same_fits(estimator, X, ks):
    """The one-tree labels are those of the per-k fits, and so are the W_k."""
    expected = _per_k_labels(estimator, X, ks)
    labels = _nested_labels(estimator, X, ks)
    assert len(labels) == len(ks)
    for k, got, want in zip(ks, labels, expected, strict=True):
        assert got.dtype == np.intp
        assert_array_equal(got, want, err_msg=f"k={k}")
        assert_allclose(
            within_cluster_dispersion(X, got),
            within_cluster_dispersion(X, want),
            rtol=1e-12,
        )


def _knn_graph(X):
    return kneighbors_graph(X, n_neighbors=4, include_self=False)


# ------------------------------------------------------------ AgglomerativeClustering


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("linkage", LINKAGES)
@pytest.mark.parametrize("connectivity", [None, "matrix", "callable"])
def test_agglomerative_cut_is_the_per_k_fits(data, linkage, connectivity):
    X = DATA[data]()
    if connectivity == "matrix":
        connectivity = _knn_graph(X)  # several components: completed by sklearn
    elif connectivity == "callable":
        connectivity = _knn_graph
    estimator = AgglomerativeClustering(linkage=linkage, connectivity=connectivity)
    _assert_same_fits(estimator, X, KS)


@pytest.mark.parametrize(
    "linkage, metric",
    [
        ("complete", "cosine"),
        ("average", "manhattan"),
        ("average", "l1"),
        ("single", "l2"),
        ("single", "cosine"),  # through scipy's linkage, not the spanning tree
        ("complete", pairwise_distances),  # a callable metric
    ],
)
def test_agglomerative_metrics(linkage, metric):
    X = _blobs_with_ties() + 20.0  # away from 0 for the cosine
    estimator = AgglomerativeClustering(linkage=linkage, metric=metric)
    _assert_same_fits(estimator, X, KS)


@pytest.mark.parametrize("linkage", ["complete", "average", "single"])
def test_agglomerative_precomputed(linkage):
    X = _blobs_with_ties()
    D = pairwise_distances(X)
    estimator = AgglomerativeClustering(linkage=linkage, metric="precomputed")
    _assert_same_fits(estimator, D, KS)


@pytest.mark.parametrize("linkage", LINKAGES)
@pytest.mark.parametrize("compute_full_tree", ["auto", False, True])
def test_agglomerative_early_stopped_trees(linkage, compute_full_tree):
    # With a connectivity graph, a fit at k stops the tree early when asked
    # (False) or for k >= 100 ("auto"): the same partitions as the full tree's
    # cut, numbered by their root node instead of _hc_cut's heap.
    X = _blobs_with_ties(n_samples=160)
    estimator = AgglomerativeClustering(
        linkage=linkage,
        connectivity=_knn_graph(X),
        compute_full_tree=compute_full_tree,
    )
    _assert_same_fits(estimator, X, [1, 2, 5, 9, 99, 100, 140, 159])


def test_agglomerative_ks_in_any_order_and_repeated():
    X = _blobs_with_ties()
    estimator = AgglomerativeClustering(linkage="average")
    _assert_same_fits(estimator, X, [7, 2, 7, 1, 10])


def test_agglomerative_float32_and_read_only():
    X = _blobs_with_ties().astype(np.float32)
    X.flags.writeable = False
    _assert_same_fits(AgglomerativeClustering(), X, KS)


def test_agglomerative_more_clusters_than_samples():
    X = _grid_with_ties()[:5]
    fitter = nested_fitter(AgglomerativeClustering(), "n_clusters")
    with pytest.raises(ValueError, match="Cannot extract more clusters than samples"):
        fitter.fit_labels(X, [2, 6])


def _assert_same_fitted(got, want):
    assert set(vars(got)) == set(vars(want))
    for name, value in vars(want).items():
        if isinstance(value, np.ndarray):
            assert_array_equal(getattr(got, name), value, err_msg=name)
        elif name != "connectivity":
            assert getattr(got, name) == value, name
    assert got.get_params()["n_clusters"] == want.get_params()["n_clusters"]


@pytest.mark.parametrize("linkage", LINKAGES)
@pytest.mark.parametrize("with_tree", [True, False])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"compute_distances": True},
        {"connectivity": "graph", "compute_distances": True},
        {"connectivity": "graph", "compute_full_tree": False},
    ],
)
def test_agglomerative_best_estimator(linkage, with_tree, params):
    X = _blobs_with_ties()
    if params.get("connectivity") == "graph":
        params = {**params, "connectivity": _knn_graph}
    estimator = AgglomerativeClustering(linkage=linkage, **params)
    fitter = nested_fitter(estimator, "n_clusters")
    k = 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tree = fitter.fit_tree(X) if with_tree else None
        got = fitter.best_estimator(X, k, tree=tree)
        want = clone(estimator).set_params(n_clusters=k).fit(X)
    _assert_same_fitted(got, want)
    assert got.get_params() == want.get_params()
    if tree is not None:  # the tree is not changed by it
        assert tree.n_clusters == 1
        assert_array_equal(tree.labels_, np.zeros(X.shape[0]))


def test_agglomerative_sample_weight_as_per_k_fits():
    X = _blobs_with_ties()
    weights = np.ones(X.shape[0])
    estimator = AgglomerativeClustering()
    assert nested_fitter(estimator, "n_clusters", sample_weight=weights) is None
    fitter = nested_fitter(estimator, "n_clusters")
    with pytest.raises(TypeError, match="sample_weight"):
        clone(estimator).fit(X, sample_weight=weights)
    with pytest.raises(TypeError, match="sample_weight"):
        fitter.fit_labels(X, KS, sample_weight=weights)


# ------------------------------------------------------------------------------ Birch


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("threshold", [0.3, 1.0])
def test_birch_global_step_is_the_per_k_fits(data, threshold):
    X = DATA[data]()
    estimator = Birch(threshold=threshold, branching_factor=10)
    _assert_same_fits(estimator, X, KS)


def test_birch_fewer_subclusters_than_k():
    # A per-k fit warns and labels by subcluster: so does the one-tree path.
    X = _grid_with_ties()
    estimator = Birch(threshold=2.0)
    n_subclusters = clone(estimator).set_params(n_clusters=None).fit(X)
    n_subclusters = n_subclusters.subcluster_centers_.shape[0]
    ks = [1, n_subclusters, n_subclusters + 1, n_subclusters + 3]
    with pytest.warns(ConvergenceWarning, match="Decrease the threshold"):
        expected = [
            clone(estimator).set_params(n_clusters=k).fit(X).labels_ for k in ks
        ]
    fitter = nested_fitter(estimator, "n_clusters")
    with pytest.warns(ConvergenceWarning, match="Decrease the threshold") as record:
        labels = fitter.fit_labels(X, ks)
    assert len(record) == 2
    for got, want in zip(labels, expected, strict=True):
        assert_array_equal(got, want)


def test_birch_one_subcluster():
    # A per-k fit at k=1 fails on one subcluster (AgglomerativeClustering on
    # one sample); skgap never fits k=1, and the one-tree path gives one cluster.
    X = _grid_with_ties()
    estimator = Birch(threshold=10.0)
    with pytest.raises(ValueError, match="minimum of 2"):
        clone(estimator).set_params(n_clusters=1).fit(X)
    fitter = nested_fitter(estimator, "n_clusters")
    with pytest.warns(ConvergenceWarning, match="Decrease the threshold"):
        labels = fitter.fit_labels(X, [1, 2])
    assert_array_equal(labels[0], np.zeros(X.shape[0]))
    assert_array_equal(labels[1], np.zeros(X.shape[0]))


@pytest.mark.parametrize("with_tree", [True, False])
def test_birch_best_estimator(with_tree):
    X = _blobs_with_ties()
    estimator = Birch(threshold=0.5, branching_factor=8)
    fitter = nested_fitter(estimator, "n_clusters")
    tree = fitter.fit_tree(X) if with_tree else None
    got = fitter.best_estimator(X, 4, tree=tree)
    want = clone(estimator).set_params(n_clusters=4).fit(X)
    assert set(vars(got)) == set(vars(want))
    for name in (
        "labels_",
        "subcluster_labels_",
        "subcluster_centers_",
        "_subcluster_norms",
    ):
        assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    assert got.n_clusters == 4
    assert_array_equal(got.predict(X), want.predict(X))
    assert_array_equal(got.root_.centroids_, want.root_.centroids_)
    if tree is not None:
        assert tree.n_clusters is None
        assert_array_equal(
            tree.subcluster_labels_, np.arange(tree.subcluster_centers_.shape[0])
        )


# ----------------------------------------------------------------- what does not nest


@pytest.mark.parametrize(
    "estimator, param",
    [
        (
            AgglomerativeClustering(n_clusters=None, distance_threshold=1.0),
            "n_clusters",
        ),
        (AgglomerativeClustering(), "n_components"),
        (Birch(compute_labels=False), "n_clusters"),
        (KMeans(), "n_clusters"),
        (BisectingKMeans(), "n_clusters"),
        (make_pipeline(StandardScaler(), AgglomerativeClustering()), "n_clusters"),
        (
            make_pipeline(StandardScaler(), AgglomerativeClustering()),
            "agglomerativeclustering__n_clusters",
        ),
        (type("Sub", (AgglomerativeClustering,), {})(), "n_clusters"),
    ],
)
def test_not_nested(estimator, param):
    assert nested_fitter(estimator, param) is None


def test_bisecting_kmeans_nests_only_under_one_seed():
    # Under one random_state, the bisections of a fit at k are the first k - 1
    # of a fit at K, so its clusters are unions of the K clusters. skgap seeds
    # each k on its own (a per-k fit is what its results are), so
    # nested_fitter leaves BisectingKMeans to the per-k fits.
    X, _ = make_blobs(300, n_features=3, centers=6, random_state=0)
    big = BisectingKMeans(n_clusters=8, random_state=3).fit(X).labels_
    for k in range(2, 8):
        small = BisectingKMeans(n_clusters=k, random_state=3).fit(X).labels_
        # every cluster of the K fit lies within one cluster of the k fit
        pairs = np.unique(np.column_stack([big, small]), axis=0)
        assert len(np.unique(pairs[:, 0])) == len(pairs), k
        assert len(np.unique(small)) == k


# ------------------------------------------------------------------------- the memory


def test_tree_bytes():
    n = 1_000
    pairs = n * (n - 1) // 2
    assert tree_bytes(n, AgglomerativeClustering()) == 17 * pairs
    assert tree_bytes(n, AgglomerativeClustering(linkage="average")) == 17 * pairs
    assert tree_bytes(n, AgglomerativeClustering(linkage="single")) == 0
    assert tree_bytes(n, AgglomerativeClustering(linkage="single", metric="l1")) == 0
    assert tree_bytes(
        n, AgglomerativeClustering(linkage="single", metric="cosine")
    ) == (17 * pairs)
    assert tree_bytes(
        n, AgglomerativeClustering(linkage="average", metric="precomputed")
    ) == (33 * pairs)
    assert tree_bytes(
        n, AgglomerativeClustering(linkage="average", metric=pairwise_distances)
    ) == (40 * pairs)
    assert tree_bytes(n, AgglomerativeClustering(connectivity=_knn_graph)) == 0
    assert tree_bytes(n, Birch()) == 0
    assert tree_bytes(n, KMeans()) == 0
    # about 40 GB at 100,000 rows, as issue 18 says (pdist alone)
    assert tree_bytes(100_000, AgglomerativeClustering()) / 17 * 8 == pytest.approx(
        40e9, rel=0.01
    )


def test_available_memory():
    available = _nested.available_memory()
    assert available is None or available > 0


def test_check_tree_memory_message(monkeypatch):
    monkeypatch.setattr(_nested, "available_memory", lambda: 16e9)
    check_tree_memory(20_000, AgglomerativeClustering())  # 3.4 GB < 8 GB
    with pytest.raises(InvalidInputError) as info:
        check_tree_memory(100_000, AgglomerativeClustering())
    message = str(info.value)
    for text in (
        "linkage='ward'",
        "100000 samples",
        "85.0 GB per tree",
        "50% of the memory available (16.0 GB)",
        "connectivity",
        "subsample",
        "KMeans",
    ):
        assert text in message
    with pytest.raises(InvalidInputError, match="3 fitted at a time: 10.2 GB"):
        check_tree_memory(20_000, AgglomerativeClustering(), n_concurrent=3)
    monkeypatch.setattr(_nested, "MEMORY_FRACTION", 0.1)
    with pytest.raises(InvalidInputError, match="10% of the memory"):
        check_tree_memory(20_000, AgglomerativeClustering())
    # no quadratic memory, or nothing known: no check
    check_tree_memory(10**6, AgglomerativeClustering(linkage="single"))
    check_tree_memory(10**6, AgglomerativeClustering(connectivity=_knn_graph))
    monkeypatch.setattr(_nested, "available_memory", lambda: None)
    check_tree_memory(10**6, AgglomerativeClustering())


def test_too_large_tree_refused_before_allocating(monkeypatch):
    def linkage(*args, **kwargs):
        raise AssertionError("the tree was built")

    monkeypatch.setattr(scipy.cluster.hierarchy, "linkage", linkage)
    monkeypatch.setattr(scipy.cluster.hierarchy, "ward", linkage)
    monkeypatch.setattr(_nested, "available_memory", lambda: 1000)
    X = _blobs_with_ties()
    fitter = nested_fitter(AgglomerativeClustering(linkage="average"), "n_clusters")
    with pytest.raises(InvalidInputError, match="without a connectivity graph"):
        fitter.fit_labels(X, KS)
    with pytest.raises(InvalidInputError, match="without a connectivity graph"):
        fitter.fit_tree(X)
    # a connectivity graph is the way out
    fitter = nested_fitter(
        AgglomerativeClustering(linkage="average", connectivity=_knn_graph),
        "n_clusters",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert len(fitter.fit_labels(X, KS)) == len(KS)
