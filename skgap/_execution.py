"""Running the tasks of a fit: joblib, thread limits, warnings, progress.

Tasks run through :class:`joblib.Parallel`, threads preferred (the engine and
scikit-learn's k-means iterations release the GIL, and threads start at no
cost); :func:`joblib.parallel_config` can choose another backend, Dask's
included. Each task runs single-threaded, with the caller's scikit-learn
configuration, and records the warnings of its own thread; results come back
as they complete, tagged with the task's position, so that the caller places
them the same way whatever the order.
"""

import os
import pickle
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from functools import cache

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn import config_context, get_config
from threadpoolctl import ThreadpoolController

from ._faults import WORKER_DIED, record_warnings, worker_died_error
from .exceptions import ClustererFitError

__all__ = [
    "Cancellation",
    "Cancelled",
    "Progress",
    "holds_gil",
    "n_workers",
    "pack",
    "run_tasks",
    "single_threaded",
    "split_ks",
    "task_cost",
    "worth_threads",
]

# Below this many values in X (n_samples * n_features), a scikit-learn
# k-means fit is mostly Python code that holds the GIL: threads cannot run
# such fits in parallel (benchmarks/README.md), so they run in sequence, or
# in worker processes when the work is long enough to pay back their start-up.
# The engine holds no GIL: its tasks always run in threads.
_MIN_SIZE_FOR_THREADS = 50_000

# Below this much work (n_samples * n_features * sum(k) * n_init summed over
# the data sets: a few milliseconds of the engine's time), starting threads
# costs more than they save, and the engine's tasks run in sequence.
_MIN_ENGINE_WORK_FOR_THREADS = 3e6

# How long joblib's process workers (loky) take to start and import
# scikit-learn (benchmarks/process_switch.py): small fits move to processes
# only if that saves at least twice as much.
_PROCESS_START_SECONDS = 1.0

# Small fits run in sequence for at least this long before the remaining
# time is estimated from the cost run so far.
_SECONDS_TIMED = 0.25

# With several workers, the ks of each data set are split until there are at
# least this many tasks per worker, so that the last tasks to finish are short.
TASKS_PER_WORKER = 9


class Cancelled(Exception):
    """A task stopped because its fit was cancelled (interrupted, or failed)."""


class Cancellation:
    """Stops the tasks of one fit, and knows when those of this process stopped.

    `flag` is read by the engine between its iterations (and by the other
    tasks between their fits); the tasks running in this process are counted,
    so that an interrupted fit returns only once they have stopped: no thread
    of skgap keeps fitting while the interpreter exits. In another process
    (loky, Dask) a task gets its own copy, and joblib stops those workers.
    """

    def __init__(self):
        self.flag = np.zeros(1, dtype=np.intc)
        self._init_local()

    def _init_local(self):
        self._condition = threading.Condition()
        self._active = 0

    def __getstate__(self):
        return {"flag": np.zeros(1, dtype=np.intc)}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._init_local()

    def set(self):
        self.flag[0] = 1

    def is_set(self):
        return bool(self.flag[0])

    def check(self):
        """Raise Cancelled if the fit was cancelled."""
        if self.flag[0]:
            raise Cancelled()

    @contextmanager
    def running(self):
        with self._condition:
            self._active += 1
        try:
            yield
        finally:
            with self._condition:
                self._active -= 1
                self._condition.notify_all()

    def wait_idle(self):
        """Wait until no task of this process runs (a second Ctrl-C stops waiting)."""
        with self._condition:
            while self._active:
                self._condition.wait(timeout=0.1)


@contextmanager
def _interrupt_cancels(cancellation):
    """Ctrl-C sets the cancel flag before raising KeyboardInterrupt.

    So that the running tasks stop at once: joblib waits for them when it
    aborts. Only the main thread can install a signal handler.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):  # ignored, or not set from Python
        yield
        return

    def handler(signum, frame):
        cancellation.set()
        previous(signum, frame)

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@cache
def _threadpool_controller():
    """One controller per process: building one scans the loaded libraries."""
    return ThreadpoolController()


def single_threaded():
    """One BLAS thread in this process, one OpenMP thread in this thread.

    A fit's work is either single-threaded by design or run in parallel by
    n_jobs: BLAS or OpenMP threads would only compete with it, and after each
    call their idle workers spin for a while on the cores the fits need.
    BLAS's thread count is global to the process, OpenMP's per thread.
    """
    return _threadpool_controller().limit(limits=1)


def task_cost(ks):
    """The relative cost of fitting the ks of one data set (a k-means ~ k)."""
    return sum(k if k > 1 else 0.2 for k in ks)


def pack(costs, n_tasks):
    """Group consecutive units of work into at most `n_tasks` tasks of about
    equal cost; returns lists of positions. Few large tasks cost less
    overhead than many small ones."""
    if n_tasks >= len(costs):
        return [[i] for i in range(len(costs))]
    target = sum(costs) / n_tasks
    tasks, current, filled = [], [], 0.0
    for i, cost in enumerate(costs):
        current.append(i)
        filled += cost
        if filled >= target * (len(tasks) + 1) and len(tasks) < n_tasks - 1:
            tasks.append(current)
            current = []
    if current:
        tasks.append(current)
    return tasks


def split_ks(ks, n_chunks):
    """Split the ks into `n_chunks` groups of about equal cost (cost ~ k).

    Largest ks are dealt first to the cheapest group; each group keeps the
    ks in increasing order. Returns a list of lists of positions into `ks`.
    """
    if n_chunks <= 1:
        return [list(range(len(ks)))]
    groups = [[] for _ in range(min(n_chunks, len(ks)))]
    costs = [0] * len(groups)
    for position in sorted(range(len(ks)), key=lambda i: -ks[i]):
        g = costs.index(min(costs))
        groups[g].append(position)
        costs[g] += task_cost([ks[position]])
    return [sorted(group) for group in groups if group]


def worth_threads(n_values, ks, n_init, n_data_sets):
    """Whether the engine's work is large enough to pay for starting threads."""
    return n_values * sum(ks) * n_init * n_data_sets >= _MIN_ENGINE_WORK_FOR_THREADS


def holds_gil(n_values, compiled):
    """Whether fits of data of `n_values` values mostly hold the GIL.

    scikit-learn's fits of small data do (Python code); the engine never.
    """
    return not compiled and n_values < _MIN_SIZE_FOR_THREADS


def _run_task(position, parent_pid, config, func, args, cancellation):
    """One joblib task: `func(*args)`, single-threaded, tagged by position.

    The caller's scikit-learn `config` is set here, in the worker's thread, as
    ``sklearn.utils.parallel`` would; its Parallel is not used because it
    resets the process-global warning filters in every task, which races
    under threads with the warning recording of skgap._faults.

    OpenMP thread counts, which are per calling thread, are limited here, in
    the thread that fits; the BLAS thread count is global to the process: in
    the parent process ``GapKMeans.fit`` limits it for the whole fit
    (`single_threaded`), in another process (loky, dask) the task does.
    The engine uses neither, but the reference draws use BLAS.
    """
    cancellation.check()
    user_api = "openmp" if os.getpid() == parent_pid else None
    limit = _threadpool_controller().limit(limits=1, user_api=user_api)
    # Warnings are recorded and returned: in another process they would be
    # lost, and the caller summarises them once (see skgap._faults).
    with (
        cancellation.running(),
        config_context(**config),
        limit,
        record_warnings() as caught,
    ):
        result = func(*args)
    return position, result, caught


def _active_backend(prefer):
    from joblib.parallel import get_active_backend

    return get_active_backend(prefer=prefer)[0]


def _plan(n_jobs, gil_bound):
    """How to run the tasks: "parallel", "sequential" or "timed".

    "parallel": joblib's active backend, threads preferred. Tasks that hold
    the GIL (`gil_bound`) under threads chosen by the caller: "sequential";
    under threads chosen by skgap's preference only: "timed", in sequence
    until the rest of the work can be estimated, then the rest in processes
    if it is long.
    """
    if not gil_bound or effective_n_jobs(n_jobs) == 1:
        return "parallel"
    backend = _active_backend("threads")
    if not getattr(backend, "uses_threads", False):
        return "parallel"  # processes or a cluster, chosen by the caller
    if type(_active_backend("processes")) is type(backend):
        return "sequential"  # threads chosen by the caller
    return "timed"


def _picklable(call):
    """Whether joblib's process workers can receive the call (as loky does)."""
    try:
        import cloudpickle  # a dependency of joblib >= 1.5
    except ImportError:  # pragma: no cover - older joblib vendors it
        from joblib.externals import cloudpickle
    try:
        cloudpickle.dumps(call)
    except Exception:
        return False
    return True


def _execute(calls, costs, n_jobs, plan, verbose):
    """Run joblib `calls` as `plan` says; yield their results as they complete."""
    params = dict(n_jobs=n_jobs, prefer="threads", verbose=max(0, verbose - 1))
    if plan != "parallel":
        start, done = time.perf_counter(), 0
        for func, args, kwargs in calls:
            yield func(*args, **kwargs)
            done += 1
            elapsed = time.perf_counter() - start
            if plan == "timed" and elapsed >= _SECONDS_TIMED:
                break
        if done == len(calls):
            return
        remaining = elapsed * sum(costs[done:]) / sum(costs[:done])
        saved = remaining * (1 - 1 / effective_n_jobs(n_jobs))
        calls = calls[done:]
        if saved < 2 * _PROCESS_START_SECONDS or not _picklable(calls[0]):
            for func, args, kwargs in calls:
                yield func(*args, **kwargs)
            return
        params["prefer"] = "processes"
    elif _plain_threads(n_jobs):
        yield from _in_threads(calls, effective_n_jobs(n_jobs))
        return
    else:
        backend = _active_backend("threads")
        if type(backend).__name__ == "DaskDistributedBackend":
            yield from _on_dask(calls, backend)
            return
    try:
        parallel = Parallel(return_as="generator_unordered", **params)
    except ValueError:  # backends without generators, e.g. multiprocessing
        parallel = Parallel(return_as="list", **params)
    yield from parallel(calls)


def _plain_threads(n_jobs):
    """Whether the tasks would run in joblib's threading backend, not nested.

    Its result loop polls every 10 ms, which on short fits (a few ms each,
    the engine's) costs more than the work: those run in a thread pool of
    the same size instead, the same threads without the polling.
    """
    from joblib._parallel_backends import ThreadingBackend

    backend = _active_backend("threads")
    return (
        type(backend) is ThreadingBackend
        and getattr(backend, "nesting_level", 0) == 0
        and effective_n_jobs(n_jobs) > 1
    )


def _on_dask(calls, backend):
    """Run joblib `calls` on the Dask cluster of joblib's dask backend.

    Through the backend's client directly: joblib's dask backend never
    reports a task that Dask gave up on (its worker died ``allowed-failures``
    times), and would wait for it forever; Dask's own retries of a task
    whose worker died still happen, with the same result.
    """
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    client = backend.client
    futures = [
        client.submit(func, *args, pure=False, **kwargs, **backend.submit_kwargs)
        for func, args, kwargs in calls
    ]
    try:
        for future in as_completed(futures):
            try:
                yield future.result()
            except KilledWorker as exc:
                raise ClustererFitError(
                    "A task of GapKMeans killed every Dask worker that ran it (Dask "
                    "gave up after its 'distributed.scheduler.allowed-failures' "
                    "retries): the clusterer most likely crashes its process (a "
                    "segmentation fault, os._exit, or the out-of-memory killer). "
                    "Run with n_jobs=1 to see the failure in this process, or "
                    f"reduce memory use. Dask reported: {exc}"
                ) from exc
    finally:
        client.cancel(futures)


def _in_threads(calls, n_threads):
    """Run joblib `calls` in `n_threads` threads; yield results as they complete."""
    executor = ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="skgap")
    try:
        futures = [
            executor.submit(func, *args, **kwargs) for func, args, kwargs in calls
        ]
        for future in as_completed(futures):
            yield future.result()
    finally:
        # on an error or an interrupt the queued tasks are dropped; the caller
        # waits for the running ones (they stop early, see Cancellation)
        executor.shutdown(wait=False, cancel_futures=True)


def n_workers(n_jobs):
    """How many tasks run at once."""
    return effective_n_jobs(n_jobs)


def run_tasks(
    func,
    tasks,
    costs,
    *,
    n_jobs,
    verbose,
    gil_bound,
    cancellation,
    records,
    what,
):
    """Run ``func(*args)`` for each args of `tasks`; yield (position, result).

    Results come as tasks complete. The warnings the tasks raised are
    appended to `records`; `what` names what the tasks handle, for errors
    (e.g. "the clusterer (KMeans), the reference sampler and the data").
    The scikit-learn configuration of the caller, with what ``fit`` already
    made sure of (finite data, valid clusterer parameters), reaches every
    task, whose fits then skip those checks. If the fit is interrupted or a
    task fails, `cancellation` stops the other tasks, and this returns (by
    the exception) only once those of this process have stopped.
    """
    config = {**get_config(), "assume_finite": True, "skip_parameter_validation": True}
    parent_pid = os.getpid()
    calls = [
        delayed(_run_task)(position, parent_pid, config, func, args, cancellation)
        for position, args in enumerate(tasks)
    ]
    plan = _plan(n_jobs, gil_bound)
    with _interrupt_cancels(cancellation):
        try:
            for position, result, caught in _execute(
                calls, costs, n_jobs, plan, verbose
            ):
                records.extend(caught)
                yield position, result
        except pickle.PicklingError as exc:
            raise pickle.PicklingError(
                f"{exc} GapKMeans sends {what} to worker processes: make them "
                "picklable, or run with n_jobs=1 or "
                "joblib.parallel_config(backend='threading')."
            ) from exc
        except WORKER_DIED as exc:
            raise ClustererFitError(worker_died_error(exc, n_jobs, len(tasks))) from exc
        except ClustererFitError as exc:
            # joblib chains its own traceback text: chain the clusterer's
            # exception instead (the text stays on it if it had no cause).
            original = exc.original
            if original is None or exc.__cause__ is original:
                raise
            if original.__cause__ is None and original.__traceback__ is None:
                original.__cause__ = exc.__cause__
            raise exc from original
        finally:
            # interrupted, failed or done: no task of this process keeps running
            cancellation.set()
            cancellation.wait_idle()


class Progress:
    """Fits done of the total, elapsed and remaining time, on stderr.

    On a terminal it rewrites one line (cleared to its end); elsewhere it
    prints a line at most every tenth of the work and at the end.
    """

    def __init__(self, total, enabled, done=0):
        self.total, self.done, self.enabled = total, done, enabled
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
            # \033[K clears what a longer previous line left behind
            print("\r" + line + "\033[K", end=end, file=sys.stderr, flush=True)
        else:
            decile = int(10 * self.done / self.total)
            if decile > self.last_decile or self.done >= self.total:
                self.last_decile = decile
                print(line, file=sys.stderr, flush=True)
