"""Rules that choose the number of clusters from a gap curve (R's ``maxSE``)."""

from numbers import Real

import numpy as np

from ._docstrings import fill_doc
from ._utils import Interval, StrOptions, validate_params
from .exceptions import InvalidInputError

__all__ = ["FORWARD_RULES", "RULES", "STATISTICS", "select_k"]

#: The statistics that can choose k, with the key of their standard error.
STATISTICS = {"gap": "se", "gap_star": "se_star"}

#: The keys of ``GapKMeans.gap_results_``, in the order of its table.
RESULT_KEYS = (
    "n_clusters",
    "log_w",
    "expected_log_w",
    "gap",
    "sd",
    "se",
    "gap_star",
    "se_star",
    "diff",
    "diff_star",
    "selection_frequency",
)


# The rules work on the last axis, so that one call chooses for every row of
# a 2-D array (the selection frequencies' resamples) as for a single curve.


def _first_true(mask, default):
    """Along the last axis, the first position where `mask` holds, else `default`."""
    if mask.shape[-1] == 0:
        return np.full(mask.shape[:-1], default, dtype=np.intp)
    return np.where(mask.any(axis=-1), mask.argmax(axis=-1), default)


def _first_local_max(f):
    """First position i with f[i+1] <= f[i], or the last position."""
    return _first_true(f[..., 1:] <= f[..., :-1], f.shape[-1] - 1)


def _global_max(f):
    """Position of the largest value, the first one if tied."""
    return np.argmax(f, axis=-1)


def _lower_bound(f, s):
    """f - s, where an infinite value with an infinite SE stays f (not NaN)."""
    with np.errstate(invalid="ignore"):
        bound = f - s
    return np.where(np.isnan(bound), f, bound)


def _first_within_se_of(f, s, j):
    """First position i <= j with f[i] >= f[j] - s[j] (i = j always qualifies)."""
    at_j = np.asarray(j)[..., np.newaxis]
    bound = _lower_bound(
        np.take_along_axis(f, at_j, axis=-1), np.take_along_axis(s, at_j, axis=-1)
    )
    return np.argmax((f >= bound) & (np.arange(f.shape[-1]) <= at_j), axis=-1)


def _tibshirani(f, s):
    """First i with f[i] >= f[i+1] - s[i+1] (Tibshirani et al. 2001)."""
    return _first_true(
        f[..., :-1] >= _lower_bound(f[..., 1:], s[..., 1:]), f.shape[-1] - 1
    )


def _first_se_max(f, s):
    """Within one SE of the first local maximum, the smallest k."""
    return _first_within_se_of(f, s, _first_local_max(f))


def _global_se_max(f, s):
    """Within one SE of the global maximum, the smallest k (Dudoit & Fridlyand)."""
    return _first_within_se_of(f, s, _global_max(f))


def _first_max(f, s):
    """The first local maximum."""
    return _first_local_max(f)


def _global_max_rule(f, s):
    """The global maximum."""
    return _global_max(f)


#: The selection rules by name: each maps (values, scaled se) to a 0-based
#: position along their last axis.
RULES = {
    "tibshirani": _tibshirani,
    "first_se_max": _first_se_max,
    "global_se_max": _global_se_max,
    "first_max": _first_max,
    "global_max": _global_max_rule,
}


#: The rules that look forward only to the first candidate that satisfies them:
#: their choice among the first candidates is final once
#: `forward_choice` finds it, whatever the later candidates are.
FORWARD_RULES = ("tibshirani", "first_se_max", "first_max")


def forward_choice(values, se, *, method, se_factor=1.0):
    """The rule's choice among the first candidates, if later ones cannot change it.

    `values` and `se` are those of the first candidates (in increasing k);
    returns the position `select_k` would choose on any longer curve that
    starts with them, or None while that is not yet known. NaN values are
    absent candidates, as in `select_k`.
    """
    f = np.asarray(values, dtype=np.float64)
    valid = np.flatnonzero(~np.isnan(f))
    if valid.size < 2:
        return None
    g = f[valid]
    with np.errstate(invalid="ignore"):
        s = np.nan_to_num(se_factor * np.asarray(se, dtype=np.float64)[valid], nan=0.0)
    last = len(g) - 1
    if method == "tibshirani":
        hits = np.flatnonzero(g[:-1] >= _lower_bound(g[1:], s[1:]))
        return int(valid[hits[0]]) if hits.size else None
    if method not in FORWARD_RULES:
        raise ValueError(f"{method!r} needs every candidate; it is not a forward rule.")
    j = _first_local_max(g)
    if j == last:
        return None  # no local maximum yet
    if method == "first_max":
        return int(valid[j])
    return int(valid[_first_within_se_of(g, s, j)])


@validate_params(
    {
        "values": ["array-like"],
        "se": ["array-like"],
        "method": [StrOptions(set(RULES))],
        "se_factor": [Interval(Real, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
@fill_doc
def select_k(values, se, *, method="tibshirani", se_factor=1.0):
    """Choose the number of clusters from a gap curve and its standard errors.

    The five rules are those of R's ``cluster::maxSE``. Positions whose value
    is NaN are treated as absent candidates and are never chosen; ``+inf`` is
    a valid value (it wins), ``-inf`` a valid one that loses.

    Read more in the :ref:`User Guide <selection_rules>`.

    Parameters
    ----------
    values : array-like of shape (n_candidates,)
        The statistic for each candidate number of clusters, in increasing
        order of k, e.g. ``gap_results_["gap"]``.

    se : array-like of shape (n_candidates,)
        The standard error of each value, e.g. ``gap_results_["se"]``.
        Non-negative; a NaN standard error counts as 0.

    method : {'tibshirani', 'first_se_max', 'global_se_max', 'first_max', \
'global_max'}, default='tibshirani'
        The rule. With ``f = values`` and ``s = se_factor * se``:

        - ``'tibshirani'``: the first i with ``f[i] >= f[i+1] - s[i+1]``, or
          the last candidate if there is none (R: ``"Tibs2001SEmax"``).
        - ``'first_se_max'``: with j the first local maximum, the first
          ``i <= j`` with ``f[i] >= f[j] - s[j]`` (R: ``"firstSEmax"``).
        - ``'global_se_max'``: the same with j the global maximum
          (R: ``"globalSEmax"``).
        - ``'first_max'``: the first local maximum (R: ``"firstmax"``).
        - ``'global_max'``: the global maximum (R: ``"globalmax"``).

    se_factor : float, default=1.0
        Multiplier of the standard errors (R's ``SE.factor``).

    Returns
    -------
    position : int
        The 0-based position of the chosen candidate in `values`.

    Raises
    ------
    ValueError
        If `values` and `se` differ in length, are empty or not 1-D, if `se`
        has a negative entry, or if every value is NaN.

    See Also
    --------
    GapKMeans : Applies this function to the gap statistic inside ``fit``.

    Notes
    -----
    A "local maximum" at position i means ``f[i+1] <= f[i]``; if f never stops
    rising, the last position is its first local maximum. Candidate ks need
    not be consecutive: "next" always means the next candidate.

    References
    ----------
    .. [1] %(tibshirani_2001)s
    .. [2] Maechler, M. et al. ``cluster::maxSE``, R package ``cluster``.

    Examples
    --------
    The worked example of R's ``maxSE`` help page:

    >>> from skgap import select_k
    >>> f = [2, 3, 5, 4, 7, 8, 5, 4]
    >>> se = [0.5, 0.5, 1, 0.5, 0.5, 1.5, 0.5, 0.5]
    >>> select_k(f, se, method="tibshirani")
    2
    >>> select_k(f, se, method="global_max")
    5
    """
    if np.iscomplexobj(values) or np.iscomplexobj(se):
        raise InvalidInputError(
            "values and se must be real numbers, got complex numbers."
        )
    try:
        f = np.asarray(values, dtype=np.float64)
        s = np.asarray(se, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"values and se must be sequences of real numbers, e.g. "
            f"gap_results_['gap'] and gap_results_['se']: {exc}"
        ) from exc
    if f.ndim != 1 or f.size == 0:
        raise InvalidInputError(
            f"values must be a non-empty 1-D sequence, got shape {f.shape}."
        )
    if s.shape != f.shape:
        raise InvalidInputError(
            f"se must have the same shape as values: got {s.size} standard "
            f"errors of shape {s.shape} for {f.size} values."
        )
    if np.any(s < 0):
        raise InvalidInputError(
            f"se must be non-negative, got {s[s < 0][0]!r} at position "
            f"{int(np.flatnonzero(s < 0)[0])}."
        )
    if np.all(np.isnan(f)):
        raise InvalidInputError(
            "Every value is NaN, so no candidate can be chosen. With the gap "
            "statistic this means the data have no spread."
        )
    return _choose(f, s, method, se_factor)


def _choose(f, s, method, se_factor):
    """`select_k` on validated float64 arrays with at least one value not NaN."""
    return int(_choose_rows(f[np.newaxis], s[np.newaxis], method, se_factor)[0])


def _choose_rows(f, s, method, se_factor):
    """The rule's position for each row of `f` and `s` (-1 where f is all NaN).

    NaN values are absent candidates: rows are grouped by where their NaNs
    are, and each group is chosen among its other candidates in one call.
    """
    positions = np.full(f.shape[0], -1, dtype=np.intp)
    absent = np.isnan(f)
    if (absent == absent[0]).all():  # the usual case: one pattern, no sort
        patterns, group = absent[:1], np.zeros(f.shape[0], dtype=np.intp)
    else:
        patterns, group = np.unique(absent, axis=0, return_inverse=True)
    for index, pattern in enumerate(patterns):
        if pattern.all():
            continue
        rows, valid = np.flatnonzero(group.ravel() == index), np.flatnonzero(~pattern)
        cells = np.ix_(rows, valid)
        with np.errstate(invalid="ignore"):  # 0 * inf: se_factor=0 ignores the SE
            scaled_se = np.nan_to_num(se_factor * s[cells], nan=0.0, posinf=np.inf)
        positions[rows] = valid[RULES[method](f[cells], scaled_se)]
    return positions


def _gap(log_w, reference_log_w):
    """E[log W*], gap, sd and se of SPEC section 1, from log W and the log W*.

    The references run along axis -2 of `reference_log_w`, the candidates
    along its last axis; leading axes (resamples of the references) are kept.
    """
    se_scale = np.sqrt(1.0 + 1.0 / reference_log_w.shape[-2])
    # log(0) = -inf is legal (duplicate points, k = n); -inf - -inf gives NaN.
    with np.errstate(invalid="ignore"):
        expected_log_w = reference_log_w.mean(axis=-2)
        gap = expected_log_w - log_w
        deviations = reference_log_w - expected_log_w[..., np.newaxis, :]
        sd = np.sqrt(np.mean(deviations**2, axis=-2))
    return expected_log_w, gap, sd, sd * se_scale


def _gap_star(dispersions, reference_dispersions):
    """Gap* and se* of SPEC section 1 (axes as in `_gap`)."""
    se_scale = np.sqrt(1.0 + 1.0 / reference_dispersions.shape[-2])
    # W* near the float limit: its square (in std) or sum (in mean) would
    # overflow. Dividing by a power of two is exact, so this changes no bit
    # of the result where nothing overflows.
    with np.errstate(invalid="ignore"):
        scale = np.ldexp(1.0, np.frexp(reference_dispersions.max(axis=-2))[1])
        scale[~np.isfinite(scale) | (scale == 0)] = 1.0
        scaled = reference_dispersions / scale[..., np.newaxis, :]
        gap_star = scaled.mean(axis=-2) * scale - dispersions
        se_star = scaled.std(axis=-2) * scale * se_scale
    return gap_star, se_star


def _log(dispersions):
    with np.errstate(divide="ignore"):
        return np.log(dispersions)


def gap_table(n_clusters, dispersions, reference_dispersions):
    """The table of SPEC section 1 from W_k (m,) and the W*_kb (B, m)."""
    log_w = _log(dispersions)
    expected_log_w, gap, sd, se = _gap(log_w, _log(reference_dispersions))
    gap_star, se_star = _gap_star(dispersions, reference_dispersions)
    with np.errstate(invalid="ignore"):
        diff = np.full_like(gap, np.nan)
        diff[:-1] = gap[:-1] - gap[1:] + se[1:]
        diff_star = np.full_like(gap, np.nan)
        diff_star[:-1] = gap_star[:-1] - gap_star[1:] + se_star[1:]
    columns = dict(
        n_clusters=np.asarray(n_clusters, dtype=np.intp),
        log_w=log_w,
        expected_log_w=expected_log_w,
        gap=gap,
        sd=sd,
        se=se,
        gap_star=gap_star,
        se_star=se_star,
        diff=diff,
        diff_star=diff_star,
    )
    # in the order of RESULT_KEYS; GapKMeans adds the selection frequencies
    return {key: columns[key] for key in RESULT_KEYS if key in columns}


#: Bootstrap resamples of the reference data sets behind the selection
#: frequencies: their standard error is at most 0.5 / sqrt(500) = 2.2 %.
N_RESAMPLES = 500


def selection_frequencies(
    dispersions, reference_dispersions, *, statistic, method, se_factor, seed
):
    """How often the rule chooses each candidate over resamples.

    The B rows of `reference_dispersions` (the reference data sets) are
    resampled with replacement; each resample gives the statistic and its
    standard errors again, and the rule its choice. With `dispersions` of
    shape (m,), W_k of the data, there are `N_RESAMPLES` resamples and no
    clusterer is fitted; with shape (R, m), W_k of R resamples of the data
    rows, resample r of the data meets resample r of the references. Returns
    the fraction of resamples that choose each candidate (it sums to 1;
    resamples whose values are all NaN choose nothing and are left out).
    """
    n_refs, m = reference_dispersions.shape
    n_resamples = N_RESAMPLES if np.ndim(dispersions) == 1 else len(dispersions)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, n_refs, size=(n_resamples, n_refs))
    if statistic == "gap":
        _, values, _, errors = _gap(
            _log(dispersions), _log(reference_dispersions)[rows]
        )
    else:
        values, errors = _gap_star(dispersions, reference_dispersions[rows])
    positions = _choose_rows(values, errors, method, se_factor)
    counts = np.bincount(positions[positions >= 0], minlength=m)
    return counts / max(counts.sum(), 1)


def rule_choices(gap_results, *, se_factor, complete=True):
    """The k that each rule chooses on each statistic: {statistic: {rule: k}}.

    With `complete` False (the candidates are only the first ones, as after a
    forward scan) a rule whose choice could still change is None.
    """
    ks = gap_results["n_clusters"]
    choices = {}
    for statistic, se_key in STATISTICS.items():
        values = np.asarray(gap_results[statistic], dtype=np.float64)
        errors = np.asarray(gap_results[se_key], dtype=np.float64)
        choices[statistic] = {}
        for method in RULES:
            if np.all(np.isnan(values)):
                position = None
            elif complete:
                position = _choose(values, errors, method, se_factor)
            elif method in FORWARD_RULES:
                position = forward_choice(
                    values, errors, method=method, se_factor=se_factor
                )
            else:
                position = None
            choices[statistic][method] = None if position is None else int(ks[position])
    return choices
