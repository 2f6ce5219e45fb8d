"""Literal NumPy transcriptions of SPEC sections 1 and 2, the oracle of the tests.

Written for clarity, not speed: W_k is the O(n^2) sum over all ordered pairs, the
statistics follow the SPEC formulas line by line, and the five rules are read
from the SPEC table with plain Python loops.
"""

import math
from collections import defaultdict
from fractions import Fraction

import numpy as np

# The rules as the SPEC table lists them (tests/test_selection.py checks that
# skgap's registry has exactly these).
METHODS = ("tibshirani", "first_se_max", "global_se_max", "first_max", "global_max")


def dispersion(X, labels, power=2.0):
    """W_k = sum_r 1/(2 n_r) sum_{i in C_r} sum_{j in C_r} d(x_i, x_j) ** power."""
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    total = 0.0
    for r in np.unique(labels):
        members = X[labels == r]
        n_r = members.shape[0]
        # all ordered pairs (i, j), i == j included (it adds 0)
        differences = members[:, None, :] - members[None, :, :]
        distances = np.sqrt((differences**2).sum(axis=-1))
        total += (distances**power).sum() / (2.0 * n_r)
    return float(total)


def weighted_dispersion(X, labels, sample_weight=None, power=2.0, metric=None):
    """W_k = sum_r 1/(2 w_r) sum_{i, j in C_r} w_i w_j d(x_i, x_j) ** power, exactly.

    Summed in rational arithmetic (fractions.Fraction), so that no product of
    weights overflows or underflows: with the Euclidean distance (`metric`
    None) and power 2 every term is exact; otherwise each d ** power is a
    float (`metric` a callable of two 1-D arrays, e.g. from scipy). Returns
    the float nearest to W_k, or inf beyond the largest float.
    """
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    n = X.shape[0]
    w = np.ones(n) if sample_weight is None else np.broadcast_to(sample_weight, n)
    weights = [Fraction(float(v)) for v in w]
    rows = [[Fraction(float(v)) for v in x] for x in X]

    def term(i, j):
        if metric is None:
            squared = sum((a - b) ** 2 for a, b in zip(rows[i], rows[j], strict=True))
            if power == 2.0:
                return squared
            return Fraction(math.sqrt(squared) ** power)
        return Fraction(float(metric(X[i], X[j])) ** power)

    total = Fraction(0)
    for r in np.unique(labels):
        members = np.flatnonzero(labels == r)
        w_r = sum(weights[i] for i in members)
        if w_r == 0:
            continue
        pairs = sum(
            weights[i] * weights[j] * term(i, j)
            for i in members
            for j in members
            if i != j and weights[i] and weights[j]
        )
        total += pairs / (2 * w_r)
    try:
        return float(total)
    except OverflowError:
        return math.inf


def r_dispersion(X, labels, power=1.0):
    """R's ``clusGap`` W_k: each unordered pair once, i.e. half of `dispersion`."""
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    total = 0.0
    for r in np.unique(labels):
        members = X[labels == r]
        pair_sum = 0.0
        for i in range(members.shape[0]):
            for j in range(i + 1, members.shape[0]):
                pair_sum += np.linalg.norm(members[i] - members[j]) ** power
        total += pair_sum / members.shape[0]
    return 0.5 * total


def gap_statistics(dispersions, reference_dispersions):
    """The table of SPEC section 1 from W_k (m,) and W*_kb (B, m), one k at a time."""
    W = np.asarray(dispersions, dtype=np.float64)
    W_ref = np.asarray(reference_dispersions, dtype=np.float64)
    B, m = W_ref.shape
    # each column is named where its formula is (no list of gap_results_'s
    # keys here: skgap._selection.RESULT_KEYS is the one list)
    out = defaultdict(list)
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(m):
            L = [np.log(W_ref[b, k]) for b in range(B)]
            expected = sum(L) / B
            sd = np.sqrt(sum((L_b - expected) ** 2 for L_b in L) / B)
            mean_ref = sum(W_ref[b, k] for b in range(B)) / B
            std_ref = np.sqrt(sum((W_ref[b, k] - mean_ref) ** 2 for b in range(B)) / B)
            out["log_w"].append(np.log(W[k]))
            out["expected_log_w"].append(expected)
            out["gap"].append(expected - np.log(W[k]))
            out["sd"].append(sd)
            out["se"].append(sd * np.sqrt(1 + 1 / B))
            out["gap_star"].append(mean_ref - W[k])
            out["se_star"].append(std_ref * np.sqrt(1 + 1 / B))
        for k in range(m):
            if k == m - 1:
                out["diff"].append(np.nan)
                out["diff_star"].append(np.nan)
            else:
                out["diff"].append(out["gap"][k] - out["gap"][k + 1] + out["se"][k + 1])
                out["diff_star"].append(
                    out["gap_star"][k] - out["gap_star"][k + 1] + out["se_star"][k + 1]
                )
    return {key: np.array(values, dtype=np.float64) for key, values in out.items()}


def _first_local_max(f):
    """The first position i with f[i+1] <= f[i], or m - 1."""
    for i in range(len(f) - 1):
        if f[i + 1] <= f[i]:
            return i
    return len(f) - 1


def _argmax(f):
    """The position of the largest value, the first one if tied."""
    best = 0
    for i in range(1, len(f)):
        if f[i] > f[best]:
            best = i
    return best


def _minus(a, b):
    """a - b, where inf - inf (an infinite value with an infinite SE) is a."""
    return a if math.isinf(a) and math.isinf(b) else a - b


def _first_within(f, s, j):
    """First i <= j with f[i] >= f[j] - s[j]."""
    for i in range(j + 1):
        if f[i] >= _minus(f[j], s[j]):
            return i
    raise AssertionError("unreachable: i = j always qualifies")


def select(values, se, method="tibshirani", se_factor=1.0):
    """The SPEC table, read literally; NaN values are absent candidates.

    The rule runs on the candidates whose value is not NaN ("next" is the next of
    those), with NaN standard errors counted as 0, and the position is mapped back.
    """
    positions = [i for i, v in enumerate(values) if not math.isnan(v)]
    f = [float(values[i]) for i in positions]
    s = []
    for i in positions:
        scaled = se_factor * float(se[i])
        s.append(0.0 if math.isnan(scaled) else scaled)
    m = len(f)
    if method == "tibshirani":
        chosen = m - 1
        for i in range(m - 1):
            if f[i] >= _minus(f[i + 1], s[i + 1]):
                chosen = i
                break
    elif method == "first_se_max":
        chosen = _first_within(f, s, _first_local_max(f))
    elif method == "global_se_max":
        chosen = _first_within(f, s, _argmax(f))
    elif method == "first_max":
        chosen = _first_local_max(f)
    elif method == "global_max":
        chosen = _argmax(f)
    else:
        raise ValueError(method)
    return positions[chosen]


def lloyd(X, centers, max_iter, tol, sample_weight=None):
    """scikit-learn's Lloyd iterations, read literally from its description.

    From the initial `centers`: assign every sample to its nearest centre
    (the first if tied), move each centre to the weighted mean of its
    samples, relocate the centre of an empty cluster to the samples farthest
    from their centres (farthest first; not if every sample sits on its
    centre; an empty cluster left sits on the heaviest one's mean), stop when
    the labels no longer change or the squared centre shift is <= tol, then
    assign once more to the final centres. Returns (centers, labels, n_iter).
    """
    X = np.asarray(X, dtype=np.float64)
    centers = np.array(centers, dtype=np.float64)
    n, k = X.shape[0], centers.shape[0]
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)

    def nearest(C):
        return ((X[:, None, :] - C[None]) ** 2).sum(-1).argmin(axis=1)

    previous = np.full(n, -1)
    n_iter = 0
    for _ in range(max_iter):
        n_iter += 1
        labels = nearest(centers)
        sums = np.array(
            [(w[labels == c, None] * X[labels == c]).sum(0) for c in range(k)]
        )
        weights = np.array([w[labels == c].sum() for c in range(k)])
        empty = np.flatnonzero(weights == 0)
        if empty.size:
            distances = ((X - centers[labels]) ** 2).sum(axis=1)
            if distances.max() > 0:
                farthest = np.argsort(-distances, kind="stable")[: empty.size]
                for c, i in zip(empty, farthest, strict=False):
                    sums[labels[i]] -= w[i] * X[i]
                    weights[labels[i]] -= w[i]
                    sums[c] = w[i] * X[i]
                    weights[c] = w[i]
        heaviest = sums[weights.argmax()] / weights.max()
        new = np.array(
            [sums[c] / weights[c] if weights[c] > 0 else heaviest for c in range(k)]
        )
        shift = ((new - centers) ** 2).sum()
        centers = new
        if np.array_equal(labels, previous) or shift <= tol:
            break
        previous = labels
    return centers, nearest(centers), n_iter
