"""Logging: -v/--log-level configure hpcmc's loggers only (the gateway's request lines appear
with -v), and the library leaves Optuna's process-wide verbosity as it found it."""
import logging
import socket
import subprocess
import time

import numpy as np
import optuna

from conftest import default_mpi, run_hpcmc, write_job
from hpcmc.cli import build_parser, configure_logging, main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_verbose_and_log_level_set_the_hpcmc_logger_only():
    root_level = logging.getLogger().level
    try:
        for argv, level in ((["options", "selftest"], logging.NOTSET),  # the root's level: WARNING in `hpcmc`
                            (["-v", "options", "selftest"], logging.INFO),
                            (["options", "selftest", "-v"], logging.INFO),
                            (["-vv", "options", "selftest"], logging.DEBUG),
                            (["--log-level", "error", "options", "selftest"], logging.ERROR),
                            (["-v", "options", "selftest", "--log-level", "WARNING"], logging.WARNING)):
            assert main(argv) == 0
            assert logging.getLogger("hpcmc").level == level, argv
        assert logging.getLogger().level == root_level
        assert len([h for h in logging.getLogger("hpcmc").handlers if getattr(h, "_hpcmc_cli", False)]) == 1
    finally:
        configure_logging()


def test_bad_log_level_is_a_usage_error():
    try:
        build_parser().parse_args(["--log-level", "LOUD", "info"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("--log-level LOUD was accepted")


def test_optimizer_leaves_optuna_verbosity_unchanged():
    from hpcmc.apps.gnp.optimizer import OptimizerSettings, optimize_q

    edges = np.array([0.0, 1.0, 2.0, 3.0])
    q = np.array([0.5, 0.3, 0.2])
    settings = OptimizerSettings(n_trials=3, sampler="tpe", seed=3)
    previous = optuna.logging.get_verbosity()
    try:
        for verbosity in (optuna.logging.DEBUG, optuna.logging.INFO, optuna.logging.ERROR):
            optuna.logging.set_verbosity(verbosity)
            q_opt, _, used = optimize_q(q, np.full(3, 1 / 3), edges, settings, iteration=1)
            assert used == "tpe" and q_opt.shape == (3,)
            assert optuna.logging.get_verbosity() == verbosity
    finally:
        optuna.logging.set_verbosity(previous)


def test_gateway_logs_one_line_per_request_with_verbose(tmp_path):
    job = write_job(tmp_path / "serve.toml", n_histories=1_000, chunk_size=500, n_bins=4)
    url = f"tcp://127.0.0.1:{_free_port()}"
    impl = default_mpi()
    env = impl.env()
    env["HPCMC_MPI"] = "0"  # one process: the master serves alone
    proc = subprocess.Popen(impl.command(["-v", "serve", job, "--bind", url]), env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status = run_hpcmc(["submit", url, "status", "--timeout-s", "2"], check=False)
            if status.returncode == 0:
                break
            assert proc.poll() is None, proc.communicate()
        assert status.returncode == 0, status.stderr
        # submit takes integers in float notation, as job files do
        sim = run_hpcmc(["submit", url, "simulate", "--app", "selftest", "--field", "n_histories=1e3",
                         "--field", "seed=3", "--timeout-s", "60"])
        assert "n=1,000" in sim.stdout
        run_hpcmc(["submit", url, "shutdown", "--timeout-s", "10"])
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "hpcmc.gateway INFO" in err and "status -> ok" in err, err
    assert "shutdown -> ok" in err and "simulate" in err, err
