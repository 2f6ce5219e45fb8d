"""The rules and selection frequencies (skgap/_selection.py).

select_k's five rules of SPEC section 2 against R's table and a brute force,
the forward scan's early choice, and the selection frequencies (bootstrap
resamples of the references). select_k's bad input: test_validation.py.
"""

import _oracle
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_blobs

from skgap import GapKMeans, select_k
from skgap._selection import (
    FORWARD_RULES,
    RULES,
    STATISTICS,
    forward_choice,
    selection_frequencies,
)

METHODS = _oracle.METHODS

# R's maxSE help page: f and SE, and maxSE(f, SE, method, SE.factor) for
# SE.factor = 1/4, 1, 2, 4 computed with R's cluster 2.1.4, converted to 0-based.
MAXSE_F = [2, 3, 5, 4, 7, 8, 5, 4]
MAXSE_SE = [0.5, 0.5, 1.0, 0.5, 0.5, 1.5, 0.5, 0.5]
MAXSE_TABLE = {
    # method: positions for SE.factor 1/4, 1, 2, 4 (R: 1-based, minus 1)
    "tibshirani": [2, 2, 0, 0],
    "first_se_max": [2, 2, 1, 0],
    "global_se_max": [5, 4, 2, 0],
    "first_max": [2, 2, 2, 2],
    "global_max": [5, 5, 5, 5],
}
SE_FACTORS = [0.25, 1.0, 2.0, 4.0]


def test_registry_matches_the_spec_table():
    assert set(RULES) == set(METHODS)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("factor_index", range(4))
def test_r_maxse_help_page_table(method, factor_index):
    se_factor = SE_FACTORS[factor_index]
    expected = MAXSE_TABLE[method][factor_index]
    got = select_k(MAXSE_F, MAXSE_SE, method=method, se_factor=se_factor)
    assert got == expected
    assert isinstance(got, int)
    assert _oracle.select(MAXSE_F, MAXSE_SE, method, se_factor) == expected


def test_default_method_is_tibshirani():
    assert select_k(MAXSE_F, MAXSE_SE) == 2
    assert select_k(MAXSE_F, MAXSE_SE, se_factor=2.0) == 0


# values drawn from a small grid so that ties and equalities are frequent
_grid_values = st.one_of(
    st.integers(-4, 4).map(float),
    st.floats(-5, 5, allow_nan=False, allow_infinity=False),
    st.sampled_from([np.inf, -np.inf, np.nan]),
)
_grid_se = st.one_of(
    st.integers(0, 3).map(lambda v: v / 2),
    st.floats(0, 3, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, np.inf, np.nan]),
)


@st.composite
def curves(draw):
    m = draw(st.integers(1, 9))
    values = draw(st.lists(_grid_values, min_size=m, max_size=m))
    if all(np.isnan(values)):
        values[draw(st.integers(0, m - 1))] = draw(st.integers(-3, 3).map(float))
    se = draw(st.lists(_grid_se, min_size=m, max_size=m))
    return values, se


@given(
    curve=curves(),
    method=st.sampled_from(METHODS),
    se_factor=st.sampled_from([0.0, 0.25, 1.0, 2.0, 4.0]),
)
def test_select_k_equals_brute_force_oracle(curve, method, se_factor):
    values, se = curve
    with np.errstate(all="raise"):  # no RuntimeWarning-level surprise either
        got = select_k(values, se, method=method, se_factor=se_factor)
    assert got == _oracle.select(values, se, method, se_factor)
    assert 0 <= got < len(values)
    assert not np.isnan(values[got])


@given(
    values=st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=12),
    method=st.sampled_from(METHODS),
)
def test_select_k_without_se_rules_only_look_at_values(values, method):
    zero = np.zeros(len(values))
    got = select_k(values, zero, method=method)
    assert got == _oracle.select(values, zero, method)
    if method in ("global_max", "global_se_max"):
        # with zero SE the SE rule is the first global maximum
        assert got == int(np.argmax(values))
    if method in ("first_max", "first_se_max"):
        assert got == _oracle._first_local_max(values)


@pytest.mark.parametrize("method", METHODS)
def test_single_candidate(method):
    assert select_k([0.3], [0.1], method=method) == 0
    assert select_k([-np.inf], [0.0], method=method) == 0


@pytest.mark.parametrize(
    "method, expected",
    [
        ("tibshirani", 4),  # f never drops below the next f - s
        ("first_se_max", 4),
        ("global_se_max", 4),
        ("first_max", 4),
        ("global_max", 4),
    ],
)
def test_strictly_increasing_curve_picks_the_last(method, expected):
    f = [0.0, 1.0, 2.0, 3.0, 4.0]
    assert select_k(f, np.full(5, 0.1), method=method) == expected


@pytest.mark.parametrize("method", METHODS)
def test_decreasing_curve_picks_the_first(method):
    f = [4.0, 3.0, 2.0, 1.0]
    assert select_k(f, [0.1, 0.1, 0.1, 0.1], method=method) == 0


def test_increasing_curve_with_large_se():
    # f[0] >= f[1] - s[1] once the SE is large enough: Tibshirani stops at once
    f = [0.0, 1.0, 2.0, 3.0]
    assert select_k(f, [0.0, 1.0, 1.0, 1.0]) == 0
    assert select_k(f, [0.0, 0.99, 0.99, 0.99]) == 3
    # the SE of the maximum decides the SE-max rules
    assert select_k(f, [0.0, 0.0, 0.0, 2.0], method="global_se_max") == 1
    assert select_k(f, [0.0, 0.0, 0.0, 2.0], method="first_se_max") == 1
    assert select_k(f, [0.0, 0.0, 0.0, 2.0], method="first_max") == 3


def test_ties():
    # equal neighbours: f[i+1] <= f[i] holds, so the first of a plateau is a local max
    f = [1.0, 2.0, 2.0, 3.0]
    assert select_k(f, np.zeros(4), method="first_max") == 1
    assert select_k(f, np.zeros(4), method="first_se_max") == 1
    assert select_k(f, np.zeros(4), method="tibshirani") == 1
    # tied global maxima: the first one
    g = [1.0, 3.0, 0.0, 3.0]
    assert select_k(g, np.zeros(4), method="global_max") == 1
    assert select_k(g, np.zeros(4), method="global_se_max") == 1
    # equality counts in f[i] >= f[i+1] - s[i+1]
    assert select_k([1.0, 1.5, 0.0], [0.0, 0.5, 0.0]) == 0
    assert select_k([1.0, 1.5000001, 0.0], [0.0, 0.5, 0.0]) == 1


def test_zero_se():
    f = [1.0, 2.0, 1.5, 4.0]
    se = np.zeros(4)
    assert select_k(f, se, method="tibshirani") == 1
    assert select_k(f, se, method="first_se_max") == 1
    assert select_k(f, se, method="global_se_max") == 3
    assert select_k(f, se, method="first_max") == 1
    assert select_k(f, se, method="global_max") == 3


def test_se_factor_zero_ignores_se():
    f = [1.0, 2.0, 1.5, 4.0]
    se = [5.0, 5.0, 5.0, 5.0]
    assert select_k(f, se, se_factor=0.0) == 1
    assert select_k(f, se, se_factor=1.0) == 0


@pytest.mark.parametrize("method", METHODS)
def test_nan_is_never_chosen(method):
    # the NaN candidate is absent: "next" skips it
    f = [np.nan, 1.0, np.nan, 0.5]
    got = select_k(f, [0.1, 0.1, 0.1, 0.1], method=method)
    assert got == 1
    # even when it would otherwise be first
    assert select_k([np.nan, 2.0, 3.0], [0.0, 0.0, 0.0], method=method) == 2


def test_nan_se_counts_as_zero():
    assert select_k([1.0, 2.0], [0.0, np.nan]) == 1
    assert select_k([1.0, 2.0], [0.0, 1.0]) == 0
    # with a NaN value too, an absent candidate
    assert select_k([1.0, np.nan, 3.0, 2.0], [0.1, 0.1, np.nan, 0.1]) == 2


@pytest.mark.parametrize("method", METHODS)
def test_plus_inf_wins(method):
    f = [0.1, 0.2, np.inf, 0.3, 0.1]
    se = [0.01] * 5
    assert select_k(f, se, method=method) == 2
    assert select_k([1.0, np.inf, 2.0], [0, 0, 0], method=method) == 1


@pytest.mark.parametrize("method", METHODS)
def test_plus_inf_with_infinite_se(method):
    # inf - inf is not NaN here: the infinite value keeps its place
    f = [0.1, np.inf]
    assert select_k(f, [0.0, np.inf], method=method) == 1
    assert select_k([np.inf, np.inf], [np.inf, np.inf], method=method) == 0


@pytest.mark.parametrize("method", METHODS)
def test_minus_inf_loses(method):
    f = [-np.inf, 1.0, 0.5]
    assert select_k(f, [0.0, 0.0, 0.0], method=method) == 1
    assert select_k([-np.inf, -np.inf, 0.0], [0.0] * 3, method="global_max") == 2


def test_infinite_se_makes_every_earlier_candidate_acceptable():
    f = [1.0, 5.0, 6.0]
    assert select_k(f, [0.0, np.inf, 0.0]) == 0
    assert select_k(f, [0.0, 0.0, np.inf], method="global_se_max") == 0


def test_inputs_not_modified_and_array_like():
    f = np.array([2.0, 3.0, 1.0])
    se = np.array([0.5, 0.5, 0.5])
    f_copy, se_copy = f.copy(), se.copy()
    assert select_k(f, se) == select_k(f.tolist(), tuple(se)) == 1
    np.testing.assert_array_equal(f, f_copy)
    np.testing.assert_array_equal(se, se_copy)
    # NaN values and standard errors are not overwritten either
    f = np.array([1.0, np.nan, 3.0, 2.0])
    se = np.array([0.1, 0.1, np.nan, 0.1])
    f_copy, se_copy = f.copy(), se.copy()
    assert select_k(f, se) == 2
    np.testing.assert_array_equal(f, f_copy)
    np.testing.assert_array_equal(se, se_copy)
    # integers
    assert select_k(np.array([3, 1, 2]), np.array([0, 0, 0])) == 0


# -- the forward scan: a choice among the first candidates that cannot change --


@given(
    curve=curves(),
    extension=curves(),
    method=st.sampled_from(FORWARD_RULES),
    se_factor=st.sampled_from([0.0, 0.5, 1.0, 2.0]),
)
def test_forward_choice_is_the_choice_of_every_longer_curve(
    curve, extension, method, se_factor
):
    values = list(curve[0]) + list(extension[0])
    se = list(curve[1]) + list(extension[1])
    full = select_k(values, se, method=method, se_factor=se_factor)
    for m in range(1, len(values) + 1):
        chosen = forward_choice(values[:m], se[:m], method=method, se_factor=se_factor)
        if chosen is not None:
            assert chosen == full
            # and it stays final as more candidates come
            for later in range(m, len(values) + 1):
                assert (
                    forward_choice(
                        values[:later], se[:later], method=method, se_factor=se_factor
                    )
                    == chosen
                )
            break


@pytest.mark.parametrize(
    "method, values, se, decided_at",
    [
        # the first k that satisfies the rule is known as soon as the next is
        ("tibshirani", [1.0, 2.0, 1.5, 3.0], [0.1] * 4, 3),
        ("first_max", [1.0, 2.0, 1.5, 3.0], [0.1] * 4, 3),
        # within one SE of the first local maximum (2.0 - 0.5 <= 1.6)
        ("first_se_max", [1.0, 1.6, 2.0, 1.5], [0.5] * 4, 4),
    ],
)
def test_forward_choice_decides_as_soon_as_it_can(method, values, se, decided_at):
    for m in range(1, len(values) + 1):
        chosen = forward_choice(values[:m], se[:m], method=method)
        assert (chosen is not None) is (m >= decided_at)
    assert chosen == select_k(values, se, method=method)


def test_forward_choice_waits_past_nan_and_refuses_global_rules():
    # a NaN candidate is absent: the next valid one may still satisfy the rule
    assert forward_choice([1.0, 2.0, np.nan], [0.1] * 3, method="tibshirani") is None
    with pytest.raises(ValueError, match="forward"):
        forward_choice([1.0, 0.5], [0.1, 0.1], method="global_max")


# -- selection frequencies: bootstrap resamples of the reference data sets ------

# Two blobs 5 apart; the gap statistic hesitates between k = 1 and k = 2 at
# this spread (std 1.85 for the gap, 0.97 for Gap*), with n_refs=10 and seed 0.
HESITANT_GAP_STD = 1.85
HESITANT_GAP_STAR_STD = 0.97


def _two_blobs(std, n_samples=200):
    X, _ = make_blobs(
        n_samples=n_samples, centers=[[0, 0], [5, 0]], cluster_std=std, random_state=0
    )
    return X


def _gap(**params):
    defaults = dict(n_clusters_range=range(1, 7), n_refs=10, random_state=0)
    defaults.update(params)
    return GapKMeans(**defaults)


def _independent_frequencies(gap, n_resamples, seed):
    """SPEC's frequencies, from scratch: resample the B rows of W*, recompute
    the statistics with the oracle's formulas and let select_k choose."""
    W, W_ref = gap.dispersions_, gap.reference_dispersions_
    n_refs, m = W_ref.shape
    se_key = STATISTICS[gap.statistic]
    rng = np.random.RandomState(seed)
    counts = np.zeros(m)
    for _ in range(n_resamples):
        table = _oracle.gap_statistics(W, W_ref[rng.randint(0, n_refs, size=n_refs)])
        values = table[gap.statistic]
        if np.all(np.isnan(values)):
            continue
        counts[
            select_k(values, table[se_key], method=gap.method, se_factor=gap.se_factor)
        ] += 1
    return counts / counts.sum()


@pytest.mark.parametrize(
    "data, params, spread_over",
    [
        (_two_blobs(HESITANT_GAP_STD), {}, [1, 2]),
        (_two_blobs(HESITANT_GAP_STAR_STD), {"statistic": "gap_star"}, [1, 2]),
        (
            np.random.RandomState(0).uniform(size=(150, 2)),
            {"method": "global_max"},
            [1, 3, 4, 5],
        ),
        (_two_blobs(1.95), {"method": "global_se_max", "se_factor": 0.5}, [1, 2]),
    ],
    ids=["gap", "gap_star", "global_max-noise", "global_se_max-half-se"],
)
def test_selection_frequencies_match_an_independent_bootstrap(
    data, params, spread_over
):
    gap = _gap(**params).fit(data)
    frequencies = gap.selection_frequencies_
    # the cases are chosen to be hesitant: the mass is on several candidates
    ks = gap.gap_results_["n_clusters"]
    assert set(ks[frequencies > 0.05]) == set(spread_over)
    expected = _independent_frequencies(gap, n_resamples=4000, seed=12345)
    # skgap draws 500 resamples: the standard error of a frequency p is
    # sqrt(p (1 - p) / 500) <= 0.0224; ours, of 4000, is <= 0.0079; their
    # difference has a standard error <= 0.0237 (at the worst p = 1/2), and
    # 0.05 is 2.1 of them. Every seed is fixed, so the test is deterministic
    # (the largest difference here is 0.020). A standard error kept from the
    # full table instead of recomputed per resample moves the frequencies of
    # the first and last cases by 0.11 and 0.07.
    assert_allclose(frequencies, expected, atol=0.05)


def test_selection_frequencies_one_on_well_separated_blobs():
    X, _ = make_blobs(n_samples=300, centers=3, random_state=0)
    gap = _gap().fit(X)
    assert gap.n_clusters_ == 3
    assert_array_equal(gap.selection_frequencies_, [0, 0, 1, 0, 0, 0])
    # the fitted attribute is also a column of gap_results_ (and gap_df_)
    assert_array_equal(
        gap.gap_results_["selection_frequency"], gap.selection_frequencies_
    )


def test_selection_frequencies_spread_on_a_flat_gap_curve():
    # uniform noise: the gap curve is flat, and its global maximum moves from
    # resample to resample
    X = np.random.RandomState(0).uniform(size=(150, 2))
    gap = _gap(method="global_max").fit(X)
    frequencies = gap.selection_frequencies_
    assert frequencies.max() < 0.9
    assert np.count_nonzero(frequencies) >= 3
    assert frequencies.sum() == pytest.approx(1.0, abs=1e-12)
    # a fraction of 500 resamples
    assert_array_equal(np.round(frequencies * 500), frequencies * 500)


@pytest.mark.parametrize("statistic", ["gap", "gap_star"])
def test_selection_frequencies_reproducible_and_seeded(statistic):
    std = HESITANT_GAP_STD if statistic == "gap" else HESITANT_GAP_STAR_STD
    X = _two_blobs(std)
    first = _gap(statistic=statistic).fit(X).selection_frequencies_
    again = _gap(statistic=statistic).fit(X).selection_frequencies_
    assert_array_equal(first, again)
    assert first.sum() == pytest.approx(1.0, abs=1e-12)
    # another random_state draws other references and other resamples
    other = _gap(statistic=statistic, random_state=1).fit(X).selection_frequencies_
    assert not np.array_equal(first, other)


def test_selection_frequencies_function_identical_references():
    # every reference row alike: each resample is the original table, so its
    # choice has frequency exactly 1
    W = np.array([10.0, 6.0, 3.0, 2.8])
    W_ref = np.tile([12.0, 9.0, 7.0, 6.0], (7, 1))
    table = _oracle.gap_statistics(W, W_ref)
    for statistic, se_key in STATISTICS.items():
        for method in METHODS:
            chosen = select_k(table[statistic], table[se_key], method=method)
            frequencies = selection_frequencies(
                W, W_ref, statistic=statistic, method=method, se_factor=1.0, seed=0
            )
            expected = np.zeros(4)
            expected[chosen] = 1.0
            assert_array_equal(frequencies, expected)


def test_selection_frequencies_function_seeded_and_sums_to_one():
    rng = np.random.RandomState(0)
    W = np.array([10.0, 6.0, 5.5, 5.2, 5.0])
    W_ref = np.array([12.0, 8.0, 7.0, 6.5, 6.2]) * rng.lognormal(0, 0.15, (10, 5))
    kwargs = dict(statistic="gap", method="global_max", se_factor=1.0)
    first = selection_frequencies(W, W_ref, seed=3, **kwargs)
    assert_array_equal(first, selection_frequencies(W, W_ref, seed=3, **kwargs))
    assert not np.array_equal(first, selection_frequencies(W, W_ref, seed=4, **kwargs))
    assert first.shape == (5,)
    assert first.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.count_nonzero(first) >= 2
    # the inputs are not modified
    assert_array_equal(W, [10.0, 6.0, 5.5, 5.2, 5.0])


def test_selection_frequencies_function_never_choose_nan():
    # a candidate whose value is NaN (W = 0 in the data and every reference)
    # is never chosen, in any resample
    W = np.array([10.0, 6.0, 0.0])
    W_ref = np.column_stack([np.linspace(11, 13, 6), np.linspace(7, 8, 6), np.zeros(6)])
    with np.errstate(divide="ignore", invalid="ignore"):
        frequencies = selection_frequencies(
            W, W_ref, statistic="gap", method="global_max", se_factor=1.0, seed=0
        )
    assert frequencies[2] == 0.0
    assert frequencies.sum() == pytest.approx(1.0, abs=1e-12)


@st.composite
def dispersion_tables(draw):
    m = draw(st.integers(1, 6))
    n_refs = draw(st.integers(2, 8))
    positive = st.floats(1e-3, 1e3, allow_nan=False, allow_infinity=False)
    W = draw(hnp.arrays(np.float64, m, elements=positive))
    W_ref = draw(hnp.arrays(np.float64, (n_refs, m), elements=positive))
    return W, W_ref


@given(
    table=dispersion_tables(),
    statistic=st.sampled_from(["gap", "gap_star"]),
    method=st.sampled_from(METHODS),
    se_factor=st.sampled_from([0.0, 0.5, 1.0, 2.0]),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_selection_frequencies(table, statistic, method, se_factor, seed):
    W, W_ref = table
    frequencies = selection_frequencies(
        W, W_ref, statistic=statistic, method=method, se_factor=se_factor, seed=seed
    )
    assert frequencies.shape == W.shape
    assert np.all(frequencies >= 0)
    assert frequencies.sum() == pytest.approx(1.0, abs=1e-12)
    # fractions of 500 resamples (no value is NaN here)
    counts = frequencies * 500
    assert_allclose(counts, np.round(counts), atol=1e-9)
    # Gap* and its SE scale exactly with a power of two: the same choices
    if statistic == "gap_star":
        scaled = selection_frequencies(
            8.0 * W,
            8.0 * W_ref,
            statistic=statistic,
            method=method,
            se_factor=se_factor,
            seed=seed,
        )
        assert_array_equal(scaled, frequencies)
