"""What an optimizer driver keeps so that a killed run resumes and gives the same answer.

Two pieces, shared by every app whose driver iterates an optimizer on the master (gnp's
active-learning loop, an Optuna collimator design, a gradient optimizer of fluence elements):

* :func:`derive_seed` — the seed of each task the driver dispatches, a hash of the job seed and
  of the task's place in the run (phase, iteration, member...). The seeds do not depend on
  which tasks ran before, on the process that runs the driver (in-process or over the TCP
  gateway) or on whether the run was resumed, so neither do the tallies.
* :class:`IterationStore` — an HDF5 file beside the results file
  (:func:`optimizer_state_path`: ``RESULTS.h5.optimizer.h5``) holding the records of the
  finished iterations. The driver saves after every iteration (atomically: written under a
  temporary name, then renamed, so a kill leaves the previous file intact); ``hpcmc run
  --resume`` loads the records and continues at the first unfinished iteration. The file
  is tied to the job text (SHA-256) and refuses to resume a different job.

Store layout::

    /                  attrs: filetype = "hpcmc-<app>-optimizer-state", job_sha (SHA-256 hex
                       of the job file's text)
    /iteration_<k>/    one record: array fields as datasets, scalar fields as attributes

A record is a dataclass with an integer field ``iteration`` (k ≥ 1) and fields that are numpy
arrays (datasets) or scalars — int, float, bool, str (attributes). :func:`record_to_group` and
:func:`record_from_group` also write and read records in a results file.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import Any, Sequence, TypeVar

import h5py
import numpy as np

__all__ = ["derive_seed", "optimizer_state_path", "state_filetype", "record_to_group", "record_from_group",
           "IterationStore"]

R = TypeVar("R")

_GROUP_PREFIX = "iteration_"


def derive_seed(seed: int, *parts: int | str) -> int:
    """Seed of one task: BLAKE2b-64 of ``"seed:part1:part2:..."``, in [0, 2⁶³).

    Parameters
    ----------
    seed : int
        The job seed (``[job] seed``).
    *parts : int or str
        The task's place in the run, e.g. ``(phase, iteration, member)``. Strings must not
        contain ``":"`` (the separator), so distinct parts give distinct keys.

    Returns
    -------
    int
        A task seed in [0, 2⁶³) (the range :class:`~hpcmc.runtime.task.Task` accepts).

    Examples
    --------
    >>> derive_seed(1, "optimize", 3, 0) == derive_seed(1, "optimize", 3, 0)
    True
    """
    for part in parts:
        if isinstance(part, (bool, np.bool_)) or not isinstance(part, (int, np.integer, str)):
            raise TypeError(f"derive_seed: parts must be int or str, got {type(part).__name__} {part!r}")
        if isinstance(part, str) and ":" in part:
            raise ValueError(f"derive_seed: a str part must not contain ':', got {part!r}")
    key = ":".join(str(p) for p in (int(seed), *parts)).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little") >> 1


def optimizer_state_path(results_path: str) -> str:
    """Where the iteration store of a run writing ``results_path`` lives (``RESULTS.h5.optimizer.h5``)."""
    return f"{results_path}.optimizer.h5"


def state_filetype(app: str) -> str:
    """The ``filetype`` attribute of ``app``'s iteration store (``"hpcmc-<app>-optimizer-state"``)."""
    if not app or not app.replace("_", "").isalnum():
        raise ValueError(f"IterationStore: app must be a non-empty identifier, got {app!r}")
    return f"hpcmc-{app}-optimizer-state"


def record_to_group(group: h5py.Group, record: Any) -> None:
    """Write a record (a dataclass instance) into ``group``.

    Array fields become datasets, scalar fields (int, float, bool, str and their numpy
    types) attributes. Anything else is refused with a ``TypeError`` naming the field.
    """
    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        raise TypeError(f"record_to_group: a record must be a dataclass instance, got {type(record).__name__}")
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        if isinstance(value, np.ndarray):
            group[field.name] = value
        elif isinstance(value, (int, float, bool, str, np.integer, np.floating, np.bool_)):
            group.attrs[field.name] = value
        else:
            raise TypeError(f"{type(record).__name__}.{field.name}: cannot store a {type(value).__name__} "
                            f"({value!r}); use a numpy array or an int, float, bool or str")


def _scalar(value: Any) -> Any:
    """An HDF5 attribute as a Python scalar (numpy scalars and bytes converted)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def record_from_group(group: h5py.Group, record_type: type[R]) -> R:
    """Read a record of ``record_type`` written by :func:`record_to_group`.

    Datasets come back as numpy arrays, attributes as Python ``int``, ``float``, ``bool`` or
    ``str`` (the values are the stored bits: float64 in, float64 out).
    """
    kw = {}
    for field in dataclasses.fields(record_type):
        if field.name in group:
            kw[field.name] = group[field.name][()]
        elif field.name in group.attrs:
            kw[field.name] = _scalar(group.attrs[field.name])
        else:
            raise ValueError(f"{group.file.filename}:{group.name}: no field {field.name!r} of {record_type.__name__}")
    return record_type(**kw)


class IterationStore:
    """An HDF5 file of finished optimizer iterations, from which a killed run resumes.

    Parameters
    ----------
    path : str
        The store's file (:func:`optimizer_state_path` of the results file).
    app : str
        The app that writes it; sets the ``filetype`` (:func:`state_filetype`).
    job_text : str
        The job file's text; a store written for another text is refused on :meth:`load`.
    record_type : type
        Dataclass of one iteration's record, with an ``int`` field ``iteration``.

    Examples
    --------
    >>> store = IterationStore(optimizer_state_path("run.h5"), "gnp", job.text, IterationRecord)  # doctest: +SKIP
    >>> records = store.load() if resume else []                                                   # doctest: +SKIP
    >>> records.append(new_record); store.save(records)                                            # doctest: +SKIP
    """

    def __init__(self, path: str, app: str, job_text: str, record_type: type):
        if not dataclasses.is_dataclass(record_type) or "iteration" not in {f.name for f in dataclasses.fields(record_type)}:
            raise TypeError(f"IterationStore: record_type must be a dataclass with a field 'iteration', "
                            f"got {getattr(record_type, '__name__', record_type)!r}")
        self.path = str(path)
        self.app = app
        self.filetype = state_filetype(app)
        self.job_sha = hashlib.sha256(job_text.encode()).hexdigest()
        self.record_type = record_type

    def exists(self) -> bool:
        """Whether the store's file exists."""
        return os.path.exists(self.path)

    def load(self) -> list:
        """The finished iterations, in order of ``iteration`` (``[]`` if there is no file).

        Raises
        ------
        ValueError
            If the file is not this app's store, or was written for another job text.
        """
        if not self.exists():
            return []
        with h5py.File(self.path, "r") as h5:
            found = _scalar(h5.attrs.get("filetype"))
            if found != self.filetype:
                raise ValueError(f"{self.path}: not a {self.app} optimizer state file "
                                 f"(filetype attribute is {found!r}, expected {self.filetype!r})")
            if _scalar(h5.attrs.get("job_sha")) != self.job_sha:
                raise ValueError(f"{self.path} belongs to another job text; remove it or use --force")
            names = sorted((k for k in h5 if k.startswith(_GROUP_PREFIX)), key=lambda s: int(s[len(_GROUP_PREFIX):]))
            return [record_from_group(h5[k], self.record_type) for k in names]

    def save(self, records: Sequence) -> None:
        """Write all ``records`` (replacing the file atomically).

        Raises
        ------
        ValueError
            If two records have the same ``iteration`` or one is below 1.
        """
        iterations = [int(r.iteration) for r in records]
        if len(set(iterations)) != len(iterations) or any(k < 1 for k in iterations):
            raise ValueError(f"{self.path}: record iterations must be distinct and >= 1, got {iterations}")
        tmp = f"{self.path}.tmp"
        with h5py.File(tmp, "w") as h5:
            h5.attrs["filetype"] = self.filetype
            h5.attrs["job_sha"] = self.job_sha
            for rec in records:
                record_to_group(h5.create_group(f"{_GROUP_PREFIX}{int(rec.iteration)}"), rec)
        os.replace(tmp, self.path)

    def remove(self) -> None:
        """Delete the file (a fresh run starts a fresh store)."""
        if self.exists():
            os.remove(self.path)
