"""Tasks, chunks and task results: what the master hands out and what comes back.

A :class:`Task` names the app, its parameters, the number of histories, the seed and the
global index of its first history. The scheduler cuts it into chunks of consecutive
histories; history ``h`` always draws from the random stream keyed by ``(seed, h)``, so the
answer does not depend on which rank ran which chunk (see :mod:`hpcmc.runtime.rng`).
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Mapping

import numpy as np

__all__ = ["Task", "Chunk", "TallyResult", "TaskResult", "cut_chunks"]


@dataclasses.dataclass(frozen=True)
class Task:
    """One unit of work for the transport ranks.

    Parameters
    ----------
    app : str
        Name of the app whose problem runs the histories (``"selftest"``, ``"gnp"``, ...).
    params : Mapping[str, Any]
        App-specific parameters of this task (e.g. an annulus ``b_lower_nm``, ``b_upper_nm``).
        JSON-serialisable scalars, strings or lists only.
    n_histories : int
        Number of primary histories  [1].
    seed : int
        Seed of the random streams, 0 <= seed < 2**63.
    first_history : int
        Global index of the first history; history ``first_history + i`` uses stream
        ``(seed, first_history + i)``.
    chunk_size : int
        Histories per chunk handed to a worker.
    """

    app: str
    params: Mapping[str, Any]
    n_histories: int
    seed: int
    first_history: int = 0
    chunk_size: int = 10_000

    def __post_init__(self) -> None:
        for key in ("n_histories", "seed", "first_history", "chunk_size"):
            value = getattr(self, key)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
                raise TypeError(f"task.{key} must be an integer, got {value!r}")
        if self.n_histories < 0:
            raise ValueError(f"task.n_histories must be >= 0, got {self.n_histories}")
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"task.seed must be in [0, 2**63), got {self.seed}")
        if self.first_history < 0:
            raise ValueError(f"task.first_history must be >= 0, got {self.first_history}")
        if self.chunk_size < 1:
            raise ValueError(f"task.chunk_size must be >= 1, got {self.chunk_size}")
        # Freeze params into a plain, JSON-stable dict (sorted keys) so tasks compare equal
        # after a round trip through a statepoint or the wire.
        object.__setattr__(self, "params", json.loads(json.dumps(dict(self.params), sort_keys=True)))

    @property
    def end_history(self) -> int:
        """Global index one past the last history of the task."""
        return self.first_history + self.n_histories

    def to_json(self) -> str:
        """Stable JSON text of the task (used in statepoints and provenance)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Task":
        return cls(**json.loads(text))


@dataclasses.dataclass(frozen=True)
class Chunk:
    """Histories ``[first, first + n)`` of a task, by global history index."""

    index: int
    first: int
    n: int


def cut_chunks(first_history: int, end_history: int, chunk_size: int) -> list[Chunk]:
    """Cut the history range ``[first_history, end_history)`` into consecutive chunks.

    Chunk ``k`` starts at ``first_history + k * chunk_size``; the last one may be short.
    """
    chunks = []
    for k, start in enumerate(range(first_history, end_history, chunk_size)):
        chunks.append(Chunk(k, start, min(chunk_size, end_history - start)))
    return chunks


@dataclasses.dataclass
class TallyResult:
    """Reduced statistics of one tally.

    ``mean`` and ``std`` are per history: ``mean = sum / n`` and ``std`` is the standard
    error of that mean, ``sqrt((sum_sq / n - mean**2) / (n - 1))``.

    Parameters
    ----------
    name : str
    unit : str
        Unit of one history's score (the unit of ``mean``).
    mean, std : ndarray
        Per-history mean and its standard error, tally shape.
    n : int
        Number of histories summed.
    edges : dict[str, ndarray]
        Bin edges per axis name (e.g. ``{"r_nm": ...}``), possibly empty.
    sum, sum_sq : ndarray
        Exactly reduced raw sums (float64 rounding of the fixed-point accumulators).
    """

    name: str
    unit: str
    mean: np.ndarray
    std: np.ndarray
    n: int
    edges: dict[str, np.ndarray]
    sum: np.ndarray
    sum_sq: np.ndarray


@dataclasses.dataclass
class TaskResult:
    """What a simulate call returns: the reduced tallies and where the time went."""

    task: Task
    tallies: dict[str, TallyResult]
    wall_time_s: float
    n_ranks: int
    master_cpu_fraction: float = float("nan")

    def __getitem__(self, name: str) -> TallyResult:
        return self.tallies[name]
