"""Per-history random-number streams keyed by ``(seed, history, stream)``.

Every history ``h`` of a task with seed ``s`` draws from its own generator whose state is a
hash of ``(s, h, stream)``, where ``stream`` is a named sub-stream (``"source"``,
``"transport"``, ``"cluster"``...). Which rank runs the history, in which chunk and in which
order, therefore cannot change a single random number: this is what makes tallies independent
of the rank count (together with the exact accumulation of :mod:`hpcmc.runtime.tally`).

Generator
---------
State initialisation: SplitMix64 finaliser (Steele, Lea & Flood, "Fast splittable
pseudorandom number generators", OOPSLA 2014) applied in sequence to the key words

    z0 = mix(seed),  z1 = mix(z0 ^ h),  z2 = mix(z1 ^ stream),
    state = (mix(z2 + γ), mix(z2 + 2γ)),  γ = 0x9E3779B97F4A7C15,

with ``mix(z) = z' ^ (z' >> 31)`` after the two multiply-xorshift steps of SplitMix64.
Sequence within a stream: xoroshiro128++ (Blackman & Vigna, "Scrambled linear pseudorandom
number generators", ACM TOMS 47 (2021) 36), period 2**128 - 1, which passes BigCrush and
PractRand. Distinct keys give states that are, for all practical purposes, independent
(128-bit hash outputs); no two histories share a stream.

Uniform variates are ``((x >> 11) + 0.5) * 2**-53`` and so lie strictly inside (0, 1): safe
for ``-log(u)``.

All kernels are ``numba.njit(cache=True)`` and take the state array (``uint64[2]``) as an
argument; nothing is global.
"""
from __future__ import annotations

import hashlib

import numba as nb
import numpy as np

__all__ = ["stream_key", "rng_seed", "rng_next", "rng_uniform", "new_state", "STATE_SIZE"]

STATE_SIZE = 2
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S49 = np.uint64(49)
_S21 = np.uint64(21)
_S28 = np.uint64(28)
_S17 = np.uint64(17)
_S64 = np.uint64(64)
_TWO_M53 = 2.0**-53


def stream_key(name: str) -> np.uint64:
    """Stable 64-bit key of a named sub-stream (BLAKE2b of the name).

    Parameters
    ----------
    name : str
        Sub-stream name, e.g. ``"source"``; the same name gives the same key on every
        platform and in every version.
    """
    if not name:
        raise ValueError("stream name must be a non-empty string, got ''")
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def new_state() -> np.ndarray:
    """An uninitialised generator state array (``uint64[2]``)."""
    return np.zeros(STATE_SIZE, dtype=np.uint64)


@nb.njit(cache=True, inline="always")
def _mix64(z):
    """SplitMix64 finaliser: z ← (z ^ z>>30)·M1; z ← (z ^ z>>27)·M2; z ^ z>>31."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@nb.njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << k) | (x >> (_S64 - k))


@nb.njit(cache=True)
def rng_seed(state, seed, history, stream):
    """Initialise ``state`` for history ``history`` of seed ``seed`` and sub-stream ``stream``.

    Parameters
    ----------
    state : uint64[2]
        Output: the generator state.
    seed, history, stream : uint64
        The key; see the module docstring for the hash.
    """
    z = _mix64(np.uint64(seed))
    z = _mix64(z ^ np.uint64(history))
    z = _mix64(z ^ np.uint64(stream))
    state[0] = _mix64(z + _GAMMA)
    state[1] = _mix64(z + _GAMMA + _GAMMA)
    if state[0] == 0 and state[1] == 0:  # the one forbidden state of xoroshiro128
        state[0] = _GAMMA


@nb.njit(cache=True)
def rng_next(state):
    """Next 64 random bits (xoroshiro128++): r = rotl(s0 + s1, 17) + s0."""
    s0 = state[0]
    s1 = state[1]
    result = _rotl(s0 + s1, _S17) + s0
    s1 ^= s0
    state[0] = _rotl(s0, _S49) ^ s1 ^ (s1 << _S21)
    state[1] = _rotl(s1, _S28)
    return result


@nb.njit(cache=True)
def rng_uniform(state):
    """Uniform variate in the open interval (0, 1): ``((x >> 11) + 0.5) · 2⁻⁵³``."""
    return ((rng_next(state) >> _S11) + 0.5) * _TWO_M53
