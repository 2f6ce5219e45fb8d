"""Check the built HTML documentation; .ci/run runs it after sphinx-build.

    python docs/check_html.py docs/_build/html

- It works offline: no page loads a script, stylesheet or image from the
  network, and the maths is rendered by a MathJax copied into the build.
- The API page of GapKMeans documents every public method, inherited ones
  included.
- The HTML repr of GapKMeans, where it links to the documentation, links to
  a page that the build wrote.
"""

import re
import sys
from pathlib import Path

_LOADS = re.compile(
    r"<(?:script|img|iframe)\b[^>]*\bsrc=\"([^\"]+)\""
    r"|<link\b[^>]*\brel=\"(?:stylesheet|preload|icon)\"[^>]*\bhref=\"([^\"]+)\""
    r"|<link\b[^>]*\bhref=\"([^\"]+)\"[^>]*\brel=\"(?:stylesheet|preload|icon)\""
)
_METHODS = ("fit", "fit_predict", "get_params", "set_params", "predict")


def _remote(url):
    return url.startswith(("http://", "https://", "//"))


def check(html_dir):
    """The problems found in the built HTML of `html_dir`, as strings."""
    html_dir = Path(html_dir)
    problems = []
    pages = sorted(html_dir.rglob("*.html"))
    if not pages:
        return [f"no HTML page in {html_dir}"]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for match in _LOADS.finditer(text):
            url = next(group for group in match.groups() if group)
            if _remote(url):
                problems.append(f"{page.relative_to(html_dir)} loads {url}")

    user_guide = (html_dir / "user_guide.html").read_text(encoding="utf-8")
    mathjax = re.findall(r"<script[^>]*src=\"([^\"]*mathjax[^\"]*)\"", user_guide)
    if not mathjax:
        problems.append("user_guide.html has maths but loads no MathJax")
    for url in mathjax:
        if _remote(url) or not (html_dir / url.split("?")[0]).is_file():
            problems.append(f"MathJax is not a file of the build: {url}")

    api_page = html_dir / "generated" / "skgap.GapKMeans.html"
    text = api_page.read_text(encoding="utf-8") if api_page.is_file() else ""
    for method in _METHODS:
        if f'id="skgap.GapKMeans.{method}"' not in text:
            problems.append(f"{api_page.name} does not document {method}")

    from skgap import GapKMeans

    link = getattr(GapKMeans(), "_get_doc_link", lambda: "")()
    if link:
        path = re.sub(r"^https://skgap\.readthedocs\.io/[^/]+/[^/]+/", "", link)
        if path == link or not (html_dir / path).is_file():
            problems.append(f"the HTML repr links to {link}, not a page of the build")
    return problems


if __name__ == "__main__":
    problems = check(sys.argv[1] if len(sys.argv) > 1 else "docs/_build/html")
    for problem in problems:
        print(f"docs/check_html.py: {problem}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print("docs/check_html.py: the HTML works offline and documents every method")
