"""Tallies with exact, order-independent accumulation.

Why fixed point
---------------
Floating-point addition is not associative, so a sum over histories depends on how the
histories were split over chunks and ranks. hpcmc instead adds every per-history score ``x``
(and its square) into a *fixed-point* accumulator: ``x`` is rounded once, per history, to the
nearest multiple of ``2**LSB_EXP`` and added as an integer. Integer addition is associative,
so the reduced sums — and therefore the means and standard errors derived from them — are
bitwise identical for any number of ranks, any chunk size and any order of reduction.

Representation
--------------
Each bin holds ``N_LIMBS`` int64 "limbs" of ``LIMB_BITS = 32`` bits; limb ``j`` has weight
``2**(LSB_EXP + 32 j)``. The value range is ``2**LSB_EXP ≈ 3.7e-68`` (the quantum) up to
``2**(LSB_EXP + 32 N_LIMBS - 1) ≈ 4e28``; a score above it raises. A score's 53-bit mantissa
touches at most three limbs, so one addition costs a few integer operations. Limbs are
allowed to grow past 32 bits between normalisations (each int64 limb absorbs > 5×10⁸
additions); :func:`fx_normalize` propagates carries so that all limbs but the top one lie in
``[0, 2**32)``, which makes the representation unique. Reduction across ranks is an integer
``MPI_SUM`` over the limbs followed by normalisation; conversion to float uses Python's
arbitrary-precision integers and is correctly rounded.

Per history, kernels add their scores into a float scratch array and call
:func:`score_history` once at the end of the history, which adds ``x`` and ``x**2`` for the
bins the history touched and clears them. ``sum_sq`` is therefore a sum over histories of the
square of the history's total score, as the standard error of a history-based estimator needs.
"""
from __future__ import annotations

import dataclasses
import math

import numba as nb
import numpy as np

from hpcmc.runtime.task import TallyResult

__all__ = [
    "LIMB_BITS",
    "N_LIMBS",
    "LSB_EXP",
    "MAX_CHUNK_HISTORIES",
    "TallySpec",
    "Tally",
    "fx_add",
    "fx_normalize",
    "score_history",
    "limbs_to_float",
    "float_to_limbs",
]

LIMB_BITS = 32
N_LIMBS = 10
LSB_EXP = -224
#: Histories between two normalisations must stay below this (int64 limb head-room).
MAX_CHUNK_HISTORIES = 100_000_000

_MASK = np.int64(0xFFFFFFFF)
_TOTAL_BITS = LIMB_BITS * N_LIMBS


@nb.njit(cache=True)
def fx_add(acc, x):
    """Add ``x`` to the fixed-point accumulator ``acc`` (int64[N_LIMBS]), rounding once.

    ``x = m·2^e`` (``math.frexp``) with the 53-bit integer mantissa ``M = m·2^53``; ``M`` is
    placed at bit ``e − 53 − LSB_EXP`` of the accumulator, rounded half-up to the quantum
    ``2^LSB_EXP`` when it falls below it. Negative ``x`` subtract.
    """
    if x == 0.0:
        return
    if not math.isfinite(x):
        raise OverflowError("tally score is not finite")
    neg = x < 0.0
    ax = -x if neg else x
    m, e = math.frexp(ax)
    big_m = np.int64(m * 9007199254740992.0)  # m · 2**53, exact
    shift = e - 53 - LSB_EXP
    if shift < 0:
        drop = -shift
        if drop > 54:
            return  # below half a quantum: rounds to zero
        big_m = (big_m + (np.int64(1) << np.int64(drop - 1))) >> np.int64(drop)
        shift = 0
    if shift + 54 > _TOTAL_BITS - 1:
        raise OverflowError("tally score out of the fixed-point range (|x| >= 2**(LSB_EXP + 32 N_LIMBS - 55))")
    j = shift // LIMB_BITS
    o = np.int64(shift % LIMB_BITS)
    lo = big_m & _MASK
    hi = big_m >> np.int64(32)
    a = lo << o
    b = hi << o
    p0 = a & _MASK
    p1 = (a >> np.int64(32)) + (b & _MASK)
    p2 = b >> np.int64(32)
    if neg:
        acc[j] -= p0
        acc[j + 1] -= p1
        acc[j + 2] -= p2
    else:
        acc[j] += p0
        acc[j + 1] += p1
        acc[j + 2] += p2


@nb.njit(cache=True)
def fx_normalize(acc2d):
    """Propagate carries so limbs ``0..N−2`` of every row lie in ``[0, 2^32)`` (unique form).

    ``c = limb >> 32`` (arithmetic shift, floor division); ``limb −= c·2^32``; ``next += c``.
    """
    for i in range(acc2d.shape[0]):
        for j in range(acc2d.shape[1] - 1):
            c = acc2d[i, j] >> np.int64(32)
            acc2d[i, j] -= c << np.int64(32)
            acc2d[i, j + 1] += c


@nb.njit(cache=True)
def score_history(sum_limbs, sum_sq_limbs, hist, touched, n_touched):
    """End of one history: add ``x`` and ``x²`` of each touched bin, then clear the scratch.

    Parameters
    ----------
    sum_limbs, sum_sq_limbs : int64[n_bins, N_LIMBS]
        Accumulators of Σx and Σx² over histories.
    hist : float64[n_bins]
        The history's score per bin (flattened tally); zeroed on return for touched bins.
    touched : int64[:]
        Indices of bins the history scored in (duplicates allowed).
    n_touched : int
        How many entries of ``touched`` are valid.
    """
    for k in range(n_touched):
        i = touched[k]
        x = hist[i]
        if x != 0.0:
            fx_add(sum_limbs[i], x)
            fx_add(sum_sq_limbs[i], x * x)
            hist[i] = 0.0


def limbs_to_float(limbs: np.ndarray) -> np.ndarray:
    """Correctly rounded float64 values of fixed-point accumulators ``(..., N_LIMBS)``."""
    limbs = np.asarray(limbs, dtype=np.int64)
    flat = limbs.reshape(-1, limbs.shape[-1])
    out = np.empty(flat.shape[0])
    for i, row in enumerate(flat):
        total = 0
        for j in range(row.shape[0] - 1, -1, -1):
            total = (total << LIMB_BITS) + int(row[j])
        # Exact integer → float (correctly rounded), then an exact power-of-two scaling.
        out[i] = math.ldexp(float(total), LSB_EXP) if total else 0.0
    return out.reshape(limbs.shape[:-1])


def float_to_limbs(values: np.ndarray) -> np.ndarray:
    """Fixed-point accumulators holding ``values`` (used by tests and statepoint tools)."""
    values = np.asarray(values, dtype=np.float64)
    acc = np.zeros(values.shape + (N_LIMBS,), dtype=np.int64)
    flat_acc = acc.reshape(-1, N_LIMBS)
    for i, x in enumerate(values.ravel()):
        fx_add(flat_acc[i], float(x))
    fx_normalize(flat_acc)
    return acc


@dataclasses.dataclass(frozen=True)
class TallySpec:
    """Static description of a tally: what a problem scores.

    Parameters
    ----------
    name : str
        Tally name, a valid HDF5 group name (``"cluster_dose"``).
    shape : tuple of int
        Bin shape of the tally.
    unit : str
        Unit of one history's score, e.g. ``"Gy cm2"`` or ``"1"``.
    edges : dict[str, ndarray]
        Bin edges per axis, keyed by axis name with its unit (``"r_nm"``); may be empty.
    description : str
        One line for the results file and the plots.
    scale : ndarray, optional
        Per-bin factor from the scored quantity to the reported one (shape ``shape``): kernels
        score in natural counting units (e.g. clusters per shell) and :meth:`Tally.result`
        reports ``scale · mean`` etc. in ``unit`` (e.g. clusters per kg). Keeps scores well
        inside the fixed-point range and the sums exact.
    """

    name: str
    shape: tuple[int, ...]
    unit: str = "1"
    edges: dict = dataclasses.field(default_factory=dict)
    description: str = ""
    scale: object = None

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise ValueError(f"tally name must be non-empty and contain no '/', got {self.name!r}")
        shape = tuple(int(s) for s in self.shape)
        if any(s < 1 for s in shape):
            raise ValueError(f"tally {self.name!r}: shape entries must be >= 1, got {shape}")
        object.__setattr__(self, "shape", shape)
        if self.scale is not None:
            scale = np.broadcast_to(np.asarray(self.scale, dtype=float), shape).copy()
            if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
                raise ValueError(f"tally {self.name!r}: scale must be finite and > 0")
            object.__setattr__(self, "scale", scale)

    @property
    def n_bins(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


class Tally:
    """Raw sums of one tally on one rank: ``sum``, ``sum_sq`` (fixed point) and ``n``.

    Kernels receive ``sum_limbs`` and ``sum_sq_limbs`` (``int64[n_bins, N_LIMBS]``) and add
    to them with :func:`score_history`; the Python side adds the number of histories to
    ``n``. Everything else derives from these three.
    """

    def __init__(self, spec: TallySpec):
        self.spec = spec
        self.sum_limbs = np.zeros((spec.n_bins, N_LIMBS), dtype=np.int64)
        self.sum_sq_limbs = np.zeros((spec.n_bins, N_LIMBS), dtype=np.int64)
        self.n = 0

    # -- raw-sum algebra -------------------------------------------------------------
    def zero(self) -> None:
        self.sum_limbs[:] = 0
        self.sum_sq_limbs[:] = 0
        self.n = 0

    def normalize(self) -> None:
        fx_normalize(self.sum_limbs)
        fx_normalize(self.sum_sq_limbs)

    def add(self, other: "Tally") -> None:
        """Add another tally's raw sums (exact)."""
        if other.spec.name != self.spec.name or other.spec.n_bins != self.spec.n_bins:
            raise ValueError(f"cannot add tally {other.spec.name!r} to {self.spec.name!r}")
        self.sum_limbs += other.sum_limbs
        self.sum_sq_limbs += other.sum_sq_limbs
        self.n += other.n
        self.normalize()

    def pack(self) -> np.ndarray:
        """Raw sums as one flat int64 buffer (for MPI reductions and statepoints)."""
        self.normalize()
        return np.concatenate([self.sum_limbs.ravel(), self.sum_sq_limbs.ravel(), np.array([self.n], np.int64)])

    def unpack(self, buf: np.ndarray) -> None:
        """Set the raw sums from a buffer made by :meth:`pack` (possibly summed over ranks)."""
        k = self.sum_limbs.size
        self.sum_limbs[:] = buf[:k].reshape(self.sum_limbs.shape)
        self.sum_sq_limbs[:] = buf[k : 2 * k].reshape(self.sum_sq_limbs.shape)
        self.n = int(buf[2 * k])
        self.normalize()

    @property
    def pack_size(self) -> int:
        return 2 * self.sum_limbs.size + 1

    # -- statistics --------------------------------------------------------------------
    def result(self) -> TallyResult:
        """Per-history mean and its standard error (in ``spec.unit``, after ``spec.scale``).

        ``mean = S1/n``; ``std = sqrt(max(S2/n − mean², 0)/(n − 1))`` (standard error of the
        mean; NaN for n < 2).
        """
        self.normalize()
        s1 = limbs_to_float(self.sum_limbs).reshape(self.spec.shape)
        s2 = limbs_to_float(self.sum_sq_limbs).reshape(self.spec.shape)
        if self.spec.scale is not None:
            s1 = s1 * self.spec.scale
            s2 = s2 * self.spec.scale**2
        n = self.n
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s1 / n if n > 0 else np.full(self.spec.shape, np.nan)
            if n > 1:
                var = np.maximum(s2 / n - mean * mean, 0.0) / (n - 1)
                std = np.sqrt(var)
            else:
                std = np.full(self.spec.shape, np.nan)
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


def make_tallies(specs) -> dict[str, Tally]:
    """A fresh, zeroed :class:`Tally` per spec, keyed by name (names must be unique)."""
    tallies: dict[str, Tally] = {}
    for spec in specs:
        if spec.name in tallies:
            raise ValueError(f"duplicate tally name {spec.name!r}")
        tallies[spec.name] = Tally(spec)
    return tallies


def pack_all(tallies: dict[str, Tally]) -> np.ndarray:
    """All tallies' raw sums in one buffer, in name order."""
    return np.concatenate([tallies[k].pack() for k in sorted(tallies)])


def unpack_all(tallies: dict[str, Tally], buf: np.ndarray) -> None:
    """Inverse of :func:`pack_all`."""
    expected = sum(t.pack_size for t in tallies.values())
    if buf.size != expected:
        raise ValueError(f"tally buffer has {buf.size} entries, expected {expected}")
    pos = 0
    for k in sorted(tallies):
        size = tallies[k].pack_size
        tallies[k].unpack(buf[pos : pos + size])
        pos += size
