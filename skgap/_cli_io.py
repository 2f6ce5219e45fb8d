"""Reading the command line's data: delimited text, .npy and .npz files.

Text is parsed by NumPy once its first rows have told the delimiter
(:class:`csv.Sniffer`), the header row and the numeric columns, streamed from
the file so that reading costs about the size of the final array; when NumPy
fails, a second pass names the line to blame. pandas is not needed.
"""

import codecs
import csv
import io
import itertools
import os
import re
import shutil
import sys
import tempfile
from typing import NamedTuple

import numpy as np

#: The built-in example: four blobs, which the default settings find.
EXAMPLE = {"n_samples": 500, "centers": 4, "random_state": 1}

_SAMPLE = 100  # rows that decide the delimiter, the header and the numeric columns
_MISSING = {"", "na", "n/a", "nan", "null", "none", "?", "-"}
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")


class InputError(Exception):
    """A problem with the user's input or options: one line, exit status 2."""


class Data(NamedTuple):
    """A data set of the command line: float64 values, all finite."""

    X: np.ndarray
    columns: list
    source: str
    note: str = None  # for the user


def read_data(args):
    """The data of the command line's `args.file` (None: the built-in example)."""
    if args.file is None:
        for option in ("columns", "key", "delimiter"):
            if getattr(args, option) is not None:
                raise InputError(f"--{option} needs a data FILE")
        from sklearn.datasets import make_blobs

        described = ", ".join(f"{k}={v}" for k, v in EXAMPLE.items())
        return Data(
            make_blobs(**EXAMPLE)[0],
            ["x0", "x1"],
            f"built-in example make_blobs({described})",
            f"the example has {EXAMPLE['centers']} clusters; run 'skgap FILE' on "
            "your own data, 'skgap --help' for the options",
        )
    if args.file == "-":  # stdin, spooled to a file: the text is read twice
        with tempfile.TemporaryFile() as raw:
            try:
                shutil.copyfileobj(sys.stdin.buffer, raw)
            except (AttributeError, ValueError):  # sys.stdin is None, or closed
                raise InputError(
                    "cannot read stdin: it is closed; pipe the data in "
                    "(skgap - < data.csv) or give a FILE"
                ) from None
            return _read(raw, "stdin", args)
    try:
        raw = open(args.file, "rb")
    except OSError as exc:  # no such file, a directory, no permission
        raise InputError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    with raw:
        return _read(raw, args.file, args)


def _read(raw, name, args):
    """The data of a binary file: a NumPy file, else text, streamed from it."""
    raw.seek(0)
    head = raw.read(8192)
    raw.seek(0)
    extension = os.path.splitext(name)[1].lower()
    if extension in (".npy", ".npz") or head.startswith(b"\x93NUMPY"):
        if not head.startswith((b"\x93NUMPY", b"PK\x03\x04")):
            raise InputError(f"{name} is not a valid {extension} file")
        return _read_array(raw, name, args)
    if args.key is not None:
        raise InputError(f"--key applies to .npz archives, and {name} is text")
    # Spreadsheets save text as UTF-8 (maybe with a BOM), as Latin-1 (cp1252,
    # whose digits read the same), or as UTF-16 with a BOM ("Unicode text").
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in head:  # .xlsx, .parquet, .pkl, ...
        raise InputError(
            f"{name} is not text (CSV, TSV), .npy or .npz; save the data as CSV "
            "(a spreadsheet: File > Save as)"
        )
    else:
        try:  # incremental: the head may end inside a character
            codecs.getincrementaldecoder("utf-8")().decode(head)
            encoding = "utf-8-sig"
        except UnicodeDecodeError:
            encoding = "latin-1"
    # Decoded as it is read, never whole: reading costs about the final array.
    text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
    try:
        return _read_text(text, name, args)
    finally:
        text.detach()  # the caller closes the file


def _rows(f, sep):
    """(line number, fields) of the rows of `f`, without blank and comment lines."""
    f.seek(0)
    if sep is None:  # runs of whitespace
        rows = ((n, line.split()) for n, line in enumerate(f, start=1))
    else:
        reader = csv.reader(f, delimiter=sep)
        rows = ((reader.line_num, [x.strip() for x in row]) for row in reader)
    return ((n, row) for n, row in rows if any(row) and row[0][:1] != "#")


def _number(text, decimal_comma):
    """`text` as a float, or None; '1,5' reads as 1.5 if `decimal_comma`."""
    if decimal_comma and _DECIMAL_COMMA.fullmatch(text):
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def _delimiter(f):
    """The delimiter of the text `f` (',', tab, ';' or '|'), or ' ' for blanks."""
    lines = (line for line in f if line.strip() and line.lstrip()[0] != "#")
    sample = "".join(itertools.islice(lines, _SAMPLE))
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:  # one column, blanks, or rows of different lengths
        return (
            max(",\t;|", key=sample.count) if any(map(sample.count, ",\t;|")) else " "
        )


def _read_text(f, name, args):
    """The numeric columns of delimited text, all finite."""
    sep = args.delimiter or _delimiter(f)
    sep = None if sep == " " else sep  # None: runs of whitespace
    rows = list(itertools.islice(_rows(f, sep), _SAMPLE + 1))
    if not rows:
        raise InputError(f"{name} has no data rows; it is empty or only comments")
    comma = sep != "," and any(_DECIMAL_COMMA.fullmatch(x) for _, r in rows for x in r)
    is_number = [[_number(x, comma) is not None for x in row] for _, row in rows]
    # A header row has text above a number (a row alone: any text).
    below = is_number[1] if len(rows) > 1 else [True] * len(is_number[0])
    header = args.header == "yes" or (
        args.header == "auto"
        and any(b and not a for a, b in zip(is_number[0], below, strict=False))
    )
    if header and len(rows) == 1:
        raise InputError(f"{name} has a header row but no data rows")
    skip, columns = rows[0] if header else (0, [str(j) for j in range(len(rows[0][1]))])
    labels = [repr(c) for c in columns] if header else columns
    # the first data rows (those of another length are the second pass's)
    sample = [
        (row, numbers)
        for (_, row), numbers in zip(rows[header:], is_number[header:], strict=True)
        if len(row) == len(columns)
    ]
    notes = []
    if args.columns is not None:
        used = _select_columns(columns, args.columns, name)
    else:
        used = [j for j in range(len(columns)) if any(n[j] for _, n in sample)]
        # Text columns are left out with a note, and empty ones (a delimiter
        # ending every line makes one) silently.
        text = [
            labels[j]
            for j in range(len(columns))
            if j not in used and any(row[j] for row, _ in sample)
        ]
        if text:
            notes.append(
                f"skipped the text column{'s' * (len(text) > 1)} {', '.join(text)}"
            )
        index = [_number(row[0], False) for row, _ in sample] == [*range(len(sample))]
        if header and columns[0] in ("", "Unnamed: 0") and index and used[:1] == [0]:
            used = used[1:]  # 0, 1, 2, ... under no name: pandas' to_csv row index
            notes.insert(0, f"skipped the unnamed index column {labels[0]}")
    shown = "whitespace" if sep is None else repr(sep)
    if not used:
        raise InputError(
            f"{name} has no numeric column (delimiter {shown}); check the file or "
            "pass --delimiter"
        )
    f.seek(0)
    try:
        X = np.loadtxt(
            # NumPy skips empty lines, but not lines of blanks
            (line for n, line in enumerate(f, 1) if n > skip and line.strip()),
            delimiter=sep,
            # all columns: then NumPy checks that every row has them all
            usecols=None if len(used) == len(columns) else used,
            quotechar='"',
            converters=(lambda x: float(x.replace(",", "."))) if comma else None,
            encoding=None,  # converters get str, not bytes, before NumPy 2
            ndmin=2,
        )
        problem = None if np.isfinite(X).all() else "a missing or infinite value"
    except ValueError as exc:
        problem = exc
    if problem is not None:  # a second pass names the line to blame
        for line, row in _rows(f, sep):
            what = line > skip and _problem(row, labels, used, comma, shown)
            if what:
                raise InputError(f"{name} line {line}{what}")
        raise InputError(f"cannot read {name} as delimited text: {problem}")
    note = "; ".join(notes) + "; choose columns with --columns" if notes else None
    return Data(X, [columns[j] for j in used], name, note)


def _problem(row, labels, used, decimal_comma, shown):
    """What is wrong with a data row of the text, or None."""
    if len(row) != len(labels):
        return (
            f" has {len(row)} field{'s' * (len(row) != 1)} but the first row has "
            f"{len(labels)} (delimiter {shown}); every row needs the same number "
            "of fields (use --delimiter if the delimiter was misdetected)"
        )
    for j in used:
        value = _number(row[j], decimal_comma)
        if value is None and row[j].lower() not in _MISSING:
            return (
                f", column {labels[j]}: {row[j]!r} is not a number; select numeric "
                "columns with --columns or clean the file"
            )
        if value is None or not np.isfinite(value):
            kind = "infinite" if value in (np.inf, -np.inf) else "missing or NaN"
            return (
                f", column {labels[j]}: {kind} value; drop or impute those rows first"
            )
    return None


def _select_columns(columns, spec, name):
    """Positions of the columns named or numbered (from 0) in `spec`."""
    positions = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        if item not in columns and not (item.isdigit() and int(item) < len(columns)):
            shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
            raise InputError(
                f"--columns: {name} has no column {item!r}; its columns are {shown} "
                f"(names from the header row or 0-based indices < {len(columns)})"
            )
        positions.append(columns.index(item) if item in columns else int(item))
    if not positions or len(set(positions)) != len(positions):
        raise InputError(f"--columns must name each column once, got {spec!r}")
    return positions


def _read_array(f, name, args):
    """The array of a .npy or .npz file, never unpickling anything."""
    try:
        array = np.load(f, allow_pickle=False)
        if isinstance(array, np.lib.npyio.NpzFile):
            keys = array.files
            key = args.key or (keys[0] if len(keys) == 1 else None)
            if key not in keys:
                message = f"{name} has the arrays {', '.join(keys)}; choose one"
                raise InputError(f"{message} with --key")
            array, name = array[key], f"{name}[{key}]"
        elif args.key is not None:
            raise InputError(f"--key applies to .npz archives, and {name} is .npy")
    except InputError:
        raise
    except Exception as exc:  # ValueError, zipfile.BadZipFile, OSError, EOFError
        if "pickle" in str(exc):
            exc = "it holds Python objects, which skgap does not load "
            exc += "(allow_pickle=False); save a numeric array instead"
        raise InputError(f"cannot read {name} as a NumPy file: {exc}") from None
    if array.dtype.kind not in "biuf" or array.ndim not in (1, 2) or not array.size:
        raise InputError(
            f"{name} has dtype {array.dtype} and shape {array.shape}; skgap needs a "
            "2-D array (n_samples, n_features) of numeric values, not empty"
        )
    X = np.asarray(array.reshape(len(array), -1), dtype=np.float64)
    columns = [str(j) for j in range(X.shape[1])]
    if args.columns is not None:
        used = _select_columns(columns, args.columns, name)
        X, columns = X[:, used], [columns[j] for j in used]
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        i, j = bad[0]
        kind = "missing or NaN" if np.isnan(X[i, j]) else "infinite"
        raise InputError(
            f"{name} row {i}, column {columns[j]}: {kind} value ({len(bad)} in all); "
            "drop or impute those rows first"
        )
    return Data(X, columns, name)
