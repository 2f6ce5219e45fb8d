"""The ``skgap`` command: choose the number of clusters of a data file.

It reads the file (or makes a built-in example), fits :class:`~skgap.GapKMeans`
with the options given and prints the chosen k with the table of the gap
statistic. Bad input or options are one line on stderr and exit status 2;
anything else is a bug, with its traceback and exit status 1.

The user's mistakes are told from skgap's bugs by their type: the command's
own checks raise ``InputError`` (most options are checked as they are read,
so that the message names the option); GapKMeans raises
:class:`~skgap.exceptions.InvalidInputError` or scikit-learn's
``InvalidParameterError`` about its input, and
:class:`~skgap.exceptions.ClustererFitError` around a clusterer's ValueError.
Any other exception is a bug.
"""

import argparse
import collections
import contextlib
import json
import math
import os
import re
import sys
import textwrap
import time
import warnings
from numbers import Integral

import numpy as np
from sklearn.cluster import AgglomerativeClustering, Birch, KMeans, MiniBatchKMeans
from sklearn.mixture import GaussianMixture

from . import GapKMeans, __version__
from ._cli_io import InputError, read_data
from ._selection import RULES, STATISTICS
from ._utils import Interval, InvalidParameterError, StrOptions, _default_estimator
from .exceptions import ClustererFitError, InvalidInputError
from .plotting import KINDS

PROG = "skgap"
_MAX_KS = 10_000  # candidate ks (each fitted B + 1 times): more is a typo

#: The command's short names of scikit-learn clusterers.
CLUSTERERS = {
    "kmeans": KMeans,
    "minibatch": MiniBatchKMeans,
    "agglomerative": AgglomerativeClustering,
    "gmm": GaussianMixture,
    "birch": Birch,
}

#: The GapKMeans parameters set by the option of the same name, with its help.
#: The default, the choices and the checks of the value are GapKMeans' own, so
#: that a new parameter reaches the command line with one line here.
PASS_THROUGH = {
    "n_refs": "number of reference data sets B, or 'auto': until k is stable",
    "max_n_refs": "the most B of --n-refs auto",
    "stability": "the frequency of the chosen k at which --n-refs auto stops",
    "reference": "null distribution of the reference data",
    "statistic": "statistic the rule applies to",
    "method": "rule that chooses k, as R's maxSE",
    "se_factor": "multiplier of the SEs in the rules",
    "power": "exponent of the distance in W_k",
    "metric": "distance in W_k: any of scikit-learn's pairwise_distances but "
    "seuclidean and mahalanobis, which need metric_params",
    "scan": "'forward': stop at the first k the rule settles on",
}

#: The GapKMeans parameters set by an option of another name. With
#: PASS_THROUGH, the command's table of which option sets which parameter:
#: GapKMeans' messages name its parameters, the command's name the options.
RENAMED = {
    "n_clusters_range": "--k",
    "random_state": "--seed",
    "n_jobs": "--n-jobs",
    "n_bootstrap": "--bootstrap",
}

#: What the metrics that cannot run from the command line need.
_METRIC_NEEDS = {
    "seuclidean": "it needs the variance of every column, "
    "metric_params={'V': ...}, which the command line cannot pass; for the "
    "same distance standardise the columns with --scale and keep the default "
    "--metric euclidean, or call GapKMeans(metric='seuclidean', "
    "metric_params={'V': ...}) in Python",
    "mahalanobis": "it needs the inverse covariance matrix of the columns, "
    "metric_params={'VI': ...}, which the command line cannot pass; call "
    "GapKMeans(metric='mahalanobis', metric_params={'VI': ...}) in Python",
}

# What a message of GapKMeans advises, and the command's own way to do it.
_REMEDIES = {
    "Standardise X, e.g. with StandardScaler in a Pipeline: make_pipeline("
    "StandardScaler(), GapKMeans())": "Standardise the columns with --scale",
    "StandardScaler in a Pipeline: make_pipeline(StandardScaler(), GapKMeans())": (
        "--scale"
    ),
    "sklearn.preprocessing.StandardScaler": "--scale",
}

# The table's names of the columns of gap_results_ (the others: their key).
_HEADERS = {
    "n_clusters": "k",
    "log_w": "log W",
    "expected_log_w": "E[log W*]",
    "selection_frequency": "chosen",
}
_DESCRIPTION = """\
Choose the number of clusters k of a data set with the gap statistic (Tibshirani,
Walther & Hastie, 2001): prints the chosen k, the rule that chose it and the table
of the statistic for every candidate k. FILE is CSV, TSV or whitespace-separated
text (delimiter and header row detected; text columns skipped), .npy or .npz,
one sample per row; without FILE, a built-in example (500 points in 4 blobs).
The options are the parameters of skgap.GapKMeans, with its defaults."""
_EPILOG = """\
examples:
  skgap                                  built-in example
  skgap data.csv                         all numeric columns
  skgap data.tsv --columns x,y --scale   two columns, standardised
  skgap X.npz --key X --k 2-8 --json     a .npz array, JSON output
  skgap data.csv --labels labels.csv --plot gap.png

exit status: 0 on success, 2 for bad input or options (one line on stderr),
1 for an internal error (a bug: its traceback is printed)."""


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad option as one line instead of exiting."""

    def error(self, message):
        raise InputError(f"{message} (see '{PROG} --help')")


def _value(text):
    """An option's value as text: an int, a float, None ('none') or the text."""
    for number in (int, float):
        with contextlib.suppress(ValueError):
            return number(text)
    return None if text.lower() == "none" else text


def _checked(constraints):
    """The argparse type of an option whose value must meet one of `constraints`.

    `constraints` are scikit-learn's ``Interval`` and ``StrOptions`` (those of
    a GapKMeans parameter, or of the clusterer's); argparse reports a value
    that meets none of them as ``argument --option: must be ..., got ...``.
    """

    def check(text):
        value = _value(text)
        if any(constraint.is_satisfied_by(value) for constraint in constraints):
            return value
        wanted = " or ".join(map(str, constraints))
        raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}")

    return check


def _positive_int(text):
    """The --k-min and --k-max options: a k, at least 1."""
    value = _value(text)
    if isinstance(value, Integral) and value >= 1:
        return value
    raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")


def _n_jobs(text):
    """The --n-jobs option: a number of jobs, -1 for all processors, never 0."""
    value = _value(text)
    if isinstance(value, Integral) and value != 0:
        return value
    raise argparse.ArgumentTypeError(
        "must be a number of parallel jobs, 1, 2, ..., or -1 for all processors "
        f"(-2 for all but one, ...), got {text!r}"
    )


def _seed(text):
    """The --seed option: GapKMeans' random_state, 'none' for a new one each run."""
    value, seeds = _value(text), Interval(Integral, 0, 2**32 - 1, closed="both")
    if value is None or seeds.is_satisfied_by(value):
        return value
    raise argparse.ArgumentTypeError(f"must be {seeds} or 'none', got {text!r}")


def _delimiter(text):
    """The --delimiter option: one character, 'tab', or 'space' (runs of blanks)."""
    names = {"tab": "\t", "\\t": "\t", "space": " ", "whitespace": " "}
    text = names.get(text.lower(), text)
    if len(text) != 1:
        message = f"expected one character (or 'tab', 'space'), got {text!r}"
        raise argparse.ArgumentTypeError(message)
    return text


def _pass_through(param, help, default):
    """The argparse keywords of the option that sets GapKMeans' `param`.

    A parameter of words gets them as argparse choices; a number, or a number
    or words, is checked as it is read against GapKMeans'
    ``_parameter_constraints``, so that a bad value is reported with the
    option's name. A parameter of any other constraint is left to GapKMeans.
    """
    constraints = GapKMeans._parameter_constraints[param]
    if "boolean" in constraints:
        return dict(action="store_true", help=help)
    help += " (default: %(default)s)"
    words = [c.options for c in constraints if isinstance(c, StrOptions)]
    if words and not any(isinstance(c, Interval) for c in constraints):
        choices = sorted(words[0], key=lambda word: (word != default, word))
        metavar = "NAME" if len(choices) > 6 else None  # listed in errors
        return dict(choices=choices, metavar=metavar, default=default, help=help)
    if all(isinstance(c, (Interval, StrOptions)) for c in constraints):
        return dict(type=_checked(constraints), default=default, help=help)
    return dict(type=_value, default=default, help=help)


def build_parser():
    """The argument parser of the ``skgap`` command."""
    parser = _ArgumentParser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("file", nargs="?", metavar="FILE", help="data file; '-' reads stdin")
    add("--version", action="version", version=f"%(prog)s {__version__}")
    add = parser.add_argument_group("reading the data").add_argument
    add(
        "--columns",
        metavar="COLS",
        help="columns to use, by header name or 0-based index, e.g. 'x,y' or '0,2' "
        "(default: every numeric column)",
    )
    add("--delimiter", type=_delimiter, metavar="CHAR", help="e.g. ',' or 'tab'")
    add(
        "--header",
        choices=("auto", "yes", "no"),
        default="auto",
        help="whether the first row names the columns (default: %(default)s)",
    )
    add("--key", metavar="NAME", help="array of a .npz file (default: its only one)")
    add("--scale", action="store_true", help="standardise every column first")
    add = parser.add_argument_group("the gap statistic").add_argument
    add("--k", metavar="KS", help="e.g. '2,4,8' or '1-6' (default: 1-10)")
    add("--k-min", type=_positive_int, metavar="K", help="smallest k (default: 1)")
    add("--k-max", type=_positive_int, metavar="K", help="largest k (default: 10)")
    defaults = GapKMeans().get_params()
    for param, help in PASS_THROUGH.items():
        option = "--" + param.replace("_", "-")
        add(option, dest=param, **_pass_through(param, help, defaults[param]))
    add(
        "--n-jobs",
        type=_n_jobs,
        default=1,  # GapKMeans' n_jobs=None: 1 outside a joblib.parallel_config
        metavar="N",
        help="parallel jobs, -1 for all processors (default: %(default)s)",
    )
    add(
        "--bootstrap",
        dest="n_bootstrap",
        metavar="N",
        **_pass_through(
            "n_bootstrap",
            "resamples of the data rows that the chosen k's frequency covers; "
            "0: the references only",
            defaults["n_bootstrap"],
        ),
    )
    add(
        "--clusterer",
        choices=list(CLUSTERERS),
        default="kmeans",
        help="scikit-learn clusterer (default: %(default)s)",
    )
    add(
        "--n-init",
        type=_value,
        metavar="N",
        help=f"restarts of the clusterer (default: {_default_estimator().n_init} for "
        "kmeans, scikit-learn's for the others)",
    )
    add(
        "--seed",
        dest="random_state",
        type=_seed,
        default=0,
        metavar="SEED",
        help="random seed; 'none' for a different run every time (default: 0)",
    )
    output = parser.add_argument_group("output")
    add = output.add_argument
    add("--json", action="store_true", help="print JSON, not the table")
    add("--labels", metavar="PATH", help="write the label of every sample to this CSV")
    add("--plot", metavar="PATH", help="save the figure to this .png, .pdf, .svg ...")
    add(
        "--plot-kind",
        choices=(*KINDS, "all"),
        help="the figure of --plot; 'all' draws them all (default: gap)",
    )
    talk = output.add_mutually_exclusive_group()
    talk.add_argument(
        "--quiet", "-q", action="store_true", help="no progress, no notes"
    )
    talk.add_argument(
        "--progress",
        "--verbose",
        "-v",
        action="store_true",
        help="show progress on stderr even when it is not a terminal",
    )
    return parser


def _candidate_ks(args):
    """The n_clusters_range of --k ('2,4,8', '1-6' or both) or --k-min..--k-max."""
    if args.k is not None and (args.k_min is not None or args.k_max is not None):
        raise InputError("argument --k: not allowed with --k-min or --k-max")
    if args.k is None:
        low = 1 if args.k_min is None else args.k_min
        high = 10 if args.k_max is None else args.k_max
        if low > high:
            given = [
                f"{option} {value}" if value is not None else f"{option} (default {k})"
                for option, value, k in (
                    ("--k-min", args.k_min, 1),
                    ("--k-max", args.k_max, 10),
                )
            ]
            raise InputError(
                f"{given[0]} is larger than {given[1]}: the candidates are the ks "
                "from --k-min to --k-max, so --k-min must not exceed --k-max"
            )
        spans = [(low, high)]
    else:
        spans = []
        for item in filter(None, (part.strip() for part in args.k.split(","))):
            match = re.fullmatch(r"(\d+)(?:-(\d+))?", item)
            if not match or int(match[1]) > int(match[2] or match[1]):
                raise InputError(
                    f"--k: expected numbers or increasing ranges such as 2,4,8 or "
                    f"1-6, got {item!r}"
                )
            if int(match[1]) < 1:
                raise InputError(f"--k: every k must be at least 1, got {item!r}")
            spans.append((int(match[1]), int(match[2] or match[1])))
        if not spans:
            raise InputError("--k: no k given; e.g. --k 2,4,8 or --k 1-6")
    if sum(high - low for low, high in spans) >= _MAX_KS:
        raise InputError(f"--k: more than {_MAX_KS} candidates; is it a typo?")
    ks = [k for low, high in spans for k in range(low, high + 1)]
    repeated = sorted(k for k, count in collections.Counter(ks).items() if count > 1)
    if repeated:
        raise InputError(
            f"--k: give each k once, got {', '.join(map(str, repeated))} more than once"
        )
    return ks


def _clusterer(name, n_init):
    """The clusterer of --clusterer (None: GapKMeans' default KMeans)."""
    if n_init is None:
        return None if name == "kmeans" else CLUSTERERS[name]()
    if "n_init" not in CLUSTERERS[name]().get_params():
        raise InputError(f"--n-init does not apply to --clusterer {name}")
    # checked now, as the options of GapKMeans' parameters, against its own rules
    constraints = CLUSTERERS[name]._parameter_constraints["n_init"]
    checked = [c for c in constraints if isinstance(c, (Interval, StrOptions))]
    if checked and not any(c.is_satisfied_by(n_init) for c in checked):
        wanted = " or ".join(map(str, checked))
        raise InputError(
            f"argument --n-init: must be {wanted} for --clusterer {name}, "
            f"got {n_init!r}"
        )
    return CLUSTERERS[name](n_init=n_init)


def _check_output(path, option, data_file):
    """Fail now, not after the fit, if `path` cannot be written."""
    if data_file and os.path.realpath(path) == os.path.realpath(data_file):
        raise InputError(f"{option}: {path} is the data file; choose another")
    existed = os.path.exists(path)
    try:
        open(path, "ab").close()  # opened for writing, not truncated
    except OSError as exc:
        raise InputError(f"{option}: cannot write {path}: {exc.strerror}") from None
    if not existed:
        os.remove(path)
    if option == "--plot":
        try:
            import matplotlib  # noqa: F401  (fails even if a submodule is loaded)
            from matplotlib.backend_bases import FigureCanvasBase
        except ImportError:
            message = "--plot needs matplotlib: pip install 'skgap[plot]'"
            raise InputError(message) from None
        formats = FigureCanvasBase.get_supported_filetypes()
        if os.path.splitext(path)[1].lower().lstrip(".") not in formats:
            raise InputError(
                f"--plot: cannot tell the image format of {path!r}; end the name "
                f"with one of {', '.join('.' + f for f in sorted(formats))}"
            )


def _standardise(X):
    """Standardise the columns of X in place.

    Dividing each column by its largest magnitude first changes nothing in the
    result but keeps the squares of data near the float limits in range
    (scikit-learn's scalers leave scales below 10 * eps alone).
    """
    from sklearn.preprocessing import StandardScaler

    peak = np.maximum(X.max(axis=0), -X.min(axis=0))
    X /= np.where(peak > 0, peak, 1.0)
    return StandardScaler(copy=False).fit_transform(X)


def _option_of(param):
    """The option that sets GapKMeans' parameter `param` (from the command's table)."""
    return RENAMED.get(param, "--" + param.replace("_", "-"))


def _in_command_line_terms(message):
    """A message of GapKMeans, with its parameters named as the options.

    The parameters are those of the command's own table (PASS_THROUGH and
    RENAMED): ``scan='forward'`` reads ``--scan forward``, ``n_refs`` reads
    ``--n-refs``; a plain word (the metric, the method) is left alone. What
    GapKMeans advises in Python (a StandardScaler) becomes the command's own
    way (``--scale``).
    """
    message = " ".join(message.split())
    params = sorted([*PASS_THROUGH, *RENAMED], key=len, reverse=True)
    names = "|".join(map(re.escape, params))
    # scikit-learn's InvalidParameterError: "The 'n_refs' parameter of ..."
    message = re.sub(
        rf"The '({names})' parameter of \w+ must be",
        lambda match: f"{_option_of(match[1])}: must be",
        message,
    )
    message = re.sub(r", an instance of '[\w.]+'", "", message)
    message = re.sub(  # scan='forward' is --scan forward
        rf"\b({names})=(?:'([^']*)'|([\w.+-]+))",
        lambda match: f"{_option_of(match[1])} {match[2] or match[3]}",
        message,
    )
    names = "|".join(map(re.escape, (p for p in params if "_" in p)))
    message = re.sub(rf"\b({names})\b", lambda match: _option_of(match[1]), message)
    for advice, option in _REMEDIES.items():
        message = message.replace(advice, option)
    if "StandardScaler" in message:  # advice in words _REMEDIES does not know
        message += " (here: --scale)"
    return message


def _advises_scaling(warning):
    """Whether a warning of the fit says that the columns need standardising."""
    return "StandardScaler" in str(warning.message)


def _percent(share):
    """A share as a percentage, never rounded to 0 % or 100 % when it is not."""
    text = f"{share:.0%}"
    if text in ("0%", "100%") and 0 < share < 1:
        text = f"{share:.1%}"
        if text in ("0.0%", "100.0%"):
            text = "<0.1%" if share < 0.5 else ">99.9%"
    return text


def _format_column(values):
    """A column as text: one number of decimals for all, '-' for NaN."""
    if values.dtype.kind in "biu":
        return [str(int(v)) for v in values]
    magnitudes = np.abs(values[np.isfinite(values) & (values != 0)])
    largest = magnitudes.max() if magnitudes.size else 1.0
    decimals = min(4, max(0, 4 - math.floor(math.log10(largest))))
    spec = f".{decimals}f" if 1e-3 <= largest < 1e7 else ".4e"
    return ["-" if math.isnan(v) else format(v, spec) for v in values]


def format_table(results, chosen, statistic="gap"):
    """The table of ``gap_results_`` (a dict of arrays) for a terminal, as text.

    Every key is a column but those that only ``--json`` shows: sd and, for
    the gap statistic, the se and diff of Gap*. The row of `chosen` is marked.
    """
    keys = [
        key
        for key in results
        if key != "sd"
        and not (statistic == "gap" and key.endswith("_star") and key != "gap_star")
    ]
    # gap, se, diff, then gap* ..., then how often the resamples chose each k
    keys.sort(key=lambda key: (key == "selection_frequency", key.endswith("_star")))
    columns = [
        [_percent(v) for v in results[key]]
        if key == "selection_frequency"
        else _format_column(np.asarray(results[key]))
        for key in keys
    ]
    header = [_HEADERS.get(key, key.replace("_star", "*")) for key in keys]
    rows = [header, *zip(*columns, strict=True)]
    widths = [max(len(row[j]) for row in rows) for j in range(len(keys))]
    lines = []
    for i, row in enumerate(rows):
        cells = (cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        marked = i > 0 and results["n_clusters"][i - 1] == chosen
        lines.append("  " + "  ".join(cells) + ("  <- chosen" if marked else ""))
    return "\n".join(lines)


def _every_rule(choices, statistic, method, chosen):
    """In words: the k of every rule on each statistic, and why one is trusted."""
    names = {"gap": "the gap", "gap_star": "Gap*"}
    parts, ks = [], set()
    for name, by_rule in choices.items():
        found = {k for k in by_rule.values() if k is not None}
        ks |= found
        if len(found) == 1:
            parts.append(f"on {names[name]} all five choose k = {found.pop()}")
        else:
            cells = (f"{rule} {'-' if k is None else k}" for rule, k in by_rule.items())
            parts.append(f"on {names[name]}: {', '.join(cells)}")
    lines = [f"every rule: {'; '.join(parts)}."]
    if len(ks) > 1:
        why = (
            f"This fit's rule, {method} on {names[statistic]}, chose {chosen}. "
            "Tibshirani's rule on the gap (the default) is the paper's: the "
            "smallest k whose gap is within one standard error of the next. Gap* "
            "compares W itself, not log W, so its largest drops come first and it "
            "tends to stop at a coarser grouping; global maxima tend to "
            "over-split. Where they differ, look at the curves (--plot all)."
        )
        lines.append(
            textwrap.fill(why, 79, initial_indent="  ", subsequent_indent="  ")
        )
    return "\n".join(lines)


def _report(data, gap, args, estimator, elapsed, warned=(), unscaled=False):
    """The JSON object of --json, or the text for a terminal.

    `warned` are the messages of the warnings of the fit; `unscaled` says that
    one of them found the columns on scales too different for the result.
    """
    results, ks, (n, p) = gap.gap_results_, gap.n_clusters_range, data.X.shape
    rule = RULES[args.method].__doc__.split("\n")[0]  # the rule's own words
    estimator = _default_estimator() if estimator is None else estimator
    n_init = estimator.get_params().get("n_init")
    clusterer = type(estimator).__name__ + ("" if n_init is None else f"({n_init=})")
    position = list(results["n_clusters"]).index(gap.n_clusters_)
    frequency = gap.selection_frequencies_[position]
    if args.json:
        columns = {key: v for key, v in results.items() if key != "n_clusters"}
        table = [  # NaN and inf are no JSON numbers: null
            {"k": int(k)}
            | {
                key: float(v[i]) if np.isfinite(v[i]) else None
                for key, v in columns.items()
            }
            for i, k in enumerate(results["n_clusters"])
        ]
        described = dict(source=data.source, n_samples=n, n_features=p)
        parameters = {param: getattr(args, param) for param in PASS_THROUGH}
        parameters["n_jobs"] = args.n_jobs
        return json.dumps(
            dict(
                n_clusters=int(gap.n_clusters_),
                selection_frequency=float(frequency),
                selection_resamples=gap.selection_resamples_,
                reliable=not unscaled,
                warnings=list(warned),
                method=args.method,
                statistic=args.statistic,
                rule=rule,
                rule_choices=gap.rule_choices_,
                n_refs_used=int(gap.n_refs_),
                data=described | dict(columns=data.columns, scaled=args.scale),
                parameters=dict(n_clusters_range=ks, **parameters)
                | dict(clusterer=clusterer, random_state=args.random_state),
                table=table,
            ),
            indent=2,
        )
    if len(ks) > 2 and ks == list(range(ks[0], ks[-1] + 1)):
        ks = f"{ks[0]}..{ks[-1]}"
    else:
        ks = "{" + ", ".join(map(str, ks)) + "}"
    refs = f"{gap.n_refs_}" + (" (auto)" if args.n_refs == "auto" else "")
    f, s = (
        name.replace("_star", "*")
        for name in (args.statistic, STATISTICS[args.statistic])
    )
    s = s if args.se_factor == 1 else f"{args.se_factor:g} x {s}"
    resamples = (
        f"{args.n_bootstrap} resamples of the data rows and the references"
        if args.n_bootstrap
        else "500 resamples of the references\n  (--bootstrap N: of the data too)"
    )
    unreliable = (  # the result line says so, under the warning that says why
        " - UNRELIABLE: the columns are on very different scales (see the "
        "warning);\n  run again with --scale. Chosen"
        if unscaled
        else ","
    )
    return f"""\
data: {data.source}: {n} samples x {p} feature{"s" * (p > 1)}\
{" (standardised)" * args.scale}
fit:  {clusterer} for k in {ks}, {refs} '{args.reference}' reference data \
sets, seed {args.random_state}, {elapsed:.1f} s

chosen k = {gap.n_clusters_}{unreliable} in {_percent(frequency)} of the resamples \
of {gap.selection_resamples_},
  by the rule '{args.method}' on the {f} statistic (f = {f}, s = {s}):
  {rule}

{format_table(results, gap.n_clusters_, args.statistic)}

{_every_rule(gap.rule_choices_, args.statistic, args.method, gap.n_clusters_)}

  log W: log of the within-cluster dispersion W_k of the data;
  E[log W*]: its mean over the reference data sets; gap = E[log W*] - log W;
  diff = gap(k) - gap(k+1) + se(k+1); gap* = E[W*] - W (Mohajer et al.);
  chosen: how often the rule chooses k over {resamples}"""


def _run(argv):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version
        return exc.code or 0
    seen = set()

    def note(message, kind="note"):
        if not args.quiet and message not in seen:
            seen.add(message)
            print(f"{PROG}: {kind}: {message}", file=sys.stderr)

    if args.metric in _METRIC_NEEDS:
        raise InputError(f"--metric {args.metric}: {_METRIC_NEEDS[args.metric]}")
    if args.plot_kind is not None and args.plot is None:
        raise InputError("--plot-kind chooses the figure of --plot; add --plot PATH")
    for path, option in ((args.labels, "--labels"), (args.plot, "--plot")):
        if path is not None:
            _check_output(path, option, args.file)
    ks = _candidate_ks(args)
    estimator = _clusterer(args.clusterer, args.n_init)
    if args.file == "-" and sys.stdin is not None and sys.stdin.isatty():
        note("reading the data from the terminal: end them with Ctrl-D")
    data = read_data(args)
    if data.note and args.file is not None:
        note(data.note)
    if data.X.shape[0] < 2:
        raise InputError(f"{data.source} has 1 sample; the gap statistic needs 2")
    if args.metric == "haversine" and data.X.shape[1] != 2:
        raise InputError(
            f"--metric haversine: it takes exactly 2 columns, latitude and "
            f"longitude in radians, and {data.source} has {data.X.shape[1]}; "
            "choose them with --columns"
        )
    # GapKMeans' keyword arguments, by the table of which option sets which
    params = {param: getattr(args, param) for param in PASS_THROUGH}
    params.update(n_clusters_range=ks, random_state=args.random_state)
    params.update(n_jobs=args.n_jobs, n_bootstrap=args.n_bootstrap)
    gap = GapKMeans(
        estimator,
        verbose=int(args.progress or (not args.quiet and sys.stderr.isatty())),
        **params,
    )
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            gap.fit(_standardise(data.X) if args.scale else data.X)
        except (InvalidInputError, InvalidParameterError) as exc:
            raise InputError(_in_command_line_terms(str(exc))) from exc
        except ClustererFitError as exc:  # the clusterer rejects the data
            if not isinstance(exc.original, ValueError):
                raise
            raise InputError(_in_command_line_terms(str(exc))) from exc
    elapsed = time.perf_counter() - start
    # The warnings, whole and before the result that they qualify
    warned = list(dict.fromkeys(_in_command_line_terms(str(w.message)) for w in caught))
    for message in warned:
        note(message, "warning")
    unscaled = not args.scale and any(map(_advises_scaling, caught))

    sys.stderr.flush()
    print(_report(data, gap, args, estimator, elapsed, warned, unscaled))
    if args.file is None and not args.quiet and not args.json:
        print(f"\n{data.note}.")
    try:
        if args.labels is not None:
            np.savetxt(args.labels, gap.labels_, fmt="%d", header="label", comments="")
            note(f"wrote {len(gap.labels_)} labels to {args.labels}")
        if args.plot is not None:
            from matplotlib.figure import Figure

            from .plotting import GapStatisticDisplay

            kind = args.plot_kind or "gap"
            figure = Figure((10, 11) if kind == "all" else None, layout="constrained")
            GapStatisticDisplay.from_estimator(gap, kind=kind, ax=figure.add_subplot())
            figure.savefig(args.plot, dpi=100)
            note(f"wrote the {kind} figure to {args.plot}")
    except OSError as exc:
        raise InputError(f"cannot write {exc.filename}: {exc.strerror or exc}") from exc
    return 0


def main(argv=None):
    """Run the ``skgap`` command line and return its exit status.

    The console script ``skgap`` and ``python -m skgap`` call it with
    ``sys.argv[1:]``; its options are documented by ``skgap --help``.

    Parameters
    ----------
    argv : list of str, default=None
        The command-line arguments; ``None`` means ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 for bad input or options (one line on stderr), 130
        on Ctrl-C. Any other error is a bug: it propagates with its traceback.

    See Also
    --------
    skgap.GapKMeans : The estimator behind the command.

    Examples
    --------
    >>> from skgap._cli import main
    >>> main(["--k", "1-6", "--n-refs", "5", "--json", "--quiet"])  # doctest: +SKIP
    0
    """
    try:
        return _run(argv)
    except InputError as exc:
        print(f"{PROG}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader closed the pipe (skgap ... | head): stop quietly, and keep
        # Python from complaining again when it flushes stdout at exit.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
