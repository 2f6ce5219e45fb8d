"""Input validation shared by GapKMeans and within_cluster_dispersion.

sklearn's ``check_array``/``validate_data`` do the validation; this module
adds how to fix what they reject, rejects what they would silently convert,
and rejects magnitudes whose squared distances overflow or underflow.
"""

import math
import re
from contextlib import contextmanager
from numbers import Real

import numpy as np
from scipy import sparse
from sklearn.utils import column_or_1d

from .exceptions import InvalidInputError

_INPUT_HINTS = [
    (
        re.compile(r"not '(NAType|NoneType|NaTType)'"),
        "X has missing values (None or pandas.NA): impute them, e.g. with "
        "sklearn.impute.SimpleImputer, or drop those samples.",
    ),
    (
        re.compile(r"could not convert|argument must be a string or a"),
        "X must be numeric: encode categorical or text features first (e.g. with "
        "sklearn.preprocessing.OrdinalEncoder or OneHotEncoder) or drop them.",
    ),
    (
        re.compile(r"contains infinity"),
        "Replace or drop the infinite values, e.g. keep the rows "
        "numpy.isfinite(X).all(axis=1).",
    ),
    (
        re.compile(r"inhomogeneous"),
        "Every sample (row) of X must have the same number of features.",
    ),
    (
        re.compile(r"Found array with dim [3-9]"),
        "X must be 2-D, of shape (n_samples, n_features): reshape it, e.g. "
        "X.reshape(len(X), -1).",
    ),
]


@contextmanager
def _explain_input_errors(X, name="X"):
    """Re-raise sklearn's input-validation errors with how to fix them.

    Run around ``check_array``/``validate_data``. The original message is kept
    as the prefix (and the exception type), so code that matches on it works;
    rejects up front what sklearn would silently convert (strings, datetimes)
    or report with the whole array in the message (complex numbers).
    """
    if sparse.issparse(X):
        raise InvalidInputError(
            f"{name} is a sparse matrix, but skgap needs dense data (the reference "
            "data sets are dense and of X's shape). Convert it with "
            f"{name}.toarray() if it fits in memory, or reduce it first, e.g. with "
            "sklearn.decomposition.TruncatedSVD."
        )
    if np.ma.isMaskedArray(X) and np.ma.count_masked(X):
        raise InvalidInputError(
            f"{name} is a masked array with {np.ma.count_masked(X)} masked values, "
            "and skgap would use the values under the mask. Fill them (e.g. "
            f"{name}.filled(value)) or drop those samples, e.g. "
            f"{name}.data[~numpy.ma.getmaskarray({name}).any(axis=1)]."
        )
    kind = getattr(getattr(X, "dtype", None), "kind", None)
    if kind in ("U", "S"):
        raise InvalidInputError(
            f"{name} is an array of strings (dtype {X.dtype}): convert it to "
            f"numbers explicitly, e.g. {name}.astype(float), or encode text "
            "features with sklearn.preprocessing.OrdinalEncoder."
        )
    if kind in ("m", "M"):
        raise InvalidInputError(
            f"{name} holds dates or time spans (dtype {X.dtype}): convert them to "
            f"numbers explicitly, e.g. {name}.astype('int64') or a number of days."
        )
    try:
        yield
    except (TypeError, ValueError) as exc:
        message = str(exc)
        if message.startswith("Complex data not supported") or (
            "not 'complex'" in message
        ):
            raise InvalidInputError(
                f"Complex data not supported: {name} has complex values and skgap "
                "clusters real vectors. Pass the real and imaginary parts as "
                f"features, e.g. numpy.column_stack([{name}.real, {name}.imag]), "
                f"or numpy.abs({name})."
            ) from None
        if message.startswith("Expected 2D array, got"):
            # sklearn prints the whole array; keep its advice only
            got = message.split(" instead", 1)[0]
            raise InvalidInputError(
                f"{got} instead, of shape {np.shape(X)}: {name} must be 2-D, of "
                "shape (n_samples, n_features). Reshape your data either using "
                "array.reshape(-1, 1) if your data has a single feature or "
                "array.reshape(1, -1) if it contains a single sample."
            ) from None
        for pattern, hint in _INPUT_HINTS:
            if pattern.search(message):
                columns = getattr(X, "columns", None)
                dtypes = getattr(X, "dtypes", None)
                if columns is not None and dtypes is not None:
                    bad = [
                        str(c)
                        for c, dt in zip(columns, dtypes, strict=False)
                        if getattr(dt, "kind", "O") not in "biuf"
                    ]
                    if bad:
                        hint = f"Non-numeric columns: {bad}. " + hint
                raise type(exc)(f"{message.rstrip()} {hint}") from exc
        raise


def _check_magnitude(X, n_rows=None, name="X", fix=None):
    """Reject X whose squared distances overflow or underflow in X's dtype.

    A clusterer working in X's dtype (KMeans computes ``||x||**2`` and sums
    squared distances over the samples) returns meaningless labels, with at
    most a RuntimeWarning, when they do. `n_rows` is the number of terms that
    are summed (n_samples by default); `name` says what X is, and `fix` how
    to mend it (by default, rescaling it), in the messages.
    """
    if X.size == 0:
        return
    if fix is None:
        fix = f"Rescale {name}, e.g. with sklearn.preprocessing.StandardScaler"
    finfo = np.finfo(X.dtype)
    # column extremes: no temporary of X's size
    column_max, column_min = X.max(axis=0), X.min(axis=0)
    largest = max(abs(float(column_max.max())), abs(float(column_min.min())))
    with np.errstate(over="ignore"):
        spread = float((column_max - column_min).max())
    n_terms = X.shape[1] * (X.shape[0] if n_rows is None else n_rows)
    if largest > 0 and (
        2 * math.log10(largest) + math.log10(n_terms) > math.log10(finfo.max) - 1
    ):
        raise InvalidInputError(
            f"{name} has values up to {largest:.3g} in magnitude: their squared "
            f"distances, summed over {n_terms} terms, overflow {X.dtype} (largest "
            f"{float(finfo.max):.3g}). {fix}"
            + (", or pass float64 data." if X.dtype == np.float32 else ".")
        )
    if 0 < spread and spread * spread < finfo.tiny:
        raise InvalidInputError(
            f"The features of {name} range over at most {spread:.3g}: squared "
            f"distances this small underflow in {X.dtype} (smallest normal "
            f"{float(finfo.tiny):.3g}). {fix}."
        )


def _check_power(X, power):
    """Reject a power to which the largest distance in X overflows float64."""
    if power == 2.0:
        return
    with np.errstate(over="ignore"):
        diameter = float(np.sqrt(np.sum(np.ptp(X, axis=0).astype(np.float64) ** 2)))
    if (
        diameter > 0
        and power * math.log10(diameter)
        > math.log10(np.finfo(np.float64).max) - math.log10(X.shape[0]) - 1
    ):
        raise InvalidInputError(
            f"power={power:g} is too large for these data: their distances (up "
            f"to {diameter:.3g}) raised to it overflow float64. Use a smaller "
            "power (R's d.power is 1 or 2), or rescale X."
        )


def check_sample_weight(sample_weight, n_samples, *, min_positive=1):
    """Sample weights as a float64 array of n_samples non-negative values, or None.

    A number weighs every sample alike (as scikit-learn accepts it). Raises a
    ValueError that says what is wrong: the shape, NaN or infinite, negative
    weights, a masked array with masked values, or fewer than `min_positive`
    positive weights (1: not all zero; GapKMeans asks for 2, as one sample
    has no spread); a TypeError for non-numeric weights.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, Real) and not isinstance(sample_weight, bool):
        sample_weight = np.full(n_samples, float(sample_weight))
    if np.ma.isMaskedArray(sample_weight) and np.ma.count_masked(sample_weight):
        raise InvalidInputError(
            f"sample_weight is a masked array with "
            f"{np.ma.count_masked(sample_weight)} masked values, and skgap would "
            "use the values under the mask. Give those samples a weight, e.g. "
            "sample_weight.filled(0) to leave them out."
        )
    try:
        weights = np.asarray(sample_weight)
        if weights.dtype.kind not in "biuf":
            raise InvalidInputError(f"dtype {weights.dtype}")
        weights = weights.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"sample_weight must be numbers, one per sample: got {exc}."
        ) from None
    if weights.shape != (n_samples,):
        raise InvalidInputError(
            f"sample_weight must have one weight per sample, of shape "
            f"({n_samples},), got shape {weights.shape}."
        )
    if not np.all(np.isfinite(weights)):
        bad = int(np.flatnonzero(~np.isfinite(weights))[0])
        raise InvalidInputError(
            f"sample_weight must be finite, got {weights[bad]} at sample {bad}."
        )
    if np.any(weights < 0):
        bad = int(np.flatnonzero(weights < 0)[0])
        raise InvalidInputError(
            f"sample_weight must be non-negative, got {weights[bad]} at sample "
            f"{bad}; a weight of 0 leaves a sample out."
        )
    # (a count, not the sum: weights of 1e306 would overflow it)
    n_positive = int(np.count_nonzero(weights))
    if n_positive == 0:
        raise InvalidInputError(
            "sample_weight is zero for every sample: at least one weight must be "
            "positive."
        )
    if n_positive < min_positive:
        raise InvalidInputError(
            f"Only one sample has a positive weight (sample "
            f"{int(np.flatnonzero(weights)[0])}): the weighted data have no spread, "
            f"so no number of clusters can be chosen. At least {min_positive} "
            "samples must have a positive weight."
            if n_positive == 1
            else f"Only {n_positive} samples have a positive weight: at least "
            f"{min_positive} must."
        )
    return np.ascontiguousarray(weights)


def check_labels(labels, n_samples, *, what="labels", given=True):
    """Cluster labels as non-negative integers (intp), one per sample.

    For labels a user passes (`given`: 1-D or a column vector) and for those
    a clusterer returns (1-D only); `what` names them in the messages. Exact
    integers of any dtype (bool, integral floats, Python ints in an object
    array) are accepted; missing values (NaN, None, pandas.NA), other
    non-integers, negative labels and a wrong shape raise a ValueError that
    says which, non-numeric labels a TypeError.
    """
    shape = np.shape(labels)
    if not (len(shape) == 1 or (given and len(shape) == 2 and shape[1] == 1)):
        raise InvalidInputError(
            f"{what} must be 1-D, one label per sample ({n_samples},), got "
            f"shape {shape}."
        )
    labels = column_or_1d(labels, warn=True) if len(shape) == 2 else np.asarray(labels)
    if labels.shape[0] != n_samples:
        raise InvalidInputError(
            f"{what} has {labels.shape[0]} entries but X has {n_samples} samples; "
            "pass one label per sample."
        )
    if labels.dtype.kind == "O":
        missing = np.array([_is_missing(value) for value in labels])
        if missing.any():
            _raise_missing(what, missing)
        try:
            converted = labels.astype(np.float64)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"{what} must be integers, got values such as "
                f"{labels[0]!r} of type {type(labels[0]).__name__}."
            ) from None
        labels = converted
    if labels.dtype.kind == "f":
        if np.isnan(labels).any():
            _raise_missing(what, np.isnan(labels))
        bad = ~np.isfinite(labels) | (labels != np.round(labels))
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(
                f"{what} must be integers, got non-integral values such as "
                f"{labels[position]} at position {position}."
            )
    elif labels.dtype.kind not in "iub":
        raise InvalidInputError(
            f"{what} must be integers, got an array of dtype {labels.dtype}."
        )
    if labels.size and labels.min() < 0:
        raise InvalidInputError(
            f"{what} must be non-negative, got {labels.min():g}. Noise labels such "
            "as -1 have no cluster: drop those samples or give them a cluster."
        )
    return labels.astype(np.intp, copy=False)


def _is_missing(value):
    """Whether `value` is None, NaN or pandas.NA (whose truth value raises)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pandas.NA: NA != NA is NA
        return True


def _raise_missing(what, missing):
    positions = np.flatnonzero(missing)
    shown = ", ".join(str(p) for p in positions[:5])
    raise InvalidInputError(
        f"{what} has {positions.size} missing values (NaN, None or NA), at "
        f"positions {shown}{', ...' if positions.size > 5 else ''}: every sample "
        "needs a cluster label; drop those samples or give them one."
    )


def _warn_feature_spreads(X, feature_names=None):
    """Warn when the features' spreads differ by more than two orders of magnitude.

    The distance is then that of the widest features: the gap chooses k for
    them alone (an unscaled feature is the usual cause of k = 1, or of the
    largest candidate).
    """
    from ._utils import warn_caller
    from .exceptions import SkgapWarning

    spreads = _column_std(X)
    varying = np.flatnonzero(spreads > 0)
    if varying.size < 2:
        return
    widest, narrowest = (
        varying[spreads[varying].argmax()],
        varying[spreads[varying].argmin()],
    )
    if spreads[widest] <= 100 * spreads[narrowest]:
        return

    def label(j):
        return repr(str(feature_names[j])) if feature_names is not None else str(j)

    warn_caller(
        f"The spreads of the features of X differ by more than two orders of "
        f"magnitude (standard deviation {spreads[widest]:.3g} for feature "
        f"{label(widest)}, {spreads[narrowest]:.3g} for feature "
        f"{label(narrowest)}): the distance is dominated by the widest features. "
        "Standardise X, e.g. with StandardScaler in a Pipeline: "
        "make_pipeline(StandardScaler(), GapKMeans()).",
        SkgapWarning,
    )


def _column_std(X, block_rows=8192):
    """The standard deviation of each column, in float64, block by block.

    ``X.std(axis=0)`` would hold a float64 array of X's size (twice X for
    float32): more than the rest of the fit needs.
    """
    mean = X.mean(axis=0, dtype=np.float64)
    squares = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], block_rows):
        deviations = np.subtract(X[start : start + block_rows], mean, dtype=np.float64)
        squares += np.einsum("ij,ij->j", deviations, deviations)
    return np.sqrt(squares / X.shape[0])


def _count_distinct_rows(X, at_least):
    """The number of distinct rows of X, or `at_least` once that many are found."""
    rows = np.ascontiguousarray(X).view(
        np.dtype((np.void, X.dtype.itemsize * X.shape[1]))
    )
    seen = set()
    step = max(at_least, 1024)
    for start in range(0, X.shape[0], step):
        seen.update(np.unique(rows[start : start + step, 0]).tolist())
        if len(seen) >= at_least:
            return at_least
    return len(seen)


def _warn_distinct(X, candidates):
    """Warn when X has fewer distinct samples than some candidate k."""
    from ._utils import short_list, warn_caller
    from .exceptions import SkgapWarning

    largest = max(candidates)
    n_distinct = _count_distinct_rows(X, largest)
    if n_distinct >= largest:
        return
    too_many = [k for k in candidates if k > n_distinct]
    warn_caller(
        f"X has only {n_distinct} distinct samples, fewer than the candidates "
        f"k=[{short_list(too_many)}]: no clusterer can find more than "
        f"{n_distinct} clusters there (duplicate samples). Use candidates up to "
        f"{n_distinct}, or check whether X was meant to have duplicates.",
        SkgapWarning,
    )
