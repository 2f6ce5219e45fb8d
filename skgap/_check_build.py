"""A helpful ImportError when skgap's compiled extensions cannot be imported.

Imported first by ``skgap/__init__.py``, as scikit-learn's ``sklearn/__check_build``
is: without it, ``import skgap`` from a source tree that was never built fails
with a bare ``ModuleNotFoundError: No module named 'skgap._dispersion_fast'``.
"""

import importlib
import os
import sysconfig
import textwrap

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

#: The compiled extension modules: pyproject.toml's ext-modules, which
#: tests/test_check_build.py compares. Each is built from a .pyx of the same
#: stem, shipped beside it, so a new one is found without being listed here.
EXTENSIONS = tuple(
    sorted(
        {"skgap._dispersion_fast"}
        | {
            f"skgap.{name[: -len('.pyx')]}"
            for name in os.listdir(_PACKAGE_DIR)
            if name.endswith(".pyx")
        }
    )
)


def _message(name, exc):
    package_dir = _PACKAGE_DIR
    compiled = sorted(f for f in os.listdir(package_dir) if f.endswith((".so", ".pyd")))
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    found = (
        f"Compiled files in {package_dir}: {', '.join(compiled) or 'none'} "
        f"(this Python needs *{suffix})."
    )
    if os.path.isfile(os.path.join(package_dir, "..", "pyproject.toml")):
        advice = [
            f"You are importing skgap from its source tree, "
            f"{os.path.dirname(package_dir)}, which is not built for this Python. "
            "Either build it in place:",
            "    pip install -e .",
            "or install it (pip install .) and import it from another directory. "
            "Run the tests with `pytest`, not `python -m pytest` (which puts the "
            "source tree ahead of the installed package).",
        ]
    else:
        advice = [
            "Reinstall skgap with the Python that imports it:",
            "    pip install --force-reinstall .",
            "from a clone of its repository; building needs a C compiler and the "
            "Python headers.",
        ]
    paragraphs = [
        f"skgap cannot import its compiled extension {name} "
        f"({type(exc).__name__}: {exc}).",
        found,
        *advice,
    ]
    return "\n\n".join(
        p if p.startswith(" ") else textwrap.fill(p, width=79, break_long_words=False)
        for p in paragraphs
    )


def check_build(extensions=EXTENSIONS):
    """Import each compiled extension; explain how to build any that fails.

    Parameters
    ----------
    extensions : sequence of str, default=EXTENSIONS
        Dotted names of the compiled extension modules.

    Raises
    ------
    ImportError
        If an extension cannot be imported, with what to do about it.
    """
    for name in extensions:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            # one message that says it all, instead of a chain of two
            raise ImportError(_message(name, exc)) from None


check_build()
