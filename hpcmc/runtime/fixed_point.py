"""Exact fixed-point arithmetic shared by the dense and the mesh tallies.

A score ``x`` is rounded once to the quantum ``2**lsb_exp`` of its tally and added as 32-bit
parts into integer limbs, so sums are exact and independent of the order of addition — the
reason results are bitwise identical for any number of ranks and any chunking.
:func:`fx_split` is the one rounding rule; :mod:`hpcmc.runtime.tally` (int64 limbs with
deferred carries) and :mod:`hpcmc.runtime.mesh_tally` (compact uint32 rows, carried at once)
add its parts.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

__all__ = ["LIMB_BITS", "MASK_32", "FX_OK", "FX_OUT_OF_RANGE", "FX_NOT_FINITE", "FX_ZERO", "fx_split"]

#: Bits per limb.
LIMB_BITS = 32
#: The low 32 bits of an int64.
MASK_32 = np.int64(0xFFFFFFFF)
_MASK = MASK_32

FX_OK = 0
FX_OUT_OF_RANGE = 1
FX_NOT_FINITE = 2
FX_ZERO = 3  # x rounds to zero at the quantum (fx_split only)


@nb.njit(cache=True)
def fx_split(x, lsb_exp):
    """Split ``x`` into three 32-bit parts at the quantum ``2**lsb_exp``: the one rounding rule.

    ``x = m·2^e`` (``math.frexp``) with the 53-bit integer mantissa ``M = m·2^53`` sits at bit
    ``s = e − 53 − lsb_exp``; when ``s < 0``, ``M`` is rounded half-up to the quantum
    (``M ← ⌊(M + 2^(−s−1)) / 2^(−s)⌋``, ``s ← 0``). Then ``M·2^(s mod 32) = p0 + p1·2^32 +
    p2·2^64`` with ``0 ≤ p0, p1 < 2^32`` up to the carry in ``p1``, to be added at limb
    ``s // 32``. Dense accumulators (:func:`hpcmc.runtime.tally.fx_add_at`) and compact mesh rows
    (:func:`hpcmc.runtime.mesh_tally.cfx_add`) both use it, so a score rounds the same way in
    either.

    Returns
    -------
    tuple
        ``(status, negative, s, p0, p1, p2)`` with status ``FX_OK``, ``FX_ZERO`` (``x`` is 0 or
        rounds to 0) or ``FX_NOT_FINITE``.
    """
    zero = np.int64(0)
    if x == 0.0:
        return FX_ZERO, False, 0, zero, zero, zero
    if not math.isfinite(x):
        return FX_NOT_FINITE, False, 0, zero, zero, zero
    neg = x < 0.0
    ax = -x if neg else x
    m, e = math.frexp(ax)
    big_m = np.int64(m * 9007199254740992.0)  # m · 2**53, exact
    shift = e - 53 - lsb_exp
    if shift < 0:
        drop = -shift
        if drop > 54:
            return FX_ZERO, neg, 0, zero, zero, zero  # below half a quantum
        big_m = (big_m + (np.int64(1) << np.int64(drop - 1))) >> np.int64(drop)
        shift = 0
        if big_m == 0:
            return FX_ZERO, neg, 0, zero, zero, zero
    o = np.int64(shift % LIMB_BITS)
    a = (big_m & _MASK) << o
    b = (big_m >> np.int64(32)) << o
    return FX_OK, neg, shift, a & _MASK, (a >> np.int64(32)) + (b & _MASK), b >> np.int64(32)
