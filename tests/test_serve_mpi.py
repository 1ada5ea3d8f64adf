"""`hpcmc serve` under mpiexec: the gateway answers through the one dispatch path."""
import socket
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from conftest import hpcmc_env, mpiexec, run_hpcmc, write_job
from hpcmc.gateway import Client, GatewayError

pytestmark = pytest.mark.mpi


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    job = write_job(tmp_path / "serve.toml", n_histories=30_000, chunk_size=3_000, seed=11, n_bins=8,
                    extra="[gateway]\nmax_histories = 1_000_000")
    url = f"tcp://127.0.0.1:{_free_port()}"
    proc = subprocess.Popen([mpiexec(), "-n", "3", sys.executable, "-m", "hpcmc", "serve", str(job), "--bind", url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=hpcmc_env())
    yield job, url, proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)


def test_serve_simulate_status_shutdown_matches_run(server, tmp_path):
    job, url, proc = server
    with Client(url, timeout_s=120) as client:
        status = client.status()
        assert status["app"] == "selftest" and int(status["n_ranks"]) == 3
        remote = client.simulate("selftest", n_histories=30_000, seed=11)
        again = client.simulate("selftest", n_histories=30_000, seed=11)  # no re-initialisation needed
        with pytest.raises(GatewayError) as info:
            client.simulate("selftest", n_histories=10**9, seed=1)  # over [gateway] max_histories
        assert info.value.code_name == "INVALID_ARGUMENT" and "n_histories" in str(info.value)
        client.shutdown()
    assert proc.wait(timeout=60) == 0
    # the same task through `hpcmc run` (the driver's path) gives the same bits
    out = tmp_path / "run.h5"
    run_hpcmc(["run", job, "-o", out], n_ranks=2)
    with h5py.File(out, "r") as h5:
        for name, tally in remote.tallies.items():
            assert np.array_equal(tally.mean, h5["tallies"][name]["mean"][()])
            assert np.array_equal(tally.std, h5["tallies"][name]["std"][()])
            assert np.array_equal(tally.mean, again.tallies[name].mean)
    assert remote.n_ranks == 3


def test_run_connect_gives_the_local_answer(server, tmp_path):
    job, url, proc = server
    with Client(url, timeout_s=120) as client:
        client.status()  # wait for start-up
    remote, local = tmp_path / "remote.h5", tmp_path / "local.h5"
    run_hpcmc(["run", job, "-o", remote, "--connect", url])
    run_hpcmc(["submit", url, "shutdown"])
    assert proc.wait(timeout=60) == 0
    run_hpcmc(["run", job, "-o", local])
    with h5py.File(remote, "r") as a, h5py.File(local, "r") as b:
        for name in a["tallies"]:
            assert np.array_equal(a["tallies"][name]["mean"][()], b["tallies"][name]["mean"][()])
    wrong = run_hpcmc(["run", job, "-o", tmp_path / "x.h5", "--connect", "tcp://127.0.0.1:1"], check=False)
    assert wrong.returncode == 2 and "--connect" in wrong.stderr


def test_submit_command(server, tmp_path):
    job, url, proc = server
    with Client(url, timeout_s=120) as client:
        client.status()  # wait for start-up
    out = run_hpcmc(["submit", url, "status"]).stdout
    assert "selftest" in out
    sim = run_hpcmc(["submit", url, "simulate", "--app", "selftest", "--field", "n_histories=1000",
                     "--field", "seed=3", "-o", tmp_path / "sub.h5"])
    assert "transmitted" in sim.stdout
    with h5py.File(tmp_path / "sub.h5", "r") as h5:
        assert int(h5["tallies/transmitted/n"][()]) == 1000
    bad = run_hpcmc(["submit", url, "simulate", "--app", "gnp", "--field", "n_primaries=10",
                     "--field", "b_lower_nm=0", "--field", "b_upper_nm=50", "--field", "seed=1"], check=False)
    assert bad.returncode == 1 and "UNKNOWN_APP" in bad.stderr
    run_hpcmc(["submit", url, "shutdown"])
    assert proc.wait(timeout=60) == 0


def test_serve_refuses_public_bind_without_key(tmp_path):
    job = write_job(tmp_path / "j.toml", n_histories=100)
    proc = run_hpcmc(["serve", job, "--bind", f"tcp://0.0.0.0:{_free_port()}"], n_ranks=2, timeout=120, check=False)
    assert proc.returncode == 2
    assert "0.0.0.0" in proc.stderr and "key" in proc.stderr
