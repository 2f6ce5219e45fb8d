"""Faults in the fit loop: warnings raised inside workers, workers that die.

Warnings
--------
A warning raised by the clusterer inside a joblib worker is lost if the worker
is another process, and repeated B times per k if it is not. Each worker task
therefore records the warnings of its own thread and returns them with its
result; the caller re-emits them once per category, summarised, in its own
thread, where the user's warning filters apply.

``warnings.catch_warnings`` cannot do the recording: it saves and restores the
process-global ``warnings.filters`` and ``warnings.showwarning``, so two of
them active at once in two threads (the threading backend, dask workers with
several threads, or GridSearchCV running several fits in threads) leave the
filters corrupted. Instead, the first active recorder of a process installs a
single ``showwarning`` hook and the last one removes it, under a lock; the
hook routes a warning to the recorder of the thread that raised it, and
passes warnings of other threads on to the previous ``showwarning``. The
filter list is never touched: the user's filters decide, in every thread,
which warnings are shown (and so recorded), ignored or raised.
"""

import os
import sys
import threading
import warnings
from concurrent.futures import BrokenExecutor
from contextlib import contextmanager

__all__ = [
    "WORKER_DIED",
    "fit_label",
    "record_warnings",
    "short_list",
    "warn_caller",
    "warn_summary",
]

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _internal(filename):
    """Frames of skgap, and of scikit-learn's wrapper of fit (sklearn/base.py)."""
    return filename.startswith(_PACKAGE) or filename.endswith(
        os.path.join("sklearn", "base.py")
    )


def warn_caller(message, category):
    """warnings.warn, attributed to the first caller outside skgap.

    So that a warning of ``fit`` points at the user's line however deep in
    skgap it is raised (Python 3.12's ``skip_file_prefixes``, for 3.10).
    """
    frame, level = sys._getframe(1), 2
    while frame is not None and _internal(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


#: Exceptions with which an executor reports that a worker process died.
WORKER_DIED = (BrokenExecutor,)

_lock = threading.Lock()
_local = threading.local()
_n_active = 0
_saved = None  # (showwarning,) while a recorder is active


def _showwarning(message, category, filename, lineno, file=None, line=None):
    records = getattr(_local, "records", None)
    if records is not None:
        records.append((category, str(message), getattr(_local, "fit", None)))
        return
    saved = _saved
    show = saved[0] if saved is not None else warnings.showwarning
    if show is not _showwarning:
        show(message, category, filename, lineno, file, line)


def _activate():
    global _n_active, _saved
    with _lock:
        if _n_active == 0:
            _saved = (warnings.showwarning,)
            warnings.showwarning = _showwarning
        _n_active += 1


def _deactivate():
    global _n_active, _saved
    with _lock:
        _n_active -= 1
        if _n_active == 0:
            (warnings.showwarning,) = _saved
            _saved = None


@contextmanager
def record_warnings():
    """Record the warnings raised in this thread; yields the list of records.

    Each record is ``(category, message, fit)``, with ``fit`` the label set by
    :func:`fit_label` when the warning was raised (or None). Safe to use in
    several threads at once, and nested.
    """
    records = []
    previous = getattr(_local, "records", None)
    _activate()
    _local.records = records
    try:
        yield records
    finally:
        _local.records = previous
        _deactivate()


@contextmanager
def fit_label(dataset, k):
    """Attribute the warnings raised in this thread to the fit (dataset, k)."""
    previous = getattr(_local, "fit", None)
    _local.fit = (dataset, k)
    try:
        yield
    finally:
        _local.fit = previous


def short_list(values, limit=8):
    """'1, 2, 3' or, past `limit` values, '1, 2, ..., 8, ... (1000 in all)'."""
    values = list(values)
    text = ", ".join(str(v) for v in values[:limit])
    return text + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def _describe_fits(fits):
    """'the data at k=2, 3; reference data sets b=0, 4 at k=3' from (dataset, k)."""
    data_ks = sorted({k for dataset, k in fits if dataset == "the data" and k})
    refs = sorted({d for d, _ in fits if d != "the data" and d is not None})
    ref_ks = sorted({k for d, k in fits if d != "the data" and d is not None and k})
    parts = []
    if data_ks:
        parts.append(f"the data at k={short_list(data_ks)}")
    if refs:
        bs = [d.rsplit("=", 1)[-1] for d in refs]
        bs = sorted(bs, key=lambda b: int(b) if b.isdigit() else b)
        where = f" at k={short_list(ref_ks)}" if ref_ks else ""
        parts.append(
            f"{len(refs)} reference data set{'s' * (len(refs) > 1)} "
            f"(b={short_list(bs)}){where}"
        )
    return "; ".join(parts) if parts else "outside the clusterer fits"


def warn_summary(records):
    """Re-emit recorded warnings once per category, with a count and the fits.

    Parameters
    ----------
    records : list of (category, message, fit)
        The records of all worker tasks, in task order (so the summary does
        not depend on the backend or on n_jobs).

    """
    by_category = {}
    for category, message, fit in records:
        by_category.setdefault(category, []).append((message, fit))
    for category, items in sorted(
        by_category.items(), key=lambda item: item[0].__qualname__
    ):
        # sorted: tasks finish in any order, the summary must not depend on it
        messages = sorted({message for message, _ in items})
        fits = [fit for _, fit in items if fit is not None]
        text = (
            f"{len(items)} {category.__name__} warning{'s' * (len(items) > 1)} "
            f"raised while clustering {_describe_fits(fits)}"
        )
        if len(messages) == 1:
            text += f": {messages[0]}"
        else:
            shown = " | ".join(messages[:3])
            more = f" | ... ({len(messages)} distinct)" if len(messages) > 3 else ""
            text += f". Messages: {shown}{more}"
        warn_caller(text, category)


def worker_died_error(exc, n_jobs, n_tasks):
    """The message for an executor whose worker process died during ``fit``."""
    return (
        f"A worker process died while GapKMeans was clustering the data and the "
        f"reference data sets ({n_tasks} tasks, n_jobs={n_jobs}); which fit it "
        "was running is unknown. The clusterer most likely crashed the "
        "interpreter (a segmentation fault, os._exit, or the out-of-memory "
        "killer). Run with n_jobs=1 to see the failure in this process, or "
        f"reduce memory use. The executor reported: {exc}"
    )
