"""An unbuilt skgap fails to import with a message that says what to do."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from skgap import _check_build

SOURCE_TREE = Path(__file__).resolve().parents[1]

# An editable install adds a finder that would find the compiled extension of
# the real tree for the copy: drop it, as a non-editable install has none.
_IMPORT_WITHOUT_EDITABLE_FINDER = (
    "import sys; "
    "sys.meta_path[:] = [f for f in sys.meta_path "
    "if 'editable' not in repr(f).lower()]; "
    "import skgap"
)


def _unbuilt_copy(tmp_path, with_pyproject):
    shutil.copytree(
        SOURCE_TREE / "skgap",
        tmp_path / "skgap",
        ignore=shutil.ignore_patterns("*.so", "*.pyd", "*.c", "__pycache__"),
    )
    if with_pyproject:
        shutil.copy(SOURCE_TREE / "pyproject.toml", tmp_path)
    return tmp_path


@pytest.mark.parametrize("with_pyproject", [True, False], ids=["tree", "package"])
def test_import_without_extension_explains(tmp_path, with_pyproject):
    if not (SOURCE_TREE / "skgap" / "__init__.py").is_file():
        pytest.skip("the tests do not run from a source tree")
    cwd = _unbuilt_copy(tmp_path, with_pyproject)
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_WITHOUT_EDITABLE_FINDER],
        cwd=cwd,  # the copy is first on sys.path
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    error = result.stderr[result.stderr.index("\nImportError: ") :]
    assert "skgap._dispersion_fast" in error
    assert "No module named" in error  # the cause, kept in the message
    assert "ModuleNotFoundError" not in result.stderr.splitlines()[-1]
    assert "The above exception" not in result.stderr  # one error, not a chain
    if with_pyproject:
        assert "source tree" in error and "pip install -e ." in error
    else:
        assert "pip install --force-reinstall ." in error


def test_check_build_names_the_failing_extension():
    with pytest.raises(ImportError, match=r"skgap\._not_built\s+\(ModuleNotFoundError"):
        _check_build.check_build(["skgap._dispersion_fast", "skgap._not_built"])
    # the built extensions import
    _check_build.check_build()


def test_extensions_are_those_of_pyproject():
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python >= 3.11")
    pyproject = SOURCE_TREE / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("the tests do not run from a source tree")
    with pyproject.open("rb") as f:
        tables = tomllib.load(f)["tool"]["setuptools"].get("ext-modules", [])
    declared = sorted(table["name"] for table in tables)
    assert sorted(_check_build.EXTENSIONS) == declared, (
        "skgap/_check_build.py EXTENSIONS must list the ext-modules of "
        "pyproject.toml, so that a missing build is explained"
    )
