"""
================================================================
Wrapping GaussianMixture and AgglomerativeClustering
================================================================

:class:`~skgap.GapKMeans` wraps any scikit-learn clusterer with an
``n_clusters`` or ``n_components`` parameter. The dispersion W_k is computed
from the labels each clusterer returns, so clusterers without centres work
too. Here k-means, a Gaussian mixture and Ward's agglomerative clustering each
choose the number of clusters of stretched blobs; the adjusted Rand index says
how well each clustering matches the blobs, which the mixture's full
covariances can follow and the other two cannot.
"""

# %%
# Stretched blobs
# ---------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from skgap import GapKMeans
from skgap.plotting import GapStatisticDisplay

X, y = make_blobs(n_samples=300, centers=3, cluster_std=0.6, random_state=170)
X = X @ np.array([[0.6, -0.6], [-0.4, 0.8]])

# %%
# Three clusterers
# ----------------
# ``n_components`` of the mixture and ``n_clusters`` of the others are set by
# :class:`~skgap.GapKMeans` for every candidate k. AgglomerativeClustering
# has no ``predict``: so neither has the fitted GapKMeans, but ``labels_``
# and ``fit_predict`` work.
clusterers = {
    "KMeans": KMeans(n_init=10),
    "GaussianMixture": GaussianMixture(covariance_type="full", n_init=2),
    "AgglomerativeClustering": AgglomerativeClustering(linkage="ward"),
}
fits = {
    name: GapKMeans(
        clusterer, n_clusters_range=range(1, 8), n_refs=10, random_state=0
    ).fit(X)
    for name, clusterer in clusterers.items()
}
for name, gap in fits.items():
    ari = adjusted_rand_score(y, gap.labels_)
    print(f"{name:>24}: k = {gap.n_clusters_}, adjusted Rand index {ari:.2f}")

# %%
# The gap curves and the clusterings
# ----------------------------------
fig, axes = plt.subplots(2, 3, figsize=(13, 7), layout="constrained")
for (name, gap), top, bottom in zip(fits.items(), axes[0], axes[1], strict=True):
    GapStatisticDisplay.from_estimator(gap, kind="gap", ax=top)
    top.set_title(name)
    bottom.scatter(X[:, 0], X[:, 1], c=gap.labels_, s=8, cmap="tab10")
    bottom.set_title(f"{name}, k = {gap.n_clusters_}")
plt.show()
