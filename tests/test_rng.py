"""Per-history random streams: reproducible, keyed, uniform, uncorrelated."""
import numba as nb
import numpy as np
from scipy import stats

from hpcmc.runtime.rng import new_state, rng_next, rng_seed, rng_uniform, stream_key


@nb.njit(cache=True)
def _first_draws(seed, first, n, stream):
    out = np.empty(n)
    st = np.zeros(2, dtype=np.uint64)
    for k in range(n):
        rng_seed(st, seed, first + k, stream)
        out[k] = rng_uniform(st)
    return out


@nb.njit(cache=True)
def _sequence(seed, history, stream, n):
    out = np.empty(n)
    st = np.zeros(2, dtype=np.uint64)
    rng_seed(st, seed, history, stream)
    for k in range(n):
        out[k] = rng_uniform(st)
    return out


def test_stream_key_is_stable_and_distinct():
    # BLAKE2b-64 of the name: fixed forever (statepoints and published seeds depend on it).
    assert stream_key("source") == stream_key("source")
    assert stream_key("source") != stream_key("transport")
    assert int(stream_key("source")) == int.from_bytes(__import__("hashlib").blake2b(b"source", digest_size=8).digest(), "little")


def test_same_key_same_numbers_other_key_other_numbers():
    s = stream_key("transport")
    a = _sequence(5, 123, s, 100)
    assert np.array_equal(a, _sequence(5, 123, s, 100))
    assert not np.array_equal(a, _sequence(5, 124, s, 100))
    assert not np.array_equal(a, _sequence(6, 123, s, 100))
    assert not np.array_equal(a, _sequence(5, 123, stream_key("source"), 100))


def test_uniform_within_a_stream():
    u = _sequence(1, 0, stream_key("transport"), 1_000_000)
    assert u.min() > 0.0 and u.max() < 1.0
    counts, _ = np.histogram(u, bins=100, range=(0, 1))
    assert stats.chisquare(counts).pvalue > 1e-4


def test_first_draws_across_histories_are_uniform_and_uncorrelated():
    u = _first_draws(42, 0, 1_000_000, stream_key("source"))
    counts, _ = np.histogram(u, bins=100, range=(0, 1))
    assert stats.chisquare(counts).pvalue > 1e-4
    # adjacent histories: lag-1 correlation consistent with zero (σ ≈ 1/sqrt(n) = 1e-3)
    r = np.corrcoef(u[:-1], u[1:])[0, 1]
    assert abs(r) < 5e-3


def test_rng_next_matches_reference_xoroshiro128pp():
    # Reference implementation in plain Python integers (Blackman & Vigna).
    st = new_state()
    rng_seed(st, 9, 10, 11)
    s0, s1 = int(st[0]), int(st[1])
    mask = (1 << 64) - 1
    rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & mask  # noqa: E731
    for _ in range(5):
        expected = (rotl((s0 + s1) & mask, 17) + s0) & mask
        assert int(rng_next(st)) == expected
        s1 ^= s0
        s0, s1 = rotl(s0, 49) ^ s1 ^ ((s1 << 21) & mask), rotl(s1, 28)
