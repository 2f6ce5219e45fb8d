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
    ``__cause__``.
    """
