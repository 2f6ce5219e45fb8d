"""Small data, scikit-learn's fits: n_jobs=2 in worker processes against n_jobs=1.

scikit-learn's fits on small data (under 50,000 values) are mostly Python
holding the GIL, so threads cannot share them (the compiled engine, which the
default clusterer runs on, releases it: this concerns other clusterers, here
``kmeans_engine="sklearn"``); at n_jobs > 1 GapKMeans prefers joblib's worker
processes for them. This script times n_jobs=1 against n_jobs=2 on such a job
(n=300, p=2, KMeans(n_init=10), k = 1..10, B references), interleaved; the
first n_jobs=2 run of the script starts the workers (loky keeps them for the
next runs), and the results are checked identical.

    python benchmarks/process_switch.py              # B = 10, 50, 100, 200
    python benchmarks/process_switch.py --quick      # B = 10
    python benchmarks/process_switch.py --write-readme
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import write_section  # noqa: E402

from skgap import GapKMeans  # noqa: E402


def fit(X, n_refs, n_jobs):
    gap = GapKMeans(
        KMeans(n_init=10),
        kmeans_engine="sklearn",
        n_refs=n_refs,
        n_jobs=n_jobs,
        random_state=0,
    )
    start = time.perf_counter()
    gap.fit(X)
    return time.perf_counter() - start, gap


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    X = make_blobs(300, centers=4, n_features=2, random_state=1)[0]
    lines = [
        f"n = 300, p = 2, KMeans(n_init=10) through scikit-learn's fits, k = 1..10, "
        f"medians of {args.repeat} interleaved runs:",
        "",
        "| B | n_jobs=1 (s) | n_jobs=2 (s) | first n_jobs=2 (s) | ratio | identical |",
        "|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for n_refs in [10] if args.quick else [10, 50, 100, 200]:
        times = {1: [], 2: []}
        results = {}
        for _ in range(args.repeat):
            for n_jobs in (1, 2):
                seconds, gap = fit(X, n_refs, n_jobs)
                times[n_jobs].append(seconds)
                results[n_jobs] = gap.reference_dispersions_
        one, two = statistics.median(times[1]), statistics.median(times[2])
        same = np.array_equal(results[1], results[2])
        lines.append(
            f"| {n_refs} | {one:.2f} | {two:.2f} | {times[2][0]:.2f} "
            f"| {two / one:.2f} | {same} |"
        )
        print(lines[-1], flush=True)
    if args.write_readme:
        write_section("process_switch", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
