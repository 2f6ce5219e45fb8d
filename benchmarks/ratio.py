"""Side-by-side timing of skgap, its floor and its peers on identical data.

Systems, run interleaved on the same data in one invocation, each repetition
in turn (so that a noisy neighbour hits all of them alike):

- ``floor``: a bare Python loop doing exactly the clusterer fits skgap does
  (``KMeans(n_init=...)`` with the same per-fit seeds, on the same reference
  data drawn beforehand), one thread via threadpoolctl, and nothing else;
- ``floor in 2 threads``: the same fits pulled from one queue (longest
  first) by two threads, one BLAS/OpenMP thread each: the parallel limit of
  these fits on two cores, against which ``skgap n_jobs=2`` is read;
- ``skgap n_jobs=1`` and ``skgap n_jobs=2``: ``GapKMeans`` with the same
  ``KMeans``, ``reference="uniform"`` (the peers' null), k = 1..10;
- ``gap-stat ... n_jobs=1/2``: gap-stat 2.0.3 ``OptimalK`` (joblib backend)
  with a clusterer built on the same sklearn ``KMeans`` (``sk-KMeans``), and
  with its default clusterer (scipy ``kmeans2``) where the issue asks for it;
- ``R clusGap``: ``cluster::clusGap(x, kmeans, K.max=10, B, nstart,
  d.power=2, spaceH0="original")``, timed inside R (no start-up, no I/O).

Workloads: W1 n=1,000 p=2 B=10; W2 n=20,000 p=10 B=10; W3 n=200,000 p=10
B=5 (make_blobs, 4 centres), n_init=1; and the five scenarios of Tibshirani
et al. (2001), one realisation each, B=20, n_init=nstart=10.

Every ratio is taken within one repetition (system / floor of the same
repetition); the table gives medians and min-max over repetitions.

Usage::

    python benchmarks/ratio.py             # the full profile (~15 min on 2 cores)
    python benchmarks/ratio.py --quick     # W1 and scenario (b), 2 repetitions, < 1 min
                                           # (gap-stat at n_jobs=2 only)
    python benchmarks/ratio.py --workloads W2 W3 --repeat 5 --no-r

Peers are optional: a peer that is not installed is reported as skipped.
"""

import argparse
import collections
import os
import platform
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
import joblib  # noqa: E402
from _scenarios import SCENARIOS, WORKLOADS, scenario, workload  # noqa: E402
from joblib.parallel import get_active_backend  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

import skgap  # noqa: E402
from skgap import GapKMeans  # noqa: E402
from skgap._gap import _DATA_FIT, _REFERENCE_DRAW, _REFERENCE_FIT, _seed  # noqa: E402
from skgap._reference import make_reference_sampler  # noqa: E402

KS = list(range(1, 11))
REFERENCE = "uniform"
# R's W_k costs O(n_r^2) memory per cluster: W2 already takes ~3 GB and 150 s,
# W3 does not fit in memory. R runs once per workload above this size.
R_MAX_N_REPEATED = 5_000
R_MAX_N = 50_000

R_SCRIPT = r"""
suppressPackageStartupMessages(library(cluster))
a <- commandArgs(trailingOnly = TRUE)
x <- as.matrix(read.csv(a[1], header = FALSE))
set.seed(0)
t <- system.time(g <- suppressWarnings(clusGap(
  x, FUNcluster = kmeans, K.max = as.integer(a[2]), B = as.integer(a[3]),
  d.power = 2, spaceH0 = "original", nstart = as.integer(a[4]), verbose = FALSE)))
cat(t[["elapsed"]], "\n")
"""


def sklearn_kmeans_clusterer(X, k, n_init=1):
    """gap-stat clusterer on sklearn's KMeans: (centroids, labels)."""
    km = KMeans(n_clusters=k, n_init=n_init, random_state=0).fit(X)
    return km.cluster_centers_, km.labels_


class Case:
    """One workload: the data, B, n_init and the prepared floor inputs."""

    def __init__(self, name, X, n_refs, n_init):
        self.name, self.X, self.n_refs, self.n_init = name, X, n_refs, n_init
        self.random_state = 0
        entropy = int(check_random_state(self.random_state).randint(2**31 - 1))
        sampler = make_reference_sampler(REFERENCE, X)
        self.datasets = [(X, [_seed(entropy, _DATA_FIT, 0, k) for k in KS])]
        for b in range(n_refs):
            reference = sampler.sample(_seed(entropy, _REFERENCE_DRAW, b, 0))
            seeds = [_seed(entropy, _REFERENCE_FIT, b, k) for k in KS]
            self.datasets.append((reference, seeds))
        self.csv = None

    def floor(self):
        with threadpool_limits(limits=1):
            for data, seeds in self.datasets:
                for k, seed in zip(KS, seeds, strict=False):
                    if k > 1:
                        KMeans(n_clusters=k, n_init=self.n_init, random_state=seed).fit(
                            data
                        )

    def floor_two_threads(self):
        """The floor's fits pulled by two threads from one queue, longest first.

        The parallel limit of these fits on two cores: what two threads doing
        nothing but the same KMeans fits reach (memory bandwidth, shared
        cache and the GIL-holding parts of each fit included).
        """
        fits = [
            (k, seed, data)
            for data, seeds in self.datasets
            for k, seed in zip(KS, seeds, strict=False)
            if k > 1
        ]
        fits.sort(key=lambda fit: -fit[0])
        queue = collections.deque(fits)

        def work():
            with threadpool_limits(limits=1, user_api="openmp"):
                while True:
                    try:
                        k, seed, data = queue.popleft()
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

    def skgap(self, n_jobs):
        return GapKMeans(
            KMeans(n_init=self.n_init, random_state=0),
            n_clusters_range=KS,
            n_refs=self.n_refs,
            reference=REFERENCE,
            n_jobs=n_jobs,
            random_state=self.random_state,
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
        with warnings.catch_warnings():
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


def _systems(case, args, have_gapstat, have_r, tmp):
    """(label, callable returning elapsed seconds or None, runs per workload)."""

    def timed(func):
        def run():
            start = time.perf_counter()
            func()
            return time.perf_counter() - start

        return run

    systems = [
        ("floor (bare KMeans loop, 1 thread)", timed(case.floor)),
        ("skgap n_jobs=1", timed(lambda: case.skgap(1))),
        ("floor in 2 threads", timed(case.floor_two_threads)),
        ("skgap n_jobs=2", timed(lambda: case.skgap(2))),
    ]
    n = case.X.shape[0]
    if have_gapstat:
        # gap-stat at n_jobs=1 runs sklearn KMeans with its default OpenMP
        # threads in the main process: minutes on W3, so only n_jobs=2 there.
        jobs = [2] if args.quick or n > 100_000 else [1, 2]
        for n_jobs in jobs:
            systems += [
                (
                    f"gap-stat sk-KMeans n_jobs={n_jobs}",
                    timed(lambda n_jobs=n_jobs: case.gapstat(n_jobs, True)),
                ),
                (
                    f"gap-stat default n_jobs={n_jobs}",
                    timed(lambda n_jobs=n_jobs: case.gapstat(n_jobs, False)),
                ),
            ]
    if have_r and n <= R_MAX_N:
        systems.append(("R clusGap", lambda: case.r_clusgap(tmp)))
    return systems


def _environment():
    backend, _ = get_active_backend(prefer="threads")
    pools = "; ".join(
        f"{i['internal_api']} {i.get('version') or ''} ({i['user_api']}, "
        f"{i['num_threads']} threads)"
        for i in threadpool_info()
    )
    return [
        f"python {platform.python_version()}, skgap {skgap.__version__}, "
        f"scikit-learn {__import__('sklearn').__version__}, numpy {np.__version__}, "
        f"joblib {joblib.__version__}",
        f"CPUs: os.cpu_count()={os.cpu_count()}, "
        f"usable={len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}; "  # noqa: E501
        f"{platform.processor() or platform.machine()}",
        f"threadpools: {pools}",
        f"joblib backend: skgap prefers threads -> {type(backend).__name__}; "
        "gap-stat uses joblib's default -> LokyBackend",
    ]


def _fmt(values):
    return f"{np.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workloads",
        nargs="+",
        default=list(WORKLOADS) + [f"scenario-{s}" for s in SCENARIOS],
        help="W1 W2 W3 scenario-a ... scenario-e",
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--repeat-large", type=int, default=3, help="repetitions of W3")
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument("--no-gapstat", action="store_true")
    parser.add_argument(
        "--quick", action="store_true", help="W1 and scenario-b, 2 repetitions"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.workloads, args.repeat = ["W1", "scenario-b"], 2

    try:
        import gap_statistic  # noqa: F401

        have_gapstat = not args.no_gapstat
    except ImportError:
        have_gapstat = False
        print(
            "gap-stat is not installed: skipped (see benchmarks/README.md)",
            file=sys.stderr,
        )
    have_r = shutil.which("Rscript") is not None and not args.no_r

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.workloads:
            if name in WORKLOADS:
                X = workload(name)
                case = Case(name, X, WORKLOADS[name][2], n_init=1)
            else:
                letter = name.removeprefix("scenario-")
                case = Case(name, scenario(letter, 0), 20, n_init=10)
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
                print(
                    f"{name}: repetition {rep + 1}/{repeat} done",
                    file=sys.stderr,
                    flush=True,
                )
            floor = times[systems[0][0]]
            for label, _ in systems:
                values = times[label]
                n = len(values)
                ratios = [v / f for v, f in zip(values, floor[:n], strict=False)]
                rows.append((name, label, _fmt(values), _fmt(ratios), n))
            if have_r and case.X.shape[0] > R_MAX_N:
                rows.append((name, "R clusGap", "not run: O(n_r^2) memory", "", 0))

    lines = _environment()
    header = (
        "workload",
        "system",
        "seconds: median [min-max]",
        "ratio to floor",
        "reps",
    )
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=False)))
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(
            "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False))
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
