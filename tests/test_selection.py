"""select_k: the five rules of SPEC section 2, against R's table and a brute force."""

import _oracle
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from skgap import select_k
from skgap._selection import FORWARD_RULES, RULES, forward_choice

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


@pytest.mark.parametrize("method", METHODS)
def test_plus_inf_wins(method):
    f = [0.1, 0.2, np.inf, 0.3, 0.1]
    se = [0.01] * 5
    assert select_k(f, se, method=method) == 2


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


def test_error_length_mismatch():
    with pytest.raises(ValueError, match="same shape as values"):
        select_k([1.0, 2.0], [0.1])


def test_error_not_1d_or_empty():
    with pytest.raises(ValueError, match="non-empty 1-D"):
        select_k([], [])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        select_k([[1.0, 2.0]], [[0.1, 0.1]])


def test_error_negative_se():
    with pytest.raises(ValueError, match="se must be non-negative.*position 1"):
        select_k([1.0, 2.0], [0.1, -0.1])


def test_error_all_nan():
    with pytest.raises(ValueError, match="Every value is NaN"):
        select_k([np.nan, np.nan], [0.1, 0.1])


def test_error_unknown_method():
    with pytest.raises(ValueError, match="method.*must be a str among"):
        select_k([1.0], [0.1], method="Tibs2001SEmax")


def test_error_negative_se_factor():
    with pytest.raises(ValueError, match="se_factor"):
        select_k([1.0], [0.1], se_factor=-1.0)


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
