"""The flop rate of the k-means fits: scikit-learn's (the floor) and skgap's engine.

For each workload it runs the floor's fits (KMeans(n_init=1), one thread, on
the data and B reference data sets) and counts the floating-point work a plain
Lloyd does for them: 2 n k p flops per iteration for the distances, and about
2 n p (2 + log k) per centre for the k-means++ seeding. That work, divided by
the time of the floor's fits and by the time of ``GapKMeans(KMeans(n_init=1),
n_jobs=1)`` on the same workload, gives the GFLOP/s each achieves, against this
machine's single-thread rate of the Lloyd-shaped GEMM (n x p) @ (p x k). The
engine skips most of that work (Hamerly's bounds), so its figure is the rate
at which it delivers a Lloyd's worth of results, which may exceed the GEMM's.

    python benchmarks/floor_limit.py [--workloads W2 W3] [--write-readme]
    python benchmarks/floor_limit.py --quick
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import write_section  # noqa: E402
from _scenarios import WORKLOADS, workload  # noqa: E402
from ratio import KS, Case  # noqa: E402


def gemm_rate(n_samples=20_000, n_features=10, n_clusters=10):
    """Single-thread GFLOP/s of the Lloyd-shaped GEMM (n x p) @ (p x k)."""
    rng = np.random.default_rng(0)
    A, B = rng.random((n_samples, n_features)), rng.random((n_features, n_clusters))
    with threadpool_limits(limits=1):
        A @ B
        reps, start = 0, time.perf_counter()
        while time.perf_counter() - start < 0.5:
            A @ B
            reps += 1
        elapsed = (time.perf_counter() - start) / reps
    return 2 * n_samples * n_features * n_clusters / elapsed / 1e9


def floor_work(case):
    """Seconds of the floor's fits, and the flops of a plain Lloyd doing them."""
    flops, seconds = 0.0, 0.0
    with threadpool_limits(limits=1):
        for seed, (k, data) in enumerate(case._fits()):
            n, p = data.shape
            start = time.perf_counter()
            km = KMeans(n_clusters=k, n_init=case.n_init, random_state=seed).fit(data)
            seconds += time.perf_counter() - start
            # n_iter_ is that of the best start; the others ran about as many
            flops += case.n_init * km.n_iter_ * 2.0 * n * k * p
            flops += case.n_init * k * 2.0 * n * p * (2 + np.log(k))
    return seconds, flops


def engine_seconds(case, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        case.skgap(1)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", nargs="+", default=["W2", "W3"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="W1, once")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.workloads, args.repeat = ["W1"], 1
    rate = gemm_rate()
    lines = [
        f"Lloyd-shaped GEMM (20,000 x 10) @ (10 x 10), one thread: {rate:.1f} GFLOP/s",
        "",
        "| workload | Lloyd GFLOP | floor s | floor GFLOP/s | skgap n_jobs=1 s "
        "| skgap GFLOP/s (Lloyd-equivalent) | skgap / GEMM rate |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in args.workloads:
        case = Case(name, workload(name), WORKLOADS[name][2], n_init=1)
        seconds, flops = floor_work(case)
        engine = engine_seconds(case, args.repeat)
        lines.append(
            f"| {name} | {flops / 1e9:.2f} | {seconds:.2f} | "
            f"{flops / seconds / 1e9:.2f} | {engine:.2f} | "
            f"{flops / engine / 1e9:.2f} | {flops / engine / 1e9 / rate:.2f} |"
        )
    print("\n".join(lines))
    print(f"(k = {KS[0]}..{KS[-1]}, fits of the data and of B references)")
    if args.write_readme:
        write_section("flops", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
