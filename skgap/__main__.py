"""Command line: choose the number of clusters of a built-in example data set."""

import sys

import numpy as np


def main(argv=None):
    """Run the gap statistic on a built-in example and print the table.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; ``None`` means ``sys.argv[1:]``.

    Returns
    -------
    status : int
        The exit status.
    """
    from sklearn.datasets import make_blobs

    from ._gap import GapKMeans

    X, _ = make_blobs(n_samples=500, centers=4, cluster_std=1.0, random_state=1)
    gap = GapKMeans(random_state=0).fit(X)
    print(f"chosen k = {gap.n_clusters_} (rule 'tibshirani' on the gap statistic)")
    columns = ["n_clusters", "log_w", "expected_log_w", "gap", "se", "diff"]
    print("  ".join(f"{c:>14}" for c in columns))
    for row in zip(*(gap.gap_results_[c] for c in columns)):
        print("  ".join(f"{v:>14.4f}" if isinstance(v, float | np.floating)
                        else f"{v:>14}" for v in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
