"""The fits of a gap-statistic fit: tasks, their seeds, and the best fit.

A fit of :class:`~skgap.GapKMeans` is a set of tasks, each clustering one data
set (the data, or reference data set b) for a group of candidate ks
(`run_fits` plans and runs them, `FitStore` keeps what they found). Every
draw and every fit has its own seed, derived from the fit's entropy and its
place (stream, b, k) alone, so that the results never depend on how the
tasks are grouped, ordered or run (threads, processes, a Dask cluster).
`fit_best` makes ``best_estimator_`` at the chosen k.
"""

import copy
import pickle
import threading
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn import config_context
from sklearn.base import BaseEstimator, clone

from ._dispersion import _dispersion
from ._engine import EngineSettings, engine_fit, fitted_kmeans
from ._execution import (
    TASKS_PER_WORKER,
    Cancellation,
    Cancelled,
    Progress,
    holds_gil,
    n_workers,
    pack,
    run_tasks,
    split_ks,
    task_cost,
    worth_threads,
)
from ._faults import fit_label, warn_caller, warn_summary
from ._utils import read_only
from ._validation import check_labels
from .exceptions import ClustererFitError, SkgapWarning

__all__ = [
    "FitSpec",
    "FitStore",
    "SharedReferences",
    "TaskResult",
    "fit_best",
    "fit_datasets",
    "run_fits",
]

# Seed streams: one seed per (stream, reference b, k), independent of how many
# references and candidates there are, so results never depend on n_jobs.
_DATA_FIT, _REFERENCE_DRAW, _REFERENCE_FIT, _BOOTSTRAP = 0, 1, 2, 3


# -------------------------------------------------------------------------------- seeds


def _seeds(entropy, stream, b, ks):
    """32-bit seeds for the draws or fits (stream, b, k) of the ks.

    Word k of the state of the SeedSequence (entropy, spawn key (stream, b)):
    the same whatever other ks are asked for.
    """
    sequence = np.random.SeedSequence(entropy, spawn_key=(stream, b))
    return [int(seed) for seed in sequence.generate_state(max(ks) + 1)[list(ks)]]


def data_seed(entropy, k):
    """The seed of the fit of the data at k."""
    return _seeds(entropy, _DATA_FIT, 0, [k])[0]


def reference_draw_seed(entropy, b):
    """The seed of reference data set b."""
    return _seeds(entropy, _REFERENCE_DRAW, b, [0])[0]


def bootstrap_seed(entropy):
    """The seed of the resamples behind the selection frequencies."""
    return _seeds(entropy, _BOOTSTRAP, 0, [0])[0]


def _fit_seeds(entropy, b, ks):
    """The seeds of the fits of data set b (the data if b < 0) at the ks."""
    if b < 0:
        return _seeds(entropy, _DATA_FIT, 0, ks)
    return _seeds(entropy, _REFERENCE_FIT, b, ks)


# ------------------------------------------------------------------------ the clusterer


def _nested_params(estimator, name):
    """Every parameter of `estimator` called `name`, top-level or nested."""
    return [
        key
        for key in estimator.get_params(deep=True)
        if key == name or key.endswith("__" + name)
    ]


def configure(estimator, n_clusters_param, k, seed, fixed=None):
    """A clone of `estimator` with k clusters and every random_state seeded."""
    estimator = clone(estimator)
    params = {n_clusters_param: k, **(fixed or {})}
    params.update(dict.fromkeys(_nested_params(estimator, "random_state"), seed))
    return estimator.set_params(**params)


_SCALARS = (int, float, str, bool, type(None))


def _configurer(estimator, n_clusters_param, fixed=None):
    """A fast `configure` for many fits of one estimator: ``(k, seed) -> clone``.

    `fixed` are further parameters set on every clone. Cloning goes through
    ``get_params``, whose signature inspection costs about as much as a small
    k-means fit. When the parameters to set are top-level and the estimator
    keeps ``BaseEstimator.set_params`` (which then only sets attributes), a
    copy of one configured clone with the two attributes set is the same
    unfitted estimator.
    """
    template = clone(estimator).set_params(**(fixed or {}))
    random_state_params = _nested_params(template, "random_state")
    names = [n_clusters_param, *random_state_params]

    def slow(k, seed):
        return configure(template, n_clusters_param, k, seed)

    if any("__" in name for name in names) or (
        type(template).set_params is not BaseEstimator.set_params
    ):
        return slow
    try:
        copy.deepcopy(template)
    except Exception:  # an attribute that cannot be copied, e.g. a lock
        return slow

    def fast(k, seed):
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

    return fast


def copies_input(estimator):
    """{parameter: True} for every (nested) ``copy_x`` of `estimator`.

    skgap passes the caller's X read-only and never lets a clusterer centre
    it in place, whatever ``copy_x`` the caller chose.
    """
    return dict.fromkeys(_nested_params(estimator, "copy_x"), True)


def _centres_in_place(estimator):
    """Whether `estimator` centres its input in place when ``copy_x=False``.

    KMeans and BisectingKMeans then subtract the mean and add it back, which
    leaves skgap's own reference data within rounding of what they were: the
    task redraws them from their seed after each fit, which costs less than
    the copy per fit it saves (tests/test_fits.py checks the clustering is
    that of a copying fit).
    """
    from sklearn.cluster import BisectingKMeans, KMeans

    return isinstance(estimator, (KMeans, BisectingKMeans)) and (
        "copy_x" in estimator.get_params(deep=False)
    )


def fit_labels(estimator, X, sample_weight=None):
    """Fit `estimator` on X and return its labels (fit_predict, labels_ or predict)."""
    kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
    if hasattr(estimator, "fit_predict"):
        return estimator.fit_predict(X, **kwargs)
    estimator.fit(X, **kwargs)
    if hasattr(estimator, "labels_"):
        return estimator.labels_
    return estimator.predict(X)


def picklable(exc):
    """`exc` if it survives pickling (to the parent process), else a stand-in."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def clusterer_error(estimator, dataset, k, exc, when=""):
    """The ClustererFitError of a fit of `estimator` that raised `exc`.

    A MemoryError stays a MemoryError, with the fit named in its message.
    """
    what = f"{type(estimator).__name__} failed to cluster {dataset} into k={k}"
    if isinstance(exc, MemoryError):
        return MemoryError(f"{what} clusters{when}: out of memory: {exc}")
    if isinstance(exc, Warning):
        # a warning that the caller's filters turned into an error stays one
        try:
            return type(exc)(f"{what} clusters{when}: {exc}")
        except Exception:
            pass
    hint = (
        " (skgap passes the data read-only: a clusterer must not modify its "
        "input; copy X inside fit if it must)"
        if "read-only" in str(exc)
        else ""
    )
    return ClustererFitError(
        f"{type(estimator).__name__} failed to cluster {dataset} into k={k} "
        f"clusters{when}: {type(exc).__name__}: {exc}{hint}",
        k=k,
        dataset=dataset,
        original=picklable(exc),
    )


# ----------------------------------------------------------------------------- one task


class SharedReferences:
    """Reference data sets drawn once and read by every thread that needs them.

    Tasks that cluster the same reference data set for different ks, running
    at the same time in threads, share one draw (the engine only reads it).
    When the last of them is done its array is kept for the next draw rather
    than freed: freeing and allocating arrays of X's size in every thread
    made glibc keep up to twice their size in its per-thread arenas. In
    another process (loky, Dask) each process draws its own.
    """

    # Below this size a draw costs less than sharing it.
    _MIN_SHARED_BYTES = 1 << 20

    def __init__(self, sampler, entropy, nbytes):
        self.sampler = sampler
        self.entropy = entropy
        self.share = nbytes >= self._MIN_SHARED_BYTES
        self._init_local()

    def _init_local(self):
        self._lock = threading.Lock()
        self._sets = {}  # b -> [event, array, users]
        self._spare = []  # arrays of finished draws, to draw into again

    def __getstate__(self):
        return {"sampler": self.sampler, "entropy": self.entropy, "share": self.share}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._init_local()

    def draw(self, b, out=None):
        """Reference data set b, a new array (or drawn into `out`)."""
        seed = reference_draw_seed(self.entropy, b)
        if out is None:
            return self.sampler.sample(seed)
        return self.sampler.sample(seed, out=out)

    def acquire(self, b):
        """Reference data set b, read-only, shared until `release(b)`."""
        if not self.share:
            return self.draw(b)
        with self._lock:
            entry = self._sets.get(b)
            if entry is None:
                entry = self._sets[b] = [threading.Event(), None, 0]
                owner = True
            else:
                owner = False
            entry[2] += 1
        if owner:
            try:
                array = self.draw(b, out=self._take_spare())
                array.flags.writeable = False
                entry[1] = array
            finally:
                entry[0].set()
        entry[0].wait()
        if entry[1] is None:  # the owner's draw failed: draw here, raise here
            self.release(b)
            return self.draw(b)
        return entry[1]

    def release(self, b):
        if not self.share:
            return
        with self._lock:
            entry = self._sets.get(b)
            if entry is not None:
                entry[2] -= 1
                if entry[2] == 0:
                    del self._sets[b]
                    if entry[1] is not None and self.draws_in_place:
                        self._spare.append(entry[1])

    @property
    def draws_in_place(self):
        return getattr(self.sampler, "draws_in_place", False)

    def _take_spare(self):
        with self._lock:
            if not self._spare:
                return None
            array = self._spare.pop()
        array.flags.writeable = True  # its own memory, no longer read
        return array


@dataclass(frozen=True)
class FitSpec:
    """What every task of one fit shares."""

    estimator: object  # the clusterer (unfitted), None when the engine runs
    n_clusters_param: str
    engine: EngineSettings | None
    references: SharedReferences
    power: float
    metric: object  # the distance of W_k: a name or a callable
    metric_params: dict
    sample_weight: np.ndarray | None  # in W_k and the references
    fit_weight: np.ndarray | None  # passed to the clusterer's fits
    entropy: int


@dataclass
class TaskResult:
    """What a task returns: W_k of each k of its group, and what it found.

    ``short_ks`` are the ks at which the clusterer found fewer distinct
    clusters than k; ``centers``, for the engine's fits of the data, the
    centres, inertia and iteration count of each k (for best_estimator_).
    """

    dispersions: np.ndarray
    short_ks: list = field(default_factory=list)
    kept: dict = field(default_factory=dict)


def fit_datasets(spec, units, X, cancellation):
    """The joblib worker: cluster data sets, each for some ks.

    `units` are (b, ks): the data X (b < 0, then X is given) or reference
    data set b, for every k of ks. Returns a TaskResult per unit. It runs
    single-threaded (one thread per task, parallel across tasks), and stops
    with `Cancelled` soon after `cancellation` is set.
    """
    fit = _sklearn_task if spec.engine is None else _engine_task
    return [fit(spec, b, ks, X, cancellation) for b, ks in units]


def _dataset_name(b):
    return "the data" if b < 0 else f"reference data set b={b}"


def _dataset_dispersion(spec, X, labels, b):
    """W_k of data set b (the data X if b < 0) clustered by `labels`."""
    return _dispersion(
        X,
        labels,
        spec.power,
        spec.sample_weight,
        _dataset_name(b),
        spec.metric,
        spec.metric_params,
    )


def _engine_task(spec, b, ks, X, cancellation):
    seeds = _fit_seeds(spec.entropy, b, ks)
    if b >= 0:
        X = spec.references.acquire(b)
    try:
        # The engine computes W_k (power 2) with the weights of its fits; with
        # other weights (metadata routing) or another power, from its labels.
        squared = (
            spec.power == 2.0
            and spec.metric == "euclidean"
            and spec.fit_weight is spec.sample_weight
        )
        fit = engine_fit(
            X,
            spec.fit_weight,
            ks,
            seeds,
            spec.engine,
            dispersion=squared,
            labels=not squared,
            cancel=cancellation.flag,
        )
        if fit is None:
            raise Cancelled()
        if squared:
            dispersions = fit.dispersion
        else:
            dispersions = np.array(
                [_dataset_dispersion(spec, X, labels, b) for labels in fit.labels]
            )
    finally:
        if b >= 0:
            spec.references.release(b)
    result = TaskResult(
        dispersions=dispersions,
        short_ks=[k for k, n in zip(ks, fit.n_distinct, strict=True) if n < k],
    )
    if b < 0:
        result.kept = {
            k: (centers, float(inertia), int(n_iter), seed)
            for k, centers, inertia, n_iter, seed in zip(
                ks, fit.centers, fit.inertia, fit.n_iter, seeds, strict=True
            )
        }
    return result


def _sklearn_task(spec, b, ks, X, cancellation):
    estimator = spec.estimator
    dataset = _dataset_name(b)
    fixed = copies_input(estimator)
    # A reference set that can be redrawn from its seed may be centred in place
    # by KMeans (copy_x=False) and redrawn after each fit, which costs less
    # than KMeans' copy of it and saves that copy's memory (X.nbytes per fit).
    redraw = b >= 0 and _centres_in_place(estimator) and spec.references.draws_in_place
    seeds = _fit_seeds(spec.entropy, b, ks)
    if b >= 0:
        X = spec.references.draw(b)
    if redraw:
        fixed["copy_x"] = False
    else:
        # Read-only: a clusterer that modifies its input would change the
        # caller's X (shared, not copied, here) and the data of the next k.
        X = read_only(X)
    dispersions = np.empty(len(ks))
    short_ks = []
    new_clusterer = _configurer(estimator, spec.n_clusters_param, fixed)
    for i, (k, seed) in enumerate(zip(ks, seeds, strict=True)):
        cancellation.check()
        if k == 1:
            labels = np.zeros(X.shape[0], dtype=np.intp)
        else:
            clusterer = new_clusterer(k, seed)
            try:
                with fit_label(dataset, k):
                    labels = fit_labels(clusterer, X, spec.fit_weight)
                labels = check_labels(
                    labels, X.shape[0], what="the clusterer's labels", given=False
                )
            except Exception as exc:
                raise clusterer_error(estimator, dataset, k, exc) from exc
            if redraw:  # KMeans added the mean back within rounding: redraw
                spec.references.draw(b, out=X)
            n_found = np.unique(labels).shape[0]
            if n_found > k:
                with fit_label(dataset, k):  # summarised by the caller
                    warnings.warn(
                        "The clusterer returned more distinct clusters than "
                        f"{spec.n_clusters_param}: it does not honour the number "
                        "of clusters it is given, and W_k is that of the "
                        "clusters it found.",
                        SkgapWarning,
                        stacklevel=2,
                    )
            if n_found < k:
                short_ks.append(k)
        dispersions[i] = _dataset_dispersion(spec, X, labels, b)
    return TaskResult(dispersions=dispersions, short_ks=short_ks)


# --------------------------------------------------------------- all the tasks of a fit


class FitStore:
    """The results of the fits made so far, reused by ``warm_start``.

    `key` says what they depend on (the data, the clusterer, the reference,
    the power, the seed); `entropy` seeds every draw and fit.
    """

    def __init__(self, key, entropy):
        self.key = key
        self.entropy = entropy
        self.data = {}  # k -> W_k
        self.reference = {}  # (b, k) -> W*_kb
        self.short = set()  # (b, k) with fewer distinct clusters than k; b=-1: X
        self.kept = {}  # k -> the engine's clustering of X (centres, ...)
        self.best = {}  # k -> (best_estimator_, labels_) of a previous fit

    def arrays(self, ks, n_refs):
        """W_k (m,) and the W*_kb (n_refs, m) of the candidates `ks`."""
        dispersions = np.array([self.data[k] for k in ks])
        reference_dispersions = np.array(
            [[self.reference[b, k] for k in ks] for b in range(n_refs)]
        )
        return dispersions, reference_dispersions

    def copy(self):
        new = FitStore(self.key, self.entropy)
        for name in ("data", "reference", "short", "kept", "best"):
            setattr(new, name, getattr(self, name).copy())
        return new


def run_fits(X, spec, ks, store, n_refs, *, n_jobs, verbose):
    """Run the fits that `store` lacks for `ks` and the first n_refs draws.

    Tasks are (data set, group of ks); with several workers the ks of each
    data set are split into groups of about equal cost so that the work
    balances, and a reference set is drawn from its seed by the tasks that
    need it (no reference data are shipped or kept).
    """
    todo = []  # (b, ks to fit), b = -1 for X
    data_ks = [k for k in ks if k not in store.data]
    if data_ks:
        todo.append((-1, data_ks))
    for b in range(n_refs):
        ref_ks = [k for k in ks if (b, k) not in store.reference]
        if ref_ks:
            todo.append((b, ref_ks))
    if not todo:
        return
    if spec.engine is not None and not worth_threads(
        X.size, ks, spec.engine.n_init, len(todo)
    ):
        n_jobs = 1  # a few ms of work: threads would cost more
    workers = n_workers(n_jobs)
    n_tasks = 1 if workers == 1 else TASKS_PER_WORKER * workers
    n_chunks = -(-n_tasks // len(todo))
    units = [
        (b, [todo_ks[i] for i in group])
        for b, todo_ks in todo
        for group in split_ks(todo_ks, n_chunks)
    ]
    if spec.engine is None:
        # Longest first, so that the last tasks to finish are short.
        units.sort(key=lambda unit: -task_cost(unit[1]))
    # else: data set by data set, so that the threads fitting the groups of
    # one reference set share its draw (the engine only reads it)
    costs = [task_cost(unit_ks) for _, unit_ks in units]
    tasks = [[units[i] for i in positions] for positions in pack(costs, n_tasks)]

    total = (n_refs + 1) * len(ks)
    progress = Progress(
        total,
        enabled=bool(verbose),
        done=total - sum(len(unit_ks) for _, unit_ks in units),
    )
    records = []
    cancellation = Cancellation()
    results = run_tasks(
        fit_datasets,
        [
            (spec, task, X if any(b < 0 for b, _ in task) else None, cancellation)
            for task in tasks
        ],
        [sum(task_cost(unit_ks) for _, unit_ks in task) for task in tasks],
        n_jobs=n_jobs,
        verbose=verbose,
        gil_bound=holds_gil(X.size, compiled=spec.engine is not None),
        cancellation=cancellation,
        records=records,
        what=(
            f"the clusterer ({type(spec.estimator).__name__}), the reference "
            "sampler and the data"
        ),
    )
    for position, task_results in results:
        for (b, unit_ks), result in zip(tasks[position], task_results, strict=True):
            if b < 0:
                store.data.update(zip(unit_ks, result.dispersions, strict=True))
                store.kept.update(result.kept)
            else:
                store.reference.update(
                    ((b, k), w)
                    for k, w in zip(unit_ks, result.dispersions, strict=True)
                )
            store.short.update((b, k) for k in result.short_ks)
            progress.update(len(unit_ks))
    warn_summary(records)


# ------------------------------------------------------------------------- the best fit


def fit_best(X, spec, store, k):
    """The clusterer fitted on X at the chosen k, and its labels.

    The engine kept its centres; any other clusterer is fitted again with
    the seed of its first fit (which costs one fit and saves keeping
    every candidate's fitted clone).
    """
    if k in store.best:
        return store.best[k]
    with config_context(assume_finite=True, skip_parameter_validation=True):
        best = _fit_best(X, spec, store, k)
    store.best[k] = best
    return best


def _fit_best(X, spec, store, k):
    seed = data_seed(store.entropy, k)
    X_read_only = read_only(X)
    if spec.engine is not None:
        centers, inertia, n_iter, seed = store.kept[k]
        estimator = fitted_kmeans(
            spec.estimator,
            X_read_only,
            centers,
            inertia=inertia,
            n_iter=n_iter,
            seed=seed,
        )
        labels = estimator.labels_
    else:
        estimator = spec.estimator
        fixed = copies_input(estimator)
        user_copy_x = {name: estimator.get_params()[name] for name in fixed}
        estimator = configure(estimator, spec.n_clusters_param, k, seed, fixed)
        try:
            labels = check_labels(
                fit_labels(estimator, X_read_only, spec.fit_weight),
                X.shape[0],
                what="the clusterer's labels",
                given=False,
            )
        except Exception as exc:
            raise clusterer_error(
                spec.estimator, "the data", k, exc, " (the chosen k, fitted again)"
            ) from exc
        estimator.set_params(**user_copy_x)
        if k > 1 and _dataset_dispersion(spec, X, labels, -1) != store.data[k]:
            warn_caller(
                f"{type(spec.estimator).__name__} clustered the data at k={k} "
                "differently when fitted again with the same seed (it is not "
                "deterministic): labels_ and best_estimator_ come from the "
                "second fit, the gap statistic from the first.",
                SkgapWarning,
            )
    return estimator, labels
