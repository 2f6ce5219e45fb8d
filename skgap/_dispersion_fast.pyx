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
from libc.math cimport frexp, ldexp
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

    The weights are divided by the power of two 2**e nearest above the largest
    one and the sums multiplied back by it: exact in binary (the same bits as
    without scaling), but no product of weights overflows (weights of 1e200
    would give an infinite correction term). A cluster whose W_r exceeds the
    largest double comes out as +inf.
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
        double d, row, top = 0.0, w = 1.0, unit = 1.0
        int exponent = 0

    if weights != NULL:
        for i in range(n_samples):
            if weights[i] > top:
                top = weights[i]
        frexp(top, &exponent)
        # 2**-exponent is a double down to exponent -1022 (subnormal weights
        # are scaled up less, still exactly)
        if exponent < -1022:
            exponent = -1022
        unit = ldexp(1.0, -exponent)
    memset(work, 0, (2 * n_clusters * n_features + 3 * n_clusters) * sizeof(double))
    memset(out, 0, n_clusters * sizeof(double))
    for i in range(n_samples):
        r = labels[i]
        if weights != NULL:
            w = weights[i] * unit
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
            w = weights[i] * unit
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
            out[r] = ldexp(out[r], exponent)
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


# Pairs of a chunk of the pairwise sums, the work between two calls of `check`:
# at most _PAIR_WORK distance terms (pairs times features), at least _MIN_PAIRS
# pairs (the chunk's NumPy calls cost about as much as 2**10 pairs).
_PAIR_WORK = 1 << 22
_MAX_PAIRS = 1 << 16
_MIN_PAIRS = 1 << 10


def _pairwise_dispersion(
    const floating[:, ::1] X,       # IN, rows grouped by cluster
    const Py_ssize_t[::1] offsets,  # IN, (n_clusters + 1,): cluster r's rows start
    sample_weight,                  # IN, float64 (n_samples,) grouped as X, or None
    double power,                   # IN, > 0
    double[::1] out,                # OUT, (n_clusters,)
    check=None,                     # IN, None or a callable of no argument
):
    """Per-cluster sum over unordered pairs of w_a w_b d ** power, over the weight.

    This equals 1/(2 w_r) times the sum over ordered pairs. O(sum n_r^2 p)
    time and O(p) memory: the squared distances of the pairs (a, b > a) of a
    cluster, in row order, go a chunk at a time (at most ``2**22 / p`` pairs)
    into a buffer (GIL released, four pairs at a time), which NumPy's
    vectorised ``sqrt`` (power 1) or ``power`` (any other power but 2) raises
    to power / 2 and sums pairwise (weighted: a dot product with the products
    of the pairs' weights). ``check()`` is called after every chunk: it stops
    the sum by raising (e.g. when the fit is cancelled).
    """
    cdef:
        Py_ssize_t n_clusters = out.shape[0]
        Py_ssize_t n_features = X.shape[1]
        Py_ssize_t r, a, b, start, stop, filled, size
        int mode = 2 if power == 2.0 else (1 if power == 1.0 else 0)
        double half_power = 0.5 * power
        double total, weight
        double[::1] buffer_view
        double[::1] pair_weights_view
        const double[::1] weights_view
        const double* weights = NULL
        double* pair_weights_data = NULL

    size = max(_MIN_PAIRS, min(_MAX_PAIRS, _PAIR_WORK // max(n_features, 1)))
    buffer = np.empty(size)
    buffer_view = buffer
    pair_weights = None
    if sample_weight is not None:
        weights_view = sample_weight
        if weights_view.shape[0]:
            weights = &weights_view[0]
        pair_weights = np.empty(size)
        pair_weights_view = pair_weights
        pair_weights_data = &pair_weights_view[0]
    for r in range(n_clusters):
        start = offsets[r]
        stop = offsets[r + 1]
        total = 0.0
        a = start
        b = start + 1
        while a < stop - 1:
            with nogil:
                filled = _fill_pairs(
                    X, weights, &a, &b, stop, &buffer_view[0], pair_weights_data, size
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
            if check is not None:
                check()
        if pair_weights is None:
            weight = stop - start
        else:
            weight = float(np.sum(sample_weight[start:stop]))
        out[r] = total / weight if weight > 0 else 0.0


cdef Py_ssize_t _fill_pairs(
    const floating[:, ::1] X,   # IN, rows grouped by cluster
    const double* weights,      # IN, grouped as X, or NULL
    Py_ssize_t* a,              # IN/OUT, the next pair (a, b) of the cluster
    Py_ssize_t* b,              # IN/OUT
    Py_ssize_t stop,            # IN, end of the cluster
    double* buffer,             # OUT, (size,): squared distances of the pairs
    double* pair_weights,       # OUT, (size,): w_a * w_b of the same pairs, or NULL
    Py_ssize_t size,            # IN, room in the buffers
) noexcept nogil:
    """Write the squared distances of the pairs (a, b), (a, b + 1), ... in order.

    The pairs of a cluster run row by row: (a, a + 1), ..., (a, stop - 1), then
    (a + 1, a + 2), ... Stops when the buffer is full (possibly within a row)
    or the cluster's pairs are done; `a` and `b` then name the next pair.
    Returns the number of pairs written.
    """
    cdef:
        Py_ssize_t n_features = X.shape[1]
        Py_ssize_t filled = 0
        Py_ssize_t row = a[0]
        Py_ssize_t col = b[0]
        Py_ssize_t end, j, first
        double x, t0, t1, t2, t3, s0, s1, s2, s3
    while row < stop - 1 and filled < size:
        end = min(stop, col + (size - filled))
        first = filled
        # four columns at a time: independent sums keep the FPU busy
        while col + 3 < end:
            s0 = s1 = s2 = s3 = 0.0
            for j in range(n_features):
                x = X[row, j]
                t0 = x - X[col, j]
                t1 = x - X[col + 1, j]
                t2 = x - X[col + 2, j]
                t3 = x - X[col + 3, j]
                s0 += t0 * t0
                s1 += t1 * t1
                s2 += t2 * t2
                s3 += t3 * t3
            buffer[filled] = s0
            buffer[filled + 1] = s1
            buffer[filled + 2] = s2
            buffer[filled + 3] = s3
            filled += 4
            col += 4
        while col < end:
            s0 = 0.0
            for j in range(n_features):
                t0 = <double> X[row, j] - X[col, j]
                s0 += t0 * t0
            buffer[filled] = s0
            filled += 1
            col += 1
        if pair_weights != NULL:
            col -= filled - first
            while col < end:
                pair_weights[first] = weights[row] * weights[col]
                first += 1
                col += 1
        if col == stop:
            row += 1
            col = row + 1
    a[0] = row
    b[0] = col
    return filled
