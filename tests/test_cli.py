"""Tests of the command line ``skgap`` / ``python -m skgap``."""

import inspect
import io
import json
import re
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.preprocessing import StandardScaler

import skgap._cli
from skgap import GapKMeans
from skgap._cli import PASS_THROUGH, build_parser, format_table, main
from skgap._reference import REFERENCES
from skgap._selection import RULES, STATISTICS
from skgap._utils import METRICS, InvalidParameterError
from skgap.exceptions import ClustererFitError, InvalidInputError, SkgapWarning
from skgap.plotting import KINDS

# Small and fast: 3 blobs, k in 1..4, 3 references, one k-means start.
FAST = ["--k", "1-4", "--n-refs", "3", "--n-init", "1", "--quiet"]


BLOBS = make_blobs(n_samples=60, centers=3, cluster_std=0.5, random_state=0)[0]


@pytest.fixture
def blobs():
    return BLOBS.copy()


def _write_csv(path, X, header=None, delimiter=","):
    with open(path, "w") as f:
        if header is not None:
            f.write(delimiter.join(header) + "\n")
        for row in X:
            f.write(delimiter.join(repr(float(v)) for v in row) + "\n")
    return str(path)


def _run_json(capsys, argv):
    status = main([*argv, "--json"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return json.loads(captured.out), captured.err


def _reference_fit(X, seed=0, **params):
    return GapKMeans(
        KMeans(n_init=1),
        n_clusters_range=range(1, 5),
        n_refs=3,
        random_state=seed,
        **params,
    ).fit(X)


def test_builtin_example(capsys):
    """No file: the built-in example finds its 4 blobs with the default settings."""
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "chosen k = 4" in out
    assert "rule 'tibshirani' on the gap statistic" in out
    # the rule in its own words, those of its docstring
    assert RULES["tibshirani"].__doc__.splitlines()[0] in out
    assert (
        "built-in example make_blobs(n_samples=500, centers=4, random_state=1)" in out
    )
    header = next(line for line in out.splitlines() if line.split()[:1] == ["k"])
    assert header.split() == [
        "k",
        "log",
        "W",
        "E[log",
        "W*]",
        "gap",
        "se",
        "diff",
        "gap*",
        "chosen",
    ]
    assert "chosen k = 4, in 100% of the resamples of the references" in out
    assert (
        "every rule: on the gap all five choose k = 4; on Gap* all five choose "
        "k = 2." in out
    )
    assert "Gap* compares W itself, not log W" in out  # why they differ
    rows = [
        line for line in out.splitlines() if line.split()[:1] in (["1"], ["4"], ["10"])
    ]
    assert len(rows) == 3
    chosen = [line for line in out.splitlines() if line.endswith("<- chosen")]
    assert len(chosen) == 1 and chosen[0].split()[0] == "4"


def test_builtin_example_matches_estimator(capsys):
    """The table printed is GapKMeans' table, rounded."""
    data, _ = _run_json(capsys, ["--n-refs", "5", "--k", "1-6", "--quiet"])
    X, _ = make_blobs(n_samples=500, centers=4, random_state=1)
    gap = GapKMeans(n_clusters_range=range(1, 7), n_refs=5, random_state=0).fit(X)
    assert data["n_clusters"] == gap.n_clusters_
    assert_allclose([row["gap"] for row in data["table"]], gap.gap_results_["gap"])


def test_csv_with_header_matches_estimator(tmp_path, capsys, blobs):
    path = _write_csv(tmp_path / "data.csv", blobs, header=["x", "y"])
    data, _ = _run_json(capsys, [path, *FAST])
    gap = _reference_fit(blobs)
    assert data["n_clusters"] == gap.n_clusters_ == 3
    assert data["data"] == {
        "source": path,
        "n_samples": 60,
        "n_features": 2,
        "columns": ["x", "y"],
        "scaled": False,
    }
    for key in ("log_w", "expected_log_w", "gap", "se", "gap_star", "se_star"):
        assert_allclose([row[key] for row in data["table"]], gap.gap_results_[key])
    assert [row["k"] for row in data["table"]] == [1, 2, 3, 4]
    assert data["table"][-1]["diff"] is None  # NaN -> null


@pytest.mark.parametrize(
    "delimiter, name", [("\t", "data.tsv"), (";", "data.txt"), (" ", "data.dat")]
)
def test_delimited_without_header(tmp_path, capsys, blobs, delimiter, name):
    path = _write_csv(tmp_path / name, blobs, delimiter=delimiter)
    data, _ = _run_json(capsys, [path, *FAST])
    assert data["data"]["columns"] == ["0", "1"]
    assert data["data"]["n_samples"] == 60
    assert data["n_clusters"] == 3


def test_savetxt_comments_and_blank_lines(tmp_path, capsys, blobs):
    path = tmp_path / "data.txt"
    np.savetxt(path, blobs, header="made by numpy")
    with open(path, "a") as f:
        f.write("\n\n")
    data, _ = _run_json(capsys, [str(path), *FAST])
    assert data["data"]["n_samples"] == 60


def test_text_column_is_skipped_with_a_note(tmp_path, capsys, blobs):
    path = tmp_path / "labelled.csv"
    with open(path, "w") as f:
        f.write("name,x,y\n")
        for i, (a, b) in enumerate(blobs):
            f.write(f"point{i},{a},{b}\n")
    status = main([str(path), "--k", "1-4", "--n-refs", "3", "--n-init", "1", "--json"])
    captured = capsys.readouterr()
    assert status == 0
    assert "skipped the text column 'name'" in captured.err
    assert json.loads(captured.out)["data"]["columns"] == ["x", "y"]


def test_pandas_index_column_is_skipped(tmp_path, capsys, blobs):
    """A CSV written by DataFrame.to_csv() keeps its unnamed 0..n-1 index."""
    pd = pytest.importorskip("pandas")
    path = tmp_path / "frame.csv"
    pd.DataFrame(blobs, columns=["x", "y"]).to_csv(path)
    status = main([str(path), *FAST[:-1], "--json"])
    captured = capsys.readouterr()
    assert status == 0
    assert "skipped the unnamed index column ''" in captured.err
    data = json.loads(captured.out)
    assert data["data"]["columns"] == ["x", "y"]
    assert data["n_clusters"] == 3


def test_decimal_comma_with_semicolons(tmp_path, capsys, blobs):
    path = tmp_path / "european.csv"
    with open(path, "w") as f:
        f.write("x;y\n")
        for a, b in blobs:
            f.write(f"{a:.6f};{b:.6f}\n".replace(".", ","))
    data, _ = _run_json(capsys, [str(path), *FAST])
    assert data["data"]["columns"] == ["x", "y"]
    assert data["n_clusters"] == 3


def test_utf16_text(tmp_path, capsys, blobs):
    path = tmp_path / "excel_unicode.txt"
    text = "x\ty\n" + "".join(f"{a}\t{b}\n" for a, b in blobs)
    path.write_bytes(text.encode("utf-16"))
    data, _ = _run_json(capsys, [str(path), *FAST])
    assert data["data"]["n_samples"] == 60
    assert data["data"]["columns"] == ["x", "y"]


def test_single_column(tmp_path, capsys):
    path = tmp_path / "one.csv"
    values = [0.0, 0.1, 0.2, 0.3, 10.0, 10.1, 10.2, 10.3] * 3
    path.write_text("value\n" + "\n".join(map(str, values)) + "\n")
    data, _ = _run_json(capsys, [str(path), *FAST])
    assert data["data"]["n_features"] == 1
    assert data["n_clusters"] == 2


def test_columns_by_name_and_index(tmp_path, capsys, blobs):
    X = np.column_stack([blobs, np.arange(60.0)])
    path = _write_csv(tmp_path / "data.csv", X, header=["x", "y", "id"])
    by_name, _ = _run_json(capsys, [path, "--columns", "x,y", *FAST])
    by_index, _ = _run_json(capsys, [path, "--columns", "0,1", *FAST])
    assert by_name["data"]["columns"] == by_index["data"]["columns"] == ["x", "y"]
    assert by_name["table"] == by_index["table"]
    assert by_name["n_clusters"] == 3


def test_npy_and_npz(tmp_path, capsys, blobs):
    np.save(tmp_path / "X.npy", blobs)
    np.savez(tmp_path / "X.npz", X=blobs, other=np.zeros(3))
    from_npy, _ = _run_json(capsys, [str(tmp_path / "X.npy"), *FAST])
    from_npz, _ = _run_json(capsys, [str(tmp_path / "X.npz"), "--key", "X", *FAST])
    assert from_npy["table"] == from_npz["table"]
    assert from_npz["data"]["source"].endswith("X.npz[X]")


def test_stdin(monkeypatch, capsys, blobs):
    text = "\n".join(f"{a},{b}" for a, b in blobs).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text)))
    data, _ = _run_json(capsys, ["-", *FAST])
    assert data["data"]["n_samples"] == 60


def test_every_parameter_reaches_the_estimator(tmp_path, capsys, blobs, monkeypatch):
    seen = {}

    class Recording(GapKMeans):
        def fit(self, X, y=None):
            seen.update(self.get_params(deep=False))
            return super().fit(X)

    monkeypatch.setattr(skgap._cli, "GapKMeans", Recording)
    path = _write_csv(tmp_path / "data.csv", blobs)
    argv = [
        path,
        "--k",
        "2,4,8",
        "--n-refs",
        "4",
        "--reference",
        "uniform",
        "--statistic",
        "gap_star",
        "--method",
        "global_se_max",
        "--se-factor",
        "0.5",
        "--power",
        "1",
        "--clusterer",
        "minibatch",
        "--n-init",
        "2",
        "--n-jobs",
        "2",
        "--seed",
        "7",
        "--quiet",
    ]
    data, _ = _run_json(capsys, argv)
    assert seen["n_clusters_range"] == [2, 4, 8]
    assert seen["n_refs"] == 4
    assert seen["reference"] == "uniform"
    assert seen["statistic"] == "gap_star"
    assert seen["method"] == "global_se_max"
    assert seen["se_factor"] == 0.5
    assert seen["power"] == 1.0
    assert type(seen["estimator"]).__name__ == "MiniBatchKMeans"
    assert seen["estimator"].n_init == 2
    assert seen["n_jobs"] == 2
    assert seen["random_state"] == 7
    assert data["parameters"]["clusterer"] == "MiniBatchKMeans(n_init=2)"
    assert data["statistic"] == "gap_star"


@pytest.mark.parametrize(
    "clusterer, name",
    [
        ("kmeans", "KMeans"),
        ("minibatch", "MiniBatchKMeans"),
        ("agglomerative", "AgglomerativeClustering"),
        ("gmm", "GaussianMixture"),
        ("birch", "Birch"),
    ],
)
def test_clusterers(tmp_path, capsys, blobs, clusterer, name):
    path = _write_csv(tmp_path / "data.csv", blobs)
    argv = [path, "--k", "1-4", "--n-refs", "3", "--clusterer", clusterer, "--quiet"]
    # The global maximum within one SE: a poor local optimum at k = 2 (some
    # scikit-learn versions' MiniBatchKMeans) cannot make it choose k = 1.
    argv += ["--method", "global_se_max"]
    data, _ = _run_json(capsys, argv)
    assert data["parameters"]["clusterer"].startswith(name)
    assert data["n_clusters"] == 3


def test_scale_standardises_first(tmp_path, capsys, blobs):
    X = blobs * [1.0, 100.0]
    path = _write_csv(tmp_path / "data.csv", X)
    data, _ = _run_json(capsys, [path, "--scale", *FAST])
    gap = _reference_fit(StandardScaler().fit_transform(X))
    assert data["data"]["scaled"] is True
    assert_allclose([row["gap"] for row in data["table"]], gap.gap_results_["gap"])


def test_seed_none_is_accepted(tmp_path, capsys, blobs):
    path = _write_csv(tmp_path / "data.csv", blobs)
    data, _ = _run_json(capsys, [path, "--seed", "none", *FAST])
    assert data["parameters"]["random_state"] is None


def test_labels_file(tmp_path, capsys, blobs):
    path = _write_csv(tmp_path / "data.csv", blobs)
    out = tmp_path / "labels.csv"
    assert main([path, *FAST, "--labels", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "label"
    labels = np.array([int(v) for v in lines[1:]])
    assert_array_equal(labels, _reference_fit(blobs).labels_)


@pytest.mark.parametrize("kind", ["gap", "all"])
def test_plot_file(tmp_path, capsys, blobs, kind):
    pytest.importorskip("matplotlib")
    path = _write_csv(tmp_path / "data.csv", blobs)
    out = tmp_path / "gap.png"
    assert main([path, *FAST, "--plot", str(out), "--plot-kind", kind]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_human_table_alignment():
    results = {
        "n_clusters": np.array([1, 2, 3]),
        "log_w": np.array([3.0, 2.0, 1.5]),
        "expected_log_w": np.array([3.1, 2.6, 2.0]),
        "gap": np.array([0.1, 0.6, 0.5]),
        "se": np.array([0.01, 0.02, 0.03]),
        "diff": np.array([-0.48, 0.13, np.nan]),
        "gap_star": np.array([1234.5, 56.78, 9.0]),
    }
    lines = format_table(results, chosen=2).splitlines()
    assert len({len(line.rstrip(" <-chosen")) for line in lines}) == 1
    assert lines[2].endswith("<- chosen") and lines[2].split()[0] == "2"
    assert lines[3].split()[5] == "-"  # the NaN diff of the last k
    # gap* has one number of decimals for the whole column
    assert [line.split()[6] for line in lines[1:]] == ["1234.5", "56.8", "9.0"]


def test_dropped_k_is_one_warning_line(tmp_path, capsys):
    path = _write_csv(tmp_path / "small.csv", [[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    status = main([path, "--k", "1-5", "--n-refs", "3", "--n-init", "1"])
    captured = capsys.readouterr()
    assert status == 0
    warning_lines = [line for line in captured.err.splitlines() if "warning" in line]
    assert len(warning_lines) == 1
    assert warning_lines[0].startswith("skgap: warning: Dropped")


# --------------------------------------------------------------------------
# Progress on stderr


class _Spy:
    verbose = None


@pytest.fixture
def spy(monkeypatch):
    class Recording(GapKMeans):
        def fit(self, X, y=None):
            _Spy.verbose = self.verbose
            return super().fit(X)

    monkeypatch.setattr(skgap._cli, "GapKMeans", Recording)
    return _Spy


@pytest.mark.parametrize(
    "argv, tty, verbose",
    [
        ([], False, 0),  # not a terminal: silent
        ([], True, 1),  # a terminal: progress
        (["--quiet"], True, 0),
        (["--progress"], False, 1),
    ],
)
def test_progress_only_on_a_terminal(
    tmp_path, capsys, blobs, spy, monkeypatch, argv, tty, verbose
):
    path = _write_csv(tmp_path / "data.csv", blobs)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty, raising=False)
    assert main([path, "--k", "1-3", "--n-refs", "2", "--n-init", "1", *argv]) == 0
    assert spy.verbose == verbose


# --------------------------------------------------------------------------
# Bad input: one line on stderr, status 2, no traceback


def _bad_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header_only.csv").write_text("x,y\n")
    (tmp_path / "ragged.csv").write_text("1,2\n3,4\n5\n6,7\n")
    (tmp_path / "nan.csv").write_text("x,y\n1,2\n3,nan\n4,5\n")
    (tmp_path / "missing_value.csv").write_text("x,y\n1,2\n3,\n4,5\n")
    (tmp_path / "inf.csv").write_text("1,2\n3,inf\n4,5\n")
    (tmp_path / "text.csv").write_text("x,y\n1,2\n3,abc\n4,5\n")
    (tmp_path / "all_text.csv").write_text("a,b\nu,v\nw,z\n")
    (tmp_path / "one.csv").write_text("1,2\n")
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "fake.npy").write_bytes(b"not numpy at all")
    np.save(
        tmp_path / "objects.npy",
        np.array([{"a": 1}, 2], dtype=object),
        allow_pickle=True,
    )
    np.save(tmp_path / "cube.npy", np.zeros((3, 3, 3)))
    np.save(tmp_path / "strings.npy", np.array([["a", "b"], ["c", "d"]]))
    np.savez(tmp_path / "two.npz", a=np.zeros((5, 2)), b=np.zeros((5, 2)))
    (tmp_path / "ok.csv").write_text("\n".join(f"{i},{i % 3}" for i in range(20)))
    return tmp_path


BAD_INPUTS = {
    "missing file": (["{d}/nope.csv"], "nope.csv: No such file or directory"),
    "directory": (["{d}"], "Is a directory"),
    "empty file": (["{d}/empty.csv"], "no data rows"),
    "header only": (["{d}/header_only.csv"], "no data rows"),
    "ragged rows": (["{d}/ragged.csv"], "line 3 has 1 field"),
    "nan": (["{d}/nan.csv"], "missing or NaN"),
    "missing value": (["{d}/missing_value.csv"], "missing or NaN"),
    "inf": (["{d}/inf.csv"], "infinite"),
    "non-numeric value": (["{d}/text.csv"], "'abc' is not a number"),
    "no numeric column": (["{d}/all_text.csv"], "no numeric column"),
    "one sample": (["{d}/one.csv"], "has 1 sample"),
    "binary": (["{d}/binary.csv"], "is not text"),
    "fake npy": (["{d}/fake.npy"], "not a valid .npy"),
    "pickled objects": (["{d}/objects.npy"], "allow_pickle=False"),
    "3-d array": (["{d}/cube.npy"], "2-D array"),
    "string array": (["{d}/strings.npy"], "numeric"),
    "npz without key": (["{d}/two.npz"], "choose one with --key"),
    "npz bad key": (["{d}/two.npz", "--key", "c"], "has the arrays a, b; choose"),
    "key on npy": (["{d}/cube.npy", "--key", "c"], "--key applies to .npz"),
    "unknown column": (["{d}/ok.csv", "--columns", "z"], "no column 'z'"),
    "text column selected": (["{d}/text.csv", "--columns", "y"], "not a number"),
    "fewer samples than k": (["{d}/ok.csv", "--k", "30-40"], "n_samples=20"),
    "unknown method": (["--method", "best"], "invalid choice: 'best'"),
    "unknown reference": (["--reference", "gauss"], "invalid choice: 'gauss'"),
    "unknown clusterer": (["--clusterer", "dbscan"], "invalid choice: 'dbscan'"),
    "unknown option": (["--frobnicate"], "unrecognized arguments"),
    "zero k": (["--k", "0,2"], "--k: every k must be at least 1, got '0'"),
    "bad k list": (["--k", "two"], "--k"),
    "k-min > k-max": (
        ["--k-min", "5", "--k-max", "3"],
        "--k-min 5 is larger than --k-max 3: the candidates are the ks from --k-min "
        "to --k-max, so --k-min must not exceed --k-max",
    ),
    "k-min > default k-max": (
        ["--k-min", "12"],
        "--k-min 12 is larger than --k-max (default 10)",
    ),
    "k and k-min": (["--k", "2,3", "--k-min", "2"], "not allowed with"),
    "zero refs": (["--n-refs", "0"], "--n-refs: must be an int in the range [1, inf)"),
    "negative power": (["--power", "-1"], "--power"),
    "zero power": (["--power", "0"], "--power: must be a float in the range (0.0"),
    "negative se factor": (["--se-factor", "-1"], "--se-factor"),
    "n-jobs zero": (
        ["--n-jobs", "0"],
        "argument --n-jobs: must be a number of parallel jobs, 1, 2, ..., or -1 "
        "for all processors (-2 for all but one, ...), got '0'",
    ),
    "bad seed": (["--seed", "abc"], "argument --seed: must be an int"),
    "n-init for birch": (["--clusterer", "birch", "--n-init", "3"], "does not apply"),
    "columns without file": (["--columns", "x"], "needs a data FILE"),
    "plot format": (["--plot", "{d}/out.xyz"], "image format"),
    "plot directory": (["--plot", "{d}/no/such/dir.png"], "No such file or directory"),
    "labels directory": (["--labels", "{d}/no/such/labels.csv"], "No such file"),
    "quiet and progress": (["--quiet", "--progress"], "not allowed with"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_is_one_line_and_status_2(tmp_path, capsys, case):
    d = _bad_files(tmp_path)
    argv, expected = BAD_INPUTS[case]
    status = main([arg.format(d=d) for arg in argv])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("skgap: error: ")
    assert expected in lines[0]
    assert "Traceback" not in captured.err


def test_fit_error_is_one_line(tmp_path, capsys):
    """Data with no spread: GapKMeans' own ValueError, as one line."""
    path = tmp_path / "constant.csv"
    path.write_text("1,1\n" * 10)
    status = main([str(path), "--k", "1-3", "--n-refs", "2", "--n-init", "1"])
    captured = capsys.readouterr()
    assert status == 2
    assert len(captured.err.splitlines()) == 1
    assert captured.err.startswith("skgap: error: ")


def test_allow_pickle_false_never_executes(tmp_path, capsys):
    """A pickle payload in a .npy file is refused, not run."""
    marker = tmp_path / "executed"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    np.save(
        tmp_path / "evil.npy", np.array([Payload()], dtype=object), allow_pickle=True
    )
    assert main([str(tmp_path / "evil.npy")]) == 2
    assert not marker.exists()
    assert "allow_pickle=False" in capsys.readouterr().err


# --------------------------------------------------------------------------
# Help and entry points


def test_help_documents_every_option_with_its_default(capsys):
    assert main(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    parser = build_parser()
    for action in parser._actions:
        for option in action.option_strings:
            assert option in text
        if action.option_strings and action.default not in (
            None,
            False,
            "==SUPPRESS==",
        ):
            assert action.help and "default" in action.help, action.option_strings
    for default in (
        "(default: 1)",
        "(default: 10)",
        "(default: 20)",
        "(default: pca)",
        "(default: gap)",
        "(default: 1.0)",
        "(default: 2.0)",
        "(default: kmeans)",
        "(default: 0)",
        "(default: auto)",
    ):
        assert default in text


def test_python_dash_m_and_version(tmp_path):
    # run outside the source tree: its skgap/ has no compiled extension
    result = subprocess.run(
        [sys.executable, "-m", "skgap", "--version"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("skgap ")
    result = subprocess.run(
        [sys.executable, "-m", "skgap", "--method", "nope"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1


def test_plot_without_matplotlib_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    status = main(["--plot", str(tmp_path / "gap.png")])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.splitlines() == [
        "skgap: error: --plot needs matplotlib: pip install 'skgap[plot]'"
    ]


def _one_error_line(capsys, argv):
    """Run the command on bad input: status 2, no output, one line on stderr."""
    status = main(argv)
    captured = capsys.readouterr()
    assert status == 2, captured.err
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("skgap: error: ")
    return lines[0]


def _write(path, content):
    if isinstance(content, np.ndarray):
        np.save(path, content, allow_pickle=content.dtype.kind == "O")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def _zip():
    """The bytes of a zip archive, as a spreadsheet (.xlsx, .ods) is."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    return buffer.getvalue()


_ZIP = _zip()

# Moved from test_bad_input.py: each bad file gives one line, and is not modified.
CLI_FILE_ROWS = [
    ("nan.csv", "a,b\n" + "1,2\nnan,3\n4,5\n" * 5, r"missing or NaN value"),
    ("blank.csv", "a,b\n" + "1,2\n,3\n4,5\n" * 5, r"missing or NaN value"),
    ("inf.csv", "a,b\n" + "1,2\ninf,3\n4,5\n" * 5, r"infinite value"),
    ("empty.csv", "", r"no data rows"),
    ("header.csv", "a,b\n", r"no data rows"),
    ("one.csv", "1,2\n", r"1 sample; the gap statistic needs 2"),
    ("text.csv", "a,b\nx,y\nz,w\n", r"no numeric column"),
    ("ragged.csv", "1,2\n3\n4,5\n", r"line 2 has 1 field"),
    ("binary.csv", b"\x00\x01\x02garbage\xff\xfe", r"is not text"),
    ("3d.npy", np.ones((5, 2, 2)), r"shape \(5, 2, 2\).*2-D"),
    ("complex.npy", np.ones((10, 2)) + 1j, r"complex128.*numeric"),
    ("strings.npy", np.array([["a", "b"]] * 5), r"<U1.*numeric"),
    ("objects.npy", np.array([[1, None]] * 5, dtype=object), r"Python objects"),
    ("huge.npy", BLOBS * 1e300, r"overflow float64.*Rescale.*--scale"),
    ("tiny.npy", BLOBS * 1e-300, r"underflow in float64.*Rescale.*--scale"),
    # new: what users meet
    ("late_text.csv", "x,y\n" + "1,2\n" * 150 + "3,oops\n", r"line 152, column 'y'"),
    ("na.csv", "x,y\n1,2\n3,NA\n", r"line 3, column 'y': missing or NaN"),
    ("late_ragged.csv", "1,2\n" * 150 + "3\n", r"line 151 has 1 field"),
    ("sheet.xlsx", _ZIP, r"sheet.xlsx is not text .* save the data as CSV"),
    ("data.parquet", b"PAR1\x15\x04\x15\x00\x00", r"is not text"),
]


@pytest.mark.parametrize(
    ("name", "content", "match"), CLI_FILE_ROWS, ids=[row[0] for row in CLI_FILE_ROWS]
)
def test_cli_bad_file(tmp_path, capsys, name, content, match):
    path = _write(tmp_path / name, content)
    before = path.read_bytes()
    line = _one_error_line(capsys, [str(path), "--n-refs", "2", "--quiet"])
    assert re.search(match, line), line
    assert path.read_bytes() == before


# Moved from test_bad_input.py (messages of options now GapKMeans' own).
CLI_OPTION_ROWS = [
    (["--n-refs", "0"], r"--n-refs: must be an int in the range \[1, inf\)"),
    (["--power", "0"], r"--power: must be a float in the range \(0"),
    (["--power", "-1"], r"--power"),
    (["--power", "nan"], r"--power"),
    (["--power", "inf"], r"--power: must be a float"),
    (["--method", "elbow"], r"--method: invalid choice"),
    (["--statistic", "x"], r"--statistic: invalid choice"),
    (["--reference", "normal"], r"--reference: invalid choice"),
    (["--k", "0,1"], r"--k: every k must be at least 1, got '0'"),
    (["--k=-1,2"], r"--k: expected numbers or increasing ranges .* got '-1'"),
    (["--k", "1.5,2"], r"--k: expected numbers or increasing ranges"),
    (["--k", "5-2"], r"--k: expected numbers or increasing ranges .* got '5-2'"),
    (["--k", "2,2"], r"--k: give each k once, got 2 more than once"),
    (["--k", "1-4,3,8"], r"--k: give each k once, got 3 more than once"),
    (["--k", "1-1000000000"], r"--k: more than 10000 candidates"),
    (["--k-max", "1000000000"], r"--k: more than 10000 candidates"),
    (["--k", ""], r"--k: no k given; e.g. --k 2,4,8 or --k 1-6"),
    (["--k", "70,80"], r"\[70, 80\] is larger than n_samples=60"),
    (["--k-min", "5", "--k-max", "2"], r"--k-min 5 is larger than --k-max 2"),
    (["--k-min", "0"], r"argument --k-min: must be a positive integer, got '0'"),
    (["--k-max", "two"], r"argument --k-max: must be a positive integer"),
    (["--se-factor", "-1"], r"--se-factor"),
    (["--se-factor", "inf"], r"--se-factor: must be a float"),
    (["--n-jobs", "x"], r"argument --n-jobs: must be a number .* got 'x'"),
    (["--n-jobs", "1.5"], r"argument --n-jobs: must be a number .* got '1.5'"),
    (["--n-refs", "2.5"], r"--n-refs: must be an int .* or a str among {'auto'}"),
    (["--max-n-refs", "1"], r"--max-n-refs: must be an int in the range \[2, inf\)"),
    (["--stability", "2"], r"--stability: must be a float in the range \(0.0, 1.0\]"),
    (["--metric", "euclid"], r"--metric: invalid choice: 'euclid'"),
    (
        ["--scan", "forward", "--method", "global_max"],
        r"--scan forward .* --method global_max cannot .* Use --scan full",
    ),
    (["--columns", "zz"], r"no column 'zz'"),
    (["--columns", "0,0"], r"--columns must name each column once"),
    (["--columns", " , "], r"--columns must name each column once"),
    (["--seed", "-1"], r"--seed: must be an int in the range \[0, 4294967295\]"),
    (["--seed", "1.5"], r"--seed: must be an int .* or 'none', got '1.5'"),
    (["--n-init", "0"], r"--n-init: must be .*an int in the range \[1, inf\)"),
    (["--clusterer", "gmm", "--n-init", "0"], r"--n-init: must be an int"),
    (["--delimiter", "::"], r"--delimiter: expected one character"),
    (["--key", "X"], r"--key applies to .npz archives"),
    (["--plot-kind", "all"], r"--plot-kind .* add --plot PATH"),
    (["--labels", "{path}"], r"--labels: .* is the data file"),
    (["--labels", "{path}/labels.csv"], r"--labels: cannot write .*Not a directory"),
]


@pytest.mark.parametrize(
    ("options", "match"),
    CLI_OPTION_ROWS,
    ids=[" ".join(row[0]) for row in CLI_OPTION_ROWS],
)
def test_cli_bad_option(tmp_path, capsys, options, match):
    path = tmp_path / "ok.csv"
    np.savetxt(path, BLOBS, delimiter=",")
    argv = [str(path), *(option.format(path=path) for option in options), "--quiet"]
    line = _one_error_line(capsys, argv)
    assert re.search(match, line), line


def test_cli_skips_text_columns(tmp_path, capsys, blobs):
    path = tmp_path / "mixed.csv"
    path.write_text(
        "x,name,y\n" + "".join(f"{a},p{i},{b}\n" for i, (a, b) in enumerate(blobs))
    )
    data, _ = _run_json(capsys, [str(path), "--n-refs", "4", "--k", "1-4", "--quiet"])
    assert data["n_clusters"] == 3
    assert data["data"]["columns"] == ["x", "y"]


# --------------------------------------------------------------------------
# Reading what users have


def test_quoted_newline_in_a_text_field(tmp_path, capsys, blobs):
    path = tmp_path / "notes.csv"
    path.write_text(
        "note,x,y\n"
        + "".join(
            f'"point {i},\nsee ""p""",{a},{b}\n' for i, (a, b) in enumerate(blobs)
        )
    )
    data, err = _run_json(capsys, [str(path), *FAST[:-1]])
    assert "skipped the text column 'note'" in err
    assert data["data"]["n_samples"] == 60
    assert_allclose([row["gap"] for row in data["table"]], _gap_of(blobs))


@pytest.mark.parametrize("header", ["x,y,\n", ""])
def test_trailing_delimiter_is_ignored(tmp_path, capsys, blobs, header):
    path = tmp_path / "trailing.csv"
    path.write_text(header + "".join(f"{a},{b},\n" for a, b in blobs))
    data, err = _run_json(capsys, [str(path), *FAST])
    assert err == ""
    assert data["data"]["n_features"] == 2
    assert_allclose([row["gap"] for row in data["table"]], _gap_of(blobs))


@pytest.mark.parametrize(
    "head, sep, newline, tail",
    [
        ("# made by hand\n\nx,y\n", ",  ", "\n", "\n   \n\n"),  # comments, blanks
        ("x,y\r\n", ",", "\r\n", "\r\n"),  # Windows line ends
        ("x y\n", "   ", "\n", "\n"),  # aligned columns
    ],
    ids=["comments", "crlf", "whitespace"],
)
def test_text_layouts(tmp_path, capsys, blobs, head, sep, newline, tail):
    rows = newline.join(f"{a:>22}{sep}{b}" for a, b in blobs)
    path = tmp_path / "data.txt"
    path.write_bytes((head + rows + tail).encode())
    data, _ = _run_json(capsys, [str(path), *FAST])
    assert data["data"]["columns"] == ["x", "y"]
    assert_allclose([row["gap"] for row in data["table"]], _gap_of(blobs))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "latin-1"])
def test_encodings(tmp_path, capsys, blobs, encoding):
    path = tmp_path / "data.csv"
    text = "café,y\n" + "".join(f"{a},{b}\n" for a, b in blobs)
    path.write_bytes(text.encode(encoding))
    data, _ = _run_json(capsys, [str(path), *FAST])
    assert data["data"]["columns"] == ["café", "y"]


def test_no_pandas_needed(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("name,x,y\n" + "".join(f"p,{a},{b}\n" for a, b in BLOBS))
    code = (
        "import sys\n"
        "class NoPandas:\n"
        "    def find_spec(self, name, *args):\n"
        "        if name.partition('.')[0] == 'pandas':\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, NoPandas())\n"
        "from skgap._cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path), *FAST, "--json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,  # outside the source tree
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["n_clusters"] == 3


@pytest.mark.parametrize(
    "text, columns",
    [
        ("x;y\n" + "".join(f"{a:.6f};{b:.6f}\n" for a, b in BLOBS), ["x", "y"]),
        (",x,y\n" + "".join(f"{i},{a},{b}\n" for i, (a, b) in enumerate(BLOBS)), None),
        ("x\ty\n" + "".join(f"{a}\t{b}\n" for a, b in BLOBS).replace(".", ","), None),
    ],
    ids=["semicolons", "pandas-index", "decimal-comma"],
)
def test_messy_text_without_pandas(tmp_path, capsys, monkeypatch, text, columns):
    """The reader's features need no pandas: they work where it cannot import."""

    class NoPandas:
        def find_spec(self, name, *args):
            if name.partition(".")[0] == "pandas":
                raise ImportError(name)

    monkeypatch.setattr(sys, "meta_path", [NoPandas(), *sys.meta_path])
    for name in [name for name in sys.modules if name.partition(".")[0] == "pandas"]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError):
        import pandas  # noqa: F401
    path = tmp_path / "data.csv"
    path.write_text(text)
    data, _ = _run_json(capsys, [str(path), *FAST])
    assert data["data"]["columns"] == (columns or ["x", "y"])
    assert data["n_clusters"] == 3
    path.write_text(text.replace("\n", "\nnope;1\n", 1) if columns else text + "1")
    assert "line" in _one_error_line(capsys, [str(path), *FAST])


def test_options_of_the_reader(tmp_path, capsys, blobs):
    path = tmp_path / "data.txt"
    path.write_text("".join(f"{a}|{b}\n" for a, b in blobs))
    data, _ = _run_json(capsys, [str(path), "--delimiter", "|", *FAST])
    assert data["data"]["columns"] == ["0", "1"]
    # --header yes: the first row names the columns, even if it holds numbers
    data, _ = _run_json(capsys, [str(path), "--header", "yes", *FAST])
    first = [repr(float(v)) for v in blobs[0]]
    assert data["data"]["columns"] == first and data["data"]["n_samples"] == 59
    # --header no: a header row is a row of text
    named = _write(tmp_path / "named.csv", "a,b\n" + path.read_text().replace("|", ","))
    line = _one_error_line(capsys, [str(named), "--header", "no"])
    assert "line 1, column 0: 'a' is not a number" in line


def _gap_of(X, **params):
    return _reference_fit(X, **params).gap_results_["gap"]


# --------------------------------------------------------------------------
# stdin, and where the output goes


def test_stdin_from_a_terminal_says_how_to_end(monkeypatch, capsys, blobs):
    class Terminal(io.TextIOWrapper):
        def isatty(self):
            return True

    text = "".join(f"{a},{b}\n" for a, b in blobs).encode()
    monkeypatch.setattr(sys, "stdin", Terminal(io.BytesIO(text)))
    assert main(["-", "--k", "1-4", "--n-refs", "3", "--n-init", "1"]) == 0
    assert "reading the data from the terminal: end them with Ctrl-D" in (
        capsys.readouterr().err
    )


def test_closed_stdin(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", None)  # what Python sets when fd 0 is closed
    line = _one_error_line(capsys, ["-"])
    assert "cannot read stdin: it is closed" in line


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX shell")
def test_closed_stdin_subprocess(tmp_path):
    # run outside the source tree: its skgap/ has no compiled extension
    result = subprocess.run(
        ["sh", "-c", f"'{sys.executable}' -m skgap - <&-"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("skgap: error: cannot read stdin: it is closed")
    assert "Traceback" not in result.stderr


def test_outputs_are_checked_before_the_fit(tmp_path, capsys, blobs, monkeypatch):
    def fail(self, X, y=None):
        raise AssertionError("fitted before checking the outputs")

    monkeypatch.setattr(skgap._cli.GapKMeans, "fit", fail)
    path = _write_csv(tmp_path / "data.csv", blobs)
    blocker = tmp_path / "file"
    blocker.write_text("")
    for option in ("--labels", "--plot"):
        line = _one_error_line(capsys, [path, option, str(blocker / "out.png")])
        assert line.startswith(f"skgap: error: {option}: cannot write")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "file"]


def test_existing_outputs_are_overwritten(tmp_path, capsys, blobs):
    path = _write_csv(tmp_path / "data.csv", blobs)
    labels = tmp_path / "labels.csv"
    labels.write_text("old\n")
    assert main([path, *FAST, "--labels", str(labels)]) == 0
    assert labels.read_text().splitlines()[:1] == ["label"]


# --------------------------------------------------------------------------
# Exit statuses: the user's errors are one line, skgap's bugs a traceback


def test_a_bug_is_a_traceback_not_bad_input(tmp_path, blobs, monkeypatch):
    def broken(self, X, y=None):
        return np.zeros(3) + np.zeros(4)  # a ValueError from NumPy: a bug

    monkeypatch.setattr(skgap._cli.GapKMeans, "fit", broken)
    path = _write_csv(tmp_path / "data.csv", blobs)
    with pytest.raises(ValueError, match="could not be broadcast"):
        main([path, *FAST])


def _raise(exc):
    def fit(self, X, y=None):
        raise exc

    return fit


USER_ERRORS = {
    "skgap's input check": InvalidInputError("the data are\n  bad"),
    "scikit-learn's parameter check": InvalidParameterError("the data are bad"),
    "a clusterer's ValueError": ClustererFitError(
        "the data are bad", k=2, dataset="the data", original=ValueError("bad")
    ),
}


@pytest.mark.parametrize("case", list(USER_ERRORS), ids=list(USER_ERRORS))
def test_the_user_s_errors_are_told_by_their_type(
    tmp_path, capsys, blobs, monkeypatch, case
):
    monkeypatch.setattr(skgap._cli.GapKMeans, "fit", _raise(USER_ERRORS[case]))
    path = _write_csv(tmp_path / "data.csv", blobs)
    line = _one_error_line(capsys, [path, *FAST])
    assert line == "skgap: error: the data are bad"


BUGS = {
    # a message that reads like one for the user, raised by skgap's code
    "plain ValueError": ValueError("the data are bad"),
    "plain TypeError": TypeError("the data are bad"),
    "a clusterer's bug": ClustererFitError(
        "KMeans failed", k=2, dataset="the data", original=IndexError("oops")
    ),
}


@pytest.mark.parametrize("case", list(BUGS), ids=list(BUGS))
def test_any_other_error_is_a_bug(tmp_path, capsys, blobs, monkeypatch, case):
    monkeypatch.setattr(skgap._cli.GapKMeans, "fit", _raise(BUGS[case]))
    path = _write_csv(tmp_path / "data.csv", blobs)
    with pytest.raises(type(BUGS[case]), match="the data are bad|KMeans failed"):
        main([path, *FAST])
    assert "error" not in capsys.readouterr().err


def test_the_cli_reads_no_bytecode_nor_argparse_internals():
    source = inspect.getsource(skgap._cli)
    assert "import dis" not in source and "co_code" not in source
    assert "_actions" not in source


def test_a_bug_exits_1_with_traceback(tmp_path):
    code = (
        "import sys, skgap._cli as c\n"
        "c._candidate_ks = lambda args: 1 / 0\n"
        "sys.exit(c.main(['--quiet']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ZeroDivisionError" in result.stderr


def test_scale_near_the_float_limits(tmp_path, capsys, blobs):
    for factor in (1e300, 1e-300):
        np.save(tmp_path / "X.npy", blobs * factor)
        data, _ = _run_json(capsys, [str(tmp_path / "X.npy"), "--scale", *FAST])
        assert data["n_clusters"] == 3


# --------------------------------------------------------------------------
# Built from the library: options, defaults, columns


def test_choices_come_from_the_library():
    actions = {a.dest: a for a in build_parser()._actions}
    assert set(actions["method"].choices) == set(RULES)
    assert set(actions["reference"].choices) == set(REFERENCES)
    assert set(actions["statistic"].choices) == set(STATISTICS)
    assert set(actions["metric"].choices) == set(METRICS)
    assert list(actions["plot_kind"].choices) == [*KINDS, "all"]
    defaults = GapKMeans().get_params()
    for param in PASS_THROUGH:
        assert actions[param].default == defaults[param]
        if actions[param].choices:  # the default first
            assert actions[param].choices[0] == defaults[param]


def test_a_pass_through_option_is_one_entry(tmp_path, capsys, blobs, monkeypatch):
    seen = {}

    class Recording(GapKMeans):
        def fit(self, X, y=None):
            seen.update(self.get_params(deep=False))
            return super().fit(X)

    monkeypatch.setattr(skgap._cli, "GapKMeans", Recording)
    monkeypatch.setitem(PASS_THROUGH, "warm_start", "keep the fits")
    monkeypatch.setitem(PASS_THROUGH, "kmeans_engine", "who runs k-means")
    path = _write_csv(tmp_path / "data.csv", blobs)
    data, _ = _run_json(
        capsys, [path, *FAST, "--warm-start", "--kmeans-engine", "sklearn"]
    )
    assert seen["warm_start"] is True
    assert data["parameters"]["warm_start"] is True
    assert seen["kmeans_engine"] == data["parameters"]["kmeans_engine"] == "sklearn"
    line = _one_error_line(capsys, [path, "--kmeans-engine", "numba"])
    assert "--kmeans-engine: invalid choice: 'numba' (choose from" in line


def test_new_result_columns_appear_by_themselves(tmp_path, capsys, blobs, monkeypatch):
    class WithColumn(GapKMeans):
        def fit(self, X, y=None):
            super().fit(X)
            self.gap_results_["stability"] = np.linspace(0, 1, 4)
            return self

    monkeypatch.setattr(skgap._cli, "GapKMeans", WithColumn)
    path = _write_csv(tmp_path / "data.csv", blobs)
    data, _ = _run_json(capsys, [path, *FAST])
    assert [row["stability"] for row in data["table"]] == [0, 1 / 3, 2 / 3, 1]
    assert main([path, *FAST]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.split()[:1] == ["k"])
    assert header.split()[-3:] == ["stability", "gap*", "chosen"]


def test_selection_frequencies_and_every_rule_in_json(tmp_path, capsys, blobs):
    path = _write_csv(tmp_path / "data.csv", blobs)
    data, _ = _run_json(capsys, [path, *FAST])
    frequencies = [row["selection_frequency"] for row in data["table"]]
    assert sum(frequencies) == pytest.approx(1.0)
    position = [row["k"] for row in data["table"]].index(data["n_clusters"])
    assert data["selection_frequency"] == frequencies[position]
    assert set(data["rule_choices"]) == {"gap", "gap_star"}
    assert data["rule_choices"]["gap"]["tibshirani"] == data["n_clusters"]
    assert data["rule"] == RULES["tibshirani"].__doc__.splitlines()[0]


def test_n_refs_auto_metric_and_scan(tmp_path, capsys, blobs):
    path = _write_csv(tmp_path / "data.csv", blobs)
    data, _ = _run_json(
        capsys,
        [path, "--k", "1-6", "--n-refs", "auto", "--metric", "cityblock"]
        + ["--scan", "forward", "--n-init", "3"],
    )
    assert data["parameters"]["n_refs"] == "auto"
    assert data["n_refs_used"] >= 10
    assert data["parameters"]["metric"] == "cityblock"
    assert [row["k"] for row in data["table"]] == list(range(1, data["n_clusters"] + 2))
    assert main([path, "--n-refs", "many"]) == 2
    err = capsys.readouterr().err
    assert (
        "--n-refs: must be an int in the range [1, inf) or a str among {'auto'}" in err
    )
    assert "got 'many'" in err


def test_verbose_is_progress(tmp_path, blobs, spy):
    path = _write_csv(tmp_path / "data.csv", blobs)
    for flag in ("--verbose", "-v"):
        assert main([path, "--k", "1-3", "--n-refs", "2", "--n-init", "1", flag]) == 0
        assert spy.verbose == 1


# --------------------------------------------------------------------------
# Metrics that need what the command line cannot give: one line, before fitting


@pytest.mark.parametrize(
    "metric, match",
    [
        (
            "seuclidean",
            r"--metric seuclidean: it needs .* metric_params=\{'V': \.\.\.\}",
        ),
        ("mahalanobis", r"--metric mahalanobis: .* metric_params=\{'VI': \.\.\.\}"),
        ("wminkowski", r"argument --metric: invalid choice: 'wminkowski'"),
    ],
)
def test_metric_that_needs_metric_params(tmp_path, capsys, monkeypatch, metric, match):
    def fail(self, X, y=None):
        raise AssertionError("fitted before checking the metric")

    monkeypatch.setattr(skgap._cli.GapKMeans, "fit", fail)
    X = np.random.default_rng(0).normal(size=(40, 3))
    path = _write_csv(tmp_path / "data.csv", X)
    line = _one_error_line(capsys, [path, "--metric", metric, *FAST])
    assert re.search(match, line), line


def test_haversine_needs_two_columns(tmp_path, capsys, blobs):
    X = np.column_stack([blobs, blobs[:, 0]]) / 100  # radians
    path = _write_csv(tmp_path / "data.csv", X)
    line = _one_error_line(capsys, [path, "--metric", "haversine", *FAST])
    assert line == (
        "skgap: error: --metric haversine: it takes exactly 2 columns, latitude and "
        f"longitude in radians, and {path} has 3; choose them with --columns"
    )
    data, _ = _run_json(
        capsys, [path, "--metric", "haversine", "--columns", "0,1", *FAST]
    )
    assert data["parameters"]["metric"] == "haversine"
    assert data["data"]["n_features"] == 2


# --------------------------------------------------------------------------
# Options checked as they are read; GapKMeans' messages in the options' names


def test_options_are_checked_before_reading_the_data(capsys):
    # no such file: the option is reported first, as argparse reads it
    line = _one_error_line(capsys, ["/no/such/file.csv", "--stability", "0"])
    assert line.startswith(
        "skgap: error: argument --stability: must be a float in the range "
        "(0.0, 1.0], got '0'"
    )


def test_messages_name_the_options_from_the_command_s_table():
    from skgap._cli import _in_command_line_terms

    assert _in_command_line_terms(
        "n_refs='auto' reached max_n_refs=100; raise max_n_refs, or look at "
        "selection_frequencies_. Use scan='full' with the method and the metric."
    ) == (
        "--n-refs auto reached --max-n-refs 100; raise --max-n-refs, or look at "
        "selection_frequencies_. Use --scan full with the method and the metric."
    )
    assert (
        _in_command_line_terms(
            "The 'se_factor' parameter of GapKMeans must be a float in the range "
            "[0.0, inf). Got -1 instead."
        )
        == "--se-factor: must be a float in the range [0.0, inf). Got -1 instead."
    )
    assert _in_command_line_terms("Every k of n_clusters_range and n_jobs") == (
        "Every k of --k and --n-jobs"
    )


def test_every_option_maps_to_the_parameter_it_sets(
    tmp_path, capsys, blobs, monkeypatch
):
    seen = {}

    class Recording(GapKMeans):
        def fit(self, X, y=None):
            seen.update(self.get_params(deep=False))
            return super().fit(X)

    monkeypatch.setattr(skgap._cli, "GapKMeans", Recording)
    path = _write_csv(tmp_path / "data.csv", blobs)
    _run_json(capsys, [path, *FAST])
    given = {*PASS_THROUGH, *skgap._cli.RENAMED}
    assert given <= set(seen)
    # the parameters the command does not set keep GapKMeans' defaults
    defaults = GapKMeans().get_params(deep=False)
    untouched = set(seen) - given - {"estimator", "verbose"}
    assert {p: seen[p] for p in untouched} == {p: defaults[p] for p in untouched}


# --------------------------------------------------------------------------
# Unscaled data: the warning whole and first, the result marked, --scale named


def _unscaled(tmp_path, blobs):
    X = blobs.copy()
    X[:, 0] *= 1000.0  # spreads a thousandfold apart
    return _write_csv(tmp_path / "unscaled.csv", X)


def test_unscaled_data_warns_before_the_result(tmp_path, capsys, blobs, monkeypatch):
    path = _unscaled(tmp_path, blobs)
    monkeypatch.setattr(sys, "stderr", sys.stdout)  # one stream, in order
    assert main([path, "--k", "1-4", "--n-refs", "3", "--n-init", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    warning = next(i for i, line in enumerate(lines) if "warning" in line)
    chosen = next(i for i, line in enumerate(lines) if line.startswith("chosen k"))
    table = next(i for i, line in enumerate(lines) if line.split()[:1] == ["k"])
    assert warning < chosen < table
    assert lines[warning].startswith(
        "skgap: warning: The spreads of the features of X differ by more than two "
        "orders of magnitude"
    )
    # whole, and in the command's terms
    assert lines[warning].endswith(
        "the distance is dominated by the widest features. Standardise the columns "
        "with --scale."
    )
    assert "StandardScaler" not in lines[warning]
    assert "UNRELIABLE" in lines[chosen]
    assert "run again with --scale" in lines[chosen + 1]


def test_unscaled_data_marks_the_result_even_when_quiet(tmp_path, capsys, blobs):
    path = _unscaled(tmp_path, blobs)
    assert main([path, *FAST]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "UNRELIABLE" in captured.out
    data, _ = _run_json(capsys, [path, *FAST])
    assert data["reliable"] is False
    assert len(data["warnings"]) == 1
    assert data["warnings"][0].endswith("Standardise the columns with --scale.")


def test_scaled_data_is_not_marked(tmp_path, capsys, blobs):
    path = _unscaled(tmp_path, blobs)
    assert main([path, *FAST, "--scale"]) == 0
    assert "UNRELIABLE" not in capsys.readouterr().out
    data, _ = _run_json(capsys, [path, *FAST, "--scale"])
    assert data["reliable"] is True
    assert data["warnings"] == []


def test_long_warnings_are_not_cut(tmp_path, capsys, blobs, monkeypatch):
    long = "word " * 100 + "the end."

    class Warning(GapKMeans):
        def fit(self, X, y=None):
            warnings.warn(long, SkgapWarning, stacklevel=2)
            return super().fit(X)

    monkeypatch.setattr(skgap._cli, "GapKMeans", Warning)
    path = _write_csv(tmp_path / "data.csv", blobs)
    assert main([path, "--k", "1-4", "--n-refs", "3", "--n-init", "1"]) == 0
    err = capsys.readouterr().err
    assert f"skgap: warning: {long.strip()}" in err.splitlines()


# --------------------------------------------------------------------------
# --n-jobs: the help's default is the JSON's value


def test_n_jobs_default_agrees_with_json_and_help(tmp_path, capsys, blobs):
    path = _write_csv(tmp_path / "data.csv", blobs)
    data, _ = _run_json(capsys, [path, *FAST])
    assert data["parameters"]["n_jobs"] == 1
    data, _ = _run_json(capsys, [path, *FAST, "--n-jobs", "-1"])
    assert data["parameters"]["n_jobs"] == -1
    assert main(["--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "parallel jobs, -1 for all processors (default: 1)" in help_text


# --------------------------------------------------------------------------
# Shares: never rounded to 100 % (or 0 %) when they are not


@pytest.mark.parametrize(
    "share, text",
    [
        (1.0, "100%"),
        (0.0, "0%"),
        (0.998, "99.8%"),
        (0.002, "0.2%"),
        (0.9999, ">99.9%"),
        (0.0001, "<0.1%"),
        (0.954, "95%"),
    ],
)
def test_percent(share, text):
    from skgap._cli import _percent

    assert _percent(share) == text


def test_table_share_is_not_rounded_to_100(capsys):
    results = {
        "n_clusters": np.array([1, 2]),
        "gap": np.array([0.1, 0.5]),
        "selection_frequency": np.array([0.002, 0.998]),
    }
    lines = format_table(results, chosen=2).splitlines()
    assert lines[1].split()[-1] == "0.2%"
    assert lines[2].split()[-3] == "99.8%"


def test_bootstrap_option_says_what_the_frequency_covers(tmp_path, capsys, blobs):
    path = _write_csv(tmp_path / "data.csv", blobs)
    assert main([path, "--bootstrap", "8", "--json", *FAST]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["selection_resamples"] == "the data and the references"
    assert main([path, *FAST]) == 0
    out = capsys.readouterr().out
    assert "of the resamples of the references" in out
    assert "--bootstrap N: of the data too" in out
    assert main([path, "--bootstrap", "-1", *FAST]) == 2
    assert "--bootstrap" in capsys.readouterr().err
