# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""A prototype compiled k-means for the proposal in benchmarks/README.md.

Not part of skgap: ``compiled_kmeans.py`` builds it on the fly (with Cython)
to measure what a batched, GIL-free k-means would buy the default
``estimator=None`` path. One call runs every start (k-means++ seeding with
scikit-learn's greedy rule, then Lloyd iterations with scikit-learn's
stopping rule) without returning to Python, and keeps the best start.

Differences from scikit-learn's KMeans, on purpose or for brevity: its own
random generator (splitmix64), so the starts differ; distances by direct
loops (no GEMM: k and p are small here); an empty cluster takes the point
farthest from its centre; float64 only.
"""

import numpy as np

from libc.math cimport log, INFINITY
from libc.stdint cimport uint64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset


cdef inline uint64_t _next(uint64_t* state) noexcept nogil:
    # splitmix64
    state[0] += 0x9E3779B97F4A7C15ULL
    cdef uint64_t z = state[0]
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline double _uniform(uint64_t* state) noexcept nogil:
    return (_next(state) >> 11) * (1.0 / 9007199254740992.0)


cdef inline double _sqdist(const double* a, const double* b, Py_ssize_t p) noexcept nogil:
    cdef double d, s = 0.0
    cdef Py_ssize_t j
    for j in range(p):
        d = a[j] - b[j]
        s += d * d
    return s


cdef Py_ssize_t _pick(const double* weights, Py_ssize_t n, double r) noexcept nogil:
    """The first index whose cumulative weight exceeds r (searchsorted)."""
    cdef double acc = 0.0
    cdef Py_ssize_t i
    for i in range(n):
        acc += weights[i]
        if acc > r:
            return i
    return n - 1


cdef void _kmeans_plusplus(
    const double* X, Py_ssize_t n, Py_ssize_t p, Py_ssize_t k,
    double* centers, double* closest, uint64_t* state,
) noexcept nogil:
    cdef Py_ssize_t trials = 2 + <Py_ssize_t>log(<double>k)
    cdef Py_ssize_t c, t, i, best_index = 0, index
    cdef double pot = 0.0, best_pot, new_pot, d

    index = <Py_ssize_t>(_uniform(state) * n)
    memcpy(centers, X + index * p, p * sizeof(double))
    for i in range(n):
        closest[i] = _sqdist(X + i * p, centers, p)
        pot += closest[i]
    for c in range(1, k):
        best_pot = INFINITY
        for t in range(trials):
            index = _pick(closest, n, _uniform(state) * pot)
            new_pot = 0.0
            for i in range(n):
                d = _sqdist(X + i * p, X + index * p, p)
                new_pot += d if d < closest[i] else closest[i]
            if new_pot < best_pot:
                best_pot, best_index = new_pot, index
        memcpy(centers + c * p, X + best_index * p, p * sizeof(double))
        pot = 0.0
        for i in range(n):
            d = _sqdist(X + i * p, centers + c * p, p)
            if d < closest[i]:
                closest[i] = d
            pot += closest[i]


cdef double _assign(
    const double* X, Py_ssize_t n, Py_ssize_t p, Py_ssize_t k,
    const double* centers, int* labels, double* dist,
) noexcept nogil:
    cdef Py_ssize_t i, c
    cdef double d, best, inertia = 0.0
    cdef int label
    for i in range(n):
        best = INFINITY
        label = 0
        for c in range(k):
            d = _sqdist(X + i * p, centers + c * p, p)
            if d < best:
                best, label = d, <int>c
        labels[i] = label
        dist[i] = best
        inertia += best
    return inertia


cdef double _lloyd(
    const double* X, Py_ssize_t n, Py_ssize_t p, Py_ssize_t k,
    double* centers, double* new_centers, double* counts,
    int* labels, double* dist, int max_iter, double tol,
) noexcept nogil:
    cdef Py_ssize_t i, c, j, far
    cdef double shift, d
    cdef int it
    for it in range(max_iter):
        _assign(X, n, p, k, centers, labels, dist)
        memset(new_centers, 0, k * p * sizeof(double))
        memset(counts, 0, k * sizeof(double))
        for i in range(n):
            c = labels[i]
            counts[c] += 1.0
            for j in range(p):
                new_centers[c * p + j] += X[i * p + j]
        for c in range(k):
            if counts[c] == 0.0:  # relocate to the farthest point
                far = 0
                for i in range(n):
                    if dist[i] > dist[far]:
                        far = i
                memcpy(new_centers + c * p, X + far * p, p * sizeof(double))
                dist[far] = 0.0
                counts[c] = 1.0
            else:
                for j in range(p):
                    new_centers[c * p + j] /= counts[c]
        shift = 0.0
        for c in range(k * p):
            d = new_centers[c] - centers[c]
            shift += d * d
        memcpy(centers, new_centers, k * p * sizeof(double))
        if shift <= tol:
            break
    return _assign(X, n, p, k, centers, labels, dist)


def kmeans(const double[:, ::1] X, int k, int n_init, uint64_t seed,
           int max_iter=300, double tol=1e-4):
    """Best of `n_init` k-means++ / Lloyd starts: (labels, inertia).

    `tol` is relative, as in scikit-learn: the squared centre shift that
    stops the iterations is ``tol`` times the mean feature variance.
    """
    cdef Py_ssize_t n = X.shape[0], p = X.shape[1], i
    cdef double abs_tol = tol * float(np.mean(np.var(np.asarray(X), axis=0)))
    cdef uint64_t state = seed
    cdef double inertia, best_inertia = INFINITY
    best = np.zeros(n, dtype=np.intc)
    cdef int[::1] best_labels = best
    cdef double* centers = <double*>malloc(2 * k * p * sizeof(double))
    cdef double* counts = <double*>malloc(k * sizeof(double))
    cdef double* dist = <double*>malloc(n * sizeof(double))
    cdef int* labels = <int*>malloc(n * sizeof(int))
    try:
        with nogil:
            for i in range(n_init):
                _kmeans_plusplus(&X[0, 0], n, p, k, centers, dist, &state)
                inertia = _lloyd(&X[0, 0], n, p, k, centers, centers + k * p,
                                 counts, labels, dist, max_iter, abs_tol)
                if inertia < best_inertia:
                    best_inertia = inertia
                    memcpy(&best_labels[0], labels, n * sizeof(int))
    finally:
        free(centers)
        free(counts)
        free(dist)
        free(labels)
    return best, best_inertia
