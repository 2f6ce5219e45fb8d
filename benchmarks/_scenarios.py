"""Data sets shared by the benchmarks: the paper's scenarios and the W1-W3 workloads.

The five simulation scenarios are those of section 6 of Tibshirani, Walther &
Hastie (2001), "Estimating the number of clusters in a data set via the gap
statistic", JRSS-B 63(2):411-423:

(a) null model in 10 dimensions: 200 points uniform over the unit hypercube;
    true k = 1.
(b) three clusters in two dimensions: standard normal clusters of 25, 25 and
    50 points centred at (0, 0), (0, 5) and (5, -3); true k = 3.
(c) four clusters in three dimensions: each cluster has 25 or 50 standard
    normal points (chosen at random) about a centre drawn from N(0, 5 I);
    realisations whose clusters come closer than 1.0 (minimum distance
    between points of different clusters) are discarded and redrawn; k = 4.
(d) four clusters in ten dimensions: as (c) with centres drawn from
    N(0, 1.9 I); k = 4.
(e) two elongated clusters in three dimensions: x1 = x2 = x3 = t for 100
    equally spaced t in [-0.5, 0.5], plus Gaussian noise of standard deviation
    0.1 on each feature; the second cluster is the same shifted by 10 in every
    feature; k = 2.
"""

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.datasets import make_blobs

#: scenario name -> (description, true number of clusters)
SCENARIOS = {
    "a": ("null, 10-d uniform, n=200", 1),
    "b": ("3 clusters in 2-d, n=100", 3),
    "c": ("4 clusters in 3-d, n=100-200", 4),
    "d": ("4 clusters in 10-d, n=100-200", 4),
    "e": ("2 elongated clusters in 3-d, n=200", 2),
}


def _separated_normal_clusters(rng, n_clusters, n_features, centre_var):
    """Clusters of 25 or 50 N(0, I) points about N(0, centre_var I) centres.

    Redraws until every pair of clusters is at least 1.0 apart (the paper's
    discard rule: the minimum distance between points of different clusters).
    """
    while True:
        sizes = rng.choice([25, 50], size=n_clusters)
        centres = rng.normal(scale=np.sqrt(centre_var), size=(n_clusters, n_features))
        parts = [
            centre + rng.standard_normal((size, n_features))
            for centre, size in zip(centres, sizes, strict=False)
        ]
        closest = min(
            cdist(parts[i], parts[j]).min()
            for i in range(n_clusters)
            for j in range(i + 1, n_clusters)
        )
        if closest >= 1.0:
            return np.vstack(parts)


def scenario(name, seed):
    """One realisation of the paper's scenario `name` ('a' to 'e') as float64."""
    rng = np.random.default_rng(seed)
    if name == "a":
        return rng.random((200, 10))
    if name == "b":
        centres = np.array([[0.0, 0.0], [0.0, 5.0], [5.0, -3.0]])
        sizes = (25, 25, 50)
        return np.vstack(
            [
                c + rng.standard_normal((s, 2))
                for c, s in zip(centres, sizes, strict=False)
            ]
        )
    if name == "c":
        return _separated_normal_clusters(rng, 4, 3, 5.0)
    if name == "d":
        return _separated_normal_clusters(rng, 4, 10, 1.9)
    if name == "e":
        t = np.linspace(-0.5, 0.5, 100)
        line = np.repeat(t[:, None], 3, axis=1)
        first = line + rng.normal(scale=0.1, size=line.shape)
        second = line + 10.0 + rng.normal(scale=0.1, size=line.shape)
        return np.vstack([first, second])
    raise ValueError(f"unknown scenario {name!r}; expected one of {sorted(SCENARIOS)}")


#: The ratio workloads of issue 3: name -> (n_samples, n_features, n_refs).
WORKLOADS = {
    "W1": (1_000, 2, 10),
    "W2": (20_000, 10, 10),
    "W3": (200_000, 10, 5),
}


def workload(name, dtype=np.float64):
    """make_blobs with 4 centres for the workload `name` (k = 1..10 is fitted)."""
    n_samples, n_features, _ = WORKLOADS[name]
    X, _ = make_blobs(
        n_samples=n_samples, n_features=n_features, centers=4, random_state=0
    )
    return X.astype(dtype)


def real_data(name):
    """A standard data set, standardised: "iris", "wine" or "digits".

    digits drops its constant pixels (64 -> 61 features) before scaling.
    """
    from sklearn.datasets import load_digits, load_iris, load_wine
    from sklearn.preprocessing import StandardScaler

    loaders = {"iris": load_iris, "wine": load_wine, "digits": load_digits}
    X = loaders[name]().data
    X = X[:, X.std(axis=0) > 0]
    return StandardScaler().fit_transform(X)


def pca_reference(X, rng):
    """A reference data set drawn as the paper's method (b), from scratch.

    Uniform over the box of the data rotated onto its principal axes, rotated
    back: the same distribution as skgap's ``reference="pca"``, drawn here so
    that the floor's inputs do not depend on skgap's internals.
    """
    mean = X.mean(axis=0)
    _, _, vt = np.linalg.svd(X - mean, full_matrices=False)
    rotated = (X - mean) @ vt.T
    low, high = rotated.min(axis=0), rotated.max(axis=0)
    return rng.uniform(low, high, size=rotated.shape) @ vt + mean
