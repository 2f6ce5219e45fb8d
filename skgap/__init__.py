"""Choose the number of clusters with the gap statistic, the scikit-learn way."""

from . import _check_build  # noqa: F401  (first: explains a missing build)
from ._dispersion import within_cluster_dispersion
from ._gap import GapKMeans
from ._selection import select_k
from ._show_versions import show_versions
from ._version import __version__

__all__ = [
    "GapKMeans",
    "__version__",
    "select_k",
    "show_versions",
    "within_cluster_dispersion",
]
