"""Photon energy spectra: X-ray tube spectra (spekpy), user files, O(1) alias sampling.

A :class:`Spectrum` is a set of energy bins ``[lo_eV, hi_eV]``  [eV] (a bin with
``lo = hi`` is a discrete line) with probabilities ``p_j`` (Σ p_j = 1, proportional to the
photon fluence in the bin). Sampling: bin j from Walker's alias table (Walker, ACM TOMS 3
(1977) 253; built with Vose's O(n) method, IEEE TSE 17 (1991) 972), then
``E = lo_j + ξ (hi_j − lo_j)`` — the fluence is taken flat within a bin.

Tube spectra come from SpekPy (Poludniowski et al., Med. Phys. 48 (2021) 3630; Bujila et al.,
Phys. Med. 75 (2020) 44): ``Spek(kvp, th=anode angle, dk, targ)`` with ``filter(material,
thickness_mm)`` per filtration layer; ``get_spectrum(flu=True, diff=True)`` gives the
differential fluence at bin mid-points, so ``p_j ∝ Φ_E(k_j) Δk``. The first half-value layer
(``get_hvl1``, mm Al) is stored with the spectrum. Built spectra are cached in
:func:`hpcmc.physics.photon_data.cache_dir` (npz keyed by the parameters and the SpekPy
version), because importing SpekPy alone takes about a second.

User files: two columns ``energy_keV fluence`` (whitespace or comma separated; ``#`` starts a
comment). ``per="bin"`` (default): the fluence is the number of photons in the bin centred at
the energy, bins end half-way to the neighbouring centres (the outer bins symmetric);
``per="keV"``: the fluence is per keV at the centre (multiplied by the bin width);
``per="line"``: discrete lines at exactly those energies.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import NamedTuple, Optional, Sequence, Tuple, Union

import numba as nb
import numpy as np

from hpcmc.physics.photon_data import cache_dir
from hpcmc.runtime.rng import rng_seed, rng_uniform, stream_key

__all__ = [
    "SpectrumTable", "Spectrum", "build_alias_table", "sample_alias", "sample_spectrum_eV", "tube_spectrum",
    "spectrum_from_file", "spectrum_from_arrays", "monoenergetic", "sample_spectrum_array",
]


class SpectrumTable(NamedTuple):
    """A spectrum's arrays as kernels take them (:attr:`Spectrum.table`).

    Attributes
    ----------
    lo_eV, hi_eV : float64[n]
        Bin bounds  [eV].
    alias_prob, alias_index : float64[n], int64[n]
        Walker alias table of the bin probabilities.
    """

    lo_eV: np.ndarray
    hi_eV: np.ndarray
    alias_prob: np.ndarray
    alias_index: np.ndarray


@dataclasses.dataclass(frozen=True)
class Spectrum:
    """A photon energy spectrum ready for sampling.

    Attributes
    ----------
    lo_eV, hi_eV : float64[n]
        Bin bounds  [eV] (``lo == hi``: a line).
    probability : float64[n]
        Probability of each bin (sums to 1).
    alias_prob, alias_index : float64[n], int64[n]
        Walker alias table of ``probability``.
    label : str
        Human-readable description (provenance).
    hvl_mm_al : float or None
        First half-value layer  [mm Al] (tube spectra).
    """

    lo_eV: np.ndarray
    hi_eV: np.ndarray
    probability: np.ndarray
    alias_prob: np.ndarray
    alias_index: np.ndarray
    label: str = ""
    hvl_mm_al: Optional[float] = None

    @property
    def table(self) -> SpectrumTable:
        """The arrays kernels sample from (:func:`sample_spectrum_eV`)."""
        return SpectrumTable(self.lo_eV, self.hi_eV, self.alias_prob, self.alias_index)

    @property
    def mean_energy_eV(self) -> float:
        """Mean photon energy  [eV]."""
        return float(np.sum(self.probability * 0.5 * (self.lo_eV + self.hi_eV)))

    @property
    def max_energy_eV(self) -> float:
        """Largest energy that can be sampled  [eV]."""
        return float(self.hi_eV[self.probability > 0].max())

    def sample(self, n: int, seed: int = 1, stream: str = "source") -> np.ndarray:
        """``n`` energies  [eV] drawn with hpcmc's per-history streams (history = index)."""
        return sample_spectrum_array(np.uint64(seed), int(n), stream_key(stream), self.lo_eV, self.hi_eV,
                                     self.alias_prob, self.alias_index)


def build_alias_table(weights) -> Tuple[np.ndarray, np.ndarray]:
    """Walker alias table of non-negative ``weights`` (Vose's method).

    Returns ``(prob, alias)``: draw ``j = ⌊nξ⌋``, keep j if the fractional part of ``nξ`` is
    below ``prob[j]``, else take ``alias[j]``. Then ``P(j) = w_j/Σw`` exactly (up to rounding).
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size == 0:
        raise ValueError("alias table weights must be a non-empty 1-d array")
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValueError("alias table weights must be finite and ≥ 0")
    total = w.sum()
    if not total > 0:
        raise ValueError("alias table weights must not all be zero")
    n = w.size
    scaled = w * (n / total)
    prob = np.ones(n)
    alias = np.arange(n, dtype=np.int64)
    small = [j for j in range(n) if scaled[j] < 1.0]
    large = [j for j in range(n) if scaled[j] >= 1.0]
    while small and large:
        s = small.pop()
        g = large.pop()
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] = (scaled[g] + scaled[s]) - 1.0
        (small if scaled[g] < 1.0 else large).append(g)
    for j in small + large:  # leftovers are 1 up to rounding
        prob[j] = 1.0
        alias[j] = j
    return prob, alias


@nb.njit(cache=True, inline="always")
def sample_alias(state, alias_prob, alias_index):
    """Bin index from a Walker alias table with one uniform: ``nξ = j + g``; j if g < prob[j]."""
    n = alias_prob.size
    v = rng_uniform(state) * n
    j = int(v)
    if j >= n:
        j = n - 1
    if v - j < alias_prob[j]:
        return j
    return alias_index[j]


@nb.njit(cache=True)
def sample_spectrum_eV(state, lo_eV, hi_eV, alias_prob, alias_index):
    """Photon energy  [eV]: alias-sampled bin j, then ``E = lo_j + ξ(hi_j − lo_j)``."""
    j = sample_alias(state, alias_prob, alias_index)
    return lo_eV[j] + rng_uniform(state) * (hi_eV[j] - lo_eV[j])


@nb.njit(cache=True)
def sample_spectrum_array(seed, n, stream, lo_eV, hi_eV, alias_prob, alias_index):
    """``n`` energies  [eV]; history h draws from ``rng_seed(state, seed, h, stream)``."""
    state = np.zeros(2, dtype=np.uint64)
    out = np.empty(n)
    for h in range(n):
        rng_seed(state, seed, h, stream)
        out[h] = sample_spectrum_eV(state, lo_eV, hi_eV, alias_prob, alias_index)
    return out


def spectrum_from_arrays(lo_eV, hi_eV, weights, label: str = "", hvl_mm_al: Optional[float] = None) -> Spectrum:
    """A :class:`Spectrum` from bin bounds  [eV] and non-negative weights (normalised here)."""
    lo = np.ascontiguousarray(lo_eV, dtype=np.float64)
    hi = np.ascontiguousarray(hi_eV, dtype=np.float64)
    w = np.ascontiguousarray(weights, dtype=np.float64)
    if not (lo.shape == hi.shape == w.shape and lo.ndim == 1 and lo.size > 0):
        raise ValueError("spectrum: lo_eV, hi_eV and weights must be 1-d arrays of equal, non-zero length")
    if np.any(~np.isfinite(lo)) or np.any(~np.isfinite(hi)) or np.any(lo <= 0) or np.any(hi < lo):
        raise ValueError("spectrum: bins must satisfy 0 < lo_eV ≤ hi_eV")
    prob, alias = build_alias_table(w)
    return Spectrum(lo, hi, w / w.sum(), prob, alias, label, hvl_mm_al)


def monoenergetic(energy_eV: float) -> Spectrum:
    """A single line at ``energy_eV``  [eV]."""
    e = float(energy_eV)
    if not e > 0:
        raise ValueError(f"monoenergetic: energy_eV must be > 0, got {energy_eV!r}")
    return spectrum_from_arrays([e], [e], [1.0], label=f"mono {e:g} eV")


# -- SpekPy tube spectra -------------------------------------------------------------------

def _spectrum_cache_dir() -> Path:
    return cache_dir()


def tube_spectrum(kvp: float, anode_angle_deg: float = 12.0,
                  filtration: Sequence[Tuple[str, float]] = (("Al", 4.0),), dk_keV: float = 0.5,
                  target: str = "W", use_cache: bool = True) -> Spectrum:
    """X-ray tube spectrum from SpekPy.

    Parameters
    ----------
    kvp : float
        Tube potential  [kV].
    anode_angle_deg : float
        Anode (take-off) angle  [deg]; SpekPy's ``th``.
    filtration : sequence of (str, float)
        Filters ``(material, thickness_mm)`` in SpekPy's material names, e.g.
        ``[("Al", 4.0)]`` or ``[("Be", 0.8), ("Al", 2.5)]``.
    dk_keV : float
        Bin width  [keV].
    target : str
        Anode material (SpekPy ``targ``: ``"W"``, ``"Mo"``, ``"Rh"``).
    use_cache : bool
        Read/write the npz cache.

    Returns
    -------
    Spectrum
        Bins of width ``dk_keV`` with ``p_j ∝ Φ_E Δk`` and ``hvl_mm_al`` set.
    """
    filt = tuple((str(m), float(t)) for m, t in filtration)
    if not kvp > 0:
        raise ValueError(f"tube_spectrum: kvp must be > 0, got {kvp!r}")
    if not dk_keV > 0:
        raise ValueError(f"tube_spectrum: dk_keV must be > 0, got {dk_keV!r}")
    for m, t in filt:
        if not t >= 0:
            raise ValueError(f"tube_spectrum: filter {m!r} thickness must be ≥ 0 mm, got {t!r}")
    params = dict(kvp=float(kvp), th=float(anode_angle_deg), filtration=filt, dk=float(dk_keV), targ=target)
    label = (f"SpekPy {kvp:g} kVp, {target} anode {anode_angle_deg:g}°, "
             + (" + ".join(f"{t:g} mm {m}" for m, t in filt) or "no filtration"))
    path = None
    if use_cache:
        try:
            from importlib.metadata import version  # stdlib; needed only for the cache key
            spek_version = version("spekpy")
        except Exception:  # pragma: no cover - metadata missing
            spek_version = "unknown"
        key = hashlib.sha256(json.dumps([params, spek_version, 1], sort_keys=True).encode()).hexdigest()[:20]
        path = _spectrum_cache_dir() / f"spectrum_{key}.npz"
        if path.exists():
            try:
                with np.load(path) as f:
                    return spectrum_from_arrays(f["lo_eV"], f["hi_eV"], f["weights"], label, float(f["hvl_mm_al"]))
            except Exception:
                pass
    import spekpy  # slow import: only when building

    try:
        spek = spekpy.Spek(kvp=float(kvp), th=float(anode_angle_deg), dk=float(dk_keV), targ=target)
    except Exception as exc:
        raise ValueError(f"tube_spectrum: SpekPy rejected kvp={kvp!r}, anode_angle_deg={anode_angle_deg!r}, "
                         f"target={target!r}: {exc}") from exc
    for m, t in filt:
        try:
            spek.filter(m, t)
        except Exception as exc:
            raise ValueError(f"tube_spectrum: SpekPy rejected filter ({m!r}, {t!r} mm): {exc}") from exc
    k, phi = spek.get_spectrum(flu=True, diff=True)
    k = np.asarray(k, dtype=np.float64)
    w = np.asarray(phi, dtype=np.float64) * dk_keV
    lo = (k - 0.5 * dk_keV) * 1e3
    hi = (k + 0.5 * dk_keV) * 1e3
    hvl = float(spek.get_hvl1())
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.partial")
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, lo_eV=lo, hi_eV=hi, weights=w, hvl_mm_al=hvl)
            os.replace(tmp, path)
        except OSError:
            pass
    return spectrum_from_arrays(lo, hi, w, label, hvl)


# -- user files ------------------------------------------------------------------------------

def spectrum_from_file(path: Union[str, Path], per: str = "bin") -> Spectrum:
    """Read a two-column spectrum file ``energy_keV fluence`` (see the module docstring).

    Raises
    ------
    ValueError
        Naming the file and the line for anything malformed: not two numbers, energy ≤ 0,
        fluence < 0 or not finite, energies not strictly increasing, no positive fluence.
    """
    p = Path(path)
    if per not in ("bin", "keV", "line"):
        raise ValueError(f"spectrum_from_file: per must be 'bin', 'keV' or 'line', got {per!r}")
    try:
        text = p.read_text()
    except OSError as exc:
        raise ValueError(f"{p}: cannot read spectrum file: {exc}") from exc
    energies, fluences = [], []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.replace(",", " ").split()
        if len(fields) != 2:
            raise ValueError(f"{p} line {lineno}: expected 2 numbers (energy_keV fluence), got {raw.strip()!r}")
        try:
            e, phi = float(fields[0]), float(fields[1])
        except ValueError:
            raise ValueError(f"{p} line {lineno}: expected 2 numbers (energy_keV fluence), "
                             f"got {raw.strip()!r}") from None
        if not (math.isfinite(e) and e > 0):
            raise ValueError(f"{p} line {lineno}: energy_keV must be > 0, got {fields[0]!r}")
        if not (math.isfinite(phi) and phi >= 0):
            raise ValueError(f"{p} line {lineno}: fluence must be finite and ≥ 0, got {fields[1]!r}")
        if energies and e <= energies[-1]:
            raise ValueError(f"{p} line {lineno}: energies must increase strictly, got {e} keV after "
                             f"{energies[-1]} keV")
        energies.append(e)
        fluences.append(phi)
    if not energies:
        raise ValueError(f"{p}: no data lines (expected 'energy_keV fluence' pairs)")
    if not sum(fluences) > 0:
        raise ValueError(f"{p}: all fluences are zero")
    e = np.array(energies) * 1e3
    phi = np.array(fluences)
    if per == "line" or e.size == 1:
        lo, hi, w = e, e.copy(), phi
    else:
        mid = 0.5 * (e[1:] + e[:-1])
        lo = np.concatenate(([e[0] - (mid[0] - e[0])], mid))
        hi = np.concatenate((mid, [e[-1] + (e[-1] - mid[-1])]))
        if lo[0] <= 0:
            raise ValueError(f"{p}: the first bin (centre {energies[0]} keV) would extend to ≤ 0 keV; "
                             f"use per='line' or add a lower point")
        w = phi * (hi - lo) * 1e-3 if per == "keV" else phi
    return spectrum_from_arrays(lo, hi, w, label=f"file {p} (per {per})")
