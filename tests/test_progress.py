"""Progress on stderr (``verbose``): live, in place, with a sane remaining time.

- In a pseudo-terminal, the line is rewritten in place (``\\r`` ... ``\\033[K``)
  while the fit runs: an update arrives before half of the run, the last one
  says total/total, and the first remaining-time estimate on data sets of equal
  cost is within a factor of 5 of the time that really remained.
- Elsewhere, at most a line per tenth of the work and the last one (<= 11),
  at every n_jobs and backend; ``verbose=0`` prints nothing.
- The remaining time weighs each fit by its k and ignores the first wave of
  results (one-time costs, results of several workers arriving together):
  "estimating" until a second wave has arrived, never a guess.
- In a Jupyter kernel, one line rewritten with carriage returns (no terminal
  escapes), or tqdm's notebook bar when tqdm and ipywidgets are installed.

The parts of a fit are in test_progress.py.
"""

import importlib.machinery
import io
import os
import pty
import re
import select
import subprocess
import sys
import tempfile
import textwrap
import time
import types
import warnings

import numpy as np
import pytest
from joblib import parallel_config
from sklearn.cluster import KMeans

from skgap import GapKMeans, _progress
from skgap._progress import Progress

SUBPROCESS_TIMEOUT = 60  # seconds; a hang fails the test instead of CI

# --------------------------------------------------------------------------- a terminal

# Every data set costs the same: each fit sleeps in proportion to its k, so
# the estimate is checked against a load that other processes cannot skew.
_SLEEPY = """
class Clusterer(KMeans):
    def fit(self, X, y=None, sample_weight=None):
        time.sleep(0.012 * self.n_clusters)
        return super().fit(X, y, sample_weight)

X = np.random.default_rng(0).uniform(size=(60, 2))
gap = GapKMeans(Clusterer(n_init=1), n_clusters_range=range(1, 7), n_refs=11,
                n_jobs=1, random_state=0, verbose=1)
"""
# The engine, its tasks split over two threads
_ENGINE = """
X = np.random.default_rng(0).uniform(size=(20_000, 10))
gap = GapKMeans(KMeans(n_init=2), n_clusters_range=range(1, 9), n_refs=8,
                n_jobs=2, random_state=0, verbose=1)
"""
_SCRIPTS = {
    "equal data sets, n_jobs=1": (_SLEEPY, 72),
    "engine, n_jobs=2": (_ENGINE, 72),
}

_UPDATE = re.compile(rb"\r\[GapKMeans\] (\d+)/(\d+) fits, ([^\r\n\x1b]*)\x1b\[K")


def _run_in_pty(body):
    """Run a fit with stderr on a pseudo-terminal: [(arrival time, bytes)]."""
    script = (
        textwrap.dedent(
            """
        import time, warnings
        import numpy as np
        from sklearn.cluster import KMeans
        from skgap import GapKMeans
        warnings.simplefilter("ignore")  # only the progress on stderr
        """
        )
        + textwrap.dedent(body)
        + "\ngap.fit(X)\n"
    )
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=follower,
        close_fds=True,
        cwd=tempfile.gettempdir(),  # not the source tree, which has no extension
    )
    os.close(follower)
    chunks, deadline = [], time.monotonic() + SUBPROCESS_TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(leader, 4096)
            except OSError:  # EIO: the process closed its end
                break
            if not data:
                break
            chunks.append((time.monotonic(), data))
        assert process.wait(timeout=SUBPROCESS_TIMEOUT) == 0
    finally:
        if process.poll() is None:  # pragma: no cover - a hang
            process.kill()
        os.close(leader)
    return chunks


def _updates(chunks):
    """[(arrival time, done, total, status)] of the progress lines."""
    buffer, updates, position = b"", [], 0
    for arrival, data in chunks:
        buffer += data
        for match in _UPDATE.finditer(buffer, position):
            done, total, status = match.groups()
            updates.append((arrival, int(done), int(total), status.decode()))
            position = match.end()
    return updates


def _seconds(text):
    """'3.2 s' -> 3.2, '1 min 05 s' -> 65."""
    match = re.fullmatch(r"(?:(\d+) min )?([\d.]+) s", text)
    assert match, text
    return 60 * int(match.group(1) or 0) + float(match.group(2))


@pytest.fixture(scope="module", params=list(_SCRIPTS))
def in_a_pty(request):
    body, total = _SCRIPTS[request.param]
    chunks = _run_in_pty(body)
    return request.param, chunks, _updates(chunks), total


def test_updates_arrive_while_the_fit_runs(in_a_pty):
    _, _, updates, total = in_a_pty
    (start, done, *_), (end, last, *_) = updates[0], updates[-1]
    assert (done, last) == (0, total)  # a line at the start and at the end
    middle = [when for when, done, *_ in updates if 0 < done < total]
    assert middle, "no update while the fit ran"
    assert min(middle) < start + (end - start) / 2, "the first update came late"
    counts = [done for _, done, *_ in updates]
    assert counts == sorted(counts)


def test_updates_rewrite_one_line(in_a_pty):
    _, chunks, updates, total = in_a_pty
    text = b"".join(data for _, data in chunks)
    assert text.count(b"\n") == 1 and text.endswith(b"\r\n")  # after the last
    # nothing but the updates: each returns to the start and clears the rest
    assert _UPDATE.sub(b"", text) == b"\r\n"
    assert len(updates) == text.count(b"\r") - 1
    assert updates[-1][1:3] == (total, total)
    assert updates[-1][3].endswith("elapsed, done")


@pytest.mark.parametrize("in_a_pty", ["equal data sets, n_jobs=1"], indirect=True)
def test_the_first_estimate_is_sane(in_a_pty):
    _, _, updates, _ = in_a_pty
    end = updates[-1][0]
    estimates = [
        (when, _seconds(status.split("~")[1].removesuffix(" remaining")))
        for when, _, _, status in updates
        if "remaining" in status and "~" in status
    ]
    assert estimates, "no remaining time was ever shown"
    when, estimate = estimates[0]
    real = end - when
    assert real / 5 < estimate < 5 * real, (estimate, real)
    # before it: "estimating", never a guess
    shown = [status for _, _, _, status in updates if "remaining" in status]
    assert shown[0] == "0.0 s elapsed, estimating the time remaining"


# ------------------------------------------------------------------- not a terminal


def _fit(verbose=1, n_jobs=1, **params):
    params = {
        "n_clusters_range": range(1, 5),
        "n_refs": 30,
        "random_state": 0,
        **params,
    }
    X = np.random.default_rng(0).uniform(size=(60, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        GapKMeans(
            KMeans(n_init=1, algorithm="elkan"),
            n_jobs=n_jobs,
            verbose=verbose,
            **params,
        ).fit(X)


@pytest.mark.parametrize("n_jobs, backend", [(1, None), (2, "threading"), (2, "loky")])
def test_a_line_per_tenth_when_not_a_terminal(capsys, n_jobs, backend):
    with parallel_config(backend=backend) if backend else parallel_config():
        _fit(n_jobs=n_jobs)
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert 2 <= len(lines) <= 11  # 31 tasks at n_jobs=1, more at 2
    assert "\r" not in captured.err and "\033" not in captured.err
    assert all(line.startswith("[GapKMeans] ") for line in lines)
    assert lines[-1].startswith("[GapKMeans] 124/124 fits, ")
    assert lines[-1].endswith("elapsed, done")


class _FakeTTY(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("tty", [False, True])
def test_verbose_0_prints_nothing(capsys, monkeypatch, tty):
    if tty:
        monkeypatch.setattr(sys, "stderr", _FakeTTY())
    _fit(verbose=0, n_refs=3)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    if tty:
        assert sys.stderr.getvalue() == ""


# ------------------------------------------------------------ the remaining time


class _Clock:
    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(_progress, "time", clock)
    return clock


def _tty(monkeypatch):
    # set in the test itself: pytest's capture replaces sys.stderr after setup
    tty = _FakeTTY()
    monkeypatch.setattr(sys, "stderr", tty)
    return tty


def _statuses(tty):
    """The status part of each line written so far."""
    return [
        line.split(" fits, ")[1].removesuffix("\033[K")
        for line in tty.getvalue().strip().split("\r")
        if line
    ]


def test_the_first_result_does_not_count(clock, monkeypatch):
    tty = _tty(monkeypatch)
    # the first data set also pays for the imports: 5 s, then 1 s each
    progress = Progress(40, [[1, 2, 3, 4]] * 10, enabled=True)
    clock.now = 5.0
    progress.update([1, 2, 3, 4])
    for n in range(1, 10):
        clock.now += 1.0
        progress.update([1, 2, 3, 4])
        if n == 1:
            assert _statuses(tty)[-1] == "6.0 s elapsed, ~8.0 s remaining"
    statuses = _statuses(tty)
    assert statuses[:2] == [
        "0.0 s elapsed, estimating the time remaining",
        "5.0 s elapsed, estimating the time remaining",
    ]
    assert statuses[-2] == "13 s elapsed, ~1.0 s remaining"
    assert statuses[-1] == "14 s elapsed, done"


def test_the_work_weighs_each_k(clock, monkeypatch):
    tty = _tty(monkeypatch)
    # tasks of unequal cost, each taking its cost in seconds
    tasks = [[1], [8], [2, 3], [9, 10], [1, 4]]
    costs = [0.2, 8, 5, 19, 4.2]
    progress = Progress(8, tasks, enabled=True)
    for n, (ks, cost) in enumerate(zip(tasks, costs, strict=True)):
        clock.now += cost
        progress.update(ks)
        if 0 < n < len(tasks) - 1:
            remaining = sum(costs[n + 1 :])
            expected = f"~{_progress._duration(remaining)} remaining"
            assert _statuses(tty)[-1].endswith(expected)  # 28 s, 23 s, 4.2 s


def test_several_workers_wait_for_a_second_wave(clock, monkeypatch):
    tty = _tty(monkeypatch)
    # two workers: results come in pairs, 1 s apart, after 2 s of start-up
    progress = Progress(12, [[2, 3]] * 6, enabled=True, n_workers=2)
    for n in range(6):
        if n % 2 == 0:
            clock.now += 3.0 if n == 0 else 1.0
        progress.update([2, 3])
    statuses = _statuses(tty)[1:]
    assert all("estimating" in status for status in statuses[:3])
    # after the 4th result: 2 tasks in the last second, 2 tasks left
    assert statuses[3] == "4.0 s elapsed, ~1.0 s remaining"
    assert statuses[-1] == "5.0 s elapsed, done"


def test_a_warm_start_counts_the_fits_made_before(clock, monkeypatch):
    tty = _tty(monkeypatch)
    progress = Progress(20, [[1, 2]] * 3, enabled=True)
    assert "[GapKMeans] 14/20 fits, " in tty.getvalue()
    for _ in range(3):
        clock.now += 1.0
        progress.update([1, 2])
    assert tty.getvalue().endswith(
        "[GapKMeans] 20/20 fits, 3.0 s elapsed, done\033[K\n"
    )


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0.04, "0.0 s"),
        (3.26, "3.3 s"),
        (9.96, "10 s"),
        (59.4, "59 s"),
        (65, "1 min 05 s"),
        (7380, "2 h 03 min"),
    ],
)
def test_durations(seconds, text):
    assert _progress._duration(seconds) == text


# ------------------------------------------------------------------------ notebooks


class ZMQInteractiveShell:
    """Named as ipykernel's shell."""


class TerminalInteractiveShell:
    """Named as IPython's terminal shell."""


def _kernel(monkeypatch, shell):
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell()
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))


def test_a_notebook_rewrites_one_line_with_carriage_returns(monkeypatch):
    _kernel(monkeypatch, ZMQInteractiveShell)
    monkeypatch.setattr(_progress, "_notebook_bar", lambda total, done: None)
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a kernel's stream: no tty
    progress = Progress(200, [[k] for k in range(2, 22)] * 10, enabled=True)
    for ks in [[k] for k in range(2, 22)] * 10:
        progress.update(ks)
    text = sys.stderr.getvalue()
    assert "\033" not in text  # Jupyter renders \r, not terminal escapes
    assert text.count("\n") == 1 and text.endswith("\n")
    lines = text.removesuffix("\n").split("\r")[1:]
    assert len(lines) == 201  # every update, in place
    assert lines[-1].startswith("[GapKMeans] 200/200 fits, ")
    # a line never shorter than the one it overwrites
    assert all(len(b) >= len(a) for a, b in zip(lines, lines[1:], strict=False))


def test_a_terminal_ipython_is_no_notebook(monkeypatch):
    _kernel(monkeypatch, TerminalInteractiveShell)
    monkeypatch.delitem(sys.modules, "ipykernel")
    monkeypatch.setattr(sys, "stderr", _FakeTTY())
    assert not _progress._in_notebook()
    Progress(2, [[1, 2]], enabled=True).update([1, 2])
    assert sys.stderr.getvalue().endswith("done\033[K\n")


def test_a_notebook_uses_tqdm_if_installed(monkeypatch):
    _kernel(monkeypatch, ZMQInteractiveShell)
    bars = []

    class FakeBar:
        def __init__(self, total, initial, **kwargs):
            self.total, self.n, self.kwargs = total, initial, kwargs
            self.postfixes, self.closed = [], False
            bars.append(self)

        def set_postfix_str(self, text, refresh=True):
            self.postfixes.append((self.n, text))

        def close(self):
            self.closed = True

    for name in ("tqdm", "tqdm.notebook", "ipywidgets"):
        module = types.ModuleType(name)
        module.__spec__ = importlib.machinery.ModuleSpec(name, None)
        monkeypatch.setitem(sys.modules, name, module)
    sys.modules["tqdm.notebook"].tqdm = FakeBar
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    progress = Progress(10, [[1, 2]] * 4, enabled=True)
    for _ in range(4):
        progress.update([1, 2])
    assert sys.stderr.getvalue() == ""  # the bar only
    (bar,) = bars
    assert (bar.total, bar.closed) == (10, True)
    assert [n for n, _ in bar.postfixes] == [2, 4, 6, 8, 10]
    assert bar.postfixes[-1][1].endswith("elapsed, done")
