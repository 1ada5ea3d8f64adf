"""Answer-file regression tests: today's physics results, pinned bit for bit.

Each case in ``tests/regression/<case>/`` (``job.toml`` and its committed ``answer.txt``) runs
under ``mpiexec -n 1`` and ``mpiexec -n 3`` and its results must equal the answer exactly:
results are bitwise identical for any rank count (per-history random streams and exact
fixed-point tally sums), so any difference is a change of physics or of the random-number
consumption. The comparison and the answer format are in :mod:`harness`.

When a change of results is intended, regenerate the answers and review their diff::

    python tools/regen_answers.py [case ...]

Cases: ``selftest`` (the slab with a closed-form answer) and ``gnp_small`` (the gnp comparison
mode at 5·10⁴ primaries per run on two annuli: photons in water and gold, vacancy cascades,
gold and water electrons, clustering).
"""
import h5py
import numpy as np
import pytest

from harness import answer_path, answer_text, cases, collect, differences, parse_answer, run_case


@pytest.mark.mpi
@pytest.mark.parametrize("n_ranks", [1, 3])
@pytest.mark.parametrize("case", cases())
def test_results_equal_the_answer_bitwise(case, n_ranks, tmp_path):
    path = answer_path(case)
    assert path.exists(), f"{path} is missing: make it with python tools/regen_answers.py {case}"
    expected = parse_answer(path.read_text(), str(path))
    results = run_case(case, tmp_path, n_ranks=n_ranks)
    actual = parse_answer(answer_text(case, results), f"{case} under {n_ranks} rank(s)")
    diff = differences(expected, actual)
    assert not diff, (f"case {case} under mpiexec -n {n_ranks} differs from {path}:\n" + "\n".join(diff)
                      + f"\nIf the change is intended: python tools/regen_answers.py {case}")


def test_the_answer_format_reads_back_exactly(tmp_path):
    """Writer and reader agree, and a one-ulp change is reported with its index."""
    results = tmp_path / "r.h5"
    values = np.array([[0.1, -0.0], [np.nextafter(1.0, 2.0), 1e-300]])
    with h5py.File(results, "w") as h5:
        h5["config"] = "not compared"
        h5.create_group("provenance").attrs["host"] = "not compared"
        g = h5.create_group("tallies/t")
        g["mean"] = values
        g["n"] = np.int64(7)
        g["wall_time_s"] = 1.5
        g.attrs["unit"] = "1/kg"
        g.attrs["description"] = "prose, not compared"
    entries = parse_answer(answer_text("unit", results))
    assert entries == collect(results)
    assert sorted(entries) == ["tallies/t/mean", "tallies/t/n", "tallies/t@unit"]
    back = np.array([float(v) for v in entries["tallies/t/mean"].values]).reshape(2, 2)
    assert back.tobytes() == values.tobytes()
    with h5py.File(results, "r+") as h5:
        h5["tallies/t/mean"][1, 0] = 1.0
    diff = differences(entries, collect(results))
    assert diff[0] == "tallies/t/mean: 1 of 4 values differ"
    assert diff[1].startswith("    [1,0] answer 1.0000000000000002, now 1.0")
