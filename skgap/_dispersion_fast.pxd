# Authors: The skgap developers
# SPDX-License-Identifier: BSD-3-Clause
# The W_k kernel that the compiled k-means engine (_kmeans_fast.pyx) calls
# without the GIL on the labels of its best start.

from cython cimport floating


cdef void squared_dispersion(
    const floating* X,          # IN, (n_samples, n_features), C order
    const double* weights,      # IN, (n_samples,) or NULL for unit weights
    const int* labels,          # IN, (n_samples,), in [0, n_clusters)
    Py_ssize_t n_samples,
    Py_ssize_t n_features,
    Py_ssize_t n_clusters,
    double* work,               # (2 * n_clusters * n_features + 3 * n_clusters,)
    double* out,                # OUT, (n_clusters,)
) noexcept nogil
