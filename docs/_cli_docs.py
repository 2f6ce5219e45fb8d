"""Sphinx extension: run the ``skgap`` command at build time for cli.rst.

Writes ``generated/cli_help.txt``, the command's ``--help``,
``generated/cli_example.txt``, its output on its built-in example, and
``generated/cli_error.txt``, its answer to a bad data file, and
``generated/cli_unscaled.txt``, the start of its output on the raw wine data
(scikit-learn's copy), so that the page shows what the command really prints.
Needs no network.
"""

import contextlib
import io
import os
import tempfile


def _run(*argv):
    """What ``skgap argv`` prints on stdout and stderr, and its exit status."""
    from skgap._cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return out.getvalue(), err.getvalue(), status


def _run_on_a_terminal(*argv):
    """What ``skgap argv`` shows on a terminal: stderr and stdout in order."""
    from skgap._cli import main

    shown = io.StringIO()
    with contextlib.redirect_stdout(shown), contextlib.redirect_stderr(shown):
        main(list(argv))
    return shown.getvalue()


def _write(path, text):
    """Write `text` to `path` unless it holds it already (no needless rebuild)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _write_cli_output(app):
    from skgap._cli import build_parser

    generated = os.path.join(app.srcdir, "generated")
    os.environ["COLUMNS"] = "88"  # the width of the help text
    _write(os.path.join(generated, "cli_help.txt"), build_parser().format_help())
    out, _, _ = _run()
    _write(os.path.join(generated, "cli_example.txt"), f"$ skgap\n{out}")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "measurements.csv")
        rows = [f"{160 + i % 30},{55 + i % 25}" for i in range(40)]
        rows[15] = "172,about 70"  # line 17, after the header
        with open(path, "w") as f:
            f.write("height,weight\n" + "\n".join(rows) + "\n")
        _, err, status = _run(path)
    err = err.replace(os.path.join(tmp, ""), "")
    text = f"$ skgap measurements.csv\n{err}$ echo $?\n{status}\n"
    _write(os.path.join(generated, "cli_error.txt"), text)
    _write(os.path.join(generated, "cli_unscaled.txt"), _unscaled_example())


def _unscaled_example():
    """The warning and the result line of ``skgap wine.csv``, the raw wine data."""
    import numpy as np
    from sklearn.datasets import load_wine

    wine = load_wine()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "wine.csv")
        header = ",".join(wine.feature_names)
        np.savetxt(path, wine.data, delimiter=",", header=header, comments="")
        shown = _run_on_a_terminal(path)
    shown = shown.replace(os.path.join(tmp, ""), "")
    lines = shown.splitlines()
    head = lines[: lines.index("") + 5]  # up to the rule, before the table
    return "$ skgap wine.csv\n" + "\n".join(head) + "\n...\n"


def setup(app):
    app.connect("builder-inited", _write_cli_output)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
