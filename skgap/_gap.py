"""GapKMeans: choose the number of clusters with the gap statistic."""

import collections
import hashlib
import os
from collections.abc import Iterable, Iterator
from numbers import Integral, Real

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, ClusterMixin, MetaEstimatorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._clusterer import configure
from ._dispersion import check_metric
from ._docstrings import fill_doc
from ._engine import engine_settings
from ._execution import TASKS_PER_WORKER, single_threaded
from ._fits import (
    DATA,
    FitSpec,
    FitStore,
    bootstrap_seed,
    datasets,
    fit_best,
    run_fits,
)
from ._nested import check_tree_memory, nested_fitter
from ._reference import REFERENCES, make_reference_sampler
from ._selection import (
    FORWARD_RULES,
    RULES,
    STATISTICS,
    forward_choice,
    gap_table,
    rule_choices,
    select_k,
    selection_frequencies,
)
from ._utils import (
    METRICS,
    HasMethods,
    Interval,
    StrOptions,
    _accepts_sample_weight,
    _check_clusterer,
    _check_optional_dependency,
    _default_estimator,
    _estimator_has,
    _estimator_tags,
    _fit_context,
    _generate_get_feature_names_out,
    _n_clusters_param,
    _router_owner,
    _routing_enabled,
    _validate_clusterer_params,
    _wrap_data_with_container,
    fingerprint,
    short_list,
    warn_caller,
)
from ._validation import (
    _check_magnitude,
    _check_power,
    _explain_input_errors,
    _warn_distinct,
    _warn_feature_spreads,
    check_sample_weight,
)
from .exceptions import InvalidInputError, SkgapWarning

__all__ = ["GapKMeans"]

# n_refs="auto": the first batch of references, and each next one
_AUTO_FIRST_REFS = 10
_AUTO_BATCH_REFS = 10


@fill_doc
class GapKMeans(ClusterMixin, MetaEstimatorMixin, BaseEstimator):
    """Choose the number of clusters with the gap statistic, then cluster.

    For every candidate number of clusters k, `estimator` clusters the data
    and `n_refs` reference data sets drawn without cluster structure; the gap
    between the reference and observed log dispersions (Tibshirani, Walther &
    Hastie, 2001), or Mohajer et al.'s Gap* without the logarithm, picks k
    under one of five rules. The clustering of the data at that k is kept.

    Read more in the :ref:`User Guide <gap>`.

    Parameters
    ----------
    estimator : estimator object, default=None
        The clusterer, with an ``n_clusters`` or ``n_components`` parameter
        (also nested, as in a :class:`~sklearn.pipeline.Pipeline`). It is
        cloned for every fit and never fitted itself. ``None`` means
        ``KMeans(n_init=3)``: three starts find the true k about as often as
        ten, at well under half the cost (see :ref:`accuracy`). ``None`` and a
        plain :class:`~sklearn.cluster.KMeans` with
        ``init="k-means++"`` and ``algorithm="lloyd"`` run on skgap's
        compiled k-means engine (see `kmeans_engine`).

    n_clusters_range : iterable of int, default=None
        The candidate numbers of clusters, positive and distinct; they are
        sorted. ``None`` means ``range(1, 11)``. Candidates larger than the
        number of samples are dropped with a warning.

    n_refs : int or 'auto', default=20
        The number B of reference data sets. ``'auto'`` starts with 10 and
        adds 10 at a time, reusing every fit made, until the chosen k's
        selection frequency (see `selection_frequencies_`) reaches
        `stability` or B reaches `max_n_refs`; the result is that of a fit
        with ``n_refs`` set to the B reached (`n_refs_`).

        .. versionchanged:: 0.2
           ``'auto'``.

    max_n_refs : int, default=100
        With ``n_refs='auto'``, the most reference data sets to draw.

        .. versionadded:: 0.2

    stability : float in (0, 1], default=0.95
        With ``n_refs='auto'``, the selection frequency of the chosen k at
        which no more references are added.

        .. versionadded:: 0.2

    reference : {'pca', 'uniform'} or callable, default='pca'
        The null distribution of the reference data sets:

        - ``'pca'``: uniform over the box aligned with the principal axes of
          the centred data (the paper's method (b); R's
          ``spaceH0="scaledPCA"``).
        - ``'uniform'``: each feature uniform over its observed range (the
          paper's method (a); R's ``spaceH0="original"``).
        - a callable ``reference(X, seed) -> ndarray`` of X's shape, where
          ``seed`` is an int for :func:`numpy.random.default_rng` or
          :func:`sklearn.utils.check_random_state`. X is read-only.

    statistic : {'gap', 'gap_star'}, default='gap'
        The statistic the rule is applied to: the gap with its standard
        error ``se``, or Gap* with ``se_star``.

    method : {'tibshirani', 'first_se_max', 'global_se_max', 'first_max', \
'global_max'}, default='tibshirani'
        The rule that chooses k; see :func:`select_k`.

    se_factor : float, default=1.0
        Multiplier of the standard errors in the rule (R's ``SE.factor``).

    power : float, default=2.0
        Exponent of the distance in the dispersion W_k (R's ``d.power``).
        With the Euclidean distance, 2 costs O(n_samples * n_features) per
        fit; any other value sums over the pairs within each cluster.

    metric : str or callable, default='euclidean'
        The distance d of the dispersion W_k: any metric that
        :func:`sklearn.metrics.pairwise_distances` accepts (``'cityblock'``,
        ``'cosine'``, ``'correlation'``, ``'chebyshev'``, ``'minkowski'``,
        ...) or a callable of two 1-D arrays. It measures the clusterings;
        the clusterer chooses them with its own distance (e.g.
        ``AgglomerativeClustering(metric="cosine", linkage="average")``).
        Other metrics than ``'euclidean'`` sum over the pairs within each
        cluster, a block of rows at a time (never an n x n matrix).

        .. versionadded:: 0.2

    metric_params : dict, default=None
        Keyword arguments of the metric, e.g. ``{"p": 3}`` for
        ``'minkowski'``.

        .. versionadded:: 0.2

    n_jobs : int, default=None
        The number of jobs to run in parallel: the data and the reference
        data sets are clustered as separate tasks, in threads unless
        :func:`joblib.parallel_config` chooses another backend (such as
        Dask's). Results are the same for every `n_jobs`. ``None`` means 1
        unless in a :func:`joblib.parallel_config` context. ``-1`` means
        using all processors. See :term:`Glossary <n_jobs>` and the
        :ref:`performance` section of the user guide for more details.

    random_state : int, RandomState instance or None, default=None
        Determines the reference draws and, through one seed per fit, the
        starts of every k-means (and the ``random_state`` of every clone of
        `estimator` that has one). Pass an int for reproducible results
        across multiple function calls; they are the same whatever `n_jobs`
        and joblib backend. See :term:`Glossary <random_state>`.

    verbose : int, default=0
        Progress reporting on stderr. 0 is silent. With 1 or more, GapKMeans
        reports as fits complete how many of the ``(n_refs + 1 +
        n_bootstrap) * n_candidates`` fits are done, the elapsed time and an
        estimate of the remaining time ("estimating" until the first results
        show the pace): one line updated in place on a terminal and in a
        Jupyter notebook (tqdm's bar there, if tqdm and ipywidgets are
        installed), a line per tenth of the work otherwise. Values above 1
        also pass ``verbose - 1`` to :class:`joblib.Parallel`.

    warm_start : bool, default=False
        When set to True, a refit on the same X reuses the fits of the
        previous call and runs only the new ones: raising `n_refs` adds
        reference draws, widening `n_clusters_range` adds candidates. The
        result is exactly that of a cold fit with the final parameters. A
        different X (shape, dtype or values), sample weights, estimator,
        `reference`, `power` or integer `random_state` starts cold. With
        ``random_state=None`` or a RandomState instance the previous fit's
        seeds are reused. See :term:`the Glossary <warm_start>`.

        .. versionadded:: 0.1

    kmeans_engine : {'skgap', 'sklearn'}, default='skgap'
        Who runs the k-means fits when `estimator` is None or a plain
        :class:`~sklearn.cluster.KMeans` with ``init="k-means++"``,
        ``algorithm="lloyd"`` and ``verbose=0``:

        - ``'skgap'``: skgap's compiled engine, the algorithm of
          scikit-learn's ``KMeans(algorithm="lloyd")`` (greedy k-means++,
          the same stopping rule, the best of ``n_init`` starts) run for
          every k of a data set in one call without the GIL, so that
          threads run in parallel. Only its random streams differ from
          scikit-learn's. `best_estimator_` is a fitted
          :class:`~sklearn.cluster.KMeans` all the same.
        - ``'sklearn'``: scikit-learn's own fits.

        Any other clusterer runs as given.

        .. versionadded:: 0.2

    scan : {'full', 'forward'}, default='full'
        Which candidates are fitted:

        - ``'full'``: every candidate.
        - ``'forward'``: the candidates in increasing order, in waves, until
          the rule's choice can no longer change; then the larger ones are
          skipped. The chosen k is exactly that of the full scan, and
          `gap_results_` holds the candidates computed. Only for the rules
          that look no further than the first k that satisfies them:
          ``'tibshirani'``, ``'first_se_max'`` and ``'first_max'``.

        .. versionadded:: 0.2

    n_bootstrap : int, default=0
        How many resamples of the data rows `selection_frequencies_` covers.
        0 resamples only the reference data sets (their Monte Carlo noise).
        With N > 0, the data rows are drawn with replacement N times (n_samples
        rows each, with their weights), the clusterer is fitted on each at
        every candidate k, and each resample meets a resample of the
        reference data sets (their rows of `reference_dispersions_`): the
        frequencies then cover the sampling of the data too. The references
        are reused, not redrawn: the null is that of the data (a box redrawn
        around a resample shrinks with the extremes it lacks, which biases
        towards k = 1), and the cost is that of N / (`n_refs` + 1) more fits.

        .. versionadded:: 0.3

    Attributes
    ----------
    n_clusters_ : int
        The chosen number of clusters.

    best_estimator_ : estimator object
        The clone of `estimator` fitted on X with `n_clusters_` clusters.

    labels_ : ndarray of shape (n_samples,)
        Cluster labels of the training samples at `n_clusters_`.

    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        The centres of `best_estimator_`, where it has them.

    gap_results_ : dict of ndarray of shape (n_candidates,)
        One entry per candidate k computed: ``n_clusters``, ``log_w`` (log
        W_k), ``expected_log_w``, ``gap``, ``sd``, ``se``, ``gap_star``,
        ``se_star``, ``diff``, ``diff_star`` and ``selection_frequency``.

    selection_frequencies_ : ndarray of shape (n_candidates,)
        How sure the choice is: the fraction of resamples under which the
        same rule, on the same statistic, chooses each candidate. With
        ``n_bootstrap=0``, 500 bootstrap resamples of the reference data sets
        (the rows of `reference_dispersions_`; no new fit): the Monte Carlo
        noise of the references only. With ``n_bootstrap=N``, N resamples of
        the data rows, each with a resample of the references: the sampling
        of the data too (`selection_resamples_` says which). It sums to 1;
        on well separated clusters the chosen k has 1.0, on a flat gap curve
        or on data that hesitate between two ks the mass spreads.

        .. versionadded:: 0.2

    selection_resamples_ : str
        What `selection_frequencies_` resamples: ``"the references"`` or
        ``"the data and the references"`` (with `n_bootstrap` > 0).

        .. versionadded:: 0.3

    n_refs_ : int
        The number of reference data sets used (`n_refs`, or the number
        ``n_refs='auto'`` reached).

        .. versionadded:: 0.2

    rule_choices_ : dict of dict
        The k that each rule of :func:`select_k` chooses on each statistic,
        from the same fit: ``rule_choices_["gap"]["global_max"]``. The
        estimator's choice stays the one `method` and `statistic` name. After
        a forward scan, a rule whose choice the candidates computed do not
        settle is None.

        .. versionadded:: 0.2

    gap_df_ : pandas.DataFrame
        `gap_results_` as a DataFrame (requires pandas).

    dispersions_ : ndarray of shape (n_candidates,)
        The observed dispersions W_k.

    reference_dispersions_ : ndarray of shape (`n_refs_`, n_candidates)
        The dispersions W*_kb of the reference data sets.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    select_k : The selection rules.
    within_cluster_dispersion : The dispersion W_k of one partition.
    sklearn.cluster.KMeans : The default clusterer.

    Notes
    -----
    For each k, with L_b = log W*_kb of reference b = 1..B::

        gap       = mean_b L_b - log W_k
        sd        = sqrt(mean_b (L_b - mean_b L_b) ** 2)
        se        = sd * sqrt(1 + 1/B)
        gap_star  = mean_b W*_kb - W_k
        se_star   = std_b(W*_kb) * sqrt(1 + 1/B)
        diff      = gap_k - gap_{k+1} + se_{k+1}

    The default rule chooses the smallest k with ``diff_k >= 0``. R's
    ``cluster::clusGap`` reports W_k / 2 (it counts each pair once) and an
    ``SE.sim`` larger by sqrt(B / (B - 1)) (it divides the variance by B - 1).

    References
    ----------
    .. [1] %(tibshirani_2001)s
    .. [2] Mohajer, M., Englmeier, K.-H. and Schmid, V. J. (2011). A
       comparison of Gap statistic definitions with and without logarithm
       function. Technical Report 96, Department of Statistics, LMU Munich.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skgap import GapKMeans
    >>> X, _ = make_blobs(n_samples=300, centers=4, random_state=1)
    >>> gap = GapKMeans(n_clusters_range=range(1, 8), random_state=0).fit(X)
    >>> gap.n_clusters_
    4
    >>> gap.predict([[0.0, 4.0]]).shape
    (1,)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"]), None],
        "n_clusters_range": [Iterable, None],
        "n_refs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_n_refs": [Interval(Integral, 2, None, closed="left")],
        "stability": [Interval(Real, 0, 1, closed="right")],
        "reference": [StrOptions(set(REFERENCES)), callable],
        "statistic": [StrOptions(set(STATISTICS))],
        "method": [StrOptions(set(RULES))],
        "se_factor": [Interval(Real, 0, None, closed="left")],
        "power": [Interval(Real, 0, None, closed="neither")],
        "metric": [StrOptions(set(METRICS)), callable],
        "metric_params": [dict, None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "kmeans_engine": [StrOptions({"skgap", "sklearn"})],
        "scan": [StrOptions({"full", "forward"})],
        "n_bootstrap": [Interval(Integral, 0, None, closed="left")],
    }

    # transform's output follows set_output (read by scikit-learn's
    # _wrap_data_with_container, as for its _SetOutputMixin)
    _sklearn_auto_wrap_output_keys = {"transform"}

    # The HTML representation links to the API page.
    _doc_link_module = "skgap"
    _doc_link_template = (
        "https://skgap.readthedocs.io/en/latest/generated/"
        "{estimator_module}.{estimator_name}.html"
    )

    def __init__(
        self,
        estimator=None,
        *,
        n_clusters_range=None,
        n_refs=20,
        max_n_refs=100,
        stability=0.95,
        reference="pca",
        statistic="gap",
        method="tibshirani",
        se_factor=1.0,
        power=2.0,
        metric="euclidean",
        metric_params=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        kmeans_engine="skgap",
        scan="full",
        n_bootstrap=0,
    ):
        self.estimator = estimator
        self.n_clusters_range = n_clusters_range
        self.n_refs = n_refs
        self.max_n_refs = max_n_refs
        self.stability = stability
        self.reference = reference
        self.statistic = statistic
        self.method = method
        self.se_factor = se_factor
        self.power = power
        self.metric = metric
        self.metric_params = metric_params
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.kmeans_engine = kmeans_engine
        self.scan = scan
        self.n_bootstrap = n_bootstrap

    @_fit_context(
        # GapKMeans.estimator is not validated yet
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y=None, sample_weight=None):
        """Choose the number of clusters of X and cluster X with it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training instances to cluster. It is not modified.

        y : Ignored
            Not used, present here for API consistency by convention.

        sample_weight : array-like of shape (n_samples,), default=None
            The weight of each sample, non-negative: in the dispersion W_k of
            the data and of the references (reference row i weighs as sample
            i), in the ``"pca"`` reference's mean and axes, and in every fit
            of the clusterer, which must then accept ``sample_weight`` unless
            the weights are all equal (they then change nothing). At least
            two must be positive. For the same labels, integer weights give
            the W_k of the data with each sample repeated that many times;
            the gap is not that of the repeated data, whose reference data
            sets would have more rows (and whose clusterer fits start from
            other draws). ``None`` weighs every sample 1.

            .. versionadded:: 0.2

        Returns
        -------
        self : object
            Fitted estimator.
        """
        state = self.__dict__.copy()
        try:
            with single_threaded():
                return self._fit(X, sample_weight)
        except BaseException:
            # Never leave a half-fitted estimator behind.
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _fit(self, X, sample_weight):
        X, sample_weight = self._validate_fit_data(X, sample_weight)
        estimator, n_clusters_param, engine = self._clusterer()
        fit_weight = self._fit_weight(estimator, sample_weight)
        metric_params = check_metric(self.metric, self.metric_params, X.shape[1])
        nested = (
            None if engine else nested_fitter(estimator, n_clusters_param, fit_weight)
        )
        check_tree_memory(X.shape[0], estimator, effective_n_jobs(self.n_jobs))
        candidates = self._candidate_ks(X.shape[0])
        _warn_distinct(X, candidates)
        store = self._store(X, sample_weight, fit_weight, estimator)
        spec = FitSpec(
            estimator=estimator,
            n_clusters_param=n_clusters_param,
            engine=engine,
            nested=nested,
            sampler=make_reference_sampler(self.reference, X, sample_weight),
            power=float(self.power),
            metric=self.metric,
            metric_params=metric_params,
            sample_weight=sample_weight,
            fit_weight=fit_weight,
            entropy=store.entropy,
            parent_pid=os.getpid(),
        )
        # n_refs="auto": batches of references until the choice is stable
        n_refs = (
            min(_AUTO_FIRST_REFS, self.max_n_refs)
            if self.n_refs == "auto"
            else self.n_refs
        )
        while True:
            ks = self._scan(X, spec, candidates, store, n_refs)
            dispersions = store.arrays(ks, [DATA])[0]
            reference_dispersions = store.arrays(ks, range(n_refs))
            gap_results = gap_table(ks, dispersions, reference_dispersions)
            best = self._select(X, gap_results)
            resamples = datasets(0, self.n_bootstrap)[1:]
            frequencies = selection_frequencies(
                store.arrays(ks, resamples) if resamples else dispersions,
                reference_dispersions,
                statistic=self.statistic,
                method=self.method,
                se_factor=self.se_factor,
                seed=bootstrap_seed(store.entropy),
            )
            if (
                self.n_refs != "auto"
                or frequencies[best] >= self.stability
                or n_refs >= self.max_n_refs
            ):
                break
            n_refs = min(n_refs + _AUTO_BATCH_REFS, self.max_n_refs)
        gap_results["selection_frequency"] = frequencies
        n_clusters = ks[best]
        self.selection_resamples_ = (
            "the data and the references" if self.n_bootstrap else "the references"
        )
        self._warn_result(store, ks, candidates, n_refs, n_clusters, frequencies[best])
        best_estimator, labels = fit_best(
            X, spec, store, n_clusters, keep=self.warm_start
        )

        if self.warm_start:
            self._warm_start_state_ = store
        elif hasattr(self, "_warm_start_state_"):
            del self._warm_start_state_
        self.n_clusters_ = n_clusters
        self.best_estimator_ = best_estimator
        self.labels_ = labels
        self.gap_results_ = gap_results
        self.dispersions_ = dispersions
        self.reference_dispersions_ = reference_dispersions
        self.n_refs_ = n_refs
        self.selection_frequencies_ = frequencies
        self.rule_choices_ = rule_choices(
            gap_results, se_factor=self.se_factor, complete=len(ks) == len(candidates)
        )
        return self

    # -- validate ------------------------------------------------------------

    def _validate_fit_data(self, X, sample_weight):
        with _explain_input_errors(X):
            X = validate_data(
                self, X, dtype=[np.float64, np.float32], order="C", ensure_min_samples=2
            )
        _check_magnitude(X)
        _check_power(X, float(self.power))
        _warn_feature_spreads(X, getattr(self, "feature_names_in_", None))
        sample_weight = check_sample_weight(sample_weight, X.shape[0], min_positive=2)
        if sample_weight is not None:
            largest = sample_weight.max()
            if not 2.0**-300 < largest < 2.0**300:
                # The gap and the clusterings do not change with a common factor
                # of the weights; W_k of weights near the float limits would
                # overflow or underflow: a power of two brings them near 1.
                sample_weight = np.ldexp(sample_weight, -np.frexp(largest)[1])
        if not np.any(np.ptp(X, axis=0)):
            # every statistic is degenerate (the gap is NaN, Gap* is 0)
            raise InvalidInputError(
                f"All {X.shape[0]} samples of X are identical: the data have no "
                "spread, so no number of clusters can be chosen."
            )
        if self.n_jobs == 0:
            raise InvalidInputError(
                "n_jobs == 0 (in GapKMeans) has no meaning: pass 1, 2, ..., -1 "
                "for all processors, or None."
            )
        if self.n_refs == 1:
            warn_caller(
                "n_refs=1: with a single reference data set the standard errors "
                "are 0, so the rules compare the gap values alone. Use n_refs >= 2 "
                "(20 by default).",
                SkgapWarning,
            )
        if self.scan == "forward" and self.method not in FORWARD_RULES:
            raise InvalidInputError(
                f"scan='forward' stops at the first k that the rule accepts, "
                f"which the rule method={self.method!r} cannot do: it compares "
                f"every candidate. Use scan='full', or one of the rules "
                f"{list(FORWARD_RULES)}."
            )
        return X, sample_weight

    def _routed_estimator(self):
        """`estimator`, or the default one (which asks for the sample weights
        when metadata routing is enabled)."""
        if self.estimator is not None:
            return self.estimator
        estimator = _default_estimator()
        if _routing_enabled():
            estimator.set_fit_request(sample_weight=True)
        return estimator

    def _clusterer(self):
        """The clusterer, its number-of-clusters parameter and engine settings."""
        if isinstance(self.estimator, type):
            name = self.estimator.__name__
            raise InvalidInputError(
                f"estimator must be an instance, such as {name}(), got the class "
                f"{name}."
            )
        if self.estimator is not None:
            _check_clusterer(self.estimator)  # before clone, which needs get_params
        estimator = clone(self._routed_estimator())
        n_clusters_param = _n_clusters_param(estimator)
        _validate_clusterer_params(configure(estimator, n_clusters_param, 2, 0))
        engine = None if self.kmeans_engine == "sklearn" else engine_settings(estimator)
        return estimator, n_clusters_param, engine

    def _fit_weight(self, estimator, sample_weight):
        """The sample weights the clusterer's fits receive.

        With metadata routing enabled, those it asked for (routed as
        scikit-learn's meta-estimators do); otherwise all of them, which the
        clusterer must then accept.
        """
        if _routing_enabled():
            routed = process_routing(self, "fit", sample_weight=sample_weight)
            requested = routed.estimator.fit.get("sample_weight")
            return None if requested is None else sample_weight
        if sample_weight is not None and not _accepts_sample_weight(estimator):
            if np.all(sample_weight == sample_weight[0]):
                # equal weights change neither the clusterings nor the gap
                return None
            raise InvalidInputError(
                f"{type(estimator).__name__}.fit does not accept sample_weight, "
                "and GapKMeans passes the sample weights to every fit of the "
                "clusterer. Use a clusterer that takes them (KMeans, "
                "MiniBatchKMeans, BisectingKMeans, ...), or, for a Pipeline, "
                "enable metadata routing (sklearn.set_config("
                "enable_metadata_routing=True)) and request them from its step, "
                "e.g. KMeans().set_fit_request(sample_weight=True)."
            )
        return sample_weight

    def get_metadata_routing(self):
        """Get metadata routing of this object.

        GapKMeans consumes ``sample_weight`` itself (in W_k and the
        references) and routes it to the fits of `estimator` that request it.
        Please check :ref:`User Guide <metadata_routing>` on how the routing
        mechanism works.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter`
            encapsulating routing information.
        """
        return (
            MetadataRouter(owner=_router_owner(self))
            .add_self_request(self)
            .add(
                estimator=self._routed_estimator(),
                method_mapping=MethodMapping().add(caller="fit", callee="fit"),
            )
        )

    def _candidate_ks(self, n_samples):
        """The validated, sorted candidate ks that can be fitted on n_samples."""
        if self.n_clusters_range is None:
            ks = list(range(1, 11))
        else:
            if isinstance(self.n_clusters_range, Iterator):
                raise InvalidInputError(
                    "n_clusters_range is an iterator (such as a generator), which "
                    "the first fit would use up: pass a list or a range, e.g. "
                    "list(n_clusters_range)."
                )
            ks = list(self.n_clusters_range)
            bad = [k for k in ks if not isinstance(k, Integral) or isinstance(k, bool)]
            if bad:
                raise InvalidInputError(
                    "n_clusters_range must hold integers, got "
                    f"{bad[0]!r} of type {type(bad[0]).__name__}."
                )
            ks = [int(k) for k in ks]
        if not ks:
            raise InvalidInputError("n_clusters_range is empty; give at least one k.")
        if min(ks) < 1:
            raise InvalidInputError(
                f"n_clusters_range must hold positive integers, got {min(ks)}."
            )
        if len(set(ks)) != len(ks):
            counts = collections.Counter(ks)
            duplicated = sorted(k for k, count in counts.items() if count > 1)
            raise InvalidInputError(
                f"n_clusters_range must not repeat a k, got [{short_list(duplicated)}] "
                "more than once."
            )
        ks = sorted(ks)
        too_large = [k for k in ks if k > n_samples]
        if too_large:
            ks = [k for k in ks if k <= n_samples]
            shown = f"[{short_list(too_large)}]"
            if not ks:
                raise InvalidInputError(
                    f"Every candidate number of clusters {shown} is larger than "
                    f"n_samples={n_samples}; pass k <= {n_samples}."
                )
            warn_caller(
                f"Dropped the candidate numbers of clusters {shown}: they are "
                f"larger than n_samples={n_samples}.",
                SkgapWarning,
            )
        return ks

    # -- plan and run the fits ---------------------------------------------------

    def _store(self, X, sample_weight, fit_weight, estimator):
        """The results of earlier fits if `warm_start` can reuse them, else none.

        A warm start reuses the previous fit's results when X (shape, dtype
        and a hash of its bytes), the sample weights, the clusterer (its type
        and exact parameters), `kmeans_engine`, `reference`, `power` and an
        integer `random_state` are unchanged. Parameters whose equality
        cannot be shown (callables other than the very same object) start
        cold.
        """
        random_state = self.random_state
        previous = getattr(self, "_warm_start_state_", None)
        key = None
        if self.warm_start:
            # Hashing X costs a pass over it: only a warm start needs the key.
            key = fingerprint(
                (
                    X.shape,
                    X.dtype.str,
                    hashlib.blake2b(X.data, digest_size=16).hexdigest(),
                    None if sample_weight is None else sample_weight,
                    fit_weight is None,  # whether the clusterer got the weights
                    estimator,
                    self.kmeans_engine,
                    self.reference,
                    float(self.power),
                    self.metric,
                    self.metric_params,
                    int(random_state) if isinstance(random_state, Integral) else None,
                )
            )
            if previous is not None and previous.key == key:
                # a copy: a fit that fails must leave the cache as it was
                return previous.copy()
        entropy = int(check_random_state(random_state).randint(2**31 - 1))
        return FitStore(key, entropy)

    def _scan(self, X, spec, ks, store, n_refs):
        """Run the fits the candidates need; return the candidates computed.

        The resamples of the data (`n_bootstrap`) are fitted at the same
        candidates: with the others in a full scan, after a forward one.
        """
        fits = dict(n_jobs=self.n_jobs, verbose=self.verbose)
        if self.scan == "full":
            run_fits(X, spec, ks, store, n_refs, self.n_bootstrap, **fits)
            return ks
        # Waves of candidates in increasing k, wide enough that every worker
        # has several tasks, until the rule's choice is final.
        n_tasks = TASKS_PER_WORKER * effective_n_jobs(self.n_jobs)
        per_wave = max(1, -(-n_tasks // (n_refs + 1)))
        values_key, se_key = self.statistic, STATISTICS[self.statistic]
        done = []
        while len(done) < len(ks):
            wave = ks[len(done) : len(done) + max(per_wave, 2 - len(done))]
            run_fits(X, spec, wave, store, n_refs, **fits)
            done += wave
            table = gap_table(
                done, store.arrays(done, [DATA])[0], store.arrays(done, range(n_refs))
            )
            chosen = forward_choice(
                table[values_key],
                table[se_key],
                method=self.method,
                se_factor=self.se_factor,
            )
            if chosen is not None:
                break
        if self.n_bootstrap:
            run_fits(X, spec, done, store, n_refs, self.n_bootstrap, **fits)
        return done

    def _warn_result(self, store, ks, candidates, n_refs, n_clusters, frequency):
        """Warn about what the user should check in the result."""
        short_ks = [k for k in ks if (DATA, k) in store.short]
        short_refs = sorted(
            (b, k) for b, k in store.short if 0 <= b < n_refs and k in ks
        )
        if short_ks or short_refs:
            where = [f"on the data at k=[{short_list(short_ks)}]"] if short_ks else []
            if short_refs:
                n_short = len({b for b, _ in short_refs})
                where.append(
                    f"on {n_short} of the {n_refs} reference data sets at "
                    f"k=[{short_list(sorted({k for _, k in short_refs}))}]"
                )
            warn_caller(
                "The clusterer found fewer distinct clusters than asked for "
                f"{' and '.join(where)}; their dispersion is that of the clusters "
                "found.",
                SkgapWarning,
            )
        if len(candidates) > 1 and n_clusters == max(candidates):
            warn_caller(
                f"The chosen k={n_clusters} is the largest candidate: the gap may "
                "still be rising past it. Widen n_clusters_range, e.g. to "
                f"range(1, {2 * n_clusters + 1}), and fit again.",
                SkgapWarning,
            )
        if self.n_refs == "auto" and frequency < self.stability:
            warn_caller(
                f"n_refs='auto' reached max_n_refs={self.max_n_refs} with the "
                f"chosen k={n_clusters} in {frequency:.1%} of the resamples of "
                f"{self.selection_resamples_}, short of stability={self.stability}: "
                "the choice is "
                "not settled. Raise max_n_refs, or look at selection_frequencies_ "
                "for the candidates the choice hesitates between.",
                SkgapWarning,
            )

    # -- select and keep -----------------------------------------------------

    def _select(self, X, gap_results):
        values = gap_results[self.statistic]
        if np.all(np.isnan(values)):
            ks = gap_results["n_clusters"]
            n_distinct = np.unique(X, axis=0).shape[0]
            if ks.min() >= n_distinct:
                cause = (
                    f"every candidate k ({short_list(ks)}) is at least the number of "
                    f"distinct samples ({n_distinct}), so each distinct sample is "
                    "a cluster of its own and W_k = 0 for the data and the "
                    f"references. Use candidates smaller than {n_distinct}"
                )
            else:
                cause = (
                    "the data and the reference data have no spread within their "
                    "clusters at any candidate k"
                )
            raise InvalidInputError(
                f"Every candidate's {self.statistic} is NaN, so no number of "
                f"clusters can be chosen: {cause}."
            )
        return select_k(
            values,
            gap_results[STATISTICS[self.statistic]],
            method=self.method,
            se_factor=self.se_factor,
        )

    # -- fitted attributes and delegation ------------------------------------------

    @property
    def gap_df_(self):
        """The gap statistics as a :class:`pandas.DataFrame`, one row per k."""
        check_is_fitted(self)
        pd = _check_optional_dependency("pandas", "pandas", "GapKMeans.gap_df_")
        return pd.DataFrame(self.gap_results_)

    @property
    def cluster_centers_(self):
        """The cluster centres of `best_estimator_`, where it has them."""
        check_is_fitted(self)
        return self.best_estimator_.cluster_centers_

    def _validate_new_data(self, X):
        """X for the delegated methods, checked against the data seen in fit."""
        check_is_fitted(self)
        with _explain_input_errors(X):
            X = validate_data(
                self, X, dtype=[np.float64, np.float32], order="C", reset=False
            )
        _check_magnitude(X, n_rows=1)
        return _as_centers_dtype(self.best_estimator_, X)

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Predict the cluster of each sample with `best_estimator_`.

        Only available if the estimator has ``predict``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data to predict.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the cluster each sample belongs to.
        """
        X = self._validate_new_data(X)
        return self.best_estimator_.predict(X)

    @available_if(_estimator_has("transform"))
    def transform(self, X):
        """Transform X with `best_estimator_` (e.g. to cluster distances).

        Only available if the estimator has ``transform``. The output is a
        pandas or polars DataFrame if :meth:`set_output` asked for one.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data to transform.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_output_features)
            X transformed by `best_estimator_`.
        """
        X_valid = self._validate_new_data(X)
        return _wrap_data_with_container(
            "transform", self.best_estimator_.transform(X_valid), X, self
        )

    @available_if(_estimator_has("transform"))
    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then transform X with `best_estimator_`.

        Only available if the estimator has ``transform``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training instances to cluster. It is not modified.

        y : Ignored
            Not used, present here for API consistency by convention.

        sample_weight : array-like of shape (n_samples,), default=None
            The weight of each sample; see :meth:`fit`.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_output_features)
            X transformed by `best_estimator_`.
        """
        return self.fit(X, sample_weight=sample_weight).transform(X)

    @available_if(_estimator_has("transform"))
    def get_feature_names_out(self, input_features=None):
        """Get output feature names for transformation.

        Only available if the estimator has ``transform``. The names are
        those scikit-learn gives a transformer's outputs, the lowercase class
        name followed by the output's index, e.g. ``["gapkmeans0",
        "gapkmeans1", ...]`` for the distances to the clusters of a KMeans.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only used to validate feature names with the names seen in
            :meth:`fit`.

        Returns
        -------
        feature_names_out : ndarray of str objects
            Transformed feature names.
        """
        check_is_fitted(self)
        best = self.best_estimator_
        n_out = (
            len(best.get_feature_names_out())
            if hasattr(best, "get_feature_names_out")
            else self.n_clusters_
        )
        return _generate_get_feature_names_out(self, n_out, input_features)

    @available_if(_estimator_has("transform"))
    def set_output(self, *, transform=None):
        """Set output container of :meth:`transform` and :meth:`fit_transform`.

        Only available if the estimator has ``transform``; as scikit-learn's
        transformers, it also works through a Pipeline's ``set_output``.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"}, default=None
            Configure output of `transform` and `fit_transform`.

            - `"default"`: Default output format of a transformer
            - `"pandas"`: DataFrame output
            - `"polars"`: Polars output
            - `None`: Transform configuration is unchanged

        Returns
        -------
        self : estimator instance
            Estimator instance.
        """
        if transform is not None:
            # where scikit-learn's _SetOutputMixin keeps it, read by
            # _wrap_data_with_container (and kept by clone)
            config = dict(getattr(self, "_sklearn_output_config", {}))
            config["transform"] = transform
            self._sklearn_output_config = config
        return self

    @available_if(_estimator_has("score"))
    def score(self, X, y=None, sample_weight=None):
        """Score X with `best_estimator_` (for KMeans, the opposite of the inertia).

        Only available if the estimator has ``score``. Such scores improve
        with the number of clusters (the inertia falls, a mixture's
        likelihood rises), so they cannot compare choices of k: a
        :class:`~sklearn.model_selection.GridSearchCV` over `method` or
        `n_clusters_range` that uses them rewards the rule that chooses the
        most clusters. It warns (:class:`~skgap.exceptions.SkgapWarning`);
        search with ``scoring=`` on known labels instead, e.g.
        ``GridSearchCV(..., scoring="adjusted_rand_score").fit(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data.

        y : Ignored
            Not used, present here for API consistency by convention.

        sample_weight : array-like of shape (n_samples,), default=None
            The weight of each sample, passed on if `best_estimator_` takes
            it.

            .. versionadded:: 0.2

        Returns
        -------
        score : float
            The score of `best_estimator_` on X.
        """
        X = self._validate_new_data(X)
        warn_caller(
            f"GapKMeans.score is the score of {type(self.best_estimator_).__name__}"
            f" at the chosen k={self.n_clusters_}, which improves with the number "
            "of clusters: it cannot compare choices of k, and a search over "
            "method or n_clusters_range that uses it rewards the most clusters. "
            "Pass scoring= with known labels, e.g. GridSearchCV(..., "
            "scoring='adjusted_rand_score').fit(X, y).",
            SkgapWarning,
        )
        if sample_weight is None:
            return self.best_estimator_.score(X)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        return self.best_estimator_.score(X, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        estimator_tags = _estimator_tags(self._routed_estimator())
        if estimator_tags is not None:
            tags.non_deterministic = estimator_tags.non_deterministic
            # transform is delegated: GapKMeans is a transformer when estimator is
            tags.transformer_tags = estimator_tags.transformer_tags
        return tags


def _as_centers_dtype(estimator, X):
    """X in the dtype of the estimator's centres, if it has float ones.

    KMeans.predict and KMeans.score reject float32 X after a float64 fit (and
    the reverse) with a Cython buffer error.
    """
    centers = getattr(estimator, "cluster_centers_", None)
    if isinstance(centers, np.ndarray) and centers.dtype in (np.float32, np.float64):
        return X.astype(centers.dtype, copy=False)
    return X
