"""The fits of a gap-statistic fit: their seeds, the task, and the best fit.

A fit of :class:`~skgap.GapKMeans` is a set of tasks, each clustering one data
set (the data, or reference data set b) for a group of candidate ks:
`fit_task` is the one task, `run_fits` plans and runs the tasks that a
`FitStore` lacks. Every draw and every fit has its own seed, derived from the
fit's entropy and its place (stream, b, k) alone, so that the results never
depend on how the tasks are grouped, ordered or run (threads, processes, a
Dask cluster). `fit_best` makes ``best_estimator_`` at the chosen k.
"""

import copy
import threading
from dataclasses import dataclass, field

import numpy as np
from joblib import effective_n_jobs
from sklearn import config_context

from ._clusterer import centres_in_place, clusterer_error, fit_checked, nested_params
from ._dispersion import _dispersion
from ._engine import EngineSettings, engine_fit, fitted_kmeans
from ._execution import (
    TASKS_PER_WORKER,
    Cancelled,
    engine_tasks_per_worker,
    preferred_workers,
    recording,
    run_tasks,
    split_ks,
    warn_summary,
)
from ._progress import Progress
from ._utils import read_only, warn_caller
from .exceptions import SkgapWarning

__all__ = ["FitSpec", "FitStore", "fit_best", "fit_task", "run_fits"]

# Seed streams: one seed per (stream, reference b, k), independent of how many
# references and candidates there are, so results never depend on n_jobs.
_DATA_FIT, _REFERENCE_DRAW, _REFERENCE_FIT, _BOOTSTRAP = 0, 1, 2, 3
_RESAMPLE_ROWS, _RESAMPLE_FIT = 4, 5

# Data sets are numbered: reference data set b >= 0, the data -1, and
# resample r of the data rows -2 - r (see `resample_number`).
DATA = -1


def resample_number(b):
    """The resample r of data set number b (b <= -2), else None."""
    return -2 - b if b <= -2 else None


def _seeds(entropy, stream, b, ks):
    """32-bit seeds for the draws or fits (stream, b, k) of the ks.

    Word k of the state of the SeedSequence (entropy, spawn key (stream, b)):
    the same whatever other ks are asked for.
    """
    sequence = np.random.SeedSequence(entropy, spawn_key=(stream, b))
    return [int(seed) for seed in sequence.generate_state(max(ks) + 1)[list(ks)]]


def fit_seeds(entropy, b, ks):
    """The seeds of the fits of data set b at the ks."""
    if b == DATA:
        return _seeds(entropy, _DATA_FIT, 0, ks)
    if b < 0:
        return _seeds(entropy, _RESAMPLE_FIT, resample_number(b), ks)
    return _seeds(entropy, _REFERENCE_FIT, b, ks)


def resample_rows(entropy, r, n_samples):
    """The rows of resample r of the data: n_samples drawn with replacement."""
    seed = _seeds(entropy, _RESAMPLE_ROWS, r, [0])[0]
    return np.random.default_rng(seed).integers(0, n_samples, size=n_samples)


def reference_draw_seed(entropy, b):
    """The seed of reference data set b."""
    return _seeds(entropy, _REFERENCE_DRAW, b, [0])[0]


def bootstrap_seed(entropy):
    """The seed of the resamples behind the selection frequencies."""
    return _seeds(entropy, _BOOTSTRAP, 0, [0])[0]


def _dataset_name(b):
    if b == DATA:
        return "the data"
    if b < 0:
        return f"resample r={resample_number(b)} of the data"
    return f"reference data set b={b}"


def _w_k(spec, X, labels, sample_weight, b, check=None):
    """W_k of data set b clustered by `labels`, with the fit's power and metric."""
    name, power, metric = _dataset_name(b), spec.power, spec.metric
    return _dispersion(
        X, labels, power, sample_weight, name, metric, spec.metric_params, check=check
    )


def _draw(spec, b, running):
    """Reference data set b, drawn into this thread's array for the fit.

    Drawing every reference set into an array of its own made glibc keep the
    freed ones in its per-thread arenas: W3 at n_jobs=2 peaked at 4.7 x
    X.nbytes, 3.8 with one array per thread (benchmarks/memory.py).
    """
    seed, thread = reference_draw_seed(spec.entropy, b), threading.get_ident()
    if not spec.sampler.draws_in_place:  # a user's callable
        return spec.sampler.sample(seed)
    if thread not in running.arrays:
        running.arrays[thread] = spec.sampler.sample(seed)
        return running.arrays[thread]
    return spec.sampler.sample(seed, out=running.arrays[thread])


def _dataset(spec, b, X, running):
    """Data set b, its weights in W_k and its weights in the fits."""
    sample_weight, fit_weight = spec.sample_weight, spec.fit_weight
    if b >= 0:
        return _draw(spec, b, running), sample_weight, fit_weight
    if b == DATA:
        return X, sample_weight, fit_weight
    rows = resample_rows(spec.entropy, resample_number(b), X.shape[0])
    weights = (None if w is None else w[rows] for w in (sample_weight, fit_weight))
    return X[rows], *weights


# ----------------------------------------------------------------------------- the task


@dataclass(frozen=True)
class FitSpec:
    """What every task of one fit shares (small and picklable)."""

    estimator: object  # the clusterer (unfitted)
    n_clusters_param: str
    engine: EngineSettings | None  # the engine's settings, if it runs the fits
    nested: object  # the one-tree fitter of a clusterer nested over k, or None
    sampler: object  # draws reference data set b from its seed
    power: float
    metric: object  # the distance of W_k: a name or a callable
    metric_params: dict
    sample_weight: np.ndarray | None  # in W_k and the references
    fit_weight: np.ndarray | None  # passed to the clusterer's fits
    entropy: int
    parent_pid: int  # the caller's process


@dataclass
class TaskResult:
    """W_k of each k of a task, and what its fits found.

    ``short_ks``: the ks at which the clusterer found fewer distinct clusters
    than k; ``kept``: for the engine's fits of the data, the centres,
    inertia, iteration count and seed of each k (for ``best_estimator_``);
    ``warnings``: the warnings recorded in the fits (see `recording`).
    """

    dispersions: np.ndarray
    short_ks: list = field(default_factory=list)
    kept: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)


def fit_task(spec, units, X, running):
    """The joblib task: `fit_dataset` for each (b, ks) of `units`."""
    return [fit_dataset(spec, b, ks, X, running) for b, ks in units]


def fit_dataset(spec, b, ks, X, running):
    """Cluster data set b at every k of `ks`; its W_k.

    Data set b is reference data set b if b >= 0, drawn here from its seed
    (no reference data are shipped or kept), the data X if b is `DATA`, or a
    resample of its rows (with their weights) if b < -1. The engine fits
    every k in one call; any other clusterer is fitted once per k. It runs
    single-threaded and stops with `Cancelled` soon after `running` is
    cancelled.
    """
    seeds = fit_seeds(spec.entropy, b, ks)
    redraw = spec.engine is None and b >= 0
    redraw = redraw and centres_in_place(spec.estimator, spec.sampler)
    X, sample_weight, fit_weight = _dataset(spec, b, X, running)
    if not redraw:
        # Read-only: a clusterer that modified its input would change the
        # caller's X or the data of the next k.
        X = read_only(X)
    result = TaskResult(dispersions=np.empty(len(ks)))
    # The engine computes W_k (power 2) with the weights of its fits; with
    # other weights (metadata routing), power or metric, from its labels.
    squared = (
        spec.power == 2.0
        and spec.metric == "euclidean"
        and spec.fit_weight is spec.sample_weight
    )
    if spec.engine is not None:
        fit = engine_fit(
            X,
            fit_weight,
            ks,
            seeds,
            spec.engine,
            dispersion=squared,
            labels=not squared,
            cancel=running.flag,
        )
        if fit is None:
            raise Cancelled()
        labels_per_k = None if squared else fit.labels
        n_found = fit.n_distinct
        if squared:
            result.dispersions[:] = fit.dispersion
        if b == DATA:
            result.kept = {
                k: (centers, float(inertia), int(n_iter), seed)
                for k, centers, inertia, n_iter, seed in zip(
                    ks, fit.centers, fit.inertia, fit.n_iter, seeds, strict=True
                )
            }
    elif spec.nested is not None:
        # one tree of data set b, cut at every k (skgap/_nested.py)
        with recording(result.warnings, b, ks[-1], spec.parent_pid):
            try:
                labels_per_k = spec.nested.fit_labels(X, ks)
            except Exception as exc:
                raise clusterer_error(
                    spec.estimator, _dataset_name(b), ks, exc
                ) from exc
        n_found = [np.unique(labels).shape[0] for labels in labels_per_k]
    else:
        labels_per_k, n_found = [], []
        for k, seed in zip(ks, seeds, strict=True):
            running.check()
            if k == 1:
                labels = np.zeros(X.shape[0], dtype=np.intp)
            else:
                with recording(result.warnings, b, k, spec.parent_pid):
                    _, labels = fit_checked(
                        spec.estimator,
                        spec.n_clusters_param,
                        X,
                        fit_weight,
                        k,
                        seed,
                        _dataset_name(b),
                        copy_x=not redraw,
                    )
                if redraw:
                    spec.sampler.sample(reference_draw_seed(spec.entropy, b), out=X)
            labels_per_k.append(labels)
            n_found.append(np.unique(labels).shape[0])
    if labels_per_k is not None:
        for i, labels in enumerate(labels_per_k):
            running.check()
            result.dispersions[i] = _w_k(
                spec, X, labels, sample_weight, b, running.check
            )
    result.short_ks = [k for k, n in zip(ks, n_found, strict=True) if n < k]
    return result


# --------------------------------------------------------------- all the tasks of a fit


class FitStore:
    """The results of the fits made so far, reused by ``warm_start``.

    `key` says what they depend on (the data, the clusterer, the reference,
    the power, the seed); `entropy` seeds every draw and fit.
    """

    def __init__(self, key, entropy):
        self.key = key
        self.entropy = entropy
        self.w = {}  # (b, k) -> W_k of data set b (see `DATA`)
        self.short = set()  # (b, k) with fewer distinct clusters than k
        self.kept = {}  # k -> the engine's clustering of X (centres, ...)
        self.best = {}  # k -> (best_estimator_, labels_), never handed out

    def arrays(self, ks, datasets):
        """W_k of each data set of `datasets` (rows) at each k of `ks`."""
        return np.array([[self.w[b, k] for k in ks] for b in datasets])

    def copy(self):
        new = FitStore(self.key, self.entropy)
        for name in ("w", "short", "kept", "best"):
            setattr(new, name, getattr(self, name).copy())
        return new


def datasets(n_refs, n_resamples=0):
    """The numbers of the data sets of a fit: the data, references, resamples."""
    return [DATA, *range(n_refs), *(-2 - r for r in range(n_resamples))]


def run_fits(X, spec, ks, store, n_refs, n_resamples=0, *, n_jobs, verbose):
    """Run the fits that `store` lacks for `ks` on the data, the first n_refs
    references and the first n_resamples resamples of the data rows.

    Tasks are (data set, group of ks): one per data set with one worker; with
    several, the ks of each data set are split into groups of about equal
    cost, longest first, so that the work balances.
    """
    todo = []  # (b, ks to fit)
    for b in datasets(n_refs, n_resamples):
        todo_ks = [k for k in ks if (b, k) not in store.w]
        if todo_ks:
            todo.append((b, todo_ks))
    if not todo:
        return
    engine = spec.engine is not None
    per_worker = TASKS_PER_WORKER
    if engine:
        per_worker = engine_tasks_per_worker(X.size, ks, spec.engine.n_init, len(todo))
        n_jobs = n_jobs if per_worker else 1  # a few ms of work: in sequence
    n_workers = effective_n_jobs(n_jobs)
    n_chunks = -(-per_worker * n_workers // len(todo))
    if n_workers == 1 or spec.nested is not None:
        n_chunks = 1  # a tree is fitted once per data set, for all its ks
    tasks = [(b, group) for b, bks in todo for group in split_ks(bks, n_chunks)]
    if n_workers > 1:
        tasks.sort(key=lambda task: -sum(task[1]))  # longest first

    total = len(datasets(n_refs, n_resamples)) * len(ks)
    progress = Progress(
        total, [task_ks for _, task_ks in tasks], bool(verbose), n_workers
    )
    # Without workers to balance nor progress to show, one task holds every
    # data set (a joblib task costs ~0.15 ms, as much as a small fit); short
    # work is dealt to the workers in one batch each.
    n_batches = n_workers if per_worker == 1 else len(tasks)
    n_batches = 1 if n_workers == 1 and not verbose else n_batches
    batches = [tasks[i::n_batches] for i in range(n_batches)]
    records = []
    results = run_tasks(
        fit_task,
        [
            (spec, batch, X if any(b < 0 for b, _ in batch) else None)
            for batch in batches
        ],
        n_jobs=n_jobs,
        prefer=preferred_workers(
            X.size, engine, spec.estimator, tree=spec.nested is not None
        ),
        verbose=verbose,
        what=(
            f"the clusterer ({type(spec.estimator).__name__}), the reference "
            "sampler and the data"
        ),
    )
    results = (result for batch in results for result in batch)
    tasks = [task for batch in batches for task in batch]
    with progress:
        for (b, task_ks), result in zip(tasks, results, strict=True):
            store.w.update(
                ((b, k), w) for k, w in zip(task_ks, result.dispersions, strict=True)
            )
            store.kept.update(result.kept)
            store.short.update((b, k) for k in result.short_ks)
            records.extend(result.warnings)
            progress.update(task_ks)
    warn_summary(records)


# ------------------------------------------------------------------------- the best fit


def fit_best(X, spec, store, k, keep=False):
    """The clusterer fitted on X at the chosen k, and its labels.

    The engine kept its centres; any other clusterer is fitted again with
    the seed of its first fit (which costs one fit and saves keeping every
    candidate's fitted clone). With `keep` (a warm start) a copy is kept in
    `store` and a later call hands out a copy of it, whatever the caller did
    to the one it was given.
    """
    if k in store.best:
        return copy.deepcopy(store.best[k])
    with config_context(assume_finite=True, skip_parameter_validation=True):
        best = _fit_best(X, spec, store, k)
    if keep:
        try:
            store.best[k] = copy.deepcopy(best)
        except Exception:  # a clusterer that cannot be copied: refitted
            pass
    return best


def _fit_best(X, spec, store, k):
    seed = fit_seeds(store.entropy, -1, [k])[0]
    if spec.engine is not None:
        centers, inertia, n_iter, seed = store.kept[k]
        estimator = fitted_kmeans(
            spec.estimator,
            read_only(X),
            centers,
            inertia=inertia,
            n_iter=n_iter,
            seed=seed,
        )
        return estimator, estimator.labels_
    if spec.nested is not None:
        try:
            estimator = spec.nested.best_estimator(read_only(X), k)
        except Exception as exc:
            raise clusterer_error(spec.estimator, "the data", k, exc) from exc
        return estimator, estimator.labels_
    user_copy_x = {
        name: spec.estimator.get_params()[name]
        for name in nested_params(spec.estimator, "copy_x")
    }
    estimator, labels = fit_checked(
        spec.estimator,
        spec.n_clusters_param,
        read_only(X),
        spec.fit_weight,
        k,
        seed,
        "the data",
        " (the chosen k, fitted again)",
        warn=False,  # warned in its first fit
    )
    estimator.set_params(**user_copy_x)
    if k > 1 and _w_k(spec, X, labels, spec.sample_weight, DATA) != store.w[DATA, k]:
        warn_caller(
            f"{type(spec.estimator).__name__} clustered the data at k={k} "
            "differently when fitted again with the same seed (it is not "
            "deterministic): labels_ and best_estimator_ come from the second "
            "fit, the gap statistic from the first.",
            SkgapWarning,
        )
    return estimator, labels
