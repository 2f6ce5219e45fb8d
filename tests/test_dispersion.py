"""within_cluster_dispersion and its Cython kernels against the O(n^2) oracle."""

import _oracle
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose
from sklearn.cluster import KMeans

from skgap import within_cluster_dispersion
from skgap._dispersion import _dispersion

POWERS = [2.0, 1.0, 0.5, 3.0]
RTOL = {np.float64: 1e-7, np.float32: 1e-4}


def _data(seed, n=60, p=3, k=4, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, p)).astype(dtype)
    labels = rng.randint(k, size=n)
    return X, labels


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("power", POWERS)
def test_kernel_equals_oracle(global_random_seed, dtype, power):
    X, labels = _data(global_random_seed, dtype=dtype)
    got = within_cluster_dispersion(X, labels, power=power)
    assert isinstance(got, float)
    assert_allclose(got, _oracle.dispersion(X, labels, power), rtol=RTOL[dtype])


def test_docstring_values_by_hand():
    # two clusters of two points at distance 2 and 4: sum over ordered pairs / (2 n_r)
    X = [[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 4.0]]
    assert within_cluster_dispersion(X, [0, 0, 1, 1]) == pytest.approx(
        (2 * 2**2) / 4 + (2 * 4**2) / 4
    )
    assert within_cluster_dispersion(X, [0, 0, 1, 1], power=1.0) == pytest.approx(
        (2 * 2) / 4 + (2 * 4) / 4
    )
    assert within_cluster_dispersion(X, [0, 0, 1, 1], power=3.0) == pytest.approx(
        (2 * 8) / 4 + (2 * 64) / 4
    )


@pytest.mark.parametrize("power", POWERS)
def test_empty_clusters_and_label_gaps(power):
    X, labels = _data(0, k=3)
    gappy = np.array([0, 7, 3])[labels]  # labels 1, 2, 4, 5, 6 are empty
    expected = _oracle.dispersion(X, labels, power)
    assert_allclose(
        within_cluster_dispersion(X, gappy, power=power), expected, rtol=1e-7
    )


@pytest.mark.parametrize("power", POWERS)
def test_one_cluster(power):
    X, _ = _data(1)
    labels = np.zeros(X.shape[0], dtype=int)
    assert_allclose(
        within_cluster_dispersion(X, labels, power=power),
        _oracle.dispersion(X, labels, power),
        rtol=1e-7,
    )
    if power == 2.0:
        # one cluster: the total sum of squares about the mean
        assert_allclose(
            within_cluster_dispersion(X, labels),
            ((X - X.mean(0)) ** 2).sum(),
            rtol=1e-12,
        )


@pytest.mark.parametrize("power", POWERS)
def test_singleton_clusters_give_zero(power):
    X, _ = _data(2, n=10)
    assert within_cluster_dispersion(X, np.arange(10), power=power) == 0.0
    # a singleton next to a real cluster adds nothing
    labels = np.r_[np.zeros(9, dtype=int), 1]
    assert_allclose(
        within_cluster_dispersion(X, labels, power=power),
        _oracle.dispersion(X[:9], labels[:9], power),
        rtol=1e-7,
    )


@pytest.mark.parametrize("power", POWERS)
def test_duplicate_points_give_zero(power):
    X = np.repeat([[1.0, 2.0], [3.0, -1.0]], 5, axis=0)
    assert within_cluster_dispersion(X, np.repeat([0, 1], 5), power=power) == 0.0


@pytest.mark.parametrize("power", POWERS)
def test_non_contiguous_and_fortran_input(power):
    X, labels = _data(3, n=80, p=6)
    expected = _oracle.dispersion(X[::2, ::3], labels[::2], power)
    X_strided = X[::2, ::3]
    assert not X_strided.flags.c_contiguous
    assert_allclose(
        within_cluster_dispersion(X_strided, labels[::2], power=power),
        expected,
        rtol=1e-7,
    )
    X_fortran = np.asfortranarray(X_strided)
    assert_allclose(
        within_cluster_dispersion(X_fortran, labels[::2], power=power),
        expected,
        rtol=1e-7,
    )


@pytest.mark.parametrize("power", POWERS)
def test_read_only_memmap_input(tmp_path, power):
    X, labels = _data(4)
    path = tmp_path / "X.npy"
    np.save(path, X)
    X_map = np.load(path, mmap_mode="r")
    labels_ro = labels.copy()
    labels_ro.flags.writeable = False
    assert not X_map.flags.writeable
    assert_allclose(
        within_cluster_dispersion(X_map, labels_ro, power=power),
        _oracle.dispersion(X, labels, power),
        rtol=1e-7,
    )


@pytest.mark.parametrize("power", [2.0, 1.0])
def test_large_label_values(power):
    X, labels = _data(5, n=30, k=3)
    big = np.array([10**12, 5, 2**40])[labels]
    assert_allclose(
        within_cluster_dispersion(X, big, power=power),
        _oracle.dispersion(X, labels, power),
        rtol=1e-7,
    )
    # labels of unsigned and small integer types, and integral floats
    for converted in (
        labels.astype(np.uint8),
        labels.astype(np.int16),
        labels.astype(float),
    ):
        assert_allclose(
            within_cluster_dispersion(X, converted, power=power),
            _oracle.dispersion(X, labels, power),
            rtol=1e-7,
        )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_power_2_equals_kmeans_inertia(dtype):
    X, _ = _data(6, n=200, p=4, dtype=dtype)
    km = KMeans(n_clusters=5, n_init=1, random_state=0).fit(X)
    W = within_cluster_dispersion(X, km.labels_)
    # inertia_ is about the final centres; recompute it for the final labels
    centres = np.array([X[km.labels_ == r].mean(0) for r in range(5)], dtype=np.float64)
    inertia = ((X.astype(np.float64) - centres[km.labels_]) ** 2).sum()
    assert_allclose(W, inertia, rtol=RTOL[dtype])
    assert_allclose(W, km.inertia_, rtol=1e-4)


def test_power_2_is_accurate_far_from_the_origin():
    # sum(x^2) - n mean^2 would lose every digit here; the two-pass kernel does not
    X, labels = _data(7, n=50, p=2)
    shifted = X + 1e8
    assert_allclose(
        within_cluster_dispersion(shifted, labels),
        within_cluster_dispersion(X, labels),
        rtol=1e-6,
    )


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
def test_r_dispersion_is_half_of_ours(power):
    X, labels = _data(8, n=25, k=3)
    assert_allclose(
        _oracle.r_dispersion(X, labels, power),
        within_cluster_dispersion(X, labels, power=power) / 2,
        rtol=1e-10,
    )


def test_float32_summed_in_double():
    # 1e5 float32 samples: float32 accumulation would drift well beyond 1e-6
    rng = np.random.RandomState(9)
    X = rng.uniform(size=(100_000, 1)).astype(np.float32)
    labels = np.zeros(X.shape[0], dtype=int)
    expected = ((X.astype(np.float64) - X.astype(np.float64).mean()) ** 2).sum()
    assert_allclose(within_cluster_dispersion(X, labels), expected, rtol=1e-9)


def test_inputs_not_modified():
    X, labels = _data(10)
    X_f, labels_f = X.copy(), labels.copy()
    for power in POWERS:
        within_cluster_dispersion(X, labels, power=power)
    np.testing.assert_array_equal(X, X_f)
    np.testing.assert_array_equal(labels, labels_f)


def test_lists_accepted():
    X, labels = _data(11, n=12)
    assert within_cluster_dispersion(X.tolist(), labels.tolist()) == pytest.approx(
        within_cluster_dispersion(X, labels), rel=1e-12
    )


# --- validation ---------------------------------------------------------------


def test_error_wrong_length():
    X, labels = _data(0)
    with pytest.raises(ValueError, match="labels has 59 entries but X has 60 samples"):
        within_cluster_dispersion(X, labels[:-1])


@pytest.mark.parametrize("power", [2.0, 1.0])
def test_error_negative_labels(power):
    X, labels = _data(0)
    labels[3] = -1
    with pytest.raises(ValueError, match="labels must be non-negative, got -1"):
        within_cluster_dispersion(X, labels, power=power)


def test_error_non_integer_labels():
    X, labels = _data(0)
    with pytest.raises(ValueError, match="non-integral"):
        within_cluster_dispersion(X, labels + 0.5)
    with pytest.raises(TypeError, match="labels must be integers"):
        within_cluster_dispersion(X, labels.astype(str))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_error_nan_or_inf_in_X(bad):
    X, labels = _data(0)
    X[2, 1] = bad
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        within_cluster_dispersion(X, labels)


@pytest.mark.parametrize("power", [0.0, -1.0])
def test_error_power_not_positive(power):
    X, labels = _data(0)
    with pytest.raises(
        ValueError, match=r"power.*must be a float in the range \(0(\.0)?, inf\)"
    ):
        within_cluster_dispersion(X, labels, power=power)


def test_error_overflow():
    X = np.array([[0.0], [1e200], [0.0], [1e200]])
    with pytest.raises(ValueError, match="overflowed"):
        within_cluster_dispersion(X, [0, 0, 1, 1])


# --- hypothesis properties ----------------------------------------------------


@st.composite
def partitions(draw, max_n=25):
    n = draw(st.integers(1, max_n))
    p = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    X = draw(
        hnp.arrays(
            dtype,
            (n, p),
            elements=st.floats(-100, 100, allow_nan=False, width=32),
        )
    )
    labels = draw(hnp.arrays(np.int64, n, elements=st.integers(0, max(n // 2, 1))))
    return X, labels


@given(data=partitions(), power=st.sampled_from([2.0, 1.0, 0.5, 3.0, 1.7]))
def test_property_kernel_equals_oracle(data, power):
    X, labels = data
    got = within_cluster_dispersion(X, labels, power=power)
    expected = _oracle.dispersion(X, labels, power)
    # float32 data are compared at float32 precision; an absolute floor covers
    # the cancellation of power-2 sums over near-identical points
    rtol = RTOL[X.dtype.type]
    atol = rtol * _oracle.dispersion(X, np.zeros_like(labels), power) + 1e-12
    assert_allclose(got, expected, rtol=rtol, atol=atol)
    assert got >= 0.0


@given(
    data=partitions(),
    power=st.sampled_from([2.0, 1.0, 0.5]),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_invariant_to_permutation_and_renaming(data, power, seed):
    X, labels = data
    rng = np.random.default_rng(seed)
    W = within_cluster_dispersion(X, labels, power=power)
    permutation = rng.permutation(X.shape[0])
    W_permuted = within_cluster_dispersion(
        X[permutation], labels[permutation], power=power
    )
    renaming = rng.permutation(1000)[: labels.max() + 1]
    W_renamed = within_cluster_dispersion(X, renaming[labels], power=power)
    scale = _oracle.dispersion(X, np.zeros_like(labels), power)
    rtol = RTOL[X.dtype.type]
    assert_allclose(W_permuted, W, rtol=rtol, atol=rtol * scale + 1e-12)
    assert_allclose(W_renamed, W, rtol=rtol, atol=rtol * scale + 1e-12)


@given(data=partitions(max_n=15))
def test_property_private_dispersion_equals_public(data):
    # the fit loop calls _dispersion on validated input directly
    X, labels = data
    X = np.ascontiguousarray(X)
    for power in (2.0, 1.0):
        assert _dispersion(X, labels, power) == within_cluster_dispersion(
            X, labels, power=power
        )
