"""Input validation (skgap/_validation.py): every bad input to the public API
gets a documented outcome.

For ``GapKMeans.fit``, ``GapKMeans.predict``, ``within_cluster_dispersion``
and ``select_k``, each input below either raises a ``ValueError``/``TypeError``
whose message says what was wrong and how to fix it (asserted with ``match=``),
or gives a correct result (asserted). The caller's data are never modified
(compared with a copy taken before the call). The command line's bad input is
tested in test_cli.py; a reference callable's bad output in test_reference.py;
a clusterer's bad labels in test_faults.py.

Input validation
----------------
Outcomes, as tested here (``fit``/``within_cluster_dispersion`` unless noted):

=================================  ============================================
input                              outcome
=================================  ============================================
NaN (array or DataFrame)           ValueError "Input X contains NaN" (+ impute)
+inf / -inf                        ValueError "contains infinity ... Replace or
                                   drop the infinite values"
empty (0 samples / 0 features)     ValueError "Found array with 0 sample(s)" /
                                   "0 feature(s)"
one sample                         fit: ValueError "minimum of 2";
                                   W_k: 0.0
one feature                        correct result
1-D array                          ValueError "Expected 2D array ... reshape"
3-D array                          ValueError "dim 3 ... must be 2-D ... reshape"
ragged list of rows                ValueError "inhomogeneous ... same number
                                   of features"
masked array with masked values    ValueError "masked array ... Fill them"
object array / list with text      ValueError "could not convert ... must be
                                   numeric: encode ... OrdinalEncoder"
numpy string array (dtype U/S)     ValueError "array of strings ... astype"
datetime64 / timedelta64           ValueError "dates or time spans"
complex                            ValueError "Complex data not supported ...
                                   real and imaginary parts"
booleans, integers, float16        converted to float64: correct result
sparse matrix                      TypeError "sparse matrix ... toarray()"
DataFrame, non-numeric column      ValueError "Non-numeric columns: [...]"
constant feature                   correct result
all points identical               fit: ValueError "identical ... no spread";
                                   W_k: 0.0
fewer distinct points than k       SkgapWarning naming k; W_k = 0 there, gap
                                   +inf (a valid, winning value)
duplicated rows                    correct result
|x| near 1e300 (squares overflow)  ValueError "overflow ... Rescale X"
feature ranges near 1e-300         ValueError "underflow ... Rescale X"
  (squares underflow)
1e150 / 1e-150 (still representable) correct result (gap as for X)
float32, |x| ~ 1e30                fit: ValueError "overflow float32 ... pass
                                   float64"; W_k: correct (summed in float64)
float32 with offset 1e6            correct result (see also test_dispersion)
n_refs = 0 or not an int           InvalidParameterError (a ValueError)
max_n_refs < 2 or not an int,      InvalidParameterError
  stability outside (0, 1]
n_jobs = 0                         ValueError "n_jobs == 0 ... has no meaning"
estimator class, not instance      TypeError "Expected an estimator instance"
estimator without n_clusters /     TypeError "has neither an 'n_clusters' nor
  n_components (e.g. DBSCAN)       an 'n_components' parameter"
estimator without get_params       TypeError "<name> lacks get_params and
                                   set_params"
invalid clusterer parameter, also  InvalidParameterError "The clusterer's
  of a Pipeline step               parameters are invalid", before any fit
power <= 0, NaN, inf               InvalidParameterError
unknown method/statistic/reference InvalidParameterError listing the choices
n_clusters_range: 0 / negative     ValueError "must hold positive integers"
  duplicates                       ValueError "must not repeat a k"
  floats, bools, strings           TypeError "must hold integers"
  empty                            ValueError "is empty"
  not iterable                     InvalidParameterError
  all k > n_samples                ValueError "pass k <= n_samples"
  some k > n_samples               SkgapWarning, dropped
labels: wrong length               ValueError "pass one label per sample"
  negative                         ValueError "must be non-negative"
  2-D, text, non-integral floats   ValueError/TypeError
  bools, integral floats, huge     correct result
W_k: power <= 0, NaN, inf, text;   InvalidParameterError
  unknown metric
sample_weight: negative, NaN, inf, ValueError/TypeError naming the problem
  wrong shape, all zero, text        (fit and W_k alike)
  with a clusterer that takes none TypeError "<name>.fit does not accept
                                   sample_weight"
select_k: se wrong length          ValueError "same shape"
  se negative                      ValueError "non-negative"
  empty / 2-D                      ValueError "non-empty 1-D"
  all NaN                          ValueError "Every value is NaN"
  text / complex                   TypeError "real numbers"
  unknown method, se_factor < 0    InvalidParameterError
  NaN se                           counts as 0 (tested in test_selection.py)
predict: wrong n_features          ValueError "X has 3 features, but ...
                                   expecting 2"
  and the X rows above             the same errors as fit
=================================  ============================================
"""

import contextlib
import copy
import re
import warnings

import _oracle
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy import sparse
from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgap import GapKMeans, select_k, within_cluster_dispersion
from skgap.exceptions import SkgapWarning

pd = pytest.importorskip("pandas")


def _blobs(n=60, n_features=2, seed=0):
    X, _ = make_blobs(
        n_samples=n,
        centers=3,
        n_features=n_features,
        cluster_std=0.5,
        random_state=seed,
    )
    return X


def _gap(**params):
    params = {
        "n_clusters_range": [1, 2, 3, 4],
        "n_refs": 4,
        "random_state": 0,
        "estimator": KMeans(n_init=2),
        **params,
    }
    return GapKMeans(**params)


# --------------------------------------------------------------------------- helpers


def _copy(X):
    if sparse.issparse(X):
        return X.copy()
    if isinstance(X, pd.DataFrame):
        return X.copy(deep=True)
    return copy.deepcopy(X)


def _assert_same(X, original):
    assert type(X) is type(original)
    if sparse.issparse(X):
        assert X.dtype == original.dtype and X.shape == original.shape
        assert (X != original).nnz == 0
    elif isinstance(X, pd.DataFrame):
        pd.testing.assert_frame_equal(X, original)
    elif isinstance(X, np.ndarray):
        assert X.dtype == original.dtype and X.shape == original.shape
        assert X.flags.writeable == original.flags.writeable
        if X.dtype.kind in "fc":
            np.testing.assert_array_equal(X, original)
        else:
            assert X.tobytes() == original.tobytes()
    else:
        assert repr(X) == repr(original)


@contextlib.contextmanager
def _not_modified(*inputs):
    copies = [_copy(x) for x in inputs]
    try:
        yield
    finally:
        for x, original in zip(inputs, copies, strict=True):
            _assert_same(x, original)


def _rng():
    return np.random.default_rng(0)


# --------------------------------------------------------------------------- X rows

# (id, X factory, expected for fit, expected for within_cluster_dispersion);
# an expected error is (type, regex), "ok" means a correct result tested below.
NAN = (ValueError, "Input X contains NaN")  # sklearn adds: impute or drop
INF = (ValueError, r"contains infinity.*Replace or drop the infinite values")
TEXT = (ValueError, r"could not convert string to float.*must be numeric.*Encoder")
STRINGS = (ValueError, r"array of strings \(dtype <U\d\).*astype\(float\)")
COMPLEX = (ValueError, r"Complex data not supported.*real and imaginary parts")
SPARSE = (TypeError, r"sparse matrix.*toarray\(\)")
DIM3 = (ValueError, r"dim 3.*must be 2-D.*reshape")
DIM1 = (ValueError, r"Expected 2D array.*[Rr]eshape")
FIT_OVERFLOW = (ValueError, r"overflow float64.*Rescale X")
FIT_UNDERFLOW = (ValueError, r"underflow in float64.*Rescale X")


def _with(value):
    def make():
        X = _blobs()
        X[3, 1] = value
        return X

    return make


MASKED = (ValueError, r"masked array with 1 masked values.*Fill them")


def _masked():
    X = np.ma.masked_array(_blobs(), mask=False)
    X[3, 1] = np.ma.masked
    return X


X_ROWS = [
    ("nan", _with(np.nan), NAN, NAN),
    ("+inf", _with(np.inf), INF, INF),
    ("-inf", _with(-np.inf), INF, INF),
    (
        "empty",
        lambda: np.empty((0, 2)),
        (ValueError, r"0 sample\(s\).*minimum of 2"),
        (ValueError, r"0 sample\(s\).*minimum of 1"),
    ),
    (
        "no features",
        lambda: np.empty((10, 0)),
        (ValueError, r"0 feature\(s\)"),
        (ValueError, r"0 feature\(s\)"),
    ),
    (
        "one sample",
        lambda: np.array([[1.0, 2.0]]),
        (ValueError, r"1 sample\(s\).*minimum of 2"),
        "ok",
    ),
    ("1-D", lambda: _blobs()[:, 0], DIM1, DIM1),
    ("3-D", lambda: _blobs().reshape(30, 2, 2), DIM3, DIM3),
    (
        "object text",
        lambda: np.array([[1.0, "a"], [2.0, "b"]] * 10, dtype=object),
        TEXT,
        TEXT,
    ),
    ("list with text", lambda: [[1.0, "a"], [2.0, "b"]] * 10, TEXT, TEXT),
    (
        "ragged list",
        lambda: [[1.0, 2.0], [3.0]] * 10,
        (ValueError, "inhomogeneous.*same number of features"),
        (ValueError, "inhomogeneous.*same number of features"),
    ),
    ("masked values", _masked, MASKED, MASKED),
    (
        "numpy strings",
        lambda: np.array([["1.5", "2"], ["3", "4"]] * 10),
        STRINGS,
        STRINGS,
    ),
    (
        "datetime64",
        lambda: np.arange(20).astype("datetime64[D]").reshape(10, 2),
        (ValueError, "dates or time spans"),
        (ValueError, "dates or time spans"),
    ),
    ("complex", lambda: _blobs() + 1j, COMPLEX, COMPLEX),
    ("complex list", lambda: [[1 + 1j, 2.0], [3.0, 4.0]] * 10, COMPLEX, COMPLEX),
    ("sparse csr", lambda: sparse.csr_matrix(_blobs()), SPARSE, SPARSE),
    ("sparse coo", lambda: sparse.coo_array(_blobs()), SPARSE, SPARSE),
    ("pandas NaN", lambda: pd.DataFrame(_with(np.nan)(), columns=["a", "b"]), NAN, NAN),
    (
        "pandas text column",
        lambda: pd.DataFrame({"a": _blobs()[:, 0], "b": ["x", "y", "z"] * 20}),
        (ValueError, r"Non-numeric columns: \['b'\].*encode"),
        (ValueError, r"Non-numeric columns: \['b'\]"),
    ),
    (
        "pandas categorical",
        lambda: pd.DataFrame(
            {"a": _blobs()[:, 0], "c": pd.Categorical(["x", "y", "z"] * 20)}
        ),
        (ValueError, r"Non-numeric columns: \['c'\]"),
        (ValueError, r"Non-numeric columns: \['c'\]"),
    ),
    (
        "1e300",
        lambda: _blobs() * 1e300,
        FIT_OVERFLOW,
        (ValueError, "overflowed to infinity.*Rescale X"),
    ),
    (
        "-1e300",
        lambda: -_blobs() * 1e300,
        FIT_OVERFLOW,
        (ValueError, "overflowed to infinity.*Rescale X"),
    ),
    (
        "1e160",
        lambda: _blobs() * 1e160,
        FIT_OVERFLOW,
        (ValueError, "overflowed to infinity.*Rescale X"),
    ),
    # all values round to 1e300: W_k is 0, but the rounded mean overflows
    (
        "offset 1e300",
        lambda: _blobs() + 1e300,
        FIT_OVERFLOW,
        (ValueError, "overflowed to infinity.*Rescale X"),
    ),
    (
        "1e-300",
        lambda: _blobs() * 1e-300,
        FIT_UNDERFLOW,
        (ValueError, "underflowed.*Rescale X"),
    ),
    (
        "1e-170",
        lambda: _blobs() * 1e-170,
        FIT_UNDERFLOW,
        (ValueError, "underflowed.*Rescale X"),
    ),
    (
        "float32 1e30",
        lambda: (_blobs() * 1e30).astype(np.float32),
        (ValueError, r"overflow float32.*pass float64"),
        "ok",
    ),
    (
        "float32 1e-25",
        lambda: (_blobs() * 1e-25).astype(np.float32),
        (ValueError, r"underflow in float32"),
        "ok",
    ),
]
X_IDS = [row[0] for row in X_ROWS]


@pytest.mark.parametrize(("name", "make", "expected", "_"), X_ROWS, ids=X_IDS)
def test_fit_bad_X(name, make, expected, _):
    X = make()
    gap = _gap()
    with _not_modified(X):
        with pytest.raises(expected[0], match=expected[1]):
            gap.fit(X)
    assert not hasattr(gap, "n_clusters_")


@pytest.mark.parametrize(("name", "make", "_", "expected"), X_ROWS, ids=X_IDS)
def test_dispersion_bad_X(name, make, _, expected):
    X = make()
    labels = np.arange(X.shape[0] if hasattr(X, "shape") else len(X)) % 2
    with _not_modified(X, labels):
        if expected == "ok":
            value = within_cluster_dispersion(X, labels)
            X64 = np.asarray(X, dtype=np.float64)
            expected_value = sum(
                ((X64[labels == r] - X64[labels == r].mean(axis=0)) ** 2).sum()
                for r in np.unique(labels)
            )
            assert np.isfinite(value)
            assert value == pytest.approx(expected_value, rel=1e-6)
        else:
            with pytest.raises(expected[0], match="(?s)" + expected[1]):
                within_cluster_dispersion(X, labels)


@pytest.fixture(scope="module")
def fitted():
    return _gap().fit(_blobs())


PREDICT_ROWS = [
    (
        "3 features",
        lambda: np.ones((4, 3)),
        (ValueError, "X has 3 features, but GapKMeans is expecting 2 features"),
    ),
    ("nan", lambda: np.array([[np.nan, 1.0]]), NAN),
    ("inf", lambda: np.array([[np.inf, 1.0]]), INF),
    ("empty", lambda: np.empty((0, 2)), (ValueError, r"0 sample\(s\)")),
    ("1-D", lambda: np.ones(2), DIM1),
    ("3-D", lambda: np.ones((2, 2, 1)), DIM3),
    ("text", lambda: np.array([[1.0, "a"]], dtype=object), TEXT),
    ("strings", lambda: np.array([["1", "2"]]), STRINGS),
    ("complex", lambda: np.ones((2, 2)) + 1j, COMPLEX),
    ("sparse", lambda: sparse.csr_matrix(np.ones((2, 2))), SPARSE),
    ("1e300", lambda: np.full((2, 2), 1e300), (ValueError, "overflow float64")),
]


@pytest.mark.parametrize(
    ("name", "make", "expected"), PREDICT_ROWS, ids=[row[0] for row in PREDICT_ROWS]
)
def test_predict_bad_X(fitted, name, make, expected):
    X = make()
    labels = fitted.labels_.copy()
    with _not_modified(X):
        with pytest.raises(expected[0], match="(?s)" + expected[1]):
            fitted.predict(X)
    np.testing.assert_array_equal(fitted.labels_, labels)


@pytest.mark.parametrize(
    "convert",
    [
        lambda X: X.astype(np.float32),
        lambda X: X.astype(np.int64) * 0 + X.round(),
        lambda X: X.tolist(),
        lambda X: pd.DataFrame(X),
    ],
    ids=["float32", "integral float", "list", "DataFrame"],
)
@pytest.mark.filterwarnings("ignore:GapKMeans.score:skgap.exceptions.SkgapWarning")
def test_predict_good_X(fitted, convert):
    X = convert(_blobs()[:10])
    with _not_modified(X):
        labels = fitted.predict(X)
    assert labels.shape == (10,)
    np.testing.assert_array_equal(labels, fitted.predict(np.asarray(X, float)))
    assert fitted.score(X) == pytest.approx(fitted.score(np.asarray(X, float)))


@pytest.mark.filterwarnings("ignore:GapKMeans.score:skgap.exceptions.SkgapWarning")
def test_predict_and_score_float64_after_float32_fit():
    X = _blobs()
    gap = _gap().fit(X.astype(np.float32))
    np.testing.assert_array_equal(gap.predict(X), gap.labels_)
    assert np.isfinite(gap.score(X))


# --------------------------------------------------------------------------- good X


def test_one_feature():
    X = np.r_[np.zeros(30), np.full(30, 10.0)]
    X = (X + _rng().normal(scale=0.5, size=60))[:, None]
    with _not_modified(X):
        assert _gap().fit(X).n_clusters_ == 2


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float16, np.uint8])
def test_integer_and_small_float_input_is_float64(dtype):
    X = np.round(_blobs() * 3 + 40).astype(dtype)
    with _not_modified(X):
        gap = _gap().fit(X)
    expected = _gap().fit(X.astype(np.float64))
    for key, values in expected.gap_results_.items():
        np.testing.assert_array_equal(gap.gap_results_[key], values)
    assert within_cluster_dispersion(X, gap.labels_) == within_cluster_dispersion(
        X.astype(np.float64), gap.labels_
    )


def test_boolean_input():
    X = _rng().random((40, 3)) > 0.5
    with _not_modified(X):
        gap = _gap().fit(X)
    assert gap.n_clusters_ in (1, 2, 3, 4)
    assert np.all(np.isfinite(gap.gap_results_["log_w"][:1]))


def test_constant_feature():
    X = np.c_[_blobs(), np.full(60, 7.0)]
    with _not_modified(X):
        gap = _gap().fit(X)
    assert gap.n_clusters_ == 3
    labels = np.arange(60) % 3
    assert within_cluster_dispersion(X, labels) == pytest.approx(
        within_cluster_dispersion(X[:, :2], labels), rel=1e-12
    )


@pytest.mark.parametrize("statistic", ["gap", "gap_star"])
@pytest.mark.parametrize("reference", ["pca", "uniform"])
def test_all_points_identical(statistic, reference):
    X = np.ones((20, 2))
    gap = _gap(statistic=statistic, reference=reference)
    with _not_modified(X):
        with pytest.raises(ValueError, match="identical.*no spread"):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=ConvergenceWarning)
                gap.fit(X)
        assert within_cluster_dispersion(X, np.arange(20) % 3) == 0.0
    assert not hasattr(gap, "n_clusters_")


@pytest.mark.parametrize("kmeans_engine", ["skgap", "sklearn"])
@pytest.mark.parametrize(
    "points, ks",
    [
        ([[0.0, 0.0], [5.0, 5.0]], [1, 2, 3, 4]),
        ([[0.0, 0.0], [5.0, 1.0], [1.0, 7.0]], [1, 2, 3, 4, 5]),
    ],
    ids=["2 points", "3 points"],
)
def test_fewer_distinct_points_than_k(points, ks, kmeans_engine):
    X = np.repeat(points, 10, axis=0)
    n = len(points)
    with _not_modified(X), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gap = _gap(n_clusters_range=ks, kmeans_engine=kmeans_engine).fit(X)
    messages = [(w.category, str(w.message)) for w in caught]
    short = r"fewer distinct clusters than asked for on the data at k=" + re.escape(
        str(ks[n:])
    )
    assert any(c is SkgapWarning and re.search(short, m) for c, m in messages)
    if kmeans_engine == "sklearn":  # scikit-learn's own warning, summarised
        assert any(
            c is ConvergenceWarning and f"{len(ks) - n} ConvergenceWarning" in m
            for c, m in messages
        )
    # W_k = 0 from k = n on: the gap is +inf, a winning value
    assert gap.n_clusters_ == n
    assert_array_equal(gap.gap_results_["gap"][n - 1 :], np.inf)
    assert_array_equal(gap.dispersions_[n - 1 :], 0.0)


def test_duplicated_rows():
    X = np.repeat(_blobs(), 3, axis=0)
    with _not_modified(X):
        assert _gap().fit(X).n_clusters_ == 3


@pytest.mark.parametrize("scale", [2.0**490, 2.0**-490], ids=["3e147", "3e-148"])
def test_extreme_but_representable_scales(scale):
    X = _blobs()
    gap = _gap(reference="uniform").fit(X)
    scaled = _gap(reference="uniform").fit(X * scale)
    assert scaled.n_clusters_ == gap.n_clusters_ == 3
    np.testing.assert_allclose(
        scaled.gap_results_["gap"], gap.gap_results_["gap"], rtol=1e-9
    )
    np.testing.assert_allclose(
        scaled.dispersions_, gap.dispersions_ * scale**2, rtol=1e-12
    )


def test_float32_with_large_offset():
    X = _blobs() + 1e6
    gap64 = _gap().fit(X)
    X32 = X.astype(np.float32)
    with _not_modified(X32):
        gap32 = _gap().fit(X32)
    assert gap32.n_clusters_ == gap64.n_clusters_ == 3
    assert np.all(np.isfinite(gap32.gap_results_["gap"]))
    # float32 rounds the data to 1/16 at 1e6: W_k up to k=3 agrees to 1 %
    np.testing.assert_allclose(
        gap32.dispersions_[:3], gap64.dispersions_[:3], rtol=1e-2
    )


# --------------------------------------------------------------------------- params


class NoGetParams:
    """A clusterer that has n_clusters and fit, but no get_params."""

    def __init__(self, n_clusters=2):
        self.n_clusters = n_clusters

    def fit(self, X, y=None):
        return self


PARAM_ROWS = [
    ({"n_refs": 0}, ValueError, r"'n_refs' parameter .* range \[1, inf\) or .*'auto'"),
    ({"n_refs": "many"}, ValueError, r"'n_refs' parameter .*'auto'.* Got 'many'"),
    ({"stability": 1.5}, ValueError, r"'stability' parameter .* range \(0.*1.*\]"),
    ({"n_refs": "auto", "stability": 0.0}, ValueError, r"'stability' parameter"),
    ({"max_n_refs": 1}, ValueError, r"'max_n_refs' parameter .* \[2, inf\)"),
    ({"n_refs": "auto", "max_n_refs": 1}, ValueError, r"'max_n_refs' parameter"),
    ({"n_refs": "auto", "max_n_refs": 10.5}, ValueError, r"'max_n_refs' parameter"),
    ({"metric": "euclidian"}, ValueError, r"'metric' parameter .* 'cityblock'"),
    ({"n_refs": -3}, ValueError, r"'n_refs' parameter"),
    ({"n_refs": 2.5}, ValueError, r"'n_refs' parameter .* int"),
    ({"power": 0}, ValueError, r"'power' parameter .* range \(0\.0, inf\)"),
    ({"power": -1.0}, ValueError, r"'power' parameter"),
    ({"power": np.nan}, ValueError, r"'power' parameter"),
    ({"power": np.inf}, ValueError, r"'power' parameter"),
    ({"method": "elbow"}, ValueError, r"'method' parameter .* among .*tibshirani"),
    # R's name of the rule is not one of its names here
    ({"method": "Tibs2001SEmax"}, ValueError, r"'method' parameter .* among"),
    ({"statistic": "gap*"}, ValueError, r"'statistic' parameter .* among"),
    ({"reference": "normal"}, ValueError, r"'reference' parameter .* among"),
    ({"se_factor": -1.0}, ValueError, r"'se_factor' parameter"),
    ({"se_factor": np.inf}, ValueError, r"'se_factor' parameter"),
    ({"n_jobs": 0}, ValueError, r"n_jobs == 0 .* has no meaning"),
    ({"n_jobs": 1.5}, ValueError, r"'n_jobs' parameter"),
    ({"estimator": KMeans}, TypeError, r"an instance, such as KMeans\(\)"),
    ({"n_clusters_range": (k for k in [1, 2])}, TypeError, "an iterator .* list"),
    ({"estimator": "kmeans"}, ValueError, r"'estimator' parameter .* 'fit'"),
    ({"random_state": -1}, ValueError, r"'random_state' parameter"),
    ({"n_clusters_range": [0, 1, 2]}, ValueError, "must hold positive integers, got 0"),
    ({"n_clusters_range": [-2, 2]}, ValueError, "must hold positive integers, got -2"),
    ({"n_clusters_range": [2, 3, 2]}, ValueError, r"must not repeat a k, got \[2\]"),
    ({"n_clusters_range": [1.0, 2.0]}, TypeError, "must hold integers, got 1.0"),
    ({"n_clusters_range": [2.5]}, TypeError, "must hold integers, got 2.5"),
    ({"n_clusters_range": np.array([1.0, 2.0])}, TypeError, "must hold integers"),
    ({"n_clusters_range": [True, 2]}, TypeError, "must hold integers, got True"),
    ({"n_clusters_range": "123"}, TypeError, "must hold integers, got '1'"),
    ({"n_clusters_range": []}, ValueError, "n_clusters_range is empty"),
    ({"n_clusters_range": range(0)}, ValueError, "n_clusters_range is empty"),
    ({"n_clusters_range": 5}, ValueError, r"'n_clusters_range' parameter .*Iterable"),
    (
        {"n_clusters_range": [80, 70]},
        ValueError,
        r"\[70, 80\] is larger than n_samples=60; pass k",
    ),
    (
        {"estimator": DBSCAN()},
        TypeError,
        r"DBSCAN has neither an 'n_clusters' nor an 'n_components'",
    ),
    (
        {"estimator": NoGetParams()},
        TypeError,
        "NoGetParams lacks get_params and set_params",
    ),
    (
        {"estimator": KMeans(n_init=0)},
        ValueError,
        r"clusterer's parameters are invalid: The 'n_init' parameter of KMeans",
    ),
    (
        {"estimator": make_pipeline(StandardScaler(with_std="no"), KMeans())},
        ValueError,
        r"clusterer's parameters are invalid: The 'with_std' parameter of Standard",
    ),
]


@pytest.mark.parametrize(
    ("params", "error", "match"), PARAM_ROWS, ids=[str(row[0]) for row in PARAM_ROWS]
)
def test_fit_bad_params(params, error, match):
    X = _blobs()
    gap = _gap(**params)
    with _not_modified(X):
        with pytest.raises(error, match=match):
            gap.fit(X)
    assert not hasattr(gap, "n_clusters_")


def test_clusterer_parameters_checked_once_before_any_fit(monkeypatch):
    # the fits then skip scikit-learn's own check (skip_parameter_validation);
    # the number of clusters and random_state are GapKMeans', not checked as given
    fits = []
    original_fit = KMeans.fit

    def counting_fit(self, *args, **kwargs):
        fits.append(self.n_clusters)
        return original_fit(self, *args, **kwargs)

    monkeypatch.setattr(KMeans, "fit", counting_fit)
    with pytest.raises(ValueError, match="'max_iter' parameter of KMeans"):
        _gap(estimator=KMeans(max_iter=-5)).fit(_blobs())
    assert fits == []
    gap = _gap(
        estimator=KMeans(n_clusters=0, n_init=1, random_state="x"),
        kmeans_engine="sklearn",
    )
    assert gap.fit(_blobs()).n_clusters_ == 3
    assert fits


@pytest.mark.parametrize(
    "ks",
    [
        np.array([1, 2, 3]),
        range(1, 4),
        [np.int32(3), np.int64(1), 2],
        [3, 1, 2],
    ],
    ids=["array", "range", "numpy ints", "unsorted"],
)
def test_fit_good_n_clusters_range(ks):
    gap = _gap(n_clusters_range=ks).fit(_blobs())
    np.testing.assert_array_equal(gap.gap_results_["n_clusters"], [1, 2, 3])
    assert gap.n_clusters_ == 3


@pytest.mark.parametrize(
    "n_samples, ks, kept",
    [(60, [1, 3, 70], [1, 3]), (6, [1, 2, 10, 8], [1, 2])],
)
def test_fit_drops_k_larger_than_n_samples(n_samples, ks, kept):
    dropped = re.escape(str(sorted(set(ks) - set(kept))))
    with pytest.warns(
        SkgapWarning, match=rf"Dropped .* {dropped}.*n_samples={n_samples}"
    ):
        gap = _gap(n_clusters_range=ks).fit(_blobs(n=n_samples))
    np.testing.assert_array_equal(gap.gap_results_["n_clusters"], kept)
    assert gap.reference_dispersions_.shape == (4, len(kept))


# --------------------------------------------------------------------------- labels

LABEL_ROWS = [
    (
        "too short",
        lambda n: np.zeros(n - 1, int),
        ValueError,
        r"labels has 59 entries but X has 60 samples; pass one label per sample",
    ),
    ("too long", lambda n: np.zeros(n + 1, int), ValueError, "pass one label per"),
    (
        "negative",
        lambda n: np.arange(n) % 3 - 1,
        ValueError,
        r"labels must be non-negative, got -1.*drop those samples",
    ),
    ("2-D", lambda n: np.zeros((n, 2), int), ValueError, r"must be 1-D.*\(60, 2\)"),
    ("text", lambda n: np.array(["a"] * n), TypeError, "labels must be integers"),
    (
        "numbers as text",
        lambda n: (np.arange(n) % 3).astype(str),
        TypeError,
        "labels must be integers",
    ),
    ("non-integral", lambda n: np.arange(n) * 0.5, ValueError, "non-integral"),
    ("NaN", lambda n: np.r_[np.zeros(n - 1), np.nan], ValueError, "missing values"),
    ("None", lambda n: [None] * n, ValueError, "60 missing values"),
    (
        "Int64 with NA",
        lambda n: pd.array([0, None] * (n // 2), dtype="Int64"),
        ValueError,
        r"30 missing values .* at positions 1, 3, 5",
    ),
]


@pytest.mark.parametrize("power", [2.0, 1.0])
@pytest.mark.parametrize(
    ("name", "make", "error", "match"), LABEL_ROWS, ids=[row[0] for row in LABEL_ROWS]
)
def test_dispersion_bad_labels(name, make, error, match, power):
    X = _blobs()
    labels = make(60)
    with _not_modified(X, labels):
        with pytest.raises(error, match=match):
            within_cluster_dispersion(X, labels, power=power)


_TWO = np.arange(60) % 2
_THREE = np.arange(60) % 3


# labels given otherwise, and `base`: the same partition as small ints
@pytest.mark.parametrize(
    "convert, base",
    [
        (lambda y: y.astype(bool), _TWO),
        (lambda y: y.astype(float), _TWO),
        (lambda y: y * 10**12, _TWO),
        (lambda y: np.array([10**12, 5, 2**40])[y], _THREE),
        (lambda y: y.astype(np.uint8), _TWO),
        (lambda y: y.astype(np.int16), _THREE),
        (lambda y: y.tolist(), _TWO),
        (lambda y: pd.Series(y), _TWO),
        (lambda y: y[:, None], _TWO),
    ],
    ids=[
        "bool",
        "integral float",
        "huge",
        "huge and small",
        "uint8",
        "int16",
        "list",
        "Series",
        "column",
    ],
)
@pytest.mark.parametrize("power", [2.0, 1.0])
def test_dispersion_good_labels(convert, base, power):
    X = _blobs()
    labels = convert(base)
    column = isinstance(labels, np.ndarray) and labels.ndim == 2
    with (
        _not_modified(X, labels),
        pytest.warns(Warning) if column else contextlib.nullcontext(),
    ):
        value = within_cluster_dispersion(X, labels, power=power)
    expected = within_cluster_dispersion(X, base, power=power)
    assert value == pytest.approx(expected, rel=1e-15)
    assert expected == pytest.approx(_oracle.dispersion(X, base, power), rel=1e-7)


_POWER = r"'power' parameter .* must be a float in the range \(0(\.0)?, inf\)"


@pytest.mark.parametrize(
    "params, match",
    [
        ({"power": 0}, _POWER),
        ({"power": -1.0}, _POWER),
        ({"power": np.nan}, _POWER),
        ({"power": np.inf}, _POWER),
        ({"power": "2"}, _POWER),
        ({"metric": "euclidian"}, r"'metric' parameter .* must be a str among"),
    ],
    ids=["power=0", "power=-1", "power=nan", "power=inf", "power='2'", "metric"],
)
def test_dispersion_bad_params(params, match):
    with pytest.raises(ValueError, match=match):
        within_cluster_dispersion(_blobs(), np.arange(60) % 2, **params)


# --------------------------------------------------------------------------- weights

_BAD_WEIGHTS = [
    (lambda n: -np.ones(n), ValueError, r"non-negative, got -1\.0 at sample 0"),
    (
        lambda n: np.r_[1.0, np.nan, np.ones(n - 2)],
        ValueError,
        r"must be finite, got nan at sample 1",
    ),
    (
        lambda n: np.r_[np.inf, np.ones(n - 1)],
        ValueError,
        r"must be finite, got inf at sample 0",
    ),
    (lambda n: np.ones(n - 1), ValueError, r"one weight per sample, of shape"),
    (lambda n: np.ones((n, 1)), ValueError, r"got shape \(\d+, 1\)"),
    (lambda n: np.zeros(n), ValueError, r"zero for every sample"),
    (lambda n: np.array(["a"] * n), TypeError, r"sample_weight must be numbers"),
]


@pytest.mark.parametrize(
    "make, error, match",
    _BAD_WEIGHTS,
    ids=["negative", "nan", "inf", "short", "2-D", "all-zero", "strings"],
)
def test_bad_weights_rejected(make, error, match):
    X = _blobs(n=30)
    weights = make(len(X))
    with _not_modified(X, weights):
        with pytest.raises(error, match=match):
            within_cluster_dispersion(X, np.zeros(len(X), int), sample_weight=weights)
        gap = _gap()
        with pytest.raises(error, match=match):
            gap.fit(X, sample_weight=weights)
    assert not hasattr(gap, "n_clusters_")


@pytest.mark.parametrize(
    "estimator, name",
    [
        (AgglomerativeClustering(), "AgglomerativeClustering"),
        (make_pipeline(StandardScaler(), KMeans(n_init=1)), "Pipeline"),
    ],
    ids=["agglomerative", "pipeline"],
)
def test_clusterer_without_sample_weight_is_named(estimator, name):
    X = _blobs(n=30)
    weights = np.arange(30) % 4
    with pytest.raises(TypeError, match=rf"{name}\.fit does not accept sample_weight"):
        _gap(estimator=estimator).fit(X, sample_weight=weights)
    # without weights, or with equal ones (which change nothing), it fits
    unweighted = _gap(estimator=estimator).fit(X)
    for equal in (np.ones(30), np.full(30, 7.5)):
        gap = _gap(estimator=estimator).fit(X, sample_weight=equal)
        assert gap.n_clusters_ == unweighted.n_clusters_
        np.testing.assert_allclose(
            gap.gap_results_["gap"], unweighted.gap_results_["gap"], rtol=1e-12
        )


# --------------------------------------------------------------------------- select_k

SELECT_ROWS = [
    ([1, 2], [1], ValueError, r"same shape as values: got 1 standard errors"),
    ([1, 2], [1, -1], ValueError, r"se must be non-negative, got .*-1.* at position 1"),
    ([], [], ValueError, "non-empty 1-D"),
    ([[1, 2]], [[1, 1]], ValueError, r"non-empty 1-D.*\(1, 2\)"),
    ([np.nan, np.nan], [1, 1], ValueError, "Every value is NaN"),
    (["a", "b"], [1, 1], TypeError, "real numbers"),
    ([1 + 1j, 2], [1, 1], TypeError, "real numbers, got complex"),
    ([1, 2], ["x", 1], TypeError, "real numbers"),
]


@pytest.mark.parametrize(("values", "se", "error", "match"), SELECT_ROWS)
def test_select_k_bad_input(values, se, error, match):
    with _not_modified(values, se):
        with pytest.raises(error, match=match):
            select_k(values, se)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"method": "elbow"}, r"'method' parameter .* must be a str among"),
        ({"method": "Tibs2001SEmax"}, r"'method' parameter .* must be a str among"),
        ({"se_factor": -1}, r"'se_factor' parameter"),
    ],
    ids=["method", "R's method name", "se_factor"],
)
def test_select_k_bad_options(params, match):
    with pytest.raises(ValueError, match=match):
        select_k([1, 2], [0, 0], **params)


# ------------------------------------------------------ warnings about the input


@pytest.mark.parametrize("ratio, warns", [(99.0, False), (101.0, True)])
def test_warns_when_feature_spreads_differ_by_more_than_100(ratio, warns):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 3))
    X = (X - X.mean(0)) / X.std(0) * [1.0, ratio, 3.0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkgapWarning)
        _gap(estimator=KMeans(n_init=3), n_clusters_range=range(1, 4), n_refs=3).fit(X)
    messages = [str(w.message) for w in caught if w.category is SkgapWarning]
    spread = [m for m in messages if "spreads of the features" in m]
    if warns:
        assert len(spread) == 1
        assert re.search(r"for feature 1, .*for feature 0\)", spread[0])
    else:
        assert spread == []


def test_warns_about_feature_spreads_with_column_names():
    X = np.random.RandomState(0).normal(size=(80, 2)) * [0.01, 50.0]
    frame = pd.DataFrame(X, columns=["height_m", "income"])
    with pytest.warns(
        SkgapWarning,
        match=r"feature 'income', .* for feature 'height_m'\).*StandardScaler",
    ):
        _gap(estimator=KMeans(n_init=3), n_clusters_range=range(1, 4), n_refs=3).fit(
            frame
        )


def test_warns_when_fewer_distinct_samples_than_a_candidate():
    X = np.repeat(np.arange(10.0).reshape(5, 2), 6, axis=0)  # 5 distinct rows
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkgapWarning)
        _gap(estimator=KMeans(n_init=3), n_clusters_range=range(1, 9), n_refs=3).fit(X)
    messages = [str(w.message) for w in caught if w.category is SkgapWarning]
    expected = r"only 5 distinct samples, fewer than the candidates k=\[6, 7, 8\]"
    assert any(re.search(expected, m) for m in messages)
    # (and, after the fits, that the clusterer found fewer clusters there)
    assert any("fewer distinct clusters than asked for" in m for m in messages)


# -- messages that name the real cause -------------------------------------------


def test_too_large_power_is_named():
    with pytest.raises(ValueError, match=r"power=400 is too large.*smaller power"):
        _gap(power=400.0).fit(_blobs())


def test_candidates_at_least_the_distinct_samples_are_named():
    # each sample its own cluster, in the data and in every reference: W_k = 0
    X = np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 0.0], [2.0, 3.0]])
    with pytest.raises(
        ValueError, match=r"at least the number of distinct samples \(4\)"
    ):
        _gap(n_clusters_range=[4]).fit(X)


def test_missing_values_in_an_object_array_are_named():
    X = _blobs().astype(object)
    X[3, 1] = pd.NA
    with pytest.raises((TypeError, ValueError), match="missing values"):
        _gap().fit(X)


def test_a_huge_candidate_range_gives_a_short_warning():
    with pytest.warns(SkgapWarning) as caught:
        _gap(n_clusters_range=range(1, 1_000_000), n_refs=2).fit(_blobs(n=8))
    assert max(len(str(w.message)) for w in caught) < 500


# -- metrics and weights of W_k: checked before any distance (issue 17) ----------------


@pytest.mark.parametrize("metric", ["euclidean", "l2", "cityblock", "cosine"])
def test_metric_params_of_a_metric_without_parameters_raise(metric):
    # scikit-learn's pairwise_distances raises a TypeError; skgap ignored them
    with pytest.raises(
        TypeError, match=rf"metric_params has 'p', not a parameter of metric='{metric}'"
    ):
        within_cluster_dispersion(
            _blobs(), np.arange(60) % 2, metric=metric, metric_params={"p": 3}
        )
    # an empty dict is no parameter
    assert within_cluster_dispersion(
        _blobs(), np.arange(60) % 2, metric=metric, metric_params={}
    ) == within_cluster_dispersion(_blobs(), np.arange(60) % 2, metric=metric)


_BAD_METRIC_PARAMS = [
    ("minkowski", {"q": 3}, r"metric_params has 'q'.*parameters are 'p', 'w'"),
    ("minkowski", {"p": 0}, r"metric_params\['p'\] .* must be a number > 0"),
    ("minkowski", {"p": "3"}, r"metric_params\['p'\] .* must be a number > 0"),
    ("minkowski", {"w": [1.0, -1.0]}, r"metric_params\['w'\] .* non-negative"),
    ("minkowski", {"w": [1.0, 1.0, 1.0]}, r"metric_params\['w'\] .* shape \(2,\)"),
    ("seuclidean", None, r"metric='seuclidean' needs metric_params\['V'\]"),
    ("seuclidean", {"V": [1.0]}, r"metric_params\['V'\] .* shape \(2,\)"),
    ("seuclidean", {"V": [1.0, 0.0]}, r"metric_params\['V'\] .* must be positive"),
    ("seuclidean", {"VI": np.eye(2)}, r"has 'VI', not a parameter.*are 'V'"),
    ("mahalanobis", None, r"metric='mahalanobis' needs metric_params\['VI'\]"),
    ("mahalanobis", {"VI": np.eye(3)}, r"metric_params\['VI'\] .* shape \(2, 2\)"),
    (
        "mahalanobis",
        {"VI": [[1.0, 0.0], [0.0, -1.0]]},
        r"metric_params\['VI'\] .* positive semi-definite",
    ),
    ("cityblock", {"w": [1.0, 1.0]}, r"has 'w', not a parameter.*takes none"),
    ("braycurtis", {"p": 2}, r"has 'p', not a parameter.*are 'w'"),
]


@pytest.mark.parametrize(
    "metric, params, match",
    _BAD_METRIC_PARAMS,
    ids=[
        f"{m}-{sorted(p or {})}-{i}" for i, (m, p, _) in enumerate(_BAD_METRIC_PARAMS)
    ],
)
def test_bad_metric_params_are_named_before_any_distance(metric, params, match):
    X = _blobs()
    with pytest.raises(ValueError, match=match) as caught:
        within_cluster_dispersion(
            X, np.arange(60) % 2, metric=metric, metric_params=params
        )
    # the message names the parameters, never dumps the data
    assert len(str(caught.value)) < 400
    assert "array(" not in str(caught.value)


def test_check_metric_runs_before_the_data_are_known():
    from skgap._dispersion import check_metric

    # what GapKMeans can check before any fit (n_features None: no shapes)
    with pytest.raises(ValueError, match=r"metric='seuclidean' needs"):
        check_metric("seuclidean", None)
    with pytest.raises(ValueError, match=r"metric_params has 'q'"):
        check_metric("minkowski", {"q": 3})
    with pytest.raises(ValueError, match=r"Unknown metric 'wminkowski'"):
        check_metric("wminkowski", {"p": 2, "w": [1.0, 1.0]})
    params = check_metric("seuclidean", {"V": [1, 2, 3]})
    assert params["V"].dtype == np.float64
    assert check_metric("minkowski", None) == {}
    # a callable's parameters are its own
    assert check_metric(lambda u, v, scale: 0.0, {"scale": 2}) == {"scale": 2}
    # haversine: latitude and longitude
    with pytest.raises(ValueError, match=r"'haversine' needs exactly 2 features.* 3"):
        check_metric("haversine", None, 3)
    assert check_metric("haversine", None, 2) == {}


def test_wminkowski_is_not_a_metric_any_more():
    # SciPy 1.8 removed it; metric='minkowski' takes the weights w
    with pytest.raises(ValueError, match=r"'metric' parameter"):
        within_cluster_dispersion(_blobs(), np.arange(60) % 2, metric="wminkowski")


def test_haversine_with_more_than_two_features_raises():
    X = _blobs(n_features=3)
    with pytest.raises(ValueError, match=r"'haversine' needs exactly 2 features"):
        within_cluster_dispersion(X, np.arange(60) % 2, metric="haversine")


def test_seuclidean_and_mahalanobis_with_their_parameters_equal_scipy():
    from scipy.spatial.distance import mahalanobis, seuclidean

    X = _blobs(n=20, n_features=3)
    labels = np.arange(20) % 3
    V = X.var(axis=0, ddof=1)
    VI = np.linalg.inv(np.cov(X, rowvar=False))
    for metric, params, distance in [
        ("seuclidean", {"V": V}, lambda u, v: seuclidean(u, v, V)),
        ("mahalanobis", {"VI": VI}, lambda u, v: mahalanobis(u, v, VI)),
    ]:
        got = within_cluster_dispersion(
            X, labels, metric=metric, metric_params=params, power=1.0
        )
        expected = _oracle.weighted_dispersion(X, labels, None, 1.0, distance)
        assert got == pytest.approx(expected, rel=1e-10)


def _negative_cityblock(u, v):
    return -float(np.abs(u - v).sum())


def _infinite(u, v):
    return np.inf


def _difference(u, v):
    return u - v


def _text(u, v):
    return "1.0"


@pytest.mark.parametrize(
    "metric, match",
    [
        (_negative_cityblock, r"'_negative_cityblock' returned a negative distance"),
        (_infinite, r"'_infinite' returned an infinite distance"),
        (
            _difference,
            r"'_difference' returned ndarray of shape \(2,\).*return a float",
        ),
        (_text, r"'_text' returned str.*return a float"),
    ],
    ids=["negative", "inf", "array", "text"],
)
@pytest.mark.parametrize("power", [1.0, 2.0])
def test_a_callable_metric_returning_no_distance_is_named(metric, match, power):
    # negative with power=1 gave W_k = -55.3, squared away with power 2
    with pytest.raises(ValueError, match=match):
        within_cluster_dispersion(
            _blobs(), np.arange(60) % 2, metric=metric, power=power
        )


def test_a_callable_metric_may_return_numpy_numbers():
    X, labels = _blobs(n=20).round(), np.arange(20) % 2
    expected = within_cluster_dispersion(X, labels, metric="cityblock")
    assert expected > 0
    for convert in (np.float32, np.float64, np.asarray, int, float):
        got = within_cluster_dispersion(
            X, labels, metric=lambda u, v, c=convert: c(np.abs(u - v).sum())
        )
        assert got == expected


def test_masked_sample_weight_raises():
    X = _blobs(n=30)
    weights = np.ma.masked_array(np.ones(30), mask=False)
    weights[4] = np.ma.masked
    with pytest.raises(ValueError, match=r"sample_weight is a masked array with 1 "):
        within_cluster_dispersion(X, np.arange(30) % 2, sample_weight=weights)
    with pytest.raises(ValueError, match=r"sample_weight is a masked array with 1 "):
        _gap().fit(X, sample_weight=weights)
    # without masked values it is an array like any other
    unmasked = np.ma.masked_array(np.arange(30.0) % 3, mask=False)
    assert within_cluster_dispersion(
        X, np.arange(30) % 2, sample_weight=unmasked
    ) == within_cluster_dispersion(
        X, np.arange(30) % 2, sample_weight=np.arange(30) % 3
    )


def test_one_positive_weight():
    from skgap._validation import check_sample_weight

    weights = np.zeros(30)
    weights[7] = 2.5
    # W_k: no spread, 0; GapKMeans asks for two positive weights
    assert (
        within_cluster_dispersion(
            _blobs(n=30), np.arange(30) % 2, sample_weight=weights
        )
        == 0.0
    )
    with pytest.raises(
        ValueError, match=r"Only one sample has a positive weight \(sample 7\)"
    ):
        check_sample_weight(weights, 30, min_positive=2)
    weights[9] = 1.0
    assert_array_equal(check_sample_weight(weights, 30, min_positive=2), weights)


def test_huge_weights_do_not_overflow_the_validation():
    from skgap._validation import check_sample_weight

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weights = check_sample_weight(np.full(300, 1e306), 300)
    assert np.all(weights == 1e306)
