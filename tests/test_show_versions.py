"""Tests of skgap.show_versions: what a bug report needs, on stdout."""

import re

import numpy as np
import sklearn

import skgap
from skgap._kmeans_fast import simd


def test_show_versions_lists_versions_kernels_and_thread_pools(capsys):
    skgap.show_versions()
    out = capsys.readouterr().out
    fields = dict(
        line.strip().split(": ", 1) for line in out.splitlines() if ": " in line
    )
    assert fields["skgap"] == skgap.__version__
    assert fields["numpy"] == np.__version__
    assert fields["scikit-learn"] == sklearn.__version__
    assert fields["engine kernels"] == simd()
    assert re.fullmatch(r"\d+ \((\d+|None) usable\)", fields["cpus"])
    assert "threadpools:" in out.splitlines()


def test_missing_optional_packages_are_named(capsys, monkeypatch):
    from importlib.metadata import PackageNotFoundError

    from skgap import _show_versions

    def version(name):
        if name == "dask":
            raise PackageNotFoundError(name)
        return "1.0"

    monkeypatch.setattr(_show_versions, "version", version)
    skgap.show_versions()
    assert re.search(r"^\s+dask: not installed$", capsys.readouterr().out, re.M)
