"""Write the intersphinx inventories of docs/_inventories/ (objects.inv format).

    python docs/_inventories/make_inventories.py

The documentation build needs no network, so it cannot download the
inventories of Python, NumPy, SciPy, scikit-learn, pandas, matplotlib, joblib
and Dask distributed, and no installed package ships them. This script writes
a small inventory for each, in Sphinx's objects.inv format (version 2), with
the names that the documentation and the docstrings refer to and the address
of each on its project's site. docs/conf.py points intersphinx at them, so
that ``:class:`~sklearn.cluster.KMeans``` links offline.

A name the documentation starts to use is added to ``OBJECTS`` below (a
build with ``sphinx-build -n`` lists the references that found no target).
``SKGAP_DOCS_INTERSPHINX=1 sphinx-build ...`` fetches the projects' full
inventories instead (needs the network).
"""

import zlib
from pathlib import Path

#: name -> (project's base address, {(domain:role, name): page and anchor}).
#: An address ending with "$" is followed by the name (Sphinx's shorthand).
OBJECTS = {
    "python": (
        "https://docs.python.org/3",
        {
            ("py:module", "csv"): "library/csv.html#module-$",
            ("py:class", "csv.Sniffer"): "library/csv.html#$",
            ("py:class", "multiprocessing.pool.Pool"): "library/multiprocessing.html#$",
            ("py:function", "warnings.filterwarnings"): "library/warnings.html#$",
            ("py:class", "warnings.catch_warnings"): "library/warnings.html#$",
            ("py:exception", "KeyboardInterrupt"): "library/exceptions.html#$",
            ("py:exception", "ValueError"): "library/exceptions.html#$",
            ("py:exception", "TypeError"): "library/exceptions.html#$",
            ("py:exception", "MemoryError"): "library/exceptions.html#$",
            ("py:exception", "UserWarning"): "library/exceptions.html#$",
            ("py:class", "threading.Thread"): "library/threading.html#$",
        },
    ),
    "numpy": (
        "https://numpy.org/doc/stable",
        {
            ("py:class", "numpy.ndarray"): "reference/generated/numpy.ndarray.html#$",
            ("py:function", "numpy.random.default_rng"): (
                "reference/random/generator.html#$"
            ),
            ("py:class", "numpy.random.SeedSequence"): (
                "reference/random/bit_generators/generated/"
                "numpy.random.SeedSequence.html#$"
            ),
        },
    ),
    "scipy": (
        "https://docs.scipy.org/doc/scipy",
        {
            ("py:function", "scipy.cluster.vq.kmeans2"): (
                "reference/generated/scipy.cluster.vq.kmeans2.html#$"
            ),
            ("py:function", "scipy.cluster.hierarchy.linkage"): (
                "reference/generated/scipy.cluster.hierarchy.linkage.html#$"
            ),
            ("py:function", "scipy.spatial.distance.pdist"): (
                "reference/generated/scipy.spatial.distance.pdist.html#$"
            ),
        },
    ),
    "sklearn": (
        "https://scikit-learn.org/stable",
        {
            **{
                ("py:class", f"sklearn.{name}"): (
                    f"modules/generated/sklearn.{name}.html#$"
                )
                for name in (
                    "cluster.KMeans",
                    "cluster.MiniBatchKMeans",
                    "cluster.BisectingKMeans",
                    "cluster.AgglomerativeClustering",
                    "cluster.Birch",
                    "mixture.GaussianMixture",
                    "pipeline.Pipeline",
                    "preprocessing.StandardScaler",
                    "preprocessing.Normalizer",
                    "model_selection.GridSearchCV",
                    "utils.parallel.Parallel",
                    "utils.metadata_routing.MetadataRouter",
                )
            },
            **{
                ("py:function", f"sklearn.{name}"): (
                    f"modules/generated/sklearn.{name}.html#$"
                )
                for name in (
                    "set_config",
                    "config_context",
                    "metrics.pairwise_distances",
                    "metrics.silhouette_score",
                    "neighbors.kneighbors_graph",
                    "utils.check_random_state",
                    "utils.parallel.delayed",
                    "pipeline.make_pipeline",
                )
            },
            ("std:label", "metadata_routing"): "metadata_routing.html",
        },
    ),
    "pandas": (
        "https://pandas.pydata.org/docs",
        {("py:class", "pandas.DataFrame"): "reference/api/pandas.DataFrame.html#$"},
    ),
    "matplotlib": (
        "https://matplotlib.org/stable",
        {
            ("py:class", "matplotlib.axes.Axes"): "api/axes_api.html#$",
            ("py:class", "matplotlib.figure.Figure"): "api/figure_api.html#$",
            **{
                ("py:method", f"matplotlib.axes.Axes.{name}"): (
                    f"api/_as_gen/matplotlib.axes.Axes.{name}.html#$"
                )
                for name in ("errorbar", "plot", "bar", "scatter")
            },
            **{
                ("py:function", f"matplotlib.pyplot.{name}"): (
                    f"api/_as_gen/matplotlib.pyplot.{name}.html#$"
                )
                for name in ("subplot", "subplots", "gcf", "show")
            },
        },
    ),
    "joblib": (
        "https://joblib.readthedocs.io/en/stable",
        {
            ("py:module", "joblib"): "index.html",
            ("py:function", "joblib.parallel_config"): (
                "generated/joblib.parallel_config.html#$"
            ),
            ("py:class", "joblib.Parallel"): "generated/joblib.Parallel.html#$",
        },
    ),
    "distributed": (
        "https://distributed.dask.org/en/stable",
        {
            ("py:class", "distributed.Client"): "api.html#$",
            ("py:class", "distributed.LocalCluster"): "api.html#$",
        },
    ),
}


def inventory(project, objects):
    """The bytes of an objects.inv (version 2) listing `objects`."""
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        "# Version: stable (the names skgap's documentation refers to)\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    lines = []
    for (role, name), uri in sorted(objects.items()):
        priority = -1 if role == "std:label" else 1
        display = name if role == "std:label" else "-"
        lines.append(f"{name} {role} {priority} {uri} {display}\n")
    return header.encode() + zlib.compress("".join(lines).encode())


def main():
    from sphinx.util.inventory import InventoryFile

    here = Path(__file__).resolve().parent
    for project, (base, objects) in OBJECTS.items():
        path = here / f"{project}.inv"
        path.write_bytes(inventory(project, objects))
        with open(path, "rb") as file:  # read back as intersphinx will
            loaded = InventoryFile.load(file, base, lambda base, uri: f"{base}/{uri}")
        assert sum(len(entries) for entries in loaded.values()) == len(objects)
        print(f"{path.name}: {len(objects)} names of {base}")


if __name__ == "__main__":
    main()
