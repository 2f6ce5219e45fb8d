"""Peak memory of GapKMeans.fit, whole process tree, in units of X.nbytes.

Each measurement runs in a fresh child process: it imports everything, records
the baseline RSS after a tiny warm-up fit (lazy imports, thread pools,
workers), builds X, then polls the RSS of itself and of
all its descendants (joblib workers included) every 5 ms while ``fit`` runs.
Reported: (peak - baseline) / X.nbytes (X itself counts 1), whose targets are
<= 3 at n_jobs=1 and <= 4 at n_jobs=2, independent of B (n_refs).

The command line's reading is measured the same way: peak RSS (``ru_maxrss``)
of a fresh process while ``skgap``'s reader reads a generated CSV file, in
units of the array it returns; the target is <= 2.

    python benchmarks/memory.py               # W2, W3 and 2,000,000 x 10 float32
    python benchmarks/memory.py --quick       # small, seconds
    python benchmarks/memory.py --write-readme
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _report import write_section  # noqa: E402

CHILD = r"""
import json, sys, threading, time
sys.path.insert(0, {here!r})
import numpy as np, psutil
from sklearn.cluster import KMeans
from skgap import GapKMeans
from _scenarios import workload
me = psutil.Process()

def data(name, n_samples):
    if name == "2M-f32":  # 2,000,000 x 10 float32, built in blocks (no float64 copy)
        rng = np.random.default_rng(0)
        X = np.empty((2_000_000, 10), dtype=np.float32)
        centres = rng.normal(scale=10, size=(4, 10)).astype(np.float32)
        for start in range(0, X.shape[0], 100_000):
            block = X[start : start + 100_000]
            block[:] = rng.standard_normal(block.shape, dtype=np.float32)
            block += centres[rng.integers(0, 4, block.shape[0])]
        return X
    X = workload(name)
    return X[:n_samples] if n_samples else X

def tree_rss():
    total = me.memory_info().rss
    for child in me.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total

# Warm up on tiny data so that lazy imports, thread pools and workers are
# part of the baseline, not of the measured fit.
GapKMeans(KMeans(n_init=1), n_refs=2, n_jobs={n_jobs}, n_clusters_range=range(1, 4),
          random_state=0).fit(np.random.default_rng(0).random((50, 3)))
baseline = tree_rss()
X = data({name!r}, {n_samples})
peak = [tree_rss()]
done = threading.Event()
def poll():
    while not done.is_set():
        peak[0] = max(peak[0], tree_rss())
        time.sleep(0.005)
t = threading.Thread(target=poll, daemon=True); t.start()
start = time.perf_counter()
GapKMeans(KMeans(n_init=1, random_state=0), n_refs={n_refs}, n_jobs={n_jobs},
          reference={reference!r}, random_state=0).fit(X)
elapsed = time.perf_counter() - start
done.set(); t.join()
print(json.dumps(dict(baseline=baseline, peak=peak[0], nbytes=X.nbytes,
                      seconds=elapsed)))
"""


def measure(name, n_refs, n_jobs, reference="pca", n_samples=0):
    code = CHILD.format(
        here=str(HERE),
        name=name,
        n_refs=n_refs,
        n_jobs=n_jobs,
        reference=reference,
        n_samples=n_samples,
    )
    # cwd: from the repository root, `import skgap` would find the source tree
    # (without its compiled kernels) before the installed package.
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=HERE
    )
    if out.returncode:
        sys.exit(f"the measuring process failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


READ_CHILD = r"""
import json, resource, sys
from argparse import Namespace
from skgap._cli_io import read_data
unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes or KiB
def read(path):
    return read_data(Namespace(file=path, columns=None, key=None, delimiter=None,
                               header="auto"))
read({warm_up!r})  # lazy imports belong to the baseline
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit
X = read({path!r}).X
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit
print(json.dumps(dict(baseline=baseline, peak=peak, nbytes=X.nbytes)))
"""


def measure_cli_read(n_samples, n_features, text_column):
    """Peak memory of the command line's reader on a generated CSV file."""
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / "warm_up.csv", Path(tmp) / "data.csv"]
        for path, n in zip(paths, (10, n_samples), strict=True):
            with open(path, "w") as f:
                names = [f"x{j}" for j in range(n_features)]
                f.write(",".join(["name", *names] if text_column else names) + "\n")
                for start in range(0, n, 100_000):  # in blocks: a small parent
                    block = rng.normal(size=(min(100_000, n - start), n_features))
                    rows = (",".join(map(repr, row.tolist())) for row in block)
                    prefix = "point," if text_column else ""
                    f.writelines(f"{prefix}{row}\n" for row in rows)
        code = READ_CHILD.format(warm_up=str(paths[0]), path=str(paths[1]))
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=HERE
        )
        if out.returncode:
            sys.exit(f"the measuring process failed:\n{out.stderr}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["file_bytes"] = paths[1].stat().st_size
        return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        grid = [("W2", 2_000, b, j) for b in (2, 4) for j in (1, 2)]
    else:
        grid = [(w, 0, b, j) for w in ("W2", "W3") for b in (5, 20) for j in (1, 2)]
        grid += [("2M-f32", 0, 5, j) for j in (1, 2)]
    lines = [
        "| workload | n_refs | n_jobs | X MiB | peak - baseline MiB | / X.nbytes |",
        "|---|---|---|---|---|---|",
    ]
    for name, n_samples, n_refs, n_jobs in grid:
        r = measure(name, n_refs, n_jobs, n_samples=n_samples)
        extra = r["peak"] - r["baseline"]
        lines.append(
            f"| {name} | {n_refs} | {n_jobs} | {r['nbytes'] / 2**20:.1f} | "
            f"{extra / 2**20:.1f} | {extra / r['nbytes']:.2f} |"
        )
        print(lines[-1], flush=True)
    lines += [
        "",
        "| CLI read: rows | text column | file MiB | X MiB | peak - baseline MiB "
        "| / X.nbytes |",
        "|---|---|---|---|---|---|",
    ]
    n_samples = 20_000 if args.quick else 500_000
    for text_column in (False, True):
        r = measure_cli_read(n_samples, 4, text_column)
        extra = r["peak"] - r["baseline"]
        lines.append(
            f"| {n_samples:,} | {text_column} | {r['file_bytes'] / 2**20:.1f} | "
            f"{r['nbytes'] / 2**20:.1f} | {extra / 2**20:.1f} | "
            f"{extra / r['nbytes']:.2f} |"
        )
        print(lines[-1], flush=True)
    if args.write_readme:
        write_section("memory", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
