"""A drop-in for gap-stat's ``OptimalK``, computed by skgap.

``gap-stat`` 2.0.3 (the ``gap_statistic`` package) exposes a callable
``OptimalK``. :class:`OptimalK` here accepts the same constructor and call,
fills ``gap_df`` with the same column names, and computes every number with
:class:`skgap.GapKMeans`, which fixes three of gap-stat's errors: the choice of
k (gap-stat takes the argmax of the gap, not Tibshirani's rule), the spread
``sk*`` of Gap* (gap-stat measures it about the observed W_k instead of the
reference mean), and unseeded clusterers (gap-stat's results change from run to
run and with the parallel backend even with ``random_state``).
"""

import inspect
import warnings

import numpy as np
from joblib import cpu_count
from sklearn.base import BaseEstimator, ClusterMixin

from ._gap import GapKMeans
from ._utils import _check_optional_dependency
from .exceptions import SkgapWarning

__all__ = ["R_MAXSE_METHODS", "OptimalK"]

#: The name, in R's ``cluster::maxSE`` (and ``clusGap``'s print), of each rule
#: of :func:`skgap.select_k`. ``select_k`` returns a 0-based position where
#: ``maxSE`` returns the 1-based k index.
R_MAXSE_METHODS = {
    "tibshirani": "Tibs2001SEmax",
    "first_se_max": "firstSEmax",
    "global_se_max": "globalSEmax",
    "first_max": "firstmax",
    "global_max": "globalmax",
}

_BACKENDS = ("joblib", "multiprocessing", "rust")


class _CallableClusterer(ClusterMixin, BaseEstimator):
    """gap-stat's clusterer ``f(X, k, **kwargs) -> (centroids, labels)``, wrapped.

    Only the labels are used: skgap computes W_k from them. If `func` takes a
    ``random_state``, ``seed`` or ``rng`` keyword that `kwargs` does not set,
    it receives skgap's per-fit seed, so that results are reproducible.
    """

    def __init__(self, func=None, n_clusters=1, kwargs=None, random_state=None):
        self.func = func
        self.n_clusters = n_clusters
        self.kwargs = kwargs
        self.random_state = random_state

    def fit(self, X, y=None):
        kwargs = dict(self.kwargs or {})
        seed_name = _seed_parameter(self.func)
        if seed_name is not None and seed_name not in kwargs:
            kwargs[seed_name] = self.random_state
        result = self.func(X, self.n_clusters, **kwargs)
        try:
            _, labels = result
        except (TypeError, ValueError):
            raise TypeError(
                f"The clusterer {getattr(self.func, '__name__', self.func)!r} must "
                "return a tuple (centroids, labels), as gap-stat's clusterers do; "
                f"it returned {type(result).__name__}."
            ) from None
        self.labels_ = np.asarray(labels)
        return self

    def fit_predict(self, X, y=None):
        return self.fit(X).labels_


def _seed_parameter(func):
    """The keyword through which `func` takes a seed, or None."""
    try:
        parameters = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return None
    for name in ("random_state", "seed", "rng"):
        if name in parameters:
            return name
    return None


class OptimalK:
    """Drop-in for gap-stat's ``OptimalK``, computed correctly by skgap.

    A migration aid: code written for ``gap-stat`` 2.0.3
    (``from gap_statistic import OptimalK``) runs unchanged with
    ``from skgap.compat import OptimalK``. The constructor and the call take
    gap-stat's arguments, ``gap_df`` has gap-stat's columns and
    ``plot_results()`` draws gap-stat's plots, in one figure. New code should
    use :class:`skgap.GapKMeans`, a scikit-learn estimator.

    Read more in the :ref:`User Guide <migrating>`.

    .. versionadded:: 0.1

    Parameters
    ----------
    n_jobs : int, default=-1
        The number of parallel jobs, as in gap-stat (-1: all processors). Used
        when `parallel_backend` is not None.

    parallel_backend : {'joblib', 'multiprocessing', 'rust'} or None, \
default='joblib'
        gap-stat's choice of parallel engine. ``'joblib'`` and
        ``'multiprocessing'`` run `n_jobs` jobs through joblib (its backend
        is chosen by skgap, or by :func:`joblib.parallel_config`), ``'rust'``
        (gap-stat's compiled k-means) is served by skgap's default path, and
        None (or any other value, as in gap-stat) runs sequentially. The
        results are the same whatever the backend.

    clusterer : callable, default=None
        ``clusterer(X, k, **clusterer_kwargs) -> (centroids, labels)``, as in
        gap-stat. Only the labels are used (skgap computes W_k from them, so a
        clusterer without meaningful centroids works). If it has a
        ``random_state``, ``seed`` or ``rng`` parameter that
        `clusterer_kwargs` does not set, skgap passes it a seed per fit.
        None means the default clusterer of :class:`skgap.GapKMeans`,
        scikit-learn's ``KMeans``, seeded from `random_state` (gap-stat used
        an unseeded :func:`scipy.cluster.vq.kmeans2`).

    clusterer_kwargs : dict, default=None
        Extra keyword arguments of `clusterer`.

    n_iter : int, default=10
        Accepted for compatibility; gap-stat used it only with the ``'rust'``
        backend. Ignored.

    random_state : int or None, default=None
        Seeds the reference data and every clusterer fit: the same value gives
        the same `gap_df` whatever `n_jobs` and `parallel_backend`.

    method : str, default='tibshirani'
        The rule that chooses k; see :func:`skgap.select_k`. Not in gap-stat,
        which took the argmax of the gap: pass ``method="global_max"`` to
        reproduce that choice.

    reference : {'uniform', 'pca'} or callable, default='uniform'
        The reference distribution. Not in gap-stat, which drew each feature
        uniformly over its range (``'uniform'``, kept as the default here so
        that numbers match). :class:`skgap.GapKMeans` defaults to ``'pca'``.

    Attributes
    ----------
    gap_df : pandas.DataFrame or None
        One row per candidate k with gap-stat's columns ``n_clusters``,
        ``gap_value``, ``ref_dispersion_std``, ``sk``, ``gap*``, ``sk*``,
        ``diff`` and ``diff*``, then skgap's ``log_w``, ``expected_log_w``
        and ``sd``.
        None before the first call.

    n_clusters : int
        The chosen number of clusters (after a call).

    estimator_ : GapKMeans
        The fitted :class:`skgap.GapKMeans` behind the last call.

    See Also
    --------
    skgap.GapKMeans : The scikit-learn estimator that computes everything.

    Notes
    -----
    The columns are those of gap-stat, computed by skgap as the paper says:
    ``gap_value`` is the gap, ``sk`` its standard error
    sd * sqrt(1 + 1/B), ``gap*`` is mean_b W*_kb - W_k,
    ``ref_dispersion_std`` the standard deviation of the W*_kb, and ``sk*``
    = ``ref_dispersion_std`` * sqrt(1 + 1/B). gap-stat computed ``sk*`` from
    the deviations of the W*_kb from the observed W_k, which grows with Gap*
    itself, so its ``sk*`` and ``diff*`` differ from these. Its
    ``gap_value``, ``sk`` and ``diff`` agree with these up to the random
    draws, as both use the uniform reference and W_k = the within-cluster sum
    of squares.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from skgap.compat import OptimalK
    >>> X, _ = make_blobs(n_samples=300, centers=3, random_state=25)
    >>> optimalK = OptimalK(parallel_backend=None, random_state=0)
    >>> optimalK(X, cluster_array=np.arange(1, 8))
    3
    >>> list(optimalK.gap_df.columns[:8])
    ['n_clusters', 'gap_value', 'ref_dispersion_std', 'sk', 'gap*', 'sk*', \
'diff', 'diff*']
    """

    gap_df = None

    def __init__(
        self,
        n_jobs=-1,
        parallel_backend="joblib",
        clusterer=None,
        clusterer_kwargs=None,
        n_iter=10,
        random_state=None,
        *,
        method="tibshirani",
        reference="uniform",
    ):
        self.n_jobs = n_jobs
        self.parallel_backend = parallel_backend
        self.clusterer = clusterer
        self.clusterer_kwargs = clusterer_kwargs
        self.n_iter = n_iter
        self.random_state = random_state
        self.method = method
        self.reference = reference

    def __call__(self, X, n_refs=3, cluster_array=()):
        """Choose the number of clusters of X, as gap-stat's ``OptimalK`` call.

        Parameters
        ----------
        X : array-like or pandas.DataFrame of shape (n_samples, n_features)
            The data.

        n_refs : int, default=3
            The number B of reference data sets (gap-stat's default is 3;
            skgap's is 20, and more give steadier standard errors).

        cluster_array : iterable of int, default=()
            The candidate numbers of clusters; gap-stat requires at least one.

        Returns
        -------
        n_clusters : int
            The chosen number of clusters.
        """
        if self.clusterer is not None and self.parallel_backend == "rust":
            raise ValueError(
                "Cannot use 'rust' backend with a user defined clustering function, "
                "only KMeans is supported on the rust implementation"
            )
        ks = np.array(list(cluster_array)).astype(int)
        if ks.shape[0] == 0:
            raise ValueError("The supplied cluster_array has no values.")
        if np.any(ks < 1):
            raise ValueError(f"cluster_array contains values less than 1: {ks[ks < 1]}")
        if self.clusterer is None:
            estimator = None
        else:
            if not callable(self.clusterer):
                raise TypeError(
                    "clusterer must be a callable clusterer(X, k, **kwargs) -> "
                    f"(centroids, labels), got {type(self.clusterer).__name__}."
                )
            estimator = _CallableClusterer(self.clusterer, kwargs=self.clusterer_kwargs)
        if self.parallel_backend not in _BACKENDS:
            n_jobs = 1
        elif not 1 <= self.n_jobs <= cpu_count():
            n_jobs = -1  # as gap-stat: out of range means every processor
        else:
            n_jobs = self.n_jobs
        if self.n_iter != 10:
            warnings.warn(
                "n_iter is ignored: gap-stat used it only for its 'rust' backend.",
                SkgapWarning,
                stacklevel=2,
            )
        gap = GapKMeans(
            estimator,
            n_clusters_range=[int(k) for k in ks],
            n_refs=n_refs,
            reference=self.reference,
            method=self.method,
            n_jobs=n_jobs,
            random_state=self.random_state,
        )
        gap.fit(X)
        self.estimator_ = gap
        self.gap_df = self._gap_df(gap)
        self.n_clusters = int(gap.n_clusters_)
        return self.n_clusters

    @staticmethod
    def _gap_df(gap):
        pd = _check_optional_dependency("pandas", "pandas", "OptimalK.gap_df")
        results = gap.gap_results_
        return pd.DataFrame(
            {
                "n_clusters": results["n_clusters"],
                "gap_value": results["gap"],
                "ref_dispersion_std": gap.reference_dispersions_.std(axis=0),
                "sk": results["se"],
                "gap*": results["gap_star"],
                "sk*": results["se_star"],
                "diff": results["diff"],
                "diff*": results["diff_star"],
                "log_w": results["log_w"],
                "expected_log_w": results["expected_log_w"],
                "sd": results["sd"],
            }
        )

    def plot_results(self, ax=None):
        """Plot the gap, log W, diff and Gap* curves of the last call in one figure.

        gap-stat drew four figures, each with ``plt.show()``; this draws the
        figure of :class:`~skgap.plotting.GapStatisticDisplay` with
        ``kind="all"`` and shows nothing.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to divide into the grid of ``kind="all"``; None creates a new
            figure.

        Returns
        -------
        display : GapStatisticDisplay
            The display; its ``figure_`` is the figure.
        """
        if getattr(self, "estimator_", None) is None:
            raise ValueError(
                "No results to plot: call the OptimalK instance on data first."
            )
        from .plotting import GapStatisticDisplay

        return GapStatisticDisplay.from_estimator(self.estimator_, kind="all", ax=ax)

    def __repr__(self):
        backend = self.parallel_backend
        return f'OptimalK(n_jobs={self.n_jobs}, parallel_backend="{backend}")'

    __str__ = __repr__

    def _repr_html_(self):
        return f"<p>{self}</p>"
