"""Warnings and errors raised by skgap."""

__all__ = ["ClustererFitError", "SkgapWarning"]


class SkgapWarning(UserWarning):
    """Warning about a result that skgap computed but the user should check.

    Raised, for instance, when a candidate number of clusters is larger than
    the number of samples and is dropped, or when a clusterer returns fewer
    distinct clusters than it was asked for.
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
    """

    def __init__(self, message, *, k=None, dataset=None, original=None):
        super().__init__(message)
        self.k = k
        self.dataset = dataset
        self.original = original
