# Authors: The skgap developers
# SPDX-License-Identifier: BSD-3-Clause
# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernels for the within-cluster dispersion W_k.

Python validates every input before calling these kernels (bounds checks are
off): labels lie in ``[0, n_clusters)``, shapes agree and values are finite.
Sums are accumulated in double whatever the input dtype.
"""

import numpy as np

from cython cimport floating


# Rows summed into a cluster's partial sum before it is added to the total:
# a two-level sum whose rounding error is about (_BLOCK + n_r / _BLOCK) eps.
cdef Py_ssize_t _BLOCK = 1024


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
    in blocks of rows (a two-level sum) and also the plain deviations, whose
    square corrects the rounding of the mean (the "corrected two-pass"
    algorithm of Chan, Golub & LeVeque). O(n_samples * n_features), sequential
    in X.
    """
    cdef:
        Py_ssize_t n_samples = X.shape[0]
        Py_ssize_t n_features = X.shape[1]
        Py_ssize_t n_clusters = out.shape[0]
        Py_ssize_t i, j, r
        double d, row
        double[::1] partial = np.zeros(n_clusters)
        Py_ssize_t[::1] in_partial = np.zeros(n_clusters, dtype=np.intp)

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
            partial[r] += row
            in_partial[r] += 1
            if in_partial[r] == _BLOCK:
                out[r] += partial[r]
                partial[r] = 0.0
                in_partial[r] = 0

        for r in range(n_clusters):
            if counts[r] > 0:
                row = 0.0
                for j in range(n_features):
                    row += residuals[r, j] * residuals[r, j]
                out[r] = out[r] + partial[r] - row / counts[r]
                if out[r] < 0.0:
                    out[r] = 0.0


def _pairwise_dispersion(
    const floating[:, ::1] X,       # IN, rows grouped by cluster
    const Py_ssize_t[::1] offsets,  # IN, (n_clusters + 1,): cluster r is rows offsets[r]:offsets[r+1]
    double power,                   # IN, > 0
    double[::1] out,                # OUT, (n_clusters,)
):
    """Per-cluster sum over unordered pairs of d ** power, divided by the size.

    This equals 1/(2 n_r) times the sum over ordered pairs. O(sum n_r^2 p)
    time and O(n_samples) memory: the squared distances of whole rows go into
    a buffer of max(2**16, n_samples) values (GIL released, four pairs at a
    time), which NumPy's vectorised ``sqrt`` (power 1) or ``power`` (any
    other power but 2) raises to power / 2 and sums pairwise.
    """
    cdef:
        Py_ssize_t n_clusters = out.shape[0]
        Py_ssize_t r, a, start, stop, filled
        int mode = 2 if power == 2.0 else (1 if power == 1.0 else 0)
        double half_power = 0.5 * power
        double total
        double[::1] buffer_view

    buffer = np.empty(max(1 << 16, X.shape[0]))
    buffer_view = buffer
    for r in range(n_clusters):
        start = offsets[r]
        stop = offsets[r + 1]
        total = 0.0
        a = start
        while a < stop - 1:
            a, filled = _squared_distances_block(X, a, stop, buffer_view)
            chunk = buffer[:filled]
            if mode == 1:
                np.sqrt(chunk, out=chunk)
            elif mode == 0:
                np.power(chunk, half_power, out=chunk)
            total += chunk.sum()
        out[r] = total / (stop - start) if stop > start else 0.0


cdef (Py_ssize_t, Py_ssize_t) _squared_distances_block(
    const floating[:, ::1] X,   # IN, rows grouped by cluster
    Py_ssize_t a,               # IN, first row of the block
    Py_ssize_t stop,            # IN, end of the cluster
    double[::1] buffer,         # OUT, squared distances of the pairs (a, b > a), ...
):
    """Fill `buffer` with the squared distances of whole rows a, a+1, ...

    A row a contributes its pairs (a, b) for a < b < stop; rows are added while
    they fit (the buffer holds at least n_samples values, so one always does).
    Returns the next row and the number of values written.
    """
    cdef:
        Py_ssize_t size = buffer.shape[0]
        Py_ssize_t n_features = X.shape[1]
        Py_ssize_t filled = 0
        Py_ssize_t b, j
        double x, t0, t1, t2, t3, s0, s1, s2, s3
    with nogil:
        while a < stop - 1 and filled + (stop - a - 1) <= size:
            b = a + 1
            # four rows b at a time: independent sums keep the FPU busy
            while b + 3 < stop:
                s0 = s1 = s2 = s3 = 0.0
                for j in range(n_features):
                    x = X[a, j]
                    t0 = x - X[b, j]
                    t1 = x - X[b + 1, j]
                    t2 = x - X[b + 2, j]
                    t3 = x - X[b + 3, j]
                    s0 += t0 * t0
                    s1 += t1 * t1
                    s2 += t2 * t2
                    s3 += t3 * t3
                buffer[filled] = s0
                buffer[filled + 1] = s1
                buffer[filled + 2] = s2
                buffer[filled + 3] = s3
                filled += 4
                b += 4
            while b < stop:
                s0 = 0.0
                for j in range(n_features):
                    t0 = <double> X[a, j] - X[b, j]
                    s0 += t0 * t0
                buffer[filled] = s0
                filled += 1
                b += 1
            a += 1
    return a, filled
