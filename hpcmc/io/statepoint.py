"""Statepoints: the state of an unfinished task, for ``hpcmc run --resume``.

A statepoint holds the job text, the task, how many histories are complete (a contiguous
prefix: every history with global index below ``histories_done`` has been run and summed) and
the exact fixed-point raw sums of all tallies. Because the sums are exact integers and each
history has its own random stream, continuing from a statepoint gives the same final tallies,
bit for bit, as a run that was never interrupted.

Layout: root attrs as in :mod:`hpcmc.io.results` with ``filetype = "hpcmc-statepoint"``;
``/config`` (job text); ``/statepoint`` attrs ``task`` (JSON), ``histories_done``; dataset
``/statepoint/packed_sums`` (int64, :func:`hpcmc.runtime.tally.pack_all` order);
``/statepoint/mesh/<name>/sum`` and ``sum_sq`` (uint32 ``[n_voxels, n_limbs]``, the exact compact
sums of each mesh tally, :mod:`hpcmc.runtime.mesh_tally`; version 1.1);
``/statepoint/app_state`` attrs for a driver's own progress (e.g. an optimizer's iteration).
Files are written to a temporary name and renamed, so a kill during writing leaves the
previous statepoint intact.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Optional

import h5py
import numpy as np

from hpcmc.io.results import FileFormatError, check_file, stamp
from hpcmc.runtime.tally import mesh_names, pack_all
from hpcmc.runtime.task import Task

__all__ = ["FILETYPE", "VERSION", "Statepoint", "write_statepoint", "read_statepoint", "statepoint_path"]

FILETYPE = "hpcmc-statepoint"
VERSION = (1, 1)


def statepoint_path(results_path: str) -> str:
    """Where the statepoint of a run writing ``results_path`` lives."""
    return f"{results_path}.statepoint.h5"


@dataclasses.dataclass
class Statepoint:
    """A statepoint as read back."""

    job_text: str
    task: Task
    histories_done: int
    packed_sums: np.ndarray
    app_state: dict[str, Any]
    #: Mesh tally name → ``{"sum": uint32[n, L], "sum_sq": uint32[n, L]}``.
    mesh_sums: dict = dataclasses.field(default_factory=dict)

    @property
    def resume(self) -> tuple:
        """The ``resume`` argument of :meth:`hpcmc.runtime.scheduler.Master.simulate`."""
        return self.histories_done, self.packed_sums, self.mesh_sums


def write_statepoint(path: str, job_text: str, app: str, task: Task, histories_done: int, tallies: dict,
                     app_state: Optional[dict[str, Any]] = None) -> None:
    """Atomically write a statepoint."""
    tmp = f"{path}.tmp"
    with h5py.File(tmp, "w") as h5:
        stamp(h5, FILETYPE, VERSION, app)
        h5["config"] = job_text
        g = h5.create_group("statepoint")
        g.attrs["task"] = task.to_json()
        g.attrs["histories_done"] = np.int64(histories_done)
        g["packed_sums"] = pack_all(tallies)
        for name in mesh_names(tallies):
            mg = g.require_group("mesh").create_group(name)
            for key, arr in tallies[name].state_arrays().items():
                mg.create_dataset(key, data=arr, chunks=True, compression="gzip", compression_opts=1, shuffle=True)
            mg.attrs["n_limbs"] = tallies[name].spec.n_limbs
            mg.attrs["lsb_exp"] = tallies[name].spec.lsb_exp
        a = g.create_group("app_state")
        a.attrs["json"] = json.dumps(app_state or {}, sort_keys=True)
    os.replace(tmp, path)


def read_statepoint(path: str) -> Statepoint:
    """Read a statepoint after checking its filetype and version."""
    try:
        h5 = h5py.File(path, "r")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no statepoint to resume from") from None
    except OSError as exc:
        raise FileFormatError(f"{path}: not an HDF5 file ({exc})") from None
    with h5:
        check_file(h5, FILETYPE, VERSION, path)
        g = h5["statepoint"]
        text = h5["config"][()]
        return Statepoint(
            job_text=text.decode() if isinstance(text, bytes) else str(text),
            task=Task.from_json(g.attrs["task"]),
            histories_done=int(g.attrs["histories_done"]),
            packed_sums=g["packed_sums"][()],
            app_state=json.loads(g["app_state"].attrs["json"]),
            mesh_sums={name: {key: mg[key][()] for key in ("sum", "sum_sq")} for name, mg in g.get("mesh", {}).items()},
        )
