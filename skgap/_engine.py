"""skgap's compiled k-means engine: which clusterers it runs, and their results.

The engine (``skgap/_kmeans_fast.pyx``) runs the algorithm of scikit-learn's
``KMeans(algorithm="lloyd", init="k-means++")`` for every k of one data set
in one call without the GIL. It replaces scikit-learn's fits of the default
clusterer and of a plain ``KMeans`` whose settings it supports; the chosen
clustering is handed back as a fitted :class:`~sklearn.cluster.KMeans`.
"""

from dataclasses import dataclass

import numpy as np

from ._kmeans_fast import assign, kmeans

__all__ = ["EngineSettings", "engine_fit", "engine_settings", "fitted_kmeans"]


@dataclass(frozen=True)
class EngineSettings:
    """The KMeans parameters the engine runs with."""

    n_init: int
    max_iter: int
    tol: float


def engine_settings(estimator):
    """The engine's settings for `estimator`, or None if it must run as given.

    The engine runs a :class:`~sklearn.cluster.KMeans` itself (not a subclass,
    which may override what a fit does) with ``init="k-means++"``,
    ``algorithm="lloyd"`` and ``verbose=0``; any ``n_init`` (``"auto"`` is 1
    for k-means++, as in scikit-learn), ``max_iter``, ``tol``,
    ``random_state`` (skgap seeds every fit) and ``copy_x`` (the engine never
    writes to the data).
    """
    from sklearn.cluster import KMeans

    if type(estimator) is not KMeans:
        return None
    params = estimator.get_params(deep=False)
    init = params["init"]
    if not (isinstance(init, str) and init == "k-means++"):
        return None
    if params["algorithm"] != "lloyd" or params["verbose"]:
        return None
    n_init = 1 if params["n_init"] == "auto" else int(params["n_init"])
    return EngineSettings(
        n_init=n_init, max_iter=int(params["max_iter"]), tol=float(params["tol"])
    )


@dataclass
class EngineFit:
    """The best start of each k on one data set.

    ``dispersion`` holds W_k (power 2, Euclidean) of the best labels, or is
    None if it was not asked for; ``labels`` holds them, (m, n_samples), or
    is None if not asked for.
    """

    inertia: np.ndarray
    dispersion: np.ndarray | None
    n_iter: np.ndarray
    n_distinct: np.ndarray
    centers: list
    labels: np.ndarray | None


def engine_fit(
    X, sample_weight, ks, seeds, settings, *, dispersion, labels, cancel=None
):
    """Cluster X for every k of `ks` with the engine (GIL released).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        C-contiguous float32 or float64 data, finite; read, never written.

    sample_weight : ndarray of shape (n_samples,) or None
        float64, non-negative, with a positive sum.

    ks : list of int
        Numbers of clusters, 1 <= k <= n_samples.

    seeds : list of int
        One seed per k (the starts of each k depend on its seed alone).

    settings : EngineSettings
        n_init, max_iter and tol.

    dispersion, labels : bool
        Whether to return W_k (power 2, Euclidean) and the labels of each k.

    cancel : ndarray of shape (1,) and dtype intc, default=None
        Another thread sets it to stop the call early.

    Returns
    -------
    fit : EngineFit or None
        None if `cancel` was set during the call.
    """
    m, n = len(ks), X.shape[0]
    ks_array = np.asarray(ks, dtype=np.intp)
    centers = np.empty((int(ks_array.sum()), X.shape[1]))
    fit = EngineFit(
        inertia=np.empty(m),
        dispersion=np.empty(m) if dispersion else None,
        n_iter=np.empty(m, dtype=np.intc),
        n_distinct=np.empty(m, dtype=np.intc),
        centers=[],
        labels=np.empty((m, n), dtype=np.intc) if labels else None,
    )
    finished = kmeans(
        X,
        sample_weight,
        ks_array,
        np.asarray(seeds, dtype=np.uint64),
        settings.n_init,
        settings.max_iter,
        settings.tol,
        fit.inertia,
        fit.dispersion,
        fit.n_iter,
        fit.n_distinct,
        centers,
        fit.labels,
        cancel,
    )
    if not finished:
        return None
    fit.centers = np.split(centers, np.cumsum(ks_array)[:-1])
    return fit


def engine_labels(X, centers):
    """The labels the engine gives X for `centers` (its final assignment)."""
    labels = np.empty(X.shape[0], dtype=np.intc)
    assign(X, np.ascontiguousarray(centers, dtype=np.float64), labels)
    return labels


def fitted_kmeans(estimator, X, centers, *, inertia, n_iter, seed):
    """A fitted scikit-learn KMeans holding the engine's clustering of X.

    scikit-learn fits a clone of `estimator` for one iteration on the
    engine's centres themselves, which sets every attribute its methods need
    (predict, transform, score, pickling) without copying X; the engine's
    centres, labels of X, inertia and iteration count then replace the
    results of that fit, and the clone's parameters are those of `estimator`
    with `seed` as random_state.

    The labels are the engine's own, those of its double-precision `centers`
    (its final assignment): the labels whose W_k the gap statistic used and
    whose squared distances to those centres are `inertia`. For float32 X,
    ``cluster_centers_`` are the centres rounded to float32, as scikit-learn's
    (which may assign data quantised by float32 otherwise).
    """
    from sklearn.base import clone

    labels = engine_labels(X, centers)
    kmeans_ = clone(estimator)
    params = kmeans_.get_params(deep=False)
    centers = np.asarray(centers, dtype=X.dtype)
    kmeans_.set_params(
        n_clusters=len(centers),
        init=centers,
        n_init=1,
        max_iter=1,
        copy_x=True,
        random_state=seed,
    )
    kmeans_.fit(centers.copy())
    kmeans_.set_params(
        init=params["init"],
        n_init=params["n_init"],
        max_iter=params["max_iter"],
        copy_x=params["copy_x"],
    )
    kmeans_.cluster_centers_ = centers
    kmeans_.labels_ = labels
    kmeans_.inertia_ = float(inertia)
    kmeans_.n_iter_ = int(n_iter)
    return kmeans_
