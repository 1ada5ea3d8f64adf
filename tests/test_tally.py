"""Exact fixed-point accumulation: sums equal math.fsum, in any order."""
import math

import numpy as np
import pytest

from hpcmc.runtime.tally import (
    LSB_EXP,
    N_LIMBS,
    Tally,
    TallySpec,
    float_to_limbs,
    fx_add,
    fx_normalize,
    limbs_to_float,
    make_tallies,
    pack_all,
    score_history,
    unpack_all,
)


def _sum(values):
    acc = np.zeros((1, N_LIMBS), dtype=np.int64)
    for v in values:
        fx_add(acc[0], float(v))
    fx_normalize(acc)
    return acc


def test_sum_is_exact_over_forty_decades():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(20_000) * 10.0 ** rng.uniform(-25, 15, 20_000)
    acc = _sum(x)
    assert limbs_to_float(acc)[0] == math.fsum(x)


def test_sum_does_not_depend_on_order_or_grouping():
    rng = np.random.default_rng(2)
    x = rng.exponential(size=5_000) * 10.0 ** rng.uniform(-8, 8, 5_000)
    a = _sum(x)
    b = _sum(x[rng.permutation(x.size)])
    # grouping: partial sums of ragged groups, added as integers
    parts = [_sum(g) for g in np.split(x, [7, 100, 2_222, 4_000])]
    c = np.sum(parts, axis=0)
    fx_normalize(c)
    assert np.array_equal(a, b) and np.array_equal(a, c)


def test_rounding_to_the_quantum_and_cancellation():
    q = 2.0**LSB_EXP
    acc = _sum([q, 0.4 * q, -q])  # 0.4 q rounds to 0 per addition
    assert limbs_to_float(acc)[0] == 0.0
    acc = _sum([1e10, 1.0, -1e10])
    assert limbs_to_float(acc)[0] == 1.0


def test_out_of_range_scores_raise():
    acc = np.zeros(N_LIMBS, dtype=np.int64)
    with pytest.raises(OverflowError):
        fx_add(acc, 1e40)
    with pytest.raises(OverflowError):
        fx_add(acc, float("inf"))


def test_score_history_adds_value_and_square_once_per_history():
    spec = TallySpec("t", (4,))
    t = Tally(spec)
    hist = np.zeros(4)
    touched = np.zeros(8, dtype=np.int64)
    histories = [[(0, 1.5), (0, 0.5), (3, 2.0)], [(1, 3.0)]]
    for h in histories:
        for k, (i, v) in enumerate(h):
            hist[i] += v
            touched[k] = i
        score_history(t.sum_limbs, t.sum_sq_limbs, hist, touched, len(h))
    t.n = 2
    assert not hist.any()
    r = t.result()
    assert np.array_equal(r.sum, [2.0, 3.0, 0.0, 2.0])
    assert np.array_equal(r.sum_sq, [4.0, 9.0, 0.0, 4.0])
    # standard error of the mean of per-history totals
    x0 = np.array([2.0, 0.0])
    assert r.std[0] == pytest.approx(np.std(x0, ddof=1) / np.sqrt(2))


def test_pack_unpack_round_trip():
    specs = [TallySpec("a", (3,)), TallySpec("b", (2, 2))]
    tallies = make_tallies(specs)
    tallies["a"].sum_limbs[:] = float_to_limbs(np.array([1.0, -2.5, 3e-30]))
    tallies["b"].n = 17
    buf = pack_all(tallies)
    other = make_tallies(specs)
    unpack_all(other, buf)
    assert np.array_equal(pack_all(other), buf)
    with pytest.raises(ValueError, match="expected"):
        unpack_all(other, buf[:-1])


def test_spec_validation_names_the_value():
    with pytest.raises(ValueError, match="shape"):
        TallySpec("x", (0,))
    with pytest.raises(ValueError, match="'a/b'"):
        TallySpec("a/b", (1,))
