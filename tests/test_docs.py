"""The documentation's code runs: the doctests of its pages (``>>>`` blocks).

The gallery examples run in the documentation build (sphinx-gallery), and the
README's code in tests/test_readme.py.
"""

import doctest
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(DOCS.glob("*.rst")) if DOCS.is_dir() else []

pytestmark = pytest.mark.skipif(
    not PAGES, reason="the tests do not run from a source tree"
)


def _examples(page):
    parser = doctest.DocTestParser()
    return parser.get_examples(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "page", [p for p in PAGES if _examples(p)], ids=lambda page: page.name
)
def test_page_doctests(page):
    pytest.importorskip("pandas")  # the user guide shows gap_df_
    result = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS,
        encoding="utf-8",
        verbose=False,
    )
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {page.name}"


def test_pages_with_runnable_code():
    # the off-by-one between R's maxSE and select_k is shown by running it
    runnable = {page.name for page in PAGES if _examples(page)}
    assert {"migrating.rst", "user_guide.rst"} <= runnable
    migrating = " ".join(e.source for e in _examples(DOCS / "migrating.rst"))
    assert "select_k(f, se" in migrating


def test_index_shows_the_readme_example():
    # docs/index.rst repeats the README's example, which tests/test_readme.py runs
    readme = (DOCS.parent / "README.rst").read_text(encoding="utf-8")
    index = (DOCS / "index.rst").read_text(encoding="utf-8")

    def example(text):
        start = text.index(".. code-block:: python")
        return text[start : text.index("\n\n", text.index("gap.predict", start))]

    assert example(index) == example(readme)
