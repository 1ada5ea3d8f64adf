"""What the runtime needs of an app: the :class:`Problem` interface.

The runtime knows no app. An app hands it a problem object that says which tallies a task
fills, how to prepare per-task data on each rank, and how to run a chunk of histories (by
calling its numba kernel). The same object exists on every rank, built from the same job
text, so nothing but a :class:`~hpcmc.runtime.task.Task` needs to travel to the workers.
"""
from __future__ import annotations

import abc
from typing import Any

from hpcmc.runtime.tally import MeshTally, Tally, TallySpec
from hpcmc.runtime.task import Chunk, Task

__all__ = ["Problem"]


class Problem(abc.ABC):
    """Interface between the runtime and an app's transport."""

    #: The app name that tasks of this problem carry (``Task.app``).
    app: str = ""

    def check_task(self, task: Task) -> None:
        """Raise ``ValueError`` naming the parameter and its value if ``task`` is invalid.

        Called on the master before a task is dispatched (and by the gateway for requests
        from the wire), so workers only ever see valid tasks.
        """
        if task.app != self.app:
            raise ValueError(f"task.app must be {self.app!r} for this job, got {task.app!r}")

    @abc.abstractmethod
    def tally_specs(self, task: Task) -> list[TallySpec]:
        """The tallies a task fills (same answer on every rank)."""

    def prepare(self, task: Task) -> Any:
        """Per-task state (arrays the kernel needs), built on every rank that runs chunks."""
        return None

    @abc.abstractmethod
    def run_chunk(self, task: Task, state: Any, chunk: Chunk, tallies: dict[str, Tally | MeshTally]) -> None:
        """Run histories ``[chunk.first, chunk.first + chunk.n)`` and add to ``tallies``.

        Implementations call their numba kernel with the tallies' ``sum_limbs`` and
        ``sum_sq_limbs`` arrays (dense tallies) or ``kernel_args()`` (mesh tallies,
        :mod:`hpcmc.runtime.mesh_tally`); the runtime adds ``chunk.n`` to each tally's ``n``.
        """
