"""Reproducibility across n_jobs, joblib backends and a dask.distributed cluster.

The same ``random_state`` gives bit-identical ``gap_results_`` (and W_k, W*_kb,
chosen k and labels) for n_jobs in {1, 2, -1} under the loky, threading and
multiprocessing backends, and on a ``dask.distributed`` LocalCluster through
``joblib.parallel_config(backend="dask")``: every draw and fit is seeded from
``random_state`` by its (data set, k) alone, never by the worker that runs it.
"""

import subprocess
import sys
import tempfile
import warnings

import joblib
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from skgap import GapKMeans


@pytest.fixture(autouse=True)
def _threads_even_for_small_data(monkeypatch):
    """GapKMeans fits small data in sequence under a thread backend; the
    threading and dask tests need the worker threads to run."""
    import skgap._execution

    monkeypatch.setattr(skgap._execution, "_MIN_SIZE_FOR_THREADS", 0)
    monkeypatch.setattr(skgap._execution, "_MIN_ENGINE_WORK_FOR_THREADS", 0)


@pytest.fixture(scope="module")
def dask_client():
    # Not importorskip: the tests extra installs dask[distributed], and CI must
    # run this test rather than skip it.
    import distributed

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=2,
            processes=False,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _permuted(X, seed):
    return X[np.random.default_rng(seed).permutation(X.shape[0])]


def test_worker_warnings_summarised_on_dask(dask_client):
    """Two tasks per dask worker run in threads: warnings still arrive once."""
    X = np.repeat([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 4.0]], 6, axis=0)
    gap = GapKMeans(
        KMeans(n_init=1),
        kmeans_engine="sklearn",
        n_clusters_range=[1, 2, 5, 6],
        n_refs=3,
        reference=_permuted,
        random_state=0,
        n_jobs=-1,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        filters = list(warnings.filters)
        with joblib.parallel_config(backend="dask"):
            gap.fit(X)
        assert warnings.filters == filters
    messages = [str(w.message) for w in caught if w.category is ConvergenceWarning]
    assert len(messages) == 1
    assert messages[0].startswith(
        "8 ConvergenceWarning warnings raised while clustering the data at k=5, 6; "
        "3 reference data sets (b=0, 1, 2) at k=5, 6"
    )


_DYING_WORKERS = """
import os, sys, tempfile, time
import joblib, numpy as np
from distributed import Client, LocalCluster
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from skgap import GapKMeans
from skgap.exceptions import ClustererFitError


class Dies(ClusterMixin, BaseEstimator):
    '''KMeans that kills its process at k = 3: always, or only once (a marker).'''

    def __init__(self, n_clusters=2, random_state=None, marker=None):
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.marker = marker

    def fit(self, X, y=None):
        if self.n_clusters == 3 and not (self.marker and os.path.exists(self.marker)):
            if self.marker:
                open(self.marker, "w").close()
            os._exit(1)
        kmeans = KMeans(self.n_clusters, n_init=1, random_state=self.random_state)
        self.labels_ = kmeans.fit(X).labels_
        return self


if __name__ == "__main__":
    marker = None if sys.argv[1] == "always" else os.path.join(tempfile.mkdtemp(), "m")
    X = np.random.default_rng(0).normal(size=(200, 2))
    params = dict(n_clusters_range=[1, 2, 3], n_refs=3, random_state=0)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, Client(cluster):
        start = time.monotonic()
        try:
            with joblib.parallel_config(backend="dask"):
                gap = GapKMeans(Dies(marker=marker), n_jobs=-1, **params).fit(X)
            serial = GapKMeans(Dies(marker=marker), **params).fit(X)
            same = gap.gap_results_["gap"] == serial.gap_results_["gap"]
            print("FINISHED", bool(same.all()), flush=True)
        except ClustererFitError as exc:
            print("ERROR", "killed every Dask worker" in str(exc), flush=True)
        print("SECONDS", round(time.monotonic() - start, 1), flush=True)
"""


def _run_dying_workers(mode, tmp_path):
    script = tmp_path / "dying.py"  # a file: Dask's worker processes import it
    script.write_text(_DYING_WORKERS)
    return subprocess.run(
        [sys.executable, str(script), mode],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tempfile.gettempdir(),  # not the source tree, which has no extension
    )


def test_a_task_that_kills_every_dask_worker_ends_in_a_clear_error(tmp_path):
    result = _run_dying_workers("always", tmp_path)
    assert "ERROR True" in result.stdout, result.stderr[-2000:]
    seconds = float(result.stdout.split("SECONDS")[1].split()[0])
    assert seconds < 60  # Dask's allowed-failures retries, then the error


def test_dask_retries_a_task_whose_worker_died_once(tmp_path):
    result = _run_dying_workers("once", tmp_path)
    assert "FINISHED True" in result.stdout, result.stderr[-2000:]
