"""Running the tasks of a fit: joblib, thread limits, warnings, progress.

The tasks run through scikit-learn's :class:`~sklearn.utils.parallel.Parallel`
and :func:`~sklearn.utils.parallel.delayed`, which carry the caller's
scikit-learn configuration and warning filters into the workers. joblib picks
the backend: threads by default, worker processes for scikit-learn fits that
hold the GIL, or whatever :func:`joblib.parallel_config` chooses (Dask's
included). Results come back in task order, so the caller places them the
same way for every `n_jobs` and backend.
"""

import os
import pickle
import sys
import threading
import warnings
from contextlib import contextmanager
from functools import cache

import numpy as np
from sklearn import config_context
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import ThreadpoolController

from ._utils import short_list, warn_caller
from .exceptions import ClustererFitError

__all__ = [
    "TASKS_PER_WORKER",
    "Cancelled",
    "engine_tasks_per_worker",
    "preferred_workers",
    "recording",
    "run_tasks",
    "single_threaded",
    "split_ks",
    "warn_summary",
]

# Below this many values in X (n_samples * n_features), a scikit-learn fit is
# mostly Python code holding the GIL: threads cannot share such fits, worker
# processes can (benchmarks/README.md, process_switch.py).
_MIN_SIZE_FOR_THREADS = 50_000

# Engine work: n_samples * n_features * sum(k) * n_init over the data sets.
# Below the first (a few ms), starting threads costs more than they save and
# the tasks run in sequence; below the second (~0.1 s), each worker gets one
# batch of whole data sets, since joblib looks for results every 10 ms.
_MIN_ENGINE_WORK_FOR_THREADS = 3e6
_MIN_ENGINE_WORK_FOR_SPLITS = 1e8

# With several workers, the ks of each data set are split until there are at
# least this many tasks per worker, so that the last tasks to finish are short.
TASKS_PER_WORKER = 9


class Cancelled(Exception):
    """A task stopped because its fit was cancelled (interrupted, or failed)."""


@cache
def _threadpool_controller():
    """One controller per process: building one scans the loaded libraries."""
    return ThreadpoolController()


def single_threaded(user_api=None):
    """One BLAS thread in this process, one OpenMP thread in this thread.

    A fit's work is either single-threaded by design or run in parallel by
    n_jobs: BLAS or OpenMP threads would only compete with it, and their idle
    workers spin for a while on the cores the fits need. BLAS's thread count
    is global to the process, OpenMP's per thread.
    """
    return _threadpool_controller().limit(limits=1, user_api=user_api)


def split_ks(ks, n_chunks):
    """Split the ks into `n_chunks` groups of about equal cost (a k-means ~ k).

    Largest ks are dealt first to the cheapest group; each group keeps the
    ks in increasing order. Returns the groups, lists of ks.
    """
    groups = [[] for _ in range(max(1, min(n_chunks, len(ks))))]
    costs = [0.0] * len(groups)
    for position in sorted(range(len(ks)), key=lambda i: -ks[i]):
        g = costs.index(min(costs))
        groups[g].append(position)
        costs[g] += ks[position] if ks[position] > 1 else 0.2
    return [[ks[i] for i in sorted(group)] for group in groups if group]


def engine_tasks_per_worker(n_values, ks, n_init, n_data_sets):
    """How many tasks each worker gets of the engine's work; 0: in sequence."""
    work = n_values * sum(ks) * n_init * n_data_sets
    if work < _MIN_ENGINE_WORK_FOR_THREADS:
        return 0
    return 1 if work < _MIN_ENGINE_WORK_FOR_SPLITS else TASKS_PER_WORKER


def preferred_workers(n_values, compiled, estimator, tree=False):
    """joblib's `prefer` for the tasks: "threads" or "processes".

    The engine holds no GIL, and scikit-learn's k-means fits of large data
    mostly run in compiled loops that release it: threads, which start at no
    cost and share X. scikit-learn's fits of small data are mostly Python
    holding the GIL, and so are parts of a hierarchical `tree`'s fit (two
    threads take 0.74 of the time of one doing both, at 4,000 rows):
    processes, if the clusterer can be sent to them
    (benchmarks/process_switch.py). A backend chosen with
    :func:`joblib.parallel_config` takes precedence over either.
    """
    if compiled or (n_values >= _MIN_SIZE_FOR_THREADS and not tree):
        return "threads"
    try:
        import cloudpickle  # what joblib's worker processes receive
    except ImportError:  # pragma: no cover - joblib < 1.5 vendors it
        from joblib.externals import cloudpickle
    try:
        cloudpickle.dumps(estimator)
    except Exception:
        return "threads"
    return "processes"


# --------------------------------------------------------------------- warnings


@contextmanager
def recording(records, dataset, k, parent_pid):
    """Record the warnings of one fit as ``(category, message, (dataset, k))``.

    Warnings raised in a worker process never reach the caller, so tasks
    record theirs and the caller re-emits them (`warn_summary`). Recording
    replaces the process's ``showwarning`` for its duration, which is safe
    only where no other thread records at the same time: in the caller's
    process, only its main thread records (running the tasks in sequence);
    in the other threads of that process (joblib's threading backend)
    warnings are not recorded but shown as raised, under the caller's
    filters. Worker processes (loky, multiprocessing, Dask) record.
    """
    if os.getpid() == parent_pid and (
        threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    with warnings.catch_warnings(record=True) as caught:
        yield
    records.extend((w.category, str(w.message), (dataset, k)) for w in caught)


def _describe_fits(fits):
    """'the data at k=2, 3; reference data sets b=0, 4 at k=3' from (b, k)."""
    parts = []
    for name, group in (
        ("the data", [(None, k) for b, k in fits if b == -1]),
        ("reference data sets b=", [(b, k) for b, k in fits if b >= 0]),
        ("resamples of the data r=", [(-2 - b, k) for b, k in fits if b < -1]),
    ):
        numbers, ks = (
            sorted({n for n, _ in group} - {None}),
            sorted({k for _, k in group}),
        )
        if ks:
            parts.append(f"{name}{short_list(numbers)} at k={short_list(ks)}")
    return "; ".join(parts)


def warn_summary(records):
    """Re-emit recorded warnings once per category, with a count and the fits."""
    by_category = {}
    for category, message, fit in records:
        by_category.setdefault(category, []).append((message, fit))
    # sorted: the summary must not depend on the order tasks finish in
    for category, items in sorted(by_category.items(), key=lambda i: i[0].__name__):
        messages = sorted({message for message, _ in items})
        text = (
            f"{len(items)} {category.__name__} warning{'s' * (len(items) > 1)} "
            f"raised while clustering {_describe_fits([fit for _, fit in items])}"
        )
        if len(messages) == 1:
            text += f": {messages[0]}"
        else:
            more = f" | ... ({len(messages)} distinct)" if len(messages) > 3 else ""
            text += f". Messages: {' | '.join(messages[:3])}{more}"
        warn_caller(text, category)


# ------------------------------------------------------------------------ tasks


class _Running:
    """The cancel flag of one fit, and a count of its tasks in this process.

    The engine reads `flag` between its iterations, the other tasks between
    their fits. An interrupted or failed fit sets it and returns only once
    the tasks running in this process have stopped, so that no thread of
    skgap keeps fitting after ``fit`` raised. A worker process gets a copy
    of its own, and joblib stops those workers itself.
    """

    def __init__(self):
        self.flag = np.zeros(1, dtype=np.intc)
        self._idle = threading.Condition()
        self._active = 0
        self.arrays = {}  # thread -> an array its tasks reuse, for the fit

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        self.__init__()

    def check(self):
        """Raise Cancelled if the fit was cancelled."""
        if self.flag[0]:
            raise Cancelled()

    @contextmanager
    def task(self):
        with self._idle:
            self._active += 1
        try:
            yield
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def cancel_and_wait(self):
        self.flag[0] = 1
        with self._idle:
            while self._active:
                self._idle.wait(timeout=0.1)


def _run_task(func, args, running, parent_pid):
    """One joblib task: ``func(*args, running)``, single-threaded.

    In another process the BLAS thread count is limited here (in the caller's
    process ``GapKMeans.fit`` limits it for the whole fit); OpenMP's, which
    is per thread, in the thread that fits.
    """
    running.check()
    user_api = "openmp" if os.getpid() == parent_pid else None
    with running.task(), single_threaded(user_api):
        return func(*args, running)


def run_tasks(func, tasks, *, n_jobs, prefer, verbose, what):
    """Run ``func(*args, running)`` for the args of each task; yield the results.

    Results come in task order, as they complete. `what` names what the
    tasks receive, for the error a worker process cannot unpickle. If the
    fit is interrupted or a task fails, the other tasks stop, and this
    raises only once those of this process have stopped.
    """
    running = _Running()
    calls = [delayed(_run_task)(func, args, running, os.getpid()) for args in tasks]
    params = dict(n_jobs=n_jobs, prefer=prefer, verbose=max(0, verbose - 1))
    try:
        # What fit checked once (finite data, valid clusterer parameters) is
        # not checked again by every fit; Parallel passes the configuration
        # of this call to the workers.
        with config_context(assume_finite=True, skip_parameter_validation=True):
            try:
                results = Parallel(return_as="generator", **params)(calls)
            except ValueError as exc:  # a backend without generators
                if "return_as" not in str(exc):
                    raise
                results = Parallel(**params)(calls)
        yield from results
    except pickle.PicklingError as exc:
        raise pickle.PicklingError(
            f"{exc} GapKMeans sends {what} to worker processes: make them "
            "picklable, or run with n_jobs=1 or "
            "joblib.parallel_config(backend='threading')."
        ) from exc
    except ClustererFitError as exc:
        # joblib chains its own traceback text: chain the clusterer's error
        original = exc.original
        if original is None or exc.__cause__ is original:
            raise
        if original.__cause__ is None and original.__traceback__ is None:
            original.__cause__ = exc.__cause__
        raise exc from original
    except Exception as exc:
        if not _worker_died(exc):
            raise
        raise ClustererFitError(
            f"A worker process died while GapKMeans was clustering the data and "
            f"the reference data sets (n_jobs={n_jobs}); which fit it was running "
            "is unknown. The clusterer most likely crashed the interpreter (a "
            "segmentation fault, os._exit, or the out-of-memory killer). Run with "
            "n_jobs=1 to see the failure in this process, or reduce memory use. "
            f"The backend reported: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        running.cancel_and_wait()


def _worker_died(exc):
    """Whether a backend reports with `exc` that a worker process died."""
    from concurrent.futures import BrokenExecutor

    if isinstance(exc, BrokenExecutor):  # loky, multiprocessing
        return True
    if "distributed" not in sys.modules:  # not imported: not a Dask error
        return False
    from distributed.scheduler import KilledWorker

    return isinstance(exc, KilledWorker)  # killed every Dask worker that ran it
