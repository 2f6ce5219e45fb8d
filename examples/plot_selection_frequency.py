"""
=====================================================
How sure is the chosen k? Selection frequencies
=====================================================

The gap statistic compares the data with B reference data sets drawn at
random, so its choice of k carries simulation noise: other references could
have chosen another k. After ``fit``, ``selection_frequencies_`` says how
often the same rule, on the same statistic, chooses each candidate when the
B references are resampled with replacement (500 times, without any new
clustering). ``n_refs="auto"`` uses it to decide how many references to
draw: it adds them until the chosen k's frequency reaches ``stability``.
"""

# %%
# A clear choice
# --------------
# Four well separated blobs. With ``n_refs="auto"``, GapKMeans starts with
# 10 reference data sets and adds 10 at a time while the chosen k's
# selection frequency is below ``stability`` (0.95 by default); ``n_refs_``
# is the number it used.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_blobs

from skgap import GapKMeans
from skgap.plotting import GapStatisticDisplay

X_blobs, _ = make_blobs(n_samples=500, centers=4, random_state=1)
clear = GapKMeans(n_refs="auto", random_state=0).fit(X_blobs)
print(f"k = {clear.n_clusters_} with B = {clear.n_refs_} references")
print("selection frequencies:", np.round(clear.selection_frequencies_, 2))

# %%
# A hesitant choice
# -----------------
# Three groups, each made of two close clusters. Tibshirani's rule stops at
# the first k whose gap is at least the next k's gap minus its standard
# error. On these data the gaps of the first two candidates are nearly equal,
# so whether the rule stops at k = 1 depends on the references drawn.
rng = np.random.default_rng(0)
groups = np.array([[0.0, 0.0], [12.0, 0.0], [6.0, 10.0]])
halves = np.array([[-1.4, 0.0], [1.4, 0.0]])
X = np.vstack(
    [rng.normal(group + half, 1.0, size=(50, 2)) for group in groups for half in halves]
)
fixed = GapKMeans(random_state=0).fit(X)
print(f"n_refs=20: k = {fixed.n_clusters_}")
for k, frequency in zip(
    fixed.gap_results_["n_clusters"], fixed.selection_frequencies_, strict=True
):
    if frequency > 0:
        print(f"  k = {k} in {frequency:.0%} of the resampled references")

# %%
# With 20 references the choice is not settled: another draw of them could
# well have chosen another k. ``n_refs="auto"`` draws more until it is.
auto = GapKMeans(n_refs="auto", random_state=0).fit(X)
print(f"n_refs='auto': k = {auto.n_clusters_} with B = {auto.n_refs_} references")
for k, frequency in zip(
    auto.gap_results_["n_clusters"], auto.selection_frequencies_, strict=True
):
    if frequency > 0:
        print(f"  k = {k} in {frequency:.0%} of the resampled references")

# %%
# The result is exactly that of a fit with ``n_refs`` set to the B reached:
# the batches reuse every fit made, and each reference is drawn from its own
# seed.
same_b = GapKMeans(n_refs=auto.n_refs_, random_state=0).fit(X)
print(
    "identical to n_refs={}: {}".format(
        auto.n_refs_,
        all(
            np.array_equal(same_b.gap_results_[key], value, equal_nan=True)
            for key, value in auto.gap_results_.items()
        ),
    )
)

# %%
# The frequency plots
# -------------------
# ``kind="frequency"`` draws the selection frequencies as bars, the chosen
# k's in green; the two fits of the hesitant data beside the clear one.
fig, axes = plt.subplots(1, 3, figsize=(14, 4), layout="constrained", sharey=True)
for ax, gap, title in (
    (axes[0], clear, "Four blobs, n_refs='auto'"),
    (axes[1], fixed, "Three pairs, n_refs=20"),
    (axes[2], auto, f"Three pairs, n_refs='auto' (B = {auto.n_refs_})"),
):
    GapStatisticDisplay.from_estimator(gap, kind="frequency", ax=ax)
    ax.set_title(title)
plt.show()

# %%
# Settled is not the same as right
# --------------------------------
# A frequency near 1 says that more references would not change the
# choice; it does not say that the rule suits the data. Two clusters split
# these three groups hardly better than they split the references, so the
# gap barely rises from the first candidate to the second, and Tibshirani's
# ``diff`` at k = 1 is close to 0: its sign is what the references decided.
# The other rules look further along the curve. ``rule_choices_`` lists the
# k of every rule on both statistics, from the same fit, and the curves show
# why they differ.
for statistic, choices in auto.rule_choices_.items():
    print(f"{statistic:>8}: " + ", ".join(f"{r} {k}" for r, k in choices.items()))
display = GapStatisticDisplay.from_estimator(auto, kind="all")
display.figure_.suptitle("Three pairs of clusters, n_refs='auto'")
plt.show()

# %%
# When the references run out
# ---------------------------
# ``max_n_refs`` bounds B (100 by default). If the chosen k's frequency is
# still below ``stability`` there, a :class:`~skgap.exceptions.SkgapWarning`
# says so: the choice is not settled, and ``selection_frequencies_`` names
# the candidates it hesitates between.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    bounded = GapKMeans(
        n_refs="auto", max_n_refs=20, stability=0.99, random_state=0
    ).fit(X)
print(f"B = {bounded.n_refs_}, k = {bounded.n_clusters_}")
for warning in caught:
    print(f"{warning.category.__name__}: {warning.message}")
