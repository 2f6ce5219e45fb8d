"""Seeded cases of the compiled k-means engine and the digests of its outputs.

``tests/data/engine_fixture.npz`` holds, for every case of :func:`cases`, the
sha256 digest of the engine's outputs (labels, centres, inertia, W_k,
iteration counts, distinct clusters, and the labels that ``assign`` gives the
final centres), and the raw outputs of the first :data:`N_RAW` cases to debug
a mismatch. ``tests/test_engine.py`` requires the same bits, so that a change
of the engine's code that should not change its results is checked on
float32 and float64, with and without weights, on duplicates, offsets, tiny
and huge scales, k = n_samples, empty clusters and several blocks of samples.

Regenerate (only when a change of the results is intended) with::

    python tests/_engine_fixture.py
"""

import hashlib
from pathlib import Path

import numpy as np

from skgap._engine import EngineSettings, engine_fit
from skgap._kmeans_fast import assign, lloyd

PATH = Path(__file__).parent / "data" / "engine_fixture.npz"
N_CASES = 400
N_RAW = 20


def _data(rng, index):
    """The data, weights and ks of case `index`."""
    kind = index % 10
    n_samples = int(rng.integers(2, 300))
    n_features = int(rng.integers(1, 9))
    if kind == 9:  # several blocks of samples, wide data or many clusters
        n_samples = int(rng.integers(300, 1500))
        n_features = int(rng.choice([1, 2, 17, 60, 150]))
    X = rng.normal(size=(n_samples, n_features))
    X += rng.integers(0, 4, size=(n_samples, 1)) * 3.0
    if kind == 1:  # duplicates
        X = X[rng.integers(0, max(1, n_samples // 5), size=n_samples)]
    elif kind == 2:  # a large offset
        X += 1e4
    elif kind == 3:  # tiny or huge scales, within the range of the dtype
        scales = (
            [1e-25, 1e-35, 1e30, 1e35] if index % 2 else [1e-25, 1e-150, 1e30, 1e150]
        )
        X *= float(rng.choice(scales))
    elif kind == 4:  # few distinct values
        X = np.round(X)
    k_max = min(n_samples, 12 if kind != 9 else 40)
    ks = sorted(set(rng.integers(1, k_max + 1, size=int(rng.integers(1, 6))).tolist()))
    if kind == 5 or n_samples <= 12:
        ks = sorted(set(ks) | {n_samples})  # k = n_samples
    weights = None
    if index % 3 == 1:
        weights = rng.uniform(0.1, 3.0, n_samples)
    elif index % 3 == 2 and kind in (1, 4, 6):
        weights = rng.integers(0, 4, n_samples).astype(np.float64)
        weights[0] = 1.0  # a positive sum
    dtype = np.float32 if index % 2 else np.float64
    return np.ascontiguousarray(X, dtype=dtype), weights, ks


def cases():
    """The (X, weights, ks, seeds, settings) of every case."""
    for index in range(N_CASES):
        rng = np.random.default_rng(index)
        X, weights, ks = _data(rng, index)
        settings = EngineSettings(
            n_init=int(rng.choice([1, 1, 2, 3, 5])),
            max_iter=int(rng.choice([1, 2, 3, 10, 300, 300])),
            tol=float(rng.choice([0.0, 1e-4, 1e-4, 1e-2])),
        )
        seeds = rng.integers(0, 2**63, size=len(ks)).tolist()
        yield X, weights, ks, seeds, settings


def _lloyd_case(index):
    """Lloyd's iterations from centres of which some are far from every sample."""
    rng = np.random.default_rng(10_000 + index)
    X, weights, _ = _data(rng, index)
    n_clusters = min(X.shape[0], int(rng.integers(2, 8)))
    centers = X[rng.choice(X.shape[0], n_clusters, replace=False)].astype(np.float64)
    n_far = int(rng.integers(0, min(3, n_clusters)))
    if n_far:
        spread = float(np.abs(X).max()) + 1.0
        centers[:n_far] = spread * 1e3 * rng.choice([-1.0, 1.0], (n_far, X.shape[1]))
    labels = np.empty(X.shape[0], dtype=np.intc)
    tol = float(
        rng.choice([0.0, 1e-4 * float(X.astype(np.float64).var(axis=0).mean())])
    )
    n_iter = lloyd(X, weights, centers, labels, int(rng.choice([1, 3, 300])), tol)
    return {
        "lloyd_centers": centers,
        "lloyd_labels": labels,
        "lloyd_n_iter": np.intc(n_iter),
    }


def outputs(index, case):
    """The engine's outputs on `case` (the `index`-th), as named arrays."""
    X, weights, ks, seeds, settings = case
    fit = engine_fit(X, weights, ks, seeds, settings, dispersion=True, labels=True)
    centers = np.concatenate(fit.centers)
    assigned = np.empty(X.shape[0], dtype=np.intc)
    assign(X, centers[-ks[-1] :], assigned)
    result = {
        "labels": fit.labels,
        "centers": centers,
        "inertia": fit.inertia,
        "dispersion": fit.dispersion,
        "n_iter": fit.n_iter,
        "n_distinct": fit.n_distinct,
        "assigned": assigned,
    }
    if index % 4 == 0:
        result.update(_lloyd_case(index))
    return result


def digest(result):
    """The sha256 of the outputs' names, dtypes, shapes and bytes."""
    sha = hashlib.sha256()
    for name in sorted(result):
        array = np.ascontiguousarray(result[name])
        sha.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        sha.update(array.tobytes())
    return sha.hexdigest()


def generate():
    """Run every case and write the fixture file."""
    stored = {}
    digests = []
    for index, case in enumerate(cases()):
        result = outputs(index, case)
        digests.append(digest(result))
        if index < N_RAW:
            for name, array in result.items():
                stored[f"{index}/{name}"] = array
    PATH.parent.mkdir(exist_ok=True)
    np.savez_compressed(PATH, digests=np.array(digests), **stored)


if __name__ == "__main__":
    generate()
