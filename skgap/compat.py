"""A drop-in for gap-stat's ``OptimalK``, computed by skgap.

``gap-stat`` 2.0.3 (the ``gap_statistic`` package) exposes a callable
``OptimalK``. :class:`OptimalK` here behaves as it wherever a client can
observe it: the constructor and its normalised attributes, the call and its
exceptions, the calls to a user's clusterer, ``gap_df`` (columns and dtypes),
the choice of k and ``plot_results``. Beneath, skgap draws and seeds the
reference data sets (results repeat with ``random_state`` whatever the
backend), runs the default clusterer on its compiled k-means engine, and
computes the spread ``sk*`` of Gap* about the reference mean, where gap-stat
measured it about the observed W_k.
"""

import inspect
import os
from numbers import Integral

import numpy as np
from sklearn.utils import check_array, check_random_state
from sklearn.utils.parallel import Parallel, delayed

from ._fits import fit_seeds, reference_draw_seed
from ._gap import GapKMeans
from ._reference import make_reference_sampler
from ._selection import RULES, select_k
from ._utils import _check_optional_dependency, warn_caller
from ._validation import _explain_input_errors
from .exceptions import InvalidInputError, SkgapWarning

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

#: gap-stat's columns of ``gap_df``, in its order.
_COLUMNS = (
    "n_clusters",
    "gap_value",
    "ref_dispersion_std",
    "sk",
    "gap*",
    "sk*",
    "diff",
    "diff*",
)


def _cpu_count():
    # gap-stat's multiprocessing.cpu_count(), without its NotImplementedError
    return os.cpu_count() or 1


def _normalise_n_jobs(n_jobs, parallel_backend):
    """gap-stat's n_jobs: out of [1, cpu count] means every CPU; 1 without a
    backend. None (scikit-learn's default: joblib's context decides) stays."""
    if parallel_backend is None:
        return 1
    if n_jobs is None:
        return None
    if not isinstance(n_jobs, Integral) or isinstance(n_jobs, bool):
        raise InvalidInputError(
            f"n_jobs must be an int (-1 for every CPU) or None, got {n_jobs!r} of "
            f"type {type(n_jobs).__name__}."
        )
    n_cpus = _cpu_count()
    return int(n_jobs) if 1 <= n_jobs <= n_cpus else n_cpus


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


def _cluster_array(cluster_array):
    """gap-stat's ``np.array(list(cluster_array)).astype(int)``, or a clear error."""
    try:
        values = list(cluster_array)
    except TypeError:
        raise InvalidInputError(
            "cluster_array must be an iterable of integers, such as "
            f"np.arange(1, 10), got {type(cluster_array).__name__}."
        ) from None
    try:
        ks = np.array(values)
        if ks.ndim == 1:
            ks = ks.astype(int)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            "cluster_array must hold integers (the numbers of clusters to try), "
            f"such as np.arange(1, 10); converting it failed: {exc}"
        ) from None
    if ks.ndim != 1:
        raise InvalidInputError(
            "cluster_array must be a flat sequence of integers (the numbers of "
            f"clusters to try), such as np.arange(1, 10), got an array of shape "
            f"{ks.shape}; flatten it or pass one of its rows."
        )
    return ks


def _dispersion_to_centroids(X, labels, centroids, func):
    """gap-stat's W_k: sum_i ||x_i - centroids[labels_i]||^2.

    A clusterer returning ``None`` for the centroids is measured to the means
    of its clusters (gap-stat fails there).
    """
    name = getattr(func, "__name__", repr(func))
    labels = np.asarray(labels)
    if labels.shape != (X.shape[0],) or labels.dtype.kind not in "iub":
        raise InvalidInputError(
            f"The clusterer {name!r} must return integer labels, one per sample "
            f"({X.shape[0]}), got an array of shape {labels.shape} and dtype "
            f"{labels.dtype}."
        )
    labels = labels.astype(np.intp, copy=False)
    if centroids is None:
        _, labels = np.unique(labels, return_inverse=True)
        counts = np.bincount(labels)
        centroids = np.zeros((counts.shape[0], X.shape[1]))
        np.add.at(centroids, labels, X)
        centroids /= counts[:, np.newaxis]
    centroids = np.asarray(centroids, dtype=np.float64)
    if centroids.ndim != 2 or centroids.shape[1] != X.shape[1]:
        raise InvalidInputError(
            f"The clusterer {name!r} must return centroids of shape (k, "
            f"{X.shape[1]}) (one row per cluster), got shape {centroids.shape}."
        )
    if (
        labels.size
        and not -centroids.shape[0]
        <= labels.min()
        <= labels.max()
        < (centroids.shape[0])
    ):
        raise InvalidInputError(
            f"The clusterer {name!r} returned labels from {labels.min()} to "
            f"{labels.max()} for {centroids.shape[0]} centroids: each label must "
            "be the row of its cluster's centroid."
        )
    residuals = X - centroids[labels]
    return float(np.einsum("ij,ij->", residuals, residuals))


def _call_clusterer(func, X, k, kwargs, seed_name, seed):
    """W_k of X clustered by the user's ``func(X, k, **kwargs)``."""
    if seed_name is not None:
        kwargs = {**kwargs, seed_name: seed}
    result = func(X, int(k), **kwargs)
    try:
        centroids, labels = result
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"The clusterer {getattr(func, '__name__', func)!r} must return a "
            "tuple (centroids, labels), as gap-stat's clusterers do; it returned "
            f"{type(result).__name__}."
        ) from None
    return _dispersion_to_centroids(X, labels, centroids, func)


def _gap_stat_fits(func, kwargs, X, sampler, entropy, k, n_refs):
    """W_k and the n_refs W*_kb at k, as gap-stat's ``_calculate_gap``.

    The clusterer is called on each reference data set, then on the data,
    each time with a writable array of its own (a reference set is drawn from
    skgap's seed of it; the data are a copy of X).
    """
    seed_name = _seed_parameter(func)
    if seed_name in kwargs:
        seed_name = None
    reference_dispersions = np.empty(n_refs)
    for b in range(n_refs):
        reference = sampler.sample(reference_draw_seed(entropy, b))
        seed = fit_seeds(entropy, b, [k])[0]
        reference_dispersions[b] = _call_clusterer(
            func, reference, k, kwargs, seed_name, seed
        )
    seed = fit_seeds(entropy, -1, [k])[0]
    dispersion = _call_clusterer(func, X.copy(), k, kwargs, seed_name, seed)
    return dispersion, reference_dispersions


class OptimalK:
    """Drop-in for gap-stat's ``OptimalK``, computed by skgap.

    A migration aid: code written for ``gap-stat`` 2.0.3
    (``from gap_statistic import OptimalK``) runs unchanged with
    ``from skgap.compat import OptimalK``, and sees what gap-stat showed: its
    exceptions, its calls to the clusterer, ``gap_df``'s columns and dtypes,
    the largest gap's k, plots drawn into the current figure. New code should
    use :class:`skgap.GapKMeans`, a scikit-learn estimator.

    Read more in the :ref:`User Guide <migrating>`.

    .. versionadded:: 0.1

    Parameters
    ----------
    n_jobs : int or None, default=-1
        The number of parallel jobs. As in gap-stat, a value outside
        [1, number of CPUs] is stored (and read back) as the number of CPUs,
        and `parallel_backend` None stores 1. None (not accepted by gap-stat)
        lets :func:`joblib.parallel_config` decide, as in scikit-learn.

    parallel_backend : {'joblib', 'multiprocessing', 'rust'} or None, \
default='joblib'
        gap-stat's choice of parallel engine; any other value is stored as
        None, as in gap-stat. ``'joblib'`` and ``'multiprocessing'`` run
        `n_jobs` jobs through joblib, ``'rust'`` (gap-stat's compiled
        k-means) is served by skgap's compiled engine, and None runs
        sequentially. The results are the same whatever the backend.

    clusterer : callable, default=None
        ``clusterer(X, k, **clusterer_kwargs) -> (centroids, labels)``, as in
        gap-stat: called at every k of `cluster_array` (k = 1 included), on
        each reference data set and then the data, each time with a writable
        array of its own (the caller's X is never modified). W_k is the sum
        of squared distances of the samples to the centroids of their labels,
        as in gap-stat (``None`` centroids: the means of the clusters). If
        it has a ``random_state``, ``seed`` or ``rng`` parameter that
        `clusterer_kwargs` does not set, it receives a seed per fit. None
        means scikit-learn's ``KMeans`` on skgap's compiled engine, seeded
        from `random_state` (gap-stat used an unseeded
        :func:`scipy.cluster.vq.kmeans2`). A clusterer with the ``'rust'``
        backend raises a ValueError, as in gap-stat.

    clusterer_kwargs : dict, default=None
        Extra keyword arguments of `clusterer`; stored as ``{}`` if None.

    n_iter : int, default=10
        Accepted for compatibility; gap-stat used it only with the ``'rust'``
        backend. Ignored.

    random_state : int, RandomState instance or None, default=None
        Seeds the reference data and every clusterer fit: an int gives the
        same `gap_df` at every call, whatever `n_jobs` and
        `parallel_backend`.

    method : str, default=None
        None chooses k as gap-stat did, the largest gap, and warns (a
        :class:`~skgap.exceptions.SkgapWarning`) when the rule of Tibshirani
        et al. (2001) would choose another k. A rule of
        :func:`skgap.select_k` (e.g. ``"tibshirani"``, the paper's and
        :class:`skgap.GapKMeans`'s default) chooses with that rule, silently.
        Not in gap-stat.

    reference : {'uniform', 'pca'} or callable, default='uniform'
        The reference distribution. Not in gap-stat, which drew each feature
        uniformly over its range (``'uniform'``, kept as the default here).
        :class:`skgap.GapKMeans` defaults to ``'pca'``.

    Attributes
    ----------
    gap_df : pandas.DataFrame or None
        One row per entry of `cluster_array` (a repeated k gets a row each),
        sorted by k, with gap-stat's columns and dtypes (all float64):
        ``n_clusters``, ``gap_value``, ``ref_dispersion_std``, ``sk``,
        ``gap*``, ``sk*``, ``diff`` and ``diff*``. None before the first
        call.

    n_clusters : int
        The chosen number of clusters (after a call).

    estimator_ : GapKMeans or None
        The fitted :class:`skgap.GapKMeans` behind the last call with the
        default clusterer; None with a user's `clusterer`, whose protocol
        (centroids, labels) the shim runs itself.

    See Also
    --------
    skgap.GapKMeans : The scikit-learn estimator that computes everything.

    Notes
    -----
    The numbers are those of gap-stat up to the random draws (both use the
    uniform reference): ``gap_value`` is mean_b log W*_kb - log W_k, ``sk``
    its standard error sd * sqrt(1 + 1/B), ``gap*`` is mean_b W*_kb - W_k,
    ``ref_dispersion_std`` the standard deviation of the W*_kb, ``diff`` is
    Gap(k) - Gap(k') + sk(k') for the next row k'. What differs, where
    gap-stat was wrong:

    - ``sk*`` = ``ref_dispersion_std`` * sqrt(1 + 1/B). gap-stat measured
      the deviations of the W*_kb from the observed W_k, which grow with
      Gap* itself, so its ``sk*`` and ``diff*`` differ from these.
    - Every reference data set b is drawn once and shared by every k (gap-stat
      drew new ones per k), and every draw and fit is seeded: results repeat
      with an int `random_state` at every call and with every backend.
    - ``diff`` relates each row to the next one of the table sorted by k;
      gap-stat related it to the next k of `cluster_array` as given, which is
      the same when `cluster_array` is sorted.
    - A k larger than the number of samples is dropped with a warning (gap-stat
      failed inside its clusterer).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from skgap.compat import OptimalK
    >>> X, _ = make_blobs(n_samples=300, centers=3, random_state=25)
    >>> optimalK = OptimalK(parallel_backend=None, random_state=0)
    >>> optimalK(X, cluster_array=np.arange(1, 8))
    3
    >>> list(optimalK.gap_df.columns)
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
        method=None,
        reference="uniform",
    ):
        if clusterer is not None and parallel_backend == "rust":
            raise ValueError(
                "Cannot use 'rust' backend with a user defined clustering function, "
                "only KMeans is supported on the rust implementation"
            )
        if clusterer is not None and not callable(clusterer):
            raise InvalidInputError(
                "clusterer must be a callable clusterer(X, k, **kwargs) -> "
                f"(centroids, labels), got {type(clusterer).__name__}."
            )
        if method is not None and method not in RULES:
            raise InvalidInputError(
                f"method must be None (gap-stat's choice: the largest gap) or one "
                f"of {sorted(RULES)}, got {method!r}."
            )
        self.parallel_backend = (
            parallel_backend if parallel_backend in _BACKENDS else None
        )
        self.n_iter = n_iter
        self.n_jobs = _normalise_n_jobs(n_jobs, parallel_backend)
        self.clusterer = clusterer
        self.clusterer_kwargs = clusterer_kwargs or {}
        self.random_state = random_state
        self.method = method
        self.reference = reference

    def __call__(self, X, n_refs=3, cluster_array=()):
        """Choose the number of clusters of X, as gap-stat's ``OptimalK`` call.

        Parameters
        ----------
        X : array-like or pandas.DataFrame of shape (n_samples, n_features)
            The data. It is not modified.

        n_refs : int, default=3
            The number B of reference data sets (gap-stat's default is 3;
            skgap's is 20, and more give steadier standard errors).

        cluster_array : iterable of int, default=()
            The candidate numbers of clusters, as gap-stat: at least one, none
            below 1, no more of them than samples; a repeated k is computed
            (and gets a row of `gap_df`) each time.

        Returns
        -------
        n_clusters : int
            The chosen number of clusters: the k of the largest gap, unless
            `method` names a rule.
        """
        ks = _cluster_array(cluster_array)
        if np.any(ks < 1):
            raise ValueError(f"cluster_array contains values less than 1: {ks[ks < 1]}")
        with _explain_input_errors(X):
            data = check_array(X, dtype=[np.float64, np.float32], order="C")
        if ks.shape[0] > data.shape[0]:
            raise ValueError(
                f"The number of suggested clusters to try ({ks.shape[0]}) is "
                f"larger than samples in dataset. ({data.shape[0]})"
            )
        if not ks.shape[0]:
            raise ValueError("The supplied cluster_array has no values.")

        n_jobs = 1 if self.parallel_backend is None else self.n_jobs
        ks = np.sort(ks, kind="stable")
        if self.clusterer is None:
            ks, columns = self._fit_default(X, ks, n_refs, n_jobs)
        else:
            ks, columns = self._fit_clusterer(data, ks, n_refs, n_jobs)
        self.gap_df = self._gap_df(ks, columns)
        self.n_clusters = self._choose()
        return self.n_clusters

    def _fit_default(self, X, ks, n_refs, n_jobs):
        """The statistics at the ks by GapKMeans (compiled k-means engine)."""
        unique = np.unique(ks)
        gap = GapKMeans(
            n_clusters_range=[int(k) for k in unique],
            n_refs=n_refs,
            reference=self.reference,
            method="global_max" if self.method is None else self.method,
            n_jobs=n_jobs,
            random_state=self.random_state,
        ).fit(X)
        self.estimator_ = gap
        results = gap.gap_results_
        fitted = results["n_clusters"]
        ks = ks[np.isin(ks, fitted)]  # GapKMeans dropped k > n_samples
        rows = np.searchsorted(fitted, ks)
        columns = {
            "gap_value": results["gap"][rows],
            "ref_dispersion_std": gap.reference_dispersions_.std(axis=0)[rows],
            "sk": results["se"][rows],
            "gap*": results["gap_star"][rows],
            "sk*": results["se_star"][rows],
        }
        return ks, columns

    def _fit_clusterer(self, X, ks, n_refs, n_jobs):
        """The statistics at the ks with the user's clusterer, as gap-stat."""
        self.estimator_ = None
        if not isinstance(n_refs, Integral) or isinstance(n_refs, bool) or n_refs < 1:
            raise InvalidInputError(f"n_refs must be a positive int, got {n_refs!r}.")
        too_large = ks > X.shape[0]
        if np.any(too_large):
            warn_caller(
                "Dropped the candidate numbers of clusters "
                f"{sorted({int(k) for k in ks[too_large]})}: they are larger than "
                f"n_samples={X.shape[0]}.",
                SkgapWarning,
            )
            ks = ks[~too_large]
            if not ks.shape[0]:
                raise InvalidInputError(
                    f"Every candidate number of clusters is larger than "
                    f"n_samples={X.shape[0]}; pass k <= {X.shape[0]}."
                )
        sampler = make_reference_sampler(self.reference, X)
        entropy = int(check_random_state(self.random_state).randint(2**31 - 1))
        fits = Parallel(n_jobs=n_jobs)(
            delayed(_gap_stat_fits)(
                self.clusterer,
                dict(self.clusterer_kwargs or {}),
                X,
                sampler,
                entropy,
                int(k),
                int(n_refs),
            )
            for k in ks
        )
        dispersions = np.array([w for w, _ in fits])
        reference = np.array([w_star for _, w_star in fits]).T  # (B, m)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_reference = np.log(reference)
            expected = log_reference.mean(axis=0)
            sd = np.sqrt(np.mean((log_reference - expected) ** 2, axis=0))
            scale = np.sqrt(1.0 + 1.0 / n_refs)
            columns = {
                "gap_value": expected - np.log(dispersions),
                "ref_dispersion_std": reference.std(axis=0),
                "sk": sd * scale,
                "gap*": reference.mean(axis=0) - dispersions,
                "sk*": reference.std(axis=0) * scale,
            }
        return ks, columns

    @staticmethod
    def _gap_df(ks, columns):
        pd = _check_optional_dependency("pandas", "pandas", "OptimalK.gap_df")
        table = {"n_clusters": ks.astype(np.float64), **columns}
        for statistic, se, diff in (
            ("gap_value", "sk", "diff"),
            ("gap*", "sk*", "diff*"),
        ):
            values = np.full(ks.shape[0], np.nan)
            with np.errstate(invalid="ignore"):
                values[:-1] = (
                    table[statistic][:-1] - table[statistic][1:] + table[se][1:]
                )
            table[diff] = values
        return pd.DataFrame({name: table[name] for name in _COLUMNS})

    def _choose(self):
        """gap-stat's k (the largest gap) or the rule's; warn where they differ."""
        df = self.gap_df
        ks = df["n_clusters"].to_numpy()
        first = np.unique(ks, return_index=True)[1]  # one row per k for the rules
        values, se = df["gap_value"].to_numpy()[first], df["sk"].to_numpy()[first]
        unique = ks[first].astype(int)
        if self.method is not None:
            return int(unique[select_k(values, se, method=self.method)])
        # gap-stat: the first row of the largest gap (over every row)
        chosen = int(
            ks[select_k(df["gap_value"], df["sk"].fillna(0), method="global_max")]
        )
        paper = int(unique[select_k(values, se, method="tibshirani")])
        if paper != chosen:
            warn_caller(
                f"OptimalK chose k={chosen}, the largest gap, as gap-stat does; "
                "the rule of Tibshirani et al. (2001), the smallest k with "
                f"Gap(k) >= Gap(k+1) - s(k+1), chooses k={paper}. Pass "
                'method="tibshirani" to OptimalK to choose by the paper\'s rule '
                '(as skgap.GapKMeans does), or method="global_max" to keep this '
                "choice without this warning.",
                SkgapWarning,
            )
        return chosen

    def plot_results(self, ax=None):
        """Plot gap-stat's four curves of the last call into the current figure.

        gap-stat drew the gap (the chosen k in red), diff, Gap* (its largest
        value in red) and diff* one after the other with ``plt.show()``
        after each; here they are the four panels of a 2 x 2 grid in the
        current figure (:func:`matplotlib.pyplot.gcf`), with gap-stat's
        titles, labels and markers, and nothing is shown: ``plt.figure();
        optimalK.plot_results(); plt.savefig(...)`` saves them. The grid
        fills the figure if it has no Axes, else takes the place of the
        current Axes (as :func:`matplotlib.pyplot.subplot` does).

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes whose place the grid takes instead of the current one. Not in
            gap-stat.

        Returns
        -------
        None
            As gap-stat. Before a first call nothing is drawn and a
            :class:`~skgap.exceptions.SkgapWarning` says so (gap-stat printed
            it).
        """
        if self.gap_df is None:
            warn_caller(
                "No results to plot: OptimalK not called yet. Call the OptimalK "
                "instance on data first, e.g. optimalK(X, cluster_array=range(1, 11)).",
                SkgapWarning,
            )
            return None
        _check_optional_dependency("matplotlib", "plot", "OptimalK.plot_results")
        import matplotlib.pyplot as plt

        if ax is None:
            figure = plt.gcf()
            ax = figure.gca() if figure.axes else None
        else:
            figure = ax.figure
        if ax is None:
            if figure.get_layout_engine() is None:
                figure.set_layout_engine("constrained")
            grid = figure.add_gridspec(2, 2)
        else:
            spec = ax.get_subplotspec()
            if spec is not None:
                grid = spec.subgridspec(2, 2)
            else:
                left, bottom, width, height = ax.get_position().bounds
                grid = figure.add_gridspec(
                    2,
                    2,
                    left=left,
                    bottom=bottom,
                    right=left + width,
                    top=bottom + height,
                )
            ax.remove()
        axes = grid.subplots().ravel()
        df = self.gap_df
        chosen = df[df["n_clusters"] == self.n_clusters]
        best_star = df.loc[df[df["gap*"] == df["gap*"].max()].index[:1]]
        panels = (
            ("gap_value", "Gap", chosen),
            ("diff", "Diff", None),
            ("gap*", "Gap*", best_star),
            ("diff*", "Diff*", None),
        )
        for panel, (column, name, marked) in zip(axes, panels, strict=True):
            panel.plot(df["n_clusters"], df[column], linewidth=3)
            if marked is not None:
                panel.scatter(marked["n_clusters"], marked[column], s=250, c="r")
            panel.grid(True)
            panel.set_xlabel("Cluster Count")
            panel.set_ylabel(f"{name} Value")
            panel.set_title(f"{name} Values by Cluster Count")
        plt.sca(axes[-1])
        return None

    def __str__(self):
        backend = self.parallel_backend
        return f'OptimalK(n_jobs={self.n_jobs}, parallel_backend="{backend}")'

    def __repr__(self):
        return self.__str__()

    def _repr_html_(self):
        return f"<p>{self}</p>"
