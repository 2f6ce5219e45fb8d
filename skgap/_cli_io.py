"""Reading the command line's data: delimited text, .npy and .npz files.

Text is parsed by NumPy's C reader, streamed from the file, so that reading
costs about the size of the final array. The first rows decide the delimiter,
the header row and which columns hold numbers; when NumPy fails, a second pass
over the file finds the line to blame.
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

_SAMPLE = 100  # rows that decide the delimiter, the header and the text columns
_MISSING = {"", "na", "n/a", "nan", "null", "none", "?", "-"}
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")
_UNSUPPORTED = ".xls .xlsx .xlsm .ods .parquet .feather .h5 .hdf5 .pkl .pickle".split()


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
    if args.file == "-":
        with tempfile.TemporaryFile() as raw:  # stdin, to be read twice
            try:
                shutil.copyfileobj(sys.stdin.buffer, raw)
            except (AttributeError, ValueError, OSError):
                raise InputError(
                    "cannot read stdin: it is closed; pipe the data in "
                    "(skgap - < data.csv) or give a FILE"
                ) from None
            return _read(raw, "stdin", args)
    if os.path.isdir(args.file):
        raise InputError(f"{args.file} is a directory, not a data file")
    try:
        with open(args.file, "rb") as raw:
            return _read(raw, args.file, args)
    except FileNotFoundError:
        raise InputError(f"no such file: {args.file}") from None
    except OSError as exc:
        raise InputError(f"cannot read {args.file}: {exc.strerror or exc}") from None


def _read(raw, name, args):
    """Read a binary file: dispatch on its first bytes."""
    raw.seek(0)
    head = raw.read(8192)
    raw.seek(0)
    extension = os.path.splitext(name)[1].lower()
    if extension in _UNSUPPORTED:
        raise InputError(
            f"{name}: {extension} files are not supported; save the data as CSV "
            "(a spreadsheet: File > Save as), .npy or .npz"
        )
    if head.startswith((b"\x93NUMPY", b"PK\x03\x04")):
        return _read_array(raw, name, args)
    if extension in (".npy", ".npz"):
        raise InputError(f"{name} is not a valid {extension} file (bad magic bytes)")
    if args.key is not None:
        raise InputError(f"--key applies to .npz archives, and {name} is text")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in head:
        raise InputError(f"{name} is a binary file, not CSV/TSV text, .npy or .npz")
    else:
        try:  # incremental: the head may end inside a character
            codecs.getincrementaldecoder("utf-8")().decode(head)
            encoding = "utf-8-sig"
        except UnicodeDecodeError:
            encoding = "latin-1"
    text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
    return _read_text(text, name, args)


def _number(text, decimal_comma):
    """`text` as a float, or None; '1,5' is 1.5 if `decimal_comma`."""
    try:
        return float(text)
    except ValueError:
        if decimal_comma and _DECIMAL_COMMA.fullmatch(text):
            return float(text.replace(",", "."))
        return None


def _records(f, sep):
    """(line number, fields) of the rows of `f`, without blank and comment lines."""
    f.seek(0)
    if sep == "whitespace":
        rows = ((n, line.split()) for n, line in enumerate(f, start=1))
    else:
        reader = csv.reader(f, delimiter=sep)
        rows = ((reader.line_num, [x.strip() for x in row]) for row in reader)
    return ((n, row) for n, row in rows if row not in ([], [""]) and row[0][:1] != "#")


def _sniff(f):
    """The delimiter that splits the first lines into a constant number of fields."""
    lines = [line for line in itertools.islice(f, 4 * _SAMPLE) if line.strip()]
    lines = [line for line in lines if not line.lstrip().startswith("#")][:50]
    for sep in ",\t;|":
        counts = {len(row) for row in csv.reader(lines, delimiter=sep)}
        if len(counts) == 1 and counts.pop() > 1:
            return sep
    counts = {len(line.split()) for line in lines}
    if len(counts) == 1 and counts.pop() > 1:
        return "whitespace"
    # ragged rows: the most frequent delimiter will name the bad line
    best = max(",\t;|", key=lambda sep: sum(line.count(sep) for line in lines))
    return best if any(best in line for line in lines) else "whitespace"


def _has_header(rows, decimal_comma):
    first = [_number(x, decimal_comma) is not None for x in rows[0]]
    if all(first) or not any(first) or len(rows) == 1:
        return not all(first)
    # a header if some column is text in the first row and a number below it
    second = [_number(x, decimal_comma) is not None for x in rows[1]]
    return any(not a and b for a, b in zip(first, second, strict=False))


def _read_text(f, name, args):
    sep = args.delimiter or _sniff(f)
    sample = list(itertools.islice(_records(f, sep), _SAMPLE + 1))
    if not sample:
        raise InputError(f"{name} has no data rows; it is empty or only comments")
    comma = sep != "," and any(
        _DECIMAL_COMMA.fullmatch(x) for _, r in sample for x in r
    )
    header = args.header == "yes" or (
        args.header == "auto" and _has_header([row for _, row in sample], comma)
    )
    if header:
        skip, columns = sample.pop(0)
        duplicated = sorted({c for c in columns if columns.count(c) > 1})
        if duplicated:
            raise InputError(f"{name} has duplicated column names {duplicated}")
        if not sample:
            raise InputError(f"{name} has a header row but no data rows")
    else:
        skip, columns = 0, [str(i) for i in range(len(sample[0][1]))]
    labels = [repr(c) for c in columns] if header else columns
    rows = [row for _, row in sample if len(row) == len(columns)]
    # a trailing delimiter makes an empty last column, which is no data
    empty_last = not (header and columns[-1]) and not any(row[-1] for row in rows)
    usable = range(len(columns) - (len(columns) > 1 and empty_last))
    notes = []
    if args.columns is not None:
        used = _select_columns([columns[c] for c in usable], args.columns, name)
    else:
        used = [
            c for c in usable if any(_number(r[c], comma) is not None for r in rows)
        ]
        skipped = [labels[c] for c in usable if c not in used]
        if skipped:
            plural = "s" * (len(skipped) > 1)
            notes.append(f"skipped the text column{plural} {', '.join(skipped)}")
        index = [_number(row[0], False) for row in rows]
        if used[:1] == [0] and header and columns[0] in ("", "Unnamed: 0"):
            if len(index) > 1 and index == [index[0] + i for i in range(len(index))]:
                used = used[1:]  # 0, 1, 2, ...: the row index of pandas' to_csv
                notes.insert(0, f"skipped the unnamed index column {labels[0]}")
    shown = "whitespace" if sep == "whitespace" else repr(sep)
    if not used:
        raise InputError(
            f"{name} has no numeric column (delimiter {shown}); check the file or "
            "pass --delimiter"
        )
    f.seek(0)
    try:
        X = np.loadtxt(
            # NumPy skips empty lines, but not lines of spaces
            (line for n, line in enumerate(f, 1) if n > skip and line.strip()),
            delimiter=None if sep == "whitespace" else sep,
            usecols=None if len(used) == len(columns) else used,
            quotechar='"',
            converters=(lambda x: float(x.replace(",", "."))) if comma else None,
            encoding=None,  # converters get str, not bytes, before NumPy 2
            ndmin=2,
        )
        problem = None if np.isfinite(X).all() else "a missing or non-finite value"
    except ValueError as exc:
        problem = exc
    if problem is not None:  # find the line to blame
        for line, row in _records(f, sep):
            if line > skip:
                where = f"{name} line {line}"
                _check_row(row, labels, used, comma, where, f"delimiter {shown}")
        raise InputError(f"cannot read {name} as delimited text: {problem}")
    note = "; ".join(notes) + "; choose columns with --columns" if notes else None
    return Data(X, [columns[c] for c in used], name, note)


def _check_row(row, labels, used, decimal_comma, where, delimiter):
    """Raise the InputError that explains what is wrong with `row`, if anything."""
    if len(row) != len(labels):
        raise InputError(
            f"{where} has {len(row)} field{'s' * (len(row) != 1)} but the first row "
            f"has {len(labels)} ({delimiter}); every row needs the same number of "
            "fields (use --delimiter if the delimiter was misdetected)"
        )
    for c in used:
        value = _number(row[c], decimal_comma)
        if value is None and row[c].lower() not in _MISSING:
            what = f"{row[c]!r} is not a number; select numeric columns with "
            what += "--columns or clean the file"
        elif value is None or not np.isfinite(value):
            what = "missing or NaN" if value is None or value != value else "infinite"
            what += " value; drop or impute those rows first"
        else:
            continue
        raise InputError(f"{where}, column {labels[c]}: {what}")


def _select_columns(columns, spec, name):
    """Positions of the columns named or numbered in `spec`."""
    positions = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        if item in columns:
            positions.append(columns.index(item))
        elif re.fullmatch(r"-?\d+", item) and -len(columns) <= int(item) < len(columns):
            positions.append(int(item) % len(columns))
        else:
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


def _read_array(raw, name, args):
    """A .npy or .npz file, never unpickling anything."""
    if args.delimiter is not None or args.header != "auto":
        raise InputError(f"--delimiter and --header apply to text, and {name} is not")
    try:
        array = np.load(raw, allow_pickle=False)
        if isinstance(array, np.lib.npyio.NpzFile):
            keys, key = array.files, args.key
            if key is None and len(keys) != 1:
                raise InputError(
                    f"{name} holds the arrays {keys}; choose one with --key"
                )
            if (key or keys[0]) not in keys:
                raise InputError(f"{name} has no array {key!r}; its arrays are {keys}")
            array, name = array[key or keys[0]], f"{name}[{key or keys[0]}]"
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
