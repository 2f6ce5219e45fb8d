"""asv-style benchmarks of GapKMeans.fit (and of warm-started refits).

The classes follow airspeed velocity's conventions (``params``/``param_names``,
``setup``, ``time_*``, ``peakmem_*``, ``track_*``; cf. scikit-learn's
``asv_benchmarks``), so ``asv`` can run them; without asv, run this file::

    python benchmarks/bench_gap.py            # every parameter combination
    python benchmarks/bench_gap.py --quick    # the smallest ones, seconds
    python benchmarks/bench_gap.py --write-readme  # and WarmStart's table in README.md

The file is not a test module: pytest never collects it.
"""

import argparse
import itertools
import pickle
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import write_section  # noqa: E402

from skgap import GapKMeans  # noqa: E402


def _data(n_samples, n_features, dtype):
    X, _ = make_blobs(
        n_samples=n_samples, n_features=n_features, centers=4, random_state=0
    )
    return X.astype(dtype)


class GapKMeansFit:
    """fit over the data size, B, n_jobs and dtype (k = 1..10, n_init=1)."""

    param_names = ["n_samples", "n_features", "n_refs", "n_jobs", "dtype"]
    params = (
        [1_000, 20_000, 200_000],
        [2, 10],
        [5, 20],
        [1, 2],
        ["float64", "float32"],
    )
    timeout = 600

    def setup(self, n_samples, n_features, n_refs, n_jobs, dtype):
        self.X = _data(n_samples, n_features, dtype)
        self.estimator = GapKMeans(
            KMeans(n_init=1, random_state=0),
            n_refs=n_refs,
            n_jobs=n_jobs,
            random_state=0,
        )

    def time_fit(self, *params):
        self.estimator.fit(self.X)

    def peakmem_fit(self, *params):
        self.estimator.fit(self.X)

    def track_n_clusters(self, *params):
        return self.estimator.fit(self.X).n_clusters_


class WarmStart:
    """A refit after doubling n_refs or widening k, against a cold fit.

    Each timed refit starts from a copy (pickled in ``setup``) of the same
    warm estimator, so that repeating it repeats the same work.
    """

    param_names = ["n_samples"]
    params = ([1_000, 20_000],)
    timeout = 600

    def setup(self, n_samples):
        self.X = _data(n_samples, 10, "float64")
        params = dict(n_refs=10, n_clusters_range=range(1, 8), random_state=0)
        warm = GapKMeans(KMeans(n_init=1), warm_start=True, **params).fit(self.X)
        self.warm = pickle.dumps(warm)
        self.cold = GapKMeans(KMeans(n_init=1), **params)

    def time_refit_double_n_refs(self, n_samples):
        pickle.loads(self.warm).set_params(n_refs=20).fit(self.X)

    def time_cold_fit_n_refs_20(self, n_samples):
        self.cold.set_params(n_refs=20).fit(self.X)

    def time_refit_wider_range(self, n_samples):
        pickle.loads(self.warm).set_params(n_clusters_range=range(1, 11)).fit(self.X)

    def time_cold_fit_wider_range(self, n_samples):
        self.cold.set_params(n_clusters_range=range(1, 11)).fit(self.X)


def _run(benchmark_class, combinations, repeat):
    rows = []
    for params in combinations:
        bench = benchmark_class()
        bench.setup(*params)
        for name in sorted(dir(bench)):
            method = getattr(bench, name)
            if name.startswith("time_"):
                times = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    method(*params)
                    times.append(time.perf_counter() - start)
                rows.append(
                    (
                        benchmark_class.__name__,
                        params,
                        name,
                        f"{np.median(times):.3f} s",
                    )
                )
            elif name.startswith("peakmem_"):
                tracemalloc.start()
                method(*params)
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                rows.append(
                    (
                        benchmark_class.__name__,
                        params,
                        name,
                        f"{peak / 2**20:.1f} MiB (Python heap)",
                    )
                )
            elif name.startswith("track_"):
                rows.append(
                    (benchmark_class.__name__, params, name, str(method(*params)))
                )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the smallest sizes only")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--write-readme",
        action="store_true",
        help="put WarmStart's timings in benchmarks/README.md",
    )
    args = parser.parse_args(argv)
    rows = []
    for cls in (GapKMeansFit, WarmStart):
        grid = list(itertools.product(*cls.params))
        if args.quick:
            grid = [
                g
                for g in grid
                if g[0] == 1_000 and (len(g) == 1 or (g[2] == 5 and g[1] == 2))
            ]
        rows += _run(cls, grid, 1 if args.quick else args.repeat)
    for cls, params, name, value in rows:
        print(f"{cls:14s} {str(params):40s} {name:28s} {value}")
    if args.write_readme:
        repeat = 1 if args.quick else args.repeat
        lines = [
            f"n_features = 10, 4 blobs, KMeans(n_init=1), warm from n_refs = 10 and "
            f"k = 1..7; medians of {repeat}:",
            "",
            "| n_samples | fit | seconds |",
            "|---|---|---|",
        ]
        lines += [
            f"| {params[0]:,} | `{name.removeprefix('time_')}` | {value.split()[0]} |"
            for cls, params, name, value in rows
            if cls == "WarmStart"
        ]
        write_section("warm_start", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
