"""Associated Volume Clustering (AVC) of one history's ionizations into F_k cluster counts.

Model (Kellerer 1985; Chmelevsky & Kellerer 1977; Famulari et al. 2017, as used by Thomas et
al. 2024 and Thomas et al. (2025), §2.3.1). A target is a sphere of radius ``a`` (diameter ``2a``, the
"10 base-pair" DNA-segment scale of a few nm). The set of target centres whose sphere contains
ionization ``x_i`` is the ball ``B(x_i, a)`` — its *associated volume*. The number of target
positions (in units of the target volume V_s) with at least ``k`` ionizations,

    F_k = (1/V_s) ∫ 1[N(c) ≥ k] dc,    N(c) = #{i : |x_i − c| < a},

is estimated without bias by placing, for every ionization ``i``, one centre ``c_i`` uniformly
in ``B(x_i, a)`` and summing

    F_k ≈ Σ_i 1[N(c_i) ≥ k] / N(c_i),

because every point ``c`` of the union of associated volumes lies in exactly ``N(c)`` of them.
Each term is scored in the radial shell that contains its centre ``c_i`` (the cluster's
position). A tight group of ``m ≥ k`` ionizations thus counts as one cluster.

Cost: O(n log n) per history — ionizations are binned on a cubic grid of cell size ``a``,
sorted by cell key, and each centre looks up the 27 neighbouring cells by binary search.
Random numbers come from the history's ``"cluster"`` stream.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

from hpcmc.runtime.rng import rng_uniform

__all__ = ["avc_cluster_shells", "cell_keys"]

_OFFSET = 1 << 20  # cell coordinates must lie in (−2^20, 2^20): ±1.8 mm at a = 1.7 nm


@nb.njit(cache=True, inline="always")
def _key(ix, iy, iz):
    return ((ix + _OFFSET) << 42) | ((iy + _OFFSET) << 21) | (iz + _OFFSET)


@nb.njit(cache=True)
def cell_keys(pos_nm, n, cell_nm):
    """Integer grid key of each of the first ``n`` points (cell size ``cell_nm``)."""
    keys = np.empty(n, dtype=np.int64)
    for i in range(n):
        ix = int(math.floor(pos_nm[i, 0] / cell_nm))
        iy = int(math.floor(pos_nm[i, 1] / cell_nm))
        iz = int(math.floor(pos_nm[i, 2] / cell_nm))
        keys[i] = _key(ix, iy, iz)
    return keys


@nb.njit(cache=True)
def _count_within(c0, c1, c2, radius_nm, sorted_keys, sorted_pos):
    """Number of points within ``radius_nm`` of the centre (27 neighbouring cells)."""
    a2 = radius_nm * radius_nm
    cx = int(math.floor(c0 / radius_nm))
    cy = int(math.floor(c1 / radius_nm))
    cz = int(math.floor(c2 / radius_nm))
    count = 0
    for dx in range(-1, 2):
        for dy in range(-1, 2):
            for dz in range(-1, 2):
                k = _key(cx + dx, cy + dy, cz + dz)
                lo = np.searchsorted(sorted_keys, k, side="left")
                hi = np.searchsorted(sorted_keys, k, side="right")
                for m in range(lo, hi):
                    ex = sorted_pos[m, 0] - c0
                    ey = sorted_pos[m, 1] - c1
                    ez = sorted_pos[m, 2] - c2
                    if ex * ex + ey * ey + ez * ez < a2:
                        count += 1
    return count


@nb.njit(cache=True)
def avc_cluster_shells(pos_nm, n, radius_nm, min_size, shell_edges_nm, rng_state, out_counts):
    """Add this history's F_k cluster counts per radial shell to ``out_counts``.

    Parameters
    ----------
    pos_nm : float64[:, 3]
        Ionization positions  [nm], NP centre at the origin.
    n : int
        Number of valid rows of ``pos_nm``.
    radius_nm : float
        Target-sphere radius ``a``  [nm].
    min_size : int
        ``k`` of F_k (4 for F4).
    shell_edges_nm : float64[:]
        Shell edges  [nm], increasing; centres outside ``[edges[0], edges[-1])`` are not scored.
    rng_state : uint64[2]
        The history's ``"cluster"`` stream (seeded by the caller).
    out_counts : float64[:]
        Per-shell cluster counts (added to).

    Returns
    -------
    float
        Total F_k clusters of the history (all shells and outside).
    """
    if n == 0:
        return 0.0
    keys = cell_keys(pos_nm, n, radius_nm)
    order = np.argsort(keys)
    sorted_keys = keys[order]
    sorted_pos = np.empty((n, 3))
    for m in range(n):
        sorted_pos[m, :] = pos_nm[order[m], :]
    r_in = shell_edges_nm[0]
    r_out = shell_edges_nm[-1]
    total = 0.0
    for i in range(n):
        # centre uniform in the ball B(x_i, a): radius a·ξ^(1/3), isotropic direction
        rr = radius_nm * rng_uniform(rng_state) ** (1.0 / 3.0)
        mu = 2.0 * rng_uniform(rng_state) - 1.0
        phi = 2.0 * math.pi * rng_uniform(rng_state)
        st = math.sqrt(max(0.0, 1.0 - mu * mu))
        c0 = pos_nm[i, 0] + rr * st * math.cos(phi)
        c1 = pos_nm[i, 1] + rr * st * math.sin(phi)
        c2 = pos_nm[i, 2] + rr * mu
        nu = _count_within(c0, c1, c2, radius_nm, sorted_keys, sorted_pos)
        if nu >= min_size:
            w = 1.0 / nu
            total += w
            r = math.sqrt(c0 * c0 + c1 * c1 + c2 * c2)
            if r_in <= r < r_out:
                s = np.searchsorted(shell_edges_nm, r, side="right") - 1
                out_counts[s] += w
    return total
