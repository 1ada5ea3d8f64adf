"""The interface every app implements, and the run context the CLI hands to it.

An app contributes four things:

* ``config_class`` — a frozen dataclass (see :mod:`hpcmc.schema`) for its ``[<app>]`` table;
* :meth:`App.make_problem` — the transport side (a :class:`~hpcmc.runtime.problem.Problem`
  built on every rank), or ``None`` for an app without transport (``lem``);
* :meth:`App.run` — the master-side driver: it calls ``ctx.simulate(task)`` (the one dispatch
  path, shared with the gateway) as often as its optimizer or study needs and writes its
  groups into ``ctx.results``;
* :meth:`App.task_from_request` — how a gateway ``simulate`` request for this app becomes a
  :class:`~hpcmc.runtime.task.Task`.
"""
from __future__ import annotations

import abc
import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Optional

from hpcmc.runtime.task import Task, TaskResult

if TYPE_CHECKING:  # pragma: no cover
    from hpcmc.config import Job
    from hpcmc.io.results import ResultsWriter
    from hpcmc.runtime.problem import Problem

__all__ = ["App", "RunContext"]


@dataclasses.dataclass
class RunContext:
    """What a driver gets on the master.

    Attributes
    ----------
    job : Job
        The validated job.
    simulate : callable
        ``simulate(task) -> TaskResult``: run a task on all ranks and reduce its tallies.
    results : ResultsWriter
        The open results file (HDF5).
    n_ranks : int
        Ranks in the job (1 = everything in this process).
    log : callable
        ``log(message)`` prints on the master unless the run is quiet.
    quiet : bool
    """

    job: "Job"
    simulate: Callable[[Task], TaskResult]
    results: "ResultsWriter"
    n_ranks: int
    log: Callable[[str], None]
    quiet: bool = False
    resume: bool = False
    extra: dict = dataclasses.field(default_factory=dict)

    def add_provenance(self, key: str, value: Any) -> None:
        """Record what the driver chose at run time (e.g. the sampler it used) in ``/provenance``."""
        self.results.add_provenance(key, value)


class App(abc.ABC):
    """Base class of an hpcmc app (one instance per process)."""

    #: App name as written in ``[job] app = ...`` and in ``Task.app``.
    name: str = ""
    #: Frozen dataclass validating the app's ``[<name>]`` table (or ``None`` if it has none).
    config_class: Optional[type] = None
    #: True if the defaults of ``config_class`` are a sensible job by themselves, so a job file
    #: may leave the ``[<name>]`` table out. False (the default) makes a missing table an error:
    #: an app whose defaults start a long study (gnp: hours of the paper's settings) must not
    #: run because a table name was mistyped.
    defaults_are_a_job: bool = False

    def make_problem(self, job: "Job") -> Optional["Problem"]:
        """The transport problem for ``job`` (on every rank), or ``None`` without transport."""
        return None

    @abc.abstractmethod
    def run(self, job: "Job", ctx: RunContext) -> None:
        """The master-side driver of ``hpcmc run``."""

    def task_from_request(self, job: "Job", fields: dict[str, Any]) -> Task:
        """A task from the fields of this app's gateway ``simulate`` request.

        Raise ``ValueError`` naming the field and its value for anything out of range.
        """
        raise ValueError(f"app {self.name!r} does not accept simulate requests over the gateway")

    def request_fields(self, task: Task) -> dict[str, Any]:
        """The gateway request fields of ``task`` (inverse of :meth:`task_from_request`);
        used by ``hpcmc run --connect URL`` to send the driver's tasks to a server."""
        raise ValueError(f"app {self.name!r} cannot send its tasks to a gateway")

    def state_files(self, job: "Job", output: str) -> list[str]:
        """Files beside ``output`` in which the driver keeps resumable state (e.g. an optimizer's
        finished iterations). ``hpcmc run`` refuses to start over them without ``--force`` and
        accepts ``--resume`` when one exists."""
        return []

    def planned_histories(self, job: "Job") -> Optional[int]:
        """Primary histories of all tasks ``hpcmc run`` will run for ``job`` (an upper bound if
        the driver may stop early), 0 for an app without transport, ``None`` if unknown.
        ``hpcmc check`` prints it."""
        return None

    def timing_tasks(self, job: "Job", n_histories: int) -> list[tuple[Task, float]]:
        """Tasks of ``n_histories`` histories each and their weights (summing to 1), whose
        weighted cost per history is typical of ``job`` (for ``hpcmc check --time``); ``[]`` if
        the app cannot say."""
        return []

    def plot(self, results_path: str, outdir: str) -> list[str]:
        """Make the app's plots from a results file; return the paths written."""
        return []
