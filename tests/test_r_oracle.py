"""Comparison with R's ``cluster`` package: ``maxSE`` and the whole ``clusGap`` table.

R is called with ``Rscript`` in a subprocess, with the data in temporary files;
the tests skip when ``Rscript`` is not installed. R writes every number it
uses or computes with 17 significant digits, so Python reads R's exact doubles.

Conventions (SPEC section 1): R counts each pair once, so its W_k is half ours
(``log W = R logW + log 2``); R's ``SE.sim`` uses the 1/(B-1) variance, so
``se = SE.sim * sqrt((B - 1) / B)``.
"""

import shutil
import subprocess
import textwrap

import _oracle
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.cluster import AgglomerativeClustering
from sklearn.datasets import make_blobs

from skgap import GapKMeans, select_k, within_cluster_dispersion
from skgap.compat import R_MAXSE_METHODS

pytestmark = [
    pytest.mark.r_oracle,
    pytest.mark.skipif(
        shutil.which("Rscript") is None, reason="Rscript is not installed"
    ),
]

METHODS = _oracle.METHODS
R_WRITE = textwrap.dedent(
    """
    write17 <- function(m, file) {
      m <- as.matrix(m)
      rows <- apply(m, 1, function(r) paste(sprintf("%.17g", r), collapse = ","))
      writeLines(rows, file)
    }
    """
)


def _rscript(code, tmp_path):
    script = tmp_path / "script.R"
    script.write_text(
        "suppressPackageStartupMessages(library(cluster))\n" + R_WRITE + code
    )
    result = subprocess.run(
        ["Rscript", "--vanilla", str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        check=False,
    )
    if result.returncode != 0:
        if "there is no package called" in result.stderr:
            pytest.skip("R's cluster package is not installed")
        raise AssertionError(f"Rscript failed:\n{result.stderr}")
    return result


def _write(path, array):
    np.savetxt(path, np.atleast_2d(array), delimiter=",", fmt="%.17g")


def _read(path):
    return np.loadtxt(path, delimiter=",", ndmin=2)


# --- maxSE --------------------------------------------------------------------


def test_max_se_on_random_curves(tmp_path):
    rng = np.random.RandomState(0)
    n_curves, se_factors = 120, [0.0, 0.5, 1.0, 2.0, 4.0]
    curves, ses = [], []
    for i in range(n_curves):
        m = 1 + i % 10
        f = rng.normal(size=m).cumsum()
        if i % 3 == 0:
            f = np.round(f, 0)  # ties and plateaus
        se = np.abs(rng.normal(scale=0.5, size=m))
        if i % 4 == 0:
            se[rng.randint(m)] = 0.0
        if m > 1 and i % 7 == 5:
            f[rng.randint(m)] = np.inf  # one infinite value: R is defined there
        elif m > 1 and i % 11 == 3:
            f[rng.randint(m)] = -np.inf
        curves.append(f)
        ses.append(se)
    width = 10
    pad = lambda a: np.r_[a, np.full(width - len(a), np.nan)]  # noqa: E731
    _write(tmp_path / "f.csv", np.array([pad(f) for f in curves]))
    _write(tmp_path / "se.csv", np.array([pad(s) for s in ses]))
    methods = ", ".join(f'"{R_MAXSE_METHODS[m]}"' for m in METHODS)
    factors = ", ".join(repr(x) for x in se_factors)
    _rscript(
        f"""
        f <- as.matrix(read.csv("f.csv", header = FALSE))
        s <- as.matrix(read.csv("se.csv", header = FALSE))
        out <- NULL
        for (i in seq_len(nrow(f))) {{
          keep <- !is.na(f[i, ])
          row <- NULL
          for (m in c({methods})) for (sf in c({factors}))
            row <- c(row, maxSE(f[i, keep], s[i, keep], method = m, SE.factor = sf))
          out <- rbind(out, row)
        }}
        write17(out, "chosen.csv")
        """,
        tmp_path,
    )
    r_chosen = _read(tmp_path / "chosen.csv").astype(int) - 1  # 1-based in R
    # R read the same decimal strings (17 digits) that Python wrote
    for i, (f, se) in enumerate(zip(curves, ses, strict=True)):
        column = 0
        for method in METHODS:
            for se_factor in se_factors:
                got = select_k(f, se, method=method, se_factor=se_factor)
                assert got == r_chosen[i, column], (i, method, se_factor, f, se)
                column += 1


# --- clusGap ------------------------------------------------------------------

N_REFS, K_MAX = 6, 5
CONFIGS = [
    (power, space) for power in (1.0, 2.0) for space in ("original", "scaledPCA")
]


def _clusgap_data(name):
    if name == "blobs":
        X, _ = make_blobs(
            n_samples=45, centers=3, n_features=3, cluster_std=1.5, random_state=3
        )
        return X * [3.0, 1.0, 0.5]  # anisotropic, so that the principal axes matter
    if name == "close_blobs":
        X, _ = make_blobs(n_samples=50, centers=4, cluster_std=1.2, random_state=7)
        return X
    return np.random.RandomState(5).uniform(size=(40, 2)) * [4.0, 1.0]


@pytest.fixture(scope="module", params=["blobs", "close_blobs", "noise"])
def r_clusgap(request, tmp_path_factory):
    """Run clusGap for every (d.power, spaceH0) and export its references and table."""
    tmp_path = tmp_path_factory.mktemp("clusgap")
    X = _clusgap_data(request.param)
    _write(tmp_path / "x.csv", X)
    _rscript(
        f"""
        x <- as.matrix(read.csv("x.csv", header = FALSE))
        colnames(x) <- NULL
        write17(x, "x_used.csv")
        i <- 0
        for (power in c(1, 2)) for (space in c("original", "scaledPCA")) {{
          i <- i + 1
          recorded <- list()
          average <- function(x, k) {{
            # the first call for each data set is at k = 2: the data, then b = 1..B
            if (k == 2) recorded[[length(recorded) + 1]] <<- x
            list(cluster = cutree(hclust(dist(x), "average"), k))
          }}
          set.seed(100 + i)
          g <- clusGap(x, average, K.max = {K_MAX}, B = {N_REFS}, d.power = power,
                       spaceH0 = space)
          stopifnot(length(recorded) == {N_REFS} + 1, identical(recorded[[1]], x))
          for (b in 1:{N_REFS})
            write17(recorded[[b + 1]], sprintf("ref_%d_%d.csv", i, b))
          write17(g$Tab, sprintf("tab_%d.csv", i))
          se.ours <- g$Tab[, "SE.sim"] * sqrt(({N_REFS} - 1) / {N_REFS})
          chosen <- sapply(c("Tibs2001SEmax", "firstSEmax", "globalSEmax", "firstmax",
                             "globalmax"),
                           function(m) maxSE(g$Tab[, "gap"], se.ours, method = m))
          write17(rbind(chosen), sprintf("chosen_%d.csv", i))
          chosen.r <- sapply(c("Tibs2001SEmax", "firstSEmax", "globalSEmax", "firstmax",
                               "globalmax"),
                             function(m) maxSE(g$Tab[, "gap"], g$Tab[, "SE.sim"],
                                               method = m))
          write17(rbind(chosen.r), sprintf("chosen_r_%d.csv", i))
        }}
        """,
        tmp_path,
    )
    X_used = _read(tmp_path / "x_used.csv")
    out = {}
    for i, config in enumerate(CONFIGS, start=1):
        out[config] = dict(
            references=[
                _read(tmp_path / f"ref_{i}_{b}.csv") for b in range(1, N_REFS + 1)
            ],
            tab=_read(tmp_path / f"tab_{i}.csv"),
            chosen=_read(tmp_path / f"chosen_{i}.csv").astype(int).ravel() - 1,
            chosen_r_se=_read(tmp_path / f"chosen_r_{i}.csv").astype(int).ravel() - 1,
        )
    return X_used, out


class _Replay:
    """A reference callable that returns R's reference data sets in b order."""

    def __init__(self, references):
        self.references = references
        self.seen = {}

    def __call__(self, X, seed):
        # with n_jobs=1 reference b is drawn before b + 1; a seed seen again
        # (the same b in another task) gets the same set
        index = self.seen.setdefault(seed, len(self.seen))
        return self.references[index]


def _replayed_fit(X, r, power, **params):
    gap = GapKMeans(
        AgglomerativeClustering(linkage="average"),
        n_clusters_range=range(1, K_MAX + 1),
        n_refs=N_REFS,
        reference=_Replay(r["references"]),
        power=power,
        n_jobs=1,
        random_state=0,
        **params,
    )
    return gap.fit(X)


@pytest.mark.parametrize("power, space", CONFIGS)
def test_clusgap_table(r_clusgap, power, space):
    X, results = r_clusgap
    r = results[power, space]
    tab = r["tab"]  # columns logW, E.logW, gap, SE.sim
    gap = _replayed_fit(X, r, power)
    res = gap.gap_results_
    assert_allclose(res["log_w"], tab[:, 0] + np.log(2), rtol=1e-10)
    assert_allclose(res["expected_log_w"], tab[:, 1] + np.log(2), rtol=1e-10)
    assert_allclose(res["gap"], tab[:, 2], rtol=1e-9, atol=1e-12)
    assert_allclose(res["se"], tab[:, 3] * np.sqrt((N_REFS - 1) / N_REFS), rtol=1e-8)
    assert_allclose(res["sd"] * np.sqrt(1 + 1 / N_REFS), res["se"], rtol=1e-12)
    # the default rule on our se is R's Tibs2001SEmax on the same se
    assert gap.n_clusters_ == r["chosen"][0] + 1


@pytest.mark.parametrize("power, space", CONFIGS)
def test_clusgap_chosen_k_under_every_method(r_clusgap, power, space):
    X, results = r_clusgap
    r = results[power, space]
    gap = _replayed_fit(X, r, power)
    for i, method in enumerate(METHODS):
        # R's maxSE applied to our se, and to its own SE.sim via se_factor
        assert (
            select_k(gap.gap_results_["gap"], gap.gap_results_["se"], method=method)
            == r["chosen"][i]
        )
        assert (
            select_k(
                gap.gap_results_["gap"],
                gap.gap_results_["se"],
                method=method,
                se_factor=np.sqrt(N_REFS / (N_REFS - 1)),
            )
            == r["chosen_r_se"][i]
        )
        gap.set_params(method=method, reference=_Replay(r["references"])).fit(X)
        assert gap.n_clusters_ == r["chosen"][i] + 1, method


def test_replayed_references_are_the_spec_construction(r_clusgap):
    # R's references lie in the box of SPEC section 1: the feature box for
    # "original", the box of the principal axes for "scaledPCA"
    X, results = r_clusgap
    for Z in results[1.0, "original"]["references"]:
        assert np.all(Z >= X.min(0) - 1e-12) and np.all(Z <= X.max(0) + 1e-12)
    mean = X.mean(0)
    _, _, Vt = np.linalg.svd(X - mean, full_matrices=False)
    rotated = (X - mean) @ Vt.T
    for Z in results[1.0, "scaledPCA"]["references"]:
        Z_rotated = (Z - mean) @ Vt.T
        # up to the sign of each axis, which flips the box onto itself only if
        # it is symmetric: compare the spans, which do not depend on the sign
        assert np.all(np.ptp(Z_rotated, axis=0) <= np.ptp(rotated, axis=0) + 1e-9)


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
def test_clusgap_dispersion_is_half_of_ours(tmp_path, power):
    rng = np.random.RandomState(int(power * 10))
    X = rng.normal(size=(30, 3))
    labels = rng.randint(4, size=30)
    _write(tmp_path / "x.csv", X)
    _write(tmp_path / "labels.csv", labels[None, :] + 1)
    _rscript(
        f"""
        x <- as.matrix(read.csv("x.csv", header = FALSE))
        colnames(x) <- NULL
        write17(x, "x_used.csv")
        labels <- as.integer(read.csv("labels.csv", header = FALSE)[1, ])
        g <- clusGap(x, function(x, k) list(cluster = labels), K.max = 2, B = 1,
                     d.power = {power})
        write17(exp(g$Tab[2, "logW"]), "w.csv")
        """,
        tmp_path,
    )
    X_used = _read(tmp_path / "x_used.csv")
    r_w = _read(tmp_path / "w.csv")[0, 0]
    assert_allclose(
        r_w, within_cluster_dispersion(X_used, labels, power=power) / 2, rtol=1e-10
    )
    assert_allclose(r_w, _oracle.r_dispersion(X_used, labels, power), rtol=1e-10)
