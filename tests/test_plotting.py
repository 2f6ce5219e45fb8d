"""Tests of skgap.plotting.GapStatisticDisplay, on the artists it draws."""

import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from skgap import GapKMeans
from skgap.plotting import GapStatisticDisplay


@pytest.fixture(scope="module")
def fitted():
    X, _ = make_blobs(n_samples=120, centers=3, cluster_std=0.6, random_state=0)
    return GapKMeans(
        KMeans(n_init=1), n_clusters_range=range(1, 7), n_refs=5, random_state=0
    ).fit(X)


@pytest.fixture(scope="module")
def fitted_gap_star():
    X, _ = make_blobs(n_samples=120, centers=3, cluster_std=0.6, random_state=0)
    return GapKMeans(
        KMeans(n_init=1),
        n_clusters_range=range(1, 7),
        n_refs=5,
        statistic="gap_star",
        random_state=0,
    ).fit(X)


def _line_with_label(ax, label):
    return next(line for line in ax.get_lines() if line.get_label() == label)


def test_gap_kind(pyplot, fitted):
    disp = GapStatisticDisplay.from_estimator(fitted, kind="gap")
    results = fitted.gap_results_
    assert disp.figure_ is disp.ax_.figure
    assert disp.kind_ == "gap"
    assert disp.ax_.get_xlabel() == "Number of clusters k"
    assert disp.ax_.get_ylabel() == "Gap(k)"
    # the curve and its +-se error bars
    line, _, (bars,) = disp.errorbar_.lines
    assert_array_equal(line.get_xdata(), results["n_clusters"])
    assert_allclose(line.get_ydata(), results["gap"])
    segments = bars.get_segments()
    assert_allclose([seg[1, 1] - seg[0, 1] for seg in segments], 2 * results["se"])
    # the chosen k: a vertical line at n_clusters_ and a ring on the curve
    assert fitted.n_clusters_ == 3
    assert_allclose(disp.chosen_line_.get_xdata(), [3, 3])
    assert "chosen k = 3 (tibshirani on gap)" == disp.chosen_line_.get_label()
    ring = [
        artist
        for artist in disp.ax_.get_lines()
        if artist.get_marker() == "o" and artist.get_markerfacecolor() == "none"
    ]
    assert len(ring) == 1
    assert_allclose(ring[0].get_ydata(), [results["gap"][2]])
    assert_array_equal(disp.ax_.get_xticks(), results["n_clusters"])


def test_log_w_kind(pyplot, fitted):
    disp = GapStatisticDisplay.from_estimator(fitted, kind="log_w")
    results = fitted.gap_results_
    observed = _line_with_label(disp.ax_, "log W (data)")
    expected = _line_with_label(disp.ax_, "E[log W*] (references)")
    assert_allclose(observed.get_ydata(), results["log_w"])
    assert_allclose(expected.get_ydata(), results["expected_log_w"])
    (band,) = disp.ax_.collections
    vertices = band.get_paths()[0].vertices
    upper = results["expected_log_w"] + results["sd"]
    lower = results["expected_log_w"] - results["sd"]
    assert_allclose(vertices[:, 1].max(), upper.max())
    assert_allclose(vertices[:, 1].min(), lower.min())


def test_diff_kind(pyplot, fitted):
    disp = GapStatisticDisplay.from_estimator(fitted, kind="diff")
    diff = fitted.gap_results_["diff"]
    heights = [patch.get_height() for patch in disp.bars_.patches]
    # one bar per k but the last, whose diff is NaN
    assert_allclose(heights, diff[:-1])
    first = int(np.flatnonzero(diff[:-1] >= 0)[0])
    colors = [patch.get_facecolor() for patch in disp.bars_.patches]
    from matplotlib.colors import to_rgba

    assert colors[first] == to_rgba("tab:green")
    assert all(c != to_rgba("tab:green") for i, c in enumerate(colors) if i != first)
    labels = [text.get_text() for text in disp.ax_.get_legend().get_texts()]
    assert f"first diff >= 0: k = {first + 1}" in labels
    # the rule on the gap picks the first non-negative diff
    assert first + 1 == fitted.n_clusters_


def test_gap_star_kind(pyplot, fitted):
    disp = GapStatisticDisplay.from_estimator(fitted, kind="gap_star")
    line, _, (bars,) = disp.errorbar_star_.lines
    assert_allclose(line.get_ydata(), fitted.gap_results_["gap_star"])
    segments = bars.get_segments()
    assert_allclose(
        [seg[1, 1] - seg[0, 1] for seg in segments], 2 * fitted.gap_results_["se_star"]
    )
    assert disp.ax_.get_title() == "Gap* statistic"


def test_all_kind_is_one_2x2_figure(pyplot, fitted):
    disp = GapStatisticDisplay.from_estimator(fitted, kind="all")
    assert disp.ax_.shape == (2, 2)
    assert len(pyplot.get_fignums()) == 1
    assert all(ax.figure is disp.figure_ for ax in disp.ax_.ravel())
    titles = [ax.get_title() for ax in disp.ax_.ravel()]
    assert titles == [
        "Gap statistic",
        "Observed and expected log W_k",
        "Tibshirani's diff(k)",
        "Gap* statistic",
    ]
    assert len(disp.chosen_line_) == 4
    _assert_shares_the_k_axis(disp.ax_)
    # the shared k axis is labelled once, under the bottom row
    assert [ax.get_xlabel() for ax in disp.ax_[0]] == ["", ""]
    assert [ax.get_xlabel() for ax in disp.ax_[1]] == ["Number of clusters k"] * 2
    assert not any(label.get_visible() for label in disp.ax_[0, 0].get_xticklabels())


def _assert_shares_the_k_axis(axes):
    first, *others = np.ravel(axes)
    for ax in others:
        assert first.get_shared_x_axes().joined(first, ax)
        assert ax.get_xlim() == first.get_xlim()


def test_all_kind_gap_star_draws_diff_star(pyplot, fitted_gap_star):
    fitted = fitted_gap_star
    results = fitted.gap_results_
    k = fitted.n_clusters_
    assert k < results["n_clusters"][-1]  # the chosen k has a diff* bar
    disp = GapStatisticDisplay.from_estimator(fitted, kind="all")
    diff_ax = disp.ax_[1, 0]
    assert diff_ax.get_title() == "diff*(k), on Gap*"
    assert diff_ax.get_ylabel() == "Gap*(k) - Gap*(k+1) + se*(k+1)"
    heights = [patch.get_height() for patch in disp.bars_.patches]
    assert_allclose(heights, results["diff_star"][:-1])
    assert not np.allclose(heights, results["diff"][:-1])
    # the chosen k is marked: its bar is the green one, and the dashed line
    from matplotlib.colors import to_rgba

    green = [
        patch.get_x() + patch.get_width() / 2
        for patch in disp.bars_.patches
        if patch.get_facecolor() == to_rgba("tab:green")
    ]
    assert green == [k]
    assert_allclose(disp.chosen_line_[2].get_xdata(), [k, k])
    assert disp.chosen_line_[2].get_label() == f"chosen k = {k} (tibshirani on Gap*)"
    labels = [text.get_text() for text in diff_ax.get_legend().get_texts()]
    assert f"first diff* >= 0: k = {k}" in labels
    _assert_shares_the_k_axis(disp.ax_)


def test_diff_marks_the_chosen_k_of_any_rule(pyplot):
    from matplotlib.colors import to_rgba

    results = {
        "n_clusters": np.array([1, 2, 3, 4, 5]),
        "diff": np.array([-0.3, 0.1, -0.2, -0.1, np.nan]),
    }
    # global_max chose 4: its bar is marked, not the first diff >= 0 (k = 2)
    disp = GapStatisticDisplay(results, n_clusters=4, method="global_max").plot(
        kind="diff"
    )
    colors = [patch.get_facecolor() for patch in disp.bars_.patches]
    assert colors == [
        to_rgba(c) for c in ("tab:gray", "tab:blue", "tab:gray", "tab:green")
    ]
    labels = [text.get_text() for text in disp.ax_.get_legend().get_texts()]
    assert "diff at the chosen k = 4" in labels
    # without a chosen k, the first diff >= 0 is marked
    disp = GapStatisticDisplay(results).plot(kind="diff")
    colors = [patch.get_facecolor() for patch in disp.bars_.patches]
    assert colors[1] == to_rgba("tab:green")
    assert sum(color == to_rgba("tab:green") for color in colors) == 1
    # a chosen k without a bar (its diff is NaN) marks no bar
    disp = GapStatisticDisplay(results, n_clusters=5).plot(kind="diff")
    colors = [patch.get_facecolor() for patch in disp.bars_.patches]
    assert to_rgba("tab:green") not in colors


def test_all_kind_divides_a_given_axes(pyplot, fitted):
    fig, ax = pyplot.subplots()
    disp = GapStatisticDisplay.from_estimator(fitted, kind="all", ax=ax)
    assert disp.figure_ is fig
    assert len(fig.axes) == 4
    assert ax not in fig.axes
    _assert_shares_the_k_axis(disp.ax_)
    assert disp.ax_[0, 1].get_xlabel() == ""


def test_all_kind_uses_four_given_axes(pyplot, fitted):
    fig, axes = pyplot.subplots(1, 4)
    disp = GapStatisticDisplay.from_estimator(fitted, kind="all", ax=axes)
    assert_array_equal(disp.ax_.ravel(), axes)
    _assert_shares_the_k_axis(axes)
    # the caller's layout: every k axis keeps its label
    assert all(ax.get_xlabel() == "Number of clusters k" for ax in axes)
    with pytest.raises(ValueError, match="one Axes or four"):
        GapStatisticDisplay.from_estimator(fitted, kind="all", ax=axes[:3])


def test_plot_on_given_axes_and_kwargs(pyplot, fitted):
    fig, ax = pyplot.subplots()
    disp = GapStatisticDisplay.from_estimator(fitted, ax=ax, color="black")
    assert disp.ax_ is ax and disp.figure_ is fig
    line = disp.errorbar_.lines[0]
    assert line.get_color() == "black"


def test_display_from_results_and_statistic_gap_star(pyplot):
    results = {
        "n_clusters": np.array([1, 2, 4, 8]),
        "gap": np.array([0.1, 0.5, 0.4, 0.3]),
        "se": np.array([0.05, 0.05, 0.05, 0.05]),
        "diff": np.array([-0.35, 0.15, 0.15, np.nan]),
        "diff_star": np.array([-1.0, 2.0, 0.5, np.nan]),
    }
    disp = GapStatisticDisplay(
        results, n_clusters=2, statistic="gap_star", method="global_max"
    ).plot(kind="diff")
    # non-consecutive ks: bars are narrower than the smallest spacing
    assert [p.get_x() + p.get_width() / 2 for p in disp.bars_.patches] == [1, 2, 4]
    assert disp.bars_.patches[0].get_width() == pytest.approx(0.8)
    # the statistic that chose k gives the bars: diff_star for Gap*
    assert [p.get_height() for p in disp.bars_.patches] == [-1.0, 2.0, 0.5]
    assert disp.chosen_line_.get_label() == "chosen k = 2 (global_max on Gap*)"
    del results["diff_star"]
    with pytest.raises(ValueError, match=r"lacks \['diff_star'\]"):
        GapStatisticDisplay(results, statistic="gap_star").plot(kind="diff")
    # no chosen k: nothing marked
    disp = GapStatisticDisplay(results).plot(kind="gap")
    assert disp.chosen_line_ is None


def test_no_plt_show(pyplot, fitted, monkeypatch):
    def fail():
        raise AssertionError("plt.show() must not be called")

    monkeypatch.setattr(pyplot, "show", fail)
    for kind in ("gap", "log_w", "diff", "gap_star", "all"):
        GapStatisticDisplay.from_estimator(fitted, kind=kind)


def test_errors(pyplot, fitted):
    with pytest.raises(ValueError, match="kind must be one of"):
        GapStatisticDisplay.from_estimator(fitted, kind="elbow")
    with pytest.raises(ValueError, match=r"lacks \['se'\]"):
        GapStatisticDisplay({"n_clusters": [1, 2], "gap": [0, 1]}).plot()
    with pytest.raises(ValueError, match="statistic must be 'gap' or 'gap_star'"):
        GapStatisticDisplay(fitted.gap_results_, statistic="gap*").plot()
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        GapStatisticDisplay.from_estimator(GapKMeans())


def test_missing_matplotlib_names_the_extra(fitted, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'skgap\[plot\]'"):
        GapStatisticDisplay.from_estimator(fitted)


def test_importing_plotting_does_not_import_matplotlib(tmp_path):
    import subprocess

    code = (
        "import sys, skgap.plotting; sys.exit(1 if 'matplotlib' in sys.modules else 0)"
    )
    # run outside the source tree: its skgap/ has no compiled extension
    result = subprocess.run([sys.executable, "-c", code], check=False, cwd=tmp_path)
    assert result.returncode == 0


def test_png_has_the_picture(pyplot, fitted, tmp_path):
    """The saved file is a PNG of the requested size with drawn content."""
    disp = GapStatisticDisplay.from_estimator(fitted, kind="all")
    path = tmp_path / "gap.png"
    disp.figure_.savefig(path, dpi=50)
    image = pyplot.imread(path)
    assert image.shape[:2] == (400, 500)  # figsize (10, 8) at 50 dpi
    # not blank: many distinct colours
    assert len(np.unique(image.reshape(-1, image.shape[2]), axis=0)) > 50
