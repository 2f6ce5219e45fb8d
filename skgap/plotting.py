"""Plots of the gap statistic: :class:`GapStatisticDisplay`."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._docstrings import fill_doc
from ._utils import _check_optional_dependency

__all__ = ["GapStatisticDisplay"]

#: The kinds of plot, in the order of the panels of ``kind="all"`` (row by
#: row; the last one spans the bottom row).
KINDS = ("gap", "log_w", "diff", "gap_star", "frequency")

_REQUIRED = {
    "gap": ("gap", "se"),
    "log_w": ("log_w", "expected_log_w", "sd"),
    "diff": (),  # diff or diff_star, as the statistic says: see _diff_key
    "gap_star": ("gap_star", "se_star"),
    "frequency": ("selection_frequency",),
}

#: The size of the figure that ``kind="all"`` creates, by number of panels.
_ALL_FIGSIZE = {4: (10, 8), 5: (10, 11)}

#: The diff column of each statistic, and how the plots name it.
_DIFFS = {"gap": ("diff", "diff"), "gap_star": ("diff_star", "diff*")}

_CHOSEN_COLOR = "tab:red"


def _import_pyplot():
    _check_optional_dependency("matplotlib", "plot", "GapStatisticDisplay")
    import matplotlib.pyplot as plt

    return plt


@fill_doc
class GapStatisticDisplay:
    """Gap statistic visualization: the curves that choose the number of clusters.

    It is recommended to use :meth:`from_estimator` to create a
    :class:`GapStatisticDisplay`. All parameters are stored as attributes.

    Read more in the :ref:`User Guide <plotting>`.

    .. versionadded:: 0.1

    Parameters
    ----------
    gap_results : dict of ndarray of shape (n_candidates,)
        The table of :attr:`GapKMeans.gap_results_ <skgap.GapKMeans>`: it needs
        ``n_clusters`` and, for each kind of plot, the columns it draws
        (``gap`` and ``se``; ``log_w``, ``expected_log_w`` and ``sd``;
        ``diff``, or ``diff_star`` if `statistic` is ``'gap_star'``;
        ``gap_star`` and ``se_star``; ``selection_frequency``).

    n_clusters : int, default=None
        The chosen number of clusters, marked on every plot. ``None`` marks
        nothing.

    statistic : {'gap', 'gap_star'}, default='gap'
        The statistic that chose `n_clusters`, named in the legend of the
        chosen k. The ``'diff'`` plot draws its diff: ``diff`` for the gap,
        ``diff_star`` for Gap*.

    method : str, default=None
        The rule that chose `n_clusters` (see :func:`skgap.select_k`), named
        in the legend of the chosen k and in the title.

    n_refs : int, default=None
        The number B of reference data sets, named in the title.

        .. versionadded:: 0.3

    rule_choices : dict, default=None
        :attr:`GapKMeans.rule_choices_ <skgap.GapKMeans>`: the k each rule
        chooses on each statistic. With it, the Gap* plot of a gap-chosen
        fit marks Gap*'s own choice by `method`, not the gap's.

        .. versionadded:: 0.3

    X : array-like of shape (n_samples, n_features), default=None
        The clustered data, for ``kind="clusters"``.

        .. versionadded:: 0.3

    labels : array-like of shape (n_samples,), default=None
        The cluster of each sample of `X`, for ``kind="clusters"``.

        .. versionadded:: 0.3

    selection_resamples : str, default=None
        What the selection frequencies resample, named in the frequency
        panel: ``"the references"`` or ``"the data and the references"``
        (``GapKMeans.selection_resamples_``).

        .. versionadded:: 0.3

    Attributes
    ----------
    ax_ : matplotlib Axes or ndarray of Axes
        The axes of the plot. For ``kind="all"``, an array of shape (3, 2)
        whose k axes are shared: gap, log_w / diff, gap_star / frequency,
        which spans the bottom row (``ax_[2, 1]`` is None); of shape (2, 2)
        without the frequency panel when `gap_results` has no
        ``selection_frequency``; the array given as `ax`, if one was.

    figure_ : matplotlib Figure
        The figure that contains the plot.

    kind_ : str
        The kind of the last plot.

    chosen_line_ : matplotlib Line2D or list of Line2D or None
        The vertical line(s) at the chosen number of clusters; for
        ``kind="all"``, one per panel in the order of :data:`KINDS`.

    errorbar_ : matplotlib ErrorbarContainer
        The gap curve and its error bars (kinds 'gap' and 'all').

    errorbar_star_ : matplotlib ErrorbarContainer
        The Gap* curve and its error bars (kinds 'gap_star' and 'all').

    bars_ : matplotlib BarContainer
        The bars of diff, or of diff_star if `statistic` is ``'gap_star'``
        (kinds 'diff' and 'all'); the bar of the chosen k is green.

    frequency_bars_ : matplotlib BarContainer
        The bars of the selection frequencies, one per candidate k (kinds
        'frequency' and 'all'); the bar of the chosen k is green.

        .. versionadded:: 0.2

    See Also
    --------
    skgap.GapKMeans : Computes the gap statistic that this class plots.

    Notes
    -----
    ``kind="gap"`` is Figure 1(d) of Tibshirani, Walther & Hastie (2001) and
    ``kind="log_w"`` their Figure 1(c). No figure is shown: call
    ``plt.show()`` or ``figure_.savefig(...)`` yourself.

    References
    ----------
    .. [1] %(tibshirani_2001)s

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.cluster import KMeans
    >>> from sklearn.datasets import make_blobs
    >>> from skgap import GapKMeans
    >>> from skgap.plotting import GapStatisticDisplay
    >>> X, _ = make_blobs(n_samples=200, centers=3, random_state=0)
    >>> gap = GapKMeans(KMeans(n_init=3), n_clusters_range=range(1, 7),
    ...                 n_refs=5, random_state=0).fit(X)
    >>> disp = GapStatisticDisplay.from_estimator(gap, kind="gap")
    >>> disp.ax_.get_xlabel()
    'Number of clusters k'
    """

    def __init__(
        self,
        gap_results,
        *,
        n_clusters=None,
        statistic="gap",
        method=None,
        n_refs=None,
        rule_choices=None,
        X=None,
        labels=None,
        selection_resamples=None,
    ):
        self.gap_results = gap_results
        self.n_clusters = n_clusters
        self.statistic = statistic
        self.method = method
        self.n_refs = n_refs
        self.rule_choices = rule_choices
        self.X = X
        self.labels = labels
        self.selection_resamples = selection_resamples

    @classmethod
    def from_estimator(cls, estimator, X=None, *, kind="gap", ax=None, **kwargs):
        """Plot the gap statistic of a fitted :class:`~skgap.GapKMeans`.

        Parameters
        ----------
        estimator : GapKMeans or Pipeline
            A fitted estimator, or a fitted
            :class:`~sklearn.pipeline.Pipeline` whose last step is one.

            .. versionchanged:: 0.3
               A Pipeline.

        X : array-like of shape (n_samples, n_features), default=None
            The data, needed by ``kind="clusters"`` only: the training data
            (their ``labels_``) or new data (clustered by ``predict``). For a
            Pipeline, its steps before the last transform X first.

            .. versionadded:: 0.3

        kind : {'gap', 'log_w', 'diff', 'gap_star', 'frequency', 'all'}, \
default='gap'
            What to plot:

            - ``'gap'``: the gap against k with its ±se error bars;
            - ``'log_w'``: the observed log W_k and the reference mean
              E[log W*_k] with a band of ±sd;
            - ``'diff'``: Tibshirani's ``diff_k = gap_k - gap_{k+1} +
              se_{k+1}`` as bars (``diff_star``, from Gap* and se*, if the
              estimator's `statistic` is ``'gap_star'``), the bar of the
              chosen k in green;
            - ``'gap_star'``: Gap* with its ±se* error bars;
            - ``'frequency'``: the selection frequencies
              (`selection_frequencies_`) as bars on a 0-1 scale, the bar of
              the chosen k in green: how sure the choice is;
            - ``'clusters'``: the chosen clustering of `X` in its first two
              principal axes, a colour per cluster and a cross at each
              cluster's mean (factoextra's ``fviz_cluster``);
            - ``'all'``: the first five in one figure (a 3x2 grid whose bottom row
              is the frequency panel) that shares the k axis. An estimator
              fitted before skgap 0.2 has no selection frequencies: its
              ``'all'`` is the other four in a 2x2 grid.

            .. versionchanged:: 0.2
               ``'frequency'``, also in ``'all'``.

            .. versionchanged:: 0.3
               ``'clusters'``.

        ax : matplotlib Axes, default=None
            Axes to plot on. ``None`` creates a new figure. With
            ``kind="all"``, a single Axes is divided into the grid, or an
            array of five Axes (four without selection frequencies) is used
            as is.

        **kwargs : dict
            Passed to the matplotlib call that draws the main curve
            (:meth:`~matplotlib.axes.Axes.errorbar`,
            :meth:`~matplotlib.axes.Axes.plot`,
            :meth:`~matplotlib.axes.Axes.bar` or
            :meth:`~matplotlib.axes.Axes.scatter`).

        Returns
        -------
        display : GapStatisticDisplay
            The display, with `ax_` and `figure_` set.
        """
        if hasattr(estimator, "steps"):  # a Pipeline: its last step is plotted
            check_is_fitted(estimator.steps[-1][1], "gap_results_")
            if X is not None and len(estimator.steps) > 1:
                X = estimator[:-1].transform(X)
            estimator = estimator.steps[-1][1]
        check_is_fitted(estimator, "gap_results_")
        gap_results = estimator.gap_results_
        frequencies = getattr(estimator, "selection_frequencies_", None)
        if "selection_frequency" not in gap_results and frequencies is not None:
            gap_results = {**gap_results, "selection_frequency": frequencies}
        if kind == "frequency" and "selection_frequency" not in gap_results:
            raise ValueError(
                f"This {type(estimator).__name__} has no selection_frequencies_: "
                "it was fitted by a version of skgap before 0.2, which added "
                "them. Fit it again to plot kind='frequency'; the other kinds "
                "work as they are."
            )
        labels = None
        if kind == "clusters":
            if X is None:
                raise ValueError(
                    "kind='clusters' plots the clustering of data: pass them, "
                    "e.g. GapStatisticDisplay.from_estimator(estimator, X, "
                    "kind='clusters')."
                )
            labels = estimator.labels_
            if len(X) != len(labels):  # new data: clustered by predict
                labels = estimator.predict(X)
        reference_dispersions = getattr(estimator, "reference_dispersions_", None)
        display = cls(
            gap_results,
            n_clusters=estimator.n_clusters_,
            statistic=getattr(estimator, "statistic", "gap"),
            method=getattr(estimator, "method", None),
            n_refs=getattr(
                estimator,
                "n_refs_",
                None if reference_dispersions is None else len(reference_dispersions),
            ),
            rule_choices=getattr(estimator, "rule_choices_", None),
            X=X,
            labels=labels,
            selection_resamples=getattr(estimator, "selection_resamples_", None),
        )
        return display.plot(ax=ax, kind=kind, **kwargs)

    def plot(self, ax=None, *, kind="gap", **kwargs):
        """Plot the gap statistic.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on. ``None`` creates a new figure. With
            ``kind="all"``, a single Axes is divided into the grid, or an
            array of five Axes (four without selection frequencies) is used
            as is.

        kind : {'gap', 'log_w', 'diff', 'gap_star', 'frequency', 'all'}, \
default='gap'
            What to plot; see :meth:`from_estimator`.

        **kwargs : dict
            Passed to the matplotlib call that draws the main curve.

        Returns
        -------
        display : GapStatisticDisplay
            The display, with `ax_` and `figure_` set.
        """
        if kind not in (*KINDS, "clusters", "all"):
            names = ", ".join(map(repr, (*KINDS, "clusters", "all")))
            raise ValueError(f"kind must be one of {names}; got {kind!r}.")
        if self.statistic not in _DIFFS:
            raise ValueError(
                f"statistic must be 'gap' or 'gap_star'; got {self.statistic!r}."
            )
        if "n_clusters" not in self.gap_results:
            raise ValueError("gap_results has no 'n_clusters' entry.")
        if kind == "clusters":
            _check_optional_dependency("matplotlib", "plot", "GapStatisticDisplay")
            if ax is None:
                _, ax = _import_pyplot().subplots()
            self.chosen_line_ = None
            self._plot_clusters(ax, **kwargs)
            self.ax_ = ax
            self.figure_ = ax.figure
            self.kind_ = kind
            return self
        if kind != "all":
            kinds = (kind,)
        elif "selection_frequency" in self.gap_results:
            kinds = KINDS
        else:  # a table from before skgap 0.2: every kind but the frequencies
            kinds = tuple(name for name in KINDS if name != "frequency")
        needed = {c for k in kinds for c in _REQUIRED[k]}
        if "diff" in kinds:
            needed.add(self._diff_key())
        missing = sorted(needed - set(self.gap_results))
        if missing:
            hint = "pass GapKMeans.gap_results_"
            if missing == ["selection_frequency"]:
                hint += " of a GapKMeans fitted by skgap 0.2 or later"
            raise ValueError(
                f"gap_results lacks {missing}, needed for kind={kind!r}; {hint}."
            )
        self._check_lengths(sorted(needed))
        _check_optional_dependency("matplotlib", "plot", "GapStatisticDisplay")
        if kind == "all":
            axes, panels, own_layout = self._grid(ax, len(kinds))
            lines = [
                getattr(self, f"_plot_{name}")(a, **kwargs)
                for name, a in zip(kinds, panels, strict=True)
            ]
            if own_layout:
                # The shared k axis is labelled once, under the bottom row; the
                # top row's ticks are those of the row below it.
                for a in panels[:2]:
                    a.set_xlabel("")
                    a.tick_params(axis="x", labelbottom=False)
                if len(panels) == 5:
                    # The middle row keeps its ticks: those of the wide bottom
                    # panel are not under them.
                    for a in panels[2:4]:
                        a.set_xlabel("")
            self.ax_ = axes
            self.chosen_line_ = lines
            self.figure_ = panels[0].figure
            summary = self._summary()
            if summary:
                if ax is None:  # the display's own figure
                    self.figure_.suptitle(summary)
                else:
                    panels[0].set_title(f"{panels[0].get_title()}\n{summary}")
        else:
            if ax is None:
                _, ax = _import_pyplot().subplots()
            self.chosen_line_ = getattr(self, f"_plot_{kind}")(ax, **kwargs)
            summary = self._summary()
            if summary:
                ax.set_title(f"{ax.get_title()}\n{summary}")
            self.ax_ = ax
            self.figure_ = ax.figure
        self.kind_ = kind
        return self

    # ----------------------------------------------------------------------

    def _grid(self, ax, n_panels):
        """The Axes of kind='all', sharing the k axis.

        Returns the array to keep as `ax_`, the panels in the order of the
        kinds drawn, and whether the grid is the display's own (a new figure,
        or one Axes divided) rather than Axes given by the caller.
        """
        if isinstance(ax, (np.ndarray, list, tuple)):
            axes = np.asarray(ax, dtype=object)
            if axes.size != n_panels:
                raise ValueError(
                    f"kind='all' needs one Axes or {n_panels}, got {axes.size} Axes."
                )
            panels = list(axes.flat)
            for other in panels[1:]:
                try:
                    other.sharex(panels[0])
                except ValueError:  # already shared with another Axes: keep it
                    pass
            return axes, panels, False
        rows = -(-n_panels // 2)
        if ax is None:
            figure = _import_pyplot().figure(
                figsize=_ALL_FIGSIZE[n_panels], layout="constrained"
            )
            grid = figure.add_gridspec(rows, 2)
        else:
            # One Axes: divide its area into the grid, as scikit-learn's
            # PartialDependenceDisplay does.
            figure = ax.figure
            # Axes not made by add_subplot have no subplot spec (before
            # matplotlib 3.7, not even the method).
            spec = getattr(ax, "get_subplotspec", lambda: None)()
            if spec is None:
                raise ValueError(
                    "kind='all' divides the area of a subplot, and this Axes is "
                    "not one (it was not made by add_subplot or subplots): pass "
                    f"{n_panels} Axes, or a subplot."
                )
            ax.remove()
            grid = spec.subgridspec(rows, 2)
        axes = np.full((rows, 2), None, dtype=object)
        panels = []
        for i in range(n_panels):
            row, col = divmod(i, 2)
            # an odd last panel spans its row
            cell = grid[row, :] if i == n_panels - 1 and col == 0 else grid[row, col]
            share = panels[0] if panels else None
            panels.append(figure.add_subplot(cell, sharex=share))
            axes[row, col] = panels[-1]
        return axes, panels, True

    def _check_lengths(self, keys):
        """Every column drawn has one value per candidate k, or a clear error."""
        n = len(self._ks())
        wrong = {
            key: len(self.gap_results[key])
            for key in keys
            if len(self.gap_results[key]) != n
        }
        if wrong:
            shown = ", ".join(f"{key!r} has {length}" for key, length in wrong.items())
            raise ValueError(
                f"gap_results must hold one value per candidate k: 'n_clusters' "
                f"has {n} values, but {shown}. Pass the columns of one table, "
                "e.g. GapKMeans.gap_results_."
            )

    def _summary(self):
        """What chose k, for the title: the rule, the statistic and B."""
        statistic = "the gap" if self.statistic == "gap" else "Gap*"
        parts = []
        if self.n_clusters is not None:
            how = f" by {self.method}" if self.method is not None else ""
            parts.append(f"k = {self.n_clusters}{how} on {statistic}")
        elif self.method is not None:
            parts.append(f"{self.method} on {statistic}")
        if self.n_refs is not None:
            parts.append(f"B = {self.n_refs} references")
        return ", ".join(parts)

    def _values(self, key):
        return np.asarray(self.gap_results[key], dtype=np.float64)

    def _ks(self):
        return np.asarray(self.gap_results["n_clusters"])

    def _mark_chosen(self, ax, values=None, k=None, label=None):
        """A dashed vertical line at the chosen k, and a dot on the curve."""
        k = self.n_clusters if k is None else k
        if k is None:
            return None
        if label is None:
            label = f"chosen k = {k}"
            if self.method is not None:
                statistic = "gap" if self.statistic == "gap" else "Gap*"
                label += f" ({self.method} on {statistic})"
        line = ax.axvline(
            k,
            color=_CHOSEN_COLOR,
            linestyle="--",
            linewidth=1,
            label=label,
            zorder=1,
        )
        if values is not None:
            position = np.flatnonzero(self._ks() == k)
            if position.size:
                ax.plot(
                    k,
                    values[position[0]],
                    "o",
                    color=_CHOSEN_COLOR,
                    markersize=10,
                    markerfacecolor="none",
                    markeredgewidth=2,
                    zorder=3,
                )
        return line

    def _finish(self, ax, ylabel, title, extra_handles=()):
        ks = self._ks()
        ax.set_xlabel("Number of clusters k")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        if len(ks) <= 20:
            ax.set_xticks(ks)
        ax.grid(True, alpha=0.3)
        handles, _ = ax.get_legend_handles_labels()
        ax.legend(handles=[*handles, *extra_handles], loc="best", fontsize="small")

    def _plot_gap(self, ax, **kwargs):
        gap, se = self._values("gap"), self._values("se")
        style = {"fmt": "o-", "capsize": 3, "label": "gap ± se"} | kwargs
        self.errorbar_ = ax.errorbar(self._ks(), gap, yerr=se, **style)
        line = self._mark_chosen(ax, gap)
        self._finish(ax, "Gap(k)", "Gap statistic")
        return line

    def _plot_log_w(self, ax, **kwargs):
        ks = self._ks()
        log_w = self._values("log_w")
        expected = self._values("expected_log_w")
        sd = self._values("sd")
        style = {"marker": "o", "label": "log W (data)"} | kwargs
        ax.plot(ks, log_w, **style)
        ax.plot(
            ks, expected, marker="s", linestyle="--", label="E[log W*] (references)"
        )
        ax.fill_between(
            ks, expected - sd, expected + sd, alpha=0.25, label="E[log W*] ± sd"
        )
        line = self._mark_chosen(ax)
        self._finish(ax, "log W_k", "Observed and expected log W_k")
        return line

    def _diff_key(self):
        return _DIFFS[self.statistic][0]

    def _plot_diff(self, ax, **kwargs):
        ks = self._ks()
        name = _DIFFS[self.statistic][1]
        diff = self._values(self._diff_key())
        valid = ~np.isnan(diff)
        width = 0.8 * (np.min(np.diff(ks)) if len(ks) > 1 else 1)
        non_negative = valid & (diff >= 0)
        colors = ["tab:blue" if good else "tab:gray" for good in non_negative]
        first = np.flatnonzero(non_negative)
        first_k = ks[first[0]] if first.size else None
        # The chosen k's bar, whatever rule chose it; without a chosen k, the
        # first non-negative diff (what Tibshirani's rule would choose).
        marked = first_k if self.n_clusters is None else self.n_clusters
        position = np.flatnonzero((ks == marked) & valid)
        extra = []
        if position.size:
            colors[position[0]] = "tab:green"
            from matplotlib.patches import Patch

            label = (
                f"first {name} >= 0: k = {marked}"
                if marked == first_k
                else f"{name} at the chosen k = {marked}"
            )
            extra.append(Patch(color="tab:green", label=label))
        colors = [color for color, keep in zip(colors, valid, strict=False) if keep]
        style = {"width": width, "color": colors} | kwargs
        self.bars_ = ax.bar(ks[valid], diff[valid], **style)
        ax.axhline(0, color="black", linewidth=0.8)
        line = self._mark_chosen(ax)
        if self.statistic == "gap_star":
            ylabel, title = "Gap*(k) - Gap*(k+1) + se*(k+1)", "diff*(k), on Gap*"
        else:
            ylabel, title = "gap(k) - gap(k+1) + se(k+1)", "Tibshirani's diff(k)"
        self._finish(ax, ylabel, title, extra)
        return line

    def _plot_gap_star(self, ax, **kwargs):
        gap_star, se_star = self._values("gap_star"), self._values("se_star")
        style = {
            "fmt": "o-",
            "capsize": 3,
            "label": "Gap* ± se*",
            "color": "tab:purple",
        } | kwargs
        self.errorbar_star_ = ax.errorbar(self._ks(), gap_star, yerr=se_star, **style)
        own = (self.rule_choices or {}).get("gap_star", {}).get(self.method)
        if self.statistic == "gap" and own is not None:
            # Gap*'s own choice by the same rule, not the gap's
            line = self._mark_chosen(
                ax, gap_star, k=own, label=f"Gap*'s k = {own} ({self.method} on Gap*)"
            )
        else:
            line = self._mark_chosen(ax, gap_star)
        self._finish(ax, "Gap*(k) = E[W*] - W", "Gap* statistic")
        return line

    def _plot_frequency(self, ax, **kwargs):
        from matplotlib.patches import Patch
        from matplotlib.ticker import PercentFormatter

        ks = self._ks()
        frequency = self._values("selection_frequency")
        width = 0.8 * (np.min(np.diff(ks)) if len(ks) > 1 else 1)
        colors = ["tab:blue"] * len(ks)
        position = np.flatnonzero(ks == self.n_clusters)
        extra = []
        if position.size:
            colors[position[0]] = "tab:green"
            extra.append(
                Patch(
                    color="tab:green",
                    label=f"k = {self.n_clusters} in "
                    f"{frequency[position[0]]:.0%} of the resamples"
                    + (
                        f" of {self.selection_resamples}"
                        if self.selection_resamples
                        else ""
                    ),
                )
            )
        style = {"width": width, "color": colors} | kwargs
        self.frequency_bars_ = ax.bar(ks, frequency, **style)
        # the share of each k chosen at least once, on its bar
        ax.bar_label(
            self.frequency_bars_,
            labels=[f"{f:.0%}" if f > 0 else "" for f in frequency],
            fontsize="small",
            padding=2,
        )
        # a fraction: always on the scale 0..1, with room for the labels
        ax.set_ylim(0, 1.15)
        ax.set_yticks(np.linspace(0, 1, 5))
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
        line = self._mark_chosen(ax)
        self._finish(
            ax,
            "Selection frequency",
            "How often the rule chooses each k",
            extra,
        )
        return line

    def _plot_clusters(self, ax, **kwargs):
        """The clustering of X in its first two principal axes (fviz_cluster)."""
        if self.X is None or self.labels is None:
            raise ValueError(
                "kind='clusters' needs the data and their labels: pass X and "
                "labels to GapStatisticDisplay, or X to from_estimator."
            )
        X = np.asarray(self.X, dtype=np.float64)
        labels = np.asarray(self.labels)
        if X.ndim != 2 or len(X) != len(labels):
            raise ValueError(
                f"X (shape {X.shape}) and labels ({len(labels)} values) must "
                "describe the same samples: X of shape (n_samples, n_features), "
                "one label per sample."
            )
        centred = X - X.mean(axis=0)
        _, singular, axes = np.linalg.svd(centred, full_matrices=False)
        n_axes = min(2, axes.shape[0])
        scores = centred @ axes[:n_axes].T
        if n_axes == 1:  # one feature: the second axis is 0
            scores = np.column_stack([scores, np.zeros(len(X))])
        variance = singular**2 / max(np.sum(singular**2), np.finfo(float).tiny)
        self.cluster_scatters_ = []
        for i, cluster in enumerate(np.unique(labels)):
            members = labels == cluster
            style = {"s": 15, "alpha": 0.7, "color": f"C{i % 10}"} | kwargs
            self.cluster_scatters_.append(
                ax.scatter(
                    scores[members, 0],
                    scores[members, 1],
                    label=f"cluster {cluster} ({members.sum()})",
                    **style,
                )
            )
            ax.plot(
                *scores[members].mean(axis=0),
                "X",
                color=f"C{i % 10}",
                markersize=12,
                markeredgecolor="black",
            )
        ax.set_xlabel(f"Dim1 ({variance[0]:.1%} of the variance)")
        ax.set_ylabel(
            f"Dim2 ({variance[1]:.1%} of the variance)" if n_axes == 2 else "Dim2"
        )
        ax.set_title(f"Cluster plot: k = {np.unique(labels).size}")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize="small")
