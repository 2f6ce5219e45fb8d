"""show_versions: what a bug report or a benchmark needs to know of this machine."""

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

__all__ = ["show_versions"]

_DEPENDENCIES = (
    "numpy",
    "scipy",
    "scikit-learn",
    "joblib",
    "threadpoolctl",
    "pandas",
    "matplotlib",
    "dask",
    "distributed",
)


def _info():
    from threadpoolctl import threadpool_info

    from . import __version__
    from ._kmeans_fast import simd

    packages = {}
    for name in _DEPENDENCIES:
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "skgap": __version__,
        "python": sys.version.split()[0],
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpus": f"{os.cpu_count()} ({usable} usable)",
        "engine kernels": simd(),
        **packages,
        "threadpools": [
            f"{pool['internal_api']} {pool.get('version') or ''} "
            f"({pool['user_api']}, {pool['num_threads']} threads)"
            for pool in threadpool_info()
        ],
    }


def show_versions():
    """Print skgap's version, its dependencies' and this machine's, for bug reports.

    It lists the Python and package versions, the CPU count, the instruction
    set the compiled k-means engine runs with on this CPU (``avx512f``,
    ``avx2``, ``sse2`` or ``baseline``) and the BLAS/OpenMP thread pools
    (threadpoolctl).

    See Also
    --------
    threadpoolctl.threadpool_info : The thread pools of BLAS and OpenMP.

    Examples
    --------
    >>> from skgap import show_versions
    >>> show_versions()  # doctest: +SKIP
    """
    for key, value in _info().items():
        if isinstance(value, list):
            print(f"{key}:")
            for item in value:
                print(f"    {item}")
        else:
            print(f"{key:>15}: {value if value is not None else 'not installed'}")
