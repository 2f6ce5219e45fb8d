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
    assert disp.ax_.get_title().splitlines()[0] == "Gap* statistic"


def test_frequency_kind(pyplot, fitted):
    from matplotlib.colors import to_rgba

    disp = GapStatisticDisplay.from_estimator(fitted, kind="frequency")
    frequencies = fitted.selection_frequencies_
    assert_allclose(frequencies, fitted.gap_results_["selection_frequency"])
    # one bar per candidate k, as high as its frequency
    patches = disp.frequency_bars_.patches
    assert [p.get_x() + p.get_width() / 2 for p in patches] == list(range(1, 7))
    assert_allclose([p.get_height() for p in patches], frequencies)
    # the chosen k's bar is the green one
    green = [
        p.get_x() + p.get_width() / 2
        for p in patches
        if p.get_facecolor() == to_rgba("tab:green")
    ]
    assert green == [fitted.n_clusters_] == [3]
    assert_allclose(disp.chosen_line_.get_xdata(), [3, 3])
    # a fraction, labelled, on the scale 0..1
    assert disp.ax_.get_ylabel() == "Selection frequency"
    assert disp.ax_.get_ylim()[0] == 0
    assert disp.ax_.get_ylim()[1] >= 1
    assert_allclose(disp.ax_.get_yticks(), [0, 0.25, 0.5, 0.75, 1])
    assert [t.get_text() for t in disp.ax_.get_yticklabels()][-1] == "100%"
    labels = [text.get_text() for text in disp.ax_.get_legend().get_texts()]
    assert f"k = 3 in {frequencies[2]:.0%} of the resamples of the references" in labels
    assert disp.ax_.get_xlabel() == "Number of clusters k"


def test_frequency_kind_marks_the_chosen_k_not_the_most_frequent(pyplot):
    from matplotlib.colors import to_rgba

    results = {
        "n_clusters": np.array([2, 4, 6, 8]),
        "selection_frequency": np.array([0.0, 0.35, 0.55, 0.1]),
    }
    disp = GapStatisticDisplay(results, n_clusters=4, method="tibshirani").plot(
        kind="frequency"
    )
    patches = disp.frequency_bars_.patches
    assert_allclose([p.get_height() for p in patches], results["selection_frequency"])
    colors = [p.get_facecolor() for p in patches]
    assert colors == [
        to_rgba(c) for c in ("tab:blue", "tab:green", "tab:blue", "tab:blue")
    ]
    # bars narrower than the spacing of the ks
    assert patches[0].get_width() == pytest.approx(1.6)
    # the frequency is written on every bar chosen at least once
    texts = [t.get_text() for t in disp.ax_.texts]
    assert texts == ["", "35%", "55%", "10%"]
    # without a chosen k no bar is marked
    disp = GapStatisticDisplay(results).plot(kind="frequency")
    assert to_rgba("tab:green") not in [
        p.get_facecolor() for p in disp.frequency_bars_.patches
    ]
    assert disp.chosen_line_ is None


def test_frequency_kind_from_results_of_the_forward_scan(pyplot):
    X, _ = make_blobs(n_samples=120, centers=3, cluster_std=0.6, random_state=0)
    gap = GapKMeans(
        KMeans(n_init=1),
        n_clusters_range=range(1, 11),
        n_refs=5,
        scan="forward",
        random_state=0,
    ).fit(X)
    disp = GapStatisticDisplay.from_estimator(gap, kind="all")
    # the bars are those of the candidates computed
    n_computed = len(gap.gap_results_["n_clusters"])
    assert len(disp.frequency_bars_.patches) == n_computed
    assert_allclose(
        [p.get_height() for p in disp.frequency_bars_.patches],
        gap.selection_frequencies_,
    )


def _fitted_before_0_2(fitted):
    """A copy of `fitted` as skgap 0.1 left it: no selection frequencies."""
    import copy

    old = copy.deepcopy(fitted)
    del old.selection_frequencies_
    old.gap_results_ = {
        key: value
        for key, value in old.gap_results_.items()
        if key != "selection_frequency"
    }
    return old


def test_estimator_fitted_before_frequencies(pyplot, fitted):
    old = _fitted_before_0_2(fitted)
    # the frequency kind alone says what is missing and what to do
    with pytest.raises(ValueError, match=r"no selection_frequencies_.*Fit it again"):
        GapStatisticDisplay.from_estimator(old, kind="frequency")
    # every other kind draws as before
    for kind in ("gap", "log_w", "diff", "gap_star"):
        GapStatisticDisplay.from_estimator(old, kind=kind)
    # 'all' is the four other kinds in a 2x2 grid
    disp = GapStatisticDisplay.from_estimator(old, kind="all")
    assert disp.ax_.shape == (2, 2)
    assert len(disp.figure_.axes) == 4
    assert not hasattr(disp, "frequency_bars_")
    assert [ax.get_xlabel() for ax in disp.ax_[1]] == ["Number of clusters k"] * 2
    assert [ax.get_xlabel() for ax in disp.ax_[0]] == ["", ""]
    _assert_shares_the_k_axis(disp.ax_)
    fig, axes = pyplot.subplots(2, 2)
    disp = GapStatisticDisplay.from_estimator(old, kind="all", ax=axes)
    assert disp.ax_.shape == (2, 2)
    # the same table given to the display: a clear error for the frequencies
    display = GapStatisticDisplay(old.gap_results_, n_clusters=old.n_clusters_)
    with pytest.raises(
        ValueError, match=r"lacks \['selection_frequency'\].*skgap 0.2 or later"
    ):
        display.plot(kind="frequency")


def test_from_estimator_adds_the_frequencies_to_an_older_table(pyplot, fitted):
    """selection_frequencies_ without the column (a table saved apart)."""
    import copy

    partial = copy.deepcopy(fitted)
    partial.gap_results_ = {
        key: value
        for key, value in partial.gap_results_.items()
        if key != "selection_frequency"
    }
    disp = GapStatisticDisplay.from_estimator(partial, kind="frequency")
    assert_allclose(
        [p.get_height() for p in disp.frequency_bars_.patches],
        fitted.selection_frequencies_,
    )
    assert "selection_frequency" not in partial.gap_results_  # not modified


def test_all_kind_is_one_3x2_figure(pyplot, fitted):
    disp = GapStatisticDisplay.from_estimator(fitted, kind="all")
    assert disp.ax_.shape == (3, 2)
    # the frequency panel spans the bottom row: no Axes beside it
    assert disp.ax_[2, 1] is None
    panels = _panels(disp.ax_)
    assert len(pyplot.get_fignums()) == 1
    assert len(disp.figure_.axes) == 5
    assert all(ax.figure is disp.figure_ for ax in panels)
    titles = [ax.get_title() for ax in panels]
    assert titles == [
        "Gap statistic",
        "Observed and expected log W_k",
        "Tibshirani's diff(k)",
        "Gap* statistic",
        "How often the rule chooses each k",
    ]
    # the bottom panel is as wide as the two above it
    bottom = disp.ax_[2, 0].get_position()
    left, right = disp.ax_[1, 0].get_position(), disp.ax_[1, 1].get_position()
    assert bottom.x0 == pytest.approx(left.x0)
    assert bottom.x1 == pytest.approx(right.x1)
    assert len(disp.chosen_line_) == 5
    for line in disp.chosen_line_:
        assert_allclose(line.get_xdata(), [3, 3])
    _assert_shares_the_k_axis(panels)
    # the shared k axis is labelled once, under the bottom panel
    assert [ax.get_xlabel() for ax in panels] == [""] * 4 + ["Number of clusters k"]
    assert not any(label.get_visible() for label in disp.ax_[0, 0].get_xticklabels())
    # the middle row keeps its tick labels: the wide panel's are not under them
    assert any(label.get_visible() for label in disp.ax_[1, 0].get_xticklabels())
    heights = [patch.get_height() for patch in disp.frequency_bars_.patches]
    assert_allclose(heights, fitted.selection_frequencies_)


def _panels(axes):
    """The Axes of an array of them, without the empty cells."""
    return [ax for ax in np.ravel(axes) if ax is not None]


def _assert_shares_the_k_axis(axes):
    first, *others = _panels(axes)
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
    assert len(fig.axes) == 5
    assert ax not in fig.axes
    _assert_shares_the_k_axis(disp.ax_)
    assert disp.ax_[0, 1].get_xlabel() == ""


def test_all_kind_uses_five_given_axes(pyplot, fitted):
    fig, axes = pyplot.subplots(1, 5)
    disp = GapStatisticDisplay.from_estimator(fitted, kind="all", ax=axes)
    assert_array_equal(disp.ax_.ravel(), axes)
    assert disp.ax_[4].get_title() == "How often the rule chooses each k"
    _assert_shares_the_k_axis(axes)
    # the caller's layout: every k axis keeps its label
    assert all(ax.get_xlabel() == "Number of clusters k" for ax in axes)
    with pytest.raises(ValueError, match="one Axes or 5, got 4"):
        GapStatisticDisplay.from_estimator(fitted, kind="all", ax=axes[:4])


def test_all_kind_needs_a_subplot_to_divide(pyplot, fitted):
    fig = pyplot.figure()
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    with pytest.raises(ValueError, match="not one .* pass 5 Axes, or a subplot"):
        GapStatisticDisplay.from_estimator(fitted, kind="all", ax=ax)


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
    for kind in ("gap", "log_w", "diff", "gap_star", "frequency", "all"):
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
    assert image.shape[:2] == (550, 500)  # figsize (10, 11) at 50 dpi
    # not blank: many distinct colours
    assert len(np.unique(image.reshape(-1, image.shape[2]), axis=0)) > 50


# ------------------------------------------- pipelines, lengths, titles, clusters


@pytest.fixture(scope="module")
def blobs():
    X, _ = make_blobs(n_samples=120, centers=3, cluster_std=0.6, random_state=0)
    return X


def test_from_estimator_takes_a_fitted_pipeline(pyplot, blobs):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(
        StandardScaler(),
        GapKMeans(
            KMeans(n_init=1), n_clusters_range=range(1, 6), n_refs=5, random_state=0
        ),
    ).fit(blobs)
    disp = GapStatisticDisplay.from_estimator(pipe, kind="gap")
    line = disp.errorbar_.lines[0]
    assert_allclose(line.get_ydata(), pipe[-1].gap_results_["gap"])
    # kind="clusters" plots the data the last step clustered: scaled
    disp = GapStatisticDisplay.from_estimator(pipe, blobs, kind="clusters")
    scaled = StandardScaler().fit_transform(blobs)
    points = np.vstack([c.get_offsets() for c in disp.cluster_scatters_])
    centred = scaled - scaled.mean(0)
    assert_allclose(
        np.sort(np.abs(points[:, 0])),
        np.sort(np.abs(centred @ np.linalg.svd(centred)[2][0])),
    )


def test_unfitted_pipeline_is_refused(pyplot, blobs):
    from sklearn.exceptions import NotFittedError
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), GapKMeans())
    with pytest.raises(NotFittedError):
        GapStatisticDisplay.from_estimator(pipe)


def test_columns_of_different_lengths_are_named(pyplot, fitted):
    results = dict(fitted.gap_results_)
    results["se"] = results["se"][:-2]
    with pytest.raises(ValueError) as info:
        GapStatisticDisplay(results, n_clusters=3).plot(kind="gap")
    message = str(info.value)
    assert "'n_clusters' has 6 values" in message and "'se' has 4" in message
    assert "same size" not in message


def test_title_names_the_statistic_the_rule_and_b(pyplot, fitted, fitted_gap_star):
    disp = GapStatisticDisplay.from_estimator(fitted, kind="gap")
    assert disp.ax_.get_title() == (
        "Gap statistic\nk = 3 by tibshirani on the gap, B = 5 references"
    )
    disp = GapStatisticDisplay.from_estimator(fitted_gap_star, kind="all")
    # the figure's texts (Figure.get_suptitle needs matplotlib >= 3.8)
    from matplotlib.text import Text

    texts = [text.get_text() for text in disp.figure_.findobj(Text)]
    k = fitted_gap_star.n_clusters_
    assert f"k = {k} by tibshirani on Gap*, B = 5 references" in texts
    # built by hand without B or a rule: only what is known
    disp = GapStatisticDisplay(fitted.gap_results_, n_clusters=3).plot(kind="gap")
    assert disp.ax_.get_title() == "Gap statistic\nk = 3 on the gap"


def test_all_kind_marks_gap_stars_own_choice(pyplot, fitted):
    choices = {
        "gap": dict.fromkeys(("tibshirani", "global_max"), 3),
        "gap_star": {"tibshirani": 1, "global_max": 6},
    }
    disp = GapStatisticDisplay(
        fitted.gap_results_,
        n_clusters=3,
        method="tibshirani",
        rule_choices=choices,
    ).plot(kind="all")
    gap_line, _, _, star_line, _ = disp.chosen_line_
    assert_allclose(gap_line.get_xdata(), [3, 3])
    assert_allclose(star_line.get_xdata(), [1, 1])
    assert star_line.get_label() == "Gap*'s k = 1 (tibshirani on Gap*)"
    # the circle on the Gap* curve is at Gap*'s k
    circles = [
        line
        for line in disp.ax_[1, 1].get_lines()
        if line.get_marker() == "o" and line.get_markerfacecolor() == "none"
    ]
    (circle,) = circles
    assert_allclose(circle.get_xdata(), [1])
    assert_allclose(circle.get_ydata(), [fitted.gap_results_["gap_star"][0]])


def test_all_kind_from_estimator_uses_rule_choices(pyplot, fitted):
    disp = GapStatisticDisplay.from_estimator(fitted, kind="all")
    own = fitted.rule_choices_["gap_star"]["tibshirani"]
    assert_allclose(disp.chosen_line_[3].get_xdata(), [own, own])


def test_clusters_kind_is_the_first_two_principal_axes(pyplot, fitted, blobs):
    from sklearn.decomposition import PCA

    disp = GapStatisticDisplay.from_estimator(fitted, blobs, kind="clusters")
    assert disp.kind_ == "clusters"
    scatters = disp.cluster_scatters_
    assert len(scatters) == fitted.n_clusters_ == 3
    pca = PCA(2).fit(blobs)
    expected = pca.transform(blobs)
    for cluster, scatter in zip(np.unique(fitted.labels_), scatters, strict=True):
        members = expected[fitted.labels_ == cluster]
        offsets = scatter.get_offsets()
        # principal axes are defined up to their sign
        assert_allclose(np.abs(offsets), np.abs(members), atol=1e-9)
    ratio = pca.explained_variance_ratio_
    assert disp.ax_.get_xlabel() == f"Dim1 ({ratio[0]:.1%} of the variance)"
    assert disp.ax_.get_ylabel() == f"Dim2 ({ratio[1]:.1%} of the variance)"
    colors = {tuple(s.get_facecolor()[0]) for s in scatters}
    assert len(colors) == 3
    # one cross per cluster, at its mean
    crosses = [line for line in disp.ax_.get_lines() if line.get_marker() == "X"]
    assert len(crosses) == 3


def test_clusters_kind_needs_the_data(pyplot, fitted):
    with pytest.raises(ValueError, match="pass them"):
        GapStatisticDisplay.from_estimator(fitted, kind="clusters")


def test_clusters_kind_of_new_data_predicts(pyplot, fitted, blobs):
    disp = GapStatisticDisplay.from_estimator(fitted, blobs[:30], kind="clusters")
    n_points = sum(len(s.get_offsets()) for s in disp.cluster_scatters_)
    assert n_points == 30
    labels = fitted.predict(blobs[:30])
    assert len(disp.cluster_scatters_) == np.unique(labels).size
