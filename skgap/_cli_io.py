"""Reading the command line's data files: CSV/TSV/whitespace text, .npy and .npz."""

import codecs
import csv
import io
import math
import os
import re
import sys

import numpy as np

PROG = "skgap"

#: The built-in example: four blobs, which the default settings find.
EXAMPLE = {"n_samples": 500, "centers": 4, "random_state": 1}

# Text-file sniffing.
_DELIMITERS = (",", "\t", ";", "|")
_SNIFF_LINES = 50
_MISSING = {"", "na", "n/a", "nan", "null", "none", "?", "-"}
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


class InputError(Exception):
    """A problem with the user's input: reported as one line, exit status 2."""


class Data:
    """A data set read for the command line: values, column names, description."""

    def __init__(self, X, columns, source, note=None):
        self.X = X
        self.columns = columns
        self.source = source
        self.note = note


def _example():
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(**EXAMPLE)
    args = ", ".join(f"{k}={v}" for k, v in EXAMPLE.items())
    return Data(
        X,
        ["x0", "x1"],
        f"built-in example make_blobs({args})",
        note=(
            f"the example has {EXAMPLE['centers']} clusters; run '{PROG} FILE' on "
            f"your own data, '{PROG} --help' for the options"
        ),
    )


_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")


def _number(text, decimal_comma=False):
    """`text` as a float, or None; '1,5' reads as 1.5 if `decimal_comma`."""
    try:
        return float(text)
    except ValueError:
        if decimal_comma and _DECIMAL_COMMA.fullmatch(text.strip()):
            return float(text.replace(",", "."))
        return None


def _is_number(text, decimal_comma=False):
    return _number(text, decimal_comma) is not None


def _is_index(name, values):
    """An unnamed column 0, 1, 2, ... (or 1, 2, ...): a row index, not a feature."""
    if name not in ("", "Unnamed: 0") or len(values) < 2:
        return False
    start = values[0]
    return start in (0.0, 1.0) and values == [start + i for i in range(len(values))]


def _parse_delimiter(text):
    names = {"tab": "\t", "\\t": "\t", "comma": ",", "space": " ", "semicolon": ";"}
    if text is None:
        return None
    delimiter = names.get(text.lower(), text)
    if delimiter == " ":
        return "whitespace"
    if len(delimiter) != 1:
        raise InputError(
            f"--delimiter must be one character (or 'tab', 'space'), got {text!r}"
        )
    return delimiter


def _sniff_delimiter(lines):
    """The delimiter that splits the first lines into a constant number of fields."""
    sample = lines[:_SNIFF_LINES]
    for delimiter in _DELIMITERS:
        counts = {len(row) for row in csv.reader(sample, delimiter=delimiter)}
        if len(counts) == 1 and counts.pop() > 1:
            return delimiter
    counts = {len(line.split()) for line in sample}
    if len(counts) == 1 and counts.pop() > 1:
        return "whitespace"
    # One column, or ragged rows: the most frequent candidate reports the problem.
    best = max(_DELIMITERS, key=lambda d: sum(line.count(d) for line in sample))
    if any(best in line for line in sample):
        return best
    return "whitespace" if any(len(line.split()) > 1 for line in sample) else ","


def _split(lines, delimiter):
    if delimiter == "whitespace":
        return [line.split() for line in lines]
    return [
        [field.strip() for field in row]
        for row in csv.reader(lines, delimiter=delimiter)
    ]


def _has_header(rows, header, decimal_comma=False):
    if header != "auto":
        return header == "yes"

    def number(field):
        return _is_number(field, decimal_comma)

    first = rows[0]
    if all(number(field) for field in first):
        return False
    if len(rows) == 1 or not any(number(field) for field in first):
        return True
    # A header if some column is text in the first row and a number below it.
    second = rows[1]
    return any(not number(a) and number(b) for a, b in zip(first, second, strict=False))


def _read_text(text, name, args):
    lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise InputError(f"{name} has no data rows; it is empty or only comments")
    numbers = [number for number, _ in lines]
    lines = [line for _, line in lines]
    delimiter = _parse_delimiter(args.delimiter) or _sniff_delimiter(lines)
    try:
        rows = _split(lines, delimiter)
    except csv.Error as exc:
        raise InputError(f"cannot parse {name} as delimited text: {exc}") from exc
    shown = "whitespace" if delimiter == "whitespace" else repr(delimiter)
    # With a delimiter other than a comma, '1,5' is a number with a decimal comma.
    decimal_comma = delimiter != ","
    has_header = _has_header(rows, args.header, decimal_comma)
    n_fields = len(rows[0])
    for number, row in zip(numbers, rows, strict=True):
        if len(row) != n_fields:
            raise InputError(
                f"{name} line {number} has {len(row)} field{'s' * (len(row) != 1)} "
                f"but line {numbers[0]} has "
                f"{n_fields} (delimiter {shown}); every row needs the same number of "
                "fields (use --delimiter if the delimiter was misdetected)"
            )
    if has_header:
        columns, rows, numbers = rows[0], rows[1:], numbers[1:]
        if len(set(columns)) != len(columns):
            duplicated = sorted({c for c in columns if columns.count(c) > 1})
            raise InputError(f"{name} has duplicated column names {duplicated}")
    else:
        columns = [str(i) for i in range(n_fields)]
    if not rows:
        raise InputError(f"{name} has a header row but no data rows")

    selected = _select_columns(columns, args.columns, name)
    explicit = args.columns is not None
    kept, skipped, index = [], [], None
    values = np.empty((len(rows), len(selected)), dtype=np.float64)
    for c in selected:
        column = [row[c] for row in rows]
        parsed = []
        bad = None
        for number, field in zip(numbers, column, strict=True):
            value = _number(field, decimal_comma)
            if value is None:
                value = math.nan
                if bad is None and field.strip().lower() not in _MISSING:
                    bad = (number, field)
            parsed.append(value)
        label = _column_label(columns[c], c, has_header)
        if (
            bad is not None
            and not explicit
            and not any(_is_number(field, decimal_comma) for field in column)
        ):
            skipped.append(label)
            continue
        if (
            not explicit
            and has_header
            and bad is None
            and _is_index(columns[c], parsed)
        ):
            index = label
            continue
        if bad is not None:
            number, field = bad
            raise InputError(
                f"{name} line {number}, column {label}: {field!r} is not a number; "
                "select numeric columns with --columns or clean the file"
            )
        values[:, len(kept)] = parsed
        kept.append(c)
    values = values[:, : len(kept)]
    if not kept:
        raise InputError(
            f"{name} has no numeric column (delimiter {shown}); "
            "check the file or pass --delimiter"
        )
    notes = []
    if index is not None:
        notes.append(f"skipped the unnamed index column {index}")
    if skipped:
        notes.append(
            f"skipped the text column{'s' if len(skipped) > 1 else ''} "
            f"{', '.join(skipped)}"
        )
    note = "; ".join(notes) + "; choose columns with --columns" if notes else None
    _check_finite(values, [columns[c] for c in kept], name, numbers)
    return Data(values, [columns[c] for c in kept], name, note=note)


def _column_label(column, index, has_header):
    return f"{column!r}" if has_header else f"{index}"


def _select_columns(columns, spec, name):
    """Positions of the columns named or numbered in `spec` (None: all)."""
    if spec is None:
        return list(range(len(columns)))
    positions = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        if item in columns:
            positions.append(columns.index(item))
            continue
        try:
            index = int(item)
        except ValueError:
            index = None
        if index is not None and -len(columns) <= index < len(columns):
            positions.append(index % len(columns))
            continue
        shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
        raise InputError(
            f"--columns: {name} has no column {item!r}; its columns are {shown} "
            f"(names from the header row or 0-based indices < {len(columns)})"
        )
    if not positions:
        raise InputError("--columns selects no column")
    if len(set(positions)) != len(positions):
        raise InputError(f"--columns selects a column twice: {spec!r}")
    return positions


def _check_finite(X, columns, name, numbers=None):
    bad = ~np.isfinite(X)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        where = f"line {numbers[i]}" if numbers is not None else f"row {i}"
        kind = "missing or NaN" if np.isnan(X[i, j]) else "infinite"
        raise InputError(
            f"{name} {where}, column {columns[j]!r}: {kind} value "
            f"({int(bad.sum())} in all); drop or impute those rows first"
        )


def _read_array(raw, path, name, args):
    """A .npy or .npz file, never unpickling anything."""
    try:
        loaded = np.load(io.BytesIO(raw), allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "pickle" in str(exc).lower():
            raise InputError(
                f"{name} holds Python objects, which skgap does not load "
                "(allow_pickle=False); save a numeric array instead"
            ) from exc
        raise InputError(f"cannot read {name} as a NumPy file: {exc}") from exc
    except Exception as exc:  # zipfile.BadZipFile, OSError, EOFError, ...
        raise InputError(f"cannot read {name} as a NumPy file: {exc}") from exc
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            keys = list(loaded.files)
            if not keys:
                raise InputError(f"{name} is an empty .npz archive")
            if args.key is None:
                if len(keys) > 1:
                    raise InputError(
                        f"{name} holds several arrays ({', '.join(keys)}); choose one "
                        "with --key"
                    )
                key = keys[0]
            elif args.key in keys:
                key = args.key
            else:
                raise InputError(
                    f"{name} has no array {args.key!r}; its "
                    f"arrays are {', '.join(keys)}"
                )
            try:
                array = loaded[key]
            except ValueError as exc:
                raise InputError(
                    f"array {key!r} of {name} holds Python objects, which skgap does "
                    "not load (allow_pickle=False); save a numeric array instead"
                ) from exc
            except Exception as exc:
                raise InputError(f"cannot read array {key!r} of {name}: {exc}") from exc
        name = f"{name}[{key}]"
    else:
        if args.key is not None:
            raise InputError(
                f"--key applies to .npz archives, and {name} is a .npy file"
            )
        array = loaded
    if array.dtype.kind not in "biuf":
        raise InputError(
            f"{name} has dtype {array.dtype}; skgap needs a numeric (integer or "
            "float) array"
        )
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise InputError(
            f"{name} has shape {array.shape}; skgap needs a 2-D array "
            "(n_samples, n_features)"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(f"{name} is empty (shape {array.shape})")
    columns = [str(i) for i in range(array.shape[1])]
    selected = _select_columns(columns, args.columns, name)
    X = np.asarray(array[:, selected], dtype=np.float64)
    columns = [columns[c] for c in selected]
    _check_finite(X, columns, name)
    return Data(X, columns, name)


def read_data(args):
    """Read the data of the command line (`args.file`) or make the example.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    data : Data
        The values (float64, finite), the column names and a description.
    """
    if args.file is None:
        for option in ("columns", "key", "delimiter"):
            if getattr(args, option) is not None:
                raise InputError(f"--{option} needs a data FILE")
        return _example()
    path = args.file
    if path == "-":
        raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else None
        if raw is None:
            text = sys.stdin.read()
            return _read_text(text, "stdin", args)
        name = "stdin"
    else:
        name = path
        if os.path.isdir(path):
            raise InputError(f"{path} is a directory, not a data file")
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            raise InputError(f"no such file: {path}") from None
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    extension = os.path.splitext(path)[1].lower()
    if raw.startswith(_NPY_MAGIC) or raw.startswith(_ZIP_MAGIC):
        if extension in (".xlsx", ".xlsm", ".ods", ".docx"):
            raise InputError(
                f"{name} is a spreadsheet; save it as CSV and run {PROG} on the CSV"
            )
        return _read_array(raw, path, name, args)
    if extension in (".npy", ".npz"):
        raise InputError(f"{name} is not a valid {extension} file (bad magic bytes)")
    if extension in (".xls", ".parquet", ".feather", ".h5", ".hdf5", ".pkl", ".pickle"):
        raise InputError(
            f"{name}: {extension} files are not supported; save the data as CSV, "
            ".npy or .npz"
        )
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return _read_text(raw.decode("utf-16"), name, args)
        except UnicodeDecodeError:
            raise InputError(f"{name} is not valid UTF-16 text") from None
    if b"\x00" in raw[:4096]:
        raise InputError(f"{name} is a binary file, not CSV/TSV text, .npy or .npz")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes anything
            raise InputError(f"{name} is not a text file") from None
    return _read_text(text, name, args)
