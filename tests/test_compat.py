"""Tests of skgap.compat.OptimalK against gap-stat 2.0.3's documented usage."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans, MeanShift
from sklearn.datasets import make_blobs

from skgap import GapKMeans
from skgap.compat import OptimalK
from skgap.exceptions import SkgapWarning

pd = pytest.importorskip("pandas")

GAP_STAT_COLUMNS = [
    "n_clusters",
    "gap_value",
    "ref_dispersion_std",
    "sk",
    "gap*",
    "sk*",
    "diff",
    "diff*",
]


@pytest.fixture(scope="module")
def blobs():
    X, _ = make_blobs(n_samples=300, n_features=2, centers=3, random_state=25)
    return X


def test_readme_usage(blobs):
    """gap-stat's README/notebook: construct, call with cluster_array, read gap_df."""
    optimalK = OptimalK(parallel_backend="joblib", random_state=0)
    n_clusters = optimalK(blobs, cluster_array=np.arange(1, 8))
    assert isinstance(n_clusters, int)
    assert n_clusters == 3 == optimalK.n_clusters
    assert list(optimalK.gap_df.columns[:8]) == GAP_STAT_COLUMNS
    assert_array_equal(optimalK.gap_df["n_clusters"], np.arange(1, 8))
    assert repr(optimalK) == 'OptimalK(n_jobs=-1, parallel_backend="joblib")'
    assert str(optimalK) == repr(optimalK)
    assert optimalK._repr_html_() == f"<p>{optimalK}</p>"


def test_gap_df_is_skgap_computed_correctly(blobs):
    optimalK = OptimalK(parallel_backend=None, random_state=0)
    optimalK(blobs, n_refs=5, cluster_array=range(1, 6))
    gap = GapKMeans(
        n_clusters_range=range(1, 6), n_refs=5, reference="uniform", random_state=0
    ).fit(blobs)
    df = optimalK.gap_df
    results = gap.gap_results_
    assert_allclose(df["gap_value"], results["gap"])
    assert_allclose(df["sk"], results["se"])
    assert_allclose(df["gap*"], results["gap_star"])
    assert_allclose(df["diff"], results["diff"])
    assert_allclose(df["diff*"], results["diff_star"])
    W_star = gap.reference_dispersions_
    B = W_star.shape[0]
    # gap-stat's ref_dispersion_std: the spread of the W*_kb (ddof 0)
    assert_allclose(df["ref_dispersion_std"], W_star.std(axis=0))
    # sk*: that spread about the reference mean, scaled as sk (not about W_k)
    assert_allclose(df["sk*"], W_star.std(axis=0) * np.sqrt(1 + 1 / B))
    wrong_sk_star = np.sqrt(np.mean((W_star - gap.dispersions_) ** 2, axis=0))
    assert np.all(df["sk*"].to_numpy() < wrong_sk_star * np.sqrt(1 + 1 / B))


def test_choice_is_tibshirani_not_argmax():
    """gap-stat took argmax(gap); the default here is Tibshirani's rule."""
    X, _ = make_blobs(n_samples=300, centers=4, random_state=1)
    tibshirani = OptimalK(parallel_backend=None, random_state=0)
    k = tibshirani(X, n_refs=10, cluster_array=range(1, 11))
    gap = tibshirani.gap_df["gap_value"].to_numpy()
    se = tibshirani.gap_df["sk"].to_numpy()
    first = int(np.flatnonzero(gap[:-1] >= gap[1:] - se[1:])[0])
    assert k == first + 1
    argmax = OptimalK(parallel_backend=None, random_state=0, method="global_max")
    assert argmax(X, n_refs=10, cluster_array=range(1, 11)) == int(np.argmax(gap)) + 1


@pytest.mark.parametrize(
    "backend, n_jobs", [("joblib", 1), (None, 1), ("joblib", 2), ("joblib", 0)]
)
def test_backends_give_the_same_result(blobs, backend, n_jobs):
    """gap-stat's test_optimalk, with a seed and an exact assertion."""
    optimalK = OptimalK(parallel_backend=backend, n_jobs=n_jobs, random_state=3)
    assert optimalK(blobs, n_refs=3, cluster_array=np.arange(1, 10)) == 3
    reference = OptimalK(parallel_backend=None, random_state=3)
    reference(blobs, n_refs=3, cluster_array=np.arange(1, 10))
    pd.testing.assert_frame_equal(optimalK.gap_df, reference.gap_df)


def test_multiprocessing_backend(blobs):
    optimalK = OptimalK(parallel_backend="multiprocessing", n_jobs=2, random_state=3)
    optimalK(blobs, n_refs=3, cluster_array=[1, 2, 3, 4])
    reference = OptimalK(parallel_backend=None, random_state=3)
    reference(blobs, n_refs=3, cluster_array=[1, 2, 3, 4])
    pd.testing.assert_frame_equal(optimalK.gap_df, reference.gap_df)


def test_seeded_runs_repeat(blobs):
    first = OptimalK(random_state=1)
    first(blobs, cluster_array=range(1, 6))
    second = OptimalK(random_state=1)
    second(blobs, cluster_array=range(1, 6))
    pd.testing.assert_frame_equal(first.gap_df, second.gap_df)


@pytest.mark.parametrize("ClusterModel", [KMeans, MeanShift])
def test_alternative_clustering_method(ClusterModel):
    """gap-stat's test_alternative_clusting_method, with kwargs passed through."""

    def clusterer(X, k, another_test_arg):
        m = ClusterModel()
        m.fit(X)
        assert another_test_arg == "test"  # a failure would fail the fit
        return m.cluster_centers_, m.predict(X)

    optimalk = OptimalK(
        n_jobs=-1,
        parallel_backend="joblib",
        clusterer=clusterer,
        clusterer_kwargs={"another_test_arg": "test"},
        random_state=0,
    )
    X, _ = make_blobs(n_samples=50, n_features=2, centers=3, random_state=0)
    # gap-stat's test clusterer ignores k: skgap says so, and still answers
    with pytest.warns(SkgapWarning, match="clusters than"):
        n_clusters = optimalk(X, n_refs=3, cluster_array=np.arange(1, 5))
    assert isinstance(n_clusters, int)


def test_custom_clusterer_with_a_seed_parameter_is_seeded(blobs):
    """A clusterer taking random_state gets one seed per fit: reproducible."""

    def kmeans(X, k, random_state=None):
        model = KMeans(n_clusters=k, n_init=1, random_state=random_state).fit(X)
        return model.cluster_centers_, model.labels_

    runs = []
    for _ in range(2):
        optimalK = OptimalK(parallel_backend=None, clusterer=kmeans, random_state=5)
        optimalK(blobs, n_refs=4, cluster_array=range(1, 6))
        runs.append(optimalK.gap_df)
    pd.testing.assert_frame_equal(*runs)


def test_only_labels_are_used():
    """W_k comes from the labels, whatever centroids the clusterer returns."""
    X = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 4.0]])

    def clusterer(X, k):
        return None, (X[:, 0] > X[:, 0].mean()).astype(int)

    optimalK = OptimalK(parallel_backend=None, clusterer=clusterer, random_state=0)
    optimalK(X, n_refs=2, cluster_array=[2])
    assert_allclose(optimalK.estimator_.dispersions_, [10.0])


def test_bad_clusterer_return_value(blobs):
    optimalK = OptimalK(parallel_backend=None, clusterer=lambda X, k: 3)
    with pytest.raises(Exception, match=r"must return a tuple \(centroids, labels\)"):
        optimalK(blobs, cluster_array=[1, 2])


def test_bad_init_config():
    """gap-stat: a user clusterer cannot use the 'rust' backend."""
    optimalK = OptimalK(parallel_backend="rust", clusterer=lambda x, k: None)
    with pytest.raises(ValueError, match="Cannot use 'rust' backend"):
        optimalK(np.zeros((5, 2)), cluster_array=[1, 2])


def test_rust_backend_runs_skgap(blobs):
    optimalK = OptimalK(parallel_backend="rust", random_state=0)
    assert optimalK(blobs, cluster_array=range(1, 6)) == 3


def test_cluster_array_values_error(blobs):
    optimalK = OptimalK(parallel_backend=None, n_jobs=-1)
    with pytest.raises(ValueError, match="cluster_array contains values less than 1"):
        optimalK(blobs, cluster_array=[0, -1, 1, 2, 3])


def test_cluster_array_empty_error(blobs):
    optimalK = OptimalK(parallel_backend=None, n_jobs=-1)
    with pytest.raises(ValueError, match="The supplied cluster_array has no values."):
        optimalK(blobs, cluster_array=[])


def test_cluster_array_larger_than_data():
    """gap-stat compared the number of ks with n; skgap checks each k."""
    X, _ = make_blobs(n_samples=5, n_features=2, centers=3, random_state=0)
    optimalK = OptimalK(parallel_backend=None, random_state=0)
    with pytest.warns(SkgapWarning, match=r"Dropped .*\[6, 7, 8, 9\]"):
        optimalK(X, cluster_array=np.arange(1, 10))
    assert_array_equal(optimalK.gap_df["n_clusters"], [1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="larger than n_samples=5"):
        optimalK(X, cluster_array=[6, 7])


def test_dataframe_input(blobs):
    frame = pd.DataFrame(blobs, columns=["a", "b"])
    optimalK = OptimalK(parallel_backend=None, random_state=0)
    assert optimalK(frame, cluster_array=range(1, 5)) == 3


def test_n_iter_is_ignored_with_a_warning(blobs):
    optimalK = OptimalK(parallel_backend=None, n_iter=50, random_state=0)
    with pytest.warns(SkgapWarning, match="n_iter is ignored"):
        optimalK(blobs, cluster_array=[1, 2])


def test_gap_df_before_call():
    assert OptimalK().gap_df is None
    with pytest.raises(ValueError, match="call the OptimalK instance"):
        OptimalK().plot_results()


def test_plot_results_is_one_figure(pyplot, blobs, monkeypatch):
    monkeypatch.setattr(pyplot, "show", lambda: pytest.fail("plt.show() called"))
    optimalK = OptimalK(parallel_backend=None, random_state=0)
    optimalK(blobs, cluster_array=range(1, 6))
    display = optimalK.plot_results()
    assert len(pyplot.get_fignums()) == 1
    assert display.ax_.shape == (3, 2)  # kind='all': five panels
    line = display.errorbar_.lines[0]
    assert_allclose(line.get_ydata(), optimalK.gap_df["gap_value"])
