# Authors: The skgap developers
# SPDX-License-Identifier: BSD-3-Clause
# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernels for the within-cluster dispersion W_k.

Python validates every input before calling these kernels (bounds checks are
off): labels lie in ``[0, n_clusters)``, shapes agree and values are finite.
Sums are accumulated in double whatever the input dtype.
"""

from cython cimport floating
from libc.math cimport fabs, pow, sqrt


def _squared_dispersion(
    const floating[:, ::1] X,   # IN
    const int[::1] labels,      # IN
    double[:, ::1] centers,     # OUT, (n_clusters, n_features), zero on entry
    double[:, ::1] residuals,   # OUT, (n_clusters, n_features), zero on entry
    double[::1] counts,         # OUT, (n_clusters,), zero on entry
    double[::1] out,            # OUT, (n_clusters,): sum_i ||x_i - mean_r||^2
):
    """Per-cluster sum of squared deviations from the mean, in two passes.

    The first pass computes the means; the second sums the squared deviations
    with Neumaier compensation and also the plain deviations, whose square
    corrects the rounding of the mean (the "corrected two-pass" algorithm of
    Chan, Golub & LeVeque). O(n_samples * n_features), sequential in X.
    """
    cdef:
        Py_ssize_t n_samples = X.shape[0]
        Py_ssize_t n_features = X.shape[1]
        Py_ssize_t n_clusters = out.shape[0]
        Py_ssize_t i, j, r
        double d, row, total, t
        double[::1] compensation = out.copy()   # zero, like out

    with nogil:
        for i in range(n_samples):
            r = labels[i]
            counts[r] += 1.0
            for j in range(n_features):
                centers[r, j] += X[i, j]
        for r in range(n_clusters):
            if counts[r] > 0:
                for j in range(n_features):
                    centers[r, j] /= counts[r]

        for i in range(n_samples):
            r = labels[i]
            row = 0.0
            for j in range(n_features):
                d = X[i, j] - centers[r, j]
                row += d * d
                residuals[r, j] += d
            total = out[r]
            t = total + row
            if fabs(total) >= fabs(row):
                compensation[r] += (total - t) + row
            else:
                compensation[r] += (row - t) + total
            out[r] = t

        for r in range(n_clusters):
            if counts[r] > 0:
                row = 0.0
                for j in range(n_features):
                    row += residuals[r, j] * residuals[r, j]
                out[r] = out[r] + compensation[r] - row / counts[r]
                if out[r] < 0.0:
                    out[r] = 0.0


cdef inline double _pair_term(
    const floating[:, ::1] X,
    Py_ssize_t a,
    Py_ssize_t b,
    int mode,
    double half_power,
) noexcept nogil:
    """d(x_a, x_b) ** power, with power 2 and 1 special-cased (mode 2 and 1)."""
    cdef:
        Py_ssize_t j
        double d, d2 = 0.0
    for j in range(X.shape[1]):
        d = <double> X[a, j] - <double> X[b, j]
        d2 += d * d
    if mode == 2:
        return d2
    if mode == 1:
        return sqrt(d2)
    return pow(d2, half_power)


def _pairwise_dispersion(
    const floating[:, ::1] X,       # IN, rows grouped by cluster
    const Py_ssize_t[::1] offsets,  # IN, (n_clusters + 1,): cluster r is rows offsets[r]:offsets[r+1]
    double power,                   # IN, > 0
    double[::1] out,                # OUT, (n_clusters,)
):
    """Per-cluster sum over unordered pairs of d ** power, divided by the size.

    This equals 1/(2 n_r) times the sum over ordered pairs. O(sum n_r^2 p) time
    and no memory beyond the inputs.
    """
    cdef:
        Py_ssize_t n_clusters = out.shape[0]
        Py_ssize_t r, a, b, start, stop
        int mode = 2 if power == 2.0 else (1 if power == 1.0 else 0)
        double half_power = 0.5 * power
        double row, total

    with nogil:
        for r in range(n_clusters):
            start = offsets[r]
            stop = offsets[r + 1]
            total = 0.0
            for a in range(start, stop):
                row = 0.0
                for b in range(a + 1, stop):
                    row += _pair_term(X, a, b, mode, half_power)
                total += row
            out[r] = total / (stop - start) if stop > start else 0.0
