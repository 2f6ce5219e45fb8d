"""GapKMeans with scikit-learn's clusterers, Pipelines and model selection."""

import warnings

import numpy as np
import pytest
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
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from skgap import GapKMeans, within_cluster_dispersion

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
def blobs():
    X, y = make_blobs(
        n_samples=150, centers=[[0, 0], [8, 0], [0, 8]], cluster_std=0.8, random_state=0
    )
    return X, y


def _gap(estimator, **params):
    defaults = dict(n_clusters_range=range(1, 6), n_refs=5, random_state=0)
    defaults.update(params)
    return GapKMeans(estimator, **defaults)


@pytest.mark.parametrize("name", list(CLUSTERERS))
def test_clusterer_finds_three_blobs(blobs, name):
    X, y = blobs
    gap = _gap(clone(CLUSTERERS[name]))
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


def test_agglomerative_has_no_predict(blobs):
    X, _ = blobs
    gap = _gap(AgglomerativeClustering())
    assert not hasattr(gap, "predict")
    gap.fit(X)
    assert not hasattr(gap, "predict")
    assert not hasattr(gap, "transform")
    assert not hasattr(gap, "cluster_centers_")
    with pytest.raises(AttributeError):
        gap.predict(X)


def test_gaussian_mixture_delegation(blobs):
    X, _ = blobs
    gap = _gap(GaussianMixture()).fit(X)
    assert gap.best_estimator_.n_components == 3
    assert gap.score(X) == pytest.approx(gap.best_estimator_.score(X))
    assert not hasattr(gap, "transform")
    assert not hasattr(gap, "cluster_centers_")  # GaussianMixture has means_


def test_kmeans_delegation(blobs):
    X, _ = blobs
    gap = _gap(KMeans(n_init=2)).fit(X)
    assert_allclose(gap.transform(X), gap.best_estimator_.transform(X))
    assert gap.transform(X).shape == (X.shape[0], 3)
    assert_allclose(gap.fit_transform(X), gap.transform(X))
    assert gap.score(X) == pytest.approx(-gap.best_estimator_.inertia_, rel=1e-6)
    assert gap.cluster_centers_.shape == (3, 2)


def test_birch_delegation(blobs):
    X, _ = blobs
    gap = _gap(Birch(threshold=0.3)).fit(X)
    assert gap.transform(X).shape[0] == X.shape[0]
    assert not hasattr(gap, "score")


@pytest.mark.parametrize("name", list(CLUSTERERS))
def test_clusterer_on_noise_chooses_one(name):
    # k = 1 is chosen: the best estimator is then fitted with one cluster
    X = np.random.RandomState(0).uniform(size=(120, 2))
    gap = _gap(clone(CLUSTERERS[name]), n_clusters_range=range(1, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        gap.fit(X)
    assert gap.n_clusters_ == 1
    assert_array_equal(gap.labels_, 0)
    if HAS_PREDICT[name]:
        assert_array_equal(gap.predict(X[:7]), 0)


def test_pipeline_as_estimator(blobs):
    X, y = blobs
    pipe = Pipeline([("scale", StandardScaler()), ("kmeans", KMeans(n_init=2))])
    gap = _gap(pipe).fit(X)
    assert gap.n_clusters_ == 3
    assert gap.best_estimator_.named_steps["kmeans"].n_clusters == 3
    assert adjusted_rand_score(y, gap.labels_) == 1.0
    assert_array_equal(gap.predict(X), gap.labels_)
    # the nested random_state of the pipeline is seeded too
    assert isinstance(gap.best_estimator_.named_steps["kmeans"].random_state, int)
    # the user's pipeline is untouched
    assert pipe.named_steps["kmeans"].n_clusters == 8
    assert not hasattr(pipe.named_steps["kmeans"], "labels_")


def test_pipeline_with_gaussian_mixture_nested_n_components(blobs):
    X, _ = blobs
    pipe = make_pipeline(StandardScaler(), GaussianMixture())
    gap = _gap(pipe).fit(X)
    assert gap.best_estimator_[-1].n_components == 3


def test_pipeline_with_pca_and_gaussian_mixture(blobs):
    # both steps have n_components: the final step is the clusterer
    from sklearn.decomposition import PCA

    X, _ = blobs
    pipe = make_pipeline(StandardScaler(), PCA(n_components=2), GaussianMixture())
    gap = _gap(pipe).fit(X)
    assert gap.n_clusters_ == 3
    assert gap.best_estimator_[-1].n_components == 3
    assert gap.best_estimator_[1].n_components == 2


def test_pipeline_sets_the_final_step(blobs):
    X, _ = blobs
    pipe = Pipeline([("a", KMeans(n_clusters=5, n_init=1)), ("b", KMeans(n_init=2))])
    gap = _gap(pipe).fit(X)
    assert gap.best_estimator_.named_steps["b"].n_clusters == gap.n_clusters_
    assert gap.best_estimator_.named_steps["a"].n_clusters == 5


class TwoClusterers(BaseEstimator):
    def __init__(self, first=None, second=None):
        self.first = first
        self.second = second

    def fit(self, X, y=None):
        self.labels_ = self.second.fit_predict(X)
        return self


def test_two_nested_clusterers_are_ambiguous(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="several nested parameters"):
        _gap(TwoClusterers(KMeans(), KMeans())).fit(X)


class NoClusterCount(BaseEstimator):
    def __init__(self, eps=0.5):
        self.eps = eps

    def fit(self, X, y=None):
        self.labels_ = np.zeros(len(X), dtype=int)
        return self


def test_grid_search_over_method_and_statistic(blobs):
    X, y = blobs
    gap = _gap(KMeans(n_init=1), n_refs=3, n_clusters_range=range(1, 5))
    search = GridSearchCV(
        gap,
        {"method": ["tibshirani", "global_max"], "statistic": ["gap", "gap_star"]},
        scoring="adjusted_rand_score",
        cv=2,
    )
    search.fit(X, y)
    assert set(search.cv_results_["param_method"]) == {"tibshirani", "global_max"}
    assert len(search.cv_results_["mean_test_score"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_score_ == pytest.approx(1.0)
    assert search.best_estimator_.n_clusters_ == 3
    assert search.predict(X).shape == (X.shape[0],)


def test_gap_kmeans_inside_pipeline(blobs):
    X, y = blobs
    pipe = make_pipeline(StandardScaler(), _gap(KMeans(n_init=2)))
    labels = pipe.fit_predict(X)
    assert pipe[-1].n_clusters_ == 3
    assert adjusted_rand_score(y, labels) == 1.0
    assert_array_equal(pipe.predict(X), labels)
    # set_params through the pipeline reaches the gap parameters
    pipe.set_params(gapkmeans__n_clusters_range=[1, 2])
    pipe.fit(X)
    assert_array_equal(pipe[-1].gap_results_["n_clusters"], [1, 2])
