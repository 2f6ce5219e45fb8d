"""Reference data drawn under the null hypothesis of no clustering.

Each sampler is prepared once from X in ``fit`` and is small and picklable, so
that a worker regenerates reference data set b from its seed alone and the B
reference sets are never all in memory at once.
"""

import numpy as np

from ._utils import read_only
from ._validation import _check_magnitude
from .exceptions import InvalidInputError

__all__ = ["REFERENCES", "make_reference_sampler"]

# Rows of a "pca" reference drawn and rotated at a time, and of X per step of
# the sampler's set-up (bounds their temporaries).
_BLOCK_ROWS = 8192


def _uniform_box(rng, lower, span, n_samples, dtype, out=None):
    """Uniform draws over the box [lower, lower + span), one column per feature.

    Drawn into `out` if given (the same values as a new array).
    """
    if out is None:
        out = np.empty((n_samples, lower.shape[0]), dtype=dtype)
    rng.random(dtype=dtype, out=out)
    out *= span
    out += lower
    return out


def _weighted_rows(X, sample_weight):
    """The rows of X that weigh something (all of X without weights)."""
    if sample_weight is None or np.all(sample_weight > 0):
        return X
    return X[sample_weight > 0]


class _UniformSampler:
    """Each feature uniform over its observed range (R: ``spaceH0="original"``).

    With sample weights, the range of the samples of positive weight.
    """

    # sample(seed, out) redraws exactly the same values into an existing array.
    draws_in_place = True

    def __init__(self, X, sample_weight=None):
        self.n_samples = X.shape[0]
        self.dtype = X.dtype
        X = _weighted_rows(X, sample_weight)
        self.lower = X.min(axis=0)
        self.span = X.max(axis=0) - self.lower

    def sample(self, seed, out=None):
        rng = np.random.default_rng(seed)
        return _uniform_box(
            rng, self.lower, self.span, self.n_samples, self.dtype, out=out
        )


class _PCASampler:
    """Uniform in the principal axes of the centred data (R: ``spaceH0="scaledPCA"``).

    The paper's method (b): centre X, rotate it onto the right singular vectors
    V of the centred data, draw uniformly over the ranges of the rotated
    columns, rotate back with V^T and add the mean back. With sample weights:
    the weighted mean, the axes of the centred data with row i scaled by
    sqrt(w_i) (those of the data with each row repeated w_i times, for
    integer weights), and the ranges of the samples of positive weight.
    """

    draws_in_place = True

    def __init__(self, X, sample_weight=None):
        self.n_samples, n_features = X.shape
        self.dtype = X.dtype
        if sample_weight is None:
            self.mean = X.mean(axis=0, dtype=np.float64)
        else:
            self.mean = np.average(X, axis=0, weights=sample_weight).astype(np.float64)
        # V from the SVD of the R factor of the centred data, which is built
        # block by block (a tall-skinny QR): the set-up never holds a centred
        # copy of X, LAPACK's copy of it nor U, only blocks of rows.
        rows = max(_BLOCK_ROWS, 2 * n_features)
        R = np.empty((0, n_features))
        for start, block in self._centred_blocks(X, rows):
            if sample_weight is not None:
                block *= np.sqrt(sample_weight[start : start + rows])[:, np.newaxis]
            R = np.linalg.qr(np.vstack([R, block]), mode="r")
        _, _, components = np.linalg.svd(R, full_matrices=False)
        # The rotated data, centred @ V, are U scaled by the singular values:
        # their ranges and, for the signs, their largest |entry| per column.
        lower = np.full(components.shape[0], np.inf)
        upper = -lower
        largest = np.zeros(components.shape[0])
        signs = np.ones(components.shape[0])
        for start, block in self._centred_blocks(X, rows):
            if sample_weight is not None:
                block = block[sample_weight[start : start + rows] > 0]
                if not block.shape[0]:
                    continue
            rotated = block @ components.T
            np.minimum(lower, rotated.min(axis=0), out=lower)
            np.maximum(upper, rotated.max(axis=0), out=upper)
            at = np.abs(rotated).argmax(axis=0)
            values = rotated[at, np.arange(rotated.shape[1])]
            larger = np.abs(values) > largest  # the first largest, as argmax
            largest[larger] = np.abs(values[larger])
            signs[larger] = np.sign(values[larger])
        # The sign of each singular vector is arbitrary and LAPACK-dependent; fix
        # it from U (its largest |entry| of each column positive), which does
        # not change when X is rotated, so that the reference of X @ R is
        # exactly the reference of X rotated by R, on every machine.
        self.components = components * signs[:, np.newaxis]
        self.lower = np.where(signs > 0, lower, -upper)
        self.span = np.where(signs > 0, upper, -lower) - self.lower

    def _centred_blocks(self, X, rows):
        for start in range(0, self.n_samples, rows):
            yield (
                start,
                np.subtract(X[start : start + rows], self.mean, dtype=np.float64),
            )

    def sample(self, seed, out=None):
        # Rotated back block by block, so that the draw needs no second array
        # of X's size; consecutive blocks take the same random stream as one
        # draw of the whole array.
        rng = np.random.default_rng(seed)
        sample = out
        if sample is None:
            sample = np.empty((self.n_samples, self.components.shape[1]), self.dtype)
        for start in range(0, self.n_samples, _BLOCK_ROWS):
            stop = min(start + _BLOCK_ROWS, self.n_samples)
            rotated = _uniform_box(rng, self.lower, self.span, stop - start, np.float64)
            block = rotated @ self.components
            block += self.mean
            sample[start:stop] = block
        return sample


class _CallableSampler:
    """A user's ``reference(X, random_state)``, checked on every call."""

    draws_in_place = False

    def __init__(self, func, X):
        self.func = func
        self.X = read_only(X)  # the user's function cannot change X

    def sample(self, seed):
        name = getattr(self.func, "__name__", repr(self.func))
        try:
            sample = self.func(self.X, seed)
        except ValueError as exc:
            if "read-only" not in str(exc):
                raise
            raise InvalidInputError(
                f"The reference callable {name} tried to write to X, which skgap "
                "passes read-only (it is the caller's data): copy it first, e.g. "
                f"X = X.copy(). ({exc})"
            ) from exc
        if np.iscomplexobj(sample):
            raise InvalidInputError(
                f"The reference callable {name} returned complex values; a "
                "reference data set must be real, like X."
            )
        if np.ma.isMaskedArray(sample):
            raise InvalidInputError(
                f"The reference callable {name} returned a masked array; return a "
                "plain array (without masked values), like X."
            )
        try:
            sample = np.asarray(sample, dtype=self.X.dtype)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"The reference callable {name} must return a numeric array; it "
                f"returned {type(sample).__name__}."
            ) from exc
        if sample.shape != self.X.shape:
            raise InvalidInputError(
                f"The reference callable {name} must return an array of X's shape "
                f"{self.X.shape}, got shape {sample.shape}."
            )
        if not np.all(np.isfinite(sample)):
            raise InvalidInputError(
                f"The reference callable {name} returned NaN or infinite values."
            )
        _check_magnitude(
            sample,
            name=f"The draw of the reference callable {name}",
            fix=f"Make {name} draw values of X's scale",
        )
        return np.ascontiguousarray(sample)


#: The built-in reference distributions by name.
REFERENCES = {"uniform": _UniformSampler, "pca": _PCASampler}


def make_reference_sampler(reference, X, sample_weight=None):
    """Prepare the sampler of `reference` ("uniform", "pca" or a callable) for X.

    `sample_weight` (None or non-negative float64 weights) shapes the built-in
    references; a callable receives X alone.

    The returned object has ``sample(seed) -> ndarray`` of X's shape and dtype;
    if its ``draws_in_place`` is true, ``sample(seed, out=array)`` draws the
    same values into an existing array.
    """
    if callable(reference):
        return _CallableSampler(reference, X)
    return REFERENCES[reference](X, sample_weight)
