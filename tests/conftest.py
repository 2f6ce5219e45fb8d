"""Shared fixtures of the skgap test suite.

- ``global_random_seed``: an int seed, fixed by default and overridable with the
  environment variable ``SKGAP_TESTS_GLOBAL_RANDOM_SEED`` (an int, or ``"all"`` to
  run every test that uses it for the seeds 0..99), like scikit-learn's fixture.
- ``global_dtype``: float64, plus float32 when ``SKGAP_TESTS_RUN_FLOAT32=1``.
- ``pyplot``: matplotlib's pyplot with the Agg backend, every figure closed before
  and after the test (skips if matplotlib is missing).
- ``r_available`` / ``requires_r``: whether ``Rscript`` with the ``cluster``
  package can be run; ``requires_r`` is a skip marker for tests that need it.
- ``threads_even_for_small_data``: makes GapKMeans run the tasks of small test
  data in worker threads, as it does for large data.
- ``dask_client``: a ``dask.distributed`` client on a LocalCluster of threads,
  for ``joblib.parallel_config(backend="dask")``.
- The hypothesis profile ``skgap`` (loaded by default; ``SKGAP_HYPOTHESIS_PROFILE``
  selects another): no deadline, bounded examples, derandomized.
- ``NEEDS_NEWER``: tests that need a newer dependency than pyproject's floors
  (``.ci/floors.txt``) are skipped below that version, with the reason;
  ``BROKEN_BELOW``: known skgap bugs below a version, marked xfail with the fix.
"""

import os
import shutil
import subprocess
import warnings
from functools import cache
from importlib.metadata import version

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "skgap",
    deadline=None,
    max_examples=50,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "skgap-thorough",
    parent=settings.get_profile("skgap"),
    max_examples=1000,
    derandomize=False,
)
settings.load_profile(os.environ.get("SKGAP_HYPOTHESIS_PROFILE", "skgap"))

# On a failure hypothesis imports libcst to suggest a patch; some libcst versions
# emit a DeprecationWarning at import, which pyproject's filterwarnings turns into
# an INTERNALERROR that hides the failing example. Import it once here, quietly.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import hypothesis.extra._patching  # noqa: F401
    except Exception:  # pragma: no cover - optional, best effort
        pass

_DEFAULT_SEED = 42


def _global_random_seeds():
    value = os.environ.get("SKGAP_TESTS_GLOBAL_RANDOM_SEED")
    if value is None or value == "":
        return [_DEFAULT_SEED]
    if value == "all":
        return list(range(100))
    try:
        return [int(seed) for seed in value.split(",")]
    except ValueError:
        raise ValueError(
            "SKGAP_TESTS_GLOBAL_RANDOM_SEED must be an int, a comma-separated "
            f"list of ints or 'all', got {value!r}."
        ) from None


def _global_dtypes():
    if os.environ.get("SKGAP_TESTS_RUN_FLOAT32", "0") == "1":
        return [np.float64, np.float32]
    return [np.float64]


@pytest.fixture(params=_global_random_seeds())
def global_random_seed(request):
    """A seed for tests whose assertions must hold for any seed."""
    return request.param


@pytest.fixture(params=_global_dtypes(), ids=lambda dtype: np.dtype(dtype).name)
def global_dtype(request):
    """float64, and float32 when SKGAP_TESTS_RUN_FLOAT32=1."""
    return request.param


@cache
def r_available():
    """True if ``Rscript`` runs and has the ``cluster`` package."""
    if shutil.which("Rscript") is None:
        return False
    try:
        result = subprocess.run(
            ["Rscript", "-e", "library(cluster)"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


requires_r = pytest.mark.skipif(
    shutil.which("Rscript") is None, reason="Rscript is not installed"
)


@pytest.fixture
def pyplot():
    """matplotlib.pyplot with the Agg backend; all figures closed around the test."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.close("all")
    yield plt
    plt.close("all")


@pytest.fixture
def threads_even_for_small_data(monkeypatch):
    """Run the tasks of small data in worker threads, as those of large data.

    GapKMeans fits data under 50,000 values (and engine work under 3e6) in
    sequence even under a thread backend, since threads cannot speed such fits
    up. Tests of what happens in worker threads (results, warnings, failures)
    would need much larger, slower data to get there; this sets the two private
    thresholds to 0 instead, on purpose: there is no public switch.
    """
    import skgap._execution

    monkeypatch.setattr(skgap._execution, "_MIN_SIZE_FOR_THREADS", 0)
    monkeypatch.setattr(skgap._execution, "_MIN_ENGINE_WORK_FOR_THREADS", 0)


@pytest.fixture(scope="module")
def dask_client():
    """A dask.distributed client: 2 workers of 2 threads, in this process."""
    # Not importorskip: the tests extra installs dask[distributed], and CI must
    # run the tests that use it rather than skip them.
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


def _version_tuple(text):
    return tuple(int(part) for part in text.split(".")[:2])


#: Tests that genuinely need a newer version than the declared floors: (a
#: substring of the test id, the distribution, the first version that works,
#: why). Below that version they are skipped with the reason.
NEEDS_NEWER = [
    (
        "test_gap.py::test_clusterer_finds_three_blobs[SpectralClustering]",
        "scikit-learn",
        "1.9",
        "SpectralClustering often mislabels the three components of a "
        "disconnected nearest-neighbours graph before scikit-learn 1.9",
    ),
]


#: Tests that fail below a version because of a bug in skgap, until it is
#: fixed: (substring of the test id, distribution, first version, the bug and
#: its fix). Below that version they are marked xfail (not strict: an XPASS in
#: the summary means the fix is in, and the entry should go).
BROKEN_BELOW = []


def pytest_collection_modifyitems(config, items):
    for entries, mark in ((NEEDS_NEWER, pytest.mark.skip), (BROKEN_BELOW, None)):
        for test_id, distribution, first_version, reason in entries:
            installed = version(distribution)
            if _version_tuple(installed) >= _version_tuple(first_version):
                continue
            if mark is None:
                marker = pytest.mark.xfail(
                    reason=f"fails with {distribution} {installed} < "
                    f"{first_version}: {reason}",
                    strict=False,
                )
            else:
                marker = mark(
                    reason=f"needs {distribution} >= {first_version} (installed: "
                    f"{installed}): {reason}"
                )
            for item in items:
                if test_id in item.nodeid:
                    item.add_marker(marker)
