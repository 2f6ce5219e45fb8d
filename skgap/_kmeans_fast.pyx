# Authors: The skgap developers
# SPDX-License-Identifier: BSD-3-Clause
# cython: language_level=3, boundscheck=False, wraparound=False
# cython: cdivision=True, initializedcheck=False
"""skgap's compiled k-means engine.

scikit-learn's ``KMeans(algorithm="lloyd")`` (k-means++ with 2 + log k local
trials, Lloyd's iterations, empty clusters relocated to the farthest samples,
the best of ``n_init`` starts by inertia) for every k of one data set in one
call, without the GIL. A start's result, given its initial centres, is the
same; what differs: a splitmix64 stream seeded per k; Hamerly's bounds, which
skip the samples whose nearest centre provably did not change; distances summed
in double by the vector kernels of _kmeans_simd.h, by blocks of samples; the
clusters' sums updated by the samples that change cluster (unless tol == 0).
Python validates every input (``_engine.py``); bounds checks are off.
"""

import numpy as np

from cython cimport floating
from libc.float cimport FLT_MAX
from libc.math cimport INFINITY, log, sqrt
from libc.stdint cimport uint64_t
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
    # X_block: (n_features, stride) samples feature by feature; distances:
    # (n_centers, stride) squared distances of the samples to the centres
    const int SKGAP_LANES
    const char* skgap_simd_name
    void skgap_simd_init()
    int skgap_simd_select(const char* name)
    void skgap_load_f64(const double* X, Py_ssize_t n_features, const Py_ssize_t* rows,
                        Py_ssize_t start, Py_ssize_t n_block, Py_ssize_t stride,
                        double* X_block)
    void skgap_load_f32(const float* X, Py_ssize_t n_features, const Py_ssize_t* rows,
                        Py_ssize_t start, Py_ssize_t n_block, Py_ssize_t stride,
                        double* X_block)
    void skgap_sq_dists(const double* X_block, Py_ssize_t n_features,
                        Py_ssize_t n_block, Py_ssize_t stride, const double* centers,
                        Py_ssize_t n_centers, double* distances)
    void skgap_nearest_two(const double* distances, Py_ssize_t n_centers,
                           Py_ssize_t n_block, Py_ssize_t stride, double* nearest,
                           double* nearest_distance, double* second_distance)
    void skgap_potentials(const double* distances, Py_ssize_t n_centers,
                          Py_ssize_t n_block, Py_ssize_t stride,
                          const double* closest, const double* weights,
                          double* potentials)

skgap_simd_init()


def simd():
    """The instruction set of the vector kernels in use (the widest the CPU has)."""
    return skgap_simd_name.decode()


def _use_simd(name):
    """Switch to the kernels of instruction set `name`, for testing purpose.

    Returns whether this build and CPU have them. Not thread-safe.
    """
    return skgap_simd_select(name.encode()) == 0


cdef struct Work:
    # A call's settings and work arrays (`_allocate`), sized for the largest k.
    # upper, lower (*): squared distances in k-means++ and after the final
    # assignment, bounds of the distances in Lloyd's iterations.
    Py_ssize_t n_samples, n_features
    Py_ssize_t n_clusters           # of the clustering under way
    const double* weights           # (n_samples,), or NULL for unit weights
    const int* cancel               # set by another thread to stop, or NULL
    Py_ssize_t block                # samples per block, a multiple of SKGAP_LANES
    Py_ssize_t stride               # distance between the rows of the block arrays
    bint tighten                    # recompute the upper bound before a rescan
    int* labels                     # (n_samples,) of the start under way
    int* best_labels                # (n_samples,) of the best (`labels` if n_init=1)
    double* upper                   # (n_samples,) to the sample's centre (*)
    float* lower                    # (n_samples,) to the others (*), rounded down
    double* X_block                 # (n_features, stride) a block of samples
    double* distances               # (max(n_clusters, n_trials), stride)
    double* nearest                 # (stride,) each sample's nearest centre,
    double* nearest_distance        # (stride,) its squared distance
    double* second_distance         # (stride,) that of the second nearest
    Py_ssize_t* rows                # (block,) the samples of a gathered block
    double* centers                 # (n_clusters, n_features)
    double* new_centers             # (n_clusters, n_features)
    double* best_centers            # (n_clusters, n_features) of the best start
    double* sums                    # (n_clusters, n_features) weighted sums
    double* weight_in_clusters      # (n_clusters,)
    double* relocated_sums          # (n_clusters, n_features) after a relocation
    double* relocated_weights       # (n_clusters,) after a relocation
    Py_ssize_t* relocated_samples   # (n_clusters,) the samples relocated
    double* half_gap                # (n_clusters,) to the nearest other centre
    double* shift                   # (n_clusters,) since the last assignment
    double* drop                    # (n_clusters,) the others' largest shift
    int* relabelling                # (n_clusters,) best label -> a start's label
    int* has_samples                # (n_clusters,) flags
    double* dispersion_work         # (2 n_clusters n_features + 3 n_clusters,)
    double* cluster_dispersion      # (n_clusters,)
    double* feature_means           # (n_features,)
    double* candidates              # (n_trials, n_features) k-means++ candidates
    double* potentials              # (n_trials,) the potential with each
    Py_ssize_t* candidate_samples   # (n_trials,)
    Py_ssize_t* target_order        # (n_trials,)

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

cdef inline double _sq_dist(
    const floating* x, const double* center, Py_ssize_t n_features
) noexcept nogil:
    """The squared Euclidean distance, summed in double."""
    cdef double difference, total = 0.0
    cdef Py_ssize_t j
    for j in range(n_features):
        difference = x[j] - center[j]
        total += difference * difference
    return total

cdef inline float _below(double x) noexcept nogil:
    """A float <= x (<= 0 if x < 0): x lowered by 2**-24 relative + 2**-150."""
    if x > FLT_MAX:
        return FLT_MAX
    return <float> (x * 0.99999988079071044921875 - 1.401298464324817e-45)

cdef inline double _weight(const Work* w, Py_ssize_t i) noexcept nogil:
    """The weight of sample i."""
    return 1.0 if w.weights == NULL else w.weights[i]

cdef Py_ssize_t _n_trials(Py_ssize_t n_clusters) noexcept nogil:
    """scikit-learn's number of k-means++ local trials, 2 + int(log(k))."""
    return 2 + <Py_ssize_t> log(<double> n_clusters)

cdef void _block_distances(
    const floating* X, const Py_ssize_t* rows, Py_ssize_t start, Py_ssize_t n_block,
    const double* centers, Py_ssize_t n_centers, Work* w,
) noexcept nogil:
    """Squared distances of samples start..start+n_block (of `rows` if not NULL)."""
    if floating is double:
        skgap_load_f64(X, w.n_features, rows, start, n_block, w.stride, w.X_block)
    else:
        skgap_load_f32(X, w.n_features, rows, start, n_block, w.stride, w.X_block)
    skgap_sq_dists(w.X_block, w.n_features, n_block, w.stride, centers, n_centers,
                   w.distances)

cdef void _assign_all(const floating* X, Work* w) noexcept nogil:
    """Nearest centres (first if tied); squared distances to it and the second."""
    cdef Py_ssize_t start = 0, n_block, position, i
    while start < w.n_samples:
        n_block = min(w.block, w.n_samples - start)
        _block_distances(X, NULL, start, n_block, w.centers, w.n_clusters, w)
        skgap_nearest_two(w.distances, w.n_clusters, n_block, w.stride, w.nearest,
                          w.nearest_distance, w.second_distance)
        for position in range(n_block):
            i = start + position
            w.labels[i] = <int> w.nearest[position]
            w.upper[i] = w.nearest_distance[position]
            w.lower[i] = _below(w.second_distance[position])
        start += w.block

# -- k-means++ ---------------------------------------------------------------

cdef void _search_cumulative(
    const double* weights, const double* closest, Py_ssize_t n_samples,
    const double* targets, Py_ssize_t n_targets, Py_ssize_t* found,
    Py_ssize_t* order,
) noexcept nogil:
    """searchsorted(cumsum(weights * closest), targets), clipped; targets sorted."""
    cdef double total = 0.0
    cdef Py_ssize_t i, t, a, swap
    for t in range(n_targets):  # an insertion sort (a few targets)
        order[t] = t
        a = t
        while a > 0 and targets[order[a - 1]] > targets[order[a]]:
            swap = order[a - 1]
            order[a - 1] = order[a]
            order[a] = swap
            a -= 1
    t = 0
    for i in range(n_samples):
        if closest == NULL:
            total += weights[i]
        elif weights == NULL:
            total += closest[i]
        else:
            total += weights[i] * closest[i]
        while t < n_targets and total >= targets[order[t]]:
            found[order[t]] = i
            t += 1
        if t == n_targets:
            return
    while t < n_targets:
        found[order[t]] = n_samples - 1
        t += 1

cdef double _add_center(const floating* X, Py_ssize_t c, Work* w) noexcept nogil:
    """Take centre c: each sample's nearest and second nearest; the potential."""
    cdef Py_ssize_t start = 0, n_block, position, i
    cdef double distance, potential = 0.0
    while start < w.n_samples:
        n_block = min(w.block, w.n_samples - start)
        _block_distances(X, NULL, start, n_block, w.centers + c * w.n_features, 1, w)
        for position in range(n_block):
            i = start + position
            distance = w.distances[position]
            if c == 0:
                w.upper[i] = distance
                w.lower[i] = INFINITY
                w.labels[i] = 0
            elif distance < w.upper[i]:
                w.lower[i] = _below(w.upper[i])
                w.upper[i] = distance
                w.labels[i] = <int> c
            elif distance < w.lower[i]:
                w.lower[i] = _below(distance)
            potential += w.upper[i] if w.weights == NULL else w.weights[i] * w.upper[i]
        start += w.block
    return potential

cdef void _kmeans_plusplus(
    const floating* X, double total_weight, uint64_t* rng, Work* w,
) noexcept nogil:
    """Greedy k-means++ into w.centers; w.labels, w.upper, w.lower as `_assign_all`."""
    cdef Py_ssize_t n_samples = w.n_samples, n_features = w.n_features
    cdef Py_ssize_t n_trials = _n_trials(w.n_clusters), c, t, j, best, start, n_block
    cdef double potential, target
    target = _uniform(rng) * (n_samples if w.weights == NULL else total_weight)
    if w.weights == NULL:
        best = min(<Py_ssize_t> target, n_samples - 1)
    else:
        _search_cumulative(w.weights, NULL, n_samples, &target, 1, &best,
                           w.target_order)
    for j in range(n_features):
        w.centers[j] = X[best * n_features + j]
    potential = _add_center(X, 0, w)
    for c in range(1, w.n_clusters):
        if skgap_cancelled(w.cancel):
            return
        for t in range(n_trials):
            w.potentials[t] = _uniform(rng) * potential
        _search_cumulative(w.weights, w.upper, n_samples, w.potentials, n_trials,
                           w.candidate_samples, w.target_order)
        for t in range(n_trials):
            for j in range(n_features):
                w.candidates[t * n_features + j] = X[
                    w.candidate_samples[t] * n_features + j]
            w.potentials[t] = 0.0
        start = 0
        while start < n_samples:
            n_block = min(w.block, n_samples - start)
            _block_distances(X, NULL, start, n_block, w.candidates, n_trials, w)
            skgap_potentials(w.distances, n_trials, n_block, w.stride, w.upper + start,
                             NULL if w.weights == NULL else w.weights + start,
                             w.potentials)
            start += w.block
        best = 0
        for t in range(1, n_trials):
            if w.potentials[t] < w.potentials[best]:
                best = t
        for j in range(n_features):
            w.centers[c * n_features + j] = w.candidates[best * n_features + j]
        potential = _add_center(X, c, w)

# -- Lloyd's iterations with Hamerly's bounds ----------------------------------

cdef void _half_gaps(Work* w) noexcept nogil:
    """Half the distance from each centre to the nearest other one."""
    cdef Py_ssize_t a, c, n_features = w.n_features
    cdef double half
    for a in range(w.n_clusters):
        w.half_gap[a] = INFINITY
    for a in range(w.n_clusters):
        for c in range(a + 1, w.n_clusters):
            half = 0.5 * sqrt(_sq_dist(w.centers + a * n_features,
                                       w.centers + c * n_features, n_features))
            w.half_gap[a] = min(w.half_gap[a], half)
            w.half_gap[c] = min(w.half_gap[c], half)

cdef Py_ssize_t _rescan(
    const floating* X, Py_ssize_t n_block, bint update_sums, Work* w,
) noexcept nogil:
    """Assign w.rows[:n_block] from scratch; returns how many changed cluster."""
    cdef Py_ssize_t position, i, j, old, new, n_changed = 0
    cdef Py_ssize_t n_features = w.n_features
    cdef double weight
    cdef const floating* x
    _block_distances(X, w.rows, 0, n_block, w.centers, w.n_clusters, w)
    skgap_nearest_two(w.distances, w.n_clusters, n_block, w.stride, w.nearest,
                      w.nearest_distance, w.second_distance)
    for position in range(n_block):
        i = w.rows[position]
        new = <Py_ssize_t> w.nearest[position]
        w.upper[i] = sqrt(w.nearest_distance[position])
        w.lower[i] = _below(sqrt(w.second_distance[position]))
        old = w.labels[i]
        if new == old:
            continue
        w.labels[i] = <int> new
        n_changed += 1
        if update_sums:
            weight = _weight(w, i)
            x = X + i * n_features
            w.weight_in_clusters[old] -= weight
            w.weight_in_clusters[new] += weight
            for j in range(n_features):
                w.sums[old * n_features + j] -= weight * x[j]
                w.sums[new * n_features + j] += weight * x[j]
    return n_changed

cdef Py_ssize_t _assign(const floating* X, bint update_sums, Work* w) noexcept nogil:
    """Each sample to its nearest centre (rescans if bounds fail); how many moved."""
    cdef Py_ssize_t i, label, n_changed = 0, n_block = 0
    cdef double bound, upper, lower
    _half_gaps(w)
    for i in range(w.n_samples):
        label = w.labels[i]
        upper = w.upper[i] + w.shift[label]
        lower = w.lower[i] - w.drop[label]
        w.upper[i] = upper
        w.lower[i] = _below(lower)
        bound = max(w.half_gap[label], lower)
        if upper <= bound:
            continue
        if w.tighten:
            upper = sqrt(_sq_dist(X + i * w.n_features,
                                  w.centers + label * w.n_features, w.n_features))
            w.upper[i] = upper
            if upper <= bound:
                continue
        w.rows[n_block] = i
        n_block += 1
        if n_block == w.block:
            n_changed += _rescan(X, n_block, update_sums, w)
            n_block = 0
    if n_block:
        n_changed += _rescan(X, n_block, update_sums, w)
    return n_changed

cdef void _sum_clusters(const floating* X, Work* w) noexcept nogil:
    """The weighted sums and the weights of the clusters, from scratch."""
    cdef Py_ssize_t i, j, label, n_features = w.n_features
    cdef double weight
    memset(w.sums, 0, w.n_clusters * n_features * sizeof(double))
    memset(w.weight_in_clusters, 0, w.n_clusters * sizeof(double))
    for i in range(w.n_samples):
        label = w.labels[i]
        weight = _weight(w, i)
        w.weight_in_clusters[label] += weight
        for j in range(n_features):
            w.sums[label * n_features + j] += weight * X[i * n_features + j]

cdef bint _relocate_empty_clusters(const floating* X, Work* w) noexcept nogil:
    """Give each empty cluster a sample, as scikit-learn; returns whether any.

    The farthest samples from their centres, farthest first (none if all sit
    on their centres), keeping their labels until the next assignment; into
    w.relocated_sums and w.relocated_weights, since w.sums follow the labels.
    """
    cdef Py_ssize_t i, j, c, r, old, far, n_relocated = 0
    cdef Py_ssize_t n_features = w.n_features, n_clusters = w.n_clusters
    cdef double farthest, weight, distance
    for c in range(n_clusters):
        if w.weight_in_clusters[c] <= 0.0:
            break
    else:
        return False
    memcpy(w.relocated_sums, w.sums, n_clusters * n_features * sizeof(double))
    memcpy(w.relocated_weights, w.weight_in_clusters, n_clusters * sizeof(double))
    for c in range(n_clusters):
        if w.relocated_weights[c] > 0.0:
            continue
        far = -1  # recomputed per empty cluster, which is rare
        farthest = 0.0
        for i in range(w.n_samples):
            distance = _sq_dist(X + i * n_features,
                                w.centers + w.labels[i] * n_features, n_features)
            if distance > farthest:
                for r in range(n_relocated):
                    if w.relocated_samples[r] == i:
                        break  # relocated already
                else:
                    farthest = distance
                    far = i
        if far < 0:
            break  # every sample sits on its centre
        w.relocated_samples[n_relocated] = far
        n_relocated += 1
        old = w.labels[far]
        weight = _weight(w, far)
        for j in range(n_features):
            w.relocated_sums[old * n_features + j] -= weight * X[far * n_features + j]
            w.relocated_sums[c * n_features + j] = weight * X[far * n_features + j]
        w.relocated_weights[old] -= weight
        w.relocated_weights[c] = weight
    for i in range(w.n_samples):
        w.lower[i] = 0.0  # the centres jump: no bound is known
    return True

cdef void _average_centers(const double* sums, const double* weights, Work* w
                           ) noexcept nogil:
    """The clusters' means into w.new_centers; the heaviest's if no weight."""
    cdef Py_ssize_t c, j, heaviest = 0, n_features = w.n_features
    for c in range(w.n_clusters):
        if weights[c] > weights[heaviest]:
            heaviest = c
    for c in range(w.n_clusters):
        if weights[c] > 0.0:
            for j in range(n_features):
                w.new_centers[c * n_features + j] = (
                    sums[c * n_features + j] / weights[c])
    for c in range(w.n_clusters):
        if not weights[c] > 0.0:
            for j in range(n_features):
                w.new_centers[c * n_features + j] = w.new_centers[
                    heaviest * n_features + j]

cdef double _center_shift(Work* w) noexcept nogil:
    """Sum of the squared shifts to w.new_centers; w.shift, w.drop for the bounds."""
    cdef Py_ssize_t c, n_features = w.n_features
    cdef double total = 0.0, largest = 0.0, second = 0.0, squared, shift
    for c in range(w.n_clusters):
        squared = _sq_dist(w.new_centers + c * n_features,
                           w.centers + c * n_features, n_features)
        total += squared
        shift = sqrt(squared)
        w.shift[c] = shift
        if shift > largest:
            second = largest
            largest = shift
        elif shift > second:
            second = shift
    for c in range(w.n_clusters):
        w.drop[c] = second if w.shift[c] == largest else largest
    return total

cdef int _lloyd(const floating* X, int max_iter, double tol, Work* w) noexcept nogil:
    """Lloyd's iterations from w.centers; the number run, or -1 if cancelled.

    Starts and ends with w.labels, w.upper, w.lower as `_assign_all` sets them.
    """
    cdef Py_ssize_t i, n_changed = 0
    cdef int iteration = 0
    # With tol = 0, a zero shift must be exactly zero: fresh sums.
    cdef bint update_sums = tol > 0
    cdef double* swap
    for i in range(w.n_samples):
        w.upper[i] = sqrt(w.upper[i])
        w.lower[i] = _below(sqrt(w.lower[i]))
    for iteration in range(max_iter):
        if skgap_cancelled(w.cancel):
            return -1
        if iteration > 0:
            n_changed = _assign(X, update_sums, w)
        if iteration == 0 or not update_sums:
            _sum_clusters(X, w)
        if _relocate_empty_clusters(X, w):
            _average_centers(w.relocated_sums, w.relocated_weights, w)
        else:
            _average_centers(w.sums, w.weight_in_clusters, w)
        shift = _center_shift(w)
        swap = w.centers
        w.centers = w.new_centers
        w.new_centers = swap
        if (iteration > 0 and n_changed == 0) or shift <= tol:
            break
    _assign_all(X, w)  # as `assign`: the centres alone give back the labels
    return iteration + 1

# -- The best start of every k ---------------------------------------------------

cdef double _tolerance(const floating* X, double tol, Work* w) noexcept nogil:
    """`tol` times the mean of the (unweighted) feature variances, in two passes."""
    cdef Py_ssize_t i, j, n_samples = w.n_samples, n_features = w.n_features
    cdef double difference, total = 0.0
    if tol <= 0:
        return 0.0
    memset(w.feature_means, 0, n_features * sizeof(double))
    for i in range(n_samples):
        for j in range(n_features):
            w.feature_means[j] += X[i * n_features + j]
    for j in range(n_features):
        w.feature_means[j] /= n_samples
    for i in range(n_samples):
        for j in range(n_features):
            difference = X[i * n_features + j] - w.feature_means[j]
            total += difference * difference
    return tol * (total / n_samples / n_features)

cdef double _inertia(const Work* w) noexcept nogil:
    """The weighted sum of w.upper, the squared distances to the centres."""
    cdef double total = 0.0
    cdef Py_ssize_t i
    for i in range(w.n_samples):
        total += w.upper[i] * _weight(w, i)
    return total

cdef bint _same_clustering(const int* labels, const int* other, Work* w
                           ) noexcept nogil:
    """Whether two labellings are the same partition (up to renaming)."""
    cdef Py_ssize_t i
    for i in range(w.n_clusters):
        w.relabelling[i] = -1
    for i in range(w.n_samples):
        if w.relabelling[labels[i]] == -1:
            w.relabelling[labels[i]] = other[i]
        elif w.relabelling[labels[i]] != other[i]:
            return False
    return True

cdef int _one_cluster(const floating* X, Work* w) noexcept nogil:
    """k = 1 as Lloyd leaves it: the weighted mean; one iteration."""
    cdef Py_ssize_t i
    memset(w.labels, 0, w.n_samples * sizeof(int))
    _sum_clusters(X, w)
    _average_centers(w.sums, w.weight_in_clusters, w)
    memcpy(w.centers, w.new_centers, w.n_features * sizeof(double))
    for i in range(w.n_samples):
        w.upper[i] = _sq_dist(X + i * w.n_features, w.centers, w.n_features)
    return 1

cdef int _best_start(
    const floating* X, uint64_t seed, int n_init, int max_iter, double tol,
    double total_weight, double* inertia, int* n_iter, Work* w,
) noexcept nogil:
    """The best of `n_init` starts, its inertia and n_iter; 1 if cancelled, or 0."""
    cdef uint64_t rng = seed
    cdef int init, start_n_iter
    cdef double start_inertia
    rng = _next(&rng)  # spread nearby seeds over the 64-bit states
    for init in range(n_init if w.n_clusters > 1 else 1):
        if w.n_clusters == 1:
            start_n_iter = _one_cluster(X, w)
        else:
            _kmeans_plusplus(X, total_weight, &rng, w)
            start_n_iter = _lloyd(X, max_iter, tol, w)
        if start_n_iter < 0 or skgap_cancelled(w.cancel):
            return 1
        start_inertia = _inertia(w)
        # as scikit-learn: a better inertia of the same partition (relabelled,
        # rounding) does not replace the best
        if init == 0 or (start_inertia < inertia[0]
                         and not _same_clustering(w.labels, w.best_labels, w)):
            inertia[0] = start_inertia
            n_iter[0] = start_n_iter
            if w.best_labels != w.labels:
                memcpy(w.best_labels, w.labels, w.n_samples * sizeof(int))
            memcpy(w.best_centers, w.centers,
                   w.n_clusters * w.n_features * sizeof(double))
    return 0

# -- Python entry points -----------------------------------------------------------

cdef void* _new(list arrays, Py_ssize_t size, dtype) except NULL:
    """The data of a new NumPy array of `size` items, appended to `arrays`."""
    array = np.empty(max(size, 1), dtype=dtype)
    arrays.append(array)
    cdef unsigned char[::1] data = array.view(np.uint8)
    return &data[0]

cdef list _allocate(
    Work* w, Py_ssize_t n_samples, Py_ssize_t n_features, sample_weight,
    Py_ssize_t max_clusters, bint several_starts, cancel,
):
    """Set up `w` for up to `max_clusters`; its arrays (16-20 bytes a sample)."""
    cdef Py_ssize_t n_trials = _n_trials(max_clusters), block, size
    cdef Py_ssize_t per_cluster = max_clusters * n_features
    cdef const double[::1] weights
    cdef const int[::1] cancel_flag
    arrays = []
    memset(w, 0, sizeof(Work))
    w.n_samples, w.n_features = n_samples, n_features
    if sample_weight is not None:
        weights = sample_weight
        w.weights = &weights[0]
    if cancel is not None:
        cancel_flag = cancel
        w.cancel = &cancel_flag[0]
    # a block's features and distances take a few tens of KiB
    block = min(8192 // n_features, 65536 // max_clusters)
    w.block = max(min(block - block % SKGAP_LANES, 256), SKGAP_LANES)
    w.stride = w.block + 8  # the rows of a block array in different cache sets
    # a tighter upper bound saves a rescan if one distance is cheap: narrow data
    w.tighten = n_features <= 3
    w.labels = <int*> _new(arrays, n_samples, np.intc)
    w.best_labels = w.labels  # with one start, its labels are the best
    if several_starts:
        w.best_labels = <int*> _new(arrays, n_samples, np.intc)
    w.upper = <double*> _new(arrays, n_samples, np.float64)
    w.lower = <float*> _new(arrays, n_samples, np.float32)
    w.X_block = <double*> _new(arrays, n_features * w.stride, np.float64)
    size = max(max_clusters, n_trials) * w.stride
    w.distances = <double*> _new(arrays, size, np.float64)
    w.nearest = <double*> _new(arrays, w.stride, np.float64)
    w.nearest_distance = <double*> _new(arrays, w.stride, np.float64)
    w.second_distance = <double*> _new(arrays, w.stride, np.float64)
    w.rows = <Py_ssize_t*> _new(arrays, w.block, np.intp)
    w.centers = <double*> _new(arrays, per_cluster, np.float64)
    w.new_centers = <double*> _new(arrays, per_cluster, np.float64)
    w.best_centers = <double*> _new(arrays, per_cluster, np.float64)
    w.sums = <double*> _new(arrays, per_cluster, np.float64)
    w.weight_in_clusters = <double*> _new(arrays, max_clusters, np.float64)
    w.relocated_sums = <double*> _new(arrays, per_cluster, np.float64)
    w.relocated_weights = <double*> _new(arrays, max_clusters, np.float64)
    w.relocated_samples = <Py_ssize_t*> _new(arrays, max_clusters, np.intp)
    w.half_gap = <double*> _new(arrays, max_clusters, np.float64)
    w.shift = <double*> _new(arrays, max_clusters, np.float64)
    w.drop = <double*> _new(arrays, max_clusters, np.float64)
    w.relabelling = <int*> _new(arrays, max_clusters, np.intc)
    w.has_samples = <int*> _new(arrays, max_clusters, np.intc)
    size = 2 * per_cluster + 3 * max_clusters
    w.dispersion_work = <double*> _new(arrays, size, np.float64)
    w.cluster_dispersion = <double*> _new(arrays, max_clusters, np.float64)
    w.feature_means = <double*> _new(arrays, n_features, np.float64)
    w.candidates = <double*> _new(arrays, n_trials * n_features, np.float64)
    w.potentials = <double*> _new(arrays, n_trials, np.float64)
    w.candidate_samples = <Py_ssize_t*> _new(arrays, n_trials, np.intp)
    w.target_order = <Py_ssize_t*> _new(arrays, n_trials, np.intp)
    return arrays


def kmeans(
    const floating[:, ::1] X,           # IN, (n_samples, n_features)
    sample_weight,                      # IN, float64 (n_samples,) or None
    const Py_ssize_t[::1] ks,           # IN, (n_ks,) numbers of clusters, 1..n_samples
    const uint64_t[::1] seeds,          # IN, (n_ks,) one seed per k
    int n_init,
    int max_iter,
    double tol,                         # relative, as scikit-learn's
    double[::1] inertia,                # OUT, (n_ks,) inertia of the best start
    double[::1] dispersion,             # OUT, (n_ks,) W_k (power 2) of them, or None
    int[::1] n_iter,                    # OUT, (n_ks,) iterations of the best start
    int[::1] n_distinct,                # OUT, (n_ks,) distinct clusters in its labels
    double[:, ::1] centers,             # OUT, (sum(ks), n_features) its centres, k by k
    int[:, ::1] labels,                 # OUT, (n_ks, n_samples) its labels, or None
    const int[::1] cancel=None,         # IN, (1,): another thread sets it to stop
):
    """Cluster X into k clusters for every k of `ks`: the best of `n_init` starts.

    Runs without the GIL from the first start to the last. Returns True, or
    False if `cancel` was set during the call (the outputs are then incomplete).
    """
    cdef:
        Work w
        Py_ssize_t index, i, c, max_clusters = 1, first_center = 0
        double total_weight = 0.0, absolute_tol
        bint cancelled = False
    if ks.shape[0] == 0:
        return True
    for index in range(ks.shape[0]):
        max_clusters = max(max_clusters, ks[index])
    _arrays = _allocate(&w, X.shape[0], X.shape[1], sample_weight, max_clusters,
                        n_init > 1, cancel)  # kept until the call returns
    with nogil:
        absolute_tol = _tolerance(&X[0, 0], tol, &w)
        for i in range(w.n_samples):
            total_weight += _weight(&w, i)
        for index in range(ks.shape[0]):
            w.n_clusters = ks[index]
            if _best_start(&X[0, 0], seeds[index], n_init, max_iter, absolute_tol,
                           total_weight, &inertia[index], &n_iter[index], &w) != 0:
                cancelled = True
                break
            memcpy(&centers[first_center, 0], w.best_centers,
                   w.n_clusters * w.n_features * sizeof(double))
            first_center += w.n_clusters
            memset(w.has_samples, 0, w.n_clusters * sizeof(int))
            n_distinct[index] = 0
            for i in range(w.n_samples):
                if not w.has_samples[w.best_labels[i]]:
                    w.has_samples[w.best_labels[i]] = 1
                    n_distinct[index] += 1
            if dispersion is not None:
                squared_dispersion(&X[0, 0], w.weights, w.best_labels, w.n_samples,
                                   w.n_features, w.n_clusters, w.dispersion_work,
                                   w.cluster_dispersion)
                dispersion[index] = 0.0
                for c in range(w.n_clusters):
                    dispersion[index] += w.cluster_dispersion[c]
            if labels is not None:
                memcpy(&labels[index, 0], w.best_labels, w.n_samples * sizeof(int))
    return not cancelled


def lloyd(
    const floating[:, ::1] X,       # IN, (n_samples, n_features)
    sample_weight,                  # IN, float64 (n_samples,) or None
    double[:, ::1] centers,         # INOUT, (n_clusters, n_features) initial -> final
    int[::1] labels,                # OUT, (n_samples,)
    int max_iter,                   # 0: the labels of `centers` alone
    double tol,                     # absolute
):
    """Lloyd's iterations from given centres (for testing purpose); their number."""
    cdef Work w
    cdef int n_iter = 0
    _arrays = _allocate(&w, X.shape[0], X.shape[1], sample_weight, centers.shape[0],
                        False, None)
    w.n_clusters = centers.shape[0]
    with nogil:
        memcpy(w.centers, &centers[0, 0], w.n_clusters * w.n_features * sizeof(double))
        _assign_all(&X[0, 0], &w)  # as k-means++ leaves them
        if max_iter > 0:
            n_iter = _lloyd(&X[0, 0], max_iter, tol, &w)
        memcpy(&centers[0, 0], w.centers, w.n_clusters * w.n_features * sizeof(double))
        memcpy(&labels[0], w.labels, w.n_samples * sizeof(int))
    return n_iter


def assign(X, centers, labels):
    """The nearest centre of every sample (the first if tied) into `labels`.

    The engine's final assignment, so that its centres alone give its labels.
    X is (n_samples, n_features), `centers` float64 (n_clusters, n_features).
    """
    lloyd(X, None, np.array(centers, dtype=np.float64), labels, 0, 0.0)
