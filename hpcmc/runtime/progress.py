"""Progress line on the master: histories done, histories/s, ETA.

On a terminal the line is redrawn at most ``TTY_INTERVAL_S`` apart; on a file (a SLURM log)
a full line is written every ``LOG_INTERVAL_S``; nothing when quiet (``--quiet`` or ``CI``).
"""
from __future__ import annotations

import os
import sys
import time

__all__ = ["Progress", "is_quiet_env"]

TTY_INTERVAL_S = 0.25
LOG_INTERVAL_S = 60.0


def is_quiet_env() -> bool:
    """True under CI (``CI`` set to anything but empty/false/0)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _fmt_s(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "?"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}" if h else f"{m:d}:{s:02d}"


class Progress:
    """Callable ``(done, total, elapsed_s)`` that prints a throttled progress line.

    Parameters
    ----------
    label : str
        Prefix, e.g. the app name.
    quiet : bool
        Print nothing.
    stream : file, optional
        Where to print (default ``sys.stderr``).
    """

    def __init__(self, label: str, quiet: bool = False, stream=None):
        self.label = label
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = -float("inf")
        self._drawn = False
        self._task_start = None

    def __call__(self, done: int, total: int, elapsed_s: float) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        finished = done >= total
        if self.tty:
            if not finished and now - self._last < TTY_INTERVAL_S:
                return
        else:
            # a log gets a line once a task has run LOG_INTERVAL_S, then every LOG_INTERVAL_S
            if not finished and (elapsed_s < LOG_INTERVAL_S or now - self._last < LOG_INTERVAL_S):
                return
        if finished and not self._drawn and not self.tty:
            return  # short run on a log: no line at all
        self._last = now
        rate = done / elapsed_s if elapsed_s > 0 else float("nan")
        eta = (total - done) / rate if rate and rate == rate and rate > 0 else float("nan")
        pct = 100.0 * done / total if total else 100.0
        line = (f"[{self.label}] {pct:5.1f}%  {done:,}/{total:,} histories  "
                f"{rate:,.0f} hist/s  elapsed {_fmt_s(elapsed_s)}  ETA {_fmt_s(eta)}")
        if self.tty:
            self.stream.write("\r" + line + ("\n" if finished else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._drawn = not finished
