"""GapKMeans: choose the number of clusters with the gap statistic."""

import copy
import hashlib
import os
import pickle
import sys
import time
import warnings
from collections.abc import Iterable
from functools import cache
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn import config_context, get_config
from sklearn.base import BaseEstimator, ClusterMixin, MetaEstimatorMixin, clone
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import ThreadpoolController

from ._dispersion import _dispersion
from ._faults import (
    WORKER_DIED,
    fit_label,
    record_warnings,
    warn_summary,
    worker_died_error,
)
from ._reference import REFERENCES, make_reference_sampler
from ._selection import RULES, STATISTICS, _gap_statistics, select_k
from ._utils import (
    HasMethods,
    Interval,
    StrOptions,
    _check_optional_dependency,
    _default_estimator,
    _estimator_has,
    _fit_context,
    _n_clusters_param,
    _random_state_params,
    _validate_clusterer_params,
)
from ._validation import _check_magnitude, _explain_input_errors
from .exceptions import ClustererFitError, SkgapWarning

__all__ = ["GapKMeans"]

# Seed streams: one seed per (stream, reference b, k), independent of how many
# references and candidates there are, so results never depend on n_jobs.
_DATA_FIT, _REFERENCE_DRAW, _REFERENCE_FIT = 0, 1, 2


def _seed(entropy, stream, b, k):
    """A 32-bit seed for one draw or fit, derived from the fit's entropy."""
    sequence = np.random.SeedSequence(entropy, spawn_key=(stream, b, k))
    return int(sequence.generate_state(1)[0])


@cache
def _threadpool_controller():
    """One controller per process: building one scans the loaded libraries."""
    return ThreadpoolController()


def _configure(estimator, n_clusters_param, k, seed):
    """A clone of `estimator` with k clusters and every random_state seeded."""
    estimator = clone(estimator)
    params = {n_clusters_param: k}
    params.update(dict.fromkeys(_random_state_params(estimator), seed))
    return estimator.set_params(**params)


_SCALARS = (int, float, str, bool, type(None))


def _configurer(estimator, n_clusters_param, fixed=None):
    """A fast `_configure` for many fits of one estimator: ``(k, seed) -> clone``.

    `fixed` are further parameters set on every clone.

    Cloning goes through ``get_params``, whose signature inspection costs
    about as much as a small k-means fit. When the parameters to set are
    top-level and the estimator keeps ``BaseEstimator.set_params`` (what
    ``set_params`` then does is ``setattr``), a deep copy of one clone with
    the two attributes set is the same unfitted estimator, ~7 x cheaper.
    """
    template = clone(estimator).set_params(**(fixed or {}))
    random_state_params = _random_state_params(template)
    names = [n_clusters_param, *random_state_params]
    if any("__" in name for name in names) or (
        type(template).set_params is not BaseEstimator.set_params
    ):
        return lambda k, seed: _configure(template, n_clusters_param, k, seed)
    try:
        copy.deepcopy(template)
    except Exception:  # an attribute that cannot be copied, e.g. a lock
        return lambda k, seed: _configure(template, n_clusters_param, k, seed)

    def configure(k, seed):
        # copy.deepcopy(template), without recursing into immutable scalars
        clusterer = copy.copy(template)
        clusterer.__dict__ = {
            key: value if isinstance(value, _SCALARS) else copy.deepcopy(value)
            for key, value in template.__dict__.items()
        }
        setattr(clusterer, n_clusters_param, k)
        for name in random_state_params:
            setattr(clusterer, name, seed)
        return clusterer

    return configure


def _centres_in_place(estimator):
    """Whether `estimator` may centre skgap's own reference data in place.

    With ``copy_x=False``, KMeans and BisectingKMeans subtract the mean from
    their input and add it back, instead of copying it: the same clustering,
    without a copy of the data per fit (tests/test_gap.py checks it).
    """
    from sklearn.cluster import BisectingKMeans, KMeans

    return isinstance(estimator, (KMeans, BisectingKMeans))


def _copy_x(estimator):
    """The estimator's top-level ``copy_x`` parameter, or None if it has none."""
    return estimator.get_params(deep=False).get("copy_x")


def _fit_labels(estimator, X):
    """Fit `estimator` on X and return its labels (fit_predict, labels_ or predict)."""
    if hasattr(estimator, "fit_predict"):
        return estimator.fit_predict(X)
    estimator.fit(X)
    if hasattr(estimator, "labels_"):
        return estimator.labels_
    return estimator.predict(X)


def _checked_labels(labels, n_samples):
    labels = np.asarray(labels)
    if labels.dtype.kind == "O":  # e.g. Python ints: accept exact integers
        try:
            converted = labels.astype(np.int64)
        except (TypeError, ValueError, OverflowError):
            converted = None
        if converted is not None and np.array_equal(converted, labels):
            labels = converted
    if labels.dtype.kind == "b" or (
        labels.dtype.kind == "f"
        and np.all(np.isfinite(labels))
        and np.all(labels == np.round(labels))
    ):
        labels = labels.astype(np.intp)  # integral labels of another dtype
    if labels.shape != (n_samples,) or labels.dtype.kind not in "iu":
        raise ValueError(
            f"the clusterer returned labels of shape {labels.shape} and dtype "
            f"{labels.dtype}; expected {n_samples} integer labels"
        )
    if n_samples and labels.min() < 0:
        raise ValueError(
            f"the clusterer returned the negative label {labels.min()}; every "
            "sample must belong to a cluster"
        )
    return labels


def _fit_dataset(
    estimator,
    n_clusters_param,
    ks,
    fit_seeds,
    power,
    *,
    X=None,
    sampler=None,
    sample_seed=None,
    keep_estimators=False,
    dataset="the data",
):
    """Cluster one data set (X, or reference drawn from its seed) for every k.

    The joblib worker: it runs single-threaded (one thread per task, parallel
    across tasks) and returns the dispersions, the ks whose clustering had
    fewer distinct labels than k, and, if asked, the fitted estimators and
    their labels.
    """
    copy_x = _copy_x(estimator)
    # A reference set that can be redrawn from its seed may be centred in place
    # by KMeans (copy_x=False) and redrawn after each fit, which costs less
    # than KMeans' copy of it and saves that copy's memory (X.nbytes per fit).
    redraw = (
        X is None
        and copy_x is not None
        and _centres_in_place(estimator)
        and getattr(sampler, "draws_in_place", False)
    )
    if X is None:
        X = sampler.sample(sample_seed)
    if not redraw:
        # Read-only: a clusterer that modifies its input would change the
        # caller's X (shared, not copied, here) and the data of the next k.
        X = X.view()
        X.flags.writeable = False
    dispersions = np.empty(len(ks))
    fitted, short_ks = [], []
    # The caller's X is never centred in place, whatever copy_x says.
    fixed = None if copy_x is None else {"copy_x": not redraw}
    configure = _configurer(estimator, n_clusters_param, fixed)
    for i, (k, seed) in enumerate(zip(ks, fit_seeds, strict=True)):
        if k == 1:
            labels = np.zeros(X.shape[0], dtype=np.intp)
        else:
            clusterer = configure(k, seed)
            try:
                with fit_label(dataset, k):
                    labels = _fit_labels(clusterer, X)
                labels = _checked_labels(labels, X.shape[0])
            except Exception as exc:
                hint = (
                    " (skgap passes the data read-only: a clusterer must not "
                    "modify its input; copy X inside fit if it must)"
                    if "read-only" in str(exc)
                    else ""
                )
                raise ClustererFitError(
                    f"{type(estimator).__name__} failed to cluster {dataset} "
                    f"into k={k} clusters: {type(exc).__name__}: {exc}{hint}",
                    k=k,
                    dataset=dataset,
                    original=_picklable(exc),
                ) from exc
            if redraw:  # KMeans added the mean back within rounding: redraw
                sampler.sample(sample_seed, out=X)
            if keep_estimators:
                if copy_x is not None:  # the caller's parameters, as given
                    clusterer.set_params(copy_x=copy_x)
                fitted.append((clusterer, labels))
            n_found = np.unique(labels).shape[0]
            if n_found > k:
                with fit_label(dataset, k):  # summarised by the caller
                    warnings.warn(
                        f"The clusterer returned more distinct clusters than "
                        f"{n_clusters_param}: it does not honour the number of "
                        "clusters it is given, and W_k is that of the clusters "
                        "it found.",
                        SkgapWarning,
                        stacklevel=2,
                    )
            if n_found < k:
                short_ks.append(k)
        dispersions[i] = _dispersion(X, labels, power)
    return dispersions, short_ks, fitted


def _as_centers_dtype(estimator, X):
    """X in the dtype of the estimator's centres, if it has float ones.

    KMeans.predict and KMeans.score reject float32 X after a float64 fit (and
    the reverse) with a Cython buffer error.
    """
    centers = getattr(estimator, "cluster_centers_", None)
    if isinstance(centers, np.ndarray) and centers.dtype in (np.float32, np.float64):
        return X.astype(centers.dtype, copy=False)
    return X


def _picklable(exc):
    """`exc` if it survives pickling (to the parent process), else a stand-in."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _run_task(index, parent_pid, config, kwargs):
    """One joblib task: `_fit_dataset(**kwargs)`, single-threaded, tagged by index.

    The caller's scikit-learn `config` is set here, in the worker's thread, as
    ``sklearn.utils.parallel`` would; its Parallel is not used because it
    resets the process-global warning filters in every task, which races
    under threads with the warning recording of skgap._faults.

    OpenMP thread counts are per calling thread, so they are limited here, in
    the thread that fits. The BLAS thread count is global to the process: in
    the parent process `GapKMeans.fit` limits it around the whole Parallel
    call (threads share it), in another process (loky, dask) the task does.
    """
    user_api = "openmp" if os.getpid() == parent_pid else None
    # Warnings are recorded and returned: in another process they would be
    # lost, and the caller summarises them once (see skgap._faults).
    with (
        config_context(**config),
        _threadpool_controller().limit(limits=1, user_api=user_api),
        record_warnings() as caught,
    ):
        result = _fit_dataset(**kwargs)
    return index, result, caught


# Below this many values in X (n_samples * n_features), a k-means fit is
# mostly Python overhead that holds the GIL: threads cannot run such fits in
# parallel (see benchmarks/README.md), so they run in sequence, or in worker
# processes when the work is long enough to pay back their start-up.
_MIN_SIZE_FOR_THREADS = 50_000

# Starting joblib's process workers (loky) and importing scikit-learn there
# takes about this long (measured: 1.0 s on 2 cores); small fits move to
# processes only if that saves at least twice as much.
_PROCESS_START_SECONDS = 1.0

# Small fits run in sequence for at least this long before the remaining
# time is estimated from the cost run so far.
_SECONDS_TIMED = 0.25

# With several workers, the ks of each data set are split until there are at
# least this many tasks per worker, so that the last tasks to finish are short.
_TASKS_PER_WORKER = 9


def _active_backend(prefer):
    from joblib.parallel import get_active_backend

    return get_active_backend(prefer=prefer)[0]


def _execution_plan(n_jobs, X):
    """How to run the fits: "parallel", "sequential" or "timed".

    "parallel": joblib's active backend, threads preferred. Small data under
    threads chosen by the caller: "sequential". Small data under threads
    chosen by skgap's preference only: "timed", in sequence until the rest
    of the work can be estimated, then the rest in processes if it is long.
    """
    if X.size >= _MIN_SIZE_FOR_THREADS or effective_n_jobs(n_jobs) == 1:
        return "parallel"
    backend = _active_backend("threads")
    if not getattr(backend, "uses_threads", False):
        return "parallel"  # processes or a cluster, chosen by the caller
    if type(_active_backend("processes")) is type(backend):
        return "sequential"  # threads chosen by the caller
    return "timed"


def _task_cost(ks):
    """The relative cost of fitting the ks of one data set (a k-means ~ k)."""
    return sum(k if k > 1 else 0.2 for k in ks)


def _picklable_tasks(tasks):
    """Whether joblib's process workers can receive the tasks (as loky does)."""
    try:
        import cloudpickle  # a dependency of joblib >= 1.5
    except ImportError:  # pragma: no cover - older joblib vendors it
        from joblib.externals import cloudpickle
    try:
        cloudpickle.dumps(tasks[0])
    except Exception:
        return False
    return True


def _execute(tasks, costs, n_jobs, plan, verbose):
    """Run joblib `tasks` as `plan` says; yield their results as they complete."""
    params = dict(n_jobs=n_jobs, prefer="threads", verbose=max(0, verbose - 1))
    if plan != "parallel":
        start, done = time.perf_counter(), 0
        for func, args, kwargs in tasks:
            yield func(*args, **kwargs)
            done += 1
            elapsed = time.perf_counter() - start
            if plan == "timed" and elapsed >= _SECONDS_TIMED:
                break
        if done == len(tasks):
            return
        remaining = elapsed * sum(costs[done:]) / sum(costs[:done])
        saved = remaining * (1 - 1 / effective_n_jobs(n_jobs))
        tasks = tasks[done:]
        if saved < 2 * _PROCESS_START_SECONDS or not _picklable_tasks(tasks):
            for func, args, kwargs in tasks:
                yield func(*args, **kwargs)
            return
        params["prefer"] = "processes"
    try:
        parallel = Parallel(return_as="generator_unordered", **params)
    except ValueError:  # backends without generators, e.g. multiprocessing
        parallel = Parallel(return_as="list", **params)
    yield from parallel(tasks)


def _split_ks(ks, n_chunks):
    """Split the ks into `n_chunks` groups of about equal cost (cost ~ k).

    Largest ks are dealt first to the cheapest group; each group keeps the
    ks in increasing order. Returns a list of lists of positions into `ks`.
    """
    groups = [[] for _ in range(min(n_chunks, len(ks)))]
    costs = [0] * len(groups)
    for position in sorted(range(len(ks)), key=lambda i: -ks[i]):
        g = costs.index(min(costs))
        groups[g].append(position)
        costs[g] += _task_cost([ks[position]])
    return [sorted(group) for group in groups if group]


class _Progress:
    """Fits done of the total, elapsed and remaining time, on stderr.

    On a terminal it rewrites one line; elsewhere it prints a line at most
    every tenth of the work and at the end.
    """

    def __init__(self, total, enabled):
        self.total, self.done, self.enabled = total, 0, enabled
        self.start = time.perf_counter()
        self.tty = enabled and getattr(sys.stderr, "isatty", lambda: False)()
        self.last_decile = -1

    def update(self, n_fits):
        if not self.enabled:
            return
        self.done += n_fits
        elapsed = time.perf_counter() - self.start
        remaining = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        line = (
            f"[GapKMeans] {self.done}/{self.total} fits, {elapsed:.1f} s elapsed, "
            f"~{remaining:.1f} s remaining"
        )
        if self.tty:
            end = "\n" if self.done >= self.total else ""
            print("\r" + line, end=end, file=sys.stderr, flush=True)
        else:
            decile = int(10 * self.done / self.total)
            if decile > self.last_decile or self.done >= self.total:
                self.last_decile = decile
                print(line, file=sys.stderr, flush=True)


class GapKMeans(ClusterMixin, MetaEstimatorMixin, BaseEstimator):
    """Choose the number of clusters with the gap statistic, then cluster.

    For every candidate number of clusters k, `estimator` clusters the data
    and `n_refs` reference data sets drawn without cluster structure; the gap
    between the reference and observed log dispersions (Tibshirani, Walther &
    Hastie, 2001), or Mohajer et al.'s Gap* without the logarithm, picks k
    under one of five rules. The clustering of the data at that k is kept.

    Read more in the :ref:`User Guide <gap>`.

    Parameters
    ----------
    estimator : estimator object, default=None
        The clusterer, with an ``n_clusters`` or ``n_components`` parameter
        (also nested, as in a :class:`~sklearn.pipeline.Pipeline`). It is
        cloned for every fit and never fitted itself. ``None`` means
        ``KMeans(n_init=3)``: on the paper's five simulation scenarios three
        starts find the true k as often as ten, in 40 % of the time (see
        :ref:`accuracy`).

    n_clusters_range : iterable of int, default=None
        The candidate numbers of clusters, positive and distinct; they are
        sorted. ``None`` means ``range(1, 11)``. Candidates larger than the
        number of samples are dropped with a warning.

    n_refs : int, default=20
        The number B of reference data sets.

    reference : {'pca', 'uniform'} or callable, default='pca'
        The null distribution of the reference data sets:

        - ``'pca'``: uniform over the box aligned with the principal axes of
          the centred data (the paper's method (b); R's
          ``spaceH0="scaledPCA"``).
        - ``'uniform'``: each feature uniform over its observed range (the
          paper's method (a); R's ``spaceH0="original"``).
        - a callable ``reference(X, seed) -> ndarray`` of X's shape, where
          ``seed`` is an int for :func:`numpy.random.default_rng` or
          :func:`sklearn.utils.check_random_state`. X is read-only.

    statistic : {'gap', 'gap_star'}, default='gap'
        The statistic the rule is applied to: the gap with its standard
        error ``se``, or Gap* with ``se_star``.

    method : {'tibshirani', 'first_se_max', 'global_se_max', 'first_max', \
'global_max'}, default='tibshirani'
        The rule that chooses k; see :func:`select_k`.

    se_factor : float, default=1.0
        Multiplier of the standard errors in the rule (R's ``SE.factor``).

    power : float, default=2.0
        Exponent of the Euclidean distance in the dispersion W_k (R's
        ``d.power``). 2 costs O(n_samples * n_features) per fit; any other
        value sums over the pairs within each cluster.

    n_jobs : int, default=None
        The number of jobs to run in parallel: the data and each reference
        data set (split into groups of k when there are few) are clustered as
        separate tasks, each single-threaded. Threads are preferred (the
        k-means iterations release the GIL, and threads start at no cost);
        :func:`joblib.parallel_config` can choose another backend. Data of
        fewer than 50,000 values (``n_samples * n_features``) make fits that
        are mostly Python code, which threads cannot run in parallel: unless
        the caller chose threads, they are fitted in sequence until the rest
        of the work can be timed, and the rest moves to joblib's worker
        processes if that saves at least twice their start-up (~1 s).
        ``None`` means 1 unless in a :obj:`joblib.parallel_config` context.
        ``-1`` means using all processors. See :term:`Glossary <n_jobs>` for
        more details.

    random_state : int, RandomState instance or None, default=None
        Determines the reference draws and, through one seed per fit, the
        ``random_state`` of every clone of `estimator` that has one. Pass an
        int for reproducible results across multiple function calls; they are
        the same whatever `n_jobs` and joblib backend.
        See :term:`Glossary <random_state>`.

    verbose : int, default=0
        Progress reporting on stderr. 0 is silent. With 1 or more, GapKMeans
        reports as fits complete how many of the ``(n_refs + 1) *
        n_candidates`` fits are done, the elapsed time and an estimate of the
        remaining time: one updating line on a terminal, a line per tenth of
        the work otherwise. Values above 1 also pass ``verbose - 1`` to
        :class:`joblib.Parallel`.

    warm_start : bool, default=False
        When set to True, a refit on the same X reuses the fits of the
        previous call and runs only the new ones: raising `n_refs` adds
        reference draws, widening `n_clusters_range` adds candidates. The
        result is exactly that of a cold fit with the final parameters. A
        different X (shape, dtype or values), estimator, `reference`, `power`
        or integer `random_state` starts cold. With ``random_state=None`` or a
        RandomState instance the previous fit's seeds are reused.
        See :term:`the Glossary <warm_start>`.

        .. versionadded:: 0.1

    Attributes
    ----------
    n_clusters_ : int
        The chosen number of clusters.

    best_estimator_ : estimator object
        The clone of `estimator` fitted on X with `n_clusters_` clusters.

    labels_ : ndarray of shape (n_samples,)
        Cluster labels of the training samples at `n_clusters_`.

    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        The centres of `best_estimator_`, where it has them.

    gap_results_ : dict of ndarray of shape (n_candidates,)
        One entry per candidate k: ``n_clusters``, ``log_w`` (log W_k),
        ``expected_log_w``, ``gap``, ``sd``, ``se``, ``gap_star``,
        ``se_star``, ``diff`` and ``diff_star``.

    gap_df_ : pandas.DataFrame
        `gap_results_` as a DataFrame (requires pandas).

    dispersions_ : ndarray of shape (n_candidates,)
        The observed dispersions W_k.

    reference_dispersions_ : ndarray of shape (n_refs, n_candidates)
        The dispersions W*_kb of the reference data sets.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    select_k : The selection rules.
    within_cluster_dispersion : The dispersion W_k of one partition.
    sklearn.cluster.KMeans : The default clusterer.

    Notes
    -----
    For each k, with L_b = log W*_kb of reference b = 1..B::

        gap       = mean_b L_b - log W_k
        sd        = sqrt(mean_b (L_b - mean_b L_b) ** 2)
        se        = sd * sqrt(1 + 1/B)
        gap_star  = mean_b W*_kb - W_k
        se_star   = std_b(W*_kb) * sqrt(1 + 1/B)
        diff      = gap_k - gap_{k+1} + se_{k+1}

    The default rule chooses the smallest k with ``diff_k >= 0``. R's
    ``cluster::clusGap`` reports W_k / 2 (it counts each pair once) and an
    ``SE.sim`` larger by sqrt(B / (B - 1)) (it divides the variance by B - 1).

    References
    ----------
    .. [1] Tibshirani, R., Walther, G. and Hastie, T. (2001). Estimating the
       number of clusters in a data set via the gap statistic. Journal of the
       Royal Statistical Society B, 63(2), 411-423.
       :doi:`10.1111/1467-9868.00293`
    .. [2] Mohajer, M., Englmeier, K.-H. and Schmid, V. J. (2011). A
       comparison of Gap statistic definitions with and without logarithm
       function. Technical Report 96, Department of Statistics, LMU Munich.

    Examples
    --------
    >>> from sklearn.cluster import KMeans
    >>> from sklearn.datasets import make_blobs
    >>> from skgap import GapKMeans
    >>> X, _ = make_blobs(n_samples=300, centers=4, random_state=1)
    >>> gap = GapKMeans(KMeans(n_init=3), n_clusters_range=range(1, 8),
    ...                 random_state=0).fit(X)
    >>> gap.n_clusters_
    4
    >>> gap.predict([[0.0, 4.0]]).shape
    (1,)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"]), None],
        "n_clusters_range": [Iterable, None],
        "n_refs": [Interval(Integral, 1, None, closed="left")],
        "reference": [StrOptions(set(REFERENCES)), callable],
        "statistic": [StrOptions(set(STATISTICS))],
        "method": [StrOptions(set(RULES))],
        "se_factor": [Interval(Real, 0, None, closed="left")],
        "power": [Interval(Real, 0, None, closed="neither")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_clusters_range=None,
        n_refs=20,
        reference="pca",
        statistic="gap",
        method="tibshirani",
        se_factor=1.0,
        power=2.0,
        n_jobs=None,
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.estimator = estimator
        self.n_clusters_range = n_clusters_range
        self.n_refs = n_refs
        self.reference = reference
        self.statistic = statistic
        self.method = method
        self.se_factor = se_factor
        self.power = power
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    def _candidate_ks(self, n_samples):
        """The validated, sorted candidate ks that can be fitted on n_samples."""
        if self.n_clusters_range is None:
            ks = list(range(1, 11))
        else:
            ks = list(self.n_clusters_range)
            bad = [k for k in ks if not isinstance(k, Integral) or isinstance(k, bool)]
            if bad:
                raise TypeError(
                    "n_clusters_range must hold integers, got "
                    f"{bad[0]!r} of type {type(bad[0]).__name__}."
                )
            ks = [int(k) for k in ks]
        if not ks:
            raise ValueError("n_clusters_range is empty; give at least one k.")
        if min(ks) < 1:
            raise ValueError(
                f"n_clusters_range must hold positive integers, got {min(ks)}."
            )
        if len(set(ks)) != len(ks):
            duplicated = sorted({k for k in ks if ks.count(k) > 1})
            raise ValueError(
                f"n_clusters_range must not repeat a k, got {duplicated} twice."
            )
        ks = sorted(ks)
        too_large = [k for k in ks if k > n_samples]
        if too_large:
            ks = [k for k in ks if k <= n_samples]
            if not ks:
                raise ValueError(
                    f"Every candidate number of clusters {too_large} is larger "
                    f"than n_samples={n_samples}; pass k <= {n_samples}."
                )
            warnings.warn(
                f"Dropped the candidate numbers of clusters {too_large}: they are "
                f"larger than n_samples={n_samples}.",
                SkgapWarning,
                stacklevel=5,  # _candidate_ks, _fit, fit, sklearn's wrapper, caller
            )
        return ks

    @_fit_context(
        # GapKMeans.estimator is not validated yet
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y=None):
        """Choose the number of clusters of X and cluster X with it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training instances to cluster. It is not modified.

        y : Ignored
            Not used, present here for API consistency by convention.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        state = self.__dict__.copy()
        try:
            return self._fit(X)
        except BaseException:
            # Never leave a half-fitted estimator behind.
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _fit(self, X):
        with _explain_input_errors(X):
            X = validate_data(
                self, X, dtype=[np.float64, np.float32], order="C", ensure_min_samples=2
            )
        _check_magnitude(X)
        if not np.any(np.ptp(X, axis=0)):
            # every statistic is degenerate (the gap is NaN, Gap* is 0)
            raise ValueError(
                f"All {X.shape[0]} samples of X are identical: the data have no "
                "spread, so no number of clusters can be chosen."
            )
        n_samples = X.shape[0]
        estimator = (
            _default_estimator() if self.estimator is None else clone(self.estimator)
        )
        n_clusters_param = _n_clusters_param(estimator)
        _validate_clusterer_params(_configure(estimator, n_clusters_param, 2, 0))
        ks = self._candidate_ks(n_samples)
        state = self._warm_state(X, estimator)
        entropy = state["entropy"]
        sampler = make_reference_sampler(self.reference, X)
        self._run_fits(X, estimator, n_clusters_param, ks, sampler, state)

        short_ks = [k for k in ks if k in state["short_ks"]]
        short_refs = sorted(
            (b, k)
            for b, k in state.get("reference_short_ks", ())
            if b < self.n_refs and k in ks
        )
        if short_ks or short_refs:
            where = [f"on the data at k={short_ks}"] if short_ks else []
            if short_refs:
                n_short = len({b for b, _ in short_refs})
                where.append(
                    f"on {n_short} of the {self.n_refs} reference data sets at "
                    f"k={sorted({k for _, k in short_refs})}"
                )
            warnings.warn(
                "The clusterer found fewer distinct clusters than asked for "
                f"{' and '.join(where)}; their dispersion is that of the clusters "
                "found.",
                SkgapWarning,
                stacklevel=4,  # _fit, fit, sklearn's _fit_context wrapper, caller
            )
        dispersions = np.array([state["data"][k] for k in ks])
        reference_dispersions = np.array(
            [[state["reference"][b, k] for k in ks] for b in range(self.n_refs)]
        )
        gap_results = _gap_statistics(ks, dispersions, reference_dispersions)

        se_key = STATISTICS[self.statistic]
        values = gap_results[self.statistic]
        if np.all(np.isnan(values)):
            raise ValueError(
                f"Every candidate's {self.statistic} is NaN: the data and the "
                "reference data have no spread (all samples are identical?), so "
                "no number of clusters can be chosen."
            )
        best = select_k(
            values, gap_results[se_key], method=self.method, se_factor=self.se_factor
        )
        n_clusters = ks[best]
        fitted = state["fitted"]
        if n_clusters == 1 and 1 not in fitted:
            # k = 1 needs no clustering for the statistic, only for predict.
            best_estimator = _configure(
                estimator, n_clusters_param, 1, _seed(entropy, _DATA_FIT, 0, 1)
            )
            X_read_only = X.view()
            X_read_only.flags.writeable = False  # as in _fit_dataset
            copy_x = _copy_x(best_estimator)
            try:
                if copy_x is not None:
                    best_estimator.set_params(copy_x=True)
                best_estimator.fit(X_read_only)
                if copy_x is not None:
                    best_estimator.set_params(copy_x=copy_x)
            except Exception as exc:
                raise ClustererFitError(
                    f"{type(estimator).__name__} failed to cluster the data into "
                    f"k=1 clusters (the chosen k, fitted for predict): {exc}",
                    k=1,
                    dataset="the data",
                    original=exc,
                ) from exc
            fitted[1] = best_estimator, np.zeros(n_samples, dtype=np.int32)
        best_estimator, labels = fitted[n_clusters]
        if self.warm_start:
            self._warm_start_state_ = state
        elif hasattr(self, "_warm_start_state_"):
            del self._warm_start_state_

        self.n_clusters_ = n_clusters
        self.best_estimator_ = best_estimator
        self.labels_ = labels
        self.gap_results_ = gap_results
        self.dispersions_ = dispersions
        self.reference_dispersions_ = reference_dispersions
        return self

    def _warm_state(self, X, estimator):
        """The cache of finished fits: the previous one if it can be reused.

        A warm start reuses the previous fit's dispersions and fitted clones
        of the data when X (shape, dtype and a hash of its bytes), the
        estimator's parameters, `reference`, `power` and an integer
        `random_state` are unchanged; otherwise the cache starts empty.
        """
        random_state = self.random_state
        # Hashing X costs a pass over it: only a warm start needs the key.
        key = self.warm_start and (
            X.shape,
            X.dtype.str,
            hashlib.blake2b(X.data, digest_size=16).hexdigest(),
            type(estimator).__name__,
            repr(sorted(estimator.get_params(deep=True).items(), key=str)),
            self.reference if callable(self.reference) else str(self.reference),
            float(self.power),
            int(random_state) if isinstance(random_state, Integral) else None,
        )
        previous = getattr(self, "_warm_start_state_", None)
        if self.warm_start and previous is not None:
            try:
                same = previous["key"] == key
            except Exception:  # e.g. a reference callable with an odd __eq__
                same = False
            if same:
                # a copy: a fit that fails must leave the cache as it was
                return {
                    key: value.copy() if isinstance(value, dict | set) else value
                    for key, value in previous.items()
                }
        entropy = int(check_random_state(random_state).randint(2**31 - 1))
        return {
            "key": key,
            "entropy": entropy,
            "data": {},  # k -> W_k
            "reference": {},  # (b, k) -> W*_kb
            "short_ks": set(),
            "fitted": {},  # k -> (fitted clone, labels) on X
        }

    def _run_fits(self, X, estimator, n_clusters_param, ks, sampler, state):
        """Run the fits that `state` lacks for `ks` and the first n_refs draws.

        Tasks are (data set, group of ks); with several workers the ks of each
        data set are split into groups of about equal cost so that the work
        balances, and a reference set is regenerated from its seed by every
        task that needs it (no reference data are shipped or kept).
        """
        entropy = state["entropy"]
        todo = []  # (b, ks to fit), b = -1 for X
        data_ks = [k for k in ks if k not in state["data"]]
        if data_ks:
            todo.append((-1, data_ks))
        for b in range(self.n_refs):
            ref_ks = [k for k in ks if (b, k) not in state["reference"]]
            if ref_ks:
                todo.append((b, ref_ks))
        if not todo:
            return
        n_jobs = self.n_jobs
        plan = _execution_plan(n_jobs, X)
        n_workers = 1 if plan == "sequential" else effective_n_jobs(n_jobs)
        n_chunks = (
            1 if n_workers == 1 else -(-_TASKS_PER_WORKER * n_workers // len(todo))
        )
        specs = []
        for b, todo_ks in todo:
            for group in _split_ks(todo_ks, n_chunks):
                specs.append((b, [todo_ks[i] for i in group]))
        # Longest tasks first, so that the last ones to finish are short.
        specs.sort(key=lambda spec: -_task_cost(spec[1]))

        # The caller's scikit-learn configuration, with what fit already made
        # sure of: finite data (X checked, references finite by construction
        # or checked) and valid clusterer parameters (checked once). Each
        # small fit then skips those checks (up to 15 % of a fit, same result).
        config = {
            **get_config(),
            "assume_finite": True,
            "skip_parameter_validation": True,
        }
        parent_pid = os.getpid()
        tasks = []
        for index, (b, group_ks) in enumerate(specs):
            if b < 0:
                kwargs = dict(
                    X=X,
                    fit_seeds=[_seed(entropy, _DATA_FIT, 0, k) for k in group_ks],
                    keep_estimators=True,
                )
            else:
                kwargs = dict(
                    sampler=sampler,
                    sample_seed=_seed(entropy, _REFERENCE_DRAW, b, 0),
                    fit_seeds=[_seed(entropy, _REFERENCE_FIT, b, k) for k in group_ks],
                    dataset=f"reference data set b={b}",
                )
            kwargs.update(
                estimator=estimator,
                n_clusters_param=n_clusters_param,
                ks=group_ks,
                power=self.power,
            )
            tasks.append(delayed(_run_task)(index, parent_pid, config, kwargs))

        progress = _Progress((self.n_refs + 1) * len(ks), enabled=bool(self.verbose))
        progress.done = (self.n_refs + 1) * len(ks) - sum(len(s[1]) for s in specs)
        # The BLAS thread count is global to the process: keep it at one while
        # thread-based workers run, as each task is single-threaded. Threads
        # are preferred (KMeans releases the GIL; no process start-up), a soft
        # hint that joblib.parallel_config(backend=...) overrides.
        caught = []
        costs = [_task_cost(group_ks) for _, group_ks in specs]
        with _threadpool_controller().limit(limits=1, user_api="blas"):
            results = _execute(tasks, costs, n_jobs, plan, self.verbose)
            try:
                for index, (dispersions, short_ks, fitted), records in results:
                    b, group_ks = specs[index]
                    caught.extend(records)
                    if b < 0:
                        state["data"].update(zip(group_ks, dispersions, strict=True))
                        state["short_ks"].update(short_ks)
                        state["fitted"].update(
                            zip([k for k in group_ks if k != 1], fitted, strict=True)
                        )
                    else:
                        state["reference"].update(
                            ((b, k), w)
                            for k, w in zip(group_ks, dispersions, strict=True)
                        )
                        state.setdefault("reference_short_ks", set()).update(
                            (b, k) for k in short_ks
                        )
                    progress.update(len(group_ks))
            except pickle.PicklingError as exc:
                raise pickle.PicklingError(
                    f"{exc} GapKMeans sends the clusterer "
                    f"({type(estimator).__name__}), the reference sampler and the "
                    "data to worker processes: make them picklable, or run with "
                    "n_jobs=1 or joblib.parallel_config(backend='threading')."
                ) from exc
            except WORKER_DIED as exc:
                raise ClustererFitError(
                    worker_died_error(exc, self.n_jobs, len(tasks))
                ) from exc
            except ClustererFitError as exc:
                # joblib chains its own traceback text: chain the clusterer's
                # exception instead (the text stays on it if it had no cause).
                original = exc.original
                if original is None or exc.__cause__ is original:
                    raise
                if original.__cause__ is None and original.__traceback__ is None:
                    original.__cause__ = exc.__cause__
                raise exc from original
        warn_summary(caught, stacklevel=5)

    @property
    def gap_df_(self):
        """The gap statistics as a :class:`pandas.DataFrame`, one row per k."""
        check_is_fitted(self)
        pd = _check_optional_dependency("pandas", "pandas", "GapKMeans.gap_df_")
        return pd.DataFrame(self.gap_results_)

    @property
    def cluster_centers_(self):
        """The cluster centres of `best_estimator_`, where it has them."""
        check_is_fitted(self)
        return self.best_estimator_.cluster_centers_

    def _validate_new_data(self, X):
        """X for the delegated methods, checked against the data seen in fit."""
        check_is_fitted(self)
        with _explain_input_errors(X):
            X = validate_data(
                self, X, dtype=[np.float64, np.float32], order="C", reset=False
            )
        _check_magnitude(X, n_rows=1)
        return X

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Predict the cluster of each sample with `best_estimator_`.

        Only available if the estimator has ``predict``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data to predict.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the cluster each sample belongs to.
        """
        X = self._validate_new_data(X)
        return self.best_estimator_.predict(_as_centers_dtype(self.best_estimator_, X))

    @available_if(_estimator_has("transform"))
    def transform(self, X):
        """Transform X with `best_estimator_` (e.g. to cluster distances).

        Only available if the estimator has ``transform``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data to transform.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_output_features)
            X transformed by `best_estimator_`.
        """
        X = self._validate_new_data(X)
        return self.best_estimator_.transform(X)

    @available_if(_estimator_has("transform"))
    def fit_transform(self, X, y=None):
        """Fit, then transform X with `best_estimator_`.

        Only available if the estimator has ``transform``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training instances to cluster. It is not modified.

        y : Ignored
            Not used, present here for API consistency by convention.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_output_features)
            X transformed by `best_estimator_`.
        """
        return self.fit(X).transform(X)

    @available_if(_estimator_has("score"))
    def score(self, X, y=None):
        """Score X with `best_estimator_` (for KMeans, the opposite of the inertia).

        Only available if the estimator has ``score``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data.

        y : Ignored
            Not used, present here for API consistency by convention.

        Returns
        -------
        score : float
            The score of `best_estimator_` on X.
        """
        X = self._validate_new_data(X)
        return self.best_estimator_.score(_as_centers_dtype(self.best_estimator_, X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        estimator = _default_estimator() if self.estimator is None else self.estimator
        estimator_tags = get_tags(estimator)
        tags.non_deterministic = estimator_tags.non_deterministic
        # transform is delegated, so GapKMeans is a transformer when estimator is
        tags.transformer_tags = estimator_tags.transformer_tags
        return tags
