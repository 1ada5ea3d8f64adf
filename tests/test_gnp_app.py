"""The gnp app end to end at tiny N: gateway mapping, TCP vs in-process, resume, physics."""
import os
import signal
import socket
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from conftest import hpcmc_env, mpiexec, run_hpcmc
from hpcmc.config import parse_job

JOB = """
[job]
app = "gnp"
seed = 11
n_histories = {n}
chunk_size = 2_000
[gnp.optimizer]
sampler = "tpe"
n_trials = 12
max_iterations = {iters}
[gnp.comparison]
enabled = {compare}
n_primaries = 20_000
[gnp.source]
n_annuli = 21        # b_max = 5 um: primaries near the shells, so clusters are scored at tiny N
"""


def _job(tmp_path, name="gnp.toml", n=20_000, iters=2, compare="false"):
    path = tmp_path / name
    path.write_text(JOB.format(n=n, iters=iters, compare=compare))
    return path


def _qs(path):
    with h5py.File(path, "r") as h5:
        return [h5["optimizer"][k]["q_next"][()] for k in sorted(h5["optimizer"])]


def test_gateway_request_mapping_and_validation():
    from hpcmc.apps.gnp import APP

    job = parse_job(JOB.format(n=10, iters=1, compare="false"), "j.toml")
    task = APP.task_from_request(job, {"n_primaries": 100, "b_lower_nm": 50.0, "b_upper_nm": 62.94627058970835,
                                       "seed": 4})
    assert task.params["annulus"] == 1 and task.n_histories == 100 and task.seed == 4
    assert APP.request_fields(task) == {"n_primaries": 100, "b_lower_nm": 50.0,
                                        "b_upper_nm": 62.94627058970835, "seed": 4}
    for bad, word in [({"b_lower_nm": 60.0, "b_upper_nm": 50.0}, "b_lower_nm"),
                      ({"b_lower_nm": -1.0, "b_upper_nm": 50.0}, "b_lower_nm"),
                      ({"b_lower_nm": 0.0, "b_upper_nm": 1e9}, "b_upper_nm"),
                      ({"n_primaries": 0}, "n_primaries")]:
        fields = {"n_primaries": 10, "b_lower_nm": 0.0, "b_upper_nm": 50.0, "seed": 1, **bad}
        with pytest.raises(ValueError, match=word):
            APP.task_from_request(job, fields)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.mpi
def test_in_process_and_over_tcp_give_identical_q(tmp_path):
    job = _job(tmp_path)
    local = tmp_path / "local.h5"
    run_hpcmc(["run", job, "-o", local], n_ranks=2)
    url = f"tcp://127.0.0.1:{_free_port()}"
    server = subprocess.Popen([mpiexec(), "-n", "3", sys.executable, "-m", "hpcmc", "serve", str(job), "--bind", url],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=hpcmc_env())
    try:
        from hpcmc.gateway import Client

        with Client(url, timeout_s=300) as client:
            client.status()
        remote = tmp_path / "remote.h5"
        run_hpcmc(["run", job, "-o", remote, "--connect", url])
        run_hpcmc(["submit", url, "shutdown"])
        assert server.wait(timeout=60) == 0
    finally:
        if server.poll() is None:
            server.kill()
    with h5py.File(local, "r") as h5:  # the sampler the optimizer used is in the provenance
        assert h5["provenance"].attrs["gnp_sampler"] == "tpe"
        assert h5["provenance"].attrs["gnp_sampler_requested"] == "tpe"
    a, b = _qs(local), _qs(remote)
    assert len(a) == len(b) == 2
    for qa, qb in zip(a, b):
        assert np.array_equal(qa, qb)
    assert not np.allclose(a[-1], a[0])  # the optimiser did move q


@pytest.mark.mpi
def test_killed_optimisation_resumes_from_its_study(tmp_path):
    job = _job(tmp_path, n=60_000, iters=3)
    out = tmp_path / "r.h5"
    state = tmp_path / "r.h5.optimizer.h5"
    cmd = [mpiexec(), "-n", "3", sys.executable, "-m", "hpcmc", "run", str(job), "-o", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=hpcmc_env(), start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if state.exists():
                with h5py.File(state, "r") as h5:
                    if len(h5) >= 1:
                        break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert not out.exists()
    with h5py.File(state, "r") as h5:
        done = len(h5)
    assert 1 <= done < 3
    db = f"{out.resolve()}.optuna.db"
    assert os.path.exists(db)
    refused = run_hpcmc(["run", job, "-o", out], check=False)
    assert refused.returncode == 2 and "--resume" in refused.stderr
    resumed = run_hpcmc(["run", job, "-o", out, "--resume"], n_ranks=3)
    assert f"resuming the optimisation at iteration {done + 1}" in resumed.stdout
    import optuna

    studies = {s.study_name: s.n_trials for s in optuna.get_all_study_summaries(f"sqlite:///{db}")}
    assert all(n == 12 for n in studies.values()) and len(studies) == 3, studies
    fresh = tmp_path / "fresh.h5"
    run_hpcmc(["run", job, "-o", fresh], n_ranks=2)
    for qa, qb in zip(_qs(out), _qs(fresh)):
        assert np.array_equal(qa, qb)


def _annulus0(np_material, n=150_000):
    """Per-primary cluster dose and the raw per-shell results of primaries aimed at the NP."""
    from hpcmc.apps import get_app
    from hpcmc.runtime.scheduler import run_chunk_into
    from hpcmc.runtime.tally import make_tallies
    from hpcmc.runtime.task import Chunk, Task

    text = JOB.format(n=10, iters=1, compare="false") + f'[gnp.geometry]\nnp_material = "{np_material}"\n'
    job = parse_job(text, "j.toml")
    problem = get_app("gnp").make_problem(job)
    task = Task("gnp", {"annulus": 0, "b_lower_nm": 0.0, "b_upper_nm": 50.0}, n, 9, chunk_size=n)
    tallies = make_tallies(problem.tally_specs(task))
    run_chunk_into(problem, task, problem.prepare(task), Chunk(0, 0, n), tallies)
    return tallies["cluster_dose"].result(), problem


def test_gold_enhancement_is_confined_near_the_surface():
    gold, problem = _annulus0("gold")
    water, _ = _annulus0("water")
    # energy bookkeeping of every history (photons, relaxation, gold and water electrons)
    assert problem.ledger[7] < 1e-9
    r = problem.shells_nm[:-1]
    inner = r < 250.0
    outer = r >= 1000.0
    # the same histories (same seeds) with a gold and a water NP: their difference is the NP's effect
    excess = gold.mean - water.mean
    assert excess[inner].mean() > 0
    assert gold.mean[inner].sum() > 10 * water.mean[inner].sum()
    # per kg, the NP's clusters are concentrated within ~200 nm of the surface
    sigma_inner = np.sqrt(np.sum(gold.std[inner] ** 2 + water.std[inner] ** 2)) / inner.sum()
    assert excess[inner].mean() > 5 * sigma_inner
    assert excess[inner].mean() > 100 * max(excess[outer].mean(), 0.0)


def test_water_nanoparticle_background_is_flat_within_uncertainty():
    """Analog irradiation (q = p) of a water NP at reduced statistics (2e6 primaries).

    Shells with clusters must agree with one level (χ² per degree of freedom), and shells
    without any must be consistent with that level: the expected number of clusters there at
    the common level (per-primary level × shell mass × N) is below 3 (95 % Poisson).
    """
    from hpcmc.apps import get_app
    from hpcmc.apps.gnp.binning import allocate, shell_masses_kg
    from hpcmc.apps.gnp.driver import GnpDriver
    from hpcmc.apps.gnp.estimator import combine
    from hpcmc.runtime.comm import SerialComm
    from hpcmc.runtime.scheduler import Master

    text = "[job]\napp = 'gnp'\nseed = 7\nchunk_size = 50_000\n[gnp.geometry]\nnp_material = 'water'\n"
    job = parse_job(text, "j.toml")
    master = Master(SerialComm(), get_app("gnp").make_problem(job))
    driver = GnpDriver(job, master.simulate, lambda m: None, "unused.h5")
    n = 2_000_000
    mean_ij, std_ij, _ = driver.run_annuli(allocate(driver.p, n), "background", 0)
    g, s = combine(driver.p, mean_ij, std_ij)  # per-primary clusters per kg, per shell
    hit = g > 0
    assert hit.sum() >= 5, "too few shells scored to test flatness"
    w = 1.0 / s[hit] ** 2
    level = np.sum(w * g[hit]) / np.sum(w)
    chi2_per_dof = np.sum(((g[hit] - level) / s[hit]) ** 2) / (hit.sum() - 1)
    assert chi2_per_dof < 3.0, (chi2_per_dof, g[hit], s[hit])
    expected_clusters = level * shell_masses_kg(driver.shells_nm) * n
    assert np.all(expected_clusters[~hit] < 3.0), expected_clusters[~hit]
