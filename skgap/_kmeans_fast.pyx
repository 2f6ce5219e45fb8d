# Authors: The skgap developers
# SPDX-License-Identifier: BSD-3-Clause
# cython: language_level=3, boundscheck=False, wraparound=False
# cython: cdivision=True, initializedcheck=False
"""skgap's compiled k-means engine.

The algorithm of scikit-learn's ``KMeans(algorithm="lloyd")``: greedy
k-means++ seeding (2 + log k local trials), Lloyd iterations stopped when
the labels no longer change or when the squared centre shift falls to
``tol`` times the mean feature variance, empty clusters relocated to the
samples farthest from their centres, labels consistent with the final
centres, and the best of ``n_init`` starts by inertia. One call clusters one
data set for every k, without the GIL and without returning to Python.

What differs from scikit-learn, none of it in the result of a start given its
initial centres:

- the random stream: a splitmix64 generator seeded from skgap's per-fit seed,
  so that a fit's starts depend on that seed alone (any thread, process or
  machine);
- the assignment step skips the samples whose nearest centre provably did not
  change (Hamerly's bounds: one upper bound per sample on the distance to its
  centre, one lower bound on the distance to the others);
- distances are sums of squared differences in double whatever the input
  dtype (never the expanded ||x||^2 - 2 x.c + ||c||^2), computed by the
  vector kernels of _kmeans_simd.h on blocks of samples;
- the centres' sums are updated by the samples that change cluster rather
  than summed again at each iteration (unless ``tol == 0``).

Python validates every input (see ``skgap/_engine.py``); bounds checks are off.
"""

from cython cimport floating
from libc.float cimport FLT_MAX
from libc.math cimport INFINITY, log, sqrt
from libc.stdint cimport uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

from ._dispersion_fast cimport squared_dispersion


cdef extern from *:
    """
    /* The cancel flag is written by another thread: read it from memory. */
    static int skgap_cancelled(const int *flag)
    {
        return flag != NULL && *(const volatile int *)flag != 0;
    }
    """
    int skgap_cancelled(const int* flag) noexcept nogil


cdef extern from "_kmeans_simd.h" nogil:
    const int SKGAP_LANES
    const char* skgap_simd_name
    void skgap_simd_init()
    int skgap_simd_select(const char* name)
    void skgap_load_f64(const double* X, Py_ssize_t p, const Py_ssize_t* rows,
                        Py_ssize_t start, Py_ssize_t nb, Py_ssize_t stride,
                        double* XT)
    void skgap_load_f32(const float* X, Py_ssize_t p, const Py_ssize_t* rows,
                        Py_ssize_t start, Py_ssize_t nb, Py_ssize_t stride,
                        double* XT)
    void skgap_sq_dists(const double* XT, Py_ssize_t p, Py_ssize_t nb,
                        Py_ssize_t stride, const double* C, Py_ssize_t m,
                        double* out)
    void skgap_nearest_two(const double* D, Py_ssize_t m, Py_ssize_t nb,
                           Py_ssize_t stride, double* best, double* d1, double* d2)
    void skgap_potentials(const double* D, Py_ssize_t m, Py_ssize_t nb,
                          Py_ssize_t stride, const double* closest,
                          const double* w, double* pot)


skgap_simd_init()


def simd():
    """The instruction set of the vector kernels in use (the widest the CPU has)."""
    return skgap_simd_name.decode()


def _use_simd(name):
    """Switch to the kernels of instruction set `name`, for testing purpose.

    Returns whether this build and CPU have them. Not thread-safe: only for
    tests that compare the results of the instruction sets.
    """
    return skgap_simd_select(name.encode()) == 0


# -- Random numbers -------------------------------------------------------

cdef inline uint64_t _next(uint64_t* state) noexcept nogil:
    """splitmix64: a counter passed through a 64-bit mixing function."""
    state[0] += 0x9E3779B97F4A7C15ULL
    cdef uint64_t z = state[0]
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline double _uniform(uint64_t* state) noexcept nogil:
    """A double uniform on [0, 1), from the top 53 bits."""
    return (_next(state) >> 11) * (1.0 / 9007199254740992.0)


# -- Distances ------------------------------------------------------------

cdef inline double _sq_dist(
    const floating* x, const double* c, Py_ssize_t p
) noexcept nogil:
    cdef double d, s = 0.0
    cdef Py_ssize_t j
    for j in range(p):
        d = x[j] - c[j]
        s += d * d
    return s


# -- The work arrays of one call -------------------------------------------

cdef struct Work:
    const int* cancel     # a flag that another thread sets to stop the call, or NULL
    Py_ssize_t block      # samples per block (a multiple of SKGAP_LANES)
    Py_ssize_t stride     # distance between the rows of w.XT and w.D
    bint tighten          # recompute the distance to a sample's centre before a rescan
    # per sample
    double* upper         # Hamerly: >= distance to the sample's centre
    float* lower          # Hamerly: <= distance to every other centre (rounded down)
    int* labels
    int* best_labels      # the labels of the best start (w.labels with one start)
    # per block of samples
    double* XT            # (p, block) the block, feature by feature
    double* D             # (max(k, trials), block) squared distances
    double* nearest       # (3, block) nearest centre, its and the second distance
    Py_ssize_t* rows      # (block,) the samples of a gathered block
    # per centre
    double* centers       # (k, p)
    double* new_centers
    double* best_centers
    double* sums          # (k, p) weighted sums of the samples of each cluster
    double* weight_in     # (k,)
    double* half_gap      # (k,) half the distance to the nearest other centre
    double* shift         # (k,) distance each centre moved since the last assignment
    double* drop          # (k,) the largest of the other centres' shifts
    double* spare         # (k, p) + (k,) scratch: relocation
    double* candidates    # (trials, p) k-means++ candidates
    double* potentials    # (trials,)
    Py_ssize_t* picks     # (trials,)
    int* mapping          # (k,) scratch: same clustering test
    double* dispersion    # 2 k p + 4 k, and p: W_k of squared_dispersion


cdef Py_ssize_t _n_trials(Py_ssize_t k) noexcept nogil:
    """scikit-learn's number of k-means++ local trials, 2 + int(log(k))."""
    return 2 + <Py_ssize_t> log(<double> k)


cdef int _alloc(
    Work* w, Py_ssize_t n, Py_ssize_t p, Py_ssize_t k, bint several_starts
) noexcept nogil:
    cdef Py_ssize_t kp = k * p, trials = _n_trials(k), block, m
    # A block's features and distances stay within a few tens of KiB.
    block = 8192 // p
    if 65536 // k < block:
        block = 65536 // k
    block = block - block % SKGAP_LANES
    if block > 256:
        block = 256
    if block < SKGAP_LANES:
        block = SKGAP_LANES
    w.block = block
    # one cache line more than a block, so that the rows of a block do not
    # all fall in the same cache sets
    w.stride = block + 8
    # Hamerly's tightening of the upper bound saves a rescan only where a
    # rescan costs much more than one distance: narrow data.
    w.tighten = p <= 3
    m = k if k > trials else trials
    w.upper = <double*> malloc(n * sizeof(double))
    w.lower = <float*> malloc(n * sizeof(float))
    w.labels = <int*> malloc(n * sizeof(int))
    # with one start, its labels are the best: no second array of n labels
    w.best_labels = <int*> malloc(n * sizeof(int)) if several_starts else w.labels
    w.XT = <double*> malloc((p + m + 3) * (block + 8) * sizeof(double))
    w.rows = <Py_ssize_t*> malloc((block + trials) * sizeof(Py_ssize_t))
    w.centers = <double*> malloc(
        (7 * kp + 10 * k + (p + 1) * trials + p + 8) * sizeof(double))
    w.mapping = <int*> malloc((k + 1) * sizeof(int))
    if (w.upper == NULL or w.lower == NULL or w.labels == NULL
            or w.best_labels == NULL or w.XT == NULL or w.rows == NULL
            or w.centers == NULL or w.mapping == NULL):
        return -1
    w.D = w.XT + p * w.stride
    w.nearest = w.D + m * w.stride
    w.picks = w.rows + block
    w.new_centers = w.centers + kp
    w.best_centers = w.new_centers + kp
    w.sums = w.best_centers + kp
    w.spare = w.sums + kp               # (k, p) + (k,)
    w.weight_in = w.spare + kp + k
    w.half_gap = w.weight_in + k
    w.shift = w.half_gap + k
    w.drop = w.shift + k
    w.candidates = w.drop + k           # (trials, p)
    w.potentials = w.candidates + trials * p
    w.dispersion = w.potentials + trials  # 2 k p + 4 k, or the mean of X (p)
    return 0


cdef void _free(Work* w) noexcept nogil:
    free(w.upper)
    free(w.lower)
    if w.best_labels != w.labels:
        free(w.best_labels)
    free(w.labels)
    free(w.XT)
    free(w.rows)
    # w.centers and w.new_centers swap places: free the start of their block
    if w.centers != NULL and w.new_centers != NULL:
        free(w.centers if w.centers < w.new_centers else w.new_centers)
    else:
        free(w.centers)
    free(w.mapping)


cdef inline Py_ssize_t _load_block(
    const floating* X, Py_ssize_t p, Py_ssize_t start, Py_ssize_t stop,
    const Py_ssize_t* rows, Work* w,
) noexcept nogil:
    """Transpose samples start..stop (of `rows` if not NULL) into w.XT.

    The lanes past the last sample, up to a multiple of SKGAP_LANES, are
    zero. Returns the number of samples.
    """
    if floating is double:
        skgap_load_f64(X, p, rows, start, stop - start, w.stride, w.XT)
    else:
        skgap_load_f32(X, p, rows, start, stop - start, w.stride, w.XT)
    return stop - start


cdef inline float _below(double x) noexcept nogil:
    """A float at most x, or at most 0 if x < 0 (a lower bound of a distance).

    x is lowered by more than the conversion can round it up: relative
    2**-24, or 2**-150 among the subnormal floats. Without a branch on the
    sign, which is unpredictable in the bounds' updates.
    """
    if x > FLT_MAX:
        return FLT_MAX
    return <float> (x * 0.99999988079071044921875 - 1.401298464324817e-45)


cdef inline bint _taken(
    const int* taken, Py_ssize_t n_taken, Py_ssize_t i
) noexcept nogil:
    cdef Py_ssize_t t
    for t in range(n_taken):
        if taken[t] == i:
            return True
    return False


cdef void _nearest_all(
    const floating* X, Py_ssize_t n, Py_ssize_t p, Py_ssize_t k, Work* w,
) noexcept nogil:
    """Each sample's nearest of the k centres w.centers (w.labels) and its
    squared distances to it (w.upper) and to the second nearest (w.lower)."""
    cdef Py_ssize_t start, nb, b, i
    cdef double* nearest = w.nearest
    start = 0
    while start < n:
        nb = _load_block(X, p, start, min(start + w.block, n), NULL, w)
        skgap_sq_dists(w.XT, p, nb, w.stride, w.centers, k, w.D)
        skgap_nearest_two(w.D, k, nb, w.stride, nearest, nearest + w.stride,
                          nearest + 2 * w.stride)
        for b in range(nb):
            i = start + b
            w.labels[i] = <int> nearest[b]
            w.upper[i] = nearest[w.stride + b]
            w.lower[i] = _below(nearest[2 * w.stride + b])
        start += w.block


# -- k-means++ ---------------------------------------------------------------

cdef void _pick(
    const double* weights, const double* closest, Py_ssize_t n,
    const double* targets, Py_ssize_t m, Py_ssize_t* picks, Py_ssize_t* order,
) noexcept nogil:
    """For each target r: the first sample whose cumulative potential is >= r.

    numpy.searchsorted(cumsum(w * closest), targets), clipped to the last
    sample, in one pass (targets visited in increasing order); with `closest`
    NULL, the cumulative weight alone.
    """
    cdef double acc = 0.0
    cdef Py_ssize_t i, t, a, tmp
    for t in range(m):  # insertion sort of the targets (m is small)
        order[t] = t
        a = t
        while a > 0 and targets[order[a - 1]] > targets[order[a]]:
            tmp = order[a - 1]
            order[a - 1] = order[a]
            order[a] = tmp
            a -= 1
    t = 0
    for i in range(n):
        if closest == NULL:
            acc += weights[i]
        elif weights == NULL:
            acc += closest[i]
        else:
            acc += weights[i] * closest[i]
        while t < m and acc >= targets[order[t]]:
            picks[order[t]] = i
            t += 1
        if t == m:
            return
    while t < m:
        picks[order[t]] = n - 1
        t += 1


cdef double _add_center(
    const floating* X, const double* weights, Py_ssize_t n, Py_ssize_t p,
    Py_ssize_t c, Work* w,
) noexcept nogil:
    """Update each sample's nearest and second nearest of the chosen centres
    with centre c (w.upper: squared distance to the nearest, w.labels: which,
    w.lower: squared distance to the second); returns the potential."""
    cdef Py_ssize_t start, nb, b, i
    cdef double d, pot = 0.0
    start = 0
    while start < n:
        nb = _load_block(X, p, start, min(start + w.block, n), NULL, w)
        skgap_sq_dists(w.XT, p, nb, w.stride, w.centers + c * p, 1, w.D)
        for b in range(nb):
            i = start + b
            d = w.D[b]
            if c == 0:
                w.upper[i] = d
                w.lower[i] = INFINITY
                w.labels[i] = 0
            elif d < w.upper[i]:
                w.lower[i] = _below(w.upper[i])
                w.upper[i] = d
                w.labels[i] = <int> c
            elif d < w.lower[i]:
                w.lower[i] = _below(d)
            pot += w.upper[i] if weights == NULL else weights[i] * w.upper[i]
        start += w.block
    return pot


cdef void _kmeans_plusplus(
    const floating* X, const double* weights, double total_weight,
    Py_ssize_t n, Py_ssize_t p, Py_ssize_t k, uint64_t* rng, Work* w,
) noexcept nogil:
    """Greedy k-means++ into w.centers.

    Leaves, for the first assignment of Lloyd's iterations, each sample's
    nearest centre in w.labels and its squared distances to it and to the
    second nearest in w.upper and w.lower.
    """
    cdef Py_ssize_t trials = _n_trials(k), c, t, j, best, start, nb
    cdef double pot, r
    cdef Py_ssize_t* order = w.rows

    r = _uniform(rng) * (n if weights == NULL else total_weight)
    if weights == NULL:
        best = <Py_ssize_t> r
        if best >= n:
            best = n - 1
    else:
        _pick(weights, NULL, n, &r, 1, &best, order)
    for j in range(p):
        w.centers[j] = X[best * p + j]
    pot = _add_center(X, weights, n, p, 0, w)

    for c in range(1, k):
        if skgap_cancelled(w.cancel):
            return
        for t in range(trials):
            w.potentials[t] = _uniform(rng) * pot
        _pick(weights, w.upper, n, w.potentials, trials, w.picks, order)
        for t in range(trials):
            for j in range(p):
                w.candidates[t * p + j] = X[w.picks[t] * p + j]
            w.potentials[t] = 0.0
        start = 0
        while start < n:
            nb = _load_block(X, p, start, min(start + w.block, n), NULL, w)
            skgap_sq_dists(w.XT, p, nb, w.stride, w.candidates, trials, w.D)
            skgap_potentials(w.D, trials, nb, w.stride, w.upper + start,
                             NULL if weights == NULL else weights + start,
                             w.potentials)
            start += w.block
        best = 0
        for t in range(1, trials):
            if w.potentials[t] < w.potentials[best]:
                best = t
        for j in range(p):
            w.centers[c * p + j] = w.candidates[best * p + j]
        pot = _add_center(X, weights, n, p, c, w)


# -- Lloyd with Hamerly's bounds ------------------------------------------------

cdef void _half_gaps(const double* centers, Py_ssize_t k, Py_ssize_t p,
                     double* half_gap) noexcept nogil:
    """Half the distance from each centre to the nearest other one."""
    cdef Py_ssize_t a, b
    cdef double d
    for a in range(k):
        half_gap[a] = INFINITY
    for a in range(k):
        for b in range(a + 1, k):
            d = 0.5 * sqrt(_sq_dist(centers + a * p, centers + b * p, p))
            if d < half_gap[a]:
                half_gap[a] = d
            if d < half_gap[b]:
                half_gap[b] = d


cdef Py_ssize_t _rescan(
    const floating* X, const double* weights, Py_ssize_t p, Py_ssize_t k,
    Py_ssize_t nb, Work* w, bint update_sums,
) noexcept nogil:
    """Assign the w.rows[:nb] samples to their nearest centre from scratch."""
    cdef Py_ssize_t b, i, j, a, best, n_changed = 0
    cdef double wi = 1.0
    cdef double* nearest = w.nearest
    cdef const floating* x
    _load_block(X, p, 0, nb, w.rows, w)
    skgap_sq_dists(w.XT, p, nb, w.stride, w.centers, k, w.D)
    skgap_nearest_two(w.D, k, nb, w.stride, nearest, nearest + w.stride,
                      nearest + 2 * w.stride)
    for b in range(nb):
        i = w.rows[b]
        best = <Py_ssize_t> nearest[b]
        w.upper[i] = sqrt(nearest[w.stride + b])
        w.lower[i] = _below(sqrt(nearest[2 * w.stride + b]))
        a = w.labels[i]
        if best != a:
            w.labels[i] = <int> best
            n_changed += 1
            if update_sums:
                if weights != NULL:
                    wi = weights[i]
                x = X + i * p
                w.weight_in[a] -= wi
                w.weight_in[best] += wi
                for j in range(p):
                    w.sums[a * p + j] -= wi * x[j]
                    w.sums[best * p + j] += wi * x[j]
    return n_changed


cdef Py_ssize_t _assign(
    const floating* X, const double* weights, Py_ssize_t n, Py_ssize_t p,
    Py_ssize_t k, Work* w, bint update_sums,
) noexcept nogil:
    """One assignment step: every sample to its nearest centre.

    First moves each sample's bounds by how far the centres moved since the
    last step (w.shift, w.drop); skips the samples whose bounds prove that
    their centre is still the nearest, and rescans the others a block at a
    time; moves their weighted sums (if `update_sums`). Returns the number of
    samples that changed cluster.
    """
    cdef Py_ssize_t i, a, n_changed = 0, nb = 0
    cdef double bound, upper, lower
    _half_gaps(w.centers, k, p, w.half_gap)
    for i in range(n):
        a = w.labels[i]
        upper = w.upper[i] + w.shift[a]
        lower = w.lower[i] - w.drop[a]
        w.upper[i] = upper
        w.lower[i] = _below(lower)
        bound = w.half_gap[a]
        if lower > bound:
            bound = lower
        if upper <= bound:
            continue
        if w.tighten:
            upper = sqrt(_sq_dist(X + i * p, w.centers + a * p, p))
            w.upper[i] = upper
            if upper <= bound:
                continue
        w.rows[nb] = i
        nb += 1
        if nb == w.block:
            n_changed += _rescan(X, weights, p, k, nb, w, update_sums)
            nb = 0
    if nb:
        n_changed += _rescan(X, weights, p, k, nb, w, update_sums)
    # the bounds are up to date with the centres
    memset(w.shift, 0, k * sizeof(double))
    memset(w.drop, 0, k * sizeof(double))
    return n_changed


cdef void _sum_clusters(
    const floating* X, const double* weights, Py_ssize_t n, Py_ssize_t p,
    Py_ssize_t k, Work* w,
) noexcept nogil:
    """The weighted sums and weights of the clusters, from scratch."""
    cdef Py_ssize_t i, j, a
    cdef double wi = 1.0
    memset(w.sums, 0, k * p * sizeof(double))
    memset(w.weight_in, 0, k * sizeof(double))
    for i in range(n):
        a = w.labels[i]
        if weights != NULL:
            wi = weights[i]
        w.weight_in[a] += wi
        for j in range(p):
            w.sums[a * p + j] += wi * X[i * p + j]


cdef void _new_centers(
    const floating* X, const double* weights, Py_ssize_t n, Py_ssize_t p,
    Py_ssize_t k, Work* w,
) noexcept nogil:
    """The means of the clusters into w.new_centers, empty clusters relocated.

    As scikit-learn: each empty cluster takes one of the samples farthest from
    their centres (farthest first), unless every sample sits on its centre;
    the sample stays labelled as before until the next assignment. An empty
    cluster that is not relocated sits on the heaviest cluster's mean.
    """
    cdef Py_ssize_t i, j, c, a, n_empty = 0, far, heaviest = 0, n_taken
    cdef double farthest, wi, d
    cdef double* sums = w.sums
    cdef double* weight_in = w.weight_in
    for c in range(k):
        if weight_in[c] <= 0.0:
            n_empty += 1
    if n_empty:
        # relocate on copies: w.sums and w.weight_in follow the labels
        sums = w.spare
        weight_in = w.spare + k * p
        memcpy(sums, w.sums, k * p * sizeof(double))
        memcpy(weight_in, w.weight_in, k * sizeof(double))
        n_taken = 0
        for c in range(k):
            if weight_in[c] > 0.0:
                continue
            # the farthest sample from its centre not taken yet (the first if
            # tied); recomputed per empty cluster, which is rare, rather than
            # kept: the bounds have no room for exact distances
            far = -1
            farthest = 0.0
            for i in range(n):
                d = _sq_dist(X + i * p, w.centers + w.labels[i] * p, p)
                if d > farthest and not _taken(w.mapping, n_taken, i):
                    farthest = d
                    far = i
            if far < 0:
                break  # every sample sits on its centre
            w.mapping[n_taken] = <int> far
            n_taken += 1
            a = w.labels[far]
            wi = 1.0 if weights == NULL else weights[far]
            for j in range(p):
                sums[a * p + j] -= wi * X[far * p + j]
                sums[c * p + j] = wi * X[far * p + j]
            weight_in[a] -= wi
            weight_in[c] = wi
        for i in range(n):
            w.lower[i] = 0.0  # the centres jump: no bound is known
    for c in range(k):
        if weight_in[c] > weight_in[heaviest]:
            heaviest = c
    for c in range(k):
        if weight_in[c] > 0.0:
            for j in range(p):
                w.new_centers[c * p + j] = sums[c * p + j] / weight_in[c]
    for c in range(k):
        if not weight_in[c] > 0.0:
            for j in range(p):
                w.new_centers[c * p + j] = w.new_centers[heaviest * p + j]


cdef double _inertia(
    const floating* X, const double* weights, Py_ssize_t n, Py_ssize_t p,
    const double* centers, const int* labels,
) noexcept nogil:
    cdef double total = 0.0, d
    cdef Py_ssize_t i
    for i in range(n):
        d = _sq_dist(X + i * p, centers + labels[i] * p, p)
        total += d if weights == NULL else weights[i] * d
    return total


cdef int _lloyd(
    const floating* X, const double* weights, Py_ssize_t n, Py_ssize_t p,
    Py_ssize_t k, int max_iter, double tol, Work* w,
) noexcept nogil:
    """Lloyd's iterations from w.centers.

    On entry w.labels holds each sample's nearest centre and w.upper, w.lower
    its squared distances to it and to the second nearest (as k-means++
    leaves them): the first assignment is already done. Returns the number
    of iterations run (-1 if cancelled); w.centers and w.labels hold the
    result, w.upper the squared distance of each sample to its centre.
    """
    cdef Py_ssize_t i, c, n_changed = 0
    cdef double shift_total, largest, second, d
    cdef int iteration = 0
    # The sums follow the samples that change cluster, except with tol = 0,
    # where a zero shift must be exactly zero, as scikit-learn's fresh sums.
    cdef bint update_sums = tol > 0
    cdef double* swap

    for i in range(n):
        w.upper[i] = sqrt(w.upper[i])
        w.lower[i] = _below(sqrt(w.lower[i]))
    memset(w.shift, 0, k * sizeof(double))
    memset(w.drop, 0, k * sizeof(double))
    for iteration in range(max_iter):
        if skgap_cancelled(w.cancel):
            return -1
        if iteration > 0:
            n_changed = _assign(X, weights, n, p, k, w, update_sums)
        if iteration == 0 or not update_sums:
            _sum_clusters(X, weights, n, p, k, w)
        _new_centers(X, weights, n, p, k, w)
        shift_total = 0.0
        largest = second = 0.0
        for c in range(k):
            d = _sq_dist(w.new_centers + c * p, w.centers + c * p, p)
            shift_total += d
            d = sqrt(d)
            w.shift[c] = d
            if d > largest:
                second = largest
                largest = d
            elif d > second:
                second = d
        # the bounds follow the centres at the next assignment
        for c in range(k):
            w.drop[c] = second if w.shift[c] == largest else largest
        swap = w.centers
        w.centers = w.new_centers
        w.new_centers = swap
        if iteration > 0 and n_changed == 0:
            break  # strict convergence
        if shift_total <= tol:
            break
    # Labels consistent with the final centres, from scratch: the same
    # computation as `assign`, so that the centres alone give back the labels.
    _nearest_all(X, n, p, k, w)
    return iteration + 1


cdef bint _same_clustering(const int* a, const int* b, Py_ssize_t n, Py_ssize_t k,
                           int* mapping) noexcept nogil:
    """Whether two labellings are the same partition (up to renaming)."""
    cdef Py_ssize_t i
    for i in range(k):
        mapping[i] = -1
    for i in range(n):
        if mapping[a[i]] == -1:
            mapping[a[i]] = b[i]
        elif mapping[a[i]] != b[i]:
            return False
    return True


cdef double _mean_variance(const floating* X, Py_ssize_t n, Py_ssize_t p,
                           double* mean) noexcept nogil:
    """The mean over features of the (unweighted) feature variances, in two passes."""
    cdef Py_ssize_t i, j
    cdef double d, total = 0.0
    memset(mean, 0, p * sizeof(double))
    for i in range(n):
        for j in range(p):
            mean[j] += X[i * p + j]
    for j in range(p):
        mean[j] /= n
    for i in range(n):
        for j in range(p):
            d = X[i * p + j] - mean[j]
            total += d * d
    return total / n / p


cdef void _weighted_mean(
    const floating* X, const double* weights, Py_ssize_t n, Py_ssize_t p,
    double* center,
) noexcept nogil:
    """The weighted mean of all samples (the centre of k = 1)."""
    cdef Py_ssize_t i, j
    cdef double wi = 1.0, total = 0.0
    memset(center, 0, p * sizeof(double))
    for i in range(n):
        if weights != NULL:
            wi = weights[i]
        total += wi
        for j in range(p):
            center[j] += wi * X[i * p + j]
    if total > 0:
        for j in range(p):
            center[j] /= total


cdef int _kmeans_all_k(
    const floating* X, const double* weights, Py_ssize_t n, Py_ssize_t p,
    const Py_ssize_t* ks, const uint64_t* seeds, Py_ssize_t m,
    int n_init, int max_iter, double tol,
    double* inertia_out, double* dispersion_out, int* n_iter_out,
    int* n_distinct_out, double* centers_out, int* labels_out, const int* cancel,
) noexcept nogil:
    """The body of `kmeans`: every k of one data set, best of n_init starts.

    Returns 0, -1 if the work arrays could not be allocated, or 1 if `cancel`
    was set (the outputs are then incomplete).
    """
    cdef Work w
    cdef Py_ssize_t kmax = 1, q, k, i, c, offset = 0, n_distinct
    cdef int start, n_iter, best_n_iter = 0
    cdef uint64_t rng
    cdef double inertia, best_inertia, total_weight = 0.0, abs_tol
    cdef double* per_cluster

    memset(&w, 0, sizeof(Work))
    for q in range(m):
        if ks[q] > kmax:
            kmax = ks[q]
    if _alloc(&w, n, p, kmax, n_init > 1) != 0:
        _free(&w)
        return -1
    w.cancel = cancel
    if weights != NULL:
        for i in range(n):
            total_weight += weights[i]
    abs_tol = tol * _mean_variance(X, n, p, w.dispersion) if tol > 0 else 0.0

    for q in range(m):
        k = ks[q]
        best_inertia = INFINITY
        if k == 1:
            for i in range(n):
                w.best_labels[i] = 0
            _weighted_mean(X, weights, n, p, w.best_centers)
            best_inertia = _inertia(X, weights, n, p, w.best_centers, w.best_labels)
            best_n_iter = 1
        else:
            rng = seeds[q]
            rng = _next(&rng)  # spread nearby seeds over the 64-bit states
            for start in range(n_init):
                _kmeans_plusplus(X, weights, total_weight, n, p, k, &rng, &w)
                n_iter = _lloyd(X, weights, n, p, k, max_iter, abs_tol, &w)
                if n_iter < 0 or skgap_cancelled(cancel):
                    _free(&w)
                    return 1
                inertia = 0.0  # w.upper: the squared distances to the centres
                for i in range(n):
                    inertia += w.upper[i] * (1.0 if weights == NULL else weights[i])
                # as scikit-learn: a better inertia of the same partition
                # (relabelled, rounding) does not replace the best
                if start == 0 or (
                    inertia < best_inertia
                    and not _same_clustering(w.labels, w.best_labels, n, k, w.mapping)
                ):
                    best_inertia = inertia
                    best_n_iter = n_iter
                    if w.best_labels != w.labels:
                        memcpy(w.best_labels, w.labels, n * sizeof(int))
                    memcpy(w.best_centers, w.centers, k * p * sizeof(double))
        inertia_out[q] = best_inertia
        n_iter_out[q] = best_n_iter
        memcpy(centers_out + offset * p, w.best_centers, k * p * sizeof(double))
        offset += k
        # distinct clusters of the best labels (w.mapping as a flag per cluster)
        for c in range(k):
            w.mapping[c] = 0
        n_distinct = 0
        for i in range(n):
            if w.mapping[w.best_labels[i]] == 0:
                w.mapping[w.best_labels[i]] = 1
                n_distinct += 1
        n_distinct_out[q] = <int> n_distinct
        if dispersion_out != NULL:
            per_cluster = w.dispersion + 2 * k * p + 3 * k
            squared_dispersion(X, weights, w.best_labels, n, p, k, w.dispersion,
                               per_cluster)
            dispersion_out[q] = 0.0
            for c in range(k):
                dispersion_out[q] += per_cluster[c]
        if labels_out != NULL:
            memcpy(labels_out + q * n, w.best_labels, n * sizeof(int))
    _free(&w)
    return 0


def kmeans(
    const floating[:, ::1] X,           # IN, (n_samples, n_features)
    sample_weight,                      # IN, float64 (n_samples,) or None
    const Py_ssize_t[::1] ks,           # IN, (m,) numbers of clusters, 1..n_samples
    const uint64_t[::1] seeds,          # IN, (m,) one seed per k
    int n_init,
    int max_iter,
    double tol,                         # relative, as scikit-learn's
    double[::1] inertia,                # OUT, (m,) inertia of the best start
    double[::1] dispersion,             # OUT, (m,) W_k (power 2) of its labels, or None
    int[::1] n_iter,                    # OUT, (m,) iterations of the best start
    int[::1] n_distinct,                # OUT, (m,) distinct clusters in its labels
    double[:, ::1] centers,             # OUT, (sum(ks), n_features) its centres, k by k
    int[:, ::1] labels,                 # OUT, (m, n_samples) its labels, or None
    const int[::1] cancel=None,         # IN, (1,): another thread sets it to stop
):
    """Cluster X into k clusters for every k of `ks`: the best of `n_init` starts.

    Runs without the GIL from the first start to the last. Returns True, or
    False if `cancel` was set during the call (the outputs are then
    incomplete). Raises MemoryError if the work arrays (about 16 bytes per
    sample, 20 with several starts) cannot be allocated.
    """
    cdef:
        Py_ssize_t n = X.shape[0], p = X.shape[1], m = ks.shape[0]
        const double[::1] weights_view
        const double* weights = NULL
        double* dispersion_ptr = NULL
        int* labels_ptr = NULL
        const int* cancel_ptr = NULL
        int status
    if m == 0:
        return True
    if cancel is not None:
        cancel_ptr = &cancel[0]
    if sample_weight is not None:
        weights_view = sample_weight
        weights = &weights_view[0]
    if dispersion is not None:
        dispersion_ptr = &dispersion[0]
    if labels is not None:
        labels_ptr = &labels[0, 0]
    with nogil:
        status = _kmeans_all_k(
            &X[0, 0], weights, n, p, &ks[0], &seeds[0], m, n_init, max_iter, tol,
            &inertia[0], dispersion_ptr, &n_iter[0], &n_distinct[0],
            &centers[0, 0], labels_ptr, cancel_ptr,
        )
    if status == 1:
        return False
    if status != 0:
        raise MemoryError(
            f"skgap's k-means could not allocate its work arrays for "
            f"{n} samples (about {(20 if n_init > 1 else 16) * n / 2**20:.0f} MiB)."
        )
    return True


cdef int _start_from(
    Work* w, Py_ssize_t n, Py_ssize_t p, const double* centers, Py_ssize_t k
) except -1:
    """Work arrays for one clustering of n samples, starting from `centers`."""
    memset(w, 0, sizeof(Work))
    if _alloc(w, n, p, k, False) != 0:
        _free(w)
        raise MemoryError()
    memcpy(w.centers, centers, k * p * sizeof(double))
    return 0


def assign(
    const floating[:, ::1] X,       # IN, (n_samples, n_features)
    const double[:, ::1] centers,   # IN, (k, n_features)
    int[::1] labels,                # OUT, (n_samples,)
):
    """The nearest centre of every sample (the first one if tied).

    Computed as the engine's own assignments, so that the labels of its final
    centres are those it returned.
    """
    cdef:
        Work w
        Py_ssize_t n = X.shape[0], p = X.shape[1], k = centers.shape[0]
    _start_from(&w, n, p, &centers[0, 0], k)
    with nogil:
        _nearest_all(&X[0, 0], n, p, k, &w)
        memcpy(&labels[0], w.labels, n * sizeof(int))
    _free(&w)


def lloyd(
    const floating[:, ::1] X,       # IN, (n_samples, n_features)
    sample_weight,                  # IN, float64 (n_samples,) or None
    double[:, ::1] centers,         # INOUT, (k, n_features) initial -> final centres
    int[::1] labels,                # OUT, (n_samples,)
    int max_iter,
    double tol,                     # absolute
):
    """Lloyd's iterations from given centres, for testing purpose.

    Returns the number of iterations run.
    """
    cdef:
        Work w
        Py_ssize_t n = X.shape[0], p = X.shape[1], k = centers.shape[0]
        const double[::1] weights_view
        const double* weights = NULL
        int n_iter
    if sample_weight is not None:
        weights_view = sample_weight
        weights = &weights_view[0]
    _start_from(&w, n, p, &centers[0, 0], k)
    with nogil:
        _nearest_all(&X[0, 0], n, p, k, &w)  # as k-means++ leaves them
        n_iter = _lloyd(&X[0, 0], weights, n, p, k, max_iter, tol, &w)
        memcpy(&centers[0, 0], w.centers, k * p * sizeof(double))
        memcpy(&labels[0], w.labels, n * sizeof(int))
    _free(&w)
    return n_iter
