"""Warnings and errors raised by skgap."""

__all__ = ["ClustererFitError", "InvalidInputError", "SkgapWarning"]


class SkgapWarning(UserWarning):
    """Warning about a result that skgap computed but the user should check.

    Raised, for instance, when a candidate number of clusters is larger than
    the number of samples and is dropped, or when a clusterer returns fewer
    distinct clusters than it was asked for.

    See Also
    --------
    ClustererFitError : Raised when a fit of the clusterer fails.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.cluster import AgglomerativeClustering
    >>> from skgap import GapKMeans
    >>> from skgap.exceptions import SkgapWarning
    >>> X = [[0.0], [1.0], [5.0], [6.0]]
    >>> gap = GapKMeans(AgglomerativeClustering(), n_clusters_range=[1, 2, 9],
    ...                 n_refs=3, random_state=0)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always", SkgapWarning)
    ...     _ = gap.fit(X)
    >>> print(caught[0].message)
    Dropped the candidate numbers of clusters [9]: they are larger than n_samples=4.
    """


class InvalidInputError(ValueError, TypeError):
    """The data or a parameter given to skgap cannot be used as it is.

    Raised by skgap's own checks of its input (X, the sample weights, the
    candidate ks, the metric and its parameters, ...), with a message that
    says what was wrong and how to fix it. It is a :class:`ValueError` and a
    :class:`TypeError`, as scikit-learn's ``InvalidParameterError``, so that
    code catching either keeps working; the command line tells the user's
    mistakes from skgap's bugs by this type.

    See Also
    --------
    ClustererFitError : Raised when a fit of the clusterer fails.

    Examples
    --------
    >>> from skgap import GapKMeans
    >>> from skgap.exceptions import InvalidInputError
    >>> try:
    ...     GapKMeans(n_clusters_range=[]).fit([[0.0], [1.0]])
    ... except InvalidInputError as exc:
    ...     print(exc)
    n_clusters_range is empty; give at least one k.
    """


class ClustererFitError(RuntimeError):
    """The wrapped clusterer failed on one of the fits of the gap statistic.

    The message names the number of clusters and the data set (the data, or
    reference data set ``b``); the clusterer's own exception is chained as
    ``__cause__``, also when the fit ran in another process. It is also
    raised, with ``k`` and ``dataset`` None, when a worker process died.

    Parameters
    ----------
    message : str
        What failed, and where.

    k : int, default=None
        The number of clusters of the failed fit.

    dataset : str, default=None
        ``"the data"`` or ``"reference data set b=<b>"``.

    original : BaseException, default=None
        The clusterer's exception (kept through pickling, unlike
        ``__cause__``).

    Attributes
    ----------
    k : int or None
        The number of clusters of the failed fit.

    dataset : str or None
        The data set of the failed fit.

    original : BaseException or None
        The clusterer's exception.

    See Also
    --------
    SkgapWarning : Warns about results the user should check.

    Examples
    --------
    A k-means whose initial centres fit only k = 2 fails at k = 3:

    >>> import numpy as np
    >>> from sklearn.cluster import KMeans
    >>> from skgap import GapKMeans
    >>> from skgap.exceptions import ClustererFitError
    >>> X = np.arange(10.0).reshape(-1, 1)
    >>> kmeans = KMeans(init=np.zeros((2, 1)), n_init=1)
    >>> gap = GapKMeans(kmeans, n_clusters_range=[2, 3], n_refs=2)
    >>> try:
    ...     gap.fit(X)
    ... except ClustererFitError as exc:
    ...     print(exc.k, exc.dataset)
    3 the data
    """

    def __init__(self, message, *, k=None, dataset=None, original=None):
        super().__init__(message)
        self.k = k
        self.dataset = dataset
        self.original = original
