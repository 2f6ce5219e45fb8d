"""Clusterers whose partitions nest over k, fitted once per data set.

A hierarchical clustering's partitions for every number of clusters k come
from one tree: :class:`~sklearn.cluster.AgglomerativeClustering` builds the
same tree whatever its ``n_clusters`` (it only stops early, with a
connectivity graph, and the early stop is a prefix of the full tree), and
:class:`~sklearn.cluster.Birch` builds the same CF tree, then clusters its
subcluster centres with an ``AgglomerativeClustering`` at k. `nested_fitter`
returns an object that fits the tree once and cuts it at every k, giving the
labels of the per-k fits ``clone(estimator).set_params(n_clusters=k).fit(X)``
(the same label values, not only the same partitions), and that makes the
fitted estimator at the chosen k.

:class:`~sklearn.cluster.BisectingKMeans` is not one of them: under one
``random_state`` its k-cluster fit is a prefix of its K-cluster fit, but
skgap seeds every k on its own, and a fit per k is what its results are
(see tests/test_nested.py).

A tree without a connectivity graph needs the condensed matrix of the
distances between the samples; `check_tree_memory` refuses it before any
allocation when it would not fit in memory.
"""

import copy
import os
import warnings
from heapq import heappush, heappushpop

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from .exceptions import InvalidInputError

__all__ = [
    "MEMORY_FRACTION",
    "available_memory",
    "check_tree_memory",
    "nested_fitter",
    "tree_bytes",
]

#: A tree may use at most this fraction of the available memory (per tree
#: fitted at a time).
MEMORY_FRACTION = 0.5


# ------------------------------------------------------------------------ the memory


def _pair_bytes(estimator):
    """Bytes per pair of samples that a fit of `estimator` holds at its peak.

    Without a connectivity graph, scikit-learn builds the tree through
    ``scipy.cluster.hierarchy.linkage``: ``pdist`` (8 bytes a pair), a finite
    check (1) and ``nn_chain``'s working copy (8). A callable metric first
    makes the square matrix (16 a pair) and scikit-learn indexes its upper
    triangle (two index arrays, 16, and the condensed copy, 8); so does a
    precomputed X (the square matrix is the caller's). Single linkage with a
    named metric runs on a minimum spanning tree, in memory linear in n.
    """
    from sklearn.cluster import AgglomerativeClustering, Birch

    if isinstance(estimator, Birch) or not isinstance(
        estimator, AgglomerativeClustering
    ):
        return 0
    if estimator.connectivity is not None:
        return 0
    metric = estimator.metric
    if callable(metric):
        return 40
    if metric == "precomputed":
        return 33
    if estimator.linkage == "single":
        return 17 if _pairwise_single_linkage(metric) else 0
    return 17


def _pairwise_single_linkage(metric):
    """Whether single linkage with `metric` goes through the condensed distances.

    scikit-learn takes the minimum spanning tree path for the metrics that
    ``DistanceMetric`` knows (after mapping "l1"/"manhattan" and "l2").
    """
    from sklearn.metrics import DistanceMetric

    metric = {"l1": "cityblock", "manhattan": "cityblock", "l2": "euclidean"}.get(
        metric, metric
    )
    try:
        DistanceMetric.get_metric(metric)
    except Exception:  # unknown, or a metric that needs parameters
        return True
    return False


def tree_bytes(n_samples, estimator):
    """Bytes that one fit of `estimator` on n_samples rows allocates for its tree.

    Parameters
    ----------
    n_samples : int
        The number of samples clustered.

    estimator : estimator instance
        The clusterer. Only an ``AgglomerativeClustering`` without a
        connectivity graph needs memory quadratic in n_samples; for any
        other clusterer this returns 0.

    Returns
    -------
    nbytes : int
        The peak memory of the pairwise distances of the fit, in bytes (the
        tree itself and X are linear in n_samples and not counted).
    """
    n_pairs = n_samples * (n_samples - 1) // 2
    return _pair_bytes(estimator) * n_pairs


def available_memory():
    """The memory this process can still allocate, in bytes, or None if unknown.

    ``MemAvailable`` of /proc/meminfo, capped by the cgroup (v2) limit of the
    container if it has one; elsewhere the free physical pages.
    """
    available = None
    try:
        with open("/proc/meminfo") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):
            return None
    try:
        with open("/sys/fs/cgroup/memory.max") as file:
            limit = file.read().strip()
        with open("/sys/fs/cgroup/memory.current") as file:
            current = int(file.read().strip())
        if limit != "max":
            available = min(available, max(int(limit) - current, 0))
    except (OSError, ValueError):
        pass
    return available


def _format_bytes(nbytes):
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if nbytes < 1000 or unit == "TB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000


def check_tree_memory(n_samples, estimator, n_concurrent=1):
    """Refuse a tree that would not fit in memory, before allocating it.

    Parameters
    ----------
    n_samples : int
        The number of samples clustered (the data and each reference set).

    estimator : estimator instance
        The clusterer (see `tree_bytes`).

    n_concurrent : int, default=1
        How many trees are fitted at the same time (the joblib workers).

    Raises
    ------
    InvalidInputError
        If ``n_concurrent * tree_bytes(n_samples, estimator)`` is more than
        ``MEMORY_FRACTION`` of `available_memory`, with a message saying how
        much it would need and what to do instead.
    """
    nbytes = tree_bytes(n_samples, estimator)
    if nbytes == 0:
        return
    available = available_memory()
    if available is None:
        return
    needed = nbytes * max(int(n_concurrent), 1)
    if needed <= MEMORY_FRACTION * available:
        return
    at_a_time = (
        f" each, {n_concurrent} fitted at a time: {_format_bytes(needed)}"
        if n_concurrent > 1
        else ""
    )
    raise InvalidInputError(
        f"{type(estimator).__name__}(linkage={estimator.linkage!r}, "
        f"metric={estimator.metric!r}) without a connectivity graph needs the "
        f"distances between all {n_samples} samples: about "
        f"{_format_bytes(nbytes)} per tree{at_a_time}, more than "
        f"{MEMORY_FRACTION:.0%} of the memory available "
        f"({_format_bytes(available)}). Give it a connectivity graph (e.g. "
        "connectivity=sklearn.neighbors.kneighbors_graph(X, n_neighbors=10)), "
        "cluster a subsample of the rows, or use KMeans (estimator=None), "
        "whose memory is linear in the number of samples."
    )


# ---------------------------------------------------------------------- cutting a tree


class _Tree:
    """A full merge tree in scikit-learn's ``children_`` format, cut at any k.

    Node ``n_leaves + i`` merges ``children[i]``; a child's index is always
    below its parent's, so the cut at k clusters removes the k - 1 highest
    nodes. Leaves are laid out so that every node's leaves are contiguous.
    """

    def __init__(self, children, n_leaves):
        self.children = np.asarray(children)
        self.n_leaves = n_leaves
        pairs = self.children.tolist()
        n_nodes = n_leaves + len(pairs)
        sizes = [1] * n_leaves + [0] * len(pairs)
        for i, (left, right) in enumerate(pairs):
            sizes[n_leaves + i] = sizes[left] + sizes[right]
        starts = [0] * n_nodes
        for i in range(len(pairs) - 1, -1, -1):
            start = starts[n_leaves + i]
            left, right = pairs[i]
            starts[left] = start
            starts[right] = start + sizes[left]
        self.sizes = sizes
        self.starts = starts
        self.order = np.empty(n_leaves, dtype=np.intp)
        self.order[np.asarray(starts[:n_leaves], dtype=np.intp)] = np.arange(
            n_leaves, dtype=np.intp
        )

    def cuts(self, ks):
        """{k: the nodes of the cut at k}, numbered as ``_hc_cut`` numbers them.

        The order is that of scikit-learn's heap of negated node indices
        (sklearn/cluster/_agglomerative.py, ``_hc_cut``), replayed here.
        """
        n_leaves = self.n_leaves
        for k in ks:
            if k > n_leaves:
                raise ValueError(
                    "Cannot extract more clusters than samples: "
                    f"{k} clusters were given for a tree with {n_leaves} leaves."
                )
        wanted = sorted(set(ks))
        nodes = [-(max(self.children[-1]) + 1)] if len(self.children) else [0]
        cuts = {}
        n_clusters = 1
        for k in wanted:
            while n_clusters < k:
                these = self.children[-nodes[0] - n_leaves]
                heappush(nodes, -these[0])
                heappushpop(nodes, -these[1])
                n_clusters += 1
            cuts[k] = [-node for node in nodes]
        return cuts

    def labels(self, nodes):
        """The label of every leaf: i for the leaves of ``nodes[i]``."""
        labels = np.empty(self.n_leaves, dtype=np.intp)
        for i, node in enumerate(nodes):
            start = self.starts[node]
            labels[self.order[start : start + self.sizes[node]]] = i
        return labels


def _full_tree_at(estimator, k, n_samples):
    """Whether a fit of `estimator` at k builds the full tree (as its ``_fit``)."""
    if estimator.connectivity is None:
        return True
    if estimator.compute_full_tree == "auto":
        return k < max(100, 0.02 * n_samples)
    return bool(estimator.compute_full_tree)


def _fit_kwargs(sample_weight):
    # Passed on as a per-k fit would: a fit that takes no weights raises its
    # own TypeError.
    return {} if sample_weight is None else {"sample_weight": sample_weight}


class _NestedAgglomerative:
    """One full tree of an AgglomerativeClustering, cut at every k."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit_tree(self, X, sample_weight=None):
        """The estimator fitted at k=1 with the full tree (``children_``, ...)."""
        check_tree_memory(np.shape(X)[0], self.estimator)
        tree = clone(self.estimator).set_params(n_clusters=1, compute_full_tree=True)
        return tree.fit(X, **_fit_kwargs(sample_weight))

    def labels(self, tree, ks):
        """The labels of the per-k fits, from a tree made by `fit_tree`."""
        n_samples = tree.n_leaves_
        cut = _Tree(tree.children_, n_samples)
        cuts = cut.cuts(ks)
        labels = []
        for k in ks:
            nodes = cuts[k]
            if not _full_tree_at(self.estimator, k, n_samples):
                # An early-stopped tree numbers its clusters by their root
                # node (hc_get_heads + searchsorted(unique)).
                nodes = sorted(nodes)
            labels.append(cut.labels(nodes))
        return labels

    def fit_labels(self, X, ks, sample_weight=None):
        """Labels of the per-k fits of X at each k of `ks`, from one tree.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data (a distance matrix if ``metric="precomputed"``).

        ks : sequence of int
            The numbers of clusters.

        sample_weight : None
            Passed on to the fit as a per-k fit would
            (``AgglomerativeClustering.fit`` takes none).

        Returns
        -------
        labels : list of ndarray of shape (n_samples,), dtype intp
            ``labels[i]`` is the ``labels_`` of
            ``clone(estimator).set_params(n_clusters=ks[i]).fit(X)``.
        """
        return self.labels(self.fit_tree(X, sample_weight), ks)

    def best_estimator(self, X, k, sample_weight=None, tree=None):
        """The estimator fitted on X at k, as a per-k fit leaves it.

        With a `tree` of X from `fit_tree`, and a fit at k that builds the
        full tree, a copy of it is set to k (no fit); otherwise it is fitted
        at k (the early-stopped tree's ``children_`` and ``distances_`` are
        those of the early stop).
        """
        if tree is None or not _full_tree_at(self.estimator, k, tree.n_leaves_):
            estimator = clone(self.estimator).set_params(n_clusters=k)
            return estimator.fit(X, **_fit_kwargs(sample_weight))
        estimator = copy.deepcopy(tree)
        estimator.set_params(
            n_clusters=k, compute_full_tree=self.estimator.compute_full_tree
        )
        estimator.n_clusters_ = k
        estimator.labels_ = self.labels(tree, [k])[0]
        return estimator


class _NestedBirch:
    """One CF tree of a Birch, its global clustering at every k."""

    def __init__(self, estimator):
        self.estimator = estimator
        from sklearn.cluster import AgglomerativeClustering

        # Birch's global step at k: AgglomerativeClustering(n_clusters=k)
        self._global = _NestedAgglomerative(AgglomerativeClustering())

    def fit_tree(self, X, sample_weight=None):
        """The estimator fitted without global step (``n_clusters=None``)."""
        tree = clone(self.estimator).set_params(n_clusters=None)
        return tree.fit(X, **_fit_kwargs(sample_weight))

    def labels(self, tree, ks):
        """The labels of the per-k fits, from a CF tree made by `fit_tree`."""
        centers = tree.subcluster_centers_
        n_subclusters = centers.shape[0]
        # labels_ of the tree are the nearest subclusters (subcluster_labels_
        # is arange): a fit at k relabels them by its global clustering.
        nearest = tree.labels_
        # k=1: one cluster, as skgap's tasks take it without a fit (a fit at
        # k=1 on a tree of one subcluster fails in the global step).
        fitted = [k for k in ks if 1 < k <= n_subclusters]
        subcluster_labels = {}
        if fitted:
            global_tree = self._global.fit_tree(centers)
            subcluster_labels = dict(
                zip(fitted, self._global.labels(global_tree, fitted), strict=True)
            )
        labels = []
        for k in ks:
            if k == 1:
                labels.append(np.zeros(nearest.shape[0], dtype=np.intp))
            elif k in subcluster_labels:
                labels.append(subcluster_labels[k][nearest])
            else:
                warnings.warn(
                    f"Number of subclusters found ({n_subclusters}) by BIRCH is "
                    f"less than ({k}). Decrease the threshold.",
                    ConvergenceWarning,
                    stacklevel=2,
                )
                labels.append(np.asarray(nearest, dtype=np.intp).copy())
        return labels

    def fit_labels(self, X, ks, sample_weight=None):
        """Labels of the per-k fits of X at each k of `ks`, from one CF tree.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data.

        ks : sequence of int
            The numbers of clusters.

        sample_weight : None
            Passed on to the fit as a per-k fit would (``Birch.fit`` takes
            none).

        Returns
        -------
        labels : list of ndarray of shape (n_samples,), dtype intp
            ``labels[i]`` is the ``labels_`` of
            ``clone(estimator).set_params(n_clusters=ks[i]).fit(X)`` (at
            k=1, zeros, also where that fit fails on a single subcluster).
        """
        return self.labels(self.fit_tree(X, sample_weight), ks)

    def best_estimator(self, X, k, sample_weight=None, tree=None):
        """The estimator fitted on X at k, as a per-k fit leaves it.

        With a `tree` of X from `fit_tree`, a copy of it runs the global
        clustering step at k (``partial_fit()`` without X); otherwise it is
        fitted at k.
        """
        if tree is None and k == 1:
            tree = self.fit_tree(X, sample_weight)
        if tree is None:
            estimator = clone(self.estimator).set_params(n_clusters=k)
            return estimator.fit(X, **_fit_kwargs(sample_weight))
        if k == 1 and tree.subcluster_centers_.shape[0] == 1:
            # scikit-learn's global step cannot cluster a single subcluster:
            # the tree is the one cluster already
            return tree.set_params(n_clusters=1)
        estimator = copy.deepcopy(tree)
        estimator.set_params(n_clusters=k)
        estimator.partial_fit()  # the global clustering step alone
        estimator.labels_ = estimator.subcluster_labels_[tree.labels_]
        return estimator


def nested_fitter(estimator, n_clusters_param, sample_weight=None):
    """The one-tree fitter of `estimator`, or None if its fits do not nest.

    Parameters
    ----------
    estimator : estimator instance
        The clusterer (unfitted).

    n_clusters_param : str
        The parameter through which it takes its number of clusters.

    sample_weight : array-like or None, default=None
        The weights its fits would be given: a clusterer whose fit takes
        none is left to the per-k fits (which raise their usual error).

    Returns
    -------
    fitter : object or None
        None unless `estimator` is an ``AgglomerativeClustering`` with
        ``distance_threshold=None`` or a ``Birch`` that computes its labels,
        taking k through ``n_clusters``. Else an object with
        ``fit_labels(X, ks, sample_weight=None)`` (the labels of the per-k
        fits), ``fit_tree(X, sample_weight=None)`` (the one fit),
        ``labels(tree, ks)`` and
        ``best_estimator(X, k, sample_weight=None, tree=None)``.
    """
    from sklearn.cluster import AgglomerativeClustering, Birch

    if n_clusters_param != "n_clusters" or sample_weight is not None:
        return None
    if type(estimator) is AgglomerativeClustering:
        if estimator.distance_threshold is not None:
            return None
        return _NestedAgglomerative(estimator)
    if type(estimator) is Birch:
        if not estimator.compute_labels:
            return None
        return _NestedBirch(estimator)
    return None
