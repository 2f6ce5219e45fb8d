"""asv-style micro-benchmark of the W_k kernels against NumPy/SciPy versions.

- power=2: the Cython two-pass kernel (``within_cluster_dispersion``, input
  validation included) against one ``X.sum()`` pass over the same array
  (the target: within 3 x) and against the best NumPy version (per-cluster
  means with ``np.add.at``-free bincount sums, then the squared deviations);
- any other power: the pairwise kernel against the per-cluster
  ``scipy.spatial.distance.pdist`` sum (O(n_r^2) memory).

Run ``python benchmarks/bench_dispersion.py [--quick] [--write-readme]`` for
the tables (``--write-readme`` also puts them in benchmarks/README.md), or asv.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.spatial.distance import pdist

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import write_section  # noqa: E402

from skgap import within_cluster_dispersion  # noqa: E402


def _data(n_samples, n_features, n_clusters, dtype):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_samples, n_features)).astype(dtype)
    labels = rng.integers(0, n_clusters, n_samples).astype(np.int32)
    return X, labels


def numpy_squared(X, labels):
    """The best NumPy W_k for power 2: per-cluster means, then deviations."""
    n_clusters = labels.max() + 1
    counts = np.bincount(labels, minlength=n_clusters)
    sums = np.zeros((n_clusters, X.shape[1]))
    np.add.at(sums, labels, X)
    means = sums / np.maximum(counts, 1)[:, None]
    return float(((X - means[labels]) ** 2).sum())


def pdist_dispersion(X, labels, power):
    """Per-cluster pdist sum, divided by the cluster size."""
    total = 0.0
    for r in np.unique(labels):
        members = X[labels == r]
        total += (pdist(members) ** power).sum() / members.shape[0]
    return total


class SquaredDispersion:
    param_names = ["n_samples", "n_features", "dtype"]
    params = ([20_000, 200_000, 2_000_000], [2, 10], ["float64", "float32"])

    def setup(self, n_samples, n_features, dtype):
        self.X, self.labels = _data(n_samples, n_features, 8, dtype)

    def time_sum(self, *params):
        self.X.sum()

    def time_public(self, *params):
        within_cluster_dispersion(self.X, self.labels)

    def time_numpy(self, *params):
        numpy_squared(self.X, self.labels)


class PairwiseDispersion:
    param_names = ["n_samples", "n_features", "power"]
    params = ([2_000, 10_000], [2, 10], [1.0, 1.5])

    def setup(self, n_samples, n_features, power):
        self.X, self.labels = _data(n_samples, n_features, 4, "float64")

    def time_kernel(self, n_samples, n_features, power):
        within_cluster_dispersion(self.X, self.labels, power=power)

    def time_pdist(self, n_samples, n_features, power):
        pdist_dispersion(self.X, self.labels, power)


def _median_time(func, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    repeat = 5 if args.quick else 15
    lines = [
        f"power = 2: medians of {repeat} calls (8 clusters), in units of one "
        "`X.sum()` over the same array:",
        "",
        "| n_samples | p | dtype | `X.sum()` (s) | `within_cluster_dispersion` "
        "| best NumPy |",
        "|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    sizes = [20_000, 200_000] if args.quick else SquaredDispersion.params[0]
    for n in sizes:
        for p in SquaredDispersion.params[1]:
            for dtype in SquaredDispersion.params[2]:
                b = SquaredDispersion()
                b.setup(n, p, dtype)
                t = {
                    name: _median_time(getattr(b, "time_" + name), repeat)
                    for name in ("sum", "public", "numpy")
                }
                lines.append(
                    f"| {n:,} | {p} | {dtype} | {t['sum']:.2e} | "
                    f"{t['public'] / t['sum']:.2f}x | {t['numpy'] / t['sum']:.2f}x |"
                )
                print(lines[-1], flush=True)
    lines += [
        "",
        "Other powers: medians of 3 calls (4 clusters), against the per-cluster "
        "`pdist` sum (which needs O(n_r^2) memory):",
        "",
        "| n_samples | p | power | kernel (s) | `pdist` (s) | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    print("\n".join(lines[-5:]), flush=True)
    sizes = [2_000] if args.quick else PairwiseDispersion.params[0]
    for n in sizes:
        for p in PairwiseDispersion.params[1]:
            for power in PairwiseDispersion.params[2]:
                b = PairwiseDispersion()
                b.setup(n, p, power)
                tk = _median_time(
                    lambda b=b, n=n, p=p, w=power: b.time_kernel(n, p, w), 3
                )
                tp = _median_time(
                    lambda b=b, n=n, p=p, w=power: b.time_pdist(n, p, w), 3
                )
                lines.append(
                    f"| {n:,} | {p} | {power} | {tk:.2e} | {tp:.2e} | {tp / tk:.2f}x |"
                )
                print(lines[-1], flush=True)
    if args.write_readme:
        write_section("kernels", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
