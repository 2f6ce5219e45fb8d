"""The proposal's measurement: a compiled k-means against the floor's fits.

Builds ``_prototype_kmeans.pyx`` with Cython (skipped if Cython is not
installed), then runs, on each workload's data and uniform references, the
floor's sklearn fits (``KMeans(n_clusters=k, n_init, random_state=seed)``,
one thread) and the prototype's fits of the same (data set, k), interleaved
and repeated. Reported: seconds (medians), the speed-up, the mean ratio of
W_k (the prototype's over sklearn's, per fit; 1.000 is the same quality),
and the k the gap statistic chooses from each set of W_k.

    python benchmarks/compiled_kmeans.py              # scenarios (a)-(e), W1, W2
    python benchmarks/compiled_kmeans.py --quick      # scenario (b), W1; 1 repetition
    python benchmarks/compiled_kmeans.py --accuracy 20   # true k found, both fitters

``--accuracy N`` counts, on N realisations of each of the paper's five
scenarios, both references and B = 20, how often the gap statistic (default
rule) finds the true k with each fitter at n_init = 3 (skgap's default).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scenarios import SCENARIOS, scenario, workload  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from skgap._dispersion import _dispersion  # noqa: E402
from skgap._reference import make_reference_sampler  # noqa: E402
from skgap._selection import (
    _gap_statistics,  # noqa: E402
    select_k,  # noqa: E402
)

KS = list(range(1, 11))


def build_prototype():
    try:
        import pyximport
    except ImportError:
        return None
    pyximport.install(language_level=3, inplace=False)
    import _prototype_kmeans

    return _prototype_kmeans.kmeans


def datasets(X, n_refs, reference="uniform"):
    sampler = make_reference_sampler(reference, X)
    return [X] + [sampler.sample(1000 + b) for b in range(n_refs)]


def run(fit, sets, n_init):
    """W_k for every data set and k (k = 1 unclustered), and the seconds."""
    W = np.empty((len(sets), len(KS)))
    start = time.perf_counter()
    with threadpool_limits(limits=1):
        for s, data in enumerate(sets):
            for i, k in enumerate(KS):
                seed = 7919 * s + k
                labels = (
                    np.zeros(len(data), np.intp)
                    if k == 1
                    else fit(data, k, n_init, seed)
                )
                W[s, i] = _dispersion(data, labels, 2.0)
    return W, time.perf_counter() - start


def chosen_k(W):
    stats = _gap_statistics(KS, W[0], W[1:])
    return KS[select_k(stats["gap"], stats["se"])]


def accuracy(n_realisations, sklearn_fit, prototype_fit, n_init=3):
    print(f"true k found of {n_realisations} (B = 20, n_init = {n_init})")
    print(f"{'scenario':<30} {'reference':<8} {'sklearn':>7} {'prototype':>9}")
    totals = np.zeros(2, int)
    for name, (title, true_k) in SCENARIOS.items():
        for reference in ("pca", "uniform"):
            found = np.zeros(2, int)
            for seed in range(n_realisations):
                sets = datasets(scenario(name, seed), 20, reference)
                for i, fit in enumerate((sklearn_fit, prototype_fit)):
                    found[i] += chosen_k(run(fit, sets, n_init)[0]) == true_k
            totals += found
            print(
                f"({name}) {title:<26} {reference:<8} {found[0]:>7} {found[1]:>9}",
                flush=True,
            )
    print(f"{'total':<39} {totals[0]:>7} {totals[1]:>9}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--accuracy", type=int, default=0, metavar="N")
    args = parser.parse_args(argv)
    kmeans = build_prototype()
    if kmeans is None:
        print("Cython is not installed: pip install cython (skipped)")
        return 0

    def sklearn_fit(data, k, n_init, seed):
        return KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(data).labels_

    def prototype_fit(data, k, n_init, seed):
        return kmeans(data, k, n_init, seed)[0]

    if args.accuracy:
        return accuracy(args.accuracy, sklearn_fit, prototype_fit)
    cases = [(f"scenario-{name}", scenario(name, 0), 20, 10) for name in SCENARIOS]
    cases += [("W1", workload("W1"), 10, 1), ("W2", workload("W2"), 10, 1)]
    if args.quick:
        cases = [cases[1], cases[5]]
        args.repeat = 1
    print(
        f"{'workload':<11} {'n_init':>6} {'sklearn (s)':>11} {'prototype (s)':>13} "
        f"{'speed-up':>8} {'W_k ratio':>9} {'k sklearn/prototype':>19}"
    )
    all_ratios = []
    for name, X, n_refs, n_init in cases:
        sets = datasets(np.ascontiguousarray(X, dtype=np.float64), n_refs)
        times = {"sklearn": [], "prototype": []}
        for _ in range(args.repeat):
            W_sk, t_sk = run(sklearn_fit, sets, n_init)
            W_pr, t_pr = run(prototype_fit, sets, n_init)
            times["sklearn"].append(t_sk)
            times["prototype"].append(t_pr)
        ratios = (W_pr[:, 1:] / W_sk[:, 1:]).ravel()
        all_ratios.append(ratios)
        sk, pr = (
            statistics.median(times["sklearn"]),
            statistics.median(times["prototype"]),
        )
        print(
            f"{name:<11} {n_init:>6} {sk:11.3f} {pr:13.3f} {sk / pr:8.1f} "
            f"{ratios.mean():9.4f} {chosen_k(W_sk):>10}/{chosen_k(W_pr)}",
            flush=True,
        )
    print(f"mean W_k ratio over every fit: {np.concatenate(all_ratios).mean():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
