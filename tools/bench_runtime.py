#!/usr/bin/env python
"""Benchmark of the hpcmc platform (issue 2): prints four figures.

1. chunk round-trip overhead: wall time per chunk that is not compute, with one worker and
   chunks of one cheap history (so nearly all of it is the request/reply round trip)  [µs];
2. parallel efficiency from one to two workers, T(1 worker) / (2 · T(2 workers)), on a
   compute-bound selftest task (target ≥ 0.9 on a 2-core machine);
3. gateway round-trip latency of a status request, median over many requests (target
   median < 1 ms on loopback)  [ms];
4. gateway + dispatch overhead of a simulate request relative to its compute time:
   (client round trip − compute time of the same task in one process) / compute time
   (target < 2 %).

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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller runs (a smoke test of this script)")
    args = p.parse_args(argv)
    q = args.quick
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
