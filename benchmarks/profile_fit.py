"""Where the time of GapKMeans.fit goes, per workload (cProfile, n_jobs=1).

    python benchmarks/profile_fit.py [--workloads W1 W2 W3 scenario-b]

Columns are shares of the fit's wall time: the Lloyd iterations (compiled,
GIL released), k-means++ seeding (NumPy/BLAS driven from Python), the rest of
KMeans.fit_predict (parameter and input validation, set-up, threadpool limits), the
reference draws, the W_k kernel, and the remainder (cloning, bookkeeping).
"""

import argparse
import cProfile
import pstats
import sys
from pathlib import Path

from sklearn.cluster import KMeans

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scenarios import WORKLOADS, scenario, workload  # noqa: E402

from skgap import GapKMeans  # noqa: E402

PARTS = {
    "Lloyd": ("_kmeans.py", "_kmeans_single_lloyd"),
    "k-means++": ("_kmeans.py", "_kmeans_plusplus"),
    "KMeans.fit": ("_kmeans.py", "fit_predict"),
    "reference draws": ("_reference.py", "sample"),
    "W_k kernel": ("_dispersion.py", "_dispersion"),
}


def profile(name):
    if name in WORKLOADS:
        X, n_refs, n_init = workload(name), WORKLOADS[name][2], 1
    else:
        X, n_refs, n_init = scenario(name.removeprefix("scenario-"), 0), 20, 10
    gap = GapKMeans(
        KMeans(n_init=n_init, random_state=0),
        n_refs=n_refs,
        reference="uniform",
        random_state=0,
    )
    profiler = cProfile.Profile()
    profiler.enable()
    gap.fit(X)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    cumulative = {}
    total = 0.0
    for (filename, _, function), (_, _, _, cum, _) in stats.items():
        if function == "fit" and filename.endswith("skgap/_gap.py"):
            total = max(total, cum)
        for part, (file_end, func) in PARTS.items():
            if filename.endswith(file_end) and function == func:
                cumulative[part] = cumulative.get(part, 0.0) + cum
    shares = {
        "Lloyd": cumulative.get("Lloyd", 0),
        "k-means++": cumulative.get("k-means++", 0),
        "rest of KMeans.fit": cumulative.get("KMeans.fit", 0)
        - cumulative.get("Lloyd", 0)
        - cumulative.get("k-means++", 0),
        "reference draws": cumulative.get("reference draws", 0),
        "W_k kernel": cumulative.get("W_k kernel", 0),
    }
    shares["skgap rest"] = total - sum(shares.values())
    return total, shares


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", nargs="+", default=["W1", "W2", "scenario-b"])
    args = parser.parse_args(argv)
    header = None
    for name in args.workloads:
        total, shares = profile(name)
        if header is None:
            header = ["workload", "fit s (profiled)"] + list(shares)
            print(" | ".join(header))
        print(
            " | ".join(
                [name, f"{total:.2f}"]
                + [f"{100 * v / total:.1f} %" for v in shares.values()]
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
