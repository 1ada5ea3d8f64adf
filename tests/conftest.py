"""Shared test helpers: launching hpcmc under mpiexec on this machine's MPI."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def mpiexec() -> str:
    """The mpiexec beside this Python (the ``mpich`` wheel installs it there), else on PATH."""
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if not found:
        pytest.fail("no mpiexec: install the MPI runtime (pip install 'hpcmc[mpich]') to run the MPI tests")
    return found


def hpcmc_env() -> dict:
    env = dict(os.environ)
    env["CI"] = "true"  # quiet progress output
    env.pop("HPCMC_MPI", None)
    return env


def run_hpcmc(args, n_ranks: int | None = None, timeout: float = 300, cwd=None, check: bool = True):
    """Run ``python -m hpcmc ARGS`` (under ``mpiexec -n n_ranks`` if given)."""
    cmd = [sys.executable, "-m", "hpcmc", *map(str, args)]
    if n_ranks is not None:
        cmd = [mpiexec(), "-n", str(n_ranks), *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=hpcmc_env())
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def write_job(path: Path, n_histories=200_000, chunk_size=10_000, seed=7, extra="", **selftest) -> Path:
    """A selftest job file."""
    lines = ["[job]", 'app = "selftest"', f"seed = {seed}", f"n_histories = {n_histories}",
             f"chunk_size = {chunk_size}", extra, "[selftest]"]
    lines += [f"{k} = {v}" for k, v in selftest.items()]
    path.write_text("\n".join(lines) + "\n")
    return path
