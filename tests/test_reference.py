"""Reference samplers (skgap/_reference.py): the uniform box, the PCA box of SPEC
section 1, sample weights, and callables (with their bad output)."""

import pickle
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from skgap import GapKMeans
from skgap._reference import _BLOCK_ROWS, REFERENCES, make_reference_sampler


def _elongated(seed, n=100, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 3)) * [5.0, 1.0, 0.2]
    rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return (X @ rotation + [10.0, -3.0, 1.0]).astype(dtype)


def test_registry():
    assert set(REFERENCES) == {"uniform", "pca"}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_uniform_stays_in_feature_box(dtype):
    X = _elongated(0, dtype=dtype)
    sampler = make_reference_sampler("uniform", X)
    for seed in range(5):
        Z = sampler.sample(seed)
        assert Z.shape == X.shape
        assert Z.dtype == dtype
        assert Z.flags.c_contiguous
        assert np.all(Z >= X.min(axis=0))
        assert np.all(Z <= X.max(axis=0))
    # it fills the box: with 100 draws the ranges almost match
    Z = sampler.sample(0)
    assert_allclose(np.ptp(Z, axis=0), np.ptp(X, axis=0), rtol=0.1)


def test_uniform_is_uniform_per_feature():
    X = np.array([[0.0, -1.0], [1.0, 3.0]])
    sampler = make_reference_sampler("uniform", np.repeat(X, 5000, axis=0))
    Z = sampler.sample(1)
    assert_allclose(Z.mean(axis=0), [0.5, 1.0], atol=0.05)
    # variance of U(a, b) is (b - a)^2 / 12
    assert_allclose(Z.var(axis=0), [1 / 12, 16 / 12], rtol=0.05)


def test_uniform_matches_numpy_construction():
    X = _elongated(1)
    Z = make_reference_sampler("uniform", X).sample(123)
    rng = np.random.default_rng(123)
    lower, upper = X.min(axis=0), X.max(axis=0)
    expected = lower + rng.random(X.shape) * (upper - lower)
    assert_allclose(Z, expected, rtol=1e-14)


def _pca_reference_by_spec(X, seed):
    """SPEC: centre, V from the SVD, uniform in the rotated box, back, add the mean."""
    X = X.astype(np.float64)
    mean = X.mean(axis=0)
    centred = X - mean
    U, _, Vt = np.linalg.svd(centred, full_matrices=False)
    # the sign of each singular vector is arbitrary: skgap makes the largest
    # |entry| of each column of U positive (sklearn's svd_flip, u-based)
    signs = np.sign(U[np.abs(U).argmax(axis=0), range(U.shape[1])])
    V = Vt.T * signs
    rotated = centred @ V
    lower, upper = rotated.min(axis=0), rotated.max(axis=0)
    rng = np.random.default_rng(seed)
    uniform = lower + rng.random(X.shape) * (upper - lower)
    return uniform @ V.T + mean


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pca_equals_spec_construction(dtype):
    X = _elongated(2, dtype=dtype)
    sampler = make_reference_sampler("pca", X)
    for seed in (0, 7):
        Z = sampler.sample(seed)
        assert Z.shape == X.shape
        assert Z.dtype == dtype
        assert Z.flags.c_contiguous
        expected = _pca_reference_by_spec(X, seed)
        assert_allclose(
            Z,
            expected,
            rtol=1e-4 if dtype == np.float32 else 1e-10,
            atol=1e-4 if dtype == np.float32 else 1e-10,
        )


def test_pca_equals_spec_construction_over_many_blocks():
    # the set-up reads X in blocks of rows (a tall-skinny QR, then the ranges
    # and signs block by block): the same reference as the one-shot SVD
    X = _elongated(8, n=3 * _BLOCK_ROWS + 17)
    Z = make_reference_sampler("pca", X).sample(4)
    assert_allclose(Z, _pca_reference_by_spec(X, 4), rtol=1e-10, atol=1e-10)


def test_pca_set_up_holds_blocks_not_copies_of_X():
    X = np.random.RandomState(0).normal(size=(25 * _BLOCK_ROWS, 5))
    tracemalloc.start()
    try:
        make_reference_sampler("pca", X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # a centred copy, LAPACK's copy and U would each be X.nbytes
    assert peak < 0.25 * X.nbytes


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["uniform", "pca"])
def test_sample_into_an_existing_array(name, dtype):
    # GapKMeans redraws a reference set into the array KMeans centred in place
    X = _elongated(9, n=2 * _BLOCK_ROWS + 5, dtype=dtype)
    sampler = make_reference_sampler(name, X)
    assert sampler.draws_in_place
    out = np.full_like(X, np.nan)
    assert sampler.sample(11, out=out) is out
    assert_array_equal(out, sampler.sample(11))


def test_pca_reference_lies_in_rotated_box_not_feature_box():
    X = _elongated(3)
    Z = make_reference_sampler("pca", X).sample(0)
    mean = X.mean(axis=0)
    _, _, Vt = np.linalg.svd(X - mean, full_matrices=False)
    rotated_X = (X - mean) @ Vt.T
    rotated_Z = (Z - mean) @ Vt.T
    tol = 1e-9
    assert np.all(rotated_Z >= rotated_X.min(axis=0) - tol)
    assert np.all(rotated_Z <= rotated_X.max(axis=0) + tol)
    # the reference keeps the data's principal axes: its spread along the first
    # axis dwarfs the last, unlike the uniform box over the original features
    assert rotated_Z[:, 0].std() > 10 * rotated_Z[:, 2].std()


@pytest.mark.parametrize("seed", range(5))
def test_pca_is_rotation_equivariant(seed):
    # the reference of X @ R is the reference of X rotated by R, exactly: the
    # signs of the singular vectors are fixed from U, which rotation keeps
    X = _elongated(seed)
    rng = np.random.RandomState(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    Z = make_reference_sampler("pca", X).sample(5)
    Z_rotated = make_reference_sampler("pca", X @ rotation).sample(5)
    assert_allclose(Z_rotated, Z @ rotation, rtol=1e-9, atol=1e-9)


def test_pca_reference_of_translated_data_is_translated():
    X = _elongated(4)
    shift = np.array([100.0, -50.0, 3.0])
    Z = make_reference_sampler("pca", X).sample(2)
    assert_allclose(
        make_reference_sampler("pca", X + shift).sample(2),
        Z + shift,
        rtol=1e-9,
        atol=1e-9,
    )
    Z = make_reference_sampler("uniform", X).sample(2)
    assert_allclose(
        make_reference_sampler("uniform", X + shift).sample(2),
        Z + shift,
        rtol=1e-9,
        atol=1e-9,
    )


def test_different_seeds_differ_same_seed_repeats():
    X = _elongated(5)
    for name in REFERENCES:
        sampler = make_reference_sampler(name, X)
        assert_array_equal(sampler.sample(3), sampler.sample(3))
        assert not np.array_equal(sampler.sample(3), sampler.sample(4))


def test_samplers_pickle_and_do_not_keep_X():
    X = _elongated(6, n=2000)
    for name in REFERENCES:
        sampler = make_reference_sampler(name, X)
        clone = pickle.loads(pickle.dumps(sampler))
        assert_array_equal(clone.sample(0), sampler.sample(0))
        # small: a few vectors (and a p x p rotation), not the n x p data
        assert len(pickle.dumps(sampler)) < X.nbytes / 10


def test_sampler_does_not_modify_X():
    X = _elongated(7)
    X_copy = X.copy()
    for name in REFERENCES:
        make_reference_sampler(name, X).sample(0)
    assert_array_equal(X, X_copy)


@given(
    X=hnp.arrays(
        np.float64,
        st.tuples(st.integers(2, 20), st.integers(1, 4)),
        elements=st.floats(-1e3, 1e3, allow_nan=False),
    ),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_uniform_in_box(X, seed):
    Z = make_reference_sampler("uniform", X).sample(seed)
    assert Z.shape == X.shape
    assert np.all(Z >= X.min(axis=0)) and np.all(Z <= X.max(axis=0))


@given(
    X=hnp.arrays(
        np.float32,
        st.tuples(st.integers(2, 20), st.integers(1, 4)),
        elements=st.floats(-1e3, 1e3, allow_nan=False, width=32),
    ),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_uniform_in_box_float32(X, seed):
    Z = make_reference_sampler("uniform", X).sample(seed)
    assert Z.dtype == np.float32
    assert np.all(Z >= X.min(axis=0)) and np.all(Z <= X.max(axis=0))


# --- callable references ------------------------------------------------------


def test_callable_gets_read_only_X_and_int_seed():
    X = _elongated(8, n=40)
    calls = []

    def reference(X_seen, seed):
        calls.append((X_seen.flags.writeable, type(seed), X_seen.copy()))
        with pytest.raises(ValueError, match="read-only"):
            X_seen[0, 0] = 1.0
        return np.random.default_rng(seed).uniform(size=X_seen.shape)

    gap = GapKMeans(
        KMeans(n_init=1),
        n_clusters_range=[1, 2],
        n_refs=3,
        reference=reference,
        random_state=0,
    ).fit(X)
    assert len(calls) == 3
    for writeable, seed_type, X_seen in calls:
        assert not writeable
        assert seed_type is int
        assert_array_equal(X_seen, X)
    assert gap.reference_dispersions_.shape == (3, 2)


def test_callable_read_only_also_in_process_workers():
    X = _elongated(9, n=40)

    def reference(X_seen, seed):
        if X_seen.flags.writeable:
            raise AssertionError("X is writeable in the worker")
        return np.random.default_rng(seed).uniform(size=X_seen.shape)

    GapKMeans(
        KMeans(n_init=1),
        n_clusters_range=[1, 2],
        n_refs=2,
        reference=reference,
        n_jobs=2,
        random_state=0,
    ).fit(X)


def test_callable_output_used_as_reference():
    X = _elongated(10, n=30)
    constant = np.random.RandomState(0).uniform(size=X.shape)

    def reference(X_seen, seed):
        return constant.tolist()  # any array-like

    gap = GapKMeans(
        KMeans(n_init=1),
        n_clusters_range=[1],
        n_refs=2,
        reference=reference,
        random_state=0,
    ).fit(X)
    expected = ((constant - constant.mean(0)) ** 2).sum()
    assert_allclose(gap.reference_dispersions_, [[expected], [expected]], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_callable_output_cast_to_X_dtype(dtype):
    X = _elongated(11, n=30, dtype=dtype)
    sampler = make_reference_sampler(
        lambda X, seed: np.random.default_rng(seed).uniform(size=X.shape), X
    )
    Z = sampler.sample(0)
    assert Z.dtype == dtype
    assert Z.flags.c_contiguous


def test_callable_wrong_shape():
    X = _elongated(12, n=30)

    def short(X, seed):
        return X[:-1]

    sampler = make_reference_sampler(short, X)
    with pytest.raises(
        ValueError,
        match=r"short must return an array of X's shape \(30, 3\), got shape \(29, 3\)",
    ):
        sampler.sample(0)
    gap = GapKMeans(
        KMeans(n_init=1), n_clusters_range=[1, 2], n_refs=2, reference=short
    )
    with pytest.raises(ValueError, match="X's shape"):
        gap.fit(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_callable_nan_output(bad):
    X = _elongated(13, n=30)

    def nan_reference(X, seed):
        Z = np.array(X)
        Z[0, 0] = bad
        return Z

    with pytest.raises(ValueError, match="nan_reference returned NaN or infinite"):
        make_reference_sampler(nan_reference, X).sample(0)


def test_callable_non_numeric_output():
    X = _elongated(14, n=30)

    def words(X, seed):
        return "not an array"

    with pytest.raises(TypeError, match="words must return a numeric array"):
        make_reference_sampler(words, X).sample(0)


def _fit_with_reference(reference, X=None):
    if X is None:
        X = make_blobs(n_samples=60, centers=3, cluster_std=0.5, random_state=0)[0]
    return GapKMeans(
        KMeans(n_init=2),
        n_clusters_range=[1, 2, 3, 4],
        n_refs=4,
        reference=reference,
        random_state=0,
    ).fit(X)


def test_callable_with_huge_draws_is_named():
    def huge(X, seed):
        return np.random.default_rng(seed).uniform(0, 1e200, X.shape)

    with pytest.raises(ValueError, match=r"reference callable huge.*X's scale"):
        _fit_with_reference(huge)


@pytest.mark.parametrize(
    "returns, error, match",
    [
        (lambda X: X + 0j, TypeError, "complex"),
        (lambda X: np.ma.masked_less(X, 0.0), TypeError, "masked array"),
    ],
    ids=["complex", "masked"],
)
def test_callable_returning_what_x_may_not_be(returns, error, match):
    def reference(X, seed):
        return returns(X.copy())

    with pytest.raises(error, match=match):
        _fit_with_reference(reference)


def test_callable_that_writes_to_x_is_named():
    def centring(X, seed):
        X -= X.mean(axis=0)
        return X

    X = make_blobs(n_samples=60, centers=3, cluster_std=0.5, random_state=0)[0]
    X_copy = X.copy()
    with pytest.raises(ValueError, match=r"centring tried to write to X.*copy"):
        _fit_with_reference(centring, X)
    assert_array_equal(X, X_copy)


@pytest.mark.parametrize("name", ["pca", "uniform"])
def test_more_features_than_samples(name):
    # the principal box has min(n, p) axes; the reference still has X's shape
    X = np.random.RandomState(0).normal(size=(5, 12))
    Z = make_reference_sampler(name, X).sample(0)
    assert Z.shape == (5, 12)
    if name == "pca":
        # it lies in the affine span of the data
        mean = X.mean(0)
        _, _, Vt = np.linalg.svd(X - mean, full_matrices=False)
        residual = (Z - mean) - (Z - mean) @ Vt.T @ Vt
        assert_allclose(residual, 0.0, atol=1e-9)


def test_constant_feature_stays_constant():
    X = np.c_[np.random.RandomState(0).normal(size=30), np.full(30, 4.0)]
    for name in ("pca", "uniform"):
        Z = make_reference_sampler(name, X).sample(0)
        assert_allclose(Z[:, 1], 4.0, rtol=1e-12)


# --- sample weights: the weighted mean and axes, ranges of positive weights ---

_SAMPLER_ATTRIBUTES = {
    "pca": ("mean", "components", "lower", "span"),
    "uniform": ("lower", "span"),
}


def _weighted_elongated(seed, n=100):
    X = _elongated(seed, n=n)
    weights = np.random.RandomState(seed + 100).randint(0, 4, size=n)
    weights[:2] = [0, 3]
    return X, weights


def _assert_same_sampler(a, b, name, atol=1e-10):
    for attribute in _SAMPLER_ATTRIBUTES[name]:
        assert_allclose(
            getattr(a, attribute),
            getattr(b, attribute),
            rtol=0,
            atol=atol,
            err_msg=attribute,
        )


@pytest.mark.parametrize("name", ["pca", "uniform"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_integer_weights_give_the_sampler_of_repeated_rows(name, seed):
    X, weights = _weighted_elongated(seed)
    weighted = make_reference_sampler(name, X, weights.astype(np.float64))
    repeated = make_reference_sampler(name, np.repeat(X, weights, axis=0))
    _assert_same_sampler(weighted, repeated, name)
    # the draws keep X's shape: one reference row per sample, weighted alike
    assert weighted.sample(0).shape == X.shape


def test_integer_weights_pca_over_many_blocks():
    # the weighted axes are built block by block (a tall-skinny QR)
    X, weights = _weighted_elongated(0, n=2 * _BLOCK_ROWS + 123)
    weighted = make_reference_sampler("pca", X, weights.astype(np.float64))
    repeated = make_reference_sampler("pca", np.repeat(X, weights, axis=0))
    _assert_same_sampler(weighted, repeated, "pca", atol=1e-9)


def test_pca_weighted_mean_is_not_the_plain_mean():
    # the weights really shape the reference: a heavy sample pulls the mean
    X, weights = _weighted_elongated(0)
    weights[5] = 50
    weighted = make_reference_sampler("pca", X, weights.astype(np.float64))
    assert_allclose(weighted.mean, np.average(X, axis=0, weights=weights), atol=1e-12)
    assert not np.allclose(weighted.mean, X.mean(axis=0))


@pytest.mark.parametrize("name", ["pca", "uniform"])
def test_ranges_over_positive_weight_samples(name):
    X, weights = _weighted_elongated(3)
    X[0] = [1e3, -1e3, 1e3]  # an outlier of weight 0
    assert weights[0] == 0
    weighted = make_reference_sampler(name, X, weights.astype(np.float64))
    kept = weights > 0
    expected = make_reference_sampler(name, X[kept], weights[kept].astype(np.float64))
    _assert_same_sampler(weighted, expected, name)
    Z = weighted.sample(7)
    assert Z.shape == X.shape
    if name == "uniform":
        assert np.all(Z >= X[kept].min(axis=0))
        assert np.all(Z <= X[kept].max(axis=0))
    else:
        # far from the outlier: within the principal box of the kept samples
        rotated = (Z - weighted.mean) @ weighted.components.T
        assert np.all(rotated >= weighted.lower - 1e-9)
        assert np.all(rotated <= weighted.lower + weighted.span + 1e-9)
        assert np.abs(Z).max() < 100


@pytest.mark.parametrize("name", ["pca", "uniform"])
def test_weights_scaled_alike_give_the_same_sampler(name):
    X, weights = _weighted_elongated(1)
    weights = weights * np.random.RandomState(0).uniform(0.5, 2.0, size=len(X))
    a = make_reference_sampler(name, X, weights)
    b = make_reference_sampler(name, X, 7.5 * weights)
    _assert_same_sampler(a, b, name)


@pytest.mark.parametrize("name", ["pca", "uniform"])
def test_unit_weights_give_the_unweighted_sampler(name):
    X = _elongated(2)
    _assert_same_sampler(
        make_reference_sampler(name, X, np.ones(len(X))),
        make_reference_sampler(name, X),
        name,
    )


@pytest.mark.parametrize("name", ["pca", "uniform"])
def test_sampler_does_not_modify_weights(name):
    X, weights = _weighted_elongated(0)
    weights = weights.astype(np.float64)
    copy = weights.copy()
    make_reference_sampler(name, X, weights).sample(0)
    assert_array_equal(weights, copy)
