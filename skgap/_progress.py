"""The progress of a fit on stderr: fits done, elapsed and remaining time.

On a terminal one line rewritten in place; in a Jupyter notebook a line
rewritten in place, or tqdm's bar if tqdm and ipywidgets are installed;
elsewhere a line at each tenth of the work.
"""

import sys
import time

__all__ = ["Progress"]


def _work(ks):
    """The cost of fitting the ks of a task: ~ k per fit, k=1 nearly free."""
    return sum(k if k > 1 else 0.2 for k in ks)


def _duration(seconds):
    """'0.4 s', '42 s', '3 min 05 s', '1 h 02 min'."""
    if seconds < 9.95:
        return f"{seconds:.1f} s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _in_notebook():
    """Whether this runs in a Jupyter kernel (notebook, lab, qtconsole)."""
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
        return False
    try:
        shell = sys.modules["IPython"].get_ipython()
    except Exception:
        return False
    return any(cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__)


def _notebook_bar(total, done):
    """tqdm's notebook bar, if tqdm and ipywidgets are installed, else None."""
    from importlib.util import find_spec

    try:
        if find_spec("tqdm") is None or find_spec("ipywidgets") is None:
            return None
        from tqdm.notebook import tqdm
    except Exception:  # a broken install: the text line instead
        return None
    try:
        return tqdm(
            total=total,
            initial=done,
            desc="[GapKMeans]",
            bar_format="{desc} {bar} {n_fmt}/{total_fmt} fits{postfix}",
            leave=True,
        )
    except Exception:  # ipywidgets without a frontend: the text line instead
        return None


class Progress:
    """Fits done of the total, elapsed and remaining time, on stderr.

    `total` counts every fit of the fit, those already made included (a warm
    start); `tasks` holds the ks of each task still to run, and `update` is
    called with the ks of each task as its result arrives. On a terminal it
    rewrites one line (cleared to its end); in a Jupyter notebook, one line
    too (carriage returns, which Jupyter renders in place) or tqdm's bar if
    tqdm and ipywidgets are installed; elsewhere it prints a line at each
    tenth of the work and at the end.

    The remaining time is estimated from the work done, each fit weighing
    ~ its k (k=1 is nearly free), and only from the results that follow the
    first wave, the first result of each of the `n_workers` workers: that
    wave also carries the one-time costs (imports, starting worker
    processes, a data set unlike the references), and with several workers
    its results arrive together. Until another wave's worth of results has
    arrived, the line says "estimating" rather than print a guess.
    """

    def __init__(self, total, tasks, enabled, n_workers=1):
        self.enabled = enabled
        self.n_workers = max(1, n_workers)
        self.n_results = 0
        self.total = total
        self.done = total - sum(len(ks) for ks in tasks)
        self.work_total = sum(_work(ks) for ks in tasks)
        self.work_done = 0.0
        self.wave = None  # (time, work done) at the end of the first wave
        self.start = time.perf_counter()
        self.last_decile = -1
        self.width = 0  # of the last line written, for a notebook's \r
        self.mode = None
        self.bar = None
        if not enabled:
            return
        if _in_notebook():
            self.mode = "notebook"
            self.bar = _notebook_bar(total, self.done)
        elif getattr(sys.stderr, "isatty", lambda: False)():
            self.mode = "tty"
        else:
            self.mode = "lines"
        if self.mode != "lines" and self.done < total:
            self._show(self._line(0.0, None), final=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        # interrupted or failed: end the line, so that the traceback starts on
        # one of its own
        if self.mode in ("tty", "notebook") and self.bar is None:
            if self.done < self.total:
                print(file=sys.stderr, flush=True)
        elif self.bar is not None and self.done < self.total:
            self.bar.close()

    def remaining(self, elapsed):
        """The estimated seconds left, or None while there is too little to go on."""
        if self.wave is None or self.n_results < 2 * self.n_workers:
            return None
        wave_time, wave_work = self.wave
        since, work = elapsed - wave_time, self.work_done - wave_work
        if since <= 0 or work <= 0:
            return None
        return since / work * max(0.0, self.work_total - self.work_done)

    def update(self, ks):
        """Count the fits of a finished task, the ks it fitted."""
        if not self.enabled:
            return
        self.done += len(ks)
        self.work_done += _work(ks)
        elapsed = time.perf_counter() - self.start
        self.n_results += 1
        if self.n_results == self.n_workers:
            self.wave = (elapsed, self.work_done)
        final = self.done >= self.total
        if self.mode == "lines":
            decile = int(10 * self.work_done / self.work_total) if not final else 10
            if decile <= self.last_decile:
                return
            self.last_decile = decile
        self._show(
            self._line(elapsed, None if final else self.remaining(elapsed)), final
        )

    def _line(self, elapsed, remaining):
        left = (
            "done"
            if self.done >= self.total
            else "estimating the time remaining"
            if remaining is None
            else f"~{_duration(remaining)} remaining"
        )
        return f"{_duration(elapsed)} elapsed, {left}"

    def _show(self, status, final):
        if self.bar is not None:
            self.bar.n = self.done
            self.bar.set_postfix_str(status, refresh=True)
            if final:
                self.bar.close()
            return
        line = f"[GapKMeans] {self.done}/{self.total} fits, {status}"
        if self.mode == "lines":
            print(line, file=sys.stderr, flush=True)
            return
        if self.mode == "tty":
            line += "\033[K"  # clears what a longer previous line left behind
        else:  # Jupyter renders \r in place, not every terminal escape
            line, self.width = line.ljust(self.width), max(self.width, len(line))
        print("\r" + line, end="\n" if final else "", file=sys.stderr, flush=True)
