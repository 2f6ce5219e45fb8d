"""Helpers shared by the skgap modules.

This is the only module that imports semi-private scikit-learn names, so that
a change in scikit-learn touches one file.
"""

from sklearn.base import _fit_context  # noqa: F401  (re-exported)
from sklearn.utils._param_validation import (  # noqa: F401  (re-exported)
    HasMethods,
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_params,
)

# Parameters through which scikit-learn clusterers take their number of clusters,
# in order of preference.
N_CLUSTERS_PARAMS = ("n_clusters", "n_components")


def _default_estimator():
    """Return the clusterer used when ``estimator=None``.

    ``n_init=3``, chosen by ``benchmarks/accuracy.py`` (the paper's five
    scenarios, 50 realisations, both references): one start finds the true k
    in 400 of 500 runs, three in 428, five and ten in 429, at 0.48 s per fit
    against 0.24 s (1 start) and 1.27 s (10 starts). See the user guide.
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
        estimator = self.estimator
        if estimator is None:
            estimator = _default_estimator()
        getattr(estimator, attr)
        return True

    return check


def _n_clusters_param(estimator):
    """Name of the parameter that sets the number of clusters of `estimator`.

    A parameter of the estimator itself (``n_clusters``, then ``n_components``)
    wins; otherwise a unique nested one such as ``kmeans__n_clusters`` in a
    :class:`~sklearn.pipeline.Pipeline`, where the final step's wins over
    another step's (``gaussianmixture__n_components`` over
    ``pca__n_components``).
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
            raise ValueError(
                f"{type(estimator).__name__} has several nested parameters "
                f"{nested}; skgap cannot tell which one sets the number of "
                "clusters. Wrap a single clusterer."
            )
    raise TypeError(
        f"{type(estimator).__name__} has neither an 'n_clusters' nor an "
        "'n_components' parameter, so GapKMeans cannot set its number of "
        "clusters. Pass a clusterer such as KMeans, AgglomerativeClustering or "
        "GaussianMixture."
    )


def _random_state_params(estimator):
    """Names of every (nested) ``random_state`` parameter of `estimator`."""
    return sorted(
        key
        for key in estimator.get_params(deep=True)
        if key == "random_state" or key.endswith("__random_state")
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
