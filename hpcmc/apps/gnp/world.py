"""The gnp world: a sphere (the nanoparticle) inside a finite cylinder along z (the water).

Lengths in nm. Regions: ``REGION_NP`` (1), ``REGION_MEDIUM`` (0), outside (−1). The world
implements the world protocol of :mod:`hpcmc.physics.world` (``world_locate``,
``world_distance``, ``world_material``, ``world_density`` — 1 everywhere — and
``world_tagged`` — the NP), so the photon history kernel
:func:`hpcmc.physics.photon.photon_history` transports through it; the ray–surface equations
are those of :mod:`hpcmc.physics.geometry`.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
from numba.extending import overload

from hpcmc.physics.geometry import (INF_NM, cylinder_distance_inside, inside_cylinder, inside_sphere,
                                    sphere_distance_inside, sphere_distance_outside)
from hpcmc.physics.world import (REGION_OUTSIDE, is_world_type, world_density, world_distance, world_locate,
                                 world_material, world_tagged)

__all__ = ["REGION_OUTSIDE", "REGION_MEDIUM", "REGION_NP", "INF_NM", "GnpWorld", "make_gnp_world",
           "gnp_region", "gnp_distance", "gnp_material"]

REGION_MEDIUM = 0
REGION_NP = 1


class GnpWorld(NamedTuple):
    """The gnp world: a sphere (the NP) inside a finite cylinder along z (the water).

    Attributes
    ----------
    np_x_nm, np_y_nm, np_z_nm : float
        NP centre  [nm].
    np_radius_nm : float
        NP radius  [nm]; 0 means no NP (a homogeneous cylinder).
    cyl_radius_nm : float
        Cylinder radius  [nm].
    cyl_zmin_nm, cyl_zmax_nm : float
        Cylinder end planes  [nm].
    mat_np, mat_medium : int
        Material rows (in the photon tables) of the NP and of the cylinder.
    """

    np_x_nm: float
    np_y_nm: float
    np_z_nm: float
    np_radius_nm: float
    cyl_radius_nm: float
    cyl_zmin_nm: float
    cyl_zmax_nm: float
    mat_np: int
    mat_medium: int


def make_gnp_world(np_radius_nm: float = 50.0, cyl_radius_nm: float = 100.0e3,
                   cyl_length_nm: float = 220.0e3, mat_np: int = 1, mat_medium: int = 0,
                   np_center_nm=(0.0, 0.0, 0.0)) -> GnpWorld:
    """A validated :class:`GnpWorld`; the cylinder is centred on z = 0.

    Defaults: cylinder of length 220 µm and radius 100 µm, gold NP of radius 50 nm at the
    centre.

    Raises
    ------
    ValueError
        Naming the parameter, if a size is not positive or the NP does not fit in the cylinder.
    """
    cx, cy, cz = (float(v) for v in np_center_nm)
    if not np_radius_nm >= 0:
        raise ValueError(f"np_radius_nm must be ≥ 0, got {np_radius_nm!r}")
    if not cyl_radius_nm > 0:
        raise ValueError(f"cyl_radius_nm must be > 0, got {cyl_radius_nm!r}")
    if not cyl_length_nm > 0:
        raise ValueError(f"cyl_length_nm must be > 0, got {cyl_length_nm!r}")
    half = 0.5 * cyl_length_nm
    if np_radius_nm > 0 and (math.hypot(cx, cy) + np_radius_nm >= cyl_radius_nm
                             or abs(cz) + np_radius_nm >= half):
        raise ValueError(f"the NP (radius {np_radius_nm} nm at {np_center_nm}) must lie strictly inside the "
                         f"cylinder (radius {cyl_radius_nm} nm, length {cyl_length_nm} nm)")
    return GnpWorld(cx, cy, cz, float(np_radius_nm), float(cyl_radius_nm), -half, half,
                    int(mat_np), int(mat_medium))


# -- the gnp world -----------------------------------------------------------------------

def _gnp_region_body(world, x, y, z):
    """Region at a point: ``REGION_NP`` (1), ``REGION_MEDIUM`` (0) or ``REGION_OUTSIDE`` (−1)."""
    if not inside_cylinder(x, y, z, world.cyl_radius_nm, world.cyl_zmin_nm, world.cyl_zmax_nm):
        return REGION_OUTSIDE
    if world.np_radius_nm > 0.0 and inside_sphere(x, y, z, world.np_x_nm, world.np_y_nm, world.np_z_nm,
                                                  world.np_radius_nm):
        return REGION_NP
    return REGION_MEDIUM


def _gnp_material_body(world, region):
    """Material row of ``region`` (−1 outside)."""
    if region == REGION_NP:
        return world.mat_np
    if region == REGION_MEDIUM:
        return world.mat_medium
    return -1


def _gnp_distance_body(world, region, x, y, z, ux, uy, uz):
    """Distance  [nm] to the boundary of ``region`` along u, and the region behind it.

    In the NP: the sphere from inside, then the medium. In the medium: the nearer of the NP
    (entered from outside) and the cylinder wall (then outside the world).
    """
    if region == REGION_NP:
        d = sphere_distance_inside(x, y, z, world.np_x_nm, world.np_y_nm, world.np_z_nm,
                                   world.np_radius_nm, ux, uy, uz)
        return d, REGION_MEDIUM
    d = cylinder_distance_inside(x, y, z, world.cyl_radius_nm, world.cyl_zmin_nm, world.cyl_zmax_nm,
                                 ux, uy, uz)
    if world.np_radius_nm > 0.0:
        dn = sphere_distance_outside(x, y, z, world.np_x_nm, world.np_y_nm, world.np_z_nm,
                                     world.np_radius_nm, ux, uy, uz)
        if dn < d:
            return dn, REGION_NP
    return d, REGION_OUTSIDE


# The same functions for callers outside the world protocol (tests, tools). They go through the
# protocol rather than jit the bodies a second time: two dispatchers compiled from one Python
# function would share numba cache files and load each other's machine code.

@nb.njit(cache=True)
def gnp_region(world, x, y, z):
    """Region at a point: ``REGION_NP`` (1), ``REGION_MEDIUM`` (0) or ``REGION_OUTSIDE`` (−1)."""
    return world_locate(world, x, y, z)


@nb.njit(cache=True)
def gnp_material(world, region):
    """Material row of ``region`` (−1 outside)."""
    return world_material(world, region)


@nb.njit(cache=True)
def gnp_distance(world, region, x, y, z, ux, uy, uz):
    """Distance  [nm] to the boundary of ``region`` along u, and the region behind it."""
    return world_distance(world, region, x, y, z, ux, uy, uz)


def _unit_density(world, region):
    return 1.0


def _is_np(world, region):
    return region == REGION_NP


# -- the world protocol --------------------------------------------------------------------

# The overloads hand numba the plain bodies and are inlined into the history kernels at the IR
# level (inline="always"): a call per step cost annulus-0 photons (which cross the NP) 8 % of
# their speed. The bodies themselves call only small geometry helpers.

@overload(world_locate, jit_options={"cache": True}, inline="always")
def _ov_locate(world, x, y, z):
    if is_world_type(world, GnpWorld):
        return _gnp_region_body


@overload(world_distance, jit_options={"cache": True}, inline="always")
def _ov_distance(world, region, x, y, z, ux, uy, uz):
    if is_world_type(world, GnpWorld):
        return _gnp_distance_body


@overload(world_material, jit_options={"cache": True}, inline="always")
def _ov_material(world, region):
    if is_world_type(world, GnpWorld):
        return _gnp_material_body


@overload(world_density, jit_options={"cache": True}, inline="always")
def _ov_density(world, region):
    if is_world_type(world, GnpWorld):
        return _unit_density


@overload(world_tagged, jit_options={"cache": True}, inline="always")
def _ov_tagged(world, region):
    if is_world_type(world, GnpWorld):
        return _is_np
