"""Layered world with periodic slits: slabs along z, each homogeneous or cut into slits
repeating along x — the geometry of a multi-slit collimator followed by a phantom.

The world is the box ``[x_min, x_max) × [y_min, y_max) × [z_0, z_L)`` cut by planes
``z = z_l`` into layers. A *homogeneous* layer is one region. A *slit* layer repeats, with
period ``c`` along x, an open slit of width ``w`` (material ``open``, e.g. air or water)
followed by a wall of width ``c − w`` (material ``wall``, e.g. tungsten): its cell boundaries
(slit starts and ends) are

    b(m) = a + ⌊m/2⌋ c + (m mod 2) w        (m any integer; a = first slit centre − w/2),

even cells ``[b(2k), b(2k+1))`` are slits, odd cells walls; the cell of a point is
``k = ⌊(x − a)/c⌋``, ``m = 2k`` if ``x − a − k c < w`` else ``2k + 1``. Only the cells
inside ``[x_min, x_max)`` are regions (the box walls clip the first and the last).

Regions are numbered layer by layer: layer l owns ``region_offset[l] … region_offset[l+1] − 1``
(one region for a homogeneous layer, cell ``m`` of a slit layer is
``region_offset[l] + m − cell_lo[l]``). Distance from a point in a region: the nearest of
the layer's two z planes, the cell's two x boundaries (or box walls) and the box's y walls;
behind an x boundary lies the neighbouring cell (same layer), behind a z plane the cell of
the next layer at the crossing point, behind a box wall the outside.

Lengths in the unit of the transport kernel (nm for :mod:`hpcmc.physics.photon`); see
:mod:`hpcmc.physics.world`.
"""
from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numba as nb
import numpy as np
from numba.extending import overload

from hpcmc.physics.world import (INF_DISTANCE, REGION_OUTSIDE, is_world_type, world_density,
                                 world_distance, world_locate, world_material, world_snap,
                                 world_tagged)

__all__ = ["SlabLayer", "homogeneous_layer", "slit_layer", "SlabWorld", "make_slab_world",
           "slit_cell", "cell_boundary", "slab_locate", "slab_distance", "slab_material", "slab_density"]


@dataclasses.dataclass(frozen=True)
class SlabLayer:
    """One layer of a :class:`SlabWorld` (build it with :func:`homogeneous_layer` or :func:`slit_layer`).

    Attributes
    ----------
    thickness : float
        Along z  [length unit].
    material, density : int, float
        Material row and relative density of the layer, or of the slits of a slit layer.
    wall_material, wall_density : int, float
        Material row and relative density of the walls between slits (slit layers only).
    slit_width, period : float
        ``w`` and ``c``  [length unit]; ``period = 0`` for a homogeneous layer.
    first_slit_center : float
        x of the centre of one slit  [length unit]; the others are at ± multiples of ``period``.
    """

    thickness: float
    material: int
    density: float = 1.0
    wall_material: int = -1
    wall_density: float = 1.0
    slit_width: float = 0.0
    period: float = 0.0
    first_slit_center: float = 0.0


def homogeneous_layer(thickness, material, density=1.0) -> SlabLayer:
    """A layer of one material."""
    return SlabLayer(float(thickness), int(material), float(density))


def slit_layer(thickness, open_material, wall_material, slit_width, period, first_slit_center=0.0,
               open_density=1.0, wall_density=1.0) -> SlabLayer:
    """A layer of slits of width ``slit_width`` every ``period`` along x, walls in between."""
    return SlabLayer(float(thickness), int(open_material), float(open_density), int(wall_material),
                     float(wall_density), float(slit_width), float(period), float(first_slit_center))


class SlabWorld(NamedTuple):
    """Layers along z, homogeneous or periodic slits along x (module docstring).

    Attributes
    ----------
    x_min, x_max, y_min, y_max : float
        Lateral box  [length unit].
    z_edges : float64[L + 1]
        Layer planes, strictly increasing  [length unit].
    slit_start : float64[L]
        ``a`` of each layer: start of the slit whose cell index is 0  [length unit].
    slit_width, period : float64[L]
        ``w`` and ``c``  [length unit]; ``period = 0`` marks a homogeneous layer.
    cell_lo : int64[L]
        Cell index m of the first cell inside the box (0 for a homogeneous layer).
    region_offset : int64[L + 1]
        First region of each layer; ``region_offset[L]`` = number of regions.
    mat_open, mat_wall : int64[L]
        Material rows of the layer (or its slits) and of its walls.
    rho_open, rho_wall : float64[L]
        Relative densities of the same.
    """

    x_min: float
    x_max: float
    y_min: float
    y_max: float
    z_edges: np.ndarray
    slit_start: np.ndarray
    slit_width: np.ndarray
    period: np.ndarray
    cell_lo: np.ndarray
    region_offset: np.ndarray
    mat_open: np.ndarray
    mat_wall: np.ndarray
    rho_open: np.ndarray
    rho_wall: np.ndarray


@nb.njit(cache=True)
def slit_cell(x, a, w, c):
    """Cell index m of x: ``k = ⌊(x − a)/c⌋``, ``m = 2k`` (slit) if ``x − a − kc < w`` else ``2k + 1``.

    A point that rounding puts a hair outside the period it was computed from goes to the
    neighbouring cell, so ``b(m) ≤ x < b(m+1)`` holds in the arithmetic used.
    """
    k = math.floor((x - a) / c)
    f = x - (a + k * c)
    if f < 0.0:
        return int(2 * k - 1)
    if f < w:
        return int(2 * k)
    if f >= c:
        return int(2 * k + 2)
    return int(2 * k + 1)


@nb.njit(cache=True, inline="always")
def cell_boundary(m, a, w, c):
    """Lower boundary of cell m: ``b(m) = a + ⌊m/2⌋ c + (m mod 2) w``."""
    k = m // 2
    return a + k * c + (m - 2 * k) * w


def make_slab_world(x_range, y_range, z_start, layers) -> SlabWorld:
    """A validated :class:`SlabWorld`.

    Parameters
    ----------
    x_range, y_range : (float, float)
        Lateral box  [length unit].
    z_start : float
        z of the first layer's entrance plane  [length unit].
    layers : sequence of SlabLayer
        From the entrance, along +z.

    Raises
    ------
    ValueError
        Naming the layer or the argument at fault.
    """
    x_min, x_max = (float(v) for v in x_range)
    y_min, y_max = (float(v) for v in y_range)
    if not (x_min < x_max and y_min < y_max):
        raise ValueError(f"x_range and y_range must be increasing, got {x_range!r}, {y_range!r}")
    if not layers:
        raise ValueError("a slab world needs at least one layer")
    n = len(layers)
    z_edges = np.empty(n + 1)
    z_edges[0] = float(z_start)
    a = np.zeros(n)
    w = np.zeros(n)
    c = np.zeros(n)
    cell_lo = np.zeros(n, dtype=np.int64)
    offset = np.zeros(n + 1, dtype=np.int64)
    mat_open = np.zeros(n, dtype=np.int64)
    mat_wall = np.full(n, -1, dtype=np.int64)
    rho_open = np.ones(n)
    rho_wall = np.ones(n)
    for l, layer in enumerate(layers):
        if not layer.thickness > 0:
            raise ValueError(f"layer {l}: thickness must be > 0, got {layer.thickness!r}")
        if layer.material < 0 or not layer.density > 0:
            raise ValueError(f"layer {l}: material must be ≥ 0 and density > 0")
        z_edges[l + 1] = z_edges[l] + layer.thickness
        mat_open[l], rho_open[l] = layer.material, layer.density
        n_cells = 1
        if layer.period > 0:
            if not 0 < layer.slit_width < layer.period:
                raise ValueError(f"layer {l}: slit width must lie in (0, period), got "
                                 f"{layer.slit_width!r}, period {layer.period!r}")
            if layer.wall_material < 0 or not layer.wall_density > 0:
                raise ValueError(f"layer {l}: wall material must be ≥ 0 and wall density > 0")
            a[l] = layer.first_slit_center - 0.5 * layer.slit_width
            w[l], c[l] = layer.slit_width, layer.period
            mat_wall[l], rho_wall[l] = layer.wall_material, layer.wall_density
            lo = slit_cell(x_min, a[l], w[l], c[l])
            hi = slit_cell(x_max, a[l], w[l], c[l])
            if cell_boundary(hi, a[l], w[l], c[l]) >= x_max:
                hi -= 1
            cell_lo[l] = lo
            n_cells = hi - lo + 1
        elif layer.period != 0:
            raise ValueError(f"layer {l}: period must be ≥ 0, got {layer.period!r}")
        offset[l + 1] = offset[l] + n_cells
    return SlabWorld(x_min, x_max, y_min, y_max, z_edges, a, w, c, cell_lo, offset,
                     mat_open, mat_wall, rho_open, rho_wall)


@nb.njit(cache=True)
def _layer_region(world, l, x):
    """Region of layer l at lateral position x (the cell clamped to the layer's cells in the box)."""
    off = world.region_offset[l]
    if world.period[l] <= 0.0:
        return off
    m = slit_cell(x, world.slit_start[l], world.slit_width[l], world.period[l]) - world.cell_lo[l]
    n = world.region_offset[l + 1] - off
    if m < 0:
        m = 0
    elif m >= n:
        m = n - 1
    return off + m


@nb.njit(cache=True)
def slab_locate(world, x, y, z):
    """Region of a point, or ``REGION_OUTSIDE``."""
    ze = world.z_edges
    if not (world.x_min <= x < world.x_max and world.y_min <= y < world.y_max and ze[0] <= z < ze[ze.size - 1]):
        return REGION_OUTSIDE
    l = np.searchsorted(ze, z, side="right") - 1
    return _layer_region(world, l, x)


@nb.njit(cache=True, inline="always")
def _layer_of(world, region):
    return np.searchsorted(world.region_offset, region, side="right") - 1


@nb.njit(cache=True)
def slab_distance(world, region, x, y, z, ux, uy, uz):
    """Distance to the boundary of ``region`` along u and the region behind it.

    ``t = min(t_z, t_x, t_y)`` over the layer's z planes, the cell's x boundaries
    ``b(m)``, ``b(m+1)`` (clipped to the box) and the box's y walls; ties go to z, then x.
    """
    l = _layer_of(world, region)
    nl = world.z_edges.size - 1
    # z planes of the layer
    tz = INF_DISTANCE
    lz = l
    if uz > 0.0:
        tz = (world.z_edges[l + 1] - z) / uz
        lz = l + 1
    elif uz < 0.0:
        tz = (world.z_edges[l] - z) / uz
        lz = l - 1
    # x boundaries of the cell (or the box walls)
    lo = world.x_min
    hi = world.x_max
    m = 0
    periodic = world.period[l] > 0.0
    if periodic:
        m = world.cell_lo[l] + (region - world.region_offset[l])
        a = world.slit_start[l]
        w = world.slit_width[l]
        c = world.period[l]
        b0 = cell_boundary(m, a, w, c)
        b1 = cell_boundary(m + 1, a, w, c)
        if b0 > lo:
            lo = b0
        if b1 < hi:
            hi = b1
    tx = INF_DISTANCE
    step = 0
    if ux > 0.0:
        tx = (hi - x) / ux
        step = 1
    elif ux < 0.0:
        tx = (lo - x) / ux
        step = -1
    ty = INF_DISTANCE
    if uy > 0.0:
        ty = (world.y_max - y) / uy
    elif uy < 0.0:
        ty = (world.y_min - y) / uy
    if tz <= tx and tz <= ty:
        t = tz if tz > 0.0 else 0.0
        if t >= INF_DISTANCE:
            return INF_DISTANCE, region
        if lz < 0 or lz >= nl:
            return t, REGION_OUTSIDE
        return t, _layer_region(world, lz, x + t * ux)
    if tx <= ty:
        t = tx if tx > 0.0 else 0.0
        nxt = region + step
        if not periodic or nxt < world.region_offset[l] or nxt >= world.region_offset[l + 1]:
            return t, REGION_OUTSIDE
        return t, nxt
    return (ty if ty > 0.0 else 0.0), REGION_OUTSIDE


@nb.njit(cache=True)
def slab_material(world, region):
    """Material row of a region (−1 outside): the layer's, or its slit/wall material."""
    if region < 0:
        return -1
    l = _layer_of(world, region)
    if world.period[l] <= 0.0:
        return world.mat_open[l]
    m = world.cell_lo[l] + (region - world.region_offset[l])
    return world.mat_open[l] if m % 2 == 0 else world.mat_wall[l]


@nb.njit(cache=True)
def slab_density(world, region):
    """Relative density of a region (0 outside)."""
    if region < 0:
        return 0.0
    l = _layer_of(world, region)
    if world.period[l] <= 0.0:
        return world.rho_open[l]
    m = world.cell_lo[l] + (region - world.region_offset[l])
    return world.rho_open[l] if m % 2 == 0 else world.rho_wall[l]


# -- the world protocol --------------------------------------------------------------------

@overload(world_locate, jit_options={"cache": True})
def _ov_locate(world, x, y, z):
    if is_world_type(world, SlabWorld):
        return lambda world, x, y, z: slab_locate(world, x, y, z)


@overload(world_distance, jit_options={"cache": True})
def _ov_distance(world, region, x, y, z, ux, uy, uz):
    if is_world_type(world, SlabWorld):
        return lambda world, region, x, y, z, ux, uy, uz: slab_distance(world, region, x, y, z, ux, uy, uz)


@overload(world_material, jit_options={"cache": True})
def _ov_material(world, region):
    if is_world_type(world, SlabWorld):
        return lambda world, region: slab_material(world, region)


@overload(world_density, jit_options={"cache": True})
def _ov_density(world, region):
    if is_world_type(world, SlabWorld):
        return lambda world, region: slab_density(world, region)


@overload(world_tagged, jit_options={"cache": True})
def _ov_tagged(world, region):
    if is_world_type(world, SlabWorld):
        return lambda world, region: False


@overload(world_snap, jit_options={"cache": True})
def _ov_snap(world, region, x, y, z):
    if is_world_type(world, SlabWorld):
        return lambda world, region, x, y, z: (x, y, z)
