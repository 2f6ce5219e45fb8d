"""The README tells the truth: its Python code runs after its install command,
and .ci/run runs its shell commands verbatim."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SOURCE_TREE = Path(__file__).resolve().parents[1]
README = SOURCE_TREE / "README.rst"

pytestmark = pytest.mark.skipif(
    not README.is_file(), reason="the tests do not run from a source tree"
)

# Runs the code of the file argv[1] as `pip install .` leaves a machine: no
# optional dependency importable. An expression statement followed by a
# comment that is a Python literal (``gap.n_clusters_  # 4``) must equal it.
_RUNNER = """
import ast, io, sys, tokenize

OPTIONAL = {"pandas", "matplotlib", "dask", "distributed"}

class NotInstalled:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in OPTIONAL:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled)
source = open(sys.argv[1]).read()
comments = {
    token.start[0]: token.string[1:].strip()
    for token in tokenize.generate_tokens(io.StringIO(source).readline)
    if token.type == tokenize.COMMENT
}
namespace = {"__name__": "__readme__"}
checked = 0
for node in ast.parse(source).body:
    if not isinstance(node, ast.Expr):
        module = ast.Module(body=[node], type_ignores=[])
        exec(compile(module, "README.rst", "exec"), namespace)
        continue
    value = eval(compile(ast.Expression(node.value), "README.rst", "eval"), namespace)
    try:
        expected = ast.literal_eval(comments.get(node.end_lineno, ""))
    except (ValueError, SyntaxError):
        continue  # a comment in words
    if value != expected:
        sys.exit(f"README.rst: {ast.unparse(node)} is {value!r}, not {expected!r}")
    checked += 1
print(f"checked {checked}")
"""


def _indented_blocks(text, opener):
    """The dedented bodies of the blocks whose introducing line matches `opener`."""
    lines = text.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if not re.search(opener, line):
            continue
        body = []
        for following in lines[i + 1 :]:
            if following.strip() and not following.startswith(" "):
                break
            body.append(following)
        blocks.append(textwrap.dedent("\n".join(body)).strip("\n"))
    return blocks


def _python_blocks():
    return _indented_blocks(README.read_text(), r"code-block:: python")


def _shell_commands():
    """The lines of the literal blocks (paragraphs ending in ``::``)."""
    blocks = _indented_blocks(README.read_text(), r"(?<!:)::\s*$")
    return [line.strip() for b in blocks for line in b.splitlines() if line.strip()]


def test_readme_python_runs_without_extras(tmp_path):
    blocks = _python_blocks()
    assert blocks
    checked = 0
    for i, block in enumerate(blocks):
        path = tmp_path / f"readme_{i}.py"
        path.write_text(block)
        result = subprocess.run(
            [sys.executable, "-c", _RUNNER, str(path)],
            cwd=tmp_path,  # outside the source tree, as the README says
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        checked += int(result.stdout.split()[-1])
    assert checked >= 1  # the README's claims, e.g. ``gap.n_clusters_  # 4``


def test_ci_runs_the_readme_commands_verbatim():
    ci_lines = {
        line.strip() for line in (SOURCE_TREE / ".ci" / "run").read_text().splitlines()
    }
    commands = [c for c in _shell_commands() if c.startswith(("pip ", "skgap"))]
    assert 'pip install ".[tests]" && pytest' in commands
    missing = [c for c in commands if c not in ci_lines]
    assert not missing, f".ci/run must run the README's commands verbatim: {missing}"
