"""
=========================
The ``skgap`` command
=========================

Installing skgap installs a command, ``skgap`` (also ``python -m skgap``),
that runs the gap statistic on a CSV, TSV, ``.npy`` or ``.npz`` file and
prints the chosen number of clusters with its table. This example calls the
command's ``main`` function, which takes the same arguments as the terminal
command; see :ref:`cli` for every option.
"""

# %%
# The built-in example
# --------------------
# Without a file, ``skgap`` runs on a built-in data set of 4 blobs::
#
#     $ skgap
import io
import json
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import matplotlib.pyplot as plt
from sklearn.datasets import load_iris

from skgap.__main__ import main

main(["--quiet"])

# %%
# A CSV file with a header and a text column
# ------------------------------------------
# The delimiter and the header row are detected, and the text column
# ``species`` is skipped (with a note on stderr); ``--columns`` would pick
# columns by name or index. ``--scale`` standardises the four measurements
# first, since they are on different scales.
iris = load_iris(as_frame=True)
frame = iris.frame.drop(columns="target")
frame["species"] = iris.target_names[iris.target]
workdir = Path(tempfile.mkdtemp())
frame.to_csv(workdir / "iris.csv", index=False)
print(open(workdir / "iris.csv").read()[:200])

# %%
# ::
#
#     $ skgap iris.csv --scale --k 1-6 --plot gap.png --labels labels.csv
#
# The three species are found:
main(
    [
        str(workdir / "iris.csv"),
        "--scale",
        "--k",
        "1-6",
        "--plot",
        str(workdir / "gap.png"),
        "--labels",
        str(workdir / "labels.csv"),
        "--quiet",
    ]
)

# %%
# ``--plot`` wrote the gap figure and ``--labels`` one label per sample:
print(open(workdir / "labels.csv").read()[:40])
image = plt.imread(workdir / "gap.png")
fig, ax = plt.subplots(figsize=(6.4, 4.8))
ax.imshow(image)
ax.set_axis_off()
plt.show()

# %%
# For machines: ``--json``
# ------------------------
# One JSON object with the chosen k, the parameters and the table.
buffer = io.StringIO()
with redirect_stdout(buffer):
    main(
        [str(workdir / "iris.csv"), "--k", "1-4", "--n-refs", "5", "--json", "--quiet"]
    )
report = json.loads(buffer.getvalue())
print({key: report[key] for key in ("n_clusters", "method", "statistic")})
print(report["table"][0])

# %%
# Bad input
# ---------
# A problem with the input is one line on stderr and an exit status, never a
# traceback (``$ skgap missing.csv``):
stderr = io.StringIO()
with redirect_stderr(stderr):
    try:
        status = main([str(workdir / "missing.csv")])
    except SystemExit as exc:  # as the terminal command exits
        status = exc.code
print(stderr.getvalue().strip())
print("exit status:", status)
