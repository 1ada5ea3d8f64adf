"""Strings from outside Python (MPI library versions, host names, command lines, file names)
reach HDF5 files and gateway replies clean: no NULs, valid UTF-8, bounded length.

Open MPI's ``MPI_Get_library_version`` ends with a NUL; before :mod:`hpcmc.runtime.text`
that NUL ended every multi-rank Open MPI run in ``ResultsWriter`` ("VLEN strings do not
support embedded NULLs").
"""
import pytest
from mpi4py import MPI

from hpcmc.gateway import Client
from hpcmc.io.statepoint import read_statepoint, write_statepoint
from hpcmc.runtime.mpi_library import family_of, library_version, srun_mpi_plugin
from hpcmc.runtime.tally import TallySpec, make_tallies
from hpcmc.runtime.task import Task
from hpcmc.runtime.text import MAX_TEXT_CHARS, clean_mapping, clean_text
from test_gateway import serving

OPEN_MPI_VERSION = ("Open MPI v5.0.11, package: Open MPI user@localhost Distribution, ident: 5.0.11, "
                    "repo rev: v5.0.11rc1, Sep 16, 2026\x00")


@pytest.mark.parametrize("raw, clean", [
    (OPEN_MPI_VERSION, OPEN_MPI_VERSION[:-1]),
    ("a\x00b\x07c\x7fd\x85e", "abcde"),
    (b"caf\xc3\xa9 \xff", "café \ufffd"),
    ("lone \udcff surrogate", "lone \ufffd surrogate"),
    ("tab\tnew\nline\r\n", "tab\tnew\nline"),
    (42, "42"),
])
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean
    clean_text(raw).encode("utf-8")  # valid UTF-8 by construction


def test_clean_text_bounds_length():
    out = clean_text("é" * 10_000)
    assert len(out) == MAX_TEXT_CHARS and out.endswith("…")
    assert clean_text("abc", max_chars=2) == "a…"
    with pytest.raises(ValueError, match="max_chars must be >= 1, got 0"):
        clean_text("abc", max_chars=0)


def test_statepoint_with_hostile_app_name(tmp_path):
    path = str(tmp_path / "sp.h5")
    tallies = make_tallies([TallySpec("count", (), "1")])
    write_statepoint(path, "[job]\n", "selftest\x00", Task("selftest", {}, 10, 1), 0, tallies)
    assert read_statepoint(path).histories_done == 0


def test_gateway_status_with_hostile_strings():
    def status():
        return {"n_ranks": 3, "host": "node\x00017", "mpi_library": OPEN_MPI_VERSION,
                "job": b"\xffjob.toml", "bad\x00key": "\udcff"}

    with serving(status_info=status) as server, Client(server.endpoint, timeout_s=10) as client:
        reply = client.status()
    assert reply["host"] == "node017"
    assert reply["extra"] == {"mpi_library": OPEN_MPI_VERSION[:-1], "job": "\ufffdjob.toml", "badkey": "\ufffd"}


def test_library_version_drops_the_nul(monkeypatch):
    monkeypatch.setattr(MPI, "Get_library_version", lambda: OPEN_MPI_VERSION, raising=False)
    assert library_version(MPI) == OPEN_MPI_VERSION[:-1]
    assert library_version() == OPEN_MPI_VERSION[:-1]


def test_clean_mapping_keeps_numbers():
    assert clean_mapping({"n": 3, "x": 1.5, "s": "a\x00"}) == {"n": 3, "x": 1.5, "s": "a"}


@pytest.mark.parametrize("version, family, plugin", [
    (OPEN_MPI_VERSION, "openmpi", "pmix"),
    ("Open MPI v4.1.4, package: Debian OpenMPI, ident: 4.1.4, repo rev: v4.1.4, May 26, 2022", "openmpi", "pmix"),
    ("MPICH Version:      5.0.2\nMPICH Release date: ...", "mpich", "pmi2"),
    ("Intel(R) MPI Library 2021.18 for Linux* OS", "impi", "pmi2"),
    ("MVAPICH Version: 3.0", "mpich", "pmi2"),
])
def test_srun_plugin_follows_the_linked_library(version, family, plugin):
    assert family_of(version) == family
    assert srun_mpi_plugin(family, environ={}) == plugin
    assert srun_mpi_plugin(family, environ={"HPCMC_SRUN_MPI": "pmix_v4"}) == "pmix_v4"


def test_srun_plugin_errors_name_the_value():
    with pytest.raises(ValueError, match="MPI family 'unknown'; set HPCMC_SRUN_MPI"):
        srun_mpi_plugin("unknown", environ={})
    with pytest.raises(ValueError, match="HPCMC_SRUN_MPI must name an srun --mpi plugin, got 'pmi2; rm'"):
        srun_mpi_plugin("mpich", environ={"HPCMC_SRUN_MPI": "pmi2; rm"})
