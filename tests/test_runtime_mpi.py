"""The platform's promises under mpiexec: rank-count independence, no hangs, exact resume.

Each test launches ``python -m hpcmc run`` under ``mpiexec -n 1..4`` on the selftest app,
whose histories have an analytic answer, once per MPI implementation (the ``mpi`` fixture of
``conftest.py``: MPICH, Open MPI, Intel MPI).
"""
import os
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest

from conftest import run_hpcmc, write_job

pytestmark = pytest.mark.mpi


def _tallies(path):
    with h5py.File(path, "r") as h5:
        return {k: (h5["tallies"][k]["mean"][()], h5["tallies"][k]["std"][()], int(h5["tallies"][k]["n"][()]))
                for k in h5["tallies"]}, dict(h5["tallies"].attrs)


def _assert_bitwise_equal(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k][0], b[k][0]), f"tally {k}: means differ"
        assert np.array_equal(a[k][1], b[k][1]), f"tally {k}: standard errors differ"
        assert a[k][2] == b[k][2]


@pytest.mark.slow
def test_means_bitwise_identical_for_1_to_4_ranks_and_any_chunk_size(tmp_path, mpi):
    # history costs spread over two decades, so ranks finish chunks in varying order
    reference = None
    # (ranks, chunk size, statepoint interval): the last runs close many rounds (statepoints)
    runs = [(None, 20_000, 300), (1, 3_333, 300), (2, 20_000, 300), (3, 7_001, 300), (4, 50_000, 300),
            (3, 1_000, 0.01), (4, 2_500, 0.005)]
    for n_ranks, chunk, interval in runs:
        job = write_job(tmp_path / f"j{chunk}.toml", n_histories=120_000, chunk_size=chunk,
                        extra=f"checkpoint_interval_s = {interval}",
                        work_per_history=20, cost_decades=2.0, n_bins=25)
        out = tmp_path / f"r_{n_ranks}_{chunk}.h5"
        run_hpcmc(["run", job, "-o", out], n_ranks=n_ranks, mpi=mpi)
        tallies, attrs = _tallies(out)
        assert attrs["n_ranks"] == (n_ranks or 1)
        assert all(t[2] == 120_000 for t in tallies.values()), "histories lost or counted twice"
        if reference is None:
            reference = tallies
        else:
            _assert_bitwise_equal(reference, tallies)
    # and the answer is the analytic one (selftest writes z-scores)
    with h5py.File(out, "r") as h5:
        assert h5["selftest"].attrs["max_abs_z"] < 5.0


def test_worker_failure_ends_the_job_with_the_rank_and_its_message(tmp_path, mpi):
    job = write_job(tmp_path / "fail.toml", n_histories=400_000, chunk_size=5_000, fail_at_history=123_456,
                    work_per_history=20)
    t0 = time.monotonic()
    proc = run_hpcmc(["run", job, "-o", tmp_path / "fail.h5"], n_ranks=3, timeout=120, check=False, mpi=mpi)
    elapsed = time.monotonic() - t0
    assert proc.returncode != 0
    assert "injected failure in history 123456" in proc.stderr
    assert "rank 1 failed" in proc.stderr or "rank 2 failed" in proc.stderr
    assert elapsed < 60, f"abort took {elapsed:.1f} s"
    assert not (tmp_path / "fail.h5").exists()


def test_bad_job_exits_2_on_every_rank_with_the_key(tmp_path, mpi):
    job = tmp_path / "bad.toml"
    job.write_text("[job]\napp='selftest'\nchunk_size=0\n")
    proc = run_hpcmc(["run", job], n_ranks=2, timeout=120, check=False, mpi=mpi)
    assert proc.returncode == 2
    assert "job.chunk_size must be >= 1, got 0" in proc.stderr


def test_killed_run_resumes_to_the_uninterrupted_answer(tmp_path, mpi):
    # with a mesh tally too: its compact sums travel through the statepoint
    job = write_job(tmp_path / "long.toml", n_histories=300_000, chunk_size=2_000,
                    extra="checkpoint_interval_s = 0.2", work_per_history=4000, cost_decades=0.5, mesh_n=32)
    out = tmp_path / "killed.h5"
    sp = tmp_path / "killed.h5.statepoint.h5"
    proc = mpi.popen(["run", job, "-o", out], 3, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not sp.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.2)
        assert proc.poll() is None, "run finished before it could be killed; make it longer"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert sp.exists() and not out.exists()
    with h5py.File(sp, "r") as h5:
        done = int(h5["statepoint"].attrs["histories_done"])
    assert 0 < done < 300_000
    with h5py.File(sp, "r") as h5:
        assert h5["statepoint/mesh/mesh/sum"].shape == (32**3, 4)
    # without --resume the run refuses to discard the statepoint
    refused = run_hpcmc(["run", job, "-o", out], n_ranks=None, check=False, mpi=mpi)
    assert refused.returncode == 2 and "--resume" in refused.stderr
    resumed = run_hpcmc(["run", job, "-o", out, "--resume"], n_ranks=3, mpi=mpi)
    assert f"resuming from {sp}" in resumed.stdout or "resuming" in resumed.stdout + resumed.stderr
    assert not sp.exists()
    fresh = tmp_path / "fresh.h5"
    run_hpcmc(["run", job, "-o", fresh], n_ranks=2, mpi=mpi)
    resumed_tallies, fresh_tallies = _tallies(out)[0], _tallies(fresh)[0]
    assert "mesh" in fresh_tallies and np.count_nonzero(fresh_tallies["mesh"][0]) > 10_000
    _assert_bitwise_equal(resumed_tallies, fresh_tallies)


def test_master_does_not_burn_a_core(tmp_path, mpi):
    job = write_job(tmp_path / "cpu.toml", n_histories=200_000, chunk_size=5_000, work_per_history=300,
                    cost_decades=1.0)
    out = tmp_path / "cpu.h5"
    run_hpcmc(["run", job, "-o", out], n_ranks=3, mpi=mpi)
    _, attrs = _tallies(out)
    assert attrs["wall_time_s"] > 0.3, "task too short to measure the master's CPU share"
    assert attrs["master_cpu_fraction"] < 0.05
