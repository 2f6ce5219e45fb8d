"""Reference data drawn under the null hypothesis of no clustering.

Each sampler is prepared once from X in ``fit`` and is small and picklable, so
that a worker regenerates reference data set b from its seed alone and the B
reference sets are never all in memory at once.
"""

import numpy as np

__all__ = ["REFERENCES", "make_reference_sampler"]

# Rows of a "pca" reference drawn and rotated at a time (bounds its temporaries).
_BLOCK_ROWS = 8192


def _uniform_box(rng, lower, span, n_samples, dtype):
    """Uniform draws over the box [lower, lower + span), one column per feature."""
    sample = rng.random((n_samples, lower.shape[0]), dtype=dtype)
    sample *= span
    sample += lower
    return sample


class _UniformSampler:
    """Each feature uniform over its observed range (R: ``spaceH0="original"``)."""

    def __init__(self, X):
        self.n_samples = X.shape[0]
        self.dtype = X.dtype
        self.lower = X.min(axis=0)
        self.span = X.max(axis=0) - self.lower

    def sample(self, seed):
        rng = np.random.default_rng(seed)
        return _uniform_box(rng, self.lower, self.span, self.n_samples, self.dtype)


class _PCASampler:
    """Uniform in the principal axes of the centred data (R: ``spaceH0="scaledPCA"``).

    The paper's method (b): centre X, rotate it onto the right singular vectors
    V of the centred data, draw uniformly over the ranges of the rotated
    columns, rotate back with V^T and add the mean back.
    """

    def __init__(self, X):
        self.n_samples = X.shape[0]
        self.dtype = X.dtype
        X64 = X.astype(np.float64, copy=False)
        self.mean = X64.mean(axis=0)
        centred = X64 - self.mean
        U, singular_values, components = np.linalg.svd(centred, full_matrices=False)
        del centred  # peak memory: X, centred, U and LAPACK's copy, never more
        # The sign of each singular vector is arbitrary and LAPACK-dependent; fix
        # it from U (the largest |entry| of each column positive), which does not
        # change when X is rotated, so that the reference of X @ R is exactly the
        # reference of X rotated by R, on every machine.
        signs = np.sign(U[np.argmax(np.abs(U), axis=0), np.arange(U.shape[1])])
        signs[signs == 0] = 1.0
        self.components = components * signs[:, np.newaxis]
        # The rotated data centred @ components.T are U * s (with the signs):
        # scale U in place rather than allocate the product.
        U *= singular_values * signs
        self.lower = U.min(axis=0)
        self.span = U.max(axis=0) - self.lower

    def sample(self, seed):
        # Rotated back block by block, so that the draw needs no second array
        # of X's size; consecutive blocks take the same random stream as one
        # draw of the whole array.
        rng = np.random.default_rng(seed)
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

    def __init__(self, func, X):
        self.func = func
        self.X = X.view()
        self.X.flags.writeable = False  # the user's function cannot change X

    def sample(self, seed):
        sample = self.func(self.X, seed)
        name = getattr(self.func, "__name__", repr(self.func))
        try:
            sample = np.asarray(sample, dtype=self.X.dtype)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"The reference callable {name} must return a numeric array; it "
                f"returned {type(sample).__name__}."
            ) from exc
        if sample.shape != self.X.shape:
            raise ValueError(
                f"The reference callable {name} must return an array of X's shape "
                f"{self.X.shape}, got shape {sample.shape}."
            )
        if not np.all(np.isfinite(sample)):
            raise ValueError(
                f"The reference callable {name} returned NaN or infinite values."
            )
        return np.ascontiguousarray(sample)


#: The built-in reference distributions by name.
REFERENCES = {"uniform": _UniformSampler, "pca": _PCASampler}


def make_reference_sampler(reference, X):
    """Prepare the sampler of `reference` ("uniform", "pca" or a callable) for X.

    The returned object has ``sample(seed) -> ndarray`` of X's shape and dtype.
    """
    if callable(reference):
        return _CallableSampler(reference, X)
    return REFERENCES[reference](X)
