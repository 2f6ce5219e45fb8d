"""Side-by-side timing of skgap, its floor and its peers on identical data.

Systems, run interleaved on the same data in one invocation, each repetition
in turn (so that a noisy neighbour hits all of them alike):

- ``floor``: a bare Python loop doing the clusterer fits the gap statistic
  needs (``KMeans(n_init=...)`` for k = 2..10 on the data and on B reference
  data sets drawn beforehand), one thread via threadpoolctl, nothing else;
- ``floor in 2 threads``: the same fits pulled from one queue (longest
  first) by two threads, one BLAS/OpenMP thread each: what two cores reach
  on scikit-learn's fits;
- ``skgap n_jobs=1`` / ``n_jobs=2``: ``GapKMeans(KMeans(n_init=...))`` (the
  compiled engine), ``reference="pca"``, k = 1..10;
- ``gap-stat sk-KMeans`` / ``gap-stat default`` at n_jobs=1/2: gap-stat 2.0.3
  ``OptimalK`` (joblib backend) with a clusterer on scikit-learn's ``KMeans``
  and with its default (scipy ``kmeans2``);
- ``R clusGap``: ``cluster::clusGap(x, kmeans, K.max=10, B, nstart,
  d.power=2, spaceH0="scaledPCA")``, timed inside R (no start-up, no I/O);
- ``sklearnex KMeans``: the floor's loop on Intel's oneDAL
  (``sklearnex.cluster.KMeans``, Lloyd), on the W workloads, if installed.

The hierarchical workloads H1 (n=1,000) and H3 (n=3,000), make_blobs with 4
centres and 10 features, k = 1..10, B=20 uniform references, Ward linkage:

- ``one-tree floor``: scipy's Ward linkage once per data set (the data and
  the B references, drawn beforehand), ``fcluster(maxclust=k)`` at every k and
  W_k from the labels, one thread;
- ``skgap n_jobs=1`` / ``n_jobs=2``: ``GapKMeans(AgglomerativeClustering())``,
  ``reference="uniform"``;
- ``R clusGap hclust``: ``clusGap(x, FUNcluster=function(x, k)
  list(cluster=cutree(hclust(dist(x), "ward.D2"), k)), K.max=10, B=20,
  d.power=2, spaceH0="original")`` (factoextra's ``hcut``: a tree per k).

Workloads: W1 n=1,000 p=2 B=10; W2 n=20,000 p=10 B=10; W3 n=200,000 p=10
B=5 (make_blobs, 4 centres), n_init=1; the paper's five scenarios (one
realisation each), iris, wine and digits (standardised), B=20,
n_init=nstart=3; and ``early-stop``: make_blobs(5,000, 4 centres) with
``GapKMeans()``, the full scan against ``scan="forward"``.

Every ratio is taken within one repetition (system / floor of the same
repetition); the table gives medians and min-max over repetitions, and the
issue's targets are checked on the medians.

Usage::

    python benchmarks/ratio.py                  # the full profile (~15 min on 2 cores)
    python benchmarks/ratio.py --quick          # W1, H1, scenario (b), early-stop
    python benchmarks/ratio.py --workloads W2 W3 --repeat 5 --no-r
    python benchmarks/ratio.py --write-readme   # also update benchmarks/README.md

Peers are optional: a peer that is not installed is reported as skipped.
"""

import argparse
import collections
import contextlib
import io
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import write_section  # noqa: E402
from _scenarios import (  # noqa: E402
    SCENARIOS,
    WORKLOADS,
    pca_reference,
    real_data,
    scenario,
    workload,
)
from sklearn.cluster import AgglomerativeClustering, KMeans  # noqa: E402
from sklearn.datasets import make_blobs  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import skgap  # noqa: E402
from skgap import GapKMeans  # noqa: E402

KS = list(range(1, 11))
# R's W_k costs O(n_r^2) memory per cluster: W2 already takes ~3 GB and
# minutes, W3 does not fit in memory. R runs once per workload above this size.
R_MAX_N_REPEATED = 5_000
R_MAX_N = 50_000

R_SCRIPT = r"""
suppressPackageStartupMessages(library(cluster))
a <- commandArgs(trailingOnly = TRUE)
x <- as.matrix(read.csv(a[1], header = FALSE))
set.seed(0)
t <- system.time(g <- suppressWarnings(clusGap(
  x, FUNcluster = kmeans, K.max = as.integer(a[2]), B = as.integer(a[3]),
  d.power = 2, spaceH0 = "scaledPCA", nstart = as.integer(a[4]), verbose = FALSE)))
cat(t[["elapsed"]], "\n")
"""


R_HCLUST_SCRIPT = r"""
suppressPackageStartupMessages(library(cluster))
a <- commandArgs(trailingOnly = TRUE)
x <- as.matrix(read.csv(a[1], header = FALSE))
hcut <- function(x, k) list(cluster = cutree(hclust(dist(x), "ward.D2"), k))
set.seed(0)
t <- system.time(g <- suppressWarnings(clusGap(
  x, FUNcluster = hcut, K.max = as.integer(a[2]), B = as.integer(a[3]),
  d.power = 2, spaceH0 = "original", verbose = FALSE)))
cat(t[["elapsed"]], "\n")
"""

# Hierarchical workloads: (n_samples, n_features, B), make_blobs with 4 centres.
HIERARCHICAL = {"H1": (1_000, 10, 20), "H3": (3_000, 10, 20)}


def sklearn_kmeans_clusterer(X, k, n_init=1):
    """gap-stat clusterer on sklearn's KMeans: (centroids, labels)."""
    km = KMeans(n_clusters=k, n_init=n_init, random_state=0).fit(X)
    return km.cluster_centers_, km.labels_


class Case:
    """One workload: the data, B, n_init and the floor's reference data."""

    def __init__(self, name, X, n_refs, n_init):
        self.name, self.X, self.n_refs, self.n_init = name, X, n_refs, n_init
        rng = np.random.default_rng(0)
        self.datasets = [X] + [pca_reference(X, rng) for _ in range(n_refs)]
        self.csv = None

    def _fits(self):
        return [(k, data) for data in self.datasets for k in KS if k > 1]

    def floor(self):
        with threadpool_limits(limits=1):
            for seed, (k, data) in enumerate(self._fits()):
                KMeans(n_clusters=k, n_init=self.n_init, random_state=seed).fit(data)

    def floor_two_threads(self):
        """The floor's fits pulled by two threads from one queue, longest first."""
        queue = collections.deque(
            sorted(enumerate(self._fits()), key=lambda fit: -fit[1][0])
        )

        def work():
            with threadpool_limits(limits=1, user_api="openmp"):
                while True:
                    try:
                        seed, (k, data) = queue.popleft()
                    except IndexError:
                        return
                    KMeans(n_clusters=k, n_init=self.n_init, random_state=seed).fit(
                        data
                    )

        with threadpool_limits(limits=1):
            threads = [threading.Thread(target=work) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

    def skgap(self, n_jobs, **params):
        return GapKMeans(
            KMeans(n_init=self.n_init),
            n_clusters_range=KS,
            n_refs=self.n_refs,
            n_jobs=n_jobs,
            random_state=0,
            **params,
        ).fit(self.X)

    def gapstat(self, n_jobs, sklearn_clusterer):
        from gap_statistic import OptimalK

        kwargs = {}
        if sklearn_clusterer:
            kwargs = dict(
                clusterer=sklearn_kmeans_clusterer,
                clusterer_kwargs={"n_init": self.n_init},
            )
        optimal_k = OptimalK(
            n_jobs=n_jobs, parallel_backend="joblib", random_state=0, **kwargs
        )
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            return optimal_k(self.X, n_refs=self.n_refs, cluster_array=KS)

    def r_clusgap(self, tmp):
        if self.csv is None:
            self.csv = Path(tmp) / f"{self.name}.csv"
            np.savetxt(self.csv, self.X, delimiter=",", fmt="%.17g")
            (Path(tmp) / "clusgap.R").write_text(R_SCRIPT)
        out = subprocess.run(
            [
                "Rscript",
                str(Path(tmp) / "clusgap.R"),
                str(self.csv),
                str(max(KS)),
                str(self.n_refs),
                str(self.n_init),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return float(out.stdout.split()[-1])


class HierarchicalCase(Case):
    """A hierarchical workload: Ward trees, uniform references."""

    def __init__(self, name):
        n_samples, n_features, n_refs = HIERARCHICAL[name]
        X, _ = make_blobs(
            n_samples=n_samples, n_features=n_features, centers=4, random_state=0
        )
        self.name, self.X, self.n_refs, self.n_init = name, X, n_refs, 1
        rng = np.random.default_rng(0)
        low, high = X.min(axis=0), X.max(axis=0)
        self.datasets = [X] + [
            rng.uniform(low, high, size=X.shape) for _ in range(n_refs)
        ]
        self.csv = None

    def floor(self):
        """One scipy Ward tree per data set, cut at every k, W_k of each cut."""
        from scipy.cluster.hierarchy import fcluster, ward

        with threadpool_limits(limits=1):
            for data in self.datasets:
                tree = ward(data)
                for k in KS:
                    labels = fcluster(tree, k, criterion="maxclust") - 1
                    skgap.within_cluster_dispersion(data, labels)

    def skgap(self, n_jobs, **params):
        return GapKMeans(
            AgglomerativeClustering(linkage="ward"),
            n_clusters_range=KS,
            n_refs=self.n_refs,
            reference="uniform",
            n_jobs=n_jobs,
            random_state=0,
            **params,
        ).fit(self.X)

    def r_clusgap(self, tmp):
        if self.csv is None:
            self.csv = Path(tmp) / f"{self.name}.csv"
            np.savetxt(self.csv, self.X, delimiter=",", fmt="%.17g")
            (Path(tmp) / "clusgap_hclust.R").write_text(R_HCLUST_SCRIPT)
        out = subprocess.run(
            [
                "Rscript",
                str(Path(tmp) / "clusgap_hclust.R"),
                str(self.csv),
                str(max(KS)),
                str(self.n_refs),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return float(out.stdout.split()[-1])


def sklearnex_kmeans():
    """sklearnex's KMeans class, or None if scikit-learn-intelex is not installed."""
    try:
        from sklearnex.cluster import KMeans as IntelKMeans
    except ImportError:
        return None
    return IntelKMeans


def _sklearnex_floor(case, IntelKMeans):
    """The floor's fits on oneDAL's Lloyd k-means, one thread."""

    def run():
        with threadpool_limits(limits=1):
            for seed, (k, data) in enumerate(case._fits()):
                IntelKMeans(
                    n_clusters=k,
                    n_init=case.n_init,
                    algorithm="lloyd",
                    random_state=seed,
                ).fit(data)

    return run


def _timed(func):
    def run():
        start = time.perf_counter()
        func()
        return time.perf_counter() - start

    return run


def _systems(case, args, have_gapstat, have_r, tmp):
    """(label, callable returning elapsed seconds)."""
    if isinstance(case, HierarchicalCase):
        systems = [
            ("one-tree floor (scipy Ward + fcluster, 1 thread)", _timed(case.floor)),
            ("skgap n_jobs=1", _timed(lambda: case.skgap(1))),
            ("skgap n_jobs=2", _timed(lambda: case.skgap(2))),
        ]
        if have_r:
            systems.append(("R clusGap hclust", lambda: case.r_clusgap(tmp)))
        return systems
    if case.name == "early-stop":
        return [
            ("skgap full scan", _timed(lambda: GapKMeans(random_state=0).fit(case.X))),
            (
                "skgap scan=forward",
                _timed(lambda: GapKMeans(scan="forward", random_state=0).fit(case.X)),
            ),
        ]
    systems = [
        ("floor (bare KMeans loop, 1 thread)", _timed(case.floor)),
        ("skgap n_jobs=1", _timed(lambda: case.skgap(1))),
        ("floor in 2 threads", _timed(case.floor_two_threads)),
        ("skgap n_jobs=2", _timed(lambda: case.skgap(2))),
    ]
    n = case.X.shape[0]
    if have_gapstat:
        # gap-stat at n_jobs=1 runs sklearn KMeans with its default OpenMP
        # threads in the main process: minutes on W3, so only n_jobs=2 there.
        jobs = [2] if args.quick or n > 100_000 else [1, 2]
        for n_jobs in jobs:
            systems.append(
                (
                    f"gap-stat sk-KMeans n_jobs={n_jobs}",
                    _timed(lambda n_jobs=n_jobs: case.gapstat(n_jobs, True)),
                )
            )
            if case.name.startswith("W"):
                systems.append(
                    (
                        f"gap-stat default n_jobs={n_jobs}",
                        _timed(lambda n_jobs=n_jobs: case.gapstat(n_jobs, False)),
                    )
                )
    if have_r and n <= R_MAX_N:
        systems.append(("R clusGap", lambda: case.r_clusgap(tmp)))
    IntelKMeans = sklearnex_kmeans()
    if IntelKMeans is not None and case.name in WORKLOADS:
        systems.append(
            ("sklearnex KMeans (1 thread)", _timed(_sklearnex_floor(case, IntelKMeans)))
        )
    return systems


def _case(name):
    if name in HIERARCHICAL:
        return HierarchicalCase(name)
    if name in WORKLOADS:
        return Case(name, workload(name), WORKLOADS[name][2], n_init=1)
    if name.startswith("scenario-"):
        return Case(name, scenario(name.removeprefix("scenario-"), 0), 20, n_init=3)
    if name == "early-stop":
        X = make_blobs(n_samples=5_000, centers=4, random_state=1)[0]
        return Case(name, X, 20, n_init=3)
    return Case(name, real_data(name), 20, n_init=3)


def _fmt(values):
    return f"{np.median(values):.3g} [{min(values):.3g}-{max(values):.3g}]"


def _targets(medians):
    """The issue's targets, read on the medians of the ratios: lines of text."""
    lines = []

    def get(workload, label):
        return medians.get((workload, label))

    small = [
        w for w in medians.get("workloads", []) if not w.startswith(("W", "early"))
    ]
    speedups = {
        w: get(w, "R clusGap") / get(w, "skgap n_jobs=1")
        for w in small
        if get(w, "R clusGap") and get(w, "skgap n_jobs=1")
    }
    if speedups:
        listed = ", ".join(f"{w} {s:.1f}x" for w, s in speedups.items())
        median, slowest = np.median(list(speedups.values())), min(speedups.values())
        lines.append(
            f"- faster than R clusGap at n_jobs=1: median {median:.1f}x (target >= "
            f"3x), slowest case {slowest:.1f}x (target > 1x): {listed}"
        )
        two = {
            w: get(w, "skgap n_jobs=2") / get(w, "skgap n_jobs=1")
            for w in small
            if get(w, "skgap n_jobs=2")
        }
        lines.append(
            "- small data, n_jobs=2 / n_jobs=1: "
            + ", ".join(f"{w} {r:.2f}" for w, r in two.items())
            + " (target <= 0.6)"
        )
    if get("W1", "skgap n_jobs=1"):
        lines.append(
            f"- W1: floor / skgap n_jobs=1 = {1 / get('W1', 'skgap n_jobs=1'):.1f}x"
            " (target >= 4x)"
        )
    for w in ("W2", "W3"):
        one, two = get(w, "skgap n_jobs=1"), get(w, "skgap n_jobs=2")
        if one:
            text = f"- {w}: skgap n_jobs=1 {one:.2f} x floor (target <= 1)"
            if two:
                text += f", n_jobs=2 {two:.2f} x floor (target <= 0.55)"
            gapstat = get(w, "gap-stat sk-KMeans n_jobs=2")
            if gapstat and two:
                text += (
                    f", {gapstat / two:.1f}x faster than gap-stat sk-KMeans "
                    "n_jobs=2 (target >= 5x)"
                )
            lines.append(text)
    for w in ("W2", "W3"):
        one, intel = get(w, "skgap n_jobs=1"), get(w, "sklearnex KMeans (1 thread)")
        if one and intel:
            lines.append(
                f"- {w}: skgap n_jobs=1 {intel / one:.1f}x faster than sklearnex "
                "KMeans doing the same fits (target >= 1.5x)"
            )
    for w in HIERARCHICAL:
        one, two = get(w, "skgap n_jobs=1"), get(w, "skgap n_jobs=2")
        if one:
            text = f"- {w} (Ward): skgap n_jobs=1 {one:.2f} x the one-tree floor"
            text += " (target <= 1.3)"
            r = get(w, "R clusGap hclust")
            if r:
                text += f", {r / one:.1f}x faster than R clusGap hclust (target >= 5x)"
            if two:
                text += f", n_jobs=2 / n_jobs=1 = {two / one:.2f} (target <= 0.6)"
            lines.append(text)
    full, forward = (
        get("early-stop", "skgap full scan"),
        get("early-stop", "skgap scan=forward"),
    )
    if full and forward:
        lines.append(
            f"- early stop (make_blobs 5,000 x 2, 4 centres, k = 1..10): "
            f"{full / forward:.1f}x less time than the full scan (target >= 2.5x)"
        )
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workloads",
        nargs="+",
        default=[
            *(f"scenario-{s}" for s in SCENARIOS),
            "iris",
            "wine",
            "digits",
            *WORKLOADS,
            *HIERARCHICAL,
            "early-stop",
        ],
        help="W1 W2 W3 H1 H3 scenario-a ... scenario-e iris wine digits early-stop",
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--repeat-large", type=int, default=3, help="repetitions of W3")
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument("--no-gapstat", action="store_true")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="W1, H1, scenario-b and early-stop, 2 repetitions",
    )
    parser.add_argument(
        "--write-readme", action="store_true", help="update benchmarks/README.md"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.workloads, args.repeat = ["W1", "H1", "scenario-b", "early-stop"], 2

    try:
        import gap_statistic  # noqa: F401

        have_gapstat = not args.no_gapstat
    except ImportError:
        have_gapstat = False
        print("gap-stat is not installed: skipped (see benchmarks/README.md)")
    have_r = shutil.which("Rscript") is not None and not args.no_r
    if sklearnex_kmeans() is None:
        print("scikit-learn-intelex is not installed: sklearnex KMeans skipped")

    rows, medians = [], {"workloads": args.workloads}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.workloads:
            case = _case(name)
            systems = _systems(case, args, have_gapstat, have_r, tmp)
            repeat = args.repeat_large if case.X.shape[0] > 100_000 else args.repeat
            times = {label: [] for label, _ in systems}
            for rep in range(repeat):
                # rotate the order so that no system always runs first
                order = systems[rep % len(systems) :] + systems[: rep % len(systems)]
                for label, run in order:
                    if (
                        label == "R clusGap"
                        and rep
                        and case.X.shape[0] > R_MAX_N_REPEATED
                    ):
                        continue  # R is O(n_r^2): once is enough at this size
                    times[label].append(run())
                print(f"{name}: repetition {rep + 1}/{repeat} done", file=sys.stderr)
            floor = times[systems[0][0]]
            for label, _ in systems:
                values = times[label]
                ratios = [v / f for v, f in zip(values, floor, strict=False)]
                medians[name, label] = float(np.median(ratios))
                rows.append((name, label, _fmt(values), _fmt(ratios), len(values)))

    header = (
        "workload",
        "system",
        "seconds: median [min-max]",
        "ratio to first row",
        "reps",
    )
    table = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows),
    ]
    environment = io.StringIO()
    with contextlib.redirect_stdout(environment):
        skgap.show_versions()
    text = "\n".join(
        [
            "```",
            environment.getvalue().rstrip(),
            "```",
            "",
            *table,
            "",
            "Against the targets (medians of the per-repetition ratios):",
            "",
            *_targets(medians),
        ]
    )
    print(text)
    if args.write_readme:
        write_section("ratio", text)


if __name__ == "__main__":
    main()
