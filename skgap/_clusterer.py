"""Calling a clusterer: a configured clone per fit, its labels, its errors.

skgap never fits the caller's clusterer: every fit uses a clone with its
number of clusters and every ``random_state`` set (`configure`). The labels
come from ``fit_predict``, ``labels_`` or ``predict``, whichever the
clusterer has, and are checked; a failure names the fit.
"""

import pickle
import warnings

import numpy as np
from sklearn.base import clone

from ._validation import check_labels
from .exceptions import ClustererFitError, SkgapWarning

__all__ = [
    "centres_in_place",
    "clusterer_error",
    "configure",
    "fit_checked",
    "fit_labels",
    "nested_params",
]


def nested_params(estimator, name):
    """Every parameter of `estimator` called `name`, top-level or nested."""
    return [
        key
        for key in estimator.get_params(deep=True)
        if key == name or key.endswith("__" + name)
    ]


def configure(estimator, n_clusters_param, k, seed, copy_x=True):
    """A clone of `estimator` with k clusters and every random_state seeded.

    Every (nested) ``copy_x`` is True: skgap passes the data read-only and
    never lets a clusterer centre it in place, whatever the caller chose
    (but for its own reference data, see `centres_in_place`).
    """
    estimator = clone(estimator)
    params = {
        n_clusters_param: k,
        **dict.fromkeys(nested_params(estimator, "copy_x"), copy_x),
    }
    params.update(dict.fromkeys(nested_params(estimator, "random_state"), seed))
    return estimator.set_params(**params)


def fit_labels(estimator, X, sample_weight=None):
    """Fit `estimator` on X and return its labels (fit_predict, labels_ or predict)."""
    kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
    if hasattr(estimator, "fit_predict"):
        return estimator.fit_predict(X, **kwargs)
    estimator.fit(X, **kwargs)
    if hasattr(estimator, "labels_"):
        return estimator.labels_
    return estimator.predict(X)


def _picklable(exc):
    """`exc` if it survives pickling (to the parent process), else a stand-in."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def clusterer_error(estimator, dataset, k, exc, when=""):
    """The ClustererFitError of a fit of `estimator` that raised `exc`.

    A MemoryError stays a MemoryError, and a warning that the caller's
    filters turned into an error stays that warning, with the fit named.
    """
    what = f"{type(estimator).__name__} failed to cluster {dataset} into k={k}"
    if isinstance(exc, MemoryError):
        return MemoryError(f"{what} clusters{when}: out of memory: {exc}")
    if isinstance(exc, Warning):
        try:
            return type(exc)(f"{what} clusters{when}: {exc}")
        except Exception:
            pass
    hint = (
        " (skgap passes the data read-only: a clusterer must not modify its "
        "input; copy X inside fit if it must)"
        if "read-only" in str(exc)
        else ""
    )
    return ClustererFitError(
        f"{what} clusters{when}: {type(exc).__name__}: {exc}{hint}",
        k=k,
        dataset=dataset,
        original=_picklable(exc),
    )


def centres_in_place(estimator, sampler):
    """Whether `estimator` may centre skgap's reference data in place.

    KMeans and BisectingKMeans with ``copy_x=False`` subtract the mean and
    add it back, which leaves the data within rounding of what they were: a
    task that redraws its reference set from its seed after each such fit
    saves the copy of X that every fit would make (memory: test_fits.py).
    """
    from sklearn.cluster import BisectingKMeans, KMeans

    return (
        isinstance(estimator, (KMeans, BisectingKMeans))
        and "copy_x" in estimator.get_params(deep=False)
        and sampler.draws_in_place
    )


def fit_checked(
    estimator,
    n_clusters_param,
    X,
    fit_weight,
    k,
    seed,
    dataset,
    when="",
    copy_x=True,
    warn=True,
):
    """Fit a configured clone of `estimator` at k; the clone and its labels.

    Any failure, the labels' included, raises the `clusterer_error` that
    names the fit (`dataset`, k); with `warn`, more distinct clusters than k
    warn.
    """
    clusterer = configure(estimator, n_clusters_param, k, seed, copy_x)
    try:
        labels = fit_labels(clusterer, X, fit_weight)
        labels = check_labels(
            labels, X.shape[0], what="the clusterer's labels", given=False
        )
    except Exception as exc:
        raise clusterer_error(estimator, dataset, k, exc, when) from exc
    if warn and np.unique(labels).shape[0] > k:
        warnings.warn(
            f"The clusterer returned more distinct clusters than "
            f"{n_clusters_param}: it does not honour the number of clusters it "
            "is given, and W_k is that of the clusters it found.",
            SkgapWarning,
            stacklevel=2,
        )
    return clusterer, labels
