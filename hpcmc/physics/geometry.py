"""Geometry primitives (numba): ray–sphere and ray–finite-cylinder distances.

Lengths in nm, directions unit vectors. All kernels are pure functions of their arguments.

Worlds (:mod:`hpcmc.physics.world`) are built from these primitives; the gnp world
(a sphere inside a finite cylinder) lives with its application in :mod:`hpcmc.apps.gnp.world`.

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

import numba as nb

__all__ = [
    "INF_NM",
    "sphere_distance_inside", "sphere_distance_outside", "inside_sphere",
    "cylinder_distance_inside", "cylinder_distance_outside", "inside_cylinder",
    "distance_to_sphere_entry_nm", "distance_to_sphere_exit_nm",
]

#: "No intersection" distance  [nm].
INF_NM = 1.0e300


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


# -- sphere at the origin, with infinite distances (track-structure kernels) -------------

@nb.njit(cache=True)
def distance_to_sphere_entry_nm(x, y, z, ux, uy, uz, radius_nm):
    """Distance along the ray to where it enters a sphere at the origin.

    Returns 0 for a point inside or on the sphere moving inwards, ``inf`` if the ray
    misses, starts on/inside the sphere moving outwards, or moves away.

    Parameters
    ----------
    x, y, z : float
        Ray origin  [nm].
    ux, uy, uz : float
        Unit direction.
    radius_nm : float
        Sphere radius  [nm].
    """
    b = x * ux + y * uy + z * uz
    c = x * x + y * y + z * z - radius_nm * radius_nm
    if c <= 0.0:
        return 0.0 if b < 0.0 else math.inf
    if b >= 0.0:
        return math.inf
    disc = b * b - c
    if disc <= 0.0:
        return math.inf
    return c / (-b + math.sqrt(disc))


@nb.njit(cache=True)
def distance_to_sphere_exit_nm(x, y, z, ux, uy, uz, radius_nm):
    """Distance along the ray from a point inside a sphere at the origin to its surface.

    Parameters
    ----------
    x, y, z : float
        Ray origin relative to the sphere centre  [nm]; inside or on the sphere.
    ux, uy, uz : float
        Unit direction.
    radius_nm : float
        Sphere radius  [nm].

    Returns
    -------
    float
        ``s ≥ 0``  [nm] (0 if the point is outside).
    """
    b = x * ux + y * uy + z * uz
    c = x * x + y * y + z * z - radius_nm * radius_nm
    if c >= 0.0:
        return 0.0
    disc = b * b - c
    return -b + math.sqrt(disc)


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
