"""The communicator: real MPI under a launcher, a one-rank stand-in otherwise.

``hpcmc run job.toml`` started without ``mpiexec`` must work, so MPI is only initialised when
the process was started by an MPI launcher (the launcher's environment variables say so) or
when ``HPCMC_MPI=1`` forces it; ``HPCMC_MPI=0`` forces the stand-in.

Waiting without spinning
------------------------
MPICH's blocking calls busy-poll, so a master waiting for worker messages would burn a whole
core. All waits here go through :func:`wait_message` / :func:`wait_request`, which first spin
on ``Iprobe``/``Test`` for ``SPIN_S`` (a reply that is already on its way arrives within a few
microseconds on shared memory) and then sleep with exponential back-off (from ``POLL_MIN_S``
to ``POLL_MAX_S``). At the ceiling the cost is one wake-up per ``POLL_MAX_S``: measured on a
2-core VM, a wake-up (``time.sleep`` plus one ``Iprobe``) costs 25–50 µs of CPU, so a 1 ms
ceiling kept the master at 5–7 % of a core and 2 ms keeps it at 2.5–4 %. The latency this adds
to a message is at most ``POLL_MAX_S`` (plus the OS's wake-up latency); workers prefetch their
next chunk, so it is hidden whenever a chunk runs longer than that.
"""
from __future__ import annotations

import os
import sys
import time

__all__ = [
    "SerialComm",
    "get_world",
    "launched_by_mpi",
    "wait_message",
    "wait_request",
    "abort",
    "POLL_MIN_S",
    "POLL_MAX_S",
]

SPIN_S = 50e-6
POLL_MIN_S = 50e-6
POLL_MAX_S = 2e-3

_LAUNCHER_VARS = (
    "PMI_RANK",  # MPICH hydra, Intel MPI, srun --mpi=pmi2
    "PMI_SIZE",
    "PMIX_RANK",  # PMIx (srun --mpi=pmix, Open MPI 5)
    "OMPI_COMM_WORLD_SIZE",  # Open MPI's mpirun
    "MPI_LOCALNRANKS",  # MPICH
)


def launched_by_mpi() -> bool:
    """True if this process should use real MPI (launcher detected or ``HPCMC_MPI=1``)."""
    forced = os.environ.get("HPCMC_MPI", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    if forced:
        raise ValueError(f"environment variable HPCMC_MPI must be 0 or 1, got {forced!r}")
    return any(v in os.environ for v in _LAUNCHER_VARS)


class SerialComm:
    """A one-rank stand-in for ``MPI.COMM_WORLD`` with the few calls hpcmc uses."""

    rank = 0
    size = 1
    is_mpi = False

    def Get_rank(self) -> int:  # noqa: N802 (MPI naming)
        return 0

    def Get_size(self) -> int:  # noqa: N802
        return 1

    def bcast(self, obj, root=0):
        return obj

    def Barrier(self) -> None:  # noqa: N802
        return None

    def Abort(self, errorcode: int = 1):  # noqa: N802
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(errorcode)


class _MPIComm:
    """Thin wrapper that adds ``rank``/``size``/``is_mpi`` to an mpi4py communicator."""

    is_mpi = True

    def __init__(self, comm):
        self._comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()

    def __getattr__(self, name):
        return getattr(self._comm, name)


_WORLD = None


def get_world():
    """The world communicator (cached): mpi4py's ``COMM_WORLD`` or a :class:`SerialComm`."""
    global _WORLD
    if _WORLD is None:
        if launched_by_mpi():
            import mpi4py  # only under mpiexec: a serial run never loads MPI

            # hpcmc finalises explicitly and reports its own errors; thread support is not
            # needed (numba kernels run in the calling thread).
            mpi4py.rc.thread_level = "single"
            from mpi4py import MPI  # after the rc settings above (importing it initialises MPI)

            _WORLD = _MPIComm(MPI.COMM_WORLD)
        else:
            _WORLD = SerialComm()
    return _WORLD


def _backoff(delay: float) -> float:
    time.sleep(delay)
    return min(delay * 2.0, POLL_MAX_S)


def wait_message(comm, source, tag, timeout_s: float | None = None, spin_s: float = SPIN_S):
    """Wait for a message by polling ``Iprobe`` with back-off; return its ``MPI.Status``.

    Parameters
    ----------
    comm : mpi4py communicator
    source : int
        As for ``Iprobe`` (``MPI.ANY_SOURCE`` allowed).
    tag : int or tuple of int
        As for ``Iprobe`` (``MPI.ANY_TAG`` allowed), or several tags, probed in turn: messages
        with other tags stay queued (the master's dispatch loop must not take a worker's
        round-end mesh-tally messages, which may arrive before the round closes).
    timeout_s : float, optional
        Give up after this many seconds and return ``None``.
    spin_s : float
        Spin this long before sleeping  [s]. A worker waiting for a reply that is due spins
        longer (it has nothing else to do); the master keeps the default.
    """
    from mpi4py import MPI  # MPI code paths only: serial runs never import mpi4py

    status = MPI.Status()
    tags = tuple(tag) if isinstance(tag, (tuple, list)) else (tag,)

    def probe() -> bool:
        for t in tags:
            if comm.Iprobe(source=source, tag=t, status=status):
                return True
        return False

    t_spin = time.perf_counter() + spin_s
    while time.perf_counter() < t_spin:
        if probe():
            return status
    delay = POLL_MIN_S
    t_end = None if timeout_s is None else time.monotonic() + timeout_s
    while not probe():
        if t_end is not None and time.monotonic() > t_end:
            return None
        delay = _backoff(delay)
    return status


def wait_request(request) -> None:
    """Complete a non-blocking MPI request by polling ``Test`` with back-off."""
    t_spin = time.perf_counter() + SPIN_S
    while time.perf_counter() < t_spin:
        if request.Test():
            return
    delay = POLL_MIN_S
    while not request.Test():
        delay = _backoff(delay)


def abort(comm, message: str, code: int = 1):
    """Print ``message`` on stderr and end the whole job with exit status ``code``.

    Under MPI this is ``MPI_Abort`` on the world communicator, which makes the launcher kill
    every rank and exit non-zero; with the stand-in it exits the process.
    """
    sys.stdout.flush()
    print(message, file=sys.stderr, flush=True)
    comm.Abort(code)
