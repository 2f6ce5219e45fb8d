"""
=====================================================
Elongated clusters need the PCA reference
=====================================================

Scenario (e) of Tibshirani, Walther & Hastie (2001): two elongated clusters
along the diagonal of three-dimensional space. The reference data sets of the
gap statistic are drawn from a box. With ``reference="uniform"`` the box is
aligned with the coordinate axes and is far larger than the data, so the gap
keeps growing with k and the rule over-splits. With ``reference="pca"`` (the
default, the paper's method (b)) the box is aligned with the data's principal
axes and the rule finds the two clusters.
"""

# %%
# The data
# --------
import matplotlib.pyplot as plt
import numpy as np

from skgap import GapKMeans
from skgap.plotting import GapStatisticDisplay

rng = np.random.default_rng(0)
t = np.linspace(-0.5, 0.5, 100)
line = np.repeat(t[:, None], 3, axis=1)
X = np.vstack(
    [
        line + rng.normal(scale=0.1, size=line.shape),
        line + 10.0 + rng.normal(scale=0.1, size=line.shape),
    ]
)

fig = plt.figure()
ax = fig.add_subplot(projection="3d")
ax.scatter(*X.T, s=5)
ax.set_title("Two elongated clusters in 3-d")
plt.show()

# %%
# Both references
# ---------------
fits = {
    reference: GapKMeans(
        n_clusters_range=range(1, 9), reference=reference, random_state=0
    ).fit(X)
    for reference in ("uniform", "pca")
}
for reference, gap in fits.items():
    print(f"reference={reference!r}: chosen k = {gap.n_clusters_}")

# %%
# With the uniform box, every reference data set fills the whole cube around
# the two segments, so its dispersion keeps falling fast as k grows while the
# data's barely does beyond 2, and the gap keeps rising. The PCA box hugs the
# data and the gap peaks at k = 2.
# sphinx_gallery_thumbnail_number = 2
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained", sharey=True)
for ax, (reference, gap) in zip(axes, fits.items(), strict=True):
    GapStatisticDisplay.from_estimator(gap, kind="gap", ax=ax)
    ax.set_title(f'reference="{reference}"')
plt.show()
