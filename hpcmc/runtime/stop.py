"""Stopping a run cleanly on a signal: SIGTERM or SIGUSR1 on the master → statepoint, then exit.

Batch systems warn a job before they kill it: SLURM sends SIGTERM at the time limit (then
SIGKILL after ``KillWait``, 30 s by default) and, with ``#SBATCH --signal=USR1@120``, SIGUSR1
to every task of the job steps 120 s before the limit. ``hpcmc run`` turns either signal on
the master (rank 0) into a clean stop:

1. the handler only records the signal (:class:`StopRequest`);
2. the master closes the current round of chunks at its next safe point (every worker
   finishes the chunk it holds — keep chunks much shorter than the warning time), reduces the
   tallies and writes the statepoint of the task in progress;
3. it tells every worker to stop (the shutdown message carries the exit status), and every
   rank raises :class:`Interrupted`, which ``hpcmc`` turns into exit status
   :data:`EXIT_INTERRUPTED` — on all ranks, so the launcher exits with it too.

``hpcmc run ... --resume`` (or ``--resume-if-interrupted``) continues from the statepoint and
ends with the tallies of an uninterrupted run, bit for bit. Workers ignore both signals while
they serve (:func:`ignore_stop_signals`): the master decides when the job stops.
"""
from __future__ import annotations

import signal
from typing import Optional

__all__ = ["EXIT_INTERRUPTED", "STOP_SIGNALS", "Interrupted", "StopRequest", "ignore_stop_signals",
           "restore_signals"]

#: Exit status of a run stopped by SIGTERM/SIGUSR1 after writing its statepoint (EX_TEMPFAIL of
#: sysexits.h: try again — with ``--resume``).
EXIT_INTERRUPTED = 75
#: The signals that stop a run cleanly.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


class Interrupted(Exception):
    """The run was stopped by a signal on the master; raised on every rank.

    Attributes
    ----------
    signum : int
        The signal the master received.
    histories_done : int or None
        Histories of the task in progress that the statepoint holds (master only; ``None`` if
        no task was in progress).
    """

    def __init__(self, signum: int, histories_done: Optional[int] = None):
        self.signum = int(signum)
        self.histories_done = histories_done
        try:
            name = signal.Signals(self.signum).name
        except ValueError:
            name = f"signal {self.signum}"
        where = "" if histories_done is None else f" at history {histories_done:,}"
        super().__init__(f"stopped by {name}{where}")


class StopRequest:
    """Records SIGTERM/SIGUSR1 on the master; the scheduler polls :attr:`signum` at safe points."""

    def __init__(self):
        self.signum: Optional[int] = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum, _frame) -> None:
        # Only record: printing or raising here could interrupt an MPI call or a file write.
        if self.signum is None:
            self.signum = signum

    @property
    def requested(self) -> bool:
        """True once a stop signal has arrived."""
        return self.signum is not None

    def install(self) -> "StopRequest":
        """Handle :data:`STOP_SIGNALS` in this process (main thread only); returns ``self``."""
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def restore(self) -> None:
        """Put back the handlers :meth:`install` replaced. Idempotent."""
        restore_signals(self._previous)
        self._previous = {}


def ignore_stop_signals() -> dict[int, object]:
    """Ignore :data:`STOP_SIGNALS` (a worker leaves them to the master); returns the previous handlers."""
    previous = {}
    for sig in STOP_SIGNALS:
        try:
            previous[sig] = signal.signal(sig, signal.SIG_IGN)
        except ValueError:  # not the main thread: leave the handlers alone
            break
    return previous


def restore_signals(previous: dict[int, object]) -> None:
    """Reinstall handlers returned by :func:`ignore_stop_signals` or replaced by :meth:`StopRequest.install`."""
    for sig, handler in previous.items():
        try:
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        except ValueError:  # pragma: no cover - not the main thread
            pass
