"""Parallel fits: identical results whatever n_jobs and backend, one thread per task."""

import contextlib
import json
import os
import threading
import uuid
from pathlib import Path

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from threadpoolctl import threadpool_info

from skgap import GapKMeans
from skgap._execution import Progress as _Progress
from skgap._execution import split_ks as _split_ks


class RecordingKMeans(KMeans):
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


@pytest.fixture(autouse=True)
def threads_for_small_data(monkeypatch):
    """Run the small test data in threads too (by default they run in sequence)."""
    monkeypatch.setattr("skgap._execution._MIN_SIZE_FOR_THREADS", 0)
    monkeypatch.setattr("skgap._execution._MIN_ENGINE_WORK_FOR_THREADS", 0)


@pytest.fixture(scope="module")
def X():
    return make_blobs(n_samples=300, centers=4, n_features=3, random_state=0)[0]


def _results(X, **params):
    gap = GapKMeans(
        KMeans(n_init=2),
        n_clusters_range=range(1, 7),
        n_refs=4,
        random_state=7,
        **params,
    ).fit(X)
    return gap


def _assert_identical(a, b):
    assert a.n_clusters_ == b.n_clusters_
    for key in a.gap_results_:
        np.testing.assert_array_equal(a.gap_results_[key], b.gap_results_[key])
    np.testing.assert_array_equal(a.reference_dispersions_, b.reference_dispersions_)
    np.testing.assert_array_equal(a.labels_, b.labels_)


@pytest.mark.parametrize("reference", ["pca", "uniform"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "n_jobs, backend",
    [(2, None), (-1, None), (3, None), (2, "threading"), (2, "loky")],
)
def test_bit_identical_across_n_jobs_and_backends(X, reference, dtype, n_jobs, backend):
    X = X.astype(dtype)
    serial = _results(X, reference=reference, n_jobs=1)
    if backend is None:
        parallel = _results(X, reference=reference, n_jobs=n_jobs)
    else:
        with joblib.parallel_config(backend=backend):
            parallel = _results(X, reference=reference, n_jobs=n_jobs)
    _assert_identical(serial, parallel)


@pytest.mark.parametrize("backend", [None, "threading", "loky"])
def test_one_thread_per_task(X, backend, tmp_path):
    gap = GapKMeans(
        RecordingKMeans(n_init=1, record_dir=str(tmp_path)),
        n_clusters_range=range(1, 4),
        n_refs=3,
        random_state=0,
        n_jobs=2,
    )
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
    for record in tasks:
        assert set(record["threads"].values()) == {1}, record


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
    assert sorted(p for group in groups for p in group) == list(range(len(ks)))
    assert all(group == sorted(group) for group in groups)
    costs = [sum(ks[p] for p in group) for group in groups]
    assert max(costs) - min(costs) <= max(ks)


def test_verbose_reports_progress_on_stderr(X, capsys):
    GapKMeans(
        KMeans(n_init=1),
        n_clusters_range=range(1, 4),
        n_refs=4,
        verbose=1,
        random_state=0,
    ).fit(X)
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert lines, "no progress reported"
    assert all(line.startswith("[GapKMeans] ") for line in lines)
    assert "15/15 fits" in lines[-1]
    assert "elapsed" in lines[-1] and "remaining" in lines[-1]


def test_verbose_zero_is_silent(X, capsys):
    _results(X, verbose=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


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
    progress = _Progress(total=6, enabled=True)
    for _ in range(3):
        progress.update(2)
    assert tty.text.count("\r") == 3
    assert tty.text.count("\n") == 1 and tty.text.endswith("\n")
    assert "6/6 fits" in tty.text.splitlines()[-1].split("\r")[-1]


@pytest.mark.parametrize("size_limit, in_main_thread", [(10**9, True), (0, False)])
def test_small_fits_run_in_sequence_not_threads(
    X, monkeypatch, tmp_path, size_limit, in_main_thread
):
    monkeypatch.setattr("skgap._execution._MIN_SIZE_FOR_THREADS", size_limit)
    GapKMeans(
        RecordingKMeans(n_init=1, record_dir=str(tmp_path)),
        n_clusters_range=range(1, 4),
        n_refs=3,
        random_state=0,
        n_jobs=2,
    ).fit(X)
    threads = {record["thread"] for record in _records(tmp_path)}
    assert (threads == {"MainThread"}) is in_main_thread


def test_small_fits_keep_a_process_backend(X, monkeypatch, tmp_path):
    monkeypatch.setattr("skgap._execution._MIN_SIZE_FOR_THREADS", 10**9)
    gap = GapKMeans(
        RecordingKMeans(n_init=1, record_dir=str(tmp_path)),
        n_clusters_range=range(1, 4),
        n_refs=3,
        random_state=0,
        n_jobs=2,
    )
    with joblib.parallel_config(backend="loky"):
        gap.fit(X)
    # some fits ran in worker processes
    assert {record["pid"] for record in _records(tmp_path)} - {os.getpid()}


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
def long_small_work(monkeypatch):
    """Small data whose fits count as long: moving them to processes pays."""
    monkeypatch.setattr("skgap._execution._MIN_SIZE_FOR_THREADS", 10**9)
    monkeypatch.setattr("skgap._execution._PROCESS_START_SECONDS", 0.0)
    monkeypatch.setattr("skgap._execution._SECONDS_TIMED", 0.0)


def test_long_small_work_moves_to_processes_same_result(X, tmp_path, long_small_work):
    # small fits hold the GIL: threads cannot share them, processes can
    (tmp_path / "1").mkdir(), (tmp_path / "2").mkdir()
    serial, pids = _fit_recording_pids(
        X, PidRecordingKMeans(record_dir=str(tmp_path / "1")), n_jobs=1
    )
    assert pids == {os.getpid()}
    gap, pids = _fit_recording_pids(
        X, PidRecordingKMeans(record_dir=str(tmp_path / "2")), n_jobs=2
    )
    assert os.getpid() in pids and len(pids) > 1  # timed here, then moved
    _assert_identical(gap, serial)


def test_short_small_work_stays_in_sequence(X, tmp_path, monkeypatch):
    monkeypatch.setattr("skgap._execution._MIN_SIZE_FOR_THREADS", 10**9)
    _, pids = _fit_recording_pids(X, PidRecordingKMeans(record_dir=str(tmp_path)), 2)
    assert pids == {os.getpid()}


def test_small_work_keeps_threads_chosen_by_the_caller(X, tmp_path, long_small_work):
    with joblib.parallel_config(backend="threading"):
        _, pids = _fit_recording_pids(
            X, PidRecordingKMeans(record_dir=str(tmp_path)), n_jobs=2
        )
    assert pids == {os.getpid()}


def test_small_work_nested_in_joblib_workers_stays_in_sequence(X, long_small_work):
    # e.g. GapKMeans(n_jobs=2) inside GridSearchCV(n_jobs=2): no processes
    # spawned from the outer workers
    from skgap._execution import _plan

    assert _plan(2, gil_bound=True) == "timed"
    plans = joblib.Parallel(n_jobs=2, prefer="threads")(
        joblib.delayed(_plan)(2, True) for _ in range(2)
    )
    assert plans == ["sequential", "sequential"]


def test_unpicklable_small_work_stays_in_sequence(X, tmp_path, long_small_work):
    gap, pids = _fit_recording_pids(
        X, UnpicklableKMeans(record_dir=str(tmp_path)), n_jobs=2
    )
    assert pids == {os.getpid()}
    assert gap.n_clusters_ == 4


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_sklearn_config_reaches_the_workers(X, backend, tmp_path):
    """A config_context around fit applies inside every worker, as in sklearn."""
    gap = GapKMeans(
        RecordingKMeans(n_init=1, record_dir=str(tmp_path)),
        n_clusters_range=[2, 3],
        n_refs=2,
        random_state=0,
        n_jobs=2,
    )
    with sklearn.config_context(working_memory=123), joblib.parallel_config(backend):
        gap.fit(X)
    for record in _records(tmp_path):
        config = record["config"]
        assert config["working_memory"] == 123
        # what fit checked once (finite data, valid clusterer parameters) is not
        # checked again by each clusterer fit
        assert config["assume_finite"] and config["skip_parameter_validation"]
    assert not sklearn.get_config()["skip_parameter_validation"]
