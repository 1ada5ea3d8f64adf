"""Run-time estimate from a short timed sample (``hpcmc check --time``).

A few histories of a task run serially in this process first, so numba compiles the kernels
and the problem fills its caches; then a few hundred more are timed. Their mean wall time per
history times the histories of the whole job, divided by the worker ranks, estimates the run
time. Rough by construction: history costs vary between tasks, and optimizers change the
tasks as they learn.
"""
from __future__ import annotations

import time

from hpcmc.runtime.problem import Problem
from hpcmc.runtime.scheduler import run_chunk_into
from hpcmc.runtime.tally import make_tallies
from hpcmc.runtime.task import Chunk, Task

__all__ = ["time_per_history"]


def time_per_history(problem: Problem, task: Task, warmup_histories: int = 10) -> float:
    """Mean wall time of one history of ``task`` on this core, compilation excluded  [s].

    Parameters
    ----------
    problem : Problem
        The app's problem, built in this process.
    task : Task
        Its first ``warmup_histories`` histories run untimed (they load or compile the
        kernels); the rest are timed.
    warmup_histories : int
        Histories run before the clock starts.
    """
    n_timed = task.n_histories - warmup_histories
    if warmup_histories < 1 or n_timed < 1:
        raise ValueError(f"task.n_histories must exceed warmup_histories = {warmup_histories}, "
                         f"got {task.n_histories}")
    state = problem.prepare(task)
    tallies = make_tallies(problem.tally_specs(task))
    first = task.first_history
    run_chunk_into(problem, task, state, Chunk(0, first, warmup_histories), tallies)
    t0 = time.perf_counter()
    run_chunk_into(problem, task, state, Chunk(1, first + warmup_histories, n_timed), tallies)
    return (time.perf_counter() - t0) / n_timed
