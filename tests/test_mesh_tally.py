"""Mesh tallies: exact compact sums, history-by-history variance, sparse reduction, resume.

The selftest app's mesh check (``mesh_n``) scores ``K`` random deposits per history into a
``mesh_n³`` grid, several into the same voxel; every per-history value is a multiple of the
quantum, so a numpy reference summed history by history with ``math.fsum`` must agree bit for
bit with the fixed-point sums, and so must every rank count and chunk size.
"""
import math
import shutil
from fractions import Fraction

import h5py
import numpy as np
import pytest

from conftest import run_hpcmc, write_job
from hpcmc.apps.selftest.app import SelftestConfig, SelftestProblem
from hpcmc.apps.selftest.kernel import mesh_history
from hpcmc.io.results import ResultsWriter, read_tally
from hpcmc.io.statepoint import read_statepoint, write_statepoint
from hpcmc.runtime.comm import SerialComm
from hpcmc.runtime.mesh_tally import _MAX_HISTORY_ID, MeshTally, cfx_add, cfx_merge_row, cfx_to_float, mesh_begin_history, mesh_score
from hpcmc.runtime.rng import stream_key
from hpcmc.runtime.scheduler import Master
from hpcmc.runtime.tally import Tally, TallySpec, fx_add_at, make_tallies, raise_score_error, score_history_at
from hpcmc.runtime.task import Task

MESH_N = 48  # 110 592 voxels
K = 8


def _exact_value(row, n_limbs):
    total = 0
    for j in range(n_limbs - 1, -1, -1):
        d = int(row[j])
        if j == n_limbs - 1 and d >= 2**31:
            d -= 2**32
        total = (total << 32) + d
    return total


def _rounded(x, lsb_exp):
    """x / q rounded half away from zero (the fixed-point rounding of one score)."""
    a = abs(Fraction(x)) / Fraction(2) ** lsb_exp
    r = math.floor(a + Fraction(1, 2))
    return r if x > 0 else -r


@pytest.mark.parametrize("n_limbs,lsb_exp", [(3, -40), (4, -64), (6, -120)])
def test_compact_sums_are_exact_and_correctly_rounded(n_limbs, lsb_exp):
    rng = np.random.default_rng(n_limbs)
    rows = np.zeros((40, n_limbs), dtype=np.uint32)
    exact = [0] * 40
    top = lsb_exp + 32 * n_limbs - 1
    for _ in range(6000):
        v = int(rng.integers(40))
        x = float(rng.standard_normal() * 2.0 ** rng.uniform(lsb_exp - 2, top - 12))
        assert cfx_add(rows, v, x, lsb_exp) == 0
        exact[v] += _rounded(x, lsb_exp)
    out = np.empty(40)
    cfx_to_float(rows, lsb_exp, out)
    for v in range(40):
        assert _exact_value(rows[v], n_limbs) == exact[v]
        assert out[v] == float(Fraction(exact[v]) * Fraction(2) ** lsb_exp)
    # merging rows (the master's reduction) is exact integer addition
    merged = rows.copy()
    for v in range(40):
        assert cfx_merge_row(merged, v, rows[(v + 1) % 40]) == 0
        assert _exact_value(merged[v], n_limbs) == exact[v] + exact[(v + 1) % 40]


def test_default_precision_is_unchanged_and_bad_precision_names_the_value():
    dense = TallySpec("d", (3,))
    assert (dense.n_limbs, dense.lsb_exp) == (10, -224)
    assert Tally(dense).sum_limbs.shape == (3, 10)
    mesh = TallySpec("m", (2, 2), kind="mesh")
    assert (mesh.n_limbs, mesh.lsb_exp) == (4, -64)
    with pytest.raises(ValueError, match=r"tally 'x': n_limbs must be an integer in \[3, 32\], got 2"):
        TallySpec("x", (1,), n_limbs=2)
    with pytest.raises(ValueError, match=r"tally 'x': kind must be one of .* got 'sparse'"):
        TallySpec("x", (1,), kind="sparse")
    with pytest.raises(ValueError, match="lsb_exp=1000"):
        TallySpec("x", (1,), lsb_exp=1000)


def test_overflow_raises_naming_the_tally_and_the_value():
    # n_limbs=3, lsb_exp=-64: sums must stay below 2**31; 1e5**2 = 1e10 does not
    t = MeshTally(TallySpec("dose", (10,), kind="mesh", n_limbs=3, lsb_exp=-64))
    m = t.kernel_args()
    mesh_begin_history(m)
    mesh_score(m, 3, 6e4)
    mesh_score(m, 3, 4e4)
    with pytest.raises(OverflowError, match=r"tally 'dose': per-history value 100000.0 in voxel 3 .*2\*\*31"):
        t.flush()
    t = MeshTally(TallySpec("dose", (10,), kind="mesh"))
    m = t.kernel_args()
    mesh_begin_history(m)
    mesh_score(m, 10, 1.0)
    with pytest.raises(IndexError, match="tally 'dose': voxel index 10 outside the mesh of 10 voxels"):
        t.normalize()
    # a dense tally with its own precision: the running sum's range is checked too
    d = Tally(TallySpec("counts", (2,), n_limbs=3, lsb_exp=-40))
    assert fx_add_at(d.sum_limbs[0], 2.0**53, -40) == 0
    assert fx_add_at(d.sum_limbs[0], 2.0**54, -40) == 1  # a dense score must stay below 2**(lsb_exp + 32 L - 2)
    d.sum_limbs[1, 2] = 2**31  # a running sum of 2**55
    with pytest.raises(OverflowError, match=r"tally 'counts': sum of bin 1 is 3.60288e\+16, outside .*±2\*\*55"):
        d.normalize()
    hist, touched, error = np.array([0.0, 2.0**30]), np.array([1]), np.zeros(2)
    status = score_history_at(d.sum_limbs, d.sum_sq_limbs, hist, touched, 1, -40, error)  # (2**30)**2 > 2**54
    with pytest.raises(OverflowError, match=r"tally 'counts': score 1073741824.0 in bin 1 .*2\*\*54"):
        raise_score_error(d.spec, status, error)


def reference(seed, n_histories, mesh_n=MESH_N, k=K):
    """Sums, mean and standard error computed history by history in numpy/Python."""
    n_vox = mesh_n**3
    key = stream_key("mesh")
    st = np.zeros(2, dtype=np.uint64)
    vox = np.zeros(k, dtype=np.int64)
    amt = np.zeros(k)
    per_voxel: dict[int, list] = {}
    for h in range(n_histories):
        mesh_history(seed, h, key, n_vox, st, vox, amt)
        hist: dict[int, float] = {}
        for v, a in zip(vox.tolist(), amt.tolist()):
            hist[v] = hist[v] + a if v in hist else a
        for v, y in hist.items():
            per_voxel.setdefault(v, []).append(y)
    s1 = np.zeros(n_vox)
    s2 = np.zeros(n_vox)
    for v, ys in per_voxel.items():
        s1[v] = math.fsum(ys)
        s2[v] = math.fsum(y * y for y in ys)
    repeated = sum(len(ys) > 1 for ys in per_voxel.values())
    n = n_histories
    mean = s1 / n
    std = np.sqrt(np.maximum(s2 / n - mean * mean, 0.0) / (n - 1))
    shape = (mesh_n,) * 3
    return {"sum": s1.reshape(shape), "sum_sq": s2.reshape(shape), "mean": mean.reshape(shape),
            "std": std.reshape(shape), "voxels_hit": len(per_voxel), "voxels_hit_by_several": repeated}


def _assert_matches(result, ref):
    for key in ("sum", "sum_sq", "mean", "std"):
        assert np.array_equal(getattr(result, key) if hasattr(result, key) else result[key], ref[key]), key


def _master(cfg, **kw):
    return Master(SerialComm(), SelftestProblem(cfg), **kw)


def test_history_by_history_variance_equals_the_numpy_reference_and_resume_is_exact(tmp_path):
    n = 20_000
    cfg = SelftestConfig(mesh_n=MESH_N, mesh_scores=K)
    ref = reference(3, n)
    assert ref["voxels_hit_by_several"] > 1000 and ref["voxels_hit"] > 30_000
    full = _master(cfg).simulate(Task("selftest", {}, n, 3, chunk_size=1_777))
    _assert_matches(full["mesh"], ref)
    assert full["mesh"].n == n

    # statepoint after the first chunks, then resume: the same numbers bit for bit
    sp = tmp_path / "sp.h5"
    calls = []

    def on_checkpoint(task, done, tallies):
        calls.append(done)
        if len(calls) == 2:
            write_statepoint(str(sp), "job", "selftest", task, done, tallies)
            shutil.copy(sp, tmp_path / "kept.h5")

    task = Task("selftest", {}, n, 3, chunk_size=3_000)
    _master(cfg, checkpoint_interval_s=0.0, on_checkpoint=on_checkpoint).simulate(task)
    state = read_statepoint(str(tmp_path / "kept.h5"))
    assert state.histories_done == 6_000 and state.mesh_sums["mesh"]["sum"].dtype == np.uint32
    resumed = _master(cfg).simulate(task, state.resume)
    _assert_matches(resumed["mesh"], ref)
    for name in ("first_interaction", "track_length", "transmitted"):
        assert np.array_equal(resumed[name].mean, full[name].mean)

    # the results file holds the mesh tally like any other
    with ResultsWriter(str(tmp_path / "r.h5"), "job", "selftest", {}) as w:
        w.write_result(resumed)
    with h5py.File(tmp_path / "r.h5", "r") as h5:
        back = read_tally(h5["tallies/mesh"])
    assert back.mean.shape == (MESH_N,) * 3
    _assert_matches(back, ref)


def test_worker_memory_per_voxel():
    t = make_tallies([TallySpec("dose", (128, 128, 128), kind="mesh")])["dose"]
    assert t.nbytes() / 128**3 <= 32.001  # a master: the sums only
    t.kernel_args()
    assert t.nbytes() / 128**3 <= 48.001  # a worker: sums and scoring state


def _mesh_results(path):
    with h5py.File(path, "r") as h5:
        g = h5["tallies/mesh"]
        return {k: g[k][()] for k in ("sum", "sum_sq", "mean", "std", "n")}


@pytest.mark.mpi
@pytest.mark.slow
def test_mesh_tally_bitwise_identical_for_1_to_4_ranks_and_equal_to_the_reference(tmp_path):
    n = 30_000
    ref = reference(7, n)
    # (ranks, chunk size, statepoint interval [s]): small intervals close many rounds, and costly
    # histories make workers park at different times, so a worker's round-end blocks may reach
    # the master while it still serves another worker's requests
    runs = [(None, 30_000, 300), (1, 2_999, 300), (2, 2_000, 0.05), (3, 2_000, 0.05), (3, 500, 0.05),
            (4, 7_001, 0.1)]
    for n_ranks, chunk, interval in runs:
        job = write_job(tmp_path / f"m{chunk}.toml", n_histories=n, chunk_size=chunk,
                        extra=f"checkpoint_interval_s = {interval}", mesh_n=MESH_N, mesh_scores=K,
                        work_per_history=4000, cost_decades=0.5)
        out = tmp_path / f"m_{n_ranks}_{chunk}.h5"
        run_hpcmc(["run", job, "-o", out], n_ranks=n_ranks)
        got = _mesh_results(out)
        assert int(got["n"]) == n, f"{n_ranks} ranks: histories lost or counted twice"
        for key in ("sum", "sum_sq", "mean", "std"):
            assert np.array_equal(got[key], ref[key]), f"{n_ranks} ranks, chunk {chunk}: {key} differs"


def test_history_ids_restart_after_a_flush_without_mixing_histories():
    t = MeshTally(TallySpec("dose", (4,), kind="mesh"))
    m = t.kernel_args()
    m[3][1] = _MAX_HISTORY_ID - 1  # the next history takes the last id, the one after wraps
    for deposits in ([(0, 1.0), (0, 1.0), (2, 0.5)], [(0, 3.0)], [(0, 0.25), (2, 0.5)]):
        mesh_begin_history(m)
        for v, x in deposits:
            mesh_score(m, v, x)
    t.n = 3
    r = t.result()
    assert r.sum.tolist() == [5.25, 0.0, 1.0, 0.0]
    assert r.sum_sq.tolist() == [4.0 + 9.0 + 0.0625, 0.0, 0.5, 0.0]
    t.zero()
    assert not t.sum.any() and not t.sum_sq.any() and not t.kernel_args()[1].any() and t.n_touched == 0
