"""Command line: choose the number of clusters of a data file with the gap statistic.

Run ``skgap`` (or ``python -m skgap``) without a file for a built-in example,
or ``skgap data.csv`` on your own data; ``skgap --help`` lists every option.
"""

import argparse
import json
import math
import os
import re
import sys
import textwrap
import time
import warnings

import numpy as np

from ._cli_io import PROG, InputError, read_data

__all__ = ["main"]

#: Exit statuses: success, an internal error (a bug: please report it), bad input.
EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2

CLUSTERERS = ("kmeans", "minibatch", "agglomerative", "gmm", "birch")
REFERENCES = ("pca", "uniform")
STATISTICS = ("gap", "gap_star")
METHODS = ("tibshirani", "first_se_max", "global_se_max", "first_max", "global_max")
PLOT_KINDS = ("gap", "log_w", "diff", "gap_star", "all")


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad option as one line instead of exiting."""

    def error(self, message):
        raise InputError(f"{message} (see '{PROG} --help')")


# --------------------------------------------------------------------------
# Argument parsing


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _int(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _nonnegative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _positive_float(text):
    value = _nonnegative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _k_list(text):
    items = [item.strip() for item in text.split(",") if item.strip()]
    ks = []
    for item in items:
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", item)
        if not match:
            raise argparse.ArgumentTypeError(
                "expected positive integers or ranges such as "
                f"2,4,8 or 1-6, got {text!r}"
            )
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) else low
        if low < 1 or high < low:
            raise argparse.ArgumentTypeError(
                f"expected positive integers or increasing ranges, got {item!r}"
            )
        ks.extend(range(low, high + 1))
    if not ks:
        raise argparse.ArgumentTypeError("expected at least one number of clusters")
    return sorted(set(ks))


def _seed(text):
    if text.lower() == "none":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer or 'none', got {text!r}"
        ) from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(
            f"expected an integer in [0, 2**32), got {text!r}"
        )
    return value


def _n_jobs(text):
    value = _int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("n-jobs must not be 0 (use 1, 2, ... or -1)")
    return value


def build_parser():
    """The argument parser of the ``skgap`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser; its help text documents every option with its default.
    """
    from . import __version__
    from ._utils import _default_estimator

    parser = _ArgumentParser(
        prog=PROG,
        description=textwrap.fill(
            "Choose the number of clusters k of a data set with the gap statistic "
            "(Tibshirani, Walther & Hastie, 2001). Without FILE, runs on a built-in "
            "example (500 points in 4 blobs). Prints the chosen k, the rule that "
            "chose it and the table of the statistic for every candidate k.",
            width=79,
        ),
        epilog=(
            "examples:\n"
            f"  {PROG}                                  built-in example\n"
            f"  {PROG} data.csv                         all numeric columns\n"
            f"  {PROG} data.tsv --columns x,y --scale   two columns, standardised\n"
            f"  {PROG} X.npz --key X --k 2-8 --json     a .npz array, JSON output\n"
            f"  {PROG} data.csv --labels labels.csv --plot gap.png\n"
            "\n"
            "exit status: 0 on success, 2 for bad input or options (one line on\n"
            "stderr), 1 for an internal error."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help=(
            "data file, one sample per row: CSV/TSV/whitespace-separated text "
            "(delimiter and header row detected), .npy or .npz; '-' reads text "
            "from stdin. Default: the built-in example."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )

    data = parser.add_argument_group("reading the data")
    data.add_argument(
        "--columns",
        metavar="COLS",
        help=(
            "comma-separated column names (from the header row) or 0-based "
            "indices to use, e.g. 'x,y' or '0,2'. Default: every numeric column "
            "(text columns are skipped with a note)."
        ),
    )
    data.add_argument(
        "--delimiter",
        metavar="CHAR",
        help="field delimiter of a text file, e.g. ',' or 'tab'. Default: detected.",
    )
    data.add_argument(
        "--header",
        choices=("auto", "yes", "no"),
        default="auto",
        help="whether the first row of a text file holds column names (default: auto).",
    )
    data.add_argument(
        "--key",
        metavar="NAME",
        help="name of the array in a .npz file (default: its only array).",
    )
    data.add_argument(
        "--scale",
        action="store_true",
        help="standardise every column to mean 0 and variance 1 first (default: off).",
    )

    gap = parser.add_argument_group("the gap statistic")
    gap.add_argument(
        "--k",
        type=_k_list,
        metavar="KS",
        help=(
            "candidate numbers of clusters, e.g. '2,4,8' or "
            "'1-6' (default: k-min..k-max)."
        ),
    )
    gap.add_argument(
        "--k-min",
        type=_positive_int,
        metavar="K",
        help="smallest candidate k (default: 1).",
    )
    gap.add_argument(
        "--k-max",
        type=_positive_int,
        metavar="K",
        help="largest candidate k (default: 10).",
    )
    gap.add_argument(
        "--n-refs",
        type=_positive_int,
        default=20,
        metavar="B",
        help="number of reference data sets B (default: 20).",
    )
    gap.add_argument(
        "--reference",
        choices=REFERENCES,
        default="pca",
        help=(
            "null distribution of the reference data: 'pca' draws uniformly in the "
            "box of the principal axes, 'uniform' in the box of the features "
            "(default: pca)."
        ),
    )
    gap.add_argument(
        "--statistic",
        choices=STATISTICS,
        default="gap",
        help=(
            "statistic the rule is applied to: gap, or Gap* "
            "without the log (default: gap)."
        ),
    )
    gap.add_argument(
        "--method",
        choices=METHODS,
        default="tibshirani",
        help=(
            "rule that chooses k (those of R's cluster::maxSE; default: tibshirani, "
            "the smallest k with gap(k) >= gap(k+1) - se(k+1))."
        ),
    )
    gap.add_argument(
        "--se-factor",
        type=_nonnegative_float,
        default=1.0,
        metavar="F",
        help="multiplier of the standard errors in the rule (default: 1.0).",
    )
    gap.add_argument(
        "--power",
        type=_positive_float,
        default=2.0,
        metavar="P",
        help=(
            "exponent of the Euclidean distance in the dispersion W_k; R's d.power "
            "(default: 2.0)."
        ),
    )
    gap.add_argument(
        "--clusterer",
        choices=CLUSTERERS,
        default="kmeans",
        help=(
            "clusterer: scikit-learn's KMeans, MiniBatchKMeans, "
            "AgglomerativeClustering (Ward; memory grows as n^2), GaussianMixture "
            "or Birch (default: kmeans)."
        ),
    )
    gap.add_argument(
        "--n-init",
        type=_positive_int,
        metavar="N",
        help=(
            "restarts of kmeans, minibatch or gmm (default: "
            f"{_default_estimator().n_init} for kmeans, skgap's default; "
            "scikit-learn's default for the others)."
        ),
    )
    gap.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=None,
        metavar="N",
        help=(
            "parallel jobs over the reference data sets; -1 "
            "uses every core (default: 1)."
        ),
    )
    gap.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help=(
            "random seed of the reference draws and of the clusterer; 'none' for a "
            "different run every time (default: 0)."
        ),
    )

    out = parser.add_argument_group("output")
    out.add_argument(
        "--json",
        action="store_true",
        help=(
            "print one JSON object (chosen k, parameters, table) instead of the table."
        ),
    )
    out.add_argument(
        "--labels",
        metavar="PATH",
        help=(
            "write the cluster label of every sample at the chosen k to this CSV file."
        ),
    )
    out.add_argument(
        "--plot",
        metavar="PATH",
        help=(
            "save the gap figure to this image file (.png, "
            ".pdf, .svg; needs matplotlib)."
        ),
    )
    out.add_argument(
        "--plot-kind",
        choices=PLOT_KINDS,
        default="gap",
        help="which figure --plot draws; 'all' draws the four in one (default: gap).",
    )
    talk = out.add_mutually_exclusive_group()
    talk.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress and no notes on stderr, only errors.",
    )
    talk.add_argument(
        "--progress",
        action="store_true",
        help=(
            "show progress on stderr even when it is not a "
            "terminal (default: only on a terminal)."
        ),
    )
    return parser


# --------------------------------------------------------------------------
# The estimator


def _clusterer(name, n_init):
    """The scikit-learn clusterer of --clusterer (None: skgap's default KMeans)."""
    if name == "kmeans":
        if n_init is None:
            return None
        from sklearn.cluster import KMeans

        return KMeans(n_init=n_init)
    if name == "minibatch":
        from sklearn.cluster import MiniBatchKMeans

        return MiniBatchKMeans() if n_init is None else MiniBatchKMeans(n_init=n_init)
    if name == "gmm":
        from sklearn.mixture import GaussianMixture

        return GaussianMixture() if n_init is None else GaussianMixture(n_init=n_init)
    if n_init is not None:
        raise InputError(f"--n-init applies to kmeans, minibatch and gmm, not {name}")
    if name == "agglomerative":
        from sklearn.cluster import AgglomerativeClustering

        return AgglomerativeClustering()
    from sklearn.cluster import Birch

    return Birch()


def _candidate_ks(args):
    if args.k is not None:
        if args.k_min is not None or args.k_max is not None:
            raise InputError(
                "argument --k: not allowed with --k-min or --k-max; give either "
                "the list or the range"
            )
        return args.k
    k_min = 1 if args.k_min is None else args.k_min
    k_max = 10 if args.k_max is None else args.k_max
    if k_min > k_max:
        raise InputError(f"--k-min {k_min} is larger than --k-max {k_max}")
    return list(range(k_min, k_max + 1))


def _describe_rule(method, statistic, se_factor):
    f = "gap" if statistic == "gap" else "gap*"
    s = "se" if statistic == "gap" else "se*"
    if se_factor != 1:
        s = f"{se_factor:g} x {s}"
    return {
        "tibshirani": f"the smallest k with {f}(k) >= {f}(k+1) - {s}(k+1)",
        "first_se_max": f"the smallest k within {s} of the first local maximum of {f}",
        "global_se_max": f"the smallest k within {s} of the global maximum of {f}",
        "first_max": f"the first local maximum of {f}",
        "global_max": f"the global maximum of {f}",
    }[method]


def _estimator_name(estimator):
    if estimator is None:
        from ._utils import _default_estimator

        estimator = _default_estimator()
    name = type(estimator).__name__
    n_init = estimator.get_params().get("n_init")
    return f"{name}(n_init={n_init})" if n_init is not None else name


# --------------------------------------------------------------------------
# Output

# (key in gap_results_, header, format)
_COLUMNS = {
    "n_clusters": ("k", "d"),
    "log_w": ("log W", ".4f"),
    "expected_log_w": ("E[log W*]", ".4f"),
    "gap": ("gap", ".4f"),
    "se": ("se", ".4f"),
    "diff": ("diff", ".4f"),
    "gap_star": ("gap*", ".5g"),
    "se_star": ("se*", ".5g"),
    "diff_star": ("diff*", ".5g"),
}


def _format_value(value, spec):
    if spec == "d":
        return str(int(value))
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return format(value, spec)


def _column_spec(values, spec):
    """One format for a whole column: fixed decimals unless the scale is extreme."""
    if not spec.endswith("g"):
        return spec
    finite = np.abs(np.asarray(values, dtype=np.float64))
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if finite.size == 0:
        return ".4f"
    largest = float(finite.max())
    if not 1e-3 <= largest < 1e7:
        return ".4e"
    digits = math.floor(math.log10(largest)) + 1
    return f".{max(0, 5 - digits)}f"


def format_table(results, chosen, statistic="gap"):
    """The gap table aligned for a terminal, the chosen row marked.

    Parameters
    ----------
    results : dict of ndarray
        ``GapKMeans.gap_results_``.
    chosen : int
        The chosen number of clusters.
    statistic : {'gap', 'gap_star'}, default='gap'
        The statistic that chose k; 'gap_star' adds the se* and diff* columns.

    Returns
    -------
    table : str
        The table, one line per candidate k.
    """
    keys = ["n_clusters", "log_w", "expected_log_w", "gap", "se", "diff", "gap_star"]
    if statistic == "gap_star":
        keys += ["se_star", "diff_star"]
    specs = [_column_spec(results[key], _COLUMNS[key][1]) for key in keys]
    cells = [[_COLUMNS[key][0] for key in keys]]
    for i in range(len(results["n_clusters"])):
        cells.append(
            [
                _format_value(results[key][i], spec)
                for key, spec in zip(keys, specs, strict=True)
            ]
        )
    widths = [max(len(row[j]) for row in cells) for j in range(len(keys))]
    lines = []
    for i, row in enumerate(cells):
        line = "  ".join(
            cell.rjust(width) for cell, width in zip(row, widths, strict=True)
        )
        if i > 0 and int(results["n_clusters"][i - 1]) == chosen:
            line += "  <- chosen"
        lines.append("  " + line)
    return "\n".join(lines)


def _json_number(value):
    value = float(value)
    return value if math.isfinite(value) else None


def _json_report(data, gap, args, ks, estimator_name):
    results = gap.gap_results_
    table = []
    for i in range(len(results["n_clusters"])):
        row = {"k": int(results["n_clusters"][i])}
        for key in results:
            if key != "n_clusters":
                row[key] = _json_number(results[key][i])
        table.append(row)
    return {
        "n_clusters": int(gap.n_clusters_),
        "method": args.method,
        "statistic": args.statistic,
        "rule": _describe_rule(args.method, args.statistic, args.se_factor),
        "data": {
            "source": data.source,
            "n_samples": int(data.X.shape[0]),
            "n_features": int(data.X.shape[1]),
            "columns": data.columns,
            "scaled": bool(args.scale),
        },
        "parameters": {
            "n_clusters_range": [int(k) for k in ks],
            "n_refs": args.n_refs,
            "reference": args.reference,
            "statistic": args.statistic,
            "method": args.method,
            "se_factor": args.se_factor,
            "power": args.power,
            "clusterer": estimator_name,
            "n_jobs": args.n_jobs,
            "random_state": args.seed,
        },
        "table": table,
    }


def _human_report(data, gap, args, ks, estimator_name, elapsed):
    n, p = data.X.shape
    lines = [
        f"data: {data.source}: {n} samples x {p} feature{'s' if p > 1 else ''}"
        + (" (standardised)" if args.scale else ""),
        f"fit:  {estimator_name} for k in {_format_ks(ks)}, {args.n_refs} "
        f"'{args.reference}' reference data sets, seed {args.seed}, "
        f"{elapsed:.1f} s",
        "",
        f"chosen k = {gap.n_clusters_}",
        f"  by the rule '{args.method}' on the "
        f"{'gap statistic' if args.statistic == 'gap' else 'Gap* statistic'}: "
        f"{_describe_rule(args.method, args.statistic, args.se_factor)}",
        "",
        format_table(gap.gap_results_, gap.n_clusters_, args.statistic),
        "",
        "  log W: log of the within-cluster dispersion W_k of the data;",
        "  E[log W*]: its mean over the reference data sets; gap = E[log W*] - log W;",
        "  diff = gap(k) - gap(k+1) + se(k+1); gap* = E[W*] - W (Mohajer et al.)",
    ]
    return "\n".join(lines)


def _format_ks(ks):
    ks = list(ks)
    if len(ks) > 2 and ks == list(range(ks[0], ks[-1] + 1)):
        return f"{ks[0]}..{ks[-1]}"
    return "{" + ", ".join(str(k) for k in ks) + "}"


def _check_output_path(path, option):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise InputError(f"{option}: the directory {directory} does not exist")
    if os.path.isdir(path):
        raise InputError(f"{option}: {path} is a directory")
    if not os.access(directory, os.W_OK):
        raise InputError(f"{option}: cannot write to {directory}")


def _check_plot_path(path):
    _check_output_path(path, "--plot")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise InputError(
            "--plot needs matplotlib, which is not installed; install it with: "
            "pip install 'skgap[plot]'"
        ) from None
    from matplotlib.backend_bases import FigureCanvasBase

    extension = os.path.splitext(path)[1].lower().lstrip(".")
    formats = FigureCanvasBase.get_supported_filetypes()
    if extension not in formats:
        raise InputError(
            f"--plot: cannot tell the image format of {path!r}; end the name with "
            f"one of {', '.join('.' + f for f in sorted(formats))}"
        )


def _write_labels(path, labels):
    with open(path, "w", newline="") as f:
        f.write("label\n")
        f.write("".join(f"{int(label)}\n" for label in labels))


def _save_plot(path, gap, kind):
    from matplotlib.figure import Figure

    from .plotting import GapStatisticDisplay

    figure = Figure(
        figsize=(10, 8) if kind == "all" else (6.4, 4.8), layout="constrained"
    )
    GapStatisticDisplay.from_estimator(gap, kind=kind, ax=figure.add_subplot())
    figure.savefig(path, dpi=100)


class _Notes:
    """Notes and warnings for stderr, each once, silenced by --quiet."""

    def __init__(self, quiet):
        self.quiet = quiet
        self.seen = set()

    def __call__(self, message, kind="note"):
        if self.quiet or message in self.seen:
            return
        self.seen.add(message)
        print(f"{PROG}: {kind}: {message}", file=sys.stderr)


def _run(argv):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version
        return EXIT_OK if not exc.code else EXIT_USAGE
    notes = _Notes(args.quiet)
    if args.labels is not None:
        _check_output_path(args.labels, "--labels")
    if args.plot is not None:
        _check_plot_path(args.plot)
    ks = _candidate_ks(args)
    estimator = _clusterer(args.clusterer, args.n_init)
    data = read_data(args)
    if data.note and args.file is not None:
        notes(data.note)
    n_samples = data.X.shape[0]
    if n_samples < 2:
        raise InputError(
            f"{data.source} has {n_samples} sample; the gap statistic needs at least 2"
        )
    if min(ks) > n_samples:
        raise InputError(
            f"{data.source} has {n_samples} samples, fewer than the smallest "
            f"candidate k={min(ks)}; lower --k-min or --k"
        )
    X = data.X
    if args.scale:
        from sklearn.preprocessing import StandardScaler

        X = StandardScaler().fit_transform(X)

    from ._gap import GapKMeans

    show_progress = args.progress or (not args.quiet and sys.stderr.isatty())
    gap = GapKMeans(
        estimator,
        n_clusters_range=ks,
        n_refs=args.n_refs,
        reference=args.reference,
        statistic=args.statistic,
        method=args.method,
        se_factor=args.se_factor,
        power=args.power,
        n_jobs=args.n_jobs,
        random_state=args.seed,
        verbose=1 if show_progress else 0,
    )
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gap.fit(X)
    elapsed = time.perf_counter() - start
    for warning in caught:
        message = " ".join(str(warning.message).split())
        if len(message) > 240:
            message = message[:237] + "..."
        notes(message, kind="warning")

    estimator_name = _estimator_name(estimator)
    if args.json:
        report = _json_report(data, gap, args, ks, estimator_name)
        print(json.dumps(report, indent=2, allow_nan=False))
    else:
        print(_human_report(data, gap, args, ks, estimator_name, elapsed))
        if args.file is None and not args.quiet:
            print(f"\n{data.note}.")
    if args.labels is not None:
        _write_labels(args.labels, gap.labels_)
        notes(f"wrote {n_samples} labels to {args.labels}")
    if args.plot is not None:
        _save_plot(args.plot, gap, args.plot_kind)
        notes(f"wrote the {args.plot_kind} figure to {args.plot}")
    return EXIT_OK


def main(argv=None):
    """Run the ``skgap`` command line and return its exit status.

    Reads the data file named in `argv` (or makes the built-in example), fits
    :class:`~skgap.GapKMeans` with the options given, and prints the chosen
    number of clusters with its table (or JSON); bad input is reported as one
    line on stderr. The console script ``skgap`` and ``python -m skgap`` call
    it with ``sys.argv[1:]``.

    Parameters
    ----------
    argv : list of str, default=None
        The command-line arguments; ``None`` means ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 for bad input or options (reported as one line on
        stderr), 1 for an unexpected internal error.

    See Also
    --------
    skgap.GapKMeans : The estimator behind the command.

    Examples
    --------
    >>> from skgap.__main__ import main
    >>> main(["--k", "1-6", "--n-refs", "5", "--json", "--quiet"])  # doctest: +SKIP
    0
    """
    from .exceptions import ClustererFitError

    try:
        return _run(argv)
    except InputError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
    except (ValueError, TypeError, ClustererFitError) as exc:
        message = " ".join(str(exc).split())
        print(f"{PROG}: error: {message}", file=sys.stderr)
    except BrokenPipeError:
        # The reader closed the pipe (skgap ... | head): stop quietly, and keep
        # Python from complaining again when it flushes stdout at exit.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return EXIT_OK
    except OSError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line, and how to get the traceback
        if os.environ.get("SKGAP_DEBUG"):
            raise
        print(
            f"{PROG}: internal error: {type(exc).__name__}: {exc} (set SKGAP_DEBUG=1 "
            "for the traceback and please report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
