"""within_cluster_dispersion (skgap/_dispersion.py) and its Cython kernels
(skgap/_dispersion_fast.pyx): against the O(n^2) oracle and exact sums, with
sample weights and other metrics. Its bad input: test_validation.py."""

import math
import tracemalloc

import _oracle
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose
from scipy.spatial.distance import pdist
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

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


# --- numerical accuracy: exact sums (math.fsum) far from the origin -------------
#
# power=2 (two-pass path): W_k agrees with an exact reference, built with
# math.fsum (correctly rounded sums) from the exact float64 values of the data,
# to 1e-12 relative for float64 and 1e-6 for float32 data, for up to 10**6
# samples at offsets up to 10**6 from the origin (where the one-pass formula
# sum(x**2) - n * mean**2 loses every digit). Other powers (pairwise path): the
# same agreement with an fsum over the pairs, and no O(n**2) memory.


def _exact_squared_dispersion(X, labels):
    """sum_r sum_{i in r} ||x_i - mean_r||**2 with correctly rounded sums.

    The mean is the correctly rounded fsum divided by n_r (relative error one
    ulp, which changes the sum of squares only at second order, since the
    deviations from the true mean sum to zero); the deviations of values
    within a factor 2 of the mean are exact (Sterbenz), and their squares are
    summed with fsum.
    """
    X = np.asarray(X, dtype=np.float64)  # exact for float32 input
    total = []
    for r in np.unique(labels):
        block = X[labels == r]
        for j in range(X.shape[1]):
            column = block[:, j]
            mean = math.fsum(column) / column.shape[0]
            deviations = column - mean
            total.append(math.fsum(deviations * deviations))
    return math.fsum(total)


def _exact_pairwise_dispersion(X, labels, power):
    """sum_r 1/(2 n_r) sum_{i, j in r} d_ij**power, each cluster's sum by fsum."""
    X = np.asarray(X, dtype=np.float64)
    total = []
    for r in np.unique(labels):
        block = X[labels == r]
        diff = block[:, None, :] - block[None, :, :]
        distance = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
        total.append(math.fsum((distance**power).ravel()) / (2 * block.shape[0]))
    return math.fsum(total)


def _offset_data(n, n_features, offset, dtype, seed=0, n_clusters=5):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_clusters, size=n)
    centers = rng.normal(scale=3.0, size=(n_clusters, n_features))
    X = offset + centers[labels] + rng.normal(size=(n, n_features))
    return X.astype(dtype), labels


@pytest.mark.parametrize(
    ("n", "n_features", "offset"),
    [(10, 3, 0.0), (1000, 2, 1e3), (1000, 2, 1e6), (10**6, 1, 1e6), (10**5, 2, 1e6)],
)
@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_squared_path_matches_exact_fsum(n, n_features, offset, dtype, rtol):
    X, labels = _offset_data(n, n_features, offset, dtype)
    exact = _exact_squared_dispersion(X, labels)
    got = within_cluster_dispersion(X, labels)
    assert got == pytest.approx(exact, rel=rtol, abs=0)
    # the fit loop's entry point computes the same value
    assert _dispersion(np.ascontiguousarray(X), labels, 2.0) == got


def test_one_pass_formula_would_fail_here():
    """The data above really are hard: the textbook formula is off by > 1e-3."""
    X, labels = _offset_data(10**5, 2, 1e6, np.float64)
    exact = _exact_squared_dispersion(X, labels)
    naive = sum(
        float(
            (X[labels == r] ** 2).sum()
            - (labels == r).sum() * (X[labels == r].mean(axis=0) ** 2).sum()
        )
        for r in np.unique(labels)
    )
    assert abs(naive - exact) / exact > 1e-3
    assert within_cluster_dispersion(X, labels) == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("power", [1.0, 0.5, 3.0, 2.0])
@pytest.mark.parametrize(
    ("dtype", "rtol", "offset"),
    [(np.float64, 1e-12, 0.0), (np.float64, 1e-12, 1e6), (np.float32, 1e-6, 1e3)],
)
def test_pairwise_path_matches_exact_fsum(power, dtype, rtol, offset):
    X, labels = _offset_data(400, 3, offset, dtype, n_clusters=3)
    exact = _exact_pairwise_dispersion(X, labels, power)
    if power == 2.0:
        # the pairwise path itself, not the two-pass one
        got = _pairwise_only(X, labels)
    else:
        got = within_cluster_dispersion(X, labels, power=power)
    assert got == pytest.approx(exact, rel=rtol, abs=0)


def _pairwise_only(X, labels):
    from skgap._dispersion_fast import _pairwise_dispersion

    order = np.argsort(labels, kind="stable")
    offsets = np.zeros(labels.max() + 2, dtype=np.intp)
    np.cumsum(np.bincount(labels), out=offsets[1:])
    out = np.zeros(labels.max() + 1)
    _pairwise_dispersion(np.ascontiguousarray(X[order]), offsets, None, 2.0, out)
    return math.fsum(out)


def test_pairwise_path_memory_is_linear():
    n, n_features = 20_000, 2
    X = np.random.default_rng(0).normal(size=(n, n_features))
    labels = np.zeros(n, dtype=np.intp)  # one cluster of 20,000 points
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        value = within_cluster_dispersion(X, labels, power=1.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.isfinite(value) and value > 0
    # O(n**2) would be n * n * 8 bytes = 3.2 GB; a few copies of X and of the
    # labels are 0.5 MB.
    assert peak < 10 * X.nbytes, peak


# --- sample weights: integer weights are repeated rows -------------------------


def _weighted_data(n_samples=90):
    X, _ = make_blobs(n_samples=n_samples, centers=3, cluster_std=0.6, random_state=1)
    weights = np.random.RandomState(0).randint(0, 4, size=n_samples)
    weights[:3] = [0, 1, 3]
    return X, weights


@pytest.mark.parametrize(
    "dtype, rtol", [(np.float64, 1e-10), (np.float32, 1e-6)], ids=["f64", "f32"]
)
@pytest.mark.parametrize("power", [2.0, 1.0, 1.5])
def test_integer_weights_equal_repeated_rows(dtype, rtol, power):
    X, weights = _weighted_data()
    X = X.astype(dtype)
    labels = np.random.RandomState(1).randint(4, size=len(X))
    got = within_cluster_dispersion(X, labels, power=power, sample_weight=weights)
    expected = within_cluster_dispersion(
        np.repeat(X, weights, axis=0), np.repeat(labels, weights), power=power
    )
    assert_allclose(got, expected, rtol=rtol)
    # the weights matter: not the unweighted value
    assert not np.isclose(
        got, within_cluster_dispersion(X, labels, power=power), rtol=1e-3
    )


@given(
    data=st.integers(2, 20).flatmap(
        lambda n: st.tuples(
            hnp.arrays(
                np.float64,
                (n, 2),
                elements=st.floats(-50, 50, allow_nan=False, width=32),
            ),
            hnp.arrays(np.int64, n, elements=st.integers(0, 3)),
            hnp.arrays(np.int64, n, elements=st.integers(0, 4)),
        )
    ),
    power=st.sampled_from([2.0, 1.0, 0.5, 1.5]),
)
def test_property_integer_weights_equal_repeated_rows(data, power):
    X, labels, weights = data
    if weights.sum() == 0:
        weights[0] = 1
    expected = within_cluster_dispersion(
        np.repeat(X, weights, axis=0), np.repeat(labels, weights), power=power
    )
    # W_k = 0 with zero-weight samples: test_one_positive_weight_per_cluster_gives_zero
    assume(expected > 0 or np.all(weights > 0))
    got = within_cluster_dispersion(X, labels, power=power, sample_weight=weights)
    # an absolute floor for power-2 sums of near-identical points
    scale = within_cluster_dispersion(
        np.repeat(X, weights, axis=0), np.zeros(weights.sum(), int), power=power
    )
    assert_allclose(got, expected, rtol=1e-9, atol=1e-12 * scale + 1e-300)


@pytest.mark.parametrize("power", [2.0, 1.0])
def test_zero_weights_drop_samples(power):
    X, weights = _weighted_data()
    labels = np.random.RandomState(2).randint(3, size=len(X))
    kept = weights > 0
    assert not kept.all()
    got = within_cluster_dispersion(X, labels, power=power, sample_weight=weights)
    expected = within_cluster_dispersion(
        X[kept], labels[kept], power=power, sample_weight=weights[kept]
    )
    assert_allclose(got, expected, rtol=1e-12)
    # moving a zero-weight sample anywhere changes nothing
    moved = X.copy()
    moved[~kept] += 1e3
    assert_allclose(
        within_cluster_dispersion(moved, labels, power=power, sample_weight=weights),
        got,
        rtol=1e-12,
    )


@pytest.mark.parametrize("power", [2.0, 1.0])
def test_one_positive_weight_per_cluster_gives_zero(power):
    X = np.array([[0.0, 1.0], [1.0, 1.0], [5.0, 5.0], [6.0, 6.0]])
    W = within_cluster_dispersion(
        X, [0, 0, 1, 1], power=power, sample_weight=[1, 0, 1, 0]
    )
    assert W == 0.0


def test_a_cluster_of_zero_weight_adds_nothing():
    X = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 4.0]])
    labels = [0, 0, 1, 1]
    for power in (2.0, 1.0):
        assert within_cluster_dispersion(
            X, labels, power=power, sample_weight=[1, 1, 0, 0]
        ) == within_cluster_dispersion(X[:2], [0, 0], power=power)


@pytest.mark.parametrize("power", [2.0, 1.0])
def test_constant_weight_scales_the_dispersion(power):
    # W_k = sum_r 1/(2 c n_r) sum c^2 d^power = c W_k
    X, _ = _weighted_data()
    labels = np.random.RandomState(3).randint(3, size=len(X))
    W = within_cluster_dispersion(X, labels, power=power)
    assert_allclose(
        within_cluster_dispersion(X, labels, power=power, sample_weight=2.5),
        2.5 * W,
        rtol=1e-12,
    )
    assert_allclose(
        within_cluster_dispersion(
            X, labels, power=power, sample_weight=np.ones(len(X))
        ),
        W,
        rtol=1e-12,
    )


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


# --- metric and metric_params: the blocked pairwise sums ----------------------


def _sqrt_cityblock(u, v):
    """A user's metric: a callable of two 1-D arrays."""
    return float(np.sqrt(np.abs(u - v).sum()))


def _metric_oracle(X, labels, metric, power, sample_weight=None, **params):
    """SPEC's weighted W_k with scipy's distances, read literally.

    sum_r 1/(2 w_r) sum_{i, j in C_r} w_i w_j d(x_i, x_j) ** power over the
    ordered pairs: pdist lists each unordered pair i < j once and the pairs
    i == j add d(x, x) = 0, so the sum is twice that of pdist.
    """
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight)
    total = 0.0
    for r in np.unique(labels):
        members = labels == r
        if members.sum() < 2 or w[members].sum() == 0:
            continue
        distances = pdist(X[members], metric=metric, **params) ** power
        i, j = np.triu_indices(members.sum(), k=1)
        wr = w[members]
        total += 2.0 * np.sum(wr[i] * wr[j] * distances) / (2.0 * wr.sum())
    return total


def _metric_data():
    rng = np.random.RandomState(0)
    labels = rng.randint(3, size=50)
    X = rng.normal(size=(50, 4)) + 2.0 * labels[:, np.newaxis]
    # a fourth cluster of two samples of zero weight, and zero weights elsewhere
    labels[[5, 17]] = 3
    weights = rng.uniform(0.2, 3.0, size=50)
    weights[[5, 17, 30, 41]] = 0.0
    return X, labels, weights


METRIC_CASES = [
    ("cityblock", {}),
    ("cosine", {}),
    ("correlation", {}),
    ("chebyshev", {}),
    ("minkowski", {"p": 3}),
    ("braycurtis", {}),
    ("canberra", {}),
    ("sqeuclidean", {}),
    (_sqrt_cityblock, {}),
]


def _metric_params():
    cases = []
    for metric, params in METRIC_CASES:
        name = getattr(metric, "__name__", metric)
        for power in (0.5, 1.0, 2.0, 3.0):
            for weighted in (False, True):
                cases.append(
                    pytest.param(
                        metric,
                        params,
                        power,
                        weighted,
                        id=f"{name}-{power}-{'weighted' if weighted else 'unweighted'}",
                    )
                )
    return cases


@pytest.mark.parametrize("metric, params, power, weighted", _metric_params())
def test_metric_dispersion_equals_scipy_oracle(metric, params, power, weighted):
    X, labels, weights = _metric_data()
    sample_weight = weights if weighted else None
    got = within_cluster_dispersion(
        X,
        labels,
        metric=metric,
        power=power,
        metric_params=params or None,
        sample_weight=sample_weight,
    )
    expected = _metric_oracle(X, labels, metric, power, sample_weight, **params)
    assert expected > 0
    assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.parametrize("metric", ["cosine", "correlation"])
def test_metric_self_distances_add_nothing_at_small_power(metric):
    # power 0.1: (1e-16) ** 0.1 = 0.025 per sample, a relative error of ~1e-3
    X, labels, _ = _metric_data()
    got = within_cluster_dispersion(X, labels, metric=metric, power=0.1)
    assert_allclose(got, _metric_oracle(X, labels, metric, 0.1), rtol=1e-10)


@pytest.mark.parametrize("power", [0.5, 1.0, 2.0, 3.0])
def test_euclidean_and_l2_take_the_fast_path_and_agree_with_pairs(power):
    X, labels, weights = _metric_data()
    for sample_weight in (None, weights):
        fast = within_cluster_dispersion(
            X, labels, power=power, sample_weight=sample_weight
        )
        assert (
            within_cluster_dispersion(
                X, labels, metric="l2", power=power, sample_weight=sample_weight
            )
            == fast
        )
        # the same distance through the blocked pairwise sums of other metrics
        blocked = within_cluster_dispersion(
            X,
            labels,
            metric="minkowski",
            metric_params={"p": 2},
            power=power,
            sample_weight=sample_weight,
        )
        assert_allclose(blocked, fast, rtol=1e-10)
        expected = _metric_oracle(X, labels, "euclidean", power, sample_weight)
        assert_allclose(fast, expected, rtol=1e-10)


def test_metric_params_are_used():
    X, labels, _ = _metric_data()
    p3 = within_cluster_dispersion(
        X, labels, metric="minkowski", metric_params={"p": 3}
    )
    p1 = within_cluster_dispersion(
        X, labels, metric="minkowski", metric_params={"p": 1}
    )
    assert p3 != p1
    assert_allclose(p1, within_cluster_dispersion(X, labels, metric="cityblock"))


@pytest.mark.parametrize("metric", ["cityblock", "cosine"])
def test_metric_float32_summed_in_double(metric):
    X, labels, weights = _metric_data()
    got = within_cluster_dispersion(
        X.astype(np.float32), labels, metric=metric, power=1.0, sample_weight=weights
    )
    expected = _metric_oracle(X.astype(np.float32), labels, metric, 1.0, weights)
    assert_allclose(got, expected, rtol=1e-5)


def test_metric_nan_distances_raise_naming_the_metric():
    X, labels, _ = _metric_data()
    X[3] = 1.0  # a constant sample: its correlation with any other is NaN
    with pytest.raises(ValueError, match=r"metric 'correlation' gave NaN distances"):
        within_cluster_dispersion(X, labels, metric="correlation")

    def nan_metric(u, v):
        return np.nan

    with pytest.raises(ValueError, match=r"metric 'nan_metric' gave NaN"):
        within_cluster_dispersion(X, labels, metric=nan_metric)


def test_metric_zero_distance_between_distinct_samples_is_not_an_underflow():
    # [1, 2, 3] and [2, 4, 6] are parallel: their cosine distance is 0
    X = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 1.0, 1.0]])
    assert within_cluster_dispersion(X, [0, 0, 1], metric="cosine") == 0.0


def test_metric_blocks_never_hold_an_n_by_n_matrix(monkeypatch):
    from skgap import _dispersion as module

    X, labels, weights = _metric_data()
    reference = within_cluster_dispersion(
        X, labels, metric="cityblock", power=1.5, sample_weight=weights
    )
    shapes = []
    original = module.pairwise_distances

    def recording(A, B, **kwargs):
        shapes.append((A.shape[0], B.shape[0]))
        return original(A, B, **kwargs)

    monkeypatch.setattr(module, "pairwise_distances", recording)
    monkeypatch.setattr(module, "_BLOCK_VALUES", 40)
    got = within_cluster_dispersion(
        X, labels, metric="cityblock", power=1.5, sample_weight=weights
    )
    assert_allclose(got, reference, rtol=1e-12)
    sizes = np.bincount(labels)
    # a block of rows against its whole cluster: at most max(40, n_r) values
    assert {cols for _, cols in shapes} <= set(sizes[sizes >= 2])
    assert all(rows * cols <= max(40, cols) for rows, cols in shapes)
    # never a whole cluster against itself, unless it fits in one block
    assert all(rows < cols for rows, cols in shapes if cols * cols > 40)
    assert any(cols * cols > 40 for _, cols in shapes)
    # every pair of every cluster is still summed once per row
    assert sum(rows for rows, _ in shapes) == sizes[sizes >= 2].sum()


def test_metric_peak_memory_is_a_block_not_n_squared():
    # one cluster of 3000 samples: an n x n float64 matrix is 72 MB, a block of
    # the default 2**20 distances 8 MB
    X = np.random.RandomState(0).normal(size=(3000, 2))
    labels = np.zeros(3000, dtype=int)
    tracemalloc.start()
    try:
        W = within_cluster_dispersion(X, labels, metric="cityblock", power=1.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert W > 0
    assert peak < 3000 * 3000 * 8 / 3


# --- cancellation: `check` between the blocks of the pairwise sums ---------------


class _Stop(Exception):
    pass


class _Check:
    """A `check` that counts its calls and raises at call `stop_at` (if any)."""

    def __init__(self, stop_at=None):
        self.calls = 0
        self.stop_at = stop_at

    def __call__(self):
        self.calls += 1
        if self.calls == self.stop_at:
            raise _Stop


def _sqrt_cityblock_slow(u, v):
    return float(np.sqrt(np.abs(u - v).sum()))


# (metric, power, n, p, weighted): one cluster of n samples
CANCELLABLE = [
    ("euclidean", 1.0, 3000, 2, False),
    ("euclidean", 0.5, 3000, 2, True),
    ("euclidean", 3.0, 400, 3000, False),  # wide: chunks of 1398 pairs
    ("cityblock", 1.0, 3000, 2, False),
    ("cosine", 2.0, 3000, 2, True),
    ("cityblock", 1.0, 100, 20_000, False),  # wide: tiles of 8 rows
    (_sqrt_cityblock_slow, 1.0, 200, 2, False),
]


@pytest.mark.parametrize(
    "metric, power, n, p, weighted",
    CANCELLABLE,
    ids=[
        f"{getattr(c[0], '__name__', c[0])}-{c[1]}-{c[2]}x{c[3]}" for c in CANCELLABLE
    ],
)
def test_check_is_called_between_blocks_and_stops_the_sums(
    metric, power, n, p, weighted
):
    rng = np.random.RandomState(0)
    X = rng.uniform(1.0, 2.0, size=(n, p))
    labels = np.zeros(n, dtype=np.intp)
    sample_weight = rng.uniform(0.5, 2.0, size=n) if weighted else None
    args = (X, labels, power, sample_weight, "X", metric, None)
    # a check that never stops: called often, the result unchanged
    full = _Check()
    assert _dispersion(*args, check=full) == _dispersion(*args)
    pairs = n * (n - 1) // 2
    if callable(metric):
        # every 128 calls of the metric (each ordered pair once)
        assert full.calls >= 2 * pairs // 128
    else:
        # at most 2**24 distance terms (pairs x features, ordered pairs for
        # the metrics of pairwise_distances) between two calls
        assert full.calls >= 2 * pairs * p // (1 << 24)
    assert full.calls >= 5
    # a check that raises at its third call stops the computation there
    stopping = _Check(stop_at=3)
    with pytest.raises(_Stop):
        _dispersion(*args, check=stopping)
    assert stopping.calls == 3


def test_check_keyword_of_within_the_fit_loop_entry_is_optional():
    X, labels = _data(0)
    # the positional signature of the fit loop, with and without `check`
    for power, metric in [(2.0, "euclidean"), (1.0, "euclidean"), (1.0, "cityblock")]:
        expected = within_cluster_dispersion(X, labels, power=power, metric=metric)
        assert _dispersion(X, labels, power, None, "X", metric, None) == expected
        assert (
            _dispersion(X, labels, power, None, "X", metric, None, check=_Check())
            == expected
        )


@pytest.mark.parametrize("size", [1, 3, 7, 64])
@pytest.mark.parametrize("power", [1.0, 0.5, 3.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_pairwise_chunks_ending_within_a_row_sum_every_pair_once(
    monkeypatch, size, power, weighted
):
    from skgap import _dispersion_fast

    monkeypatch.setattr(_dispersion_fast, "_MIN_PAIRS", size)
    monkeypatch.setattr(_dispersion_fast, "_MAX_PAIRS", size)
    X, labels = _data(4, n=23, k=3)
    weights = np.random.RandomState(5).uniform(0.0, 2.0, size=23) if weighted else None
    got = within_cluster_dispersion(X, labels, power=power, sample_weight=weights)
    expected = _oracle.weighted_dispersion(X, labels, weights, power)
    assert_allclose(got, expected, rtol=1e-12)


def test_metric_tiles_ending_within_a_row_sum_every_pair_once(monkeypatch):
    from skgap import _dispersion as module

    X, labels, weights = _metric_data()
    reference = within_cluster_dispersion(
        X, labels, metric="cityblock", power=1.5, sample_weight=weights
    )
    shapes = []
    original = module.pairwise_distances

    def recording(A, B, **kwargs):
        shapes.append((A.shape[0], B.shape[0]))
        return original(A, B, **kwargs)

    monkeypatch.setattr(module, "pairwise_distances", recording)
    # 4 features: 5 distances of work per tile
    monkeypatch.setattr(module, "_BLOCK_WORK", 20)
    got = within_cluster_dispersion(
        X, labels, metric="cityblock", power=1.5, sample_weight=weights
    )
    assert_allclose(got, reference, rtol=1e-12)
    assert max(rows * cols for rows, cols in shapes) <= 5
    sizes = np.bincount(labels)
    assert sum(rows * cols for rows, cols in shapes) == (sizes[sizes >= 2] ** 2).sum()


# --- huge and tiny weights: W_k is homogeneous of degree 1 in the weights --------


FOUR_POINTS = [[0.3, 0.3], [1.3, 0.3], [10.3, 0.3], [11.3, 0.3]]


@pytest.mark.parametrize(
    "power, metric",
    [
        (2.0, "euclidean"),
        (1.0, "euclidean"),
        (1.5, "euclidean"),
        (1.0, "cityblock"),
        (2.0, _sqrt_cityblock),
    ],
)
def test_huge_weights_against_exact_oracle(power, metric):
    # the correction term of the two-pass sum overflowed: W_k was 0.5
    weights = [1e200, 1e200, 1.0, 1.0]
    got = within_cluster_dispersion(
        FOUR_POINTS, [0, 0, 1, 1], power=power, metric=metric, sample_weight=weights
    )
    oracle_metric = (
        None
        if metric == "euclidean"
        else (metric if callable(metric) else lambda u, v: pdist([u, v], metric)[0])
    )
    expected = _oracle.weighted_dispersion(
        FOUR_POINTS, [0, 0, 1, 1], weights, power, oracle_metric
    )
    assert expected == pytest.approx(5e199, rel=1e-12)
    assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("power", [2.0, 1.0])
def test_a_few_huge_weights_among_ones_against_exact_oracle(power):
    # eight weights of 1e170 among ones: W_1 was 190.6 (NaN and -inf in the gap)
    X, y = make_blobs(80, centers=4, random_state=1)
    weights = np.ones(80)
    weights[np.random.RandomState(0).choice(80, 8, replace=False)] = 1e170
    for labels in (np.zeros(80, dtype=int), y):
        got = within_cluster_dispersion(X, labels, power=power, sample_weight=weights)
        expected = _oracle.weighted_dispersion(X, labels, weights, power)
        assert expected > 1e170
        assert_allclose(got, expected, rtol=1e-11)


@pytest.mark.parametrize("power", [2.0, 1.0])
@pytest.mark.parametrize("metric", ["euclidean", "cityblock"])
@pytest.mark.parametrize("factor", [1e300, 1e-300, 2.0**1000, 2.0**-1000])
def test_uniform_weights_scale_the_dispersion_by_their_value(power, metric, factor):
    X, y = make_blobs(120, centers=4, random_state=1)
    W = within_cluster_dispersion(X, y, power=power, metric=metric)
    got = within_cluster_dispersion(
        X, y, power=power, metric=metric, sample_weight=factor
    )
    # sum w_i w_j d / (2 sum w) = c W: exact for a power of two
    if math.frexp(factor)[0] == 0.5:
        assert got == factor * W
    else:
        assert got == pytest.approx(factor * W, rel=1e-12)


@pytest.mark.parametrize("power", [2.0, 1.0, 1.5])
@pytest.mark.parametrize("metric", ["euclidean", "cityblock"])
def test_scaling_by_a_power_of_two_gives_the_same_bits(power, metric):
    X, labels, weights = _metric_data()
    W = within_cluster_dispersion(
        X, labels, power=power, metric=metric, sample_weight=weights
    )
    for e in (-900, -40, 40, 900):
        scaled = within_cluster_dispersion(
            X, labels, power=power, metric=metric, sample_weight=weights * 2.0**e
        )
        assert scaled == math.ldexp(W, e)


def test_a_light_cluster_beside_a_heavy_one_keeps_its_digits():
    # the heavy cluster is one point (W_0 = 0); the light one's weights are
    # 1e-600 times as large: scaled together, they would vanish
    X = [[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [3.0, 0.0]]
    weights = [1e300, 1e300, 1e-300, 1e-300]
    for power in (2.0, 1.0):
        got = within_cluster_dispersion(
            X, [0, 0, 1, 1], power=power, sample_weight=weights
        )
        expected = _oracle.weighted_dispersion(X, [0, 0, 1, 1], weights, power)
        assert expected == pytest.approx(1e-300 * 2.0**power / 2, rel=1e-12)
        assert_allclose(got, expected, rtol=1e-12)


def test_the_squared_kernel_scales_weights_itself():
    # the compiled engine calls it directly, with the caller's weights
    from skgap._dispersion_fast import _squared_dispersion

    weights = np.array([1e200, 1e200, 1.0, 1.0])
    out = np.zeros(2)
    _squared_dispersion(
        np.array(FOUR_POINTS), np.array([0, 0, 1, 1], dtype=np.intc), weights, out
    )
    expected = _oracle.weighted_dispersion(FOUR_POINTS, [0, 0, 1, 1], weights)
    assert_allclose(out.sum(), expected, rtol=1e-12)
    assert out[1] == pytest.approx(0.5 * (1.3 - 0.3) ** 2, rel=1e-12)


@pytest.mark.parametrize(
    "power, metric", [(2.0, "euclidean"), (1.0, "euclidean"), (1.0, "cityblock")]
)
def test_a_dispersion_beyond_float64_is_refused_naming_the_weights(power, metric):
    X, y = make_blobs(120, centers=4, random_state=1)
    W = within_cluster_dispersion(X, y, power=power, metric=metric)
    assert W > 10
    # 1e307 W > 1.8e308; 1e306 W fits only for the smaller W
    with pytest.raises(ValueError, match=r"exceeds the largest float64.*sample_weight"):
        within_cluster_dispersion(X, y, power=power, metric=metric, sample_weight=1e307)
    assert within_cluster_dispersion(
        X, y, power=power, metric=metric, sample_weight=1e300
    ) == pytest.approx(1e300 * W, rel=1e-12)


@pytest.mark.parametrize("power, metric", [(2.0, "euclidean"), (1.0, "cityblock")])
def test_a_dispersion_below_normal_float64_is_refused_naming_the_weights(power, metric):
    X, y = make_blobs(120, centers=4, random_state=1)
    # 5e-324 W is a subnormal (a few digits) or 0
    with pytest.raises(ValueError, match=r"below the smallest normal.*sample_weight"):
        within_cluster_dispersion(
            X, y, power=power, metric=metric, sample_weight=5e-324
        )
