"""Helpers shared by the skgap modules.

This is the only module that imports semi-private scikit-learn names, so that
a change in scikit-learn touches one file.
"""

import hashlib
import os
import sys
import warnings

import numpy as np
from sklearn.base import _fit_context  # noqa: F401  (re-exported)
from sklearn.metrics.pairwise import _VALID_METRICS
from sklearn.utils import get_tags
from sklearn.utils._param_validation import (  # noqa: F401  (re-exported)
    HasMethods,
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_params,
)
from sklearn.utils._set_output import (  # noqa: F401  (re-exported)
    _wrap_data_with_container,
)
from sklearn.utils.metadata_routing import (  # noqa: F401  (re-exported)
    _routing_enabled,
)
from sklearn.utils.validation import (  # noqa: F401  (re-exported)
    _generate_get_feature_names_out,
    has_fit_parameter,
)

from .exceptions import InvalidInputError

#: The metrics of W_k: those of sklearn.metrics.pairwise_distances (but
#: "precomputed": W_k needs the samples' coordinates for the references; and
#: "wminkowski", which SciPy 1.8 removed: minkowski takes the weights `w`).
METRICS = tuple(sorted(set(_VALID_METRICS) - {"precomputed", "wminkowski"}))

# Parameters through which scikit-learn clusterers take their number of clusters,
# in order of preference.
N_CLUSTERS_PARAMS = ("n_clusters", "n_components")


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn_caller(message, category):
    """warnings.warn, attributed to the first caller outside skgap.

    So that a warning of ``fit`` points at the user's line however deep in
    skgap it is raised (Python 3.12's ``skip_file_prefixes``, for 3.10).
    scikit-learn's wrapper of fit (sklearn/base.py) counts as skgap's.
    """
    frame, level = sys._getframe(1), 2
    while frame is not None and (
        frame.f_code.co_filename.startswith(_PACKAGE)
        or frame.f_code.co_filename.endswith(os.path.join("sklearn", "base.py"))
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


def short_list(values, limit=8):
    """'1, 2, 3' or, past `limit` values, '1, 2, ..., 8, ... (1000 in all)'."""
    values = list(values)
    text = ", ".join(str(v) for v in values[:limit])
    return text + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def read_only(X):
    """A read-only view of `X`: what skgap hands to code it does not own.

    A clusterer or a user's function that writes to its input then fails
    loudly instead of changing the caller's data (or the next fit's).
    """
    view = X.view()
    view.flags.writeable = False
    return view


def _default_estimator():
    """Return the clusterer used when ``estimator=None``.

    ``n_init=3`` is chosen by ``benchmarks/accuracy.py`` (the paper's five
    scenarios, both references): see the accuracy table of the user guide.
    """
    from sklearn.cluster import KMeans

    return KMeans(n_init=3)


def _estimator_has(attr):
    """Check that the best estimator (or, before fit, the unfitted one) has `attr`.

    Used with :func:`sklearn.utils.metaestimators.available_if`; modelled on
    scikit-learn's ``_search_estimator_has``.
    """

    def check(self):
        if hasattr(self, "best_estimator_"):
            # raises an AttributeError if `attr` does not exist
            getattr(self.best_estimator_, attr)
            return True
        getattr(self._routed_estimator(), attr)
        return True

    return check


def _estimator_tags(estimator):
    """scikit-learn's tags of `estimator`, or None for a duck-typed clusterer."""
    try:
        return get_tags(estimator)
    except (AttributeError, TypeError):
        return None


def _router_owner(router):
    """The `owner` of a MetadataRouter: the object from scikit-learn 1.8 on,
    its class name before."""
    import sklearn

    major, minor = (int(part) for part in sklearn.__version__.split(".")[:2])
    return router if (major, minor) >= (1, 8) else type(router).__name__


def _accepts_sample_weight(estimator):
    """Whether `estimator.fit` takes a ``sample_weight`` argument."""
    return has_fit_parameter(estimator, "sample_weight")


def _check_clusterer(estimator):
    """Raise a TypeError naming what `estimator` lacks to be cloned and fitted."""
    missing = [
        name for name in ("get_params", "set_params") if not hasattr(estimator, name)
    ]
    if not (hasattr(estimator, "fit_predict") or hasattr(estimator, "fit")):
        missing.append("fit")
    if missing:
        raise InvalidInputError(
            f"{type(estimator).__name__} lacks {' and '.join(missing)}: GapKMeans "
            "clones the clusterer for every fit (sklearn.base.clone) and sets its "
            "number of clusters with set_params. Derive it from "
            "sklearn.base.BaseEstimator, or implement get_params(deep=True) and "
            "set_params(**params)."
        )


def _n_clusters_param(estimator):
    """Name of the parameter that sets the number of clusters of `estimator`.

    A parameter of the estimator itself (``n_clusters``, then ``n_components``)
    wins; otherwise a unique nested one such as ``kmeans__n_clusters`` in a
    :class:`~sklearn.pipeline.Pipeline`, where the final step's wins over
    another step's (``gaussianmixture__n_components`` over
    ``pca__n_components``). `estimator` passed `_check_clusterer`.
    """
    params = estimator.get_params(deep=False)
    for name in N_CLUSTERS_PARAMS:
        if name in params:
            return name
    deep = estimator.get_params(deep=True)
    steps = getattr(estimator, "steps", None)
    final_step = steps[-1][0] if isinstance(steps, list) and steps else None
    for name in N_CLUSTERS_PARAMS:
        nested = [key for key in deep if key.endswith("__" + name)]
        if len(nested) > 1 and final_step is not None:
            # a Pipeline such as (PCA, GaussianMixture): the final step clusters
            nested = [key for key in nested if key == f"{final_step}__{name}"] or nested
        if len(nested) == 1:
            return nested[0]
        if len(nested) > 1:
            raise InvalidInputError(
                f"{type(estimator).__name__} has several nested parameters "
                f"{nested}; skgap cannot tell which one sets the number of "
                "clusters. Wrap a single clusterer."
            )
    raise InvalidInputError(
        f"{type(estimator).__name__} has neither an 'n_clusters' nor an "
        "'n_components' parameter, so GapKMeans cannot set its number of "
        "clusters. Pass a clusterer such as KMeans, AgglomerativeClustering or "
        "GaussianMixture."
    )


def _validate_clusterer_params(estimator):
    """Check the parameters of `estimator` and of every estimator nested in it.

    scikit-learn checks an estimator's parameters at the start of every fit;
    GapKMeans checks them once, on one configured clone, and then runs its
    many fits of copies of it with ``skip_parameter_validation=True``.
    """
    nested = estimator.get_params(deep=True).values()
    for obj in (estimator, *nested):
        if hasattr(obj, "_parameter_constraints") and hasattr(obj, "_validate_params"):
            try:
                obj._validate_params()
            except InvalidParameterError as exc:
                raise InvalidParameterError(
                    f"The clusterer's parameters are invalid: {exc}"
                ) from exc


def _check_optional_dependency(module, extra, purpose):
    """Import an optional dependency or raise an ImportError saying how to get it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{purpose} requires {module}, which is not installed. "
            f"Install it with: pip install 'skgap[{extra}]'"
        ) from exc


class _Identity:
    """Equal to another _Identity only if both wrap the very same object."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return isinstance(other, _Identity) and other.obj is self.obj

    def __hash__(self):
        return id(self.obj)


def fingerprint(value):
    """A value that equals another fingerprint only if their sources are equal.

    Arrays compare by shape, dtype and a hash of their bytes; estimators by
    type and (recursively) parameters; containers element by element; numbers
    and strings by type and value (NaN equals NaN). Anything else, callables
    included, equals only itself: equality that cannot be shown is not
    assumed.
    """
    if value is None or isinstance(value, (str, bytes, bool)):
        return (type(value).__name__, value)
    if isinstance(value, (int, np.integer)):
        return ("int", int(value))
    if isinstance(value, (float, np.floating)):
        return ("float", float(value).hex())
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufcSUMm":
        data = np.ascontiguousarray(value)
        digest = hashlib.blake2b(data.view(np.uint8).reshape(-1), digest_size=16)
        return ("ndarray", value.shape, value.dtype.str, digest.hexdigest())
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(fingerprint(item) for item in value))
    if isinstance(value, dict):
        items = [(fingerprint(k), fingerprint(v)) for k, v in value.items()]
        return ("dict", tuple(sorted(items, key=repr)))
    if hasattr(value, "get_params") and not isinstance(value, type):
        try:
            params = value.get_params(deep=False)
        except Exception:
            return _Identity(value)
        return ("estimator", _Identity(type(value)), fingerprint(params))
    return _Identity(value)
