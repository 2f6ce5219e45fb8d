"""The within-cluster dispersion W_k of the gap statistic."""

from numbers import Real

import numpy as np
from sklearn.metrics import pairwise_distances
from sklearn.utils import check_array

from ._dispersion_fast import _pairwise_dispersion, _squared_dispersion
from ._docstrings import fill_doc
from ._utils import METRICS, Interval, StrOptions, validate_params
from ._validation import _explain_input_errors, check_labels, check_sample_weight
from .exceptions import InvalidInputError

__all__ = ["within_cluster_dispersion"]


def _metric_dispersion(X, labels, power, sample_weight, metric, params, out):
    """Per cluster, 1/(2 w_r) times the weighted sum of d(x_i, x_j) ** power.

    Any metric of :func:`sklearn.metrics.pairwise_distances`: the pairs of
    each cluster are summed a block of rows at a time (never more than
    `_BLOCK_VALUES` distances at once, nor an n x n matrix).
    """
    order = np.argsort(labels, kind="stable")
    offsets = np.zeros(out.shape[0] + 1, dtype=np.intp)
    np.cumsum(np.bincount(labels, minlength=out.shape[0]), out=offsets[1:])
    for r in range(out.shape[0]):
        rows = order[offsets[r] : offsets[r + 1]]
        if rows.shape[0] < 2:
            continue
        members = X[rows]
        weights = None if sample_weight is None else sample_weight[rows]
        block = max(1, _BLOCK_VALUES // rows.shape[0])
        total = 0.0
        for start in range(0, rows.shape[0], block):
            distances = np.asarray(
                pairwise_distances(
                    members[start : start + block], members, metric=metric, **params
                ),
                dtype=np.float64,
            )
            # a sample's distance to itself is 0, which some metrics round
            # (cosine: 1e-16), and a power < 1 would make it count
            diagonal = np.arange(distances.shape[0])
            distances[diagonal, start + diagonal] = 0.0
            if power != 1.0:
                np.power(distances, power, out=distances)
            if weights is None:
                total += distances.sum()
            else:
                total += weights[start : start + block] @ distances @ weights
        size = rows.shape[0] if weights is None else weights.sum()
        out[r] = total / (2.0 * size) if size > 0 else 0.0


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


# Distances computed at a time by the blocked sum of other metrics (8 MB).
_BLOCK_VALUES = 1 << 20


def _dispersion(
    X,
    labels,
    power=2.0,
    sample_weight=None,
    name="X",
    metric="euclidean",
    metric_params=None,
):
    """W_k of SPEC section 1 for validated inputs.

    `X` is a C-contiguous float32/float64 array of finite values, `labels` a
    1-D array of non-negative integers of the same length and `sample_weight`
    None or a float64 array of non-negative weights. Used by the fit loop,
    which has already validated them; `name` says what X is in errors.
    """
    labels, n_clusters = _compact_labels(labels)
    per_cluster = np.zeros(n_clusters, dtype=np.float64)
    if metric not in ("euclidean", "l2"):
        _metric_dispersion(
            X, labels, power, sample_weight, metric, metric_params or {}, per_cluster
        )
        if np.any(np.isnan(per_cluster)):
            raise InvalidInputError(
                f"The metric {getattr(metric, '__name__', metric)!r} gave NaN "
                f"distances between samples of {name} (e.g. 'correlation' or "
                "'cosine' of a constant or zero sample): W_k is undefined. Use "
                "another metric, or drop those samples."
            )
    elif power == 2.0:
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
        raise InvalidInputError(
            f"The within-cluster dispersion overflowed to infinity: {cause}."
        )
    euclidean = metric in ("euclidean", "l2")
    if euclidean and dispersion < np.finfo(np.float64).tiny and X.shape[0]:
        # 0 is exact only if, in every cluster, the samples that weigh something
        # are one repeated point; otherwise the squared distances underflowed
        # (or the result is subnormal, imprecise). Other metrics can put
        # distinct points at distance 0 (cosine: x and 2x).
        keep = slice(None) if sample_weight is None else sample_weight > 0
        X_kept, labels_kept = X[keep], labels[keep]
        first = np.zeros(n_clusters, dtype=np.intp)
        first[labels_kept[::-1]] = np.arange(labels_kept.shape[0])[::-1]
        if np.any(X_kept != X_kept[first[labels_kept]]):
            raise InvalidInputError(
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
        "metric": [StrOptions(set(METRICS)), callable],
        "metric_params": [dict, None],
        "sample_weight": ["array-like", Real, None],
    },
    prefer_skip_nested_validation=True,
)
@fill_doc
def within_cluster_dispersion(
    X, labels, *, power=2.0, metric="euclidean", metric_params=None, sample_weight=None
):
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
        Exponent applied to the distance (R's ``d.power``).

    metric : str or callable, default='euclidean'
        The distance d: any metric that
        :func:`sklearn.metrics.pairwise_distances` accepts (``'cityblock'``,
        ``'cosine'``, ``'correlation'``, ``'minkowski'``, ...) or a callable
        of two 1-D arrays.

        .. versionadded:: 0.2

    metric_params : dict, default=None
        Keyword arguments of the metric, e.g. ``{"p": 3}`` for
        ``'minkowski'``.

        .. versionadded:: 0.2

    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights: an integer weight counts as that many copies of
        the sample. ``None`` weighs every sample 1.

        .. versionadded:: 0.2

    Returns
    -------
    dispersion : float
        ``W_k = sum_r 1 / (2 w_r) * sum_{i, j in C_r} w_i w_j d(x_i, x_j) ** power``,
        the sum running over all ordered pairs of samples of cluster r, with
        ``w_r`` the weight of cluster r (its size without weights).

    Raises
    ------
    ValueError
        If X has NaN or infinite values, if `labels` has the wrong length,
        missing or negative values, if the weights are negative, not finite
        or all zero, or if the dispersion overflows or underflows float64
        (values near 1e+-150 and beyond: rescale X).

    TypeError
        If X is sparse, or `labels` are not numbers.

    See Also
    --------
    GapKMeans : Uses this dispersion for the data and every reference.

    Notes
    -----
    With ``power=2`` and the Euclidean distance this is the within-cluster
    sum of squares about the cluster means (the inertia of k-means for the
    same labels) and costs O(n_samples * n_features), computed in two passes
    (the means, then the deviations) with a blocked two-level sum. Any other
    power or metric sums over the pairs of each cluster, in O(sum_r n_r^2 *
    n_features) time and O(n_samples * n_features) memory (other metrics: a
    block of rows at a time, at most about a million distances at once).

    R's ``cluster::clusGap`` counts each pair once, so its W_k is half of this
    value.

    References
    ----------
    .. [1] %(tibshirani_2001)s

    Examples
    --------
    >>> from skgap import within_cluster_dispersion
    >>> X = [[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 4.0]]
    >>> within_cluster_dispersion(X, [0, 0, 1, 1])
    10.0
    >>> within_cluster_dispersion(X, [0, 0, 1, 1], power=1.0)
    3.0
    >>> within_cluster_dispersion(X, [0, 0, 1, 1], metric="cityblock", power=1.0)
    3.0
    >>> within_cluster_dispersion(X, [0, 0, 1, 1], sample_weight=[1, 1, 2, 2])
    18.0
    """
    with _explain_input_errors(X):
        X = check_array(X, dtype=[np.float64, np.float32], order="C", input_name="X")
    labels = check_labels(labels, X.shape[0])
    sample_weight = check_sample_weight(sample_weight, X.shape[0])
    return _dispersion(
        X, labels, power, sample_weight, metric=metric, metric_params=metric_params
    )
