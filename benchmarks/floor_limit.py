"""How far the floor (a bare loop of KMeans fits) is from this machine's limit.

For each workload it runs the floor's fits (KMeans(n_init=1), one thread, on
the data and on the same reference draws as skgap) and counts the floating
point work they actually did: Lloyd iterations cost 2 n k p flops each for the
distance GEMM (plus O(n k) for the argmin), and k-means++ seeding costs about
2 n p (2 + log k) flops per centre. It compares the time the fits took with
the time those flops take at this machine's measured single-thread GEMM rate.

    python benchmarks/floor_limit.py [--workloads W1 W2 W3]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scenarios import WORKLOADS, scenario, workload  # noqa: E402
from ratio import KS, Case  # noqa: E402


def gemm_rate(n_samples=20_000, n_features=10, n_clusters=10):
    """Single-thread GFLOP/s of the Lloyd-shaped GEMM (n x p) @ (p x k), and of a square one."""  # noqa: E501
    rng = np.random.default_rng(0)
    rates = {}
    with threadpool_limits(limits=1):
        for name, (a, b) in {
            "square 1000": ((1000, 1000), (1000, 1000)),
            f"lloyd-shaped n={n_samples} p={n_features} k={n_clusters}": (
                (n_samples, n_features),
                (n_features, n_clusters),
            ),
        }.items():
            A, B = rng.random(a), rng.random(b)
            A @ B
            reps, start = 0, time.perf_counter()
            while time.perf_counter() - start < 0.5:
                A @ B
                reps += 1
            elapsed = (time.perf_counter() - start) / reps
            rates[name] = 2 * a[0] * a[1] * b[1] / elapsed / 1e9
    return rates


def floor_work(case):
    """Seconds of the floor's fits and the flops they did."""
    flops, seconds, iterations = 0.0, 0.0, 0
    with threadpool_limits(limits=1):
        for data, seeds in case.datasets:
            n, p = data.shape
            for k, seed in zip(KS, seeds, strict=False):
                if k == 1:
                    continue
                start = time.perf_counter()
                km = KMeans(n_clusters=k, n_init=case.n_init, random_state=seed).fit(
                    data
                )
                seconds += time.perf_counter() - start
                iterations += km.n_iter_
                # n_iter_ is of the best init; the others ran about as many
                lloyd = case.n_init * km.n_iter_ * 2.0 * n * k * p
                seeding = case.n_init * k * 2.0 * n * p * (2 + np.log(k))
                flops += lloyd + seeding
    return seconds, flops, iterations


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workloads", nargs="+", default=["W1", "W2", "W3", "scenario-b"]
    )
    args = parser.parse_args(argv)
    rates = gemm_rate()
    for name, rate in rates.items():
        print(f"GEMM {name}: {rate:.1f} GFLOP/s (1 thread)")
    best = max(rates.values())
    print(
        f"{'workload':>10} {'fits':>5} {'Lloyd iters':>11} {'GFLOP':>8} {'floor s':>8} "
        f"{'GFLOP/s':>8} {'at GEMM peak s':>14} {'floor / peak':>12}"
    )
    for name in args.workloads:
        if name in WORKLOADS:
            case = Case(name, workload(name), WORKLOADS[name][2], n_init=1)
        else:
            case = Case(
                name, scenario(name.removeprefix("scenario-"), 0), 20, n_init=10
            )
        seconds, flops, iterations = floor_work(case)
        n_fits = len(case.datasets) * (len(KS) - 1)
        ideal = flops / (best * 1e9)
        print(
            f"{name:>10} {n_fits:>5} {iterations:>11} {flops / 1e9:8.2f} {seconds:8.2f} "  # noqa: E501
            f"{flops / seconds / 1e9:8.2f} {ideal:14.3f} {seconds / ideal:11.0f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
