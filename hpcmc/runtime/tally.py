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
``2**(LSB_EXP + 32 N_LIMBS - 1) ≈ 4e28``; a score or a sum beyond it raises. A score's 53-bit mantissa
touches at most three limbs, so one addition costs a few integer operations. Limbs are
allowed to grow past 32 bits between normalisations (each int64 limb absorbs > 5×10⁸
additions); :func:`fx_normalize` propagates carries so that all limbs but the top one lie in
``[0, 2**32)``, which makes the representation unique. Reduction across ranks is an integer
``MPI_SUM`` over the limbs followed by normalisation; conversion to float uses Python's
arbitrary-precision integers and is correctly rounded.

Per-tally precision
-------------------
Each :class:`TallySpec` may choose its own ``n_limbs`` (``L``, 3 … 32) and ``lsb_exp``
(``q = 2**lsb_exp``, the quantum). The default (``L = 10``, ``q = 2**-224``) is the one above.
A choice gives

* resolution: every per-history score ``x`` (and ``x**2``) is rounded once to a multiple of
  ``q``, an absolute error ``<= q/2``; ``x`` is held exactly when it is a multiple of ``q``,
  which every double with ``|x| >= 2**(lsb_exp + 52)`` is;
* range: a reduced sum must satisfy ``|S| < 2**(lsb_exp + 32 L − 1)``; a single score of a
  dense tally ``|x| < 2**(lsb_exp + 32 L − 2)`` (its mantissa, placed as three limbs, must fit
  below the top one), of a mesh tally (:mod:`hpcmc.runtime.mesh_tally`) the sum's range.
  Outside it hpcmc raises ``OverflowError`` naming the value (kernels: :func:`fx_add`) or the
  tally and the value (sums, mesh tallies); nothing wraps silently.

``L = 10, lsb_exp = −224`` (default): quantum 3.7e−68, sums up to 4e28, scores up to 2e28.
``L = 4, lsb_exp = −64`` (mesh default, 32 bytes per bin for Σx and Σx² in compact form):
quantum 5.4e−20, scores and sums up to 9.2e18 — score in natural units (eV, counts) and
convert with ``TallySpec.scale``. ``L = 3, lsb_exp = −32``: quantum 2.3e−10, up to 9.2e18.

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

from hpcmc.runtime.fixed_point import FX_NOT_FINITE, FX_OK, FX_OUT_OF_RANGE, FX_ZERO, LIMB_BITS, MASK_32 as _MASK, fx_split
from hpcmc.runtime.mesh_tally import MeshTally
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
    "fx_add_at",
    "fx_split",
    "score_history_at",
    "raise_score_error",
    "fx_range_exp",
    "check_precision",
    "make_tallies",
    "mesh_names",
    "pack_all",
    "unpack_all",
    "MeshTally",
]

N_LIMBS = 10
LSB_EXP = -224
#: Histories between two normalisations must stay below this (int64 limb head-room).
MAX_CHUNK_HISTORIES = 100_000_000

#: ``TallySpec.kind`` values and their default ``(n_limbs, lsb_exp)``.
TALLY_KINDS = ("dense", "mesh")
DEFAULT_PRECISION = {"dense": (N_LIMBS, LSB_EXP), "mesh": (4, -64)}

@nb.njit(cache=True)
def fx_add_at(acc, x, lsb_exp):
    """Add ``x`` to the accumulator ``acc`` (int64[L]) of quantum ``2**lsb_exp``; return a status.

    ``x = m·2^e`` (``math.frexp``) with the 53-bit integer mantissa ``M = m·2^53``; ``M`` is
    placed at bit ``s = e − 53 − lsb_exp`` of the accumulator, rounded half-up to the quantum
    ``2^lsb_exp`` when ``s < 0``. Negative ``x`` subtract. ``L = acc.shape[0]``.

    Returns
    -------
    int
        ``FX_OK`` (0); ``FX_OUT_OF_RANGE`` (1) if ``s + 54 > 32 L − 1``, i.e.
        ``|x| >= 2**(lsb_exp + 32 L − 2)``; ``FX_NOT_FINITE`` (2). ``acc`` is unchanged unless 0.
    """
    status, neg, shift, p0, p1, p2 = fx_split(x, lsb_exp)
    if status != FX_OK:
        return FX_OK if status == FX_ZERO else status
    if shift + 54 > LIMB_BITS * acc.shape[0] - 1:
        return FX_OUT_OF_RANGE
    j = shift // LIMB_BITS
    if neg:
        acc[j] -= p0
        acc[j + 1] -= p1
        acc[j + 2] -= p2
    else:
        acc[j] += p0
        acc[j + 1] += p1
        acc[j + 2] += p2
    return FX_OK


@nb.njit(cache=True)
def fx_add(acc, x):
    """Add ``x`` to an accumulator of the default precision (int64[N_LIMBS], ``2**LSB_EXP``).

    See :func:`fx_add_at`; raises ``OverflowError`` (with the value) instead of a status. For
    a tally of another precision use :func:`fx_add_at` with its ``lsb_exp`` (or
    :func:`score_history_at`).
    """
    if acc.shape[0] != N_LIMBS:
        raise ValueError("fx_add takes default-precision accumulators (N_LIMBS limbs); use fx_add_at")
    status = fx_add_at(acc, x, LSB_EXP)
    if status == FX_NOT_FINITE:
        raise OverflowError("tally score is not finite:", x)
    if status == FX_OUT_OF_RANGE:
        raise OverflowError("tally score out of the fixed-point range (|x| >= 2**(LSB_EXP + 32 N_LIMBS - 2)):", x)


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
def fx_first_out_of_range(acc2d):
    """Index of the first normalised row whose top limb leaves ``[−2^31, 2^31)``, else −1.

    A normalised row holds ``S = Σ_j limb_j 2^(32 j) q`` with limbs ``0..L−2`` in
    ``[0, 2^32)``; ``|S| < 2^(32 L − 1) q`` iff the top limb lies in ``[−2^31, 2^31)``.
    """
    top = acc2d.shape[1] - 1
    for i in range(acc2d.shape[0]):
        v = acc2d[i, top]
        if v >= np.int64(2147483648) or v < np.int64(-2147483648):
            return i
    return -1


def fx_range_exp(n_limbs: int, lsb_exp: int) -> int:
    """``r`` such that fixed-point sums of ``(n_limbs, lsb_exp)`` hold ``|S| < 2**r``."""
    return lsb_exp + LIMB_BITS * n_limbs - 1


def check_precision(name: str, n_limbs: int, lsb_exp: int) -> None:
    """Raise ``ValueError`` naming the tally if ``(n_limbs, lsb_exp)`` is not usable.

    ``3 <= n_limbs <= 32`` (a score spans up to three limbs); the quantum and the largest
    sum must be normal float64 numbers: ``−1022 <= lsb_exp`` and ``fx_range_exp <= 1023``.
    """
    if not isinstance(n_limbs, (int, np.integer)) or isinstance(n_limbs, bool) or not 3 <= n_limbs <= 32:
        raise ValueError(f"tally {name!r}: n_limbs must be an integer in [3, 32], got {n_limbs!r}")
    if not isinstance(lsb_exp, (int, np.integer)) or isinstance(lsb_exp, bool) or lsb_exp < -1022:
        raise ValueError(f"tally {name!r}: lsb_exp must be an integer >= -1022, got {lsb_exp!r}")
    if fx_range_exp(int(n_limbs), int(lsb_exp)) > 1023:
        raise ValueError(f"tally {name!r}: lsb_exp + 32 n_limbs - 1 must be <= 1023 (float64 range), "
                         f"got lsb_exp={lsb_exp}, n_limbs={n_limbs}")


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


@nb.njit(cache=True)
def score_history_at(sum_limbs, sum_sq_limbs, hist, touched, n_touched, lsb_exp, error):
    """:func:`score_history` for any precision: returns a status instead of raising.

    Adds ``x`` and ``x²`` (quantum ``2**lsb_exp``) of each touched bin and clears the scratch.
    On the first failure (``FX_OUT_OF_RANGE``/``FX_NOT_FINITE``) it stops and sets
    ``error = [bin, x]``; the caller raises, naming the tally (see :func:`raise_score_error`).

    Parameters
    ----------
    sum_limbs, sum_sq_limbs : int64[n_bins, L]
    hist : float64[n_bins]
    touched : int64[:]
    n_touched : int
    lsb_exp : int
    error : float64[2]
        Out: failing bin and value.
    """
    for k in range(n_touched):
        i = touched[k]
        x = hist[i]
        if x != 0.0:
            status = fx_add_at(sum_limbs[i], x, lsb_exp)
            if status == FX_OK:
                status = fx_add_at(sum_sq_limbs[i], x * x, lsb_exp)
            if status != FX_OK:
                error[0] = i
                error[1] = x
                return status
            hist[i] = 0.0
    return FX_OK


def raise_score_error(spec, status: int, error) -> None:
    """Raise ``OverflowError`` naming the tally, the bin and the value of a failed score."""
    if status == FX_OK:
        return
    what = "is not finite" if status == FX_NOT_FINITE else (
        f"(or its square) is outside the fixed-point range of a score, |x| < 2**{spec.lsb_exp + LIMB_BITS * spec.n_limbs - 2} "
        f"(n_limbs={spec.n_limbs}, lsb_exp={spec.lsb_exp}); choose more limbs or a larger lsb_exp")
    raise OverflowError(f"tally {spec.name!r}: score {float(error[1])!r} in bin {int(error[0])} {what}")


def limbs_to_float(limbs: np.ndarray, lsb_exp: int = LSB_EXP) -> np.ndarray:
    """Correctly rounded float64 values of fixed-point accumulators ``(..., L)`` of quantum ``2**lsb_exp``."""
    limbs = np.asarray(limbs, dtype=np.int64)
    flat = limbs.reshape(-1, limbs.shape[-1])
    out = np.empty(flat.shape[0])
    for i, row in enumerate(flat):
        total = 0
        for j in range(row.shape[0] - 1, -1, -1):
            total = (total << LIMB_BITS) + int(row[j])
        # Exact integer → float (correctly rounded), then an exact power-of-two scaling.
        out[i] = math.ldexp(float(total), lsb_exp) if total else 0.0
    return out.reshape(limbs.shape[:-1])


def float_to_limbs(values: np.ndarray, n_limbs: int = N_LIMBS, lsb_exp: int = LSB_EXP) -> np.ndarray:
    """Fixed-point accumulators holding ``values`` (used by tests and statepoint tools)."""
    values = np.asarray(values, dtype=np.float64)
    acc = np.zeros(values.shape + (n_limbs,), dtype=np.int64)
    flat_acc = acc.reshape(-1, n_limbs)
    for i, x in enumerate(values.ravel()):
        if fx_add_at(flat_acc[i], float(x), lsb_exp) != FX_OK:
            raise OverflowError(f"value {float(x)!r} outside the fixed-point range (n_limbs={n_limbs}, lsb_exp={lsb_exp})")
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
    kind : {"dense", "mesh"}
        ``"dense"``: a :class:`Tally` (kernels add with :func:`score_history`/:func:`fx_add`,
        the whole buffer is reduced every round). ``"mesh"``: a
        :class:`~hpcmc.runtime.mesh_tally.MeshTally` for large grids (history-by-history
        scoring without clearing, compact storage, only touched bins reduced).
    n_limbs : int, optional
        Limbs ``L`` of the fixed-point sums (3 … 32). Default ``N_LIMBS`` (10) for dense
        tallies, 4 for mesh tallies. See the module docstring for the range it gives.
    lsb_exp : int, optional
        Quantum ``2**lsb_exp`` of the sums. Default ``LSB_EXP`` (−224) for dense tallies, −64
        for mesh tallies.
    """

    name: str
    shape: tuple[int, ...]
    unit: str = "1"
    edges: dict = dataclasses.field(default_factory=dict)
    description: str = ""
    scale: object = None
    kind: str = "dense"
    n_limbs: object = None
    lsb_exp: object = None

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise ValueError(f"tally name must be non-empty and contain no '/', got {self.name!r}")
        shape = tuple(int(s) for s in self.shape)
        if any(s < 1 for s in shape):
            raise ValueError(f"tally {self.name!r}: shape entries must be >= 1, got {shape}")
        object.__setattr__(self, "shape", shape)
        if self.kind not in TALLY_KINDS:
            raise ValueError(f"tally {self.name!r}: kind must be one of {TALLY_KINDS}, got {self.kind!r}")
        n_limbs, lsb_exp = DEFAULT_PRECISION[self.kind]
        n_limbs = n_limbs if self.n_limbs is None else self.n_limbs
        lsb_exp = lsb_exp if self.lsb_exp is None else self.lsb_exp
        check_precision(self.name, n_limbs, lsb_exp)
        object.__setattr__(self, "n_limbs", int(n_limbs))
        object.__setattr__(self, "lsb_exp", int(lsb_exp))
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

    Kernels receive ``sum_limbs`` and ``sum_sq_limbs`` (``int64[n_bins, spec.n_limbs]``)
    and add to them with :func:`score_history` (default precision) or :func:`fx_add_at` with
    ``spec.lsb_exp``; the Python side adds the number of histories to ``n``. Everything else
    derives from these three.
    """

    def __init__(self, spec: TallySpec):
        if spec.kind != "dense":
            raise ValueError(f"tally {spec.name!r}: Tally holds dense tallies, got kind {spec.kind!r}")
        self.spec = spec
        self.sum_limbs = np.zeros((spec.n_bins, spec.n_limbs), dtype=np.int64)
        self.sum_sq_limbs = np.zeros((spec.n_bins, spec.n_limbs), dtype=np.int64)
        self.n = 0

    # -- raw-sum algebra -------------------------------------------------------------
    def zero(self) -> None:
        self.sum_limbs[:] = 0
        self.sum_sq_limbs[:] = 0
        self.n = 0

    def normalize(self) -> None:
        """Propagate carries; raise ``OverflowError`` naming the tally if a sum left the range."""
        fx_normalize(self.sum_limbs)
        fx_normalize(self.sum_sq_limbs)
        for what, acc in (("sum", self.sum_limbs), ("sum of squares", self.sum_sq_limbs)):
            i = fx_first_out_of_range(acc)
            if i >= 0:
                value = limbs_to_float(acc[i], self.spec.lsb_exp)
                raise OverflowError(
                    f"tally {self.spec.name!r}: {what} of bin {i} is {float(value):.6g}, outside the fixed-point "
                    f"range ±2**{fx_range_exp(self.spec.n_limbs, self.spec.lsb_exp)} (n_limbs={self.spec.n_limbs}, "
                    f"lsb_exp={self.spec.lsb_exp}); choose more limbs or a larger lsb_exp")

    def add(self, other: "Tally") -> None:
        """Add another tally's raw sums (exact)."""
        if other.spec.name != self.spec.name or other.spec.n_bins != self.spec.n_bins:
            raise ValueError(f"cannot add tally {other.spec.name!r} to {self.spec.name!r}")
        self.sum_limbs += other.sum_limbs
        self.sum_sq_limbs += other.sum_sq_limbs
        self.n += other.n
        self.normalize()

    def flush(self) -> None:
        """Nothing is pending between histories in a dense tally (interface of mesh tallies)."""

    def add_packed(self, buf: np.ndarray) -> None:
        """Add raw sums packed by :meth:`pack` (e.g. reduced over ranks), exactly."""
        other = Tally(self.spec)
        other.unpack(buf)
        self.add(other)

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
        s1 = limbs_to_float(self.sum_limbs, self.spec.lsb_exp).reshape(self.spec.shape)
        s2 = limbs_to_float(self.sum_sq_limbs, self.spec.lsb_exp).reshape(self.spec.shape)
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


def make_tallies(specs) -> dict:
    """A fresh, zeroed :class:`Tally` (or :class:`MeshTally` for ``kind="mesh"``) per spec, keyed by name.

    Names must be unique.
    """
    tallies: dict = {}
    for spec in specs:
        if spec.name in tallies:
            raise ValueError(f"duplicate tally name {spec.name!r}")
        tallies[spec.name] = MeshTally(spec) if spec.kind == "mesh" else Tally(spec)
    return tallies


def mesh_names(tallies: dict) -> list[str]:
    """Names of the mesh tallies, in name order (the order of their reduction messages)."""
    return [k for k in sorted(tallies) if isinstance(tallies[k], MeshTally)]


def pack_all(tallies: dict) -> np.ndarray:
    """All tallies' dense raw sums in one buffer, in name order.

    For a dense tally its limbs and ``n``; for a mesh tally only ``n`` (its grid is reduced by
    :meth:`MeshTally.send_round` and saved by :meth:`MeshTally.state_arrays`).
    """
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
