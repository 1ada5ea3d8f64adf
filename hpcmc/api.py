"""hpcmc from Python: :func:`run` a job and read its results (:class:`~hpcmc.io.reader.Results`).

``hpcmc.run`` takes the same code path as ``hpcmc run`` (:func:`hpcmc.cli.run_job`): the job
is validated, overridden, run and written exactly as on the command line, and the results
file's ``/provenance`` records the call (``command = "hpcmc.run(job='jobs/lem/baec.toml', ...)"``)
rather than the command line of the calling script or Jupyter kernel. With ``n_ranks = 1`` the
job runs in this process without MPI; with ``n_ranks > 1`` it runs as
``mpiexec -n N python -m hpcmc run ...`` in a subprocess.

>>> import hpcmc
>>> res = hpcmc.run("jobs/selftest.toml", output="st.h5", overrides={"job.n_histories": 1e5})  # doctest: +SKIP
>>> res.tallies["transmitted"].mean                                                              # doctest: +SKIP
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Mapping, Optional, Union

from hpcmc.cli import COMMAND_ENV, UsageError, run_job
from hpcmc.config import ConfigError, load_job, parse_job
from hpcmc.io.reader import Results
from hpcmc.overrides import apply_overrides, dumps_toml, toml_value
from hpcmc.runtime.comm import SerialComm
from hpcmc.runtime.mpi_library import linked_family, mpiexec_args, mpiexec_env

__all__ = ["run", "Results", "JobError"]

JobLike = Union[str, os.PathLike, Mapping[str, Any]]


class JobError(ValueError):
    """Bad input to :func:`run` (job, override, output); the message names the key and the value."""


def _job_source(job: JobLike) -> tuple[Optional[str], Optional[str], str]:
    """``(path, text, label)`` of a job given as a path, TOML text or a dict."""
    if isinstance(job, Mapping):
        return None, dumps_toml({str(k): v for k, v in job.items()}), "<dict>"
    if isinstance(job, os.PathLike):
        return os.fspath(job), None, os.fspath(job)
    if isinstance(job, str):
        if "\n" in job or ("=" in job and not Path(job).exists()):
            return None, job, "<TOML text>"
        return job, None, job
    raise JobError(f"job must be a path, TOML text or a dict, got a {type(job).__name__}")


def _call_text(label: str, output: Optional[str], overrides: Mapping[str, Any], n_ranks: int) -> str:
    """How the call is recorded in /provenance."""
    parts = [f"job={label!r}" if not label.startswith("<") else f"job={label}"]
    if output is not None:
        parts.append(f"output={str(output)!r}")
    if overrides:
        parts.append("overrides={" + ", ".join(f"{k!r}: {v!r}" for k, v in overrides.items()) + "}")
    parts.append(f"n_ranks={n_ranks}")
    return f"hpcmc.run({', '.join(parts)})"


def _mpiexec() -> str:
    """The mpiexec beside this Python (the ``mpich`` wheel installs it there), else on PATH."""
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if not found:
        raise RuntimeError("hpcmc.run(n_ranks > 1) needs mpiexec: install an MPI runtime "
                           "(pip install 'hpcmc[mpich]') or put mpiexec on PATH")
    return found


def run(job: JobLike, output: Optional[Union[str, os.PathLike]] = None,
        overrides: Optional[Mapping[str, Any]] = None, n_ranks: int = 1, quiet: bool = True,
        force: bool = False, resume: bool = False) -> Results:
    """Run a job, as ``hpcmc run`` does, and open its results.

    Parameters
    ----------
    job : str, path or dict
        A job file, the TOML text of a job, or the job as a dict (``{"job": {"app": ...}, ...}``).
        Relative paths inside a text or dict job refer to the working directory.
    output : str or path, optional
        Results file (HDF5); default: the job's ``[job] output``.
    overrides : dict, optional
        Dotted key → value set on top of the job, e.g. ``{"job.n_histories": 1e5,
        "selftest.n_bins": 10}`` (as ``hpcmc run --set``); the file's ``/config`` holds the
        job that ran.
    n_ranks : int
        1: run in this process without MPI; N > 1: ``mpiexec -n N python -m hpcmc run`` in a
        subprocess (rank 0 is the master, N − 1 ranks run histories).
    quiet : bool
        Print nothing (else the run's log lines).
    force : bool
        Overwrite an existing results file (as ``--force``); without it an existing file is an error.
    resume : bool
        Continue an interrupted run of the same job from its statepoint (as ``--resume``).

    Returns
    -------
    Results
        The results file, open for reading (close it, or use it in a ``with`` block).

    Raises
    ------
    JobError
        For bad input: the message names the file, the key and the value.
    RuntimeError
        If the run failed (with ``n_ranks > 1``: the subprocess's error output).
    """
    overrides = dict(overrides or {})
    if isinstance(n_ranks, bool) or not isinstance(n_ranks, int) or n_ranks < 1:
        raise JobError(f"n_ranks must be an integer >= 1, got {n_ranks!r}")
    path, text, label = _job_source(job)
    command = _call_text(label, None if output is None else os.fspath(output), overrides, n_ranks)
    out = None if output is None else os.fspath(output)
    if n_ranks == 1:
        args = argparse.Namespace(job=path or label, job_text=text, overrides=overrides, set=None, output=out,
                                  resume=resume, resume_if_interrupted=False, force=force, quiet=quiet,
                                  connect=None, auth_key_file="")
        try:
            written = run_job(args, SerialComm(), command)
        except UsageError as exc:
            raise JobError(str(exc)) from None
        return Results(written)
    return _run_mpiexec(path, text, label, out, overrides, n_ranks, quiet, force, resume, command)


def _run_mpiexec(path, text, label, out, overrides, n_ranks, quiet, force, resume, command) -> Results:
    """``mpiexec -n N python -m hpcmc run`` of the job; validated here first for clear errors."""
    try:
        if path is not None:
            base = load_job(path).text if not overrides else Path(path).read_text(encoding="utf-8")
        else:
            base = text
        job = parse_job(apply_overrides(base, overrides, label), label)
    except (ConfigError, OSError) as exc:
        raise JobError(str(exc)) from None
    out = out or job.job.output
    tmp = None
    if path is None:  # a text or dict job: a file in the working directory (its relative paths)
        fd, tmp = tempfile.mkstemp(prefix=".hpcmc-job-", suffix=".toml", dir=".")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    cmd = [*mpiexec_args(_mpiexec(), n_ranks), sys.executable, "-m", "hpcmc", "run", path or tmp, "-o", out]
    cmd += ["--force"] * force + ["--quiet"] * quiet + ["--resume"] * resume
    for k, v in overrides.items():
        cmd += ["--set", f"{k}={toml_value(v.tolist() if hasattr(v, 'tolist') else v)}"]
    env = mpiexec_env(linked_family(), dict(os.environ))
    env[COMMAND_ENV] = command
    env.pop("HPCMC_MPI", None)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    finally:
        if tmp is not None:
            os.remove(tmp)
    if not quiet and proc.stdout:
        print(proc.stdout, end="")
    if proc.returncode == 2:
        raise JobError(proc.stderr.strip().removeprefix("hpcmc: "))
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr.strip()}")
    return Results(out)
