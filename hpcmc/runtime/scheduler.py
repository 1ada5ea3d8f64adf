"""Master/worker scheduling of tasks in chunks of histories.

Protocol (ranks ≥ 1 are workers; rank 0 is the master and runs no histories when there are
workers; alone, it runs them itself):

1. The master sends the :class:`~hpcmc.runtime.task.Task` to every worker (``TAG_TASK``).
2. Self-scheduling: a worker asks for work (``TAG_REQUEST``) and gets the next chunk of
   consecutive histories (``TAG_CHUNK``) until the master closes the *round* (``TAG_ROUND_END``,
   carrying whether this was the task's last round). A worker asks for its next chunk as soon
   as it starts one (prefetch), so the round trip overlaps computation.
   Fast workers simply ask more often, so ranks stay busy when histories differ in cost by
   orders of magnitude.
3. A round closes when the chunks run out or when a statepoint is due. Every worker is then
   parked; all ranks reduce their raw tally sums to the master with one non-blocking integer
   ``Ireduce`` (fixed-point limbs, :mod:`hpcmc.runtime.tally`), so the result does not depend on
   which rank ran which chunk. Mesh tallies (:mod:`hpcmc.runtime.mesh_tally`) then follow, one
   tally after the other in name order (tag ``TAG_MESH + k``): each worker sends the voxels it
   touched in the round as blocks, and the master adds them with exact integer carries. A
   worker's ``Ireduce`` may complete before the master joins, so its blocks may arrive while
   the master still serves requests: the dispatch loop probes only ``TAG_REQUEST`` (one
   ``Iprobe`` per poll: a failure report travels with that tag too). The master adds the round to its running sums and may write a
   statepoint: every history before the first unissued chunk is then complete. A non-root
   rank's ``Ireduce`` may complete before the root has joined, so a worker must not ask for
   more work after a round: the master deals each worker its first chunk of the next round.
4. After the last round the workers wait for the next task or ``TAG_SHUTDOWN``.

A stop signal on the master (SIGTERM, SIGUSR1; :mod:`hpcmc.runtime.stop`) closes the current
round as a due statepoint does; after the statepoint the master sends ``TAG_SHUTDOWN`` carrying
the signal to every worker, and every rank raises :class:`~hpcmc.runtime.stop.Interrupted`.

A worker that raises sends a :class:`WorkerFailure` (its traceback) with ``TAG_REQUEST``, the one
tag the master's dispatch loop probes (probing a second tag doubled the master's polling cost,
5 % of a core instead of 2.5 %); the master prints it and
aborts the whole job (non-zero exit). If the master cannot be told within
``ERROR_GRACE_S`` the worker aborts by itself. No wait here spins (see
:mod:`hpcmc.runtime.comm`).
"""
from __future__ import annotations

import collections
import time
import traceback
from typing import Callable, Optional

import numpy as np

from hpcmc.runtime.comm import abort, wait_message, wait_request
from hpcmc.runtime.problem import Problem
from hpcmc.runtime.stop import Interrupted, StopRequest, ignore_stop_signals, restore_signals
from hpcmc.runtime.tally import (
    MAX_CHUNK_HISTORIES,
    N_LIMBS,
    Tally,
    fx_normalize,
    make_tallies,
    mesh_names,
    pack_all,
    unpack_all,
)
from hpcmc.runtime.task import Chunk, Task, TaskResult, cut_chunks

__all__ = ["Master", "WorkerFailure", "worker_loop", "run_chunk_into", "worker_reduce_round"]

TAG_TASK = 11
TAG_REQUEST = 12
TAG_CHUNK = 13
TAG_ROUND_END = 14
TAG_SHUTDOWN = 15
#: Mesh tally ``k`` (in name order) sends its round blocks with tag ``TAG_MESH + k``.
TAG_MESH = 100


class WorkerFailure:
    """A worker's failure report (its exception and traceback), sent to the master with ``TAG_REQUEST``."""

    def __init__(self, message: str):
        self.message = message

ERROR_GRACE_S = 10.0
#: A worker waiting for the master's reply spins this long before sleeping: the master answers
#: within its polling ceiling (1 ms), and sleeping workers would turn every round trip into two
#: OS wake-ups.
REPLY_SPIN_S = 2e-3

#: ``on_checkpoint(task, histories_done, tallies)``: called by the master after a round.
CheckpointFn = Callable[[Task, int, dict], None]
#: ``on_progress(histories_done, histories_total, elapsed_s)``.
ProgressFn = Callable[[int, int, float], None]


def run_chunk_into(problem: Problem, task: Task, state, chunk: Chunk, tallies: dict[str, Tally]) -> None:
    """Run one chunk on this rank and count its histories in every tally."""
    problem.run_chunk(task, state, chunk, tallies)
    for tally in tallies.values():
        tally.n += chunk.n
        tally.normalize()


class Master:
    """The master's dispatch: ``simulate(task)`` → reduced :class:`TaskResult`.

    The optimizer of an app and the TCP gateway both call :meth:`simulate`; it is the one
    dispatch path of the job.

    Parameters
    ----------
    comm
        World communicator (:func:`hpcmc.runtime.comm.get_world`).
    problem : Problem
        The app's problem.
    checkpoint_interval_s : float
        Close a round and call ``on_checkpoint`` at least this often  [s]; ``inf`` for never.
    on_checkpoint : callable, optional
        Called with ``(task, histories_done, tallies)`` after a round that is not the last.
    on_progress : callable, optional
        Called with ``(histories_done, histories_total, elapsed_s)`` after each chunk.
    stop : StopRequest, optional
        Polled at safe points: once it has a signal, the task in progress stops at the end of
        the current round, ``on_checkpoint`` writes its statepoint, the workers are told to
        stop and :class:`~hpcmc.runtime.stop.Interrupted` is raised. Its handlers are
        restored by :meth:`shutdown`.
    """

    def __init__(
        self,
        comm,
        problem: Problem,
        *,
        checkpoint_interval_s: float = float("inf"),
        on_checkpoint: Optional[CheckpointFn] = None,
        on_progress: Optional[ProgressFn] = None,
        stop: Optional[StopRequest] = None,
    ):
        if comm.rank != 0:
            raise RuntimeError(f"Master must run on rank 0, not rank {comm.rank}")
        self.comm = comm
        self.problem = problem
        self.checkpoint_interval_s = float(checkpoint_interval_s)
        self.on_checkpoint = on_checkpoint
        self.on_progress = on_progress
        self.stop = stop
        self.n_workers = comm.size - 1
        self._closed = False
        # Load the compiled tally kernels now, not inside the first task's timing.
        fx_normalize(np.zeros((1, N_LIMBS), dtype=np.int64))

    # ------------------------------------------------------------------------------
    def simulate(self, task: Task, resume: Optional[tuple[int, np.ndarray]] = None) -> TaskResult:
        """Run all histories of ``task`` and return the reduced tallies.

        Parameters
        ----------
        task : Task
        resume : (int, ndarray) or (int, ndarray, dict), optional
            ``(histories_done, packed_sums[, mesh_sums])`` from a statepoint of the same task
            (``mesh_sums``: tally name → ``{"sum", "sum_sq"}`` arrays, required when the task
            has mesh tallies): the run continues at global history ``histories_done`` from those
            sums. The result equals an uninterrupted run bit for bit.
        """
        if self._closed:
            raise RuntimeError("this Master has been shut down")
        if self._stop_requested():  # between tasks: nothing in progress to save
            self._stop_workers(None)
        self.problem.check_task(task)
        if task.chunk_size > MAX_CHUNK_HISTORIES:
            raise ValueError(f"task.chunk_size must be <= {MAX_CHUNK_HISTORIES}, got {task.chunk_size}")
        tallies = make_tallies(self.problem.tally_specs(task))
        start = task.first_history
        if resume is not None:
            start, packed = resume[0], resume[1]
            mesh_sums = resume[2] if len(resume) > 2 else {}
            if not task.first_history <= start <= task.end_history:
                raise ValueError(
                    f"statepoint histories_done={start} lies outside the task's histories "
                    f"[{task.first_history}, {task.end_history}]"
                )
            unpack_all(tallies, np.asarray(packed, dtype=np.int64))
            for name in mesh_names(tallies):
                if name not in mesh_sums:
                    raise ValueError(f"statepoint has no sums of mesh tally {name!r}")
                tallies[name].set_state_arrays(mesh_sums[name])
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        if self.n_workers == 0:
            self._run_serial(task, start, tallies, t0)
        else:
            self._run_parallel(task, start, tallies, t0)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        results = {name: t.result() for name, t in tallies.items()}
        return TaskResult(
            task=task,
            tallies=results,
            wall_time_s=wall,
            n_ranks=self.comm.size,
            master_cpu_fraction=(cpu / wall) if (wall > 0 and self.n_workers) else float("nan"),
        )

    def shutdown(self) -> None:
        """Release the workers (they return from :func:`worker_loop`). Idempotent."""
        if self.stop is not None:
            self.stop.restore()
        if self._closed:
            return
        self._closed = True
        for w in range(1, self.comm.size):
            self.comm.send(None, dest=w, tag=TAG_SHUTDOWN)

    def _stop_requested(self) -> bool:
        return self.stop is not None and self.stop.requested

    def _stop_workers(self, histories_done: Optional[int]) -> None:
        """After a stop signal: tell every worker (parked or between tasks) to stop, then raise."""
        signum = self.stop.signum
        if not self._closed:
            self._closed = True
            for w in range(1, self.comm.size):
                self.comm.send(signum, dest=w, tag=TAG_SHUTDOWN)
        self.stop.restore()
        raise Interrupted(signum, histories_done)

    # ------------------------------------------------------------------------------
    def _progress(self, done: int, task: Task, t0: float) -> None:
        if self.on_progress is not None:
            self.on_progress(done - task.first_history, task.n_histories, time.perf_counter() - t0)

    def _run_serial(self, task: Task, start: int, tallies: dict[str, Tally], t0: float) -> None:
        state = self.problem.prepare(task)
        last_cp = time.perf_counter()
        for chunk in cut_chunks(start, task.end_history, task.chunk_size):
            run_chunk_into(self.problem, task, state, chunk, tallies)
            done = chunk.first + chunk.n
            self._progress(done, task, t0)
            now = time.perf_counter()
            stopping = self._stop_requested()
            if done < task.end_history and (stopping or now - last_cp >= self.checkpoint_interval_s):
                if self.on_checkpoint is not None:
                    self.on_checkpoint(task, done, tallies)
                last_cp = now
                if stopping:
                    self._stop_workers(done)

    def _run_parallel(self, task: Task, start: int, tallies: dict[str, Tally], t0: float) -> None:
        from mpi4py import MPI  # MPI code paths only: serial runs never import mpi4py

        comm = self.comm
        for w in range(1, comm.size):
            comm.send(task, dest=w, tag=TAG_TASK)
        pending = collections.deque(cut_chunks(start, task.end_history, task.chunk_size))
        st = {"issued_end": start, "completed": start, "open": True, "final": False}
        parked: set[int] = set()
        last_cp = time.perf_counter()

        def answer(worker: int) -> None:
            """Give ``worker`` the next chunk, or park it at the end of the round."""
            if st["open"] and (not pending or time.perf_counter() - last_cp >= self.checkpoint_interval_s
                               or self._stop_requested()):
                st["open"], st["final"] = False, not pending
            if st["open"]:
                chunk = pending.popleft()
                st["issued_end"] = chunk.first + chunk.n
                comm.send(chunk, dest=worker, tag=TAG_CHUNK)
            else:
                comm.send(st["final"], dest=worker, tag=TAG_ROUND_END)
                parked.add(worker)

        while True:
            if len(parked) == self.n_workers:
                # Every worker has been sent ROUND_END and joins (or has joined) the Ireduce.
                self._reduce_round(tallies)
                st["completed"] = st["issued_end"]
                if st["final"]:
                    self._progress(st["completed"], task, t0)
                    return
                if self.on_checkpoint is not None:
                    self.on_checkpoint(task, st["completed"], tallies)
                if self._stop_requested():  # the statepoint is written; every worker is parked
                    self._stop_workers(st["completed"])
                last_cp = time.perf_counter()
                st["open"] = True
                # A worker's Ireduce may complete before the master joins, so workers do not ask
                # for the next round's work: the master deals it.
                released = sorted(parked)
                parked.clear()
                for w in released:
                    answer(w)
                continue
            # Only requests (and failure reports, which travel with the same tag): a worker whose
            # round-end Ireduce completed early may already have sent its mesh-tally blocks
            # (TAG_MESH + k), which _reduce_round takes.
            status = wait_message(comm, MPI.ANY_SOURCE, TAG_REQUEST)
            source = status.Get_source()
            payload = comm.recv(source=source, tag=TAG_REQUEST)
            if isinstance(payload, WorkerFailure):
                abort(comm, f"hpcmc: rank {source} failed: {payload.message}")
            if payload is not None:  # the worker finished this many histories
                st["completed"] += payload
                self._progress(min(st["completed"], st["issued_end"]), task, t0)
            answer(source)

    def _reduce_round(self, tallies: dict[str, Tally]) -> None:
        """All workers are parked in the round's Ireduce: join it and add the round's sums."""
        from mpi4py import MPI  # MPI code paths only: serial runs never import mpi4py

        send = np.zeros(sum(t.pack_size for t in tallies.values()), dtype=np.int64)
        recv = np.zeros_like(send)
        wait_request(self.comm.Ireduce(send, recv, op=MPI.SUM, root=0))
        pos = 0
        for name in sorted(tallies):
            t = tallies[name]
            t.add_packed(recv[pos : pos + t.pack_size])
            pos += t.pack_size
        for k, name in enumerate(mesh_names(tallies)):
            tallies[name].receive_round(self.comm, self.n_workers, TAG_MESH + k)


def worker_loop(comm, problem: Problem) -> None:
    """Serve tasks from the master until it says shut down (ranks ≥ 1).

    SIGTERM and SIGUSR1 are ignored meanwhile: the master handles them and tells the workers.
    Raises :class:`~hpcmc.runtime.stop.Interrupted` when the master stopped on such a signal.
    """
    previous = ignore_stop_signals()
    try:
        _worker_loop(comm, problem)
    except Interrupted:
        raise
    except BaseException as exc:  # noqa: BLE001 - every failure must end the job
        _report_failure(comm, exc)
    finally:
        restore_signals(previous)


def _worker_loop(comm, problem: Problem) -> None:
    from mpi4py import MPI  # MPI code paths only: serial runs never import mpi4py

    while True:
        status = wait_message(comm, 0, MPI.ANY_TAG)
        tag = status.Get_tag()
        payload = comm.recv(source=0, tag=tag)
        if tag == TAG_SHUTDOWN:
            if payload is not None:  # the master stopped on a signal
                raise Interrupted(payload)
            return
        if tag != TAG_TASK:
            raise RuntimeError(f"worker expected a task or shutdown, got tag {tag}")
        task: Task = payload
        state = problem.prepare(task)
        tallies = make_tallies(problem.tally_specs(task))
        # Prefetch: a worker asks for its next chunk as soon as it starts one, so the request's
        # round trip overlaps the computation (each worker holds at most two chunks).
        last_n = None  # histories of the previous chunk, reported with the next request
        comm.send(None, dest=0, tag=TAG_REQUEST)
        while True:
            status = wait_message(comm, 0, MPI.ANY_TAG, spin_s=REPLY_SPIN_S)
            tag = status.Get_tag()
            payload = comm.recv(source=0, tag=tag)
            if tag == TAG_CHUNK:
                comm.send(last_n, dest=0, tag=TAG_REQUEST)
                run_chunk_into(problem, task, state, payload, tallies)
                last_n = payload.n
            elif tag == TAG_ROUND_END:
                # Every chunk this worker was given is done (replies arrive in order).
                worker_reduce_round(comm, tallies)
                if payload:  # final round of the task
                    break
                last_n = None  # the master deals the next round's first chunk
            elif tag == TAG_SHUTDOWN and payload is not None:  # stopped on a signal after a round
                raise Interrupted(payload)
            else:
                raise RuntimeError(f"worker expected a chunk or round end, got tag {tag}")


def worker_reduce_round(comm, tallies: dict) -> None:
    """A worker's side of the round-end reduction (:meth:`Master._reduce_round`), then zero.

    The dense sums (and every tally's ``n``) go in one integer ``Ireduce``; each mesh tally then
    sends the voxels it touched (``TAG_MESH + k``, name order).
    """
    from mpi4py import MPI

    buf = pack_all(tallies)
    wait_request(comm.Ireduce(buf, None, op=MPI.SUM, root=0))
    for k, name in enumerate(mesh_names(tallies)):
        tallies[name].send_round(comm, 0, TAG_MESH + k)
    for t in tallies.values():
        t.zero()


def _report_failure(comm, exc: BaseException) -> None:
    """Tell the master why this rank failed, then make sure the job ends."""
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    detail = traceback.format_exc()
    message = f"{text}\n{detail}"
    try:
        req = comm.isend(WorkerFailure(message), dest=0, tag=TAG_REQUEST)
        t_end = time.monotonic() + ERROR_GRACE_S
        while not req.Test() and time.monotonic() < t_end:
            time.sleep(1e-3)
        # The master aborts the job on receipt; wait for that rather than racing it.
        time.sleep(ERROR_GRACE_S if req.Test() else 0.0)
    finally:
        abort(comm, f"hpcmc: rank {comm.rank} failed: {message}")
