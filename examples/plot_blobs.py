"""
=====================================
Choosing the number of clusters k
=====================================

The basic use of :class:`~skgap.GapKMeans`: fit it on data, read the chosen
number of clusters and the table of the gap statistic, and plot the curves
that chose it with :class:`~skgap.plotting.GapStatisticDisplay`.
"""

# %%
# Data: four blobs
# ----------------
import matplotlib.pyplot as plt
from sklearn.datasets import make_blobs

from skgap import GapKMeans
from skgap.plotting import GapStatisticDisplay

X, y = make_blobs(n_samples=500, centers=4, random_state=1)

# %%
# Fit
# ---
# The defaults: k-means for k = 1..10, 20 reference data sets drawn
# uniformly in the box of the data's principal axes, and Tibshirani's rule on
# the gap. ``random_state`` makes the result reproducible. The clusterer
# fitted at the chosen k, printed with its settings, is ``best_estimator_``.
gap = GapKMeans(random_state=0).fit(X)
print(f"chosen k = {gap.n_clusters_}")
print(gap.best_estimator_)

# %%
# The table has one row per candidate k. The rule picks the smallest k whose
# ``diff`` = gap(k) - gap(k+1) + se(k+1) is non-negative.
gap.gap_df_[["n_clusters", "log_w", "expected_log_w", "gap", "se", "diff"]].round(3)

# %%
# The curves
# ----------
# ``kind="all"`` draws the gap with its error bars, the observed and expected
# log W_k, the ``diff`` bars, Gap* and, at the bottom, how often the rule
# chooses each k when the reference data sets are resampled (the selection
# frequencies), in one figure.
display = GapStatisticDisplay.from_estimator(gap, kind="all")
display.figure_.suptitle("Gap statistic of four blobs")
plt.show()

# %%
# The clustering at the chosen k
# ------------------------------
# After ``fit``, :class:`~skgap.GapKMeans` behaves like the fitted KMeans:
# ``labels_``, ``cluster_centers_`` and ``predict`` come from the clustering
# with ``n_clusters_`` clusters.
fig, ax = plt.subplots()
ax.scatter(X[:, 0], X[:, 1], c=gap.labels_, s=10, cmap="tab10")
ax.scatter(*gap.cluster_centers_.T, c="black", marker="x", s=100, label="centres")
ax.set_title(f"KMeans with the chosen k = {gap.n_clusters_}")
ax.legend()
plt.show()
