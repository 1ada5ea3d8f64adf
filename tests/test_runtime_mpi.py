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
    job = write_job(tmp_path / "cpu.toml", n_histories=200_000, chunk_size=5_000, work_per_history=4000,
                    cost_decades=1.0)
    out = tmp_path / "cpu.h5"
    run_hpcmc(["run", job, "-o", out], n_ranks=3, mpi=mpi)
    _, attrs = _tallies(out)
    assert attrs["wall_time_s"] > 0.3, "task too short to measure the master's CPU share"
    assert attrs["master_cpu_fraction"] < 0.05


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, grandchildren...), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _rank_pids(launcher_pid: int, n_ranks: int, timeout_s: float = 60.0) -> dict[int, int]:
    """``{rank: pid}`` of the ranks started by a launcher: its descendants whose environment
    holds the rank (PMI_RANK for MPICH and Intel MPI, OMPI_COMM_WORLD_RANK/PMIX_RANK for Open MPI)."""
    deadline = time.monotonic() + timeout_s
    while True:
        ranks = {}
        for pid in _descendants(launcher_pid):
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
            except OSError:
                continue
            for var in (b"PMI_RANK", b"OMPI_COMM_WORLD_RANK", b"PMIX_RANK"):
                if var in env and b"python" in open(f"/proc/{pid}/cmdline", "rb").read():
                    ranks[int(env[var])] = pid
                    break
        if len(ranks) == n_ranks or time.monotonic() > deadline:
            return ranks
        time.sleep(0.1)


def _histories_done(path) -> int:
    for _ in range(50):  # the master may be replacing the file right now
        try:
            with h5py.File(path, "r") as h5:
                return int(h5["statepoint"].attrs["histories_done"])
        except (OSError, KeyError):
            time.sleep(0.05)
    raise AssertionError(f"cannot read {path}")


@pytest.mark.parametrize("sig, to_all_ranks", [(signal.SIGTERM, False), (signal.SIGUSR1, True)],
                         ids=["SIGTERM-rank0", "SIGUSR1-all-ranks"])
def test_stop_signal_writes_a_statepoint_and_exits_75_on_all_ranks(tmp_path, mpi, sig, to_all_ranks):
    """SIGTERM to rank 0 (scancel, a time limit) or SIGUSR1 to every rank (``#SBATCH --signal=USR1@120``):
    the run writes a statepoint at the next safe point, every rank exits 75 (no hang), and --resume
    ends with the uninterrupted answer bit for bit."""
    job = write_job(tmp_path / "long.toml", n_histories=200_000, chunk_size=2_000,
                    extra="checkpoint_interval_s = 1.0", work_per_history=4000, cost_decades=0.5)
    out = tmp_path / "stopped.h5"
    sp = tmp_path / "stopped.h5.statepoint.h5"
    proc = mpi.popen(["run", job, "-o", out], 3, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                     start_new_session=True)
    try:
        ranks = _rank_pids(proc.pid, 3)
        assert sorted(ranks) == [0, 1, 2], f"ranks found: {ranks}"
        deadline = time.monotonic() + 120
        while not sp.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "run finished before the signal; make it longer"
        before = _histories_done(sp)
        for rank, pid in sorted(ranks.items()):
            if rank == 0 or to_all_ranks:
                os.kill(pid, sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
    assert proc.returncode == 75, err
    assert f"stopped by {signal.Signals(sig).name}" in err and "--resume" in err, err
    assert not out.exists() and sp.exists()
    done = _histories_done(sp)
    assert before < done < 200_000
    assert f"at history {done:,} of the task in progress" in err, err
    if to_all_ranks:
        return  # the resume is the same as for SIGTERM
    resumed = run_hpcmc(["run", job, "-o", out, "--resume"], n_ranks=3, mpi=mpi)
    assert f"at history {done:,}" in resumed.stdout and not sp.exists()
    fresh = tmp_path / "fresh.h5"
    run_hpcmc(["run", job, "-o", fresh], n_ranks=2, mpi=mpi)
    _assert_bitwise_equal(_tallies(out)[0], _tallies(fresh)[0])


def test_stop_signal_in_a_serial_run(tmp_path):
    """One process (no launcher): SIGTERM writes the statepoint and exits 75 as well."""
    from conftest import default_mpi

    impl = default_mpi()
    job = write_job(tmp_path / "long.toml", n_histories=200_000, chunk_size=2_000,
                    extra="checkpoint_interval_s = 1.0", work_per_history=4000, cost_decades=0.5)
    out = tmp_path / "serial.h5"
    sp = tmp_path / "serial.h5.statepoint.h5"
    env = impl.env()
    env["HPCMC_MPI"] = "0"
    proc = subprocess.Popen(impl.command(["run", job, "-o", out]), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not sp.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        before = _histories_done(sp)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 75, err
    assert before < _histories_done(sp) < 200_000
