"""The results file (HDF5): schema, writer and checked reader.

Layout (``FILETYPE = "hpcmc-results"``, ``VERSION = (1, 1)``)::

    /                      attrs: filetype, version, hpcmc_version, app, created_utc
    /config                the job file's text (string dataset)
    /provenance            attrs: git_sha, n_ranks, seed, host, command, python, the versions
                           of xraylib, spekpy, scipy, optuna, torch, mpi4py, h5py, numba,
                           numpy..., mpi_library, job_sha256, input_file_<k> and
                           input_sha256_<k> per file the job names, app additions (gnp:
                           gnp_sampler); /provenance/timings_s attrs: per phase [s]
    /tallies/<name>/       sum, sum_sq (per-history raw sums), n, mean, std (standard error
                           of the mean), edges/<axis>; attrs: unit, description
    /<app>/...             app groups (e.g. /optimizer/iteration_<k>/...)

Version 1.1 adds, on **every dataset** (``/config`` included), the CF-style attributes
``units`` (UDUNITS strings: ``"1"`` dimensionless, ``"Gy"``, ``"cm-2"``, ``"cm2 kg-1"``) and
``description``; tally groups keep ``unit`` for 1.0 readers. Tally bin edges are HDF5 dimension
scales (``edges/<axis>`` attached to dimension ``i`` of ``mean``, ``std``, ``sum``,
``sum_sq``); apps attach their own axes the same way (:meth:`ResultsWriter.attach_scale`).

Readers call :func:`open_results`, which checks ``filetype`` and ``version`` (1.0 and 1.1 are
read) and refuses other files with a message naming what it found;
:class:`hpcmc.io.reader.Results` is the reader for people. Statepoints (:mod:`hpcmc.io.statepoint`) use the
same layout with their own filetype.
"""
from __future__ import annotations

import datetime as _dt
import fnmatch
import hashlib
import importlib.metadata
import os
import platform
import socket
import subprocess
from pathlib import Path
from typing import Any, Optional

import h5py
import numpy as np

from hpcmc import __version__
from hpcmc.runtime.task import TallyResult, TaskResult
from hpcmc.runtime.mpi_library import library_version as mpi_library_version
from hpcmc.runtime.text import clean_mapping, clean_text

__all__ = [
    "FILETYPE",
    "VERSION",
    "ResultsWriter",
    "open_results",
    "check_file",
    "read_tally",
    "FileFormatError",
    "write_tally_result",
    "udunits",
    "squared_units",
    "units_from_name",
    "set_units",
    "attach_scale",
]

FILETYPE = "hpcmc-results"
VERSION = (1, 1)

#: Units of a name's last ``_``-separated part (``energy_keV`` → ``keV``, ``r_nm`` → ``nm``).
_SUFFIX_UNITS = {"cm": "cm", "mm": "mm", "um": "um", "nm": "nm", "keV": "keV", "eV": "eV", "MeV": "MeV",
                 "Gy": "Gy", "mM": "mM", "s": "s", "kg": "kg", "deg": "degree", "kV": "kV"}
#: Compound endings (checked first).
_ENDING_UNITS = (("_cm2_per_kg", "cm2 kg-1"), ("_per_mM", "mM-1"), ("_per_Gy2", "Gy-2"), ("_per_Gy", "Gy-1"),
                 ("_gy_um3", "Gy um3"), ("_mm_al", "mm"), ("_per_cm", "cm-1"), ("_per_kg", "kg-1"))


class FileFormatError(ValueError):
    """A file is not the hpcmc file it was expected to be (wrong filetype or version)."""


def _hpcmc_version() -> str:
    return __version__


def stamp(h5: h5py.File, filetype: str, version: tuple[int, int], app: str) -> None:
    """Write the root attributes every hpcmc file carries."""
    h5.attrs["filetype"] = filetype
    h5.attrs["version"] = np.array(version, dtype=np.int64)
    h5.attrs["hpcmc_version"] = _hpcmc_version()
    h5.attrs["app"] = clean_text(app, 255)
    h5.attrs["created_utc"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def check_file(h5: h5py.File, filetype: str, version: tuple[int, int], path: str) -> None:
    """Refuse a file whose ``filetype`` differs or whose major ``version`` differs."""
    found = h5.attrs.get("filetype")
    if isinstance(found, bytes):
        found = found.decode()
    if found != filetype:
        raise FileFormatError(f"{path}: not an {filetype} file (filetype attribute is {found!r})")
    ver = tuple(int(v) for v in h5.attrs.get("version", ()))
    if len(ver) != 2 or ver[0] != version[0] or ver[1] > version[1]:
        raise FileFormatError(
            f"{path}: {filetype} version {ver} cannot be read by this hpcmc (reads {version[0]}.0–{version[0]}.{version[1]})"
        )


def udunits(unit: str) -> str:
    """A unit as a UDUNITS string: ``"1/kg"`` → ``"kg-1"``, ``"Gy^2"`` → ``"Gy2"``, ``""`` → ``"1"``."""
    unit = (unit or "").strip()
    if unit in ("", "1"):
        return "1"
    num, _, den = unit.partition("/")
    tokens = [t.replace("^", "") for t in num.replace("*", " ").split() if t != "1"]
    for t in den.replace("*", " ").split():
        sym = t.rstrip("0123456789^-").rstrip("^")
        exp = t[len(sym):].lstrip("^") or "1"
        tokens.append(f"{sym}-{exp}" if exp != "1" else f"{sym}-1")
    return " ".join(tokens) or "1"


def squared_units(units: str) -> str:
    """The square of a UDUNITS string (``"kg-1"`` → ``"kg-2"``, ``"cm"`` → ``"cm2"``)."""
    if units == "1":
        return "1"
    out = []
    for t in units.split():
        sym = t.rstrip("0123456789-")
        exp = int(t[len(sym):] or 1)
        out.append(f"{sym}{2 * exp}")
    return " ".join(out)


def units_from_name(name: str) -> Optional[str]:
    """Units implied by a dataset or axis name's ending (``energy_keV`` → ``keV``), or ``None``."""
    for ending, units in _ENDING_UNITS:
        if name.endswith(ending):
            return units
    suffix = name.rsplit("_", 1)[-1] if "_" in name else ""
    return _SUFFIX_UNITS.get(suffix)


def set_units(obj: h5py.Dataset, units: str, description: str = "") -> h5py.Dataset:
    """Give a dataset its CF ``units`` (UDUNITS string) and ``description`` attributes."""
    obj.attrs["units"] = units
    obj.attrs["description"] = description
    return obj


def attach_scale(scale: h5py.Dataset, datasets, dim: int = 0, name: str = "") -> None:
    """Make ``scale`` an HDF5 dimension scale and attach it to dimension ``dim`` of ``datasets``.

    A scale of length n + 1 on a dimension of length n holds the bin edges of that dimension.
    """
    if not scale.is_scale:
        scale.make_scale(name or Path(scale.name).name)
    for ds in datasets:
        if ds.ndim > dim:
            ds.dims[dim].attach_scale(scale)


def write_tally_result(group: h5py.Group, result: TallyResult, description: str = "") -> h5py.Group:
    """Write one reduced tally into ``group/<name>`` (units on every dataset, edges as dimension scales)."""
    if result.name in group:
        del group[result.name]
    g = group.create_group(result.name)
    g.attrs["unit"] = result.unit
    g.attrs["description"] = description
    g.attrs["std_is"] = "standard error of the per-history mean"
    units = udunits(result.unit)
    what = description or result.name
    set_units(g.create_dataset("sum", data=result.sum), units, f"sum of the per-history scores: {what}")
    set_units(g.create_dataset("sum_sq", data=result.sum_sq), squared_units(units),
              f"sum of the squared per-history scores: {what}")
    set_units(g.create_dataset("n", data=np.int64(result.n)), "1", "number of histories")
    mean = set_units(g.create_dataset("mean", data=result.mean), units, f"mean per history: {what}")
    std = set_units(g.create_dataset("std", data=result.std), units, f"standard error of the mean: {what}")
    eg = g.create_group("edges")
    for i, (axis, values) in enumerate(result.edges.items()):
        edges = set_units(eg.create_dataset(axis, data=np.asarray(values, dtype=float)),
                          units_from_name(axis) or "1", f"bin edges of {axis} (dimension {i} of mean)")
        attach_scale(edges, [g["sum"], g["sum_sq"], mean, std], i, axis)
    return g


def read_tally(group: h5py.Group) -> TallyResult:
    """Read a tally group written by :func:`write_tally_result`."""
    edges = {k: group["edges"][k][()] for k in group["edges"]} if "edges" in group else {}
    return TallyResult(
        name=Path(group.name).name,
        unit=str(group.attrs.get("unit", "")),
        mean=group["mean"][()],
        std=group["std"][()],
        n=int(group["n"][()]),
        edges=edges,
        sum=group["sum"][()],
        sum_sq=group["sum_sq"][()],
    )


def _git_sha() -> str:
    """The git commit of the hpcmc source tree, if it is a checkout (else '')."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    sha = out.stdout.strip() if out.returncode == 0 else ""
    if sha:
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
        if dirty.returncode == 0 and dirty.stdout.strip():
            sha += "-dirty"
    return sha


#: Distributions whose versions set the physics, the optimizer and the parallel runtime;
#: recorded as ``/provenance`` attributes ("not installed" when absent; torch is optional).
PROVENANCE_LIBRARIES = ("xraylib", "spekpy", "scipy", "optuna", "torch", "mpi4py", "h5py", "numba", "numpy",
                        "pyzmq", "protobuf")


def library_versions(names=PROVENANCE_LIBRARIES) -> dict[str, str]:
    """Installed versions of ``names`` from package metadata, without importing them (torch is
    large and optional: reading its metadata costs nothing)."""
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def provenance(n_ranks: int, seed: int, command: str = "", job_text: Optional[str] = None,
               input_files=()) -> dict[str, Any]:
    """What made a file: code version, machine, ranks, seed, library versions, inputs.

    Parameters
    ----------
    n_ranks, seed : int
    command : str
        The command line.
    job_text : str, optional
        The job's text: its SHA-256 is recorded as ``job_sha256``.
    input_files : sequence of path-like
        Files the job names (``hpcmc.config.input_files``): each is recorded as
        ``input_file_<k>`` (path) and ``input_sha256_<k>`` (hex SHA-256 of its bytes).
    """
    info = {
        "hpcmc_version": _hpcmc_version(),
        "git_sha": _git_sha(),
        "n_ranks": n_ranks,
        "seed": seed,
        "host": socket.gethostname(),
        "command": command,
        "python": platform.python_version(),
        **library_versions(),
        "numpy": np.__version__,
        "h5py": h5py.__version__,
        "pid": os.getpid(),
    }
    if job_text is not None:
        info["job_sha256"] = hashlib.sha256(job_text.encode("utf-8")).hexdigest()
    files = [str(p) for p in input_files]
    info["n_input_files"] = len(files)
    for k, path in enumerate(files):
        info[f"input_file_{k}"] = path
        try:
            info[f"input_sha256_{k}"] = sha256_file(path)
        except OSError as exc:
            info[f"input_sha256_{k}"] = f"unreadable: {exc.strerror}"
    if n_ranks > 1 or "mpi4py" in __import__("sys").modules:
        try:
            from mpi4py import MPI  # only if MPI is in use already: importing it must not start MPI

            info["mpi_library"] = mpi_library_version(MPI)
        except Exception:  # noqa: BLE001 - provenance is best effort
            pass
    return info


class ResultsWriter:
    """An open results file on the master.

    The file is written under a temporary name and moved into place by :meth:`close`, so an
    interrupted run never leaves a half-written file under the final name (statepoints carry
    the partial state instead).

    Parameters
    ----------
    path : str
        Final path of the results file.
    job_text : str
        The job file's text, stored in ``/config``.
    app : str
    prov : dict
        Provenance attributes (see :func:`provenance`).
    """

    def __init__(self, path: str, job_text: str, app: str, prov: dict[str, Any]):
        self.path = str(path)
        self._tmp = f"{self.path}.partial"
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.h5 = h5py.File(self._tmp, "w")
        stamp(self.h5, FILETYPE, VERSION, app)
        set_units(self.h5.create_dataset("config", data=job_text), "1", "the job file's text (TOML)")
        g = self.h5.create_group("provenance")
        for k, v in clean_mapping(prov).items():
            g.attrs[k] = v
        g.create_group("timings_s")
        self.h5.create_group("tallies")
        self.timings: dict[str, float] = {}

    def add_provenance(self, key: str, value: Any) -> None:
        """Add one ``/provenance`` attribute (e.g. the sampler an app used); strings are cleaned."""
        for k, v in clean_mapping({key: value}).items():
            self.h5["provenance"].attrs[k] = v

    def add_timing(self, phase: str, seconds: float) -> None:
        """Accumulate wall time of a phase (``startup``, ``simulate``, ``write``...)  [s]."""
        self.timings[phase] = self.timings.get(phase, 0.0) + float(seconds)

    def write_result(self, result: TaskResult, group: str = "tallies", descriptions: Optional[dict] = None) -> h5py.Group:
        """Write every tally of a task result into ``/<group>/``, with the task as attributes."""
        g = self.h5.require_group(group)
        g.attrs["task"] = result.task.to_json()
        g.attrs["wall_time_s"] = result.wall_time_s
        g.attrs["n_ranks"] = result.n_ranks
        g.attrs["master_cpu_fraction"] = result.master_cpu_fraction
        for name, tally in result.tallies.items():
            write_tally_result(g, tally, (descriptions or {}).get(name, ""))
        self.h5.flush()
        return g

    def group(self, name: str) -> h5py.Group:
        """An app group (created if needed)."""
        return self.h5.require_group(name)

    def annotate(self, table) -> None:
        """Give app datasets their ``units`` and ``description`` (format 1.1).

        Parameters
        ----------
        table : sequence of (pattern, units, description)
            ``fnmatch`` patterns of dataset paths (no leading ``/``, e.g. ``"lem/survival/*/sf_*"``);
            the first matching row of a dataset without ``units`` wins. Datasets no row matches
            get units from their name's ending (``energy_keV`` → ``keV``) when it implies one.
        """
        rows = list(table)

        def visit(name, obj):
            if not isinstance(obj, h5py.Dataset) or "units" in obj.attrs:
                return
            for pattern, units, description in rows:
                if fnmatch.fnmatchcase(name, pattern):
                    set_units(obj, units, description)
                    return
            guess = units_from_name(Path(name).name)
            if guess is not None:
                set_units(obj, guess, "")

        self.h5.visititems(visit)

    def attach_scale(self, scale_path: str, dataset_paths, dim: int = 0) -> None:
        """Attach the dataset ``scale_path`` as a dimension scale to dimension ``dim`` of ``dataset_paths``
        (those that exist)."""
        attach_scale(self.h5[scale_path], [self.h5[p] for p in dataset_paths if p in self.h5], dim)

    def close(self) -> str:
        """Write the timings, close, and move the file into place; return its path."""
        if self.h5 is None:
            return self.path
        t = self.h5["provenance/timings_s"]
        for k, v in self.timings.items():
            t.attrs[k] = v
        self.h5.close()
        self.h5 = None
        os.replace(self._tmp, self.path)
        return self.path

    def abandon(self) -> None:
        """Close without moving into place (the run failed); the partial file is kept as ``*.partial``."""
        if self.h5 is not None:
            self.h5.close()
            self.h5 = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.close()
        else:
            self.abandon()


def open_results(path: str) -> h5py.File:
    """Open a results file read-only after checking its filetype and version."""
    try:
        h5 = h5py.File(path, "r")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such results file") from None
    except OSError as exc:
        raise FileFormatError(f"{path}: not an HDF5 file ({exc})") from None
    try:
        check_file(h5, FILETYPE, VERSION, path)
    except FileFormatError:
        h5.close()
        raise
    return h5
