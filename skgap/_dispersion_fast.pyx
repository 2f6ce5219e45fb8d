# Authors: The skgap developers
# SPDX-License-Identifier: BSD-3-Clause
# cython: language_level=3, boundscheck=False, wraparound=False
# cython: cdivision=True, initializedcheck=False
"""Cython kernels for the within-cluster dispersion W_k.

Python validates every input before calling these kernels (bounds checks are
off): labels lie in ``[0, n_clusters)``, shapes agree, values are finite and
weights non-negative. Sums are accumulated in double whatever the input dtype.
"""

import numpy as np

from cython cimport floating
from libc.string cimport memset


# Rows summed into a cluster's partial sum before it is added to the total:
# a two-level sum whose rounding error is about (_BLOCK + n_r / _BLOCK) eps.
cdef Py_ssize_t _BLOCK = 1024


cdef void squared_dispersion(
    const floating* X,          # IN, (n_samples, n_features), C order
    const double* weights,      # IN, (n_samples,) or NULL for unit weights
    const int* labels,          # IN, (n_samples,), in [0, n_clusters)
    Py_ssize_t n_samples,
    Py_ssize_t n_features,
    Py_ssize_t n_clusters,
    double* work,               # (2 * n_clusters * n_features + 3 * n_clusters,)
    double* out,                # OUT, (n_clusters,)
) noexcept nogil:
    """Per-cluster weighted sum of squared deviations from the weighted mean.

    Two passes: the means, then the squared deviations summed in blocks of
    rows (a two-level sum) together with the plain deviations, whose square
    corrects the rounding of the mean (the "corrected two-pass" algorithm of
    Chan, Golub & LeVeque). O(n_samples * n_features), sequential in X.
    """
    cdef:
        double* centers = work
        double* residuals = work + n_clusters * n_features
        double* totals = work + 2 * n_clusters * n_features
        double* partial = totals + n_clusters
        double* in_partial = partial + n_clusters
        const floating* x
        double* center
        double* residual
        Py_ssize_t i, j, r
        double d, row, w = 1.0

    memset(work, 0, (2 * n_clusters * n_features + 3 * n_clusters) * sizeof(double))
    memset(out, 0, n_clusters * sizeof(double))
    for i in range(n_samples):
        r = labels[i]
        if weights != NULL:
            w = weights[i]
        totals[r] += w
        x = X + i * n_features
        center = centers + r * n_features
        for j in range(n_features):
            center[j] += w * x[j]
    for r in range(n_clusters):
        if totals[r] > 0:
            for j in range(n_features):
                centers[r * n_features + j] /= totals[r]

    for i in range(n_samples):
        r = labels[i]
        if weights != NULL:
            w = weights[i]
        x = X + i * n_features
        center = centers + r * n_features
        residual = residuals + r * n_features
        row = 0.0
        for j in range(n_features):
            d = x[j] - center[j]
            row += d * d
            residual[j] += w * d
        partial[r] += w * row
        in_partial[r] += 1.0
        if in_partial[r] == _BLOCK:
            out[r] += partial[r]
            partial[r] = 0.0
            in_partial[r] = 0.0

    for r in range(n_clusters):
        if totals[r] > 0:
            row = 0.0
            residual = residuals + r * n_features
            for j in range(n_features):
                row += residual[j] * residual[j]
            out[r] = out[r] + partial[r] - row / totals[r]
            if out[r] < 0.0:
                out[r] = 0.0
        else:
            out[r] = 0.0


def _squared_dispersion(
    const floating[:, ::1] X,       # IN
    const int[::1] labels,          # IN
    sample_weight,                  # IN, float64 (n_samples,) or None
    double[::1] out,                # OUT, (n_clusters,): sum_i w_i ||x_i - mean_r||^2
):
    """Per-cluster weighted sum of squared deviations from the mean (W_k, power 2)."""
    cdef:
        Py_ssize_t n_clusters = out.shape[0]
        Py_ssize_t n_features = X.shape[1]
        const double[::1] weights_view
        const double* weights = NULL
        double[::1] work = np.empty(2 * n_clusters * n_features + 3 * n_clusters)
        const floating* data = NULL
    if sample_weight is not None:
        weights_view = sample_weight
        weights = &weights_view[0] if weights_view.shape[0] else NULL
    if X.shape[0] == 0 or n_clusters == 0:
        out[:] = 0.0
        return
    data = &X[0, 0] if n_features else NULL
    with nogil:
        squared_dispersion(
            data, weights, &labels[0], X.shape[0], n_features, n_clusters,
            &work[0], &out[0],
        )


def _pairwise_dispersion(
    const floating[:, ::1] X,       # IN, rows grouped by cluster
    const Py_ssize_t[::1] offsets,  # IN, (n_clusters + 1,): cluster r's rows start
    sample_weight,                  # IN, float64 (n_samples,) grouped as X, or None
    double power,                   # IN, > 0
    double[::1] out,                # OUT, (n_clusters,)
):
    """Per-cluster sum over unordered pairs of w_a w_b d ** power, over the weight.

    This equals 1/(2 w_r) times the sum over ordered pairs. O(sum n_r^2 p)
    time and O(n_samples) memory: the squared distances of whole rows go into
    a buffer of max(2**16, n_samples) values (GIL released, four pairs at a
    time), which NumPy's vectorised ``sqrt`` (power 1) or ``power`` (any
    other power but 2) raises to power / 2 and sums pairwise (weighted: a
    dot product with the products of the pairs' weights).
    """
    cdef:
        Py_ssize_t n_clusters = out.shape[0]
        Py_ssize_t r, a, start, stop, filled
        int mode = 2 if power == 2.0 else (1 if power == 1.0 else 0)
        double half_power = 0.5 * power
        double total, weight
        double[::1] buffer_view
        double[::1] pair_weights_view
        const double[::1] weights

    size = max(1 << 16, X.shape[0])
    buffer = np.empty(size)
    buffer_view = buffer
    pair_weights = None
    if sample_weight is not None:
        weights = sample_weight
        pair_weights = np.empty(size)
        pair_weights_view = pair_weights
    for r in range(n_clusters):
        start = offsets[r]
        stop = offsets[r + 1]
        total = 0.0
        a = start
        while a < stop - 1:
            if pair_weights is None:
                a, filled = _squared_distances_block(X, a, stop, buffer_view)
            else:
                a, filled = _weighted_squared_distances_block(
                    X, weights, a, stop, buffer_view, pair_weights_view
                )
            chunk = buffer[:filled]
            if mode == 1:
                np.sqrt(chunk, out=chunk)
            elif mode == 0:
                np.power(chunk, half_power, out=chunk)
            if pair_weights is None:
                total += chunk.sum()
            else:
                total += float(np.dot(chunk, pair_weights[:filled]))
        if pair_weights is None:
            weight = stop - start
        else:
            weight = float(np.sum(sample_weight[start:stop]))
        out[r] = total / weight if weight > 0 else 0.0


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


cdef (Py_ssize_t, Py_ssize_t) _weighted_squared_distances_block(
    const floating[:, ::1] X,       # IN, rows grouped by cluster
    const double[::1] weights,      # IN, grouped as X
    Py_ssize_t a,                   # IN, first row of the block
    Py_ssize_t stop,                # IN, end of the cluster
    double[::1] buffer,             # OUT, squared distances of the pairs (a, b > a)
    double[::1] pair_weights,       # OUT, w_a * w_b of the same pairs
):
    """`_squared_distances_block` that also writes the products of the weights."""
    cdef:
        Py_ssize_t start = a
        Py_ssize_t filled, b, position = 0
    a, filled = _squared_distances_block(X, a, stop, buffer)
    with nogil:
        while start < a:
            for b in range(start + 1, stop):
                pair_weights[position] = weights[start] * weights[b]
                position += 1
            start += 1
    return a, filled
