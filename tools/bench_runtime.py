#!/usr/bin/env python
"""Benchmark of the hpcmc platform (issue 2): prints four figures, and the mesh-tally figures.

1. chunk round-trip overhead: wall time per chunk that is not compute, with one worker and
   chunks of one cheap history (so nearly all of it is the request/reply round trip)  [µs];
2. parallel efficiency from one to two workers, T(1 worker) / (2 · T(2 workers)), on a
   compute-bound selftest task (target ≥ 0.9 on a 2-core machine);
3. gateway round-trip latency of a status request, median over many requests (target
   median < 1 ms on loopback)  [ms];
4. gateway + dispatch overhead of a simulate request relative to its compute time:
   (client round trip − compute time of the same task in one process) / compute time
   (target < 2 %);
5. mesh tally (128³ voxels, :mod:`hpcmc.runtime.mesh_tally`): memory per rank in bytes per
   voxel, summed over the arrays the tally actually allocated (worker: sums + scoring state +
   message buffer; master: sums + message buffer; target ≤ 64), and the round-end reduction
   time on 1, 2 and 3 ranks with 10⁴, 10⁵ and all voxels touched per worker (1 rank: the
   round-end flush only; several: flush, the integer ``Ireduce``, the touched-voxel messages
   and the master's exact merge, timed on the master from a barrier; min of 3)  [ms].

``--mesh-only`` prints only figure 5.

Run from a checkout with hpcmc installed: ``python tools/bench_runtime.py [--quick]``.
Uses ``mpiexec`` beside this Python (the ``mpich`` wheel) or on PATH.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numba as nb
import numpy as np

from hpcmc.runtime.comm import get_world
from hpcmc.runtime.mesh_tally import mesh_begin_history, mesh_score
from hpcmc.runtime.scheduler import Master, worker_reduce_round
from hpcmc.runtime.tally import TallySpec, make_tallies

MESH_EDGE = 128


def _mpiexec() -> str:
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if not found:
        sys.exit("bench_runtime: no mpiexec found; pip install 'hpcmc[mpich]'")
    return found


def _env() -> dict:
    env = dict(os.environ)
    env["CI"] = "true"
    return env


def _job(path: Path, n: int, chunk: int, work: int, decades: float = 0.0) -> Path:
    path.write_text(
        f'[job]\napp = "selftest"\nseed = 5\nn_histories = {n}\nchunk_size = {chunk}\n'
        f"[selftest]\nwork_per_history = {work}\ncost_decades = {decades}\n"
    )
    return path


def _run(job: Path, out: Path, n_ranks: int | None) -> dict:
    cmd = [sys.executable, "-m", "hpcmc", "run", str(job), "-o", str(out), "--force", "--quiet"]
    if n_ranks:
        cmd = [_mpiexec(), "-n", str(n_ranks), *cmd]
    subprocess.run(cmd, check=True, env=_env(), capture_output=True)
    with h5py.File(out, "r") as h5:
        return dict(h5["tallies"].attrs)


def chunk_overhead_us(tmp: Path, n_chunks: int) -> float:
    """Per-chunk overhead with one worker and one-history chunks  [µs]."""
    job_small = _job(tmp / "rt.toml", n_chunks, 1, 0)
    par = _run(job_small, tmp / "rt.h5", 2)["wall_time_s"]
    job_one = _job(tmp / "rt1.toml", n_chunks, n_chunks, 0)
    compute = _run(job_one, tmp / "rt1.h5", None)["wall_time_s"]
    return (par - compute) / n_chunks * 1e6


def parallel_efficiency(tmp: Path, n: int) -> tuple[float, float, float]:
    """T(1 worker)/(2 T(2 workers)) on a compute-bound task, steady state; (eff, T1, T2) [s].

    Each configuration runs as a server whose workers are warmed by a first request (numba
    kernels loaded), so the timed request measures scheduling, not start-up.
    """
    job = _job(tmp / "eff.toml", n, max(n // 200, 1), 3000, 1.0)
    times = []
    for ranks in (2, 3):
        with _server(job, ranks) as client:
            client.simulate("selftest", n_histories=2000, seed=1)
            times.append(min(client.simulate("selftest", n_histories=n, seed=s).wall_time_s for s in (2, 3)))
    t1, t2 = times
    return t1 / (2.0 * t2), t1, t2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _server(job: Path, n_ranks: int):
    """``hpcmc serve job`` under mpiexec on a free loopback port; yields a connected Client."""
    from hpcmc.gateway import Client

    url = f"tcp://127.0.0.1:{_free_port()}"
    server = subprocess.Popen([_mpiexec(), "-n", str(n_ranks), sys.executable, "-m", "hpcmc", "serve", str(job),
                               "--bind", url], env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with Client(url, timeout_s=300) as client:
            client.status()  # wait for start-up
            yield client
            client.shutdown()
    finally:
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def gateway_figures(tmp: Path, n_status: int, n_sim_histories: int) -> tuple[float, float, float, float]:
    """(median status latency [ms], simulate overhead fraction, client RTT [s], compute [s])."""
    job = _job(tmp / "gw.toml", n_sim_histories, n_sim_histories, 3000)
    compute = _run(job, tmp / "gw1.h5", None)["wall_time_s"]  # the same task in one process
    with _server(job, 2) as client:
        client.simulate("selftest", n_histories=1000, seed=1)  # warm the worker's kernels
        lat = []
        for _ in range(n_status):
            t0 = time.perf_counter()
            client.status()
            lat.append(time.perf_counter() - t0)
        rtts = []
        for seed in range(3):
            t0 = time.perf_counter()
            client.simulate("selftest", n_histories=n_sim_histories, seed=seed + 2)
            rtts.append(time.perf_counter() - t0)
    rtt = min(rtts)
    return statistics.median(lat) * 1e3, (rtt - compute) / compute, rtt, compute


@nb.njit(cache=True)
def _touch(m, voxels, n_histories):
    """Score ``voxels`` (two deposits each) in ``n_histories`` histories, leaving the last pending."""
    for h in range(n_histories):
        mesh_begin_history(m)
        for k in range(voxels.shape[0]):
            mesh_score(m, voxels[k], 1.0 + h)
            mesh_score(m, voxels[k], 0.5)


def _mesh_reduce_rank(n_touched: int, repeats: int = 3) -> None:
    """Under mpiexec: time the round-end reduction of a 128³ mesh tally; rank 0 prints one line."""
    comm = get_world()
    spec = TallySpec("dose", (MESH_EDGE,) * 3, kind="mesh")
    tallies = make_tallies([spec])
    mesh = tallies["dose"]
    n_vox = spec.n_bins
    rng = np.random.default_rng(comm.rank)
    best = float("inf")
    master = Master(comm, None) if comm.rank == 0 and comm.size > 1 else None
    for _ in range(repeats):
        if comm.rank > 0 or comm.size == 1:
            voxels = rng.permutation(n_vox)[:n_touched].astype(np.int64)  # first-touch order random
            _touch(mesh.kernel_args(), voxels, 2)
            mesh.n += 2
        comm.Barrier()
        t0 = time.perf_counter()
        if comm.size == 1:
            mesh.flush()
        elif comm.rank == 0:
            master._reduce_round(tallies)
        else:
            worker_reduce_round(comm, tallies)
        dt = time.perf_counter() - t0
        best = min(best, dt)
        if comm.size == 1:
            mesh.zero()
    nbytes = comm.gather(mesh.nbytes(), root=0) if comm.size > 1 else [mesh.nbytes()]
    if comm.rank == 0:
        worker_b = max(nbytes[1:]) if comm.size > 1 else nbytes[0]
        print(f"{comm.size} {n_touched} {best * 1e3:.3f} {nbytes[0] / n_vox:.2f} {worker_b / n_vox:.2f}", flush=True)


def mesh_figures(quick: bool) -> list[tuple]:
    """(ranks, touched voxels per worker, reduction time [ms], master B/voxel, worker B/voxel)."""
    rows = []
    n_vox = MESH_EDGE**3
    touched = (10_000, 100_000, n_vox) if not quick else (10_000, n_vox)
    for ranks in (1, 2, 3):
        for t in touched:
            cmd = [_mpiexec(), "-n", str(ranks), sys.executable, __file__, "--mesh-reduce-rank", str(t)]
            out = subprocess.run(cmd, check=True, env=_env(), capture_output=True, text=True).stdout.split()
            rows.append((int(out[0]), int(out[1]), float(out[2]), float(out[3]), float(out[4])))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller runs (a smoke test of this script)")
    p.add_argument("--mesh-only", action="store_true", help="print only the mesh-tally figures")
    p.add_argument("--mesh-reduce-rank", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.mesh_reduce_rank is not None:
        _mesh_reduce_rank(args.mesh_reduce_rank)
        return 0
    q = args.quick
    if not args.mesh_only:
        _platform_figures(q)
    _print_mesh(mesh_figures(q))
    return 0


def _print_mesh(rows) -> None:
    n_vox = MESH_EDGE**3
    for ranks, t, ms, b_master, b_worker in rows:
        if ranks == 1:
            mem = f"{b_worker:6.2f} B/voxel (one rank scores)"
        else:
            mem = f"master {b_master:6.2f}, worker {b_worker:6.2f} B/voxel"
        what = "all" if t == n_vox else f"{t:,}"
        print(f"mesh {MESH_EDGE}³ round end, {ranks} rank(s), {what:>9s} touched/worker: {ms:9.2f} ms; {mem} (target ≤ 64)")


def _platform_figures(q: bool) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        _run(_job(tmp / "warm.toml", 1000, 100, 1), tmp / "warm.h5", 2)  # warm numba caches
        oh = chunk_overhead_us(tmp, 2_000 if q else 20_000)
        print(f"chunk round-trip overhead     : {oh:8.1f} µs per chunk (1 worker, 1-history chunks)")
        eff, t1, t2 = parallel_efficiency(tmp, 20_000 if q else 200_000)
        print(f"parallel efficiency 1→2 workers: {eff:8.3f}  (T1 = {t1:.2f} s, T2 = {t2:.2f} s; target ≥ 0.9)")
        lat, ovh, rtt, comp = gateway_figures(tmp, 200 if q else 2_000, 20_000 if q else 200_000)
        print(f"gateway status latency        : {lat:8.3f} ms median (target < 1 ms)")
        print(f"gateway+dispatch overhead     : {100 * ovh:8.2f} % of compute (RTT {rtt:.3f} s vs compute {comp:.3f} s; target < 2 %)")


if __name__ == "__main__":
    sys.exit(main())
