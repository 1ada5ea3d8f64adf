"""One job, every MPI implementation, the same bits.

Each history draws from its own random stream and tallies are summed exactly in fixed point,
so nothing in the results may depend on the MPI library: MPICH, Open MPI and Intel MPI must
give bitwise-identical means, standard errors and raw sums (the ``mpi`` fixture's
implementations, see ``conftest.py``; ``HPCMC_TEST_MPI`` chooses them).
"""
import h5py
import numpy as np
import pytest

from conftest import mpi_impl, requested_families, run_hpcmc, write_job

pytestmark = pytest.mark.mpi

EXPECTED_LIBRARY = {"mpich": "MPICH", "openmpi": "Open MPI", "system-openmpi": "Open MPI", "impi": "Intel"}


def _read(path):
    with h5py.File(path, "r") as h5:
        tallies = {name: {k: h5["tallies"][name][k][()] for k in ("sum", "sum_sq", "n", "mean", "std")}
                   for name in h5["tallies"]}
        return tallies, h5["provenance"].attrs["mpi_library"]


def test_same_job_gives_the_same_bits_under_every_mpi(tmp_path):
    families = requested_families()
    if len(families) < 2:
        pytest.skip(f"HPCMC_TEST_MPI names one implementation ({families[0]}); nothing to compare")
    job = write_job(tmp_path / "job.toml", n_histories=150_000, chunk_size=4_000, seed=29,
                    work_per_history=20, cost_decades=2.0, n_bins=25)
    results = {}
    for family in families:
        out = tmp_path / f"{family}.h5"
        run_hpcmc(["run", job, "-o", out], n_ranks=3, mpi=mpi_impl(family))
        results[family], library = _read(out)
        assert library.startswith(EXPECTED_LIBRARY[family]) or EXPECTED_LIBRARY[family] in library, \
            f"{family}: the run used {library!r}"
    reference_family, reference = next(iter(results.items()))
    for family, tallies in results.items():
        assert tallies.keys() == reference.keys()
        for name, arrays in tallies.items():
            for key, value in arrays.items():
                assert np.array_equal(value, reference[name][key]), \
                    f"tally {name}/{key}: {family} differs from {reference_family}"
