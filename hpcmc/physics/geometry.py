"""Geometry primitives (numba) and the gnp world: a sphere (NP) inside a finite z-cylinder.

Lengths in nm, directions unit vectors. All kernels are pure functions of their arguments.

Surface tracking contract
-------------------------
A *world* is a NamedTuple of scalars/arrays plus three kernels:

* ``<world>_region(world, x, y, z) -> region`` — the region containing a point
  (``REGION_OUTSIDE = -1`` outside the world);
* ``<world>_distance(world, region, x, y, z, ux, uy, uz) -> (d, next_region)`` — distance
  [nm] along the direction to the boundary of ``region`` and the region behind it;
* ``<world>_material(world, region) -> material row`` in the photon tables.

Transport moves to the boundary, *sets* the region to ``next_region`` (it does not re-locate
the point, which would be fragile on the surface) and continues. A voxel world adds its own
NamedTuple and the same three kernels (region = flat voxel index, distance = DDA step to the
next voxel face) and a history kernel that calls them; the interaction kernels of
:mod:`hpcmc.physics.photon` do not depend on the geometry.

Ray–surface equations (point p, direction u, ``|u| = 1``)
--------------------------------------------------------
Sphere of centre c, radius R: with ``o = p − c``, ``b = o·u``, ``c₀ = |o|² − R²``, the line
meets the sphere at ``t = −b ± √(b² − c₀)``. From inside (``c₀ ≤ 0``) the exit is the ``+``
root, evaluated as ``−c₀/(b + √(b²−c₀))`` when ``b > 0`` to avoid cancellation. From outside it
is hit only if ``b < 0`` and ``b² ≥ c₀``; entry ``t = c₀/(−b + √(b²−c₀))``.

Finite cylinder ``x² + y² ≤ ρ²``, ``z_min ≤ z ≤ z_max``: lateral surface with
``a = u_x² + u_y²``, ``b = x u_x + y u_y``, ``c₀ = x² + y² − ρ²``: ``t = (−b ± √(b² − a c₀))/a``;
planes ``t = (z_plane − z)/u_z``. The chord inside is the intersection of the lateral interval
and the slab interval.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb

__all__ = [
    "REGION_OUTSIDE", "REGION_MEDIUM", "REGION_NP", "INF_NM",
    "GnpWorld", "make_gnp_world",
    "sphere_distance_inside", "sphere_distance_outside", "inside_sphere",
    "cylinder_distance_inside", "cylinder_distance_outside", "inside_cylinder",
    "gnp_region", "gnp_distance", "gnp_material",
]

REGION_OUTSIDE = -1
REGION_MEDIUM = 0
REGION_NP = 1
#: "No intersection" distance  [nm].
INF_NM = 1.0e300


class GnpWorld(NamedTuple):
    """The gnp world (Thomas et al. 2025, §2.3): a sphere (the NP) inside a finite cylinder along z.

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

    Defaults are Thomas et al. (2025), §2.3: cylinder of length 220 µm and radius 100 µm, gold NP of
    radius 50 nm at the centre.

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


# -- sphere ------------------------------------------------------------------------------

@nb.njit(cache=True, inline="always")
def inside_sphere(x, y, z, cx, cy, cz, r):
    """True if ``|p − c| < r``."""
    dx = x - cx
    dy = y - cy
    dz = z - cz
    return dx * dx + dy * dy + dz * dz < r * r


@nb.njit(cache=True, inline="always")
def sphere_distance_inside(x, y, z, cx, cy, cz, r, ux, uy, uz):
    """Distance  [nm] from a point inside a sphere to its surface along u.

    ``t = −b + √(b² − c₀)`` (``b = o·u``, ``c₀ = |o|² − r²``, ``o = p − c``); 0 if the point is
    (by rounding) on or outside the surface and moving out.
    """
    ox = x - cx
    oy = y - cy
    oz = z - cz
    b = ox * ux + oy * uy + oz * uz
    c0 = ox * ox + oy * oy + oz * oz - r * r
    disc = b * b - c0
    if disc < 0.0:
        disc = 0.0
    sq = math.sqrt(disc)
    if b > 0.0:
        t = -c0 / (b + sq) if b + sq > 0.0 else 0.0
    else:
        t = -b + sq
    return t if t > 0.0 else 0.0


@nb.njit(cache=True, inline="always")
def sphere_distance_outside(x, y, z, cx, cy, cz, r, ux, uy, uz):
    """Distance  [nm] from a point outside a sphere to where it enters it; ``INF_NM`` if missed.

    Hit iff ``b < 0`` and ``b² ≥ c₀``; ``t = c₀/(−b + √(b² − c₀))`` (0 if on the surface).
    """
    ox = x - cx
    oy = y - cy
    oz = z - cz
    b = ox * ux + oy * uy + oz * uz
    if b >= 0.0:
        return INF_NM
    c0 = ox * ox + oy * oy + oz * oz - r * r
    disc = b * b - c0
    if disc < 0.0:
        return INF_NM
    t = c0 / (-b + math.sqrt(disc))
    return t if t > 0.0 else 0.0


# -- finite cylinder along z ---------------------------------------------------------------

@nb.njit(cache=True, inline="always")
def inside_cylinder(x, y, z, radius, zmin, zmax):
    """True if ``x² + y² < ρ²`` and ``z_min < z < z_max``."""
    return x * x + y * y < radius * radius and zmin < z < zmax


@nb.njit(cache=True, inline="always")
def cylinder_distance_inside(x, y, z, radius, zmin, zmax, ux, uy, uz):
    """Distance  [nm] from a point inside a finite z-cylinder to its surface along u.

    ``min(t_lateral, t_plane)`` with ``t_lateral = (−b + √(b² − a c₀))/a`` (stable form for
    ``b > 0``: ``−c₀/(b + √…)``) and ``t_plane = (z_max − z)/u_z`` or ``(z_min − z)/u_z``.
    """
    t = INF_NM
    a = ux * ux + uy * uy
    if a > 0.0:
        b = x * ux + y * uy
        c0 = x * x + y * y - radius * radius
        disc = b * b - a * c0
        if disc < 0.0:
            disc = 0.0
        sq = math.sqrt(disc)
        if b > 0.0:
            tl = -c0 / (b + sq)
        else:
            tl = (-b + sq) / a
        if tl < t:
            t = tl
    if uz > 0.0:
        tp = (zmax - z) / uz
        if tp < t:
            t = tp
    elif uz < 0.0:
        tp = (zmin - z) / uz
        if tp < t:
            t = tp
    return t if t > 0.0 else 0.0


@nb.njit(cache=True)
def cylinder_distance_outside(x, y, z, radius, zmin, zmax, ux, uy, uz):
    """Distance  [nm] from a point outside a finite z-cylinder to where it enters; ``INF_NM`` if missed.

    Entry = max of the entries into the lateral interval ``[t₋, t₊]`` (roots above) and the
    slab interval; a hit requires entry ≤ both exits and exit > 0.
    """
    t_in = 0.0
    t_out = INF_NM
    a = ux * ux + uy * uy
    c0 = x * x + y * y - radius * radius
    if a > 0.0:
        b = x * ux + y * uy
        disc = b * b - a * c0
        if disc < 0.0:
            return INF_NM
        sq = math.sqrt(disc)
        t1 = (-b - sq) / a
        t2 = (-b + sq) / a
        if t1 > t_in:
            t_in = t1
        if t2 < t_out:
            t_out = t2
    elif c0 >= 0.0:
        return INF_NM
    if uz != 0.0:
        t1 = (zmin - z) / uz
        t2 = (zmax - z) / uz
        if t1 > t2:
            t1, t2 = t2, t1
        if t1 > t_in:
            t_in = t1
        if t2 < t_out:
            t_out = t2
    elif not zmin <= z <= zmax:
        return INF_NM
    if t_out <= 0.0 or t_in > t_out:
        return INF_NM
    return t_in


# -- the gnp world -----------------------------------------------------------------------

@nb.njit(cache=True, inline="always")
def gnp_region(world, x, y, z):
    """Region at a point: ``REGION_NP`` (1), ``REGION_MEDIUM`` (0) or ``REGION_OUTSIDE`` (−1)."""
    if not inside_cylinder(x, y, z, world.cyl_radius_nm, world.cyl_zmin_nm, world.cyl_zmax_nm):
        return REGION_OUTSIDE
    if world.np_radius_nm > 0.0 and inside_sphere(x, y, z, world.np_x_nm, world.np_y_nm, world.np_z_nm,
                                                  world.np_radius_nm):
        return REGION_NP
    return REGION_MEDIUM


@nb.njit(cache=True, inline="always")
def gnp_material(world, region):
    """Material row of ``region`` (−1 outside)."""
    if region == REGION_NP:
        return world.mat_np
    if region == REGION_MEDIUM:
        return world.mat_medium
    return -1


@nb.njit(cache=True, inline="always")
def gnp_distance(world, region, x, y, z, ux, uy, uz):
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
