"""The hpcmc command in one process: run, plot, info, and its refusals."""
import h5py
import pytest

from conftest import REPO, run_hpcmc, write_job


def test_info_names_versions_mpi_and_threading():
    out = run_hpcmc(["info"]).stdout
    assert "hpcmc" in out and "mpi library" in out and ("MPICH" in out or "Open MPI" in out)
    assert "numba threading" in out and "xraylib" in out


def test_run_then_plot(tmp_path):
    job = write_job(tmp_path / "j.toml", n_histories=50_000, chunk_size=5_000, n_bins=10)
    out = tmp_path / "r.h5"
    proc = run_hpcmc(["run", job, "-o", out])
    assert "agreement with the analytic answer: OK" in proc.stdout
    with h5py.File(out, "r") as h5:
        assert h5.attrs["app"] == "selftest"
        assert h5["provenance"].attrs["n_ranks"] == 1
        assert "simulate" in h5["provenance/timings_s"].attrs
    plots = run_hpcmc(["plot", out, "-o", tmp_path / "plots"]).stdout.split()
    assert any(p.endswith("tally_first_interaction.png") for p in plots)
    for p in plots:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_run_refuses_to_overwrite_results(tmp_path):
    job = write_job(tmp_path / "j.toml", n_histories=1_000, chunk_size=500)
    out = tmp_path / "r.h5"
    out.write_bytes(b"precious")
    proc = run_hpcmc(["run", job, "-o", out], check=False)
    assert proc.returncode == 2 and "exists" in proc.stderr and "--force" in proc.stderr
    assert out.read_bytes() == b"precious"
    run_hpcmc(["run", job, "-o", out, "--force"])
    assert h5py.is_hdf5(out)


def test_missing_job_file_and_bad_results_file(tmp_path):
    proc = run_hpcmc(["run", tmp_path / "none.toml"], check=False)
    assert proc.returncode == 2 and "job file not found" in proc.stderr
    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as h5:
        h5.attrs["filetype"] = "something-else"
    proc = run_hpcmc(["plot", bad], check=False)
    assert proc.returncode == 2 and "not an hpcmc-results file" in proc.stderr


@pytest.mark.parametrize("job", sorted((REPO / "jobs").glob("*.toml")) + sorted((REPO / "jobs").glob("*/*.toml")),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_shipped_job_files_validate(job):
    from hpcmc.config import load_job

    load_job(job)


def test_plot_bad_input_exits_2(tmp_path, capsys):
    from hpcmc.cli import main

    assert main(["plot", str(tmp_path / "none.h5")]) == 2
    assert "no such results file" in capsys.readouterr().err
    text = tmp_path / "text.h5"
    text.write_text("not hdf5")
    assert main(["plot", str(text)]) == 2
    assert "not an HDF5 file" in capsys.readouterr().err


@pytest.mark.parametrize("args, fragment", [
    (["simulate", "--app", "selftest", "--field", "n_histories"], "--field must be NAME=VALUE, got 'n_histories'"),
    (["simulate", "--app", "selftest", "--field", "n_histories=many"], "--field n_histories: the value must be a number, got 'many'"),
    (["simulate", "--app", "selftest", "--field", "seed=nan"], "finite"),
    (["simulate", "--app", "selftest", "--field", "n_histories=1.5", "--field", "seed=1"], "selftest.n_histories = 1.5"),
    (["simulate", "--app", "selftest", "--field", "nhistories=10"], "unknown ['nhistories']"),
    (["simulate", "--app", "nope", "--field", "n=1"], "unknown app 'nope'"),
    (["simulate", "--field", "n_histories=10", "--field", "seed=1"], "simulate needs --app"),
    (["status", "--field", "n_histories=10"], "status takes no --app, --field or -o"),
])
def test_submit_bad_input_exits_2_before_sending(args, fragment, capsys):
    from hpcmc.cli import main

    # nothing listens on this port: every refusal must come before a request is sent
    assert main(["submit", "tcp://127.0.0.1:9", *args, "--timeout-s", "2"]) == 2
    assert fragment in capsys.readouterr().err


def test_submit_bad_url_and_action_exit_2(capsys):
    from hpcmc.cli import main

    assert main(["submit", "notaurl", "status"]) == 2
    assert "ZeroMQ endpoint" in capsys.readouterr().err
    assert main(["submit", "tcp://nohost-and-no-port", "status", "--timeout-s", "2"]) == 2
    assert "is not a ZeroMQ endpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["submit", "tcp://127.0.0.1:9", "simulat"])
    assert info.value.code == 2


def test_submit_field_values_parse_like_job_files():
    from hpcmc.cli import _parse_field

    assert _parse_field("n_histories=1e4") == ("n_histories", 10_000)
    assert isinstance(_parse_field("n_histories=1e4")[1], int)
    assert _parse_field("n_primaries=1_000_000") == ("n_primaries", 1_000_000)
    assert _parse_field("n_primaries=2.5e6") == ("n_primaries", 2_500_000)
    assert _parse_field("b_lower_nm=12.5") == ("b_lower_nm", 12.5)
    assert _parse_field("seed=-3") == ("seed", -3)
