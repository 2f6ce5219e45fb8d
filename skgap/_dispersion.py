"""The within-cluster dispersion W_k of the gap statistic."""

from numbers import Real

import numpy as np
from sklearn.utils import check_array

from ._dispersion_fast import _pairwise_dispersion, _squared_dispersion
from ._utils import Interval, validate_params
from ._validation import _explain_input_errors, check_labels

__all__ = ["within_cluster_dispersion"]


def _compact_labels(labels):
    """Labels as C ints in [0, n_clusters) and n_clusters (empty clusters allowed).

    `labels` are non-negative integers; only if the largest one is at least the
    number of samples are they renumbered, so that the work arrays stay O(n).
    """
    n_samples = labels.shape[0]
    n_clusters = int(labels.max()) + 1 if n_samples else 0
    if n_clusters > n_samples:
        uniques, labels = np.unique(labels, return_inverse=True)
        n_clusters = uniques.shape[0]
    return np.ascontiguousarray(labels, dtype=np.intc), n_clusters


def _dispersion(X, labels, power=2.0, sample_weight=None, name="X"):
    """W_k of SPEC section 1 for validated inputs.

    `X` is a C-contiguous float32/float64 array of finite values, `labels` a
    1-D array of non-negative integers of the same length and `sample_weight`
    None or a float64 array of non-negative weights. Used by the fit loop,
    which has already validated them; `name` says what X is in errors.
    """
    labels, n_clusters = _compact_labels(labels)
    per_cluster = np.zeros(n_clusters, dtype=np.float64)
    if power == 2.0:
        _squared_dispersion(X, labels, sample_weight, per_cluster)
    else:
        order = np.argsort(labels, kind="stable")
        offsets = np.zeros(n_clusters + 1, dtype=np.intp)
        np.cumsum(np.bincount(labels, minlength=n_clusters), out=offsets[1:])
        _pairwise_dispersion(
            np.take(X, order, axis=0),
            offsets,
            None if sample_weight is None else sample_weight[order],
            float(power),
            per_cluster,
        )
    dispersion = float(per_cluster.sum())
    if not np.isfinite(dispersion):
        cause = (
            f"the distances of {name} raised to power={power:g} cannot be "
            "represented. Use a smaller power, or rescale X"
            if power > 2.0
            else f"{name} is too large in magnitude for its squared distances to "
            "be represented. Rescale X, e.g. with sklearn.preprocessing.StandardScaler"
        )
        raise ValueError(
            f"The within-cluster dispersion overflowed to infinity: {cause}."
        )
    if dispersion < np.finfo(np.float64).tiny and X.shape[0]:
        # 0 is exact only if every cluster is one repeated point; otherwise the
        # squared distances underflowed (or the result is subnormal, imprecise).
        first = np.zeros(n_clusters, dtype=np.intp)
        first[labels[::-1]] = np.arange(labels.shape[0])[::-1]
        if np.any(X != X[first[labels]]):
            raise ValueError(
                f"The within-cluster dispersion underflowed: the distances between "
                f"the samples of {name} are too small for their squares to be "
                "represented in float64. Rescale X, e.g. with "
                "sklearn.preprocessing.StandardScaler."
            )
    return dispersion


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "labels": ["array-like"],
        "power": [Interval(Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def within_cluster_dispersion(X, labels, *, power=2.0):
    """Within-cluster dispersion W_k of a partition, as in the gap statistic.

    Read more in the :ref:`User Guide <dispersion>`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data. float32 data are summed in float64.

    labels : array-like of shape (n_samples,)
        Non-negative integer cluster label of each sample. Labels need not be
        consecutive; a label with no sample is an empty cluster and adds 0.

    power : float, default=2.0
        Exponent applied to the Euclidean distance (R's ``d.power``).

    Returns
    -------
    dispersion : float
        ``W_k = sum_r 1 / (2 n_r) * sum_{i, j in C_r} d(x_i, x_j) ** power``,
        the sum running over all ordered pairs of samples of cluster r.

    Raises
    ------
    ValueError
        If X has NaN or infinite values, if `labels` has the wrong length or
        negative values, or if the dispersion overflows or underflows float64
        (values near 1e+-150 and beyond: rescale X).

    TypeError
        If X is sparse, or `labels` are not numbers.

    See Also
    --------
    GapKMeans : Uses this dispersion for the data and every reference.

    Notes
    -----
    With ``power=2`` this is the within-cluster sum of squares about the
    cluster means (the inertia of k-means for the same labels) and costs
    O(n_samples * n_features), computed in two passes (the means, then the
    deviations) with a blocked two-level sum. Any other power sums over the pairs of
    each cluster, in O(sum_r n_r^2 * n_features) time and O(n_samples *
    n_features) memory.

    R's ``cluster::clusGap`` counts each pair once, so its W_k is half of this
    value.

    References
    ----------
    .. [1] Tibshirani, R., Walther, G. and Hastie, T. (2001). Estimating the
       number of clusters in a data set via the gap statistic. Journal of the
       Royal Statistical Society B, 63(2), 411-423.
       :doi:`10.1111/1467-9868.00293`

    Examples
    --------
    >>> from skgap import within_cluster_dispersion
    >>> X = [[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 4.0]]
    >>> within_cluster_dispersion(X, [0, 0, 1, 1])
    10.0
    >>> within_cluster_dispersion(X, [0, 0, 1, 1], power=1.0)
    3.0
    """
    with _explain_input_errors(X):
        X = check_array(X, dtype=[np.float64, np.float32], order="C", input_name="X")
    labels = check_labels(labels, X.shape[0])
    return _dispersion(X, labels, power)
