"""numpydoc validation of the public API and the doctests of every skgap module.

Modelled on scikit-learn's ``sklearn/tests/test_docstrings.py``.
"""

import doctest
import importlib
import inspect
import pkgutil

import pytest

import skgap
import skgap.exceptions

numpydoc_validation = pytest.importorskip("numpydoc.validate")


def _public_api():
    """Dotted names of the public functions, classes and their public methods."""
    names = []
    objects = [("skgap", name) for name in skgap.__all__ if name != "__version__"]
    objects += [("skgap.exceptions", name) for name in skgap.exceptions.__all__]
    try:
        plotting = importlib.import_module("skgap.plotting")
    except ImportError:  # pragma: no cover - matplotlib is optional
        plotting = None
    if plotting is not None:
        objects += [
            ("skgap.plotting", name) for name in getattr(plotting, "__all__", [])
        ]
    for module, name in objects:
        obj = getattr(importlib.import_module(module), name)
        names.append(f"{module}.{name}")
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            # every public method, inherited ones (fit_predict, get_params) too
            for attr in dir(obj):
                if attr.startswith("_"):
                    continue
                value = inspect.getattr_static(obj, attr)
                if callable(value) or hasattr(value, "__get__"):
                    names.append(f"{module}.{name}.{attr}")
    return names


PUBLIC_API = _public_api()

# Public objects outside the modules above: the gap-stat compatibility layer
# and the command line's entry point.
OTHER_PUBLIC = [
    "skgap.compat.OptimalK",
    "skgap.compat.OptimalK.__call__",
    "skgap.compat.OptimalK.plot_results",
    "skgap.__main__.main",
]


def _filter_errors(errors, name):
    """The rules of scikit-learn's docstring test."""
    is_method = name.count(".") >= 2 and inspect.isclass(
        _resolve(name.rsplit(".", 1)[0])
    )
    for code, message in errors:
        # RT02: the Returns line may name the returned object;
        # GL01/GL02: summary placement and blank lines are free.
        if code in ("RT02", "GL01", "GL02"):
            continue
        # properties have no signature to parse and no parameters
        if code in ("PR02", "GL08") and is_method:
            owner, attr = name.rsplit(".", 1)
            if isinstance(inspect.getattr_static(_resolve(owner), attr), property):
                continue
        # extended summary, See Also and Examples only for top-level objects
        if is_method and code in ("EX01", "SA01", "ES01"):
            continue
        yield code, message


def _resolve(dotted):
    module, _, rest = dotted.partition(".")
    obj = importlib.import_module(module)
    for part in rest.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(f"{obj.__name__}.{part}")
    return obj


def test_public_api_is_covered():
    for name in (
        "skgap.GapKMeans",
        "skgap.GapKMeans.fit",
        "skgap.GapKMeans.predict",
        "skgap.select_k",
        "skgap.within_cluster_dispersion",
        "skgap.exceptions.SkgapWarning",
        "skgap.exceptions.ClustererFitError",
    ):
        assert name in PUBLIC_API


@pytest.mark.parametrize("name", PUBLIC_API + OTHER_PUBLIC)
def test_docstring(name):
    result = numpydoc_validation.validate(name)
    errors = list(_filter_errors(result["errors"], name))
    if errors:
        listing = "\n".join(f"  {code}: {message}" for code, message in errors)
        raise AssertionError(f"numpydoc validation of {name}:\n{listing}")


def _skgap_modules():
    names = ["skgap"]
    for info in pkgutil.walk_packages(skgap.__path__, prefix="skgap."):
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("module_name", _skgap_modules())
def test_doctests(module_name):
    if module_name == "skgap.plotting":
        pytest.importorskip("matplotlib")
    module = importlib.import_module(module_name)
    result = doctest.testmod(
        module,
        optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS,
        verbose=False,
        report=True,
    )
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {module_name}"


def test_doctests_exist():
    # the examples are part of the contract: make sure they are collected
    finder = doctest.DocTestFinder()
    examples = sum(
        len(test.examples)
        for name in _skgap_modules()
        for test in finder.find(importlib.import_module(name))
    )
    assert examples >= 10
