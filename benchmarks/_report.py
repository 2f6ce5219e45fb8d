"""Write a script's results into benchmarks/README.md, between its markers.

Each generated section of the README sits between ``<!-- name:begin -->`` and
``<!-- name:end -->``; a script run with ``--write-readme`` replaces what is
between them, so that every figure on the page comes from a script run.
"""

import re
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def write_section(name, text, readme=README):
    """Replace the section `name` of the README with `text` (added if missing)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    content = readme.read_text()
    block = f"{begin}\n{text.rstrip()}\n{end}"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    if pattern.search(content):
        content = pattern.sub(lambda _: block, content)
    else:
        content = content.rstrip() + "\n\n" + block + "\n"
    readme.write_text(content)
