"""Rectilinear voxel world: a box cut by planes ``x = x_i``, ``y = y_j``, ``z = z_k``.

Voxel ``(i, j, k)`` spans ``[x_i, x_{i+1}) × [y_j, y_{j+1}) × [z_k, z_{k+1})`` (edges strictly
increasing, any spacing); its region number is the C-order flat index
``r = (i n_y + j) n_z + k`` of an ``(n_x, n_y, n_z)`` array. Every voxel has a material row
and a density relative to the nominal density of that material (lung at 0.26 g/cm³ with tables
of 1.05 g/cm³ lung: 0.2476).

Stepping (exact, face to face; the incremental traversal of J. Amanatides and A. Woo, "A fast
voxel traversal algorithm for ray tracing", Eurographics '87, 3–10): from a point in voxel
``(i, j, k)`` moving along ``u``, the distances to the voxel's exit planes are

    t_x = (x_{i+1} − x)/u_x  (u_x > 0),  (x_i − x)/u_x  (u_x < 0),  ∞  (u_x = 0)

and likewise ``t_y``, ``t_z``; the boundary is at ``t = min(t_x, t_y, t_z)`` and the region
behind it is the neighbour across that face (``i ± 1`` etc.; outside the world past the last
plane). A ray through an edge or a corner takes the faces one at a time (zero-length steps
to the other neighbours), so it never skips a voxel. ``t`` is clipped at 0 (a point pushed a
rounding error past its face).

Lengths in the unit of the transport kernel (nm for :mod:`hpcmc.physics.photon`); see
:mod:`hpcmc.physics.world`.
"""
from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np
from numba.extending import overload

from hpcmc.physics.world import (INF_DISTANCE, REGION_OUTSIDE, is_world_type, world_density,
                                 world_distance, world_locate, world_material, world_snap,
                                 world_tagged)

__all__ = ["VoxelWorld", "make_voxel_world", "voxel_locate", "voxel_distance", "axis_index"]


class VoxelWorld(NamedTuple):
    """A rectilinear voxel grid (see the module docstring).

    Attributes
    ----------
    x_edges, y_edges, z_edges : float64[n_x + 1], float64[n_y + 1], float64[n_z + 1]
        Plane positions, strictly increasing  [length unit of the kernel].
    material : int64[n_x n_y n_z]
        Material row of each voxel (C-order flat index).
    density : float64[n_x n_y n_z]
        Density of each voxel relative to its material's nominal density  [1].
    """

    x_edges: np.ndarray
    y_edges: np.ndarray
    z_edges: np.ndarray
    material: np.ndarray
    density: np.ndarray


def _edges(name, e):
    e = np.ascontiguousarray(e, dtype=np.float64)
    if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)) or not np.all(np.diff(e) > 0):
        raise ValueError(f"{name} must be ≥ 2 finite, strictly increasing plane positions, got {e!r}")
    return e


def make_voxel_world(x_edges, y_edges, z_edges, material, density=None) -> VoxelWorld:
    """A validated :class:`VoxelWorld`.

    Parameters
    ----------
    x_edges, y_edges, z_edges : array_like of float
        Plane positions  [length unit of the kernel], strictly increasing.
    material : array_like of int, shape (n_x, n_y, n_z)
        Material row of each voxel (≥ 0).
    density : array_like of float, shape (n_x, n_y, n_z), optional
        Relative density of each voxel (> 0); default 1 everywhere.

    Raises
    ------
    ValueError
        Naming the argument, if a shape or a value is wrong.
    """
    xe, ye, ze = _edges("x_edges", x_edges), _edges("y_edges", y_edges), _edges("z_edges", z_edges)
    shape = (xe.size - 1, ye.size - 1, ze.size - 1)
    mat = np.asarray(material)
    if mat.shape != shape or not np.issubdtype(mat.dtype, np.integer) or mat.min() < 0:
        raise ValueError(f"material must be non-negative integers of shape {shape}, got {mat.dtype} {mat.shape}")
    rho = np.ones(shape) if density is None else np.asarray(density, dtype=np.float64)
    if rho.shape != shape or not np.all(rho > 0) or not np.all(np.isfinite(rho)):
        raise ValueError(f"density must be finite, > 0 and of shape {shape}, got {rho.shape}")
    return VoxelWorld(xe, ye, ze, np.ascontiguousarray(mat, dtype=np.int64).ravel(),
                      np.ascontiguousarray(rho).ravel())


@nb.njit(cache=True, inline="always")
def axis_index(edges, x):
    """Index ``i`` with ``edges[i] ≤ x < edges[i+1]``, or −1 outside ``[edges[0], edges[-1])``."""
    if not edges[0] <= x < edges[edges.size - 1]:
        return -1
    return np.searchsorted(edges, x, side="right") - 1


@nb.njit(cache=True)
def voxel_locate(world, x, y, z):
    """Flat voxel index of a point, or ``REGION_OUTSIDE``."""
    i = axis_index(world.x_edges, x)
    j = axis_index(world.y_edges, y)
    k = axis_index(world.z_edges, z)
    if i < 0 or j < 0 or k < 0:
        return REGION_OUTSIDE
    return (i * (world.y_edges.size - 1) + j) * (world.z_edges.size - 1) + k


@nb.njit(cache=True, inline="always")
def _axis_exit(edges, i, x, u):
    """Distance to the exit plane of interval i along one axis, and the step (±1, 0 if none)."""
    if u > 0.0:
        return (edges[i + 1] - x) / u, 1
    if u < 0.0:
        return (edges[i] - x) / u, -1
    return INF_DISTANCE, 0


@nb.njit(cache=True)
def voxel_distance(world, region, x, y, z, ux, uy, uz):
    """Distance to the exit face of voxel ``region`` along u and the voxel behind it.

    ``t = min(t_x, t_y, t_z)`` (module docstring); ties go to x, then y, then z.
    """
    ny = world.y_edges.size - 1
    nz = world.z_edges.size - 1
    k = region % nz
    ij = region // nz
    j = ij % ny
    i = ij // ny
    tx, sx = _axis_exit(world.x_edges, i, x, ux)
    ty, sy = _axis_exit(world.y_edges, j, y, uy)
    tz, sz = _axis_exit(world.z_edges, k, z, uz)
    if tx <= ty and tx <= tz:
        t = tx
        i += sx
        inside = 0 <= i < world.x_edges.size - 1
    elif ty <= tz:
        t = ty
        j += sy
        inside = 0 <= j < ny
    else:
        t = tz
        k += sz
        inside = 0 <= k < nz
    if t < 0.0:
        t = 0.0
    if t >= INF_DISTANCE:  # u = 0 (not a unit vector): never leaves
        return INF_DISTANCE, region
    if not inside:
        return t, REGION_OUTSIDE
    return t, (i * ny + j) * nz + k


# -- the world protocol --------------------------------------------------------------------

@overload(world_locate, jit_options={"cache": True})
def _ov_locate(world, x, y, z):
    if is_world_type(world, VoxelWorld):
        return lambda world, x, y, z: voxel_locate(world, x, y, z)


@overload(world_distance, jit_options={"cache": True})
def _ov_distance(world, region, x, y, z, ux, uy, uz):
    if is_world_type(world, VoxelWorld):
        return lambda world, region, x, y, z, ux, uy, uz: voxel_distance(world, region, x, y, z, ux, uy, uz)


@overload(world_material, jit_options={"cache": True})
def _ov_material(world, region):
    if is_world_type(world, VoxelWorld):
        return lambda world, region: world.material[region] if region >= 0 else -1


@overload(world_density, jit_options={"cache": True})
def _ov_density(world, region):
    if is_world_type(world, VoxelWorld):
        return lambda world, region: world.density[region] if region >= 0 else 0.0


@overload(world_tagged, jit_options={"cache": True})
def _ov_tagged(world, region):
    if is_world_type(world, VoxelWorld):
        return lambda world, region: False


@overload(world_snap, jit_options={"cache": True})
def _ov_snap(world, region, x, y, z):
    if is_world_type(world, VoxelWorld):
        return lambda world, region, x, y, z: (x, y, z)
