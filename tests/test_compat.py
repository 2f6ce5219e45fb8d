"""Tests of skgap.compat.OptimalK: gap-stat 2.0.3's behaviour, skgap's numbers.

The first group checks, in tests of our own, each behaviour that gap-stat's
``tests/test_optimalK.py`` checks; the second is written the way gap-stat's
clients write their code (issue 20, points 3-10).
"""

import os
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans, MeanShift
from sklearn.datasets import make_blobs

from skgap import GapKMeans
from skgap.compat import OptimalK
from skgap.exceptions import InvalidInputError, SkgapWarning

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

# The default choice (the largest gap) warns when Tibshirani's rule differs.
pytestmark = pytest.mark.filterwarnings("ignore:OptimalK chose k=:UserWarning")


@pytest.fixture(scope="module")
def blobs():
    X, _ = make_blobs(n_samples=120, n_features=2, centers=3, random_state=25)
    return X


def kmeans_clusterer(X, k, random_state=None):
    """A gap-stat clusterer: (centroids, labels)."""
    model = KMeans(n_clusters=k, n_init=1, random_state=random_state).fit(X)
    return model.cluster_centers_, model.labels_


def tibshirani_warnings(record):
    return [w for w in record if 'method="tibshirani"' in str(w.message)]


# ------------------------------------------------ what gap-stat's own tests check


def test_rust_backend_refuses_a_clusterer_at_construction():
    with pytest.raises(ValueError, match="Cannot use 'rust' backend"):
        OptimalK(parallel_backend="rust", clusterer=kmeans_clusterer)
    # the other backends take it
    OptimalK(parallel_backend="joblib", clusterer=kmeans_clusterer)


@pytest.mark.parametrize("ClusterModel", [KMeans, MeanShift])
def test_clusterer_receives_its_kwargs(ClusterModel):
    received = []

    def clusterer(X, k, tag):
        received.append(tag)
        model = ClusterModel().fit(X)
        return model.cluster_centers_, model.predict(X)

    optimalK = OptimalK(
        parallel_backend=None,
        clusterer=clusterer,
        clusterer_kwargs={"tag": "passed"},
        random_state=0,
    )
    X, _ = make_blobs(n_samples=50, centers=3, random_state=0)
    n_clusters = optimalK(X, n_refs=3, cluster_array=np.arange(1, 5))
    assert type(n_clusters) is int
    assert n_clusters in range(1, 5)
    # 4 ks x (3 references + the data)
    assert received == ["passed"] * 16


@pytest.mark.parametrize("backend, n_jobs", [("joblib", 1), (None, 1), ("rust", 1)])
def test_backends_find_three_blobs(backend, n_jobs):
    X, _ = make_blobs(n_samples=1000, n_features=2, centers=3, random_state=7)
    optimalK = OptimalK(parallel_backend=backend, n_jobs=n_jobs, random_state=0)
    assert optimalK(X, n_refs=3, cluster_array=np.arange(1, 10)) == 3
    reference = OptimalK(parallel_backend=None, random_state=0)
    reference(X, n_refs=3, cluster_array=np.arange(1, 10))
    pd.testing.assert_frame_equal(optimalK.gap_df, reference.gap_df)


def test_more_candidates_than_samples_is_gap_stats_error():
    X, _ = make_blobs(n_samples=5, centers=3, random_state=0)
    optimalK = OptimalK(parallel_backend=None, n_jobs=-1)
    with pytest.raises(ValueError) as info:
        optimalK(X, cluster_array=np.arange(1, 10))
    assert str(info.value) == (
        "The number of suggested clusters to try (9) is larger than samples in "
        "dataset. (5)"
    )
    assert optimalK.gap_df is None


def test_values_below_one_are_gap_stats_error(blobs):
    optimalK = OptimalK(parallel_backend=None, n_jobs=-1)
    with pytest.raises(ValueError) as info:
        optimalK(blobs, cluster_array=[0, -1, 1, 2, 3])
    assert str(info.value) == "cluster_array contains values less than 1: [ 0 -1]"


def test_empty_cluster_array_is_gap_stats_error(blobs):
    optimalK = OptimalK(parallel_backend=None, n_jobs=-1)
    with pytest.raises(ValueError, match=r"^The supplied cluster_array has no values"):
        optimalK(blobs, cluster_array=[])


def test_dunders():
    optimalK = OptimalK(n_jobs=1)
    assert str(optimalK) == 'OptimalK(n_jobs=1, parallel_backend="joblib")'
    assert repr(optimalK) == str(optimalK)
    assert optimalK._repr_html_() == f"<p>{optimalK}</p>"


# ----------------------------------------------------------- skgap's numbers beneath


def test_gap_df_is_skgap_computed_correctly(blobs):
    optimalK = OptimalK(parallel_backend=None, random_state=0, method="tibshirani")
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
    assert_allclose(df["ref_dispersion_std"], W_star.std(axis=0))
    # sk*: the spread about the reference mean (gap-stat: about W_k, wrongly)
    assert_allclose(df["sk*"], W_star.std(axis=0) * np.sqrt(1 + 1 / B))
    wrong_sk_star = np.sqrt(np.mean((W_star - gap.dispersions_) ** 2, axis=0))
    assert np.all(df["sk*"].to_numpy() < wrong_sk_star * np.sqrt(1 + 1 / B))
    assert optimalK.estimator_.n_clusters_ == optimalK.n_clusters


def test_seeded_calls_repeat_whatever_the_backend(blobs):
    frames = []
    for backend, n_jobs in [(None, 1), ("joblib", 2), ("multiprocessing", 2)]:
        optimalK = OptimalK(parallel_backend=backend, n_jobs=n_jobs, random_state=1)
        optimalK(blobs, cluster_array=range(1, 6))
        optimalK(blobs, cluster_array=range(1, 6))  # a second call: the same
        frames.append(optimalK.gap_df)
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0])


def test_seeded_user_clusterer_repeats_across_processes(blobs):
    """A clusterer with a random_state parameter gets a seed per fit."""
    frames = []
    for backend, n_jobs in [(None, 1), ("joblib", 2)]:
        optimalK = OptimalK(
            parallel_backend=backend,
            n_jobs=n_jobs,
            clusterer=kmeans_clusterer,
            random_state=5,
        )
        optimalK(blobs, n_refs=4, cluster_array=range(1, 5))
        frames.append(optimalK.gap_df)
    pd.testing.assert_frame_equal(*frames)
    assert optimalK.estimator_ is None


def test_dataframe_input(blobs):
    frame = pd.DataFrame(blobs, columns=["a", "b"])
    optimalK = OptimalK(parallel_backend=None, random_state=0)
    assert optimalK(frame, cluster_array=range(1, 5)) == 3


def test_bad_clusterer_results_are_explained(blobs):
    optimalK = OptimalK(parallel_backend=None, clusterer=lambda X, k: 3)
    with pytest.raises(InvalidInputError, match=r"tuple \(centroids, labels\)"):
        optimalK(blobs, cluster_array=[1, 2])

    def wrong_width(X, k):
        return np.zeros((k, 5)), np.zeros(X.shape[0], dtype=int)

    optimalK = OptimalK(parallel_backend=None, clusterer=wrong_width)
    with pytest.raises(InvalidInputError, match=r"centroids of shape \(k, 2\)"):
        optimalK(blobs, cluster_array=[1, 2])

    def labels_past_centroids(X, k):
        return np.zeros((1, 2)), np.full(X.shape[0], 3)

    optimalK = OptimalK(parallel_backend=None, clusterer=labels_past_centroids)
    with pytest.raises(InvalidInputError, match="labels from 3 to 3 for 1 centroids"):
        optimalK(blobs, cluster_array=[1, 2])


def test_clusterer_without_centroids_is_measured_to_its_means():
    X = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 4.0]])
    seen = []

    def clusterer(X, k):
        seen.append(X.copy())
        return None, (X[:, 0] > X[:, 0].mean()).astype(int)

    optimalK = OptimalK(parallel_backend=None, clusterer=clusterer, random_state=0)
    optimalK(X, n_refs=2, cluster_array=[2])
    references = seen[:2]
    W_star = [
        sum(
            ((r[lab] - r[lab].mean(0)) ** 2).sum()
            for lab in (r[:, 0] <= r[:, 0].mean(), r[:, 0] > r[:, 0].mean())
        )
        for r in references
    ]
    # W_k of the data: 2 + 8
    assert_allclose(
        optimalK.gap_df["gap_value"], [np.mean(np.log(W_star)) - np.log(10)]
    )


def test_method_is_validated():
    with pytest.raises(InvalidInputError, match="method must be None"):
        OptimalK(method="argmax")


def test_plot_results_before_a_call_warns_and_draws_nothing(pyplot):
    figure = pyplot.figure()
    with pytest.warns(SkgapWarning, match="OptimalK not called yet"):
        assert OptimalK().plot_results() is None
    assert figure.axes == []


# ------------------------------------------------------- clients' code (issue 20)


def test_point3_clusterer_called_at_every_k_including_one():
    calls = []

    def special_clustering_func(X, k):
        calls.append(k)
        m = MeanShift()
        m.fit(X)
        return m.cluster_centers_, m.predict(X)

    X, y = make_blobs(n_samples=50, n_features=2, centers=3, random_state=25)
    optimalk = OptimalK(clusterer=special_clustering_func, parallel_backend=None)
    n_clusters = optimalk(X, n_refs=3, cluster_array=range(1, 4))

    assert sorted(calls) == [1] * 4 + [2] * 4 + [3] * 4
    # MeanShift ignores k: the same clustering, hence the same gap, at every
    # k, and gap-stat's argmax takes the first
    assert_allclose(optimalk.gap_df["gap_value"], optimalk.gap_df["gap_value"][0])
    assert n_clusters == 1


def test_point4_plot_results_draws_into_the_current_figure(pyplot, blobs, tmp_path):
    plt = pyplot
    optimalK = OptimalK(parallel_backend=None, random_state=0)
    optimalK(blobs, cluster_array=range(1, 7))

    figure = plt.figure(figsize=(10, 8))
    result = optimalK.plot_results()
    plt.savefig(tmp_path / "gap.png")

    assert result is None
    assert plt.gcf() is figure and len(plt.get_fignums()) == 1
    titles = [ax.get_title() for ax in figure.axes]
    assert titles == [
        "Gap Values by Cluster Count",
        "Diff Values by Cluster Count",
        "Gap* Values by Cluster Count",
        "Diff* Values by Cluster Count",
    ]
    df = optimalK.gap_df
    for ax, column in zip(
        figure.axes, ["gap_value", "diff", "gap*", "diff*"], strict=True
    ):
        (line,) = ax.get_lines()
        assert_array_equal(line.get_xdata(), df["n_clusters"])
        assert_array_equal(line.get_ydata(), df[column])
        assert ax.get_xlabel() == "Cluster Count"
    # the chosen k, red, on the gap panel
    (marker,) = figure.axes[0].collections
    assert_array_equal(
        marker.get_offsets(), [[optimalK.n_clusters, df["gap_value"].max()]]
    )
    assert (tmp_path / "gap.png").stat().st_size > 0


def test_point4_plot_results_takes_the_place_of_the_current_axes(pyplot, blobs):
    plt = pyplot
    optimalK = OptimalK(parallel_backend=None, random_state=0)
    optimalK(blobs, cluster_array=range(1, 5))

    fig, (left, right) = plt.subplots(1, 2)
    left.plot([0, 1], [0, 1])
    plt.sca(right)
    optimalK.plot_results()

    assert left in fig.axes and right not in fig.axes
    assert len(fig.axes) == 5
    # the four panels lie in the right half of the figure
    assert all(ax.get_position().x0 >= 0.45 for ax in fig.axes if ax is not left)


def test_point5_dispersion_is_measured_to_the_returned_centroids(blobs):
    """A clusterer whose centres are not the means (medoids) changes W_k."""
    calls = []

    def kmedoids_like(X, k):
        centers, labels = kmeans_clusterer(X, k, random_state=0)
        # the sample nearest each centre, as a medoid
        medoids = X[np.argmin(((X[:, None] - centers) ** 2).sum(-1), axis=0)]
        calls.append((X.copy(), medoids, labels))
        return medoids, labels

    optimalK = OptimalK(parallel_backend=None, clusterer=kmedoids_like, random_state=0)
    optimalK(blobs, n_refs=3, cluster_array=[1, 2, 3])

    def dispersion(X, centroids, labels):  # gap-stat's formula, brute force
        return sum(
            np.sum(np.abs(x - centroids[j]) ** 2)
            for x, j in zip(X, labels, strict=True)
        )

    W = np.array([dispersion(*call) for call in calls]).reshape(3, 4)
    W_star, W_k = W[:, :3], W[:, 3]  # references first, then the data
    df = optimalK.gap_df
    assert_allclose(df["gap_value"], np.log(W_star).mean(1) - np.log(W_k))
    assert_allclose(df["gap*"], W_star.mean(1) - W_k)
    assert_allclose(df["ref_dispersion_std"], W_star.std(1))
    assert_allclose(df["sk"], np.log(W_star).std(1) * np.sqrt(1 + 1 / 3))


def test_point6_each_fit_gets_a_writable_array_of_its_own(blobs):
    X = blobs.copy()
    seen = []

    def centring_kmeans(X, k):
        X -= X.mean(0)  # in place, as some clients do
        seen.append(X)
        return kmeans_clusterer(X, k, random_state=0)

    optimalK = OptimalK(parallel_backend=None, clusterer=centring_kmeans)
    try:
        optimalK(X, n_refs=3, cluster_array=range(1, 5))
    except ValueError:
        pytest.fail("the clusterer could not write to its data")

    assert_array_equal(X, blobs)  # the caller's X is untouched
    assert len(seen) == 16
    assert not any(np.shares_memory(a, X) for a in seen)
    assert not any(
        np.shares_memory(a, b) for i, a in enumerate(seen) for b in seen[i + 1 :]
    )


def test_point7_duplicate_ks_get_a_row_each(blobs):
    optimalK = OptimalK(parallel_backend=None, random_state=0)
    optimalK(blobs, cluster_array=[1, 2, 2, 3, 4])
    assert optimalK.gap_df["n_clusters"].tolist() == [1.0, 2.0, 2.0, 3.0, 4.0]
    calls = []

    def clusterer(X, k):
        calls.append(k)
        return kmeans_clusterer(X, k, random_state=0)

    optimalK = OptimalK(parallel_backend=None, clusterer=clusterer, random_state=0)
    optimalK(blobs, n_refs=2, cluster_array=[3, 1, 3])
    assert optimalK.gap_df["n_clusters"].tolist() == [1.0, 3.0, 3.0]
    assert sorted(calls) == [1] * 3 + [3] * 6


def test_point8_gap_df_has_gap_stats_columns_and_dtypes(blobs, tmp_path):
    optimalK = OptimalK(parallel_backend=None, random_state=0)
    optimalK(blobs, cluster_array=np.arange(1, 6))
    optimalK.gap_df.to_csv(tmp_path / "gap.csv")

    assert list(optimalK.gap_df.columns) == GAP_STAT_COLUMNS
    assert (optimalK.gap_df.dtypes == np.float64).all()
    assert str(optimalK.gap_df.loc[0, "n_clusters"]) == "1.0"
    assert isinstance(optimalK.gap_df.index, pd.RangeIndex)
    header = (tmp_path / "gap.csv").read_text().splitlines()[0]
    assert header == "," + ",".join(GAP_STAT_COLUMNS)


def test_point9_default_k_is_the_largest_gap_with_one_warning():
    X, _ = make_blobs(n_samples=200, centers=4, cluster_std=1.5, random_state=1)

    optimalK = OptimalK(parallel_backend=None, random_state=0)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        n_clusters = optimalK(X, n_refs=5, cluster_array=range(1, 9))

    df = optimalK.gap_df
    assert n_clusters == int(df.loc[np.argmax(df.gap_value.values)].n_clusters) == 4
    (warning,) = tibshirani_warnings(record)
    assert warning.category is SkgapWarning
    assert "k=4" in str(warning.message) and "chooses k=3" in str(warning.message)
    assert warning.filename == __file__

    paper = OptimalK(parallel_backend=None, random_state=0, method="tibshirani")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert paper(X, n_refs=5, cluster_array=range(1, 9)) == 3
    assert not tibshirani_warnings(record)


def test_point9_no_warning_where_the_rules_agree():
    X, _ = make_blobs(n_samples=200, centers=4, cluster_std=1.5, random_state=3)
    optimalK = OptimalK(parallel_backend=None, random_state=0)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert optimalK(X, n_refs=5, cluster_array=range(1, 9)) == 4
    assert not tibshirani_warnings(record)


def test_point10_constructor_arguments_read_back_normalised():
    n_cpus = os.cpu_count()
    assert OptimalK(n_jobs=-1).n_jobs == n_cpus
    assert OptimalK(n_jobs=0).n_jobs == n_cpus
    assert OptimalK(n_jobs=n_cpus + 100).n_jobs == n_cpus
    assert OptimalK(n_jobs=1).n_jobs == 1
    assert OptimalK(n_jobs=4, parallel_backend=None).n_jobs == 1

    optimalK = OptimalK(parallel_backend="dask")
    assert optimalK.parallel_backend is None
    assert str(optimalK) == f'OptimalK(n_jobs={n_cpus}, parallel_backend="None")'
    assert OptimalK(clusterer=kmeans_clusterer).clusterer_kwargs == {}


# -------------------------------------------------------------------- issue 17


def test_nested_cluster_array_is_a_clear_error(blobs):
    optimalK = OptimalK(parallel_backend=None)
    with pytest.raises(ValueError, match=r"flat sequence of integers.*shape \(2, 2\)"):
        optimalK(blobs, cluster_array=[[1, 2], [3, 4]])


def test_n_jobs_none_works(blobs):
    optimalK = OptimalK(n_jobs=None, random_state=0)
    assert optimalK.n_jobs is None
    assert optimalK(blobs, cluster_array=range(1, 5)) == 3


def test_n_jobs_of_another_type_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="n_jobs must be an int"):
        OptimalK(n_jobs="2")
