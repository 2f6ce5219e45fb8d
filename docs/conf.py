"""Sphinx configuration of the skgap documentation.

Build with warnings as errors::

    sphinx-build -W -b html docs docs/_build/html

The build needs no network: links to the Python, NumPy, SciPy, scikit-learn,
pandas, matplotlib, joblib and Dask documentation (intersphinx) resolve from the
inventories shipped in _inventories/ (written by _inventories/make_inventories.py,
the names these pages refer to); ``SKGAP_DOCS_INTERSPHINX=1`` fetches the
projects' full inventories instead. The figures of the user guide and the landing
page are drawn at build time (matplotlib's plot directive), never pasted.
"""

import os
import sys
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, os.path.abspath("."))

# -- Project ---------------------------------------------------------------

project = "skgap"
author = "The skgap developers"
copyright = "2026, The skgap developers"
try:
    release = _version("skgap")
except PackageNotFoundError:  # building from a tree without installing it
    release = "0.0.0"
version = ".".join(release.split(".")[:2])

# -- General ---------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.extlinks",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    # the figures of the user guide and the landing page, drawn at build time
    "matplotlib.sphinxext.plot_directive",
    # MathJax shipped with the HTML (_static/mathjax), not fetched from a CDN
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_design",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    # included into other pages, never pages of their own
    "accuracy_table.rst",
    "distributed.rst",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.md5",
    "auto_examples/*.codeobj.json",
]
root_doc = "index"
default_role = "literal"
pygments_style = "sphinx"

autosummary_generate = True
# no "inherited-members" here: a non-string default overrides the directive's option
autodoc_default_options = {"members": True}
autodoc_typehints = "none"

# The class pages list every public method, inherited ones (fit_predict,
# get_params, set_params, ...) included, in numpydoc's Methods table;
# _templates/class.rst documents each below it.
numpydoc_show_class_members = True
# ... but not the methods every exception inherits (add_note, with_traceback)
numpydoc_show_inherited_class_members = {
    "skgap.exceptions.SkgapWarning": False,
    "skgap.exceptions.ClustererFitError": False,
    "skgap.exceptions.InvalidInputError": False,
}
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

extlinks = {"doi": ("https://doi.org/%s", "doi:%s")}

# Intersphinx from the inventories of _inventories/: a build needs no network.
# SKGAP_DOCS_INTERSPHINX=1 fetches the projects' full inventories instead.
_INTERSPHINX = {
    "python": "https://docs.python.org/3",
    "numpy": "https://numpy.org/doc/stable",
    "scipy": "https://docs.scipy.org/doc/scipy",
    "sklearn": "https://scikit-learn.org/stable",
    "pandas": "https://pandas.pydata.org/docs",
    "matplotlib": "https://matplotlib.org/stable",
    "joblib": "https://joblib.readthedocs.io/en/stable",
    "distributed": "https://distributed.dask.org/en/stable",
}
_ONLINE = os.environ.get("SKGAP_DOCS_INTERSPHINX") == "1"
intersphinx_mapping = {
    name: (url, None if _ONLINE else f"_inventories/{name}.inv")
    for name, url in _INTERSPHINX.items()
}
intersphinx_timeout = 10
intersphinx_disabled_reftypes = ["std:doc"]

# -- HTML ------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skgap {version}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    # the wide comparison tables of the migration page get the whole width
    "secondary_sidebar_items": {"**": ["page-toc"], "migrating": []},
}
html_static_path = ["_static"]
html_css_files = ["skgap.css"]
# Pages without sub-pages need no left sidebar: give their tables the width.
html_sidebars = {
    page: []
    for page in (
        "index",
        "install",
        "user_guide",
        "cli",
        "migrating",
        "glossary",
        "whats_new",
    )
}
html_show_sourcelink = False

# -- Figures (matplotlib's plot directive) -----------------------------------

plot_include_source = False  # a figure shows its code with :include-source:
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {"figure.dpi": 100, "savefig.bbox": "tight"}

# -- Gallery ---------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "doc_module": ("skgap",),
    "backreferences_dir": "generated",
    "reference_url": {"skgap": None},
    "filename_pattern": r"/plot_",
    "remove_config_comments": True,
    "show_memory": False,
    # its page loads scripts from CDNs, and the build must work offline
    "write_computation_times": False,
    "download_all_examples": False,
    "matplotlib_animations": False,
    "min_reported_time": 1,
}


# Labels of scikit-learn's documentation that docstrings inherited from it (as
# GapKMeans.get_metadata_routing's) refer to, linked without intersphinx.
_SKLEARN_LABELS = {
    "metadata_routing": "https://scikit-learn.org/stable/metadata_routing.html",
}


def _link_sklearn_label(app, env, node, contnode):
    target = node.get("reftarget")
    if node.get("reftype") != "ref" or target not in _SKLEARN_LABELS:
        return None
    from docutils import nodes

    reference = nodes.reference("", "", internal=False, refuri=_SKLEARN_LABELS[target])
    reference += contnode
    return reference


def setup(app):
    app.connect("missing-reference", _link_sklearn_label)


# -- The skgap command: its output on the built-in example, run at build time
extensions.append("_cli_docs")  # docs/_cli_docs.py
