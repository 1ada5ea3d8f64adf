"""Results and statepoint files: stamped, checked on read."""
import h5py
from mpi4py import MPI
import numpy as np
import pytest

from hpcmc.io.results import FileFormatError, ResultsWriter, open_results, provenance, read_tally
from hpcmc.io.statepoint import read_statepoint, write_statepoint
from hpcmc.runtime.tally import TallySpec, float_to_limbs, make_tallies
from hpcmc.runtime.task import Task, TallyResult, TaskResult


def _result():
    t = TallyResult("dose", "Gy", np.array([1.0, 2.0]), np.array([0.1, 0.2]), 10,
                    {"r_nm": np.array([0.0, 1.0, 2.0])}, np.array([10.0, 20.0]), np.array([11.0, 42.0]))
    return TaskResult(Task("selftest", {}, 10, 1), {"dose": t}, 0.5, 3)


def test_results_file_carries_stamp_config_provenance(tmp_path):
    path = tmp_path / "r.h5"
    with ResultsWriter(str(path), "[job]\napp='selftest'\n", "selftest", provenance(3, 1, "hpcmc run x")) as w:
        w.write_result(_result())
        w.add_timing("simulate", 1.25)
    assert not (tmp_path / "r.h5.partial").exists()
    with open_results(str(path)) as h5:
        assert h5.attrs["filetype"] == "hpcmc-results"
        assert list(h5.attrs["version"]) == [1, 1]
        assert h5["tallies/dose/mean"].attrs["units"] == "Gy" and h5["tallies/dose/sum_sq"].attrs["units"] == "Gy2"
        assert h5["tallies/dose/mean"].dims[0]["r_nm"] == h5["tallies/dose/edges/r_nm"]
        assert h5["config"][()].decode().startswith("[job]")
        prov = h5["provenance"].attrs
        assert prov["n_ranks"] == 3 and prov["seed"] == 1 and prov["host"]
        assert h5["provenance/timings_s"].attrs["simulate"] == 1.25
        t = read_tally(h5["tallies/dose"])
        assert t.unit == "Gy" and t.n == 10
        assert np.array_equal(t.mean, [1.0, 2.0]) and np.array_equal(t.edges["r_nm"], [0, 1, 2])


def test_reader_rejects_other_filetypes_and_versions(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h5:
        h5.attrs["filetype"] = "openmc-statepoint"
    with pytest.raises(FileFormatError, match="not an hpcmc-results file .*'openmc-statepoint'"):
        open_results(str(other))
    newer = tmp_path / "newer.h5"
    with h5py.File(newer, "w") as h5:
        h5.attrs["filetype"] = "hpcmc-results"
        h5.attrs["version"] = [2, 0]
    with pytest.raises(FileFormatError, match="version"):
        open_results(str(newer))
    text = tmp_path / "x.h5"
    text.write_text("hello")
    with pytest.raises(FileFormatError, match="not an HDF5 file"):
        open_results(str(text))


def test_statepoint_round_trip_and_check(tmp_path):
    tallies = make_tallies([TallySpec("a", (2,))])
    tallies["a"].sum_limbs[:] = float_to_limbs(np.array([1.5, 2.5]))
    tallies["a"].n = 5
    task = Task("selftest", {"x": 1}, 100, 9, chunk_size=10)
    path = tmp_path / "sp.h5"
    write_statepoint(str(path), "text", "selftest", task, 50, tallies, {"iteration": 3})
    sp = read_statepoint(str(path))
    assert sp.task == task and sp.histories_done == 50 and sp.app_state == {"iteration": 3}
    with pytest.raises(FileFormatError):
        open_results(str(path))


# Strings from outside Python: Open MPI's library version ends with a NUL, host names and
# command lines (os.fsdecode of non-UTF-8 bytes) may carry anything. Before hpcmc.runtime.text
# these ended every multi-rank Open MPI run ("VLEN strings do not support embedded NULLs").
OPEN_MPI_VERSION = ("Open MPI v5.0.11, package: Open MPI user@localhost Distribution, ident: 5.0.11, "
                    "repo rev: v5.0.11rc1, Sep 16, 2026\x00")
HOSTILE = {
    "mpi_library": OPEN_MPI_VERSION,
    "host": "node\x00017",
    "command": "hpcmc run \udcffjob.toml -o r\x1b[31m.h5",
    "file_name": b"dose-\xff\xfe.h5",
    "long": "x" * 100_000,
    "bad\x00key": "v",
}


def test_results_writer_stores_hostile_strings(tmp_path):
    path = tmp_path / "r.h5"
    prov = {**provenance(3, 1, "hpcmc run job.toml"), **HOSTILE}
    with ResultsWriter(str(path), "[job]\n", "selftest\x00", prov):
        pass
    with open_results(str(path)) as h5:
        attrs = dict(h5["provenance"].attrs)
        assert attrs["mpi_library"] == OPEN_MPI_VERSION[:-1]
        assert attrs["host"] == "node017"
        assert attrs["command"] == "hpcmc run \ufffdjob.toml -o r[31m.h5"
        assert attrs["file_name"] == "dose-\ufffd\ufffd.h5"
        assert len(attrs["long"]) == 4096
        assert attrs["badkey"] == "v"
        assert h5.attrs["app"] == "selftest"


def test_provenance_of_an_open_mpi_run_is_writable(tmp_path, monkeypatch):
    """The path of the Open MPI failure: provenance() reads the library version itself."""
    monkeypatch.setattr(MPI, "Get_library_version", lambda: OPEN_MPI_VERSION, raising=False)
    prov = provenance(3, 1, "mpirun -n 3 hpcmc run jobs/selftest.toml")
    assert prov["mpi_library"] == OPEN_MPI_VERSION[:-1]
    with ResultsWriter(str(tmp_path / "r.h5"), "", "selftest", prov):
        pass
    with h5py.File(tmp_path / "r.h5") as h5:
        assert h5["provenance"].attrs["mpi_library"].startswith("Open MPI v5.0.11")


def test_provenance_records_library_versions_job_and_input_hashes(tmp_path):
    import hashlib
    import importlib.metadata

    spectrum = tmp_path / "spectrum.txt"
    spectrum.write_text("0.05 1.0\n0.1 2.0\n")
    text = "[job]\napp='selftest'\n"
    prov = provenance(2, 5, "hpcmc run j.toml", job_text=text, input_files=[spectrum])
    for lib in ("xraylib", "spekpy", "scipy", "optuna", "mpi4py", "h5py", "numba", "numpy"):
        assert prov[lib] == importlib.metadata.version(lib), lib
    assert "torch" in prov  # a version, or "not installed"
    assert prov["job_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert prov["n_input_files"] == 1 and prov["input_file_0"] == str(spectrum)
    assert prov["input_sha256_0"] == hashlib.sha256(spectrum.read_bytes()).hexdigest()
    path = tmp_path / "r.h5"
    with ResultsWriter(str(path), text, "selftest", prov) as w:
        w.add_provenance("gnp_sampler", "tpe\x00")
    with open_results(str(path)) as h5:
        attrs = h5["provenance"].attrs
        assert attrs["input_sha256_0"] == prov["input_sha256_0"] and attrs["gnp_sampler"] == "tpe"


def test_input_files_are_the_existing_paths_a_job_names(tmp_path):
    from hpcmc.config import input_files, parse_job

    (tmp_path / "spectra").mkdir()
    spectrum = tmp_path / "spectra" / "beam.txt"
    spectrum.write_text("1 1\n")
    text = ("[job]\napp = 'lem'\noutput = 'lem.h5'\n[lem.calibration]\neps_v_gy_um3 = 1.0\n"
            "[[lem.beams]]\nname = 'file beam'\nkind = 'file'\npath = 'spectra/beam.txt'\n"
            "[[lem.beams]]\nname = 'missing'\nkind = 'file'\npath = 'spectra/none.txt'\n")
    (tmp_path / "lem.h5").write_bytes(b"")  # the output is not an input
    job = parse_job(text, str(tmp_path / "job.toml"))
    assert input_files(job) == [spectrum.resolve()]


def test_run_writes_the_job_hash_into_provenance(tmp_path):
    import hashlib

    from conftest import run_hpcmc, write_job

    job = write_job(tmp_path / "j.toml", n_histories=2_000, chunk_size=1_000, n_bins=4)
    out = tmp_path / "r.h5"
    run_hpcmc(["run", job, "-o", out])
    with open_results(str(out)) as h5:
        attrs = h5["provenance"].attrs
        assert attrs["job_sha256"] == hashlib.sha256(job.read_bytes()).hexdigest()
        assert attrs["n_input_files"] == 0 and attrs["scipy"] and attrs["xraylib"]
