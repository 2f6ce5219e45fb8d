"""Numerical soundness of the W_k kernels.

- power=2 (two-pass path): W_k agrees with an exact reference, built with
  ``math.fsum`` (correctly rounded sums) from the exact float64 values of the
  data, to 1e-12 relative for float64 and 1e-6 for float32 data, for up to
  10**6 samples sitting at offsets up to 10**6 from the origin (where the
  one-pass formula ``sum(x**2) - n * mean**2`` loses every digit).
- other powers (pairwise path): the same agreement with an fsum over the pairs,
  and no O(n**2) memory: a 20,000-point cluster stays within a few copies of X
  (tracemalloc).
"""

import math
import tracemalloc

import numpy as np
import pytest

from skgap import within_cluster_dispersion
from skgap._dispersion import _dispersion


def _exact_squared_dispersion(X, labels):
    """sum_r sum_{i in r} ||x_i - mean_r||**2 with correctly rounded sums.

    The mean is the correctly rounded fsum divided by n_r (relative error one
    ulp, which changes the sum of squares only at second order, since the
    deviations from the true mean sum to zero); the deviations of values
    within a factor 2 of the mean are exact (Sterbenz), and their squares are
    summed with fsum.
    """
    X = np.asarray(X, dtype=np.float64)  # exact for float32 input
    total = []
    for r in np.unique(labels):
        block = X[labels == r]
        for j in range(X.shape[1]):
            column = block[:, j]
            mean = math.fsum(column) / column.shape[0]
            deviations = column - mean
            total.append(math.fsum(deviations * deviations))
    return math.fsum(total)


def _exact_pairwise_dispersion(X, labels, power):
    """sum_r 1/(2 n_r) sum_{i, j in r} d_ij**power, each cluster's sum by fsum."""
    X = np.asarray(X, dtype=np.float64)
    total = []
    for r in np.unique(labels):
        block = X[labels == r]
        diff = block[:, None, :] - block[None, :, :]
        distance = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
        total.append(math.fsum((distance**power).ravel()) / (2 * block.shape[0]))
    return math.fsum(total)


def _data(n, n_features, offset, dtype, seed=0, n_clusters=5):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_clusters, size=n)
    centers = rng.normal(scale=3.0, size=(n_clusters, n_features))
    X = offset + centers[labels] + rng.normal(size=(n, n_features))
    return X.astype(dtype), labels


@pytest.mark.parametrize(
    ("n", "n_features", "offset"),
    [(10, 3, 0.0), (1000, 2, 1e3), (1000, 2, 1e6), (10**6, 1, 1e6), (10**5, 2, 1e6)],
)
@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_squared_path_matches_exact_fsum(n, n_features, offset, dtype, rtol):
    X, labels = _data(n, n_features, offset, dtype)
    exact = _exact_squared_dispersion(X, labels)
    got = within_cluster_dispersion(X, labels)
    assert got == pytest.approx(exact, rel=rtol, abs=0)
    # the fit loop's entry point computes the same value
    assert _dispersion(np.ascontiguousarray(X), labels, 2.0) == got


def test_one_pass_formula_would_fail_here():
    """The data above really are hard: the textbook formula is off by > 1e-3."""
    X, labels = _data(10**5, 2, 1e6, np.float64)
    exact = _exact_squared_dispersion(X, labels)
    naive = sum(
        float(
            (X[labels == r] ** 2).sum()
            - (labels == r).sum() * (X[labels == r].mean(axis=0) ** 2).sum()
        )
        for r in np.unique(labels)
    )
    assert abs(naive - exact) / exact > 1e-3
    assert within_cluster_dispersion(X, labels) == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("power", [1.0, 0.5, 3.0, 2.0])
@pytest.mark.parametrize(
    ("dtype", "rtol", "offset"),
    [(np.float64, 1e-12, 0.0), (np.float64, 1e-12, 1e6), (np.float32, 1e-6, 1e3)],
)
def test_pairwise_path_matches_exact_fsum(power, dtype, rtol, offset):
    X, labels = _data(400, 3, offset, dtype, n_clusters=3)
    exact = _exact_pairwise_dispersion(X, labels, power)
    if power == 2.0:
        # the pairwise path itself, not the two-pass one
        got = _pairwise_only(X, labels)
    else:
        got = within_cluster_dispersion(X, labels, power=power)
    assert got == pytest.approx(exact, rel=rtol, abs=0)


def _pairwise_only(X, labels):
    from skgap._dispersion_fast import _pairwise_dispersion

    order = np.argsort(labels, kind="stable")
    offsets = np.zeros(labels.max() + 2, dtype=np.intp)
    np.cumsum(np.bincount(labels), out=offsets[1:])
    out = np.zeros(labels.max() + 1)
    _pairwise_dispersion(np.ascontiguousarray(X[order]), offsets, None, 2.0, out)
    return math.fsum(out)


def test_pairwise_path_memory_is_linear():
    n, n_features = 20_000, 2
    X = np.random.default_rng(0).normal(size=(n, n_features))
    labels = np.zeros(n, dtype=np.intp)  # one cluster of 20,000 points
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        value = within_cluster_dispersion(X, labels, power=1.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.isfinite(value) and value > 0
    # O(n**2) would be n * n * 8 bytes = 3.2 GB; a few copies of X and of the
    # labels are 0.5 MB.
    assert peak < 10 * X.nbytes, peak
