"""Running a fit's tasks (skgap/_execution.py): backends, threads, progress, Ctrl-C.

- The same ``random_state`` gives bit-identical results (``gap_results_``, the
  W_k and W*_kb, the chosen k and labels) for every n_jobs under GapKMeans' own
  choice of backend, the threading, loky and multiprocessing backends and a
  ``dask.distributed`` cluster (``joblib.parallel_config(backend="dask")``):
  every draw and fit is seeded by its place alone (test_fits.py).
- Each task runs single-threaded, with the caller's scikit-learn configuration;
  the thread limits are restored after the fit.
- scikit-learn's fits of small data, which hold the GIL, run in worker
  processes (threads if the clusterer cannot be pickled, or if the caller
  chose them); the engine's, and fits of large data, in threads.
- ``verbose`` reports progress on stderr; without it a fit prints nothing.
- Ctrl-C stops a fit promptly, in threads and in worker processes, and leaves
  no worker behind, also in the pair loops of W_k (other metrics and powers).

Failing clusterers, dying workers and the warnings raised in the workers:
test_faults.py.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import sklearn
from numpy.testing import assert_array_equal
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from threadpoolctl import threadpool_info

from skgap import GapKMeans
from skgap._execution import split_ks as _split_ks
from skgap._progress import Progress as _Progress

SUBPROCESS_TIMEOUT = 120  # seconds; a hang fails the test instead of CI

# Tests of what happens in worker threads use the fixture
# ``threads_even_for_small_data`` of conftest.py: without it GapKMeans fits
# data this small in sequence, even under a thread backend.
threads_even_for_small_data = pytest.mark.usefixtures("threads_even_for_small_data")


# --------------------------------------------------------------------------- results


def _blobs_gap(**params):
    return GapKMeans(
        KMeans(n_init=2),
        n_clusters_range=range(1, 6),
        n_refs=6,
        random_state=0,
        **params,
    )


def _hesitant_gap(**params):
    # two blobs 5 apart, where the choice hesitates between k = 1 and 2:
    # selection frequencies that are not all 0 and 1; scikit-learn's fits
    return GapKMeans(
        n_clusters_range=range(1, 7),
        n_refs=10,
        random_state=0,
        kmeans_engine="sklearn",
        **params,
    )


def _blobs(dtype=np.float64):
    X, _ = make_blobs(n_samples=120, centers=3, cluster_std=1.0, random_state=1)
    return X.astype(dtype)


def _two_blobs():
    X, _ = make_blobs(
        n_samples=200, centers=[[0, 0], [5, 0]], cluster_std=1.85, random_state=0
    )
    return X


# case: (data, GapKMeans factory, extra parameters)
CASES = {
    "pca-float64": (_blobs, _blobs_gap, {"reference": "pca"}),
    "pca-float32": (lambda: _blobs(np.float32), _blobs_gap, {"reference": "pca"}),
    "uniform-float64": (_blobs, _blobs_gap, {"reference": "uniform"}),
    "uniform-float32": (
        lambda: _blobs(np.float32),
        _blobs_gap,
        {"reference": "uniform"},
    ),
    "hesitant-sklearn-fits": (_two_blobs, _hesitant_gap, {}),
}

# (backend, n_jobs); None: GapKMeans' own choice, threads
ALL_BACKENDS = [
    (None, 2),
    (None, -1),
    (None, 3),
    ("threading", 1),
    ("threading", 2),
    ("threading", -1),
    ("loky", 1),
    ("loky", 2),
    ("loky", -1),
    ("multiprocessing", 1),
    ("multiprocessing", 2),
    ("multiprocessing", -1),
    ("dask", -1),
]
SOME_BACKENDS = [(None, 2), (None, -1), (None, 3), ("threading", 2), ("loky", 2)]
BACKENDS_OF_CASE = {
    "pca-float64": ALL_BACKENDS,
    "pca-float32": SOME_BACKENDS,
    "uniform-float64": SOME_BACKENDS,
    "uniform-float32": SOME_BACKENDS,
    "hesitant-sklearn-fits": [
        (None, 2),
        ("threading", 1),
        ("threading", 2),
        ("loky", 2),
    ],
}


def _backend_params():
    return [
        pytest.param(case, backend, n_jobs, id=f"{case}-{backend or 'own'}-{n_jobs}")
        for case, backends in BACKENDS_OF_CASE.items()
        for backend, n_jobs in backends
    ]


@pytest.fixture(scope="module")
def serial_fits():
    """The fit of each case with n_jobs=1 under the sequential backend."""
    fits = {}

    def serial(case):
        if case not in fits:
            make_data, make_gap, params = CASES[case]
            with joblib.parallel_config(backend="sequential"):
                fits[case] = make_gap(n_jobs=1, **params).fit(make_data())
        return fits[case]

    return serial


def _assert_bit_identical(gap, expected):
    assert gap.gap_results_.keys() == expected.gap_results_.keys()
    for key, values in expected.gap_results_.items():
        got = gap.gap_results_[key]
        assert got.dtype == values.dtype, key
        assert got.tobytes() == values.tobytes(), key
    for name in ("dispersions_", "reference_dispersions_", "selection_frequencies_"):
        assert getattr(gap, name).tobytes() == getattr(expected, name).tobytes(), name
    assert gap.n_clusters_ == expected.n_clusters_
    assert_array_equal(gap.labels_, expected.labels_)


@threads_even_for_small_data
@pytest.mark.parametrize("case, backend, n_jobs", _backend_params())
def test_bit_identical_across_n_jobs_and_backends(
    request, serial_fits, case, backend, n_jobs
):
    make_data, make_gap, params = CASES[case]
    serial = serial_fits(case)
    # the comparisons are against a sensible fit
    if case.startswith("hesitant"):
        assert 0 < serial.selection_frequencies_.max() < 1
    else:
        assert serial.n_clusters_ == 3
        assert serial.reference_dispersions_.shape == (6, 5)
    if backend == "dask":
        request.getfixturevalue("dask_client")
    gap = make_gap(n_jobs=n_jobs, **params)
    with (
        contextlib.nullcontext()
        if backend is None
        else joblib.parallel_config(backend=backend)
    ):
        gap.fit(make_data())
    _assert_bit_identical(gap, serial)


@pytest.mark.parametrize("backend", [None, "threading"])
def test_bit_identical_with_threads_on_data_large_enough_for_them(backend):
    # without threads_even_for_small_data: 50 000 values make the threads run
    X, _ = make_blobs(n_samples=12_500, n_features=4, centers=3, random_state=0)
    assert X.size >= 50_000
    params = dict(n_clusters_range=[1, 2, 3], n_refs=3, random_state=0)
    serial = GapKMeans(KMeans(n_init=1, max_iter=30), n_jobs=1, **params).fit(X)
    gap = GapKMeans(KMeans(n_init=1, max_iter=30), n_jobs=2, **params)
    with (
        contextlib.nullcontext()
        if backend is None
        else joblib.parallel_config(backend=backend)
    ):
        gap.fit(X)
    _assert_bit_identical(gap, serial)


# --------------------------------------------------------------------------- threads


class WorkerRecordingKMeans(KMeans):
    """KMeans that appends, to a file of `record_dir` per fit, the thread
    counts and scikit-learn configuration its fit ran with (from any process)."""

    def __init__(self, n_clusters=8, *, n_init=1, random_state=None, record_dir="."):
        super().__init__(
            n_clusters=n_clusters, n_init=n_init, random_state=random_state
        )
        self.record_dir = record_dir

    def fit(self, X, y=None, sample_weight=None):
        record = {
            "threads": {i["user_api"]: i["num_threads"] for i in threadpool_info()},
            "config": sklearn.get_config(),
            "k": self.n_clusters,
            "data_sum": float(np.asarray(X).sum()),
            "thread": threading.current_thread().name,
            "pid": os.getpid(),
        }
        path = Path(self.record_dir) / uuid.uuid4().hex
        path.write_text(json.dumps(record, default=str))
        return super().fit(X, y=y, sample_weight=sample_weight)


def _records(record_dir):
    return [json.loads(path.read_text()) for path in Path(record_dir).iterdir()]


def _recording_gap(record_dir, n_clusters_range=range(1, 4), n_refs=3):
    """GapKMeans at n_jobs=2 whose fits record where they ran in `record_dir`."""
    return GapKMeans(
        WorkerRecordingKMeans(n_init=1, record_dir=str(record_dir)),
        n_clusters_range=n_clusters_range,
        n_refs=n_refs,
        random_state=0,
        n_jobs=2,
    )


@pytest.fixture(scope="module")
def X():
    return make_blobs(n_samples=300, centers=4, n_features=3, random_state=0)[0]


def _results(X, **params):
    return GapKMeans(
        KMeans(n_init=2),
        n_clusters_range=range(1, 7),
        n_refs=4,
        random_state=7,
        **params,
    ).fit(X)


@threads_even_for_small_data
@pytest.mark.parametrize("backend", [None, "threading", "loky"])
def test_one_thread_per_task(X, backend, tmp_path):
    gap = _recording_gap(tmp_path)
    with (
        contextlib.nullcontext()
        if backend is None
        else joblib.parallel_config(backend=backend)
    ):
        gap.fit(X)
    records = _records(tmp_path)
    # (1 data set + 3 references) x k = 2, 3, then the chosen k refitted on X
    # for best_estimator_, in this process, outside the tasks
    assert len(records) == 4 * 2 + 1
    tasks = [r for r in records if r["data_sum"] != pytest.approx(float(X.sum()))]
    assert len(tasks) == 3 * 2
    # the refit in this process too: GapKMeans.fit runs single-threaded
    for record in records:
        assert set(record["threads"].values()) == {1}, record


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_the_engine_path_runs_blas_single_threaded(X, n_jobs):
    # The engine uses no BLAS, but the reference draws do: its idle threads
    # would spin on the cores the engine's fits need.
    seen = []

    def reference(X, random_state):
        seen.append({i["user_api"]: i["num_threads"] for i in threadpool_info()})
        rng = np.random.default_rng(random_state)
        return rng.uniform(X.min(axis=0), X.max(axis=0), size=X.shape)

    gap = GapKMeans(n_clusters_range=range(1, 4), n_refs=3, reference=reference)
    gap.set_params(n_jobs=n_jobs, random_state=0).fit(X)
    assert len(seen) >= 3
    assert all(threads.get("blas", 1) == 1 for threads in seen), seen


@threads_even_for_small_data
def test_thread_limits_restored(X):
    before = [info["num_threads"] for info in threadpool_info()]
    _results(X, n_jobs=2)
    _results(X, n_jobs=1)
    assert [info["num_threads"] for info in threadpool_info()] == before


@pytest.mark.parametrize("n_chunks", [1, 2, 3, 4, 20])
def test_split_ks_partitions_and_balances(n_chunks):
    ks = [1, 2, 3, 5, 8, 9, 10]
    groups = _split_ks(ks, n_chunks)
    assert len(groups) == min(n_chunks, len(ks))
    assert sorted(k for group in groups for k in group) == ks
    assert all(group == sorted(group) for group in groups)
    costs = [sum(group) for group in groups]
    assert max(costs) - min(costs) <= max(ks)


# --------------------------------------------------------------------------- progress


@pytest.mark.parametrize("verbose", [0, 1])
def test_progress_on_stderr_only_when_verbose(verbose, capsys):
    X, _ = make_blobs(n_samples=60, centers=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning on clean data either
        GapKMeans(
            KMeans(n_init=3),
            n_clusters_range=range(1, 7),
            n_refs=3,
            random_state=0,
            verbose=verbose,
        ).fit(X)
    captured = capsys.readouterr()
    assert captured.out == ""
    if not verbose:
        assert captured.err == ""
        return
    lines = captured.err.strip().splitlines()
    assert lines, "no progress reported"
    assert all(line.startswith("[GapKMeans] ") for line in lines)
    assert "24/24 fits" in lines[-1]  # (3 references + the data) x 6 ks
    assert lines[-1].endswith("elapsed, done")


class _FakeTTY:
    def __init__(self):
        self.text = ""

    def isatty(self):
        return True

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def test_progress_rewrites_one_line_on_a_tty(monkeypatch):
    tty = _FakeTTY()
    monkeypatch.setattr("sys.stderr", tty)
    progress = _Progress(6, [[1, 2]] * 3, enabled=True)
    for _ in range(3):
        progress.update([1, 2])
    assert tty.text.count("\r") == 4  # 0/6 at the start, then each task
    assert tty.text.count("\n") == 1 and tty.text.endswith("\n")
    assert "6/6 fits" in tty.text.splitlines()[-1].split("\r")[-1]


# ------------------------------------------------------------------------ small fits


@pytest.mark.parametrize("size_limit, where", [(10**9, "processes"), (0, "threads")])
def test_small_fits_run_in_processes_large_ones_in_threads(
    X, monkeypatch, tmp_path, size_limit, where
):
    # scikit-learn's fits of small data hold the GIL: only processes share them
    monkeypatch.setattr("skgap._execution._MIN_SIZE_FOR_THREADS", size_limit)
    _recording_gap(tmp_path).fit(X)
    records = _records(tmp_path)
    pids = {record["pid"] for record in records}
    threads = {record["thread"] for record in records}
    if where == "processes":
        assert pids - {os.getpid()}
    else:
        assert pids == {os.getpid()} and threads - {"MainThread"}


class PidRecordingKMeans(KMeans):
    """KMeans that leaves a file named after its process in `record_dir`."""

    def __init__(self, n_clusters=8, *, n_init=1, random_state=None, record_dir="."):
        super().__init__(
            n_clusters=n_clusters, n_init=n_init, random_state=random_state
        )
        self.record_dir = record_dir

    def fit(self, X, y=None, sample_weight=None):
        name = f"{os.getpid()}-{threading.get_ident()}-{uuid.uuid4().hex}"
        (Path(self.record_dir) / name).touch()
        return super().fit(X, y=y, sample_weight=sample_weight)


class Unpicklable:
    """A parameter that copies but cannot be sent to another process."""

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        raise TypeError("Unpicklable cannot be pickled")


class UnpicklableKMeans(PidRecordingKMeans):
    def __init__(self, n_clusters=8, *, n_init=1, random_state=None, record_dir="."):
        super().__init__(
            n_clusters=n_clusters,
            n_init=n_init,
            random_state=random_state,
            record_dir=record_dir,
        )
        self.tag = Unpicklable()


def _fit_recording_pids(X, clusterer, n_jobs):
    gap = GapKMeans(
        clusterer, n_clusters_range=range(1, 6), n_refs=6, random_state=3, n_jobs=n_jobs
    ).fit(X)
    pids = {
        int(path.name.split("-")[0]) for path in Path(clusterer.record_dir).iterdir()
    }
    return gap, pids


@pytest.fixture
def small_work(monkeypatch):
    """Data small enough that scikit-learn's fits of it hold the GIL."""
    monkeypatch.setattr("skgap._execution._MIN_SIZE_FOR_THREADS", 10**9)


def test_small_work_in_processes_gives_the_serial_result(X, tmp_path, small_work):
    (tmp_path / "1").mkdir(), (tmp_path / "2").mkdir()
    serial, pids = _fit_recording_pids(
        X, PidRecordingKMeans(record_dir=str(tmp_path / "1")), n_jobs=1
    )
    assert pids == {os.getpid()}
    gap, pids = _fit_recording_pids(
        X, PidRecordingKMeans(record_dir=str(tmp_path / "2")), n_jobs=2
    )
    assert len(pids - {os.getpid()}) > 1  # (the chosen k is refitted here)
    _assert_bit_identical(gap, serial)


def test_small_work_keeps_threads_chosen_by_the_caller(X, tmp_path, small_work):
    with joblib.parallel_config(backend="threading"):
        _, pids = _fit_recording_pids(
            X, PidRecordingKMeans(record_dir=str(tmp_path)), n_jobs=2
        )
    assert pids == {os.getpid()}


def test_small_work_nested_in_joblib_workers_starts_no_processes(
    X, tmp_path, small_work
):
    # e.g. GapKMeans(n_jobs=2) inside GridSearchCV(n_jobs=2, threads): joblib
    # runs nested work in the outer worker
    joblib.Parallel(n_jobs=2, prefer="threads")(
        joblib.delayed(_fit_recording_pids)(
            X, PidRecordingKMeans(record_dir=str(tmp_path / str(i))), 2
        )
        for i in range(2)
        if not (tmp_path / str(i)).mkdir()
    )
    pids = {int(path.name.split("-")[0]) for path in tmp_path.glob("*/*")}
    assert pids == {os.getpid()}


def test_unpicklable_small_work_runs_in_threads(X, tmp_path, small_work):
    gap, pids = _fit_recording_pids(
        X, UnpicklableKMeans(record_dir=str(tmp_path)), n_jobs=2
    )
    assert pids == {os.getpid()}
    assert gap.n_clusters_ == 4


@threads_even_for_small_data
@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_sklearn_config_reaches_the_workers(X, backend, tmp_path):
    """A config_context around fit applies inside every worker, as in sklearn."""
    gap = _recording_gap(tmp_path, n_clusters_range=[2, 3], n_refs=2)
    with sklearn.config_context(working_memory=123), joblib.parallel_config(backend):
        gap.fit(X)
    for record in _records(tmp_path):
        config = record["config"]
        assert config["working_memory"] == 123
        # what fit checked once (finite data, valid clusterer parameters) is not
        # checked again by each clusterer fit
        assert config["assume_finite"] and config["skip_parameter_validation"]
    assert not sklearn.get_config()["skip_parameter_validation"]


# ---------------------------------------------------------------------------- Ctrl-C

_SLEEPING_SOURCE = '''
import os, signal, sys, time

# Ctrl-C raises KeyboardInterrupt even if this process was started with SIGINT
# ignored (as a background job of a non-interactive shell is)
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np, joblib
from sklearn.base import BaseEstimator, ClusterMixin
from skgap import GapKMeans


class Scripted(ClusterMixin, BaseEstimator):
    def __init__(self, n_clusters=2, random_state=None, action="sleep"):
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.action = action

    def fit(self, X, y=None):
        if self.action == "sleep":
            time.sleep(0.2)
        self.labels_ = np.arange(X.shape[0]) % self.n_clusters
        return self


def children():
    """(pid, command line) of this process's children, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline") as f:
                command = f.read().replace("\\0", " ")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid():
            found.append((int(entry), command))
    return found


X = np.random.default_rng(0).normal(size=(40, 2))
'''

needs_proc = pytest.mark.skipif(
    not os.path.isdir("/proc/self"), reason="counts child processes through /proc"
)


@needs_proc
def test_ctrl_c_stops_parallel_fit_promptly_without_leftover_workers():
    backend = "loky"  # worker processes; threads cannot be left behind
    script = """
        gap = GapKMeans(Scripted(action="sleep"), n_clusters_range=range(1, 9),
                        n_refs=20, n_jobs=2, random_state=0)
        print("READY", flush=True)
        try:
            with joblib.parallel_config(backend=sys.argv[1]):
                gap.fit(X)
            print("FINISHED", flush=True)
        except KeyboardInterrupt:
            print("INTERRUPTED", flush=True)
        print("FITTED", hasattr(gap, "n_clusters_"), flush=True)
        deadline = time.monotonic() + 20
        while True:
            # the resource trackers are per-interpreter daemons, not workers
            left = [c for c in children() if "resource_tracker" not in c[1]]
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        print("WORKERS LEFT", len(left), flush=True)
    """
    process = subprocess.Popen(
        [sys.executable, "-c", _SLEEPING_SOURCE + textwrap.dedent(script), backend],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal job
        cwd=tempfile.gettempdir(),  # not the source tree, which has no extension
    )
    try:
        assert process.stdout.readline().strip() == "READY"
        # 21 data sets x 7 ks x 0.2 s / 2 workers ~ 15 s of work: interrupt it
        # once the workers are busy. Ctrl-C in a terminal signals the whole
        # process group: the parent and its workers.
        time.sleep(2.0)
        os.killpg(process.pid, signal.SIGINT)
        # the bound: interrupted and cleaned up long before 15 s of work ends
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert "INTERRUPTED" in out, (out, err)
    assert "FINISHED" not in out
    assert "FITTED False" in out
    assert "WORKERS LEFT 0" in out, (out, err)
    assert process.returncode == 0, err


_THREADS_INTERRUPTED = """
import signal, sys, threading, time

# (as in _SLEEPING_SOURCE: even if started with SIGINT ignored)
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
from sklearn.cluster import KMeans
from skgap import GapKMeans

class MyKMeans(KMeans):  # a subclass: scikit-learn's own fits, in threads
    pass

X = np.random.default_rng(0).normal(size=(400_000, 2))
estimator = None if sys.argv[1] == "engine" else MyKMeans(n_init=3)
gap = GapKMeans(estimator, n_refs=30, n_jobs=2, random_state=0)
print("READY", flush=True)
start = time.monotonic()
try:
    gap.fit(X)
    print("FINISHED", flush=True)
except KeyboardInterrupt:
    print("INTERRUPTED", round(time.monotonic() - start, 1), flush=True)
print("FITTED", hasattr(gap, "n_clusters_"), flush=True)
# nothing of skgap still runs: the interpreter may exit
print("THREADS", threading.active_count(), flush=True)
"""


@pytest.mark.parametrize("path", ["engine", "sklearn"])
@pytest.mark.parametrize("attempt", range(3))
def test_ctrl_c_with_threads_returns_promptly_and_exits_cleanly(path, attempt):
    process = subprocess.Popen(
        [sys.executable, "-c", _THREADS_INTERRUPTED, path],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tempfile.gettempdir(),  # not the source tree, which has no extension
    )
    try:
        assert process.stdout.readline().strip() == "READY"
        time.sleep(1.0 + 0.3 * attempt)  # tasks running, at different points
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=SUBPROCESS_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, (out, err)  # no abort (-6), no crash
    assert "INTERRUPTED" in out and "FINISHED" not in out, (out, err)
    assert "FITTED False" in out
    # the running fits stopped before fit returned: at most one scikit-learn
    # fit per thread (seconds), the engine at its next iteration
    seconds = float(out.split("INTERRUPTED")[1].split()[0])
    assert seconds < 30, out


_PAIR_LOOPS_INTERRUPTED = """
import signal, sys, threading, time

# (as in _SLEEPING_SOURCE: even if started with SIGINT ignored)
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
import skgap._dispersion as dispersion_module
from skgap import GapKMeans

case, n_jobs = sys.argv[1], int(sys.argv[2])
started = threading.Event()


def announce():  # once the pair loops of W_k run
    if not started.is_set():
        started.set()
        print("STARTED", flush=True)


def marked(function):
    def call(*args, **kwargs):
        announce()
        return function(*args, **kwargs)

    return call


def slow_cityblock(u, v):  # a few microseconds a pair
    announce()
    return float(np.abs(u - v).sum())


rng = np.random.default_rng(0)
if case == "callable":
    # enough engine work for threads (skgap/_execution.py)
    X = rng.normal(size=(1_200, 3))
    params = dict(metric=slow_cityblock, n_clusters_range=range(1, 6), n_refs=20)
else:
    X = rng.normal(size=(40_000 if case == "cityblock" else 60_000, 3))
    params = dict(n_clusters_range=range(1, 3), n_refs=4)
    if case == "cityblock":
        params["metric"] = "cityblock"  # blocks of pairwise_distances
        loop = "pairwise_distances"
    else:
        params["power"] = 1.0  # the compiled pair loop
        loop = "_pairwise_dispersion"
    setattr(dispersion_module, loop, marked(getattr(dispersion_module, loop)))
gap = GapKMeans(n_jobs=n_jobs, random_state=0, **params)
print("READY", flush=True)
try:
    gap.fit(X)
    print("FINISHED", flush=True)
except KeyboardInterrupt:
    print("INTERRUPTED", time.process_time(), flush=True)
print("FITTED", hasattr(gap, "n_clusters_"), flush=True)
# no thread of skgap still works: the process uses no CPU while it waits
before = time.process_time()
time.sleep(0.5)
print("AFTER", time.process_time() - before, flush=True)
"""


def _cpu_seconds(pid):
    """The CPU time (user + system, all threads) process `pid` used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@needs_proc
@pytest.mark.parametrize("case", ["cityblock", "callable", "power1"])
@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("attempt", range(3))
def test_ctrl_c_stops_the_pair_loops_of_other_metrics_and_powers(case, n_jobs, attempt):
    # W_k of a metric other than the Euclidean, or of a power other than 2,
    # sums the pairs of each cluster (here seconds per k and data set): the
    # loops stop between blocks once the fit is cancelled
    process = subprocess.Popen(
        [sys.executable, "-c", _PAIR_LOOPS_INTERRUPTED, case, str(n_jobs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tempfile.gettempdir(),  # not the source tree, which has no extension
    )
    try:
        assert process.stdout.readline().strip() == "READY"
        assert process.stdout.readline().strip() == "STARTED"
        time.sleep(0.1 * attempt)  # the loops at different points
        cpu_at_interrupt = _cpu_seconds(process.pid)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=SUBPROCESS_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, (out, err)  # no abort (-6), no crash
    assert "INTERRUPTED" in out and "FINISHED" not in out, (out, err)
    assert "FITTED False" in out
    # fit raised once every thread had stopped, after at most a block of
    # pairs each (milliseconds): CPU time, which other processes on the
    # machine do not stretch. Loops that ran their cluster to the end (no
    # check between blocks) took 2 to 10 CPU seconds here with n_jobs=2.
    cpu_to_raise = float(out.split("INTERRUPTED")[1].split()[0]) - cpu_at_interrupt
    assert cpu_to_raise < 1.0, out
    assert float(out.split("AFTER")[1].split()[0]) < 0.1, out
