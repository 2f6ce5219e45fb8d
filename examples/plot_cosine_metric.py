"""
==========================================================
Other distances: the topics of documents, with the cosine
==========================================================

The gap statistic measures every clustering by its dispersion W_k, the sum of
the distances d within each cluster. By default d is the Euclidean distance.
For documents counted as words, what matters is *which* words a document
uses, not how many: a long and a short document on the same topic are far
apart in Euclidean distance, and close in cosine distance, which compares
only the directions of the count vectors.

``metric="cosine"`` makes :class:`~skgap.GapKMeans` measure the clusterings
with the cosine distance; the clusterer must then make them with the same
distance, here :class:`~sklearn.cluster.AgglomerativeClustering` with
``metric="cosine"`` and average linkage. It finds the topics of the
documents below; the Euclidean default does not.
"""

# %%
# Documents on four topics
# ------------------------
# A vocabulary of 60 words. Each topic uses its own 15 words far more often
# than the others; each document is on one topic, and has a length drawn
# from a wide (log-normal) distribution. A document is the vector of its 60
# word counts.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score

from skgap import GapKMeans
from skgap.plotting import GapStatisticDisplay

rng = np.random.default_rng(1)
n_topics, words_per_topic, n_documents = 4, 15, 300
n_words = n_topics * words_per_topic
word_weights = np.full((n_topics, n_words), 0.2)
for topic in range(n_topics):
    word_weights[topic, topic * words_per_topic : (topic + 1) * words_per_topic] = 5
word_probabilities = word_weights / word_weights.sum(axis=1, keepdims=True)

topics = rng.integers(n_topics, size=n_documents)
lengths = 10 + rng.lognormal(mean=4.5, sigma=0.6, size=n_documents).astype(int)
X = rng.multinomial(lengths, word_probabilities[topics]).astype(float)
print(f"{X.shape[0]} documents of {lengths.min()} to {lengths.max()} words")

# %%
# What each distance sees
# -----------------------
# On the left, the counts in their first two principal components: each
# topic is a ray from the origin, along which the documents spread by
# length, and the short documents of every topic crowd together near the
# origin. On the right, the same documents scaled to unit length (their
# directions, all that the cosine distance sees): four tight groups.
directions = X / np.linalg.norm(X, axis=1, keepdims=True)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5), layout="constrained")
for ax, data, title in (
    (left, X, "Word counts (what the Euclidean distance sees)"),
    (right, directions, "Directions (what the cosine distance sees)"),
):
    projected = PCA(n_components=2).fit_transform(data)
    ax.scatter(*projected.T, c=topics, cmap="tab10", vmax=9, s=8)
    ax.set_title(title)
    ax.set_xlabel("first principal component")
    ax.set_ylabel("second principal component")
plt.show()

# %%
# The Euclidean default
# ---------------------
# ``GapKMeans()`` runs k-means and measures W_k with squared Euclidean
# distances, which the long documents dominate.
euclidean = GapKMeans(random_state=0).fit(X)
print(f"Euclidean: k = {euclidean.n_clusters_}")

# %%
# Told the number of topics, Euclidean k-means does separate them (the table
# below): what fails is the choice of k. In Euclidean terms each topic is a
# long ray, and most of its squared dispersion is the spread of lengths
# along it. Cutting the rays by length keeps lowering W_k faster than in the
# references, so the gap has no step at the number of topics (its curve is
# drawn below).
kmeans = KMeans(n_clusters=n_topics, n_init=3, random_state=0).fit(X)
pd.crosstab(kmeans.labels_, topics, rownames=["k-means cluster"], colnames=["topic"])

# %%
# The cosine distance
# -------------------
# The same statistic, with the cosine distance in both the clusterer and
# W_k. The reference data sets are drawn with ``reference="uniform"``: each
# word's count uniform over its observed range, that is documents that mix
# the whole vocabulary at random, without topics (the last section says why
# the default reference does not suit directions).
cosine = GapKMeans(
    AgglomerativeClustering(metric="cosine", linkage="average"),
    metric="cosine",
    reference="uniform",
    random_state=0,
).fit(X)
print(f"cosine:    k = {cosine.n_clusters_}")
print(
    f"adjusted Rand index of its clustering with the topics: "
    f"{adjusted_rand_score(topics, cosine.labels_):.2f}"
)
pd.crosstab(topics, cosine.labels_, rownames=["topic"], colnames=["cluster"])

# %%
# The two gap curves, and how sure the cosine's choice is: the frequency
# with which the rule chooses each k over resamples of the reference data
# sets (``selection_frequencies_``).
fig, axes = plt.subplots(1, 3, figsize=(14, 4), layout="constrained")
GapStatisticDisplay.from_estimator(euclidean, kind="gap", ax=axes[0])
axes[0].set_title("Euclidean k-means")
GapStatisticDisplay.from_estimator(cosine, kind="gap", ax=axes[1])
axes[1].set_title("Cosine, average linkage")
GapStatisticDisplay.from_estimator(cosine, kind="frequency", ax=axes[2])
axes[2].set_title("Cosine: how often each k is chosen")
plt.show()

# %%
# Which reference for directions
# ------------------------------
# The default ``reference="pca"`` draws uniformly in the box of the data's
# principal axes, centred on the mean document: many of its counts are
# negative, so its "documents" point in every direction, also in those no
# document can have, and clustering them lowers their cosine dispersion
# much as clustering the topics does. Compare the choice it leads to with
# the one above:
cosine_pca = GapKMeans(
    AgglomerativeClustering(metric="cosine", linkage="average"),
    metric="cosine",
    random_state=0,
).fit(X)
print(f"cosine, reference='pca':     k = {cosine_pca.n_clusters_}")
print(f"cosine, reference='uniform': k = {cosine.n_clusters_}")

# %%
# For non-negative data compared by their directions (counts, frequencies,
# spectra), ``reference="uniform"`` keeps the reference data non-negative,
# as the data are. Other metrics work the same way: ``metric="cityblock"``
# with ``AgglomerativeClustering(metric="manhattan")``, or any metric of
# :func:`sklearn.metrics.pairwise_distances` with its ``metric_params``.
