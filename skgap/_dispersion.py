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


def _metric_name(metric):
    """How errors name a metric: its string, or a callable's __name__."""
    return metric if isinstance(metric, str) else getattr(metric, "__name__", metric)


# The metrics of sklearn.metrics.pairwise_distances that take no parameter (its
# own functions), and the parameters of the others (SciPy's cdist): every SciPy
# metric takes weights `w` of the features, some take more.
_METRICS_WITHOUT_PARAMS = frozenset(
    ("cityblock", "cosine", "euclidean", "haversine", "l1", "l2", "manhattan")
    + ("nan_euclidean",)
)
_METRIC_PARAMS = {"minkowski": ("p", "w"), "seuclidean": ("V",), "mahalanobis": ("VI",)}
_REQUIRED_PARAMS = {
    "seuclidean": (
        "V",
        "the variance of each feature, e.g. metric_params={'V': X.var(axis=0, ddof=1)}",
    ),
    "mahalanobis": (
        "VI",
        "the inverse of the covariance matrix of the features, e.g. "
        "metric_params={'VI': numpy.linalg.inv(numpy.cov(X, rowvar=False))}",
    ),
}


def _metric_keys(metric):
    if metric in _METRICS_WITHOUT_PARAMS:
        return ()
    return _METRIC_PARAMS.get(metric, ("w",))


def _feature_array(metric, key, value, shape, fix):
    """`value` of metric_params as a float64 array of `shape`, finite, or raise."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"metric_params[{key!r}] of metric={metric!r} must be an array of "
            f"numbers of shape {shape}, got {type(value).__name__}. {fix}"
        ) from None
    if shape is not None and array.shape != shape:
        raise InvalidInputError(
            f"metric_params[{key!r}] of metric={metric!r} must have shape {shape} "
            f"(n_features = {shape[0]}), got shape {array.shape}. {fix}"
        )
    if not np.all(np.isfinite(array)):
        raise InvalidInputError(
            f"metric_params[{key!r}] of metric={metric!r} must be finite. {fix}"
        )
    return array


def check_metric(metric, metric_params=None, n_features=None):
    """Check `metric` and `metric_params` before any distance is computed.

    Parameters
    ----------
    metric : str or callable
        A metric of :func:`within_cluster_dispersion` (one of ``METRICS``) or
        a callable of two 1-D arrays.

    metric_params : dict or None
        Its keyword arguments.

    n_features : int or None, default=None
        The number of features of the data, to check the shapes of the
        parameters and 'haversine' (2 features); None skips those checks.

    Returns
    -------
    params : dict
        A copy of `metric_params` ({} for None), with array parameters as
        float64 arrays. A callable's parameters are passed as they are.

    Raises
    ------
    InvalidInputError
        If the metric is unknown, takes none of the given parameters, lacks a
        parameter it needs ('seuclidean': V, 'mahalanobis': VI) or one is
        malformed, or if 'haversine' is given other than 2 features. The
        message names metric_params and the metric's valid parameters.
    """
    params = {} if metric_params is None else dict(metric_params)
    if callable(metric):
        return params
    if not isinstance(metric, str) or metric not in METRICS:
        raise InvalidInputError(
            f"Unknown metric {metric!r}: use one of {sorted(METRICS)} or a "
            "callable of two 1-D arrays that returns their distance."
        )
    if metric == "haversine" and n_features is not None and n_features != 2:
        raise InvalidInputError(
            f"metric='haversine' needs exactly 2 features (latitude and longitude, "
            f"in radians), but X has {n_features}."
        )
    keys = _metric_keys(metric)
    unknown = sorted(key for key in params if key not in keys)
    if unknown:
        if keys:
            valid = f"its parameters are {', '.join(map(repr, keys))}"
        else:
            valid = "it takes none"
            if metric in ("euclidean", "l2"):
                valid += (
                    " (for feature weights or another p use metric='minkowski' "
                    "with metric_params={'p': ..., 'w': ...}; for squared "
                    "distances, power=2 on the distance)"
                )
        raise InvalidInputError(
            f"metric_params has {', '.join(map(repr, unknown))}, not a parameter "
            f"of metric={metric!r}: {valid}."
        )
    shape = None if n_features is None else (n_features,)
    if metric in _REQUIRED_PARAMS:
        key, what = _REQUIRED_PARAMS[metric]
        fix = f"metric={metric!r} needs {what}."
        if key not in params:
            raise InvalidInputError(
                f"metric={metric!r} needs metric_params[{key!r}]: {what}. skgap "
                "does not estimate it from each data set, as the reference data "
                "sets must be measured with the same distance as X."
            )
        if key == "V":
            params[key] = _feature_array(metric, key, params[key], shape, fix)
            if not np.all(params[key] > 0):
                raise InvalidInputError(
                    f"metric_params['V'] of metric='seuclidean' must be positive "
                    f"(the variances of the features). {fix}"
                )
        else:
            matrix = None if shape is None else shape * 2
            VI = _feature_array(metric, key, params[key], matrix, fix)
            if VI.ndim != 2 or VI.shape[0] != VI.shape[1]:
                raise InvalidInputError(
                    f"metric_params['VI'] of metric='mahalanobis' must be a square "
                    f"matrix, got shape {VI.shape}. {fix}"
                )
            eigenvalues = np.linalg.eigvalsh(VI) if np.allclose(VI, VI.T) else None
            scale = np.abs(VI).max()
            if eigenvalues is None or eigenvalues.min() < -1e-10 * scale:
                raise InvalidInputError(
                    "metric_params['VI'] of metric='mahalanobis' must be symmetric "
                    "positive semi-definite (an inverse covariance matrix): the "
                    f"distances are square roots of its quadratic form. {fix}"
                )
            params[key] = VI
    if "w" in params:
        fix = "metric_params['w'] are non-negative weights, one per feature."
        params["w"] = _feature_array(metric, "w", params["w"], shape, fix)
        if params["w"].ndim != 1 or np.any(params["w"] < 0):
            raise InvalidInputError(
                f"metric_params['w'] of metric={metric!r} must be a 1-D array of "
                f"non-negative feature weights. {fix}"
            )
    if "p" in params:
        p = params["p"]
        if isinstance(p, bool) or not isinstance(p, Real) or not p > 0:
            raise InvalidInputError(
                f"metric_params['p'] of metric='minkowski' must be a number > 0 "
                f"(1: cityblock, 2: euclidean, inf: chebyshev), got {p!r}."
            )
        params["p"] = float(p)
    return params


# Calls of a callable metric between two calls of `check`.
_CALLS_PER_CHECK = 128


def _checked_callable(metric, check):
    """`metric` that refuses a value other than a number and calls `check`."""
    calls = 0

    def distance(u, v, **params):
        nonlocal calls
        value = metric(u, v, **params)
        if not isinstance(value, Real):
            array = np.asarray(value)
            if array.ndim != 0 or array.dtype.kind not in "biuf":
                raise InvalidInputError(
                    f"The metric {_metric_name(metric)!r} returned "
                    f"{type(value).__name__}"
                    + (f" of shape {array.shape}" if array.ndim else "")
                    + ": a metric must return a float, the distance between its "
                    "two arguments (1-D arrays, two samples)."
                )
        calls += 1
        if check is not None and calls % _CALLS_PER_CHECK == 0:
            check()
        return value

    return distance


def _check_distances(distances, metric, name):
    """Raise if a block of distances has NaN, infinite or negative values.

    A string metric's distances are clipped at 0 (against rounding below
    it); a callable's negative distance is an error.
    """
    if not np.all(np.isfinite(distances)):
        label = _metric_name(metric)
        if np.any(np.isnan(distances)):
            raise InvalidInputError(
                f"The metric {label!r} gave NaN distances between samples of "
                f"{name} (e.g. 'correlation' or 'cosine' of a constant or zero "
                "sample): W_k is undefined. Use another metric, or drop those "
                "samples."
            )
        if callable(metric):
            raise InvalidInputError(
                f"The metric {label!r} returned an infinite distance between two "
                f"samples of {name}: a metric must return finite, non-negative "
                "floats."
            )
        raise InvalidInputError(
            f"The metric {label!r} gave infinite distances between samples of "
            f"{name}: they overflow float64. Rescale X, e.g. with "
            "sklearn.preprocessing.StandardScaler (or check metric_params)."
        )
    if callable(metric):
        smallest = distances.min() if distances.size else 0.0
        if smallest < 0:
            raise InvalidInputError(
                f"The metric {_metric_name(metric)!r} returned a negative distance "
                f"({smallest:g}) between two samples of {name}: a metric must "
                "return finite, non-negative floats."
            )
    else:
        np.maximum(distances, 0.0, out=distances)


def _metric_dispersion(
    X, labels, power, sample_weight, metric, params, out, name, check=None
):
    """Per cluster, 1/(2 w_r) times the weighted sum of d(x_i, x_j) ** power.

    Any metric of :func:`sklearn.metrics.pairwise_distances`: the pairs of
    each cluster are summed a tile at a time (a block of rows against the
    whole cluster, or against a block of it if one row is too much work):
    never more than `_BLOCK_VALUES` distances at once, nor an n x n matrix,
    nor more than `_BLOCK_WORK` distance terms between two calls of `check`
    (a callable metric also calls it every `_CALLS_PER_CHECK` pairs).
    """
    metric_for_errors = metric
    if callable(metric):
        metric = _checked_callable(metric, check)
    tile = max(1, min(_BLOCK_VALUES, _BLOCK_WORK // max(X.shape[1], 1)))
    order = np.argsort(labels, kind="stable")
    offsets = np.zeros(out.shape[0] + 1, dtype=np.intp)
    np.cumsum(np.bincount(labels, minlength=out.shape[0]), out=offsets[1:])
    for r in range(out.shape[0]):
        rows = order[offsets[r] : offsets[r + 1]]
        n_r = rows.shape[0]
        if n_r < 2:
            continue
        members = X[rows]
        weights = None if sample_weight is None else sample_weight[rows]
        n_columns = min(n_r, tile)
        n_rows = max(1, tile // n_columns)
        total = 0.0
        for start in range(0, n_r, n_rows):
            stop = min(start + n_rows, n_r)
            for first in range(0, n_r, n_columns):
                last = min(first + n_columns, n_r)
                distances = np.asarray(
                    pairwise_distances(
                        members[start:stop],
                        members[first:last],
                        metric=metric,
                        **params,
                    ),
                    dtype=np.float64,
                )
                _check_distances(distances, metric_for_errors, name)
                # a sample's distance to itself is 0, which some metrics round
                # (cosine: 1e-16), and a power < 1 would make it count
                diagonal = np.arange(max(start, first), min(stop, last))
                distances[diagonal - start, diagonal - first] = 0.0
                if power != 1.0:
                    np.power(distances, power, out=distances)
                if weights is None:
                    total += distances.sum()
                else:
                    total += weights[start:stop] @ distances @ weights[first:last]
                if check is not None:
                    check()
        size = n_r if weights is None else weights.sum()
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


# Distances computed at a time by the blocked sum of other metrics (8 MB), and
# distance terms (distances times features) between two calls of `check`.
_BLOCK_VALUES = 1 << 20
_BLOCK_WORK = 1 << 24


def _scale_weights(sample_weight, labels, n_clusters):
    """Weights divided by 2**e_r, e_r the binary exponent of cluster r's largest.

    W_r is homogeneous of degree 1 in its cluster's weights: W_r of the scaled
    weights times 2**e_r is W_r (exactly, powers of two), and the scaled
    weights, at most 1, have no product that overflows (weights of 1e200 do).
    Returns the scaled weights and the exponents (n_clusters,).
    """
    top = np.zeros(n_clusters)
    np.maximum.at(top, labels, sample_weight)
    exponents = np.frexp(top)[1]
    return np.ldexp(sample_weight, -exponents[labels]), exponents


def _dispersion(
    X,
    labels,
    power=2.0,
    sample_weight=None,
    name="X",
    metric="euclidean",
    metric_params=None,
    *,
    check=None,
):
    """W_k of SPEC section 1 for validated inputs.

    `X` is a C-contiguous float32/float64 array of finite values, `labels` a
    1-D array of non-negative integers of the same length and `sample_weight`
    None or a float64 array of non-negative weights; `metric_params` have
    passed :func:`check_metric`. Used by the fit loop, which has already
    validated them; `name` says what X is in errors. `check` is None or a
    callable of no argument, called between blocks of the pairwise sums (at
    most about 2**24 distance terms apart): it stops the computation by
    raising (the fit's cancellation).
    """
    labels, n_clusters = _compact_labels(labels)
    exponents = None
    if sample_weight is not None:
        largest = float(sample_weight.max(initial=0.0))
        sample_weight, exponents = _scale_weights(sample_weight, labels, n_clusters)
    per_cluster = np.zeros(n_clusters, dtype=np.float64)
    euclidean = metric in ("euclidean", "l2")
    if not euclidean:
        _metric_dispersion(
            X,
            labels,
            power,
            sample_weight,
            metric,
            metric_params or {},
            per_cluster,
            name,
            check,
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
            check,
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
    if exponents is not None:
        # W_r of the scaled weights back to W_r (exact, but for overflow and
        # underflow, which only the weights can cause here)
        with np.errstate(over="ignore", under="ignore"):
            unscaled = float(np.ldexp(per_cluster, exponents).sum())
        if not np.isfinite(unscaled):
            raise InvalidInputError(
                "The within-cluster dispersion exceeds the largest float64 "
                f"(about 1.8e308) with these sample weights (up to {largest:.3g}): "
                "W_k grows in proportion to a common factor of the weights, which "
                "does not change the gap statistic. Divide sample_weight by a "
                "common factor, e.g. by its maximum."
            )
        if unscaled < np.finfo(np.float64).tiny <= dispersion:
            raise InvalidInputError(
                "The within-cluster dispersion is below the smallest normal "
                f"float64 (about 2.2e-308) with these sample weights (up to "
                f"{largest:.3g}): W_k shrinks in proportion to a common factor of "
                "the weights, which does not change the gap statistic. Multiply "
                "sample_weight by a common factor, e.g. divide it by its maximum."
            )
        dispersion = unscaled
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
        ``'minkowski'``. SciPy's metrics take the weights ``w`` of the
        features, ``'minkowski'`` also ``p``; ``'seuclidean'`` needs ``V``
        (the variances of the features) and ``'mahalanobis'`` ``VI`` (the
        inverse covariance matrix); scikit-learn's own metrics
        (``'euclidean'``, ``'cityblock'``, ``'cosine'``, ...) take none.

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
        missing or negative values, if the weights are negative, not finite,
        masked or all zero, if `metric_params` are not the metric's, if a
        callable metric returns anything but a finite non-negative number,
        or if the dispersion overflows or underflows float64 (values near
        1e+-150 and beyond: rescale X; or weights whose product with W_k is
        beyond float64: divide them by a common factor).

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
    metric_params = check_metric(metric, metric_params, X.shape[1])
    return _dispersion(
        X, labels, power, sample_weight, metric=metric, metric_params=metric_params
    )
