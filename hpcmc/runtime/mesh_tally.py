"""Mesh tallies: dose grids of millions of voxels with exact per-history variance.

A dense :class:`~hpcmc.runtime.tally.Tally` costs ``2 × 10`` int64 limbs per bin and is reduced
whole every round; a 200³ grid would need 1.3 GB per rank. A :class:`MeshTally` keeps the same
exact fixed-point arithmetic (integer sums, so results do not depend on ranks, chunks or order)
in a compact form and reduces only what a round touched.

Storage (per voxel, ``L = spec.n_limbs`` limbs; default ``L = 4``, quantum ``2**-64``)
------------------------------------------------------------------------------------------
* ``sum``, ``sum_sq``: ``uint32[n, L]`` — the fixed-point sums Σx and Σx² in normalised form:
  limbs ``0..L−2`` are the unsigned 32-bit digits, limb ``L−1`` is the signed top digit (two's
  complement in 32 bits). ``S = q Σ_j d_j 2^(32 j)``; ``|S| < 2^(32 L − 1) q``. Every addition
  propagates its carry at once (ripple carry), so the rows stay normalised: 8 L bytes.
* scoring state, allocated only on ranks that run histories: ``scratch`` float64 (the current
  history's value in the voxel), ``last`` int32 (which history ``scratch`` belongs to: ``> 0``
  a history id, ``−1`` touched this round and folded, ``0`` untouched this round), ``touched``
  int32 (the voxels touched this round, in first-touch order): 16 bytes.

With ``L = 4`` that is 48 bytes per voxel on a worker and 32 on the master of a parallel run.

History-by-history scoring without clearing
-------------------------------------------
A kernel calls :func:`mesh_begin_history` once per history (it draws a new history id ``h``)
and :func:`mesh_score` for every deposit ``(v, x)``. If ``last[v] == h`` the deposit is added to
``scratch[v]``; otherwise the previous history's value ``y = scratch[v]`` is *folded* first —
``Σx += y``, ``Σx² += y²``, each rounded once to the quantum — and ``scratch[v] = x``. So the
per-history total of each voxel is squared exactly as the history-based standard error needs,
and no history pays for clearing the grid. :func:`mesh_flush` folds every pending value; the
runtime calls it at the end of a round and before a statepoint or a result (at chunk boundaries
every history is complete).

Round-end reduction
-------------------
A worker sends the master the touched voxels only, in blocks of at most
``BLOCK_VOXELS`` voxels: ``[count, final, index[count], sum rows, sum_sq rows]`` as one uint32
message; the master adds each row into its running sums with exact integer carries
(:func:`mesh_merge`), in whatever order blocks arrive — integer addition is associative, so
the result is bitwise identical for any number of ranks and any chunk size. Message buffers are
``(1 + 2 L) · 4 · BLOCK_VOXELS`` bytes, independent of the grid.

Errors
------
A score whose fixed-point value (or square, or a running sum) leaves ``±2**(lsb_exp + 32 L − 1)``
stops the scoring of that voxel and sets a status; :meth:`MeshTally.check` (called after each
chunk) raises ``OverflowError`` naming the tally, the voxel and the value. A voxel index outside
the grid is reported the same way.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

from hpcmc.runtime.comm import wait_message, wait_request
from hpcmc.runtime.fixed_point import FX_NOT_FINITE, FX_ZERO, LIMB_BITS, MASK_32, fx_split
from hpcmc.runtime.task import TallyResult

__all__ = [
    "BLOCK_VOXELS",
    "MeshTally",
    "cfx_add",
    "cfx_merge_row",
    "cfx_to_float",
    "mesh_begin_history",
    "mesh_score",
    "mesh_flush",
]

#: Voxels per reduction message.
BLOCK_VOXELS = 1 << 16

MESH_OK = 0
MESH_OUT_OF_RANGE = 1
MESH_NOT_FINITE = 2
MESH_BAD_VOXEL = 3
#: Largest history id before the pending values are flushed and the ids restart.
_MAX_HISTORY_ID = 2147483000

_MASK = MASK_32
_TOP_MIN = np.int64(-2147483648)
_TOP_MAX = np.int64(2147483647)
_TWO32 = np.int64(4294967296)

# Indices into the int64 counter array of the kernel state.
_C_TOUCHED = 0  # number of valid entries of ``touched``
_C_HISTORY = 1  # current history id
_C_STATUS = 2  # first error status (0 = none)
_C_LSB = 3  # lsb_exp


@nb.njit(cache=True)
def _top(rows, v, k):
    """Signed value of the 32-bit two's-complement top limb ``rows[v, k]``."""
    t = np.int64(rows[v, k])
    if t > _TOP_MAX:
        t -= _TWO32
    return t


@nb.njit(cache=True)
def cfx_add(rows, v, x, lsb_exp):
    """Add ``x``, rounded once to the quantum ``q = 2**lsb_exp``, to the compact row ``rows[v]``.

    ``x = m·2^e`` with the 53-bit integer mantissa ``M = m·2^53`` is placed at bit
    ``s = e − 53 − lsb_exp`` (rounded half-up when ``s < 0``) as three 32-bit parts
    ``p0 + p1 2^32 + p2 2^64`` starting at limb ``j = s // 32``; then
    ``d_k ← d_k ± p_(k−j) + c``, ``c = ⌊·/2^32⌋`` rippled up to the signed top limb.

    Parameters
    ----------
    rows : uint32[n, L]
        Normalised compact sums (see the module docstring).
    v : int
        Row (voxel) index.
    x : float
        The value  [tally units].
    lsb_exp : int
        Exponent of the quantum.

    Returns
    -------
    int
        ``MESH_OK``; ``MESH_NOT_FINITE``; ``MESH_OUT_OF_RANGE`` if the sum would leave
        ``±2^(32 L − 1) q`` (the row is then left partly updated; the run stops).
    """
    status, neg, shift, p0, p1, p2 = fx_split(x, lsb_exp)
    if status == FX_ZERO:
        return MESH_OK
    if status == FX_NOT_FINITE:
        return MESH_NOT_FINITE
    n_limbs = rows.shape[1]
    j = shift // LIMB_BITS
    if j >= n_limbs or (j + 1 >= n_limbs and p1 != 0) or (j + 2 >= n_limbs and p2 != 0):
        return MESH_OUT_OF_RANGE
    sign = np.int64(-1) if neg else np.int64(1)
    carry = np.int64(0)
    for k in range(j, n_limbs):
        d = k - j
        if d == 0:
            part = p0
        elif d == 1:
            part = p1
        elif d == 2:
            part = p2
        else:
            if carry == 0:
                break
            part = np.int64(0)
        if k < n_limbs - 1:
            t = np.int64(rows[v, k]) + sign * part + carry
            carry = t >> np.int64(32)
            rows[v, k] = np.uint32(t & _MASK)
        else:
            t = _top(rows, v, k) + sign * part + carry
            if t > _TOP_MAX or t < _TOP_MIN:
                return MESH_OUT_OF_RANGE
            rows[v, k] = np.uint32(t & _MASK)
    return MESH_OK


@nb.njit(cache=True)
def cfx_merge_row(rows, v, src):
    """``rows[v] += src`` exactly (both normalised compact rows); return a status.

    ``d_k ← d_k + s_k + c``, ``c = ⌊·/2^32⌋`` for ``k < L−1``; the signed top limbs add with the
    last carry and must stay in ``[−2^31, 2^31)`` (else ``MESH_OUT_OF_RANGE``).
    """
    n_limbs = rows.shape[1]
    carry = np.int64(0)
    for k in range(n_limbs - 1):
        t = np.int64(rows[v, k]) + np.int64(src[k]) + carry
        carry = t >> np.int64(32)
        rows[v, k] = np.uint32(t & _MASK)
    s_top = np.int64(src[n_limbs - 1])
    if s_top > _TOP_MAX:
        s_top -= _TWO32
    t = _top(rows, v, n_limbs - 1) + s_top + carry
    if t > _TOP_MAX or t < _TOP_MIN:
        return MESH_OUT_OF_RANGE
    rows[v, n_limbs - 1] = np.uint32(t & _MASK)
    return MESH_OK


@nb.njit(cache=True)
def cfx_to_float(rows, lsb_exp, out):
    """Correctly rounded float64 values of compact rows: ``out[i] = fl(S_i)``.

    ``|S|`` (two's complement negated) is cut to its top 64 bits ``m`` with every lower non-zero
    bit OR-ed into bit 0 (sticky), so the one rounding ``uint64 → float64`` (to nearest, ties to
    even) equals the correct rounding of ``S``; ``S = ±m · 2^(32 t + b − 64) q`` exactly up to
    the sticky bit, with ``t`` the top non-zero limb and ``b`` its bit length.
    """
    n_limbs = rows.shape[1]
    mag = np.zeros(n_limbs, dtype=np.int64)
    for i in range(rows.shape[0]):
        top = _top(rows, i, n_limbs - 1)
        neg = top < 0
        for k in range(n_limbs):
            mag[k] = np.int64(rows[i, k])
        if neg:  # |S| = ~S + 1 in L·32 bits
            carry = np.int64(1)
            for k in range(n_limbs):
                t = (mag[k] ^ _MASK) + carry
                carry = t >> np.int64(32)
                mag[k] = t & _MASK
        t_idx = -1
        for k in range(n_limbs - 1, -1, -1):
            if mag[k] != 0:
                t_idx = k
                break
        if t_idx < 0:
            out[i] = 0.0
            continue
        nb_top = 0
        w = mag[t_idx]
        while w != 0:
            nb_top += 1
            w >>= np.int64(1)
        m = np.uint64(mag[t_idx]) << np.uint64(64 - nb_top)
        sticky = False
        if t_idx >= 1:
            m |= np.uint64(mag[t_idx - 1]) << np.uint64(32 - nb_top)
        if t_idx >= 2:
            m |= np.uint64(mag[t_idx - 2]) >> np.uint64(nb_top)
            if nb_top < 32 and (mag[t_idx - 2] & ((np.int64(1) << np.int64(nb_top)) - 1)) != 0:
                sticky = True
            elif nb_top == 32 and mag[t_idx - 2] != 0:
                sticky = True
            for k in range(t_idx - 2):
                if mag[k] != 0:
                    sticky = True
        if sticky:
            m |= np.uint64(1)
        f = math.ldexp(float(m), 32 * t_idx + nb_top - 64 + lsb_exp)
        out[i] = -f if neg else f


@nb.njit(cache=True)
def _fold(m, v):
    """Fold ``scratch[v]`` (one complete history's value ``y``): ``Σx += y``, ``Σx² += y²``."""
    scratch, ctr, s1, s2, err = m[0], m[3], m[4], m[5], m[6]
    y = scratch[v]
    scratch[v] = 0.0
    if y == 0.0:
        return
    status = cfx_add(s1, v, y, ctr[_C_LSB])
    if status == MESH_OK:
        status = cfx_add(s2, v, y * y, ctr[_C_LSB])
    if status != MESH_OK and ctr[_C_STATUS] == MESH_OK:
        ctr[_C_STATUS] = status
        err[0] = y
        err[1] = v


@nb.njit(cache=True)
def mesh_flush(m):
    """Fold every pending per-history value (call only between histories).

    Parameters
    ----------
    m : tuple
        Kernel state of a :class:`MeshTally` (:meth:`MeshTally.kernel_args`).
    """
    last, touched, ctr = m[1], m[2], m[3]
    for k in range(ctr[_C_TOUCHED]):
        v = touched[k]
        if last[v] > 0:
            _fold(m, v)
            last[v] = -1
    ctr[_C_HISTORY] = 0


@nb.njit(cache=True)
def mesh_begin_history(m):
    """Start a new history: draw its id ``h = h + 1`` (flushing first when the ids run out)."""
    ctr = m[3]
    if ctr[_C_HISTORY] >= _MAX_HISTORY_ID:
        mesh_flush(m)
    ctr[_C_HISTORY] += 1


@nb.njit(cache=True)
def mesh_score(m, v, x):
    """Add the deposit ``x`` of the current history to voxel ``v`` (flat index).

    ``scratch[v] += x`` if voxel ``v`` already holds this history's value; otherwise the held
    value of an earlier history is folded into ``Σx``, ``Σx²`` and ``scratch[v] = x``.

    Parameters
    ----------
    m : tuple
        Kernel state (:meth:`MeshTally.kernel_args`).
    v : int
        Flat (C-order) voxel index, ``0 <= v < n_voxels``.
    x : float
        Deposit  [tally units, before ``spec.scale``].
    """
    scratch, last, touched, ctr, err = m[0], m[1], m[2], m[3], m[6]
    if v < 0 or v >= scratch.shape[0]:
        if ctr[_C_STATUS] == MESH_OK:
            ctr[_C_STATUS] = MESH_BAD_VOXEL
            err[0] = x
            err[1] = v
        return
    h = ctr[_C_HISTORY]
    lv = last[v]
    if lv == h:
        scratch[v] += x
        return
    if lv > 0:
        _fold(m, v)
    elif lv == 0:
        touched[ctr[_C_TOUCHED]] = v
        ctr[_C_TOUCHED] += 1
    scratch[v] = x
    last[v] = h


@nb.njit(cache=True)
def mesh_clear_touched(last, touched, n_touched, s1, s2):
    """Zero the sums and the marks of the ``n_touched`` voxels touched this round."""
    for k in range(n_touched):
        v = touched[k]
        last[v] = 0
        s1[v, :] = 0
        s2[v, :] = 0


@nb.njit(cache=True)
def mesh_gather(touched, start, count, s1, s2, buf):
    """Block message ``buf = [count, final, idx[count], Σx rows, Σx² rows]`` (uint32).

    ``final`` is left to the caller; returns the number of valid entries of ``buf``.
    """
    n_limbs = s1.shape[1]
    buf[0] = count
    pos_i = 2
    pos_1 = 2 + count
    pos_2 = 2 + count + count * n_limbs
    for k in range(count):
        v = touched[start + k]
        buf[pos_i + k] = v
        for j in range(n_limbs):
            buf[pos_1 + k * n_limbs + j] = s1[v, j]
            buf[pos_2 + k * n_limbs + j] = s2[v, j]
    return pos_2 + count * n_limbs


@nb.njit(cache=True)
def mesh_merge(s1, s2, buf):
    """Add a block message (:func:`mesh_gather`) into the sums; return ``(status, voxel)``."""
    n_limbs = s1.shape[1]
    count = np.int64(buf[0])
    pos_1 = 2 + count
    pos_2 = 2 + count + count * n_limbs
    for k in range(count):
        v = np.int64(buf[2 + k])
        if v >= s1.shape[0]:
            return MESH_BAD_VOXEL, v
        status = cfx_merge_row(s1, v, buf[pos_1 + k * n_limbs: pos_1 + (k + 1) * n_limbs])
        if status == MESH_OK:
            status = cfx_merge_row(s2, v, buf[pos_2 + k * n_limbs: pos_2 + (k + 1) * n_limbs])
        if status != MESH_OK:
            return status, v
    return MESH_OK, np.int64(-1)


class MeshTally:
    """Raw sums of one mesh tally on one rank (``spec.kind == "mesh"``).

    The same interface as :class:`~hpcmc.runtime.tally.Tally` for the runtime (``n``,
    ``normalize``, ``zero``, ``pack``/``unpack`` of the dense part, ``result``) plus the sparse
    round reduction (:meth:`send_round`, :meth:`receive_round`) and the full sums for
    statepoints (:meth:`state_arrays`, :meth:`set_state_arrays`).

    Kernels get :meth:`kernel_args` and call :func:`mesh_begin_history` / :func:`mesh_score`.
    """

    def __init__(self, spec):
        if spec.kind != "mesh":
            raise ValueError(f"tally {spec.name!r}: MeshTally holds mesh tallies, got kind {spec.kind!r}")
        n = spec.n_bins
        if n >= 2**31:
            raise ValueError(f"tally {spec.name!r}: a mesh tally holds fewer than 2**31 voxels, got {n}")
        self.spec = spec
        self.n = 0
        self.sum = np.zeros((n, spec.n_limbs), dtype=np.uint32)
        self.sum_sq = np.zeros((n, spec.n_limbs), dtype=np.uint32)
        self._state = None  # scoring arrays, allocated by kernel_args()
        self._only_touched = True  # non-zero rows are all in the touched list
        self._buf = None
        self._sorted_n = 0  # length of the touched list when it was last sorted

    # -- kernel side ------------------------------------------------------------------------
    def kernel_args(self) -> tuple:
        """The state tuple the numba scoring kernels take (allocated on first use).

        ``(scratch f8[n], last i4[n], touched i4[n], counters i8[4], sum u4[n, L],
        sum_sq u4[n, L], error f8[2])``.
        """
        if self._state is None:
            n = self.spec.n_bins
            ctr = np.zeros(4, dtype=np.int64)
            ctr[_C_LSB] = self.spec.lsb_exp
            self._state = (np.zeros(n), np.zeros(n, dtype=np.int32), np.zeros(n, dtype=np.int32), ctr,
                           self.sum, self.sum_sq, np.zeros(2))
        return self._state

    @property
    def n_touched(self) -> int:
        """Voxels touched since the last :meth:`zero` on this rank."""
        return 0 if self._state is None else int(self._state[3][_C_TOUCHED])

    def nbytes(self) -> int:
        """Bytes of all arrays this tally holds (sums, scoring state, message buffer)."""
        arrays = [self.sum, self.sum_sq] + (list(self._state) if self._state is not None else [])
        if self._buf is not None:
            arrays.append(self._buf)
        unique = {id(a): a for a in arrays}  # the state tuple holds the sums too
        return int(sum(a.nbytes for a in unique.values()))

    def flush(self) -> None:
        """Fold pending per-history values (between histories only).

        The touched list is sorted first (its order is free: ``last`` holds history ids, not
        list positions), so the fold, the round's messages and the master's merge walk the
        grid in ascending order — 2–8× faster than first-touch order on a 128³ grid.
        """
        if self._state is not None:
            n_t = self.n_touched
            if n_t != self._sorted_n:
                self._state[2][:n_t].sort()
                self._sorted_n = n_t
            mesh_flush(self._state)
        self.check()

    def check(self) -> None:
        """Raise ``OverflowError``/``IndexError`` naming the tally if a kernel reported an error."""
        if self._state is None:
            return
        ctr, err = self._state[3], self._state[6]
        status = int(ctr[_C_STATUS])
        if status == MESH_OK:
            return
        value, voxel = float(err[0]), int(err[1])
        spec = self.spec
        if status == MESH_BAD_VOXEL:
            raise IndexError(f"tally {spec.name!r}: voxel index {voxel} outside the mesh of {spec.n_bins} voxels "
                             f"(shape {spec.shape}), score {value!r}")
        what = "is not finite" if status == MESH_NOT_FINITE else (
            f"or its square or the running sum leaves the fixed-point range ±2**{self.range_exp} "
            f"(n_limbs={spec.n_limbs}, lsb_exp={spec.lsb_exp}); choose more limbs or a larger lsb_exp, "
            "or score in smaller units and use the tally's scale")
        raise OverflowError(f"tally {spec.name!r}: per-history value {value!r} in voxel {voxel} {what}")

    @property
    def range_exp(self) -> int:
        """Sums hold ``|S| < 2**range_exp``."""
        return self.spec.lsb_exp + LIMB_BITS * self.spec.n_limbs - 1

    # -- raw-sum algebra (runtime interface) ------------------------------------------------
    def normalize(self) -> None:
        """Rows are always normalised; report kernel errors (called after every chunk)."""
        self.check()

    def zero(self) -> None:
        """Zero the sums, ``n`` and the round's touched list."""
        if self._state is not None:
            self.flush()
            ctr = self._state[3]
            if self._only_touched:
                mesh_clear_touched(self._state[1], self._state[2], ctr[_C_TOUCHED], self.sum, self.sum_sq)
            else:
                self._state[1][:] = 0
            ctr[_C_TOUCHED] = 0
        if not self._only_touched:  # merged or resumed sums: clear them all
            self.sum[:] = 0
            self.sum_sq[:] = 0
        self._only_touched = True
        self._sorted_n = 0
        self.n = 0

    def pack(self) -> np.ndarray:
        """The dense part of the raw sums (``[n]``); the grid travels with :meth:`send_round`."""
        self.flush()
        return np.array([self.n], dtype=np.int64)

    def unpack(self, buf: np.ndarray) -> None:
        self.n = int(buf[0])

    @property
    def pack_size(self) -> int:
        return 1

    def add_packed(self, buf: np.ndarray) -> None:
        """Add the dense part of a reduced round (its history count)."""
        self.n += int(buf[0])

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The exact sums (flushed) for a statepoint: ``{"sum": u4[n, L], "sum_sq": u4[n, L]}``."""
        self.flush()
        return {"sum": self.sum, "sum_sq": self.sum_sq}

    def set_state_arrays(self, arrays) -> None:
        """Set the sums from :meth:`state_arrays` of a statepoint (same spec)."""
        for key, dst in (("sum", self.sum), ("sum_sq", self.sum_sq)):
            src = np.asarray(arrays[key])
            if src.shape != dst.shape or src.dtype != dst.dtype:
                raise ValueError(f"tally {self.spec.name!r}: statepoint {key} has shape {src.shape} and dtype "
                                 f"{src.dtype}, expected {dst.shape} {dst.dtype}")
            dst[:] = src
        self._only_touched = False

    # -- round reduction -------------------------------------------------------------------
    def _block_buffer(self) -> np.ndarray:
        if self._buf is None:
            self._buf = np.zeros(2 + BLOCK_VOXELS * (1 + 2 * self.spec.n_limbs), dtype=np.uint32)
        return self._buf

    def send_round(self, comm, dest: int, tag: int) -> int:
        """Send this round's touched voxels to ``dest`` in blocks (after :meth:`flush`).

        Returns the number of voxels sent. The last block carries ``final = 1`` (an empty
        round sends one empty final block).
        """
        self.flush()
        buf = self._block_buffer()
        n_t = self.n_touched
        touched = self._state[2] if self._state is not None else np.zeros(0, dtype=np.int32)
        start = 0
        while True:
            count = min(BLOCK_VOXELS, n_t - start)
            size = mesh_gather(touched, start, count, self.sum, self.sum_sq, buf)
            start += count
            buf[1] = 1 if start >= n_t else 0
            wait_request(comm.Isend(buf[:size], dest=dest, tag=tag))
            if start >= n_t:
                return n_t

    def receive_round(self, comm, n_senders: int, tag: int) -> None:
        """Merge the blocks of ``n_senders`` ranks (:meth:`send_round`) into these sums, exactly."""
        from mpi4py import MPI  # only under a launcher (see hpcmc.runtime.comm)

        buf = self._block_buffer()
        done = 0
        while done < n_senders:
            status = wait_message(comm, MPI.ANY_SOURCE, tag)
            source = status.Get_source()
            count = status.Get_count(MPI.UINT32_T)
            comm.Recv(buf[:count], source=source, tag=tag)
            err, voxel = mesh_merge(self.sum, self.sum_sq, buf[:count])
            if err != MESH_OK:
                raise OverflowError(
                    f"tally {self.spec.name!r}: the reduced sums of voxel {voxel} leave the fixed-point range "
                    f"±2**{self.range_exp} (n_limbs={self.spec.n_limbs}, lsb_exp={self.spec.lsb_exp}); choose more "
                    "limbs or a larger lsb_exp")
            done += int(buf[1])
        self._only_touched = False

    # -- statistics ------------------------------------------------------------------------
    def result(self) -> TallyResult:
        """Per-history mean and its standard error, as :meth:`hpcmc.runtime.tally.Tally.result`.

        ``mean = S1/n``; ``std = sqrt(max(S2/n − mean², 0)/(n − 1))``.
        """
        self.flush()
        shape = self.spec.shape
        s1 = np.empty(self.spec.n_bins)
        s2 = np.empty(self.spec.n_bins)
        cfx_to_float(self.sum, self.spec.lsb_exp, s1)
        cfx_to_float(self.sum_sq, self.spec.lsb_exp, s2)
        s1 = s1.reshape(shape)
        s2 = s2.reshape(shape)
        if self.spec.scale is not None:
            s1 *= self.spec.scale
            s2 *= self.spec.scale**2
        n = self.n
        # The dense tally's formula, evaluated in place (the same IEEE operations in the same
        # order, so the same bits) to keep the master's peak memory low on large grids.
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s1 / n if n > 0 else np.full(shape, np.nan)
            if n > 1:
                std = s2 / n
                std -= mean * mean
                np.maximum(std, 0.0, out=std)
                std /= n - 1
                np.sqrt(std, out=std)
            else:
                std = np.full(shape, np.nan)
        return TallyResult(
            name=self.spec.name,
            unit=self.spec.unit,
            mean=mean,
            std=std,
            n=n,
            edges={k: np.asarray(v, dtype=float) for k, v in self.spec.edges.items()},
            sum=s1,
            sum_sq=s2,
        )
