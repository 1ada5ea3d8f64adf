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
    assert proc.returncode == 1 and "not an hpcmc-results file" in proc.stderr


@pytest.mark.parametrize("job", sorted((REPO / "jobs").glob("*.toml")) + sorted((REPO / "jobs").glob("*/*.toml")),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_shipped_job_files_validate(job):
    from hpcmc.config import load_job

    load_job(job)
