"""Where the time of GapKMeans.fit goes, per workload (cProfile, n_jobs=1).

    python benchmarks/profile_fit.py [--workloads W1 W2 W3 scenario-b] [--write-readme]

Columns are shares of the fit's wall time: the compiled k-means engine (every
k-means++ seeding and Lloyd iteration, GIL released), the reference draws, the
W_k of other powers or metrics (the engine computes power 2's itself), the
fitted KMeans handed back as best_estimator_, and the remainder (validation,
the reference set-up, the statistics, bookkeeping).
"""

import argparse
import cProfile
import pstats
import sys
from pathlib import Path

from sklearn.cluster import KMeans

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import write_section  # noqa: E402
from _scenarios import WORKLOADS, scenario, workload  # noqa: E402

from skgap import GapKMeans  # noqa: E402

PARTS = {
    "engine": ("_engine.py", "engine_fit"),
    "reference draws": ("_reference.py", "sample"),
    "W_k (other powers)": ("_dispersion.py", "_dispersion"),
    "best_estimator_": ("_engine.py", "fitted_kmeans"),
}


def profile(name):
    if name in WORKLOADS:
        X, n_refs, n_init = workload(name), WORKLOADS[name][2], 1
    else:
        X, n_refs, n_init = scenario(name.removeprefix("scenario-"), 0), 20, 3
    gap = GapKMeans(KMeans(n_init=n_init), n_refs=n_refs, random_state=0)
    gap.fit(X)  # lazy imports and first-call costs are not the fit's
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
    shares = {part: cumulative.get(part, 0.0) for part in PARTS}
    shares["rest"] = total - sum(shares.values())
    return total, shares


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", nargs="+", default=["W1", "W2", "scenario-b"])
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    lines = []
    for name in args.workloads:
        total, shares = profile(name)
        if not lines:
            header = ["workload", "fit (s, profiled)", *shares]
            lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            print(lines[0] + "\n" + lines[1])
        cells = [
            name,
            f"{total:.2f}",
            *(f"{100 * v / total:.1f} %" for v in shares.values()),
        ]
        lines.append("| " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    if args.write_readme:
        write_section("profile", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
