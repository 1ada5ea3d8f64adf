"""Numba kernel of the selftest: exponential free paths in a slab.

A particle enters a slab of thickness ``L`` at depth 0 and travels a free path
``s = −ln(ξ)/μ`` (ξ uniform in (0, 1), stream ``"transport"``). Scores per history:

* ``first_interaction[i] = 1`` if ``s`` falls in depth bin ``i`` of ``[0, L]`` (uniform bins);
  expectation ``exp(−μ a_i) − exp(−μ b_i)``;
* ``track_length = min(s, L)``  [cm]; expectation ``(1 − e^{−μL})/μ``;
* ``transmitted = 1`` if ``s ≥ L``; expectation ``e^{−μL}``.

Cost knob: each history first makes ``work · 10^(decades · η)`` extra draws on stream
``"cost"`` (η uniform), so history costs can differ by ``decades`` orders of magnitude —
the case self-scheduling exists for. The extra draws do not touch the scored stream.

Mesh check (``mesh_n > 0``): each history also makes ``K`` deposits on stream ``"mesh"`` into a
mesh tally of ``N = mesh_n³`` voxels: a centre voxel ``c`` uniform in ``[0, N)``, deposit ``k``
into voxel ``(c + ⌊4 ξ⌋) mod N`` (so a history hits some voxels repeatedly) with amount
``0.1 · 10^(4 ξ')`` (0.1 … 1000, so every per-history value and its square are multiples of the
mesh quantum ``2^-64`` and the sums are exact). Expectation per voxel: ``K · E[amount] / N``.
"""
import math
from typing import NamedTuple

import numba as nb
import numpy as np

from hpcmc.runtime.mesh_tally import mesh_begin_history, mesh_score
from hpcmc.runtime.rng import rng_next, rng_seed, rng_uniform
from hpcmc.runtime.tally import fx_add


class SlabSettings(NamedTuple):
    """The slab problem of :func:`slab_chunk`.

    Attributes
    ----------
    mu_per_cm : float
        Attenuation coefficient μ  [1/cm].
    thickness_cm : float
        Slab thickness L  [cm].
    n_bins : int
        Depth bins of the first-interaction tally.
    work : int
        Base number of extra random draws per history (cost knob).
    decades : float
        Spread of the per-history cost in orders of magnitude.
    stream_transport, stream_cost : uint64
        Keys of the named sub-streams.
    """

    mu_per_cm: float
    thickness_cm: float
    n_bins: int
    work: int
    decades: float
    stream_transport: int
    stream_cost: int


class SlabTallies(NamedTuple):
    """Fixed-point accumulators (Σx, Σx², int64[:, N_LIMBS]) of the first-interaction,
    track-length and transmission tallies."""

    fi_sum: np.ndarray
    fi_sq: np.ndarray
    tl_sum: np.ndarray
    tl_sq: np.ndarray
    tr_sum: np.ndarray
    tr_sq: np.ndarray


@nb.njit(cache=True)
def slab_chunk(seed, first, n, settings, tallies):
    """Run histories ``first .. first+n−1``; add their scores to the fixed-point sums.

    Parameters
    ----------
    seed, first, n : int
        Task seed, global index of the first history, number of histories.
    settings : SlabSettings
        μ, L, bins, cost knob and stream keys.
    tallies : SlabTallies
        Fixed-point accumulators of the three tallies.

    Returns
    -------
    int
        Total number of extra draws made (a checksum of the work done).
    """
    mu_per_cm = settings.mu_per_cm
    thickness_cm = settings.thickness_cm
    n_bins = settings.n_bins
    work = settings.work
    decades = settings.decades
    stream_transport = settings.stream_transport
    stream_cost = settings.stream_cost
    fi_sum = tallies.fi_sum
    fi_sq = tallies.fi_sq
    tl_sum = tallies.tl_sum
    tl_sq = tallies.tl_sq
    tr_sum = tallies.tr_sum
    tr_sq = tallies.tr_sq
    st = np.zeros(2, dtype=np.uint64)
    sc = np.zeros(2, dtype=np.uint64)
    checksum = 0
    for k in range(n):
        h = first + k
        if work > 0:
            rng_seed(sc, seed, h, stream_cost)
            n_extra = int(work * 10.0 ** (decades * rng_uniform(sc)))
            for _ in range(n_extra):
                checksum += rng_next(sc) & np.uint64(1)
        rng_seed(st, seed, h, stream_transport)
        s = -math.log(rng_uniform(st)) / mu_per_cm
        if s < thickness_cm:
            i = min(int(s / thickness_cm * n_bins), n_bins - 1)
            fx_add(fi_sum[i], 1.0)
            fx_add(fi_sq[i], 1.0)
            fx_add(tl_sum[0], s)
            fx_add(tl_sq[0], s * s)
        else:
            fx_add(tl_sum[0], thickness_cm)
            fx_add(tl_sq[0], thickness_cm * thickness_cm)
            fx_add(tr_sum[0], 1.0)
            fx_add(tr_sq[0], 1.0)
    return checksum


@nb.njit(cache=True)
def mesh_history(seed, h, stream_mesh, n_voxels, st, voxels, amounts):
    """Draw the deposits of history ``h``: ``voxels[k]`` (flat index) and ``amounts[k]`` [1].

    Parameters
    ----------
    seed, h : int
        Task seed and global history index.
    stream_mesh : uint64
        Key of the ``"mesh"`` sub-stream.
    n_voxels : int
        Voxels of the mesh ``N``.
    st : uint64[2]
        Generator state (overwritten).
    voxels : int64[K]
        Out: ``(c + ⌊4 ξ⌋) mod N`` with ``c = ⌊N ξ_0⌋``.
    amounts : float64[K]
        Out: ``0.1 · 10^(4 ξ')``.
    """
    rng_seed(st, seed, h, stream_mesh)
    c = min(int(rng_uniform(st) * n_voxels), n_voxels - 1)
    for k in range(voxels.shape[0]):
        voxels[k] = (c + min(int(rng_uniform(st) * 4.0), 3)) % n_voxels
        amounts[k] = 0.1 * 10.0 ** (4.0 * rng_uniform(st))


@nb.njit(cache=True)
def mesh_chunk(seed, first, n, stream_mesh, n_voxels, n_scores, mesh):
    """Histories ``first .. first+n−1`` of the mesh check: ``n_scores`` deposits each.

    ``mesh`` is the kernel state of the mesh tally (:meth:`MeshTally.kernel_args`); every
    deposit goes through :func:`mesh_score` after :func:`mesh_begin_history`.
    """
    st = np.zeros(2, dtype=np.uint64)
    voxels = np.zeros(n_scores, dtype=np.int64)
    amounts = np.zeros(n_scores)
    for k in range(n):
        mesh_history(seed, first + k, stream_mesh, n_voxels, st, voxels, amounts)
        mesh_begin_history(mesh)
        for j in range(n_scores):
            mesh_score(mesh, voxels[j], amounts[j])
