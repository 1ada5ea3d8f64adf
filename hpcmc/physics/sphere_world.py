"""Sphere world: a medium inside an outer (tracking) sphere, with an optional inner sphere of
another material — e.g. water around a nanoparticle, tracked within a finite sphere.

Regions: :data:`REGION_SHELL` (0) — between the spheres, material ``mat_outer``;
:data:`REGION_INNER` (1) — the inner sphere, material ``mat_inner``; outside the outer
sphere (−1). An outer radius of ``inf`` is an unbounded medium; an inner radius of 0 means no
inner sphere. Lengths in nm (the unit of the track-structure kernels).

Distances (:func:`hpcmc.physics.geometry.distance_to_sphere_entry_nm` and
``…_exit_nm``, ``∞`` if not hit): from the shell, the nearer of the entry into the inner
sphere (0 for a point on or inside it moving inwards; ties go to the inner sphere) and the
exit from the outer sphere; from the inner sphere, its exit. A point entering the inner sphere
is put on its surface by ``world_snap`` (``p ← c + R (p − c)/|p − c|``).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np
from numba.extending import overload

from hpcmc.physics.geometry import distance_to_sphere_entry_nm, distance_to_sphere_exit_nm
from hpcmc.physics.world import (INF_DISTANCE, REGION_OUTSIDE, is_world_type, world_density, world_distance,
                                 world_locate, world_material, world_snap, world_tagged)

__all__ = ["REGION_SHELL", "REGION_INNER", "SphereWorld", "make_sphere_world", "sphere_world_locate",
           "sphere_world_distance", "sphere_world_snap"]

REGION_SHELL = 0
REGION_INNER = 1


class SphereWorld(NamedTuple):
    """Outer sphere (centre ``cx, cy, cz``, radius ``outer_radius``, may be ``inf``) holding an
    optional inner sphere (centre ``ix, iy, iz``, radius ``inner_radius``, 0 = none)  [nm], and
    the material rows of the shell and of the inner sphere."""

    cx: float
    cy: float
    cz: float
    outer_radius: float
    ix: float
    iy: float
    iz: float
    inner_radius: float
    mat_outer: int
    mat_inner: int


def make_sphere_world(center_nm=(0.0, 0.0, 0.0), outer_radius_nm=math.inf, inner_radius_nm=0.0,
                      inner_center_nm=(0.0, 0.0, 0.0), mat_outer=0, mat_inner=1) -> SphereWorld:
    """A validated :class:`SphereWorld`.

    Raises
    ------
    ValueError
        Naming the argument, if a centre is not 3 finite numbers or a radius is out of range.
    """
    c = np.asarray(center_nm, dtype=float)
    ci = np.asarray(inner_center_nm, dtype=float)
    for name, v in (("center_nm", c), ("inner_center_nm", ci)):
        if v.shape != (3,) or not np.all(np.isfinite(v)):
            raise ValueError(f"{name} must be 3 finite numbers, got {v!r}")
    if not outer_radius_nm > 0.0:
        raise ValueError(f"outer_radius_nm must be > 0 (inf for an unbounded medium), got {outer_radius_nm!r}")
    if not (inner_radius_nm >= 0.0 and math.isfinite(inner_radius_nm)):
        raise ValueError(f"inner_radius_nm must be finite and ≥ 0, got {inner_radius_nm!r}")
    return SphereWorld(float(c[0]), float(c[1]), float(c[2]), float(outer_radius_nm), float(ci[0]), float(ci[1]),
                       float(ci[2]), float(inner_radius_nm), int(mat_outer), int(mat_inner))


@nb.njit(cache=True)
def sphere_world_locate(world, x, y, z):
    """Region of a point: outside if ``|p − c|² > R_out²``, inner if ``|p − c_i|² < R_in²``, else shell."""
    r2 = world.outer_radius * world.outer_radius
    if (x - world.cx) ** 2 + (y - world.cy) ** 2 + (z - world.cz) ** 2 > r2:
        return REGION_OUTSIDE
    dx = x - world.ix
    dy = y - world.iy
    dz = z - world.iz
    if world.inner_radius > 0.0 and dx * dx + dy * dy + dz * dz < world.inner_radius * world.inner_radius:
        return REGION_INNER
    return REGION_SHELL


@nb.njit(cache=True)
def sphere_world_distance(world, region, x, y, z, ux, uy, uz):
    """Distance to the boundary of ``region`` along u and the region behind it (module docstring)."""
    if region == REGION_INNER:
        d = distance_to_sphere_exit_nm(x - world.ix, y - world.iy, z - world.iz, ux, uy, uz, world.inner_radius)
        return d, REGION_SHELL
    s_in = INF_DISTANCE
    if world.inner_radius > 0.0:
        s_in = distance_to_sphere_entry_nm(x - world.ix, y - world.iy, z - world.iz, ux, uy, uz, world.inner_radius)
    s_out = INF_DISTANCE
    if world.outer_radius < math.inf:
        s_out = distance_to_sphere_exit_nm(x - world.cx, y - world.cy, z - world.cz, ux, uy, uz, world.outer_radius)
    if s_in <= s_out:
        d = s_in
        nxt = REGION_INNER
    else:
        d = s_out
        nxt = REGION_OUTSIDE
    if d >= INF_DISTANCE:
        return INF_DISTANCE, region
    return d, nxt


@nb.njit(cache=True, inline="always")
def _shift(c, v):
    """``c + v``, returning ``v`` itself (sign of zero included) when ``c == 0``."""
    return v if c == 0.0 else c + v


@nb.njit(cache=True)
def sphere_world_snap(world, region, x, y, z):
    """A point entering the inner sphere, moved onto its surface: ``c + R (p − c)/|p − c|``."""
    if region != REGION_INNER:
        return x, y, z
    ox = x - world.ix
    oy = y - world.iy
    oz = z - world.iz
    rr = math.sqrt(ox * ox + oy * oy + oz * oz)
    if rr > 0.0:
        f = world.inner_radius / rr
        return _shift(world.ix, ox * f), _shift(world.iy, oy * f), _shift(world.iz, oz * f)
    return x, y, z


# -- the world protocol --------------------------------------------------------------------

@overload(world_locate, jit_options={"cache": True})
def _ov_locate(world, x, y, z):
    if is_world_type(world, SphereWorld):
        return lambda world, x, y, z: sphere_world_locate(world, x, y, z)


@overload(world_distance, jit_options={"cache": True})
def _ov_distance(world, region, x, y, z, ux, uy, uz):
    if is_world_type(world, SphereWorld):
        return lambda world, region, x, y, z, ux, uy, uz: sphere_world_distance(world, region, x, y, z, ux, uy, uz)


@overload(world_material, jit_options={"cache": True})
def _ov_material(world, region):
    if is_world_type(world, SphereWorld):
        return lambda world, region: (world.mat_inner if region == REGION_INNER
                                      else world.mat_outer if region == REGION_SHELL else -1)


@overload(world_density, jit_options={"cache": True})
def _ov_density(world, region):
    if is_world_type(world, SphereWorld):
        return lambda world, region: 1.0


@overload(world_tagged, jit_options={"cache": True})
def _ov_tagged(world, region):
    if is_world_type(world, SphereWorld):
        return lambda world, region: region == REGION_INNER


@overload(world_snap, jit_options={"cache": True})
def _ov_snap(world, region, x, y, z):
    if is_world_type(world, SphereWorld):
        return lambda world, region, x, y, z: sphere_world_snap(world, region, x, y, z)
