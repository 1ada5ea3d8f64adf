"""The world protocol: what a history kernel may ask of a geometry.

A *world* is a ``typing.NamedTuple`` of scalars and arrays (so numba takes it as one
argument) together with an implementation of four generic kernels, chosen by numba at
compile time from the NamedTuple's class (``numba.extending.overload``; no run-time
dispatch, so a history kernel compiled for one world type is as fast as one written for it):

* ``world_locate(world, x, y, z) -> region`` — the region containing a point, or
  :data:`REGION_OUTSIDE` (−1) outside the world;
* ``world_distance(world, region, x, y, z, ux, uy, uz) -> (d, next_region)`` — distance
  ``d ≥ 0`` along the unit direction from a point in ``region`` to the boundary of that
  region, and the region behind the boundary (:data:`REGION_OUTSIDE` if the particle leaves
  the world);
* ``world_material(world, region) -> int`` — the material row (in the tables the kernel uses)
  of a region, −1 outside;
* ``world_density(world, region) -> float`` — the density of the region relative to the
  nominal density of its material's table (macroscopic cross sections scale with it;
  1.0 for a world without density variations);
* ``world_tagged(world, region) -> bool`` — whether the region is one the caller counts
  interactions in separately (e.g. the nanoparticle of the gnp world); False elsewhere;
* ``world_snap(world, region, x, y, z) -> (x, y, z)`` — a point that has just reached the
  boundary of ``region`` (moving into it), put exactly onto that boundary where rounding
  matters (a curved surface); the point itself for planar boundaries.

Transport moves a particle to the boundary, *sets* its region to ``next_region`` (it does not
re-locate the point, which would be fragile on a surface) and continues. Kernels of physics
models never see the geometry: the history kernel of a species asks the world where the next
boundary is and which material lies in a region, and passes the material to the models.

Units: a world stores lengths in the unit of the kernels that transport through it; the
photon kernels of :mod:`hpcmc.physics.photon` use nm (their μ tables are per nm), so a voxel
phantom of 1 mm voxels has edges 1e6 nm apart. Each world's constructor documents its fields.

A new world type is a NamedTuple class plus one ``overload`` per generic kernel, each
returning an implementation only when ``is_world_type(world, TheClass)``; importing the
world's module registers them (it is imported wherever the world is built).
"""
from __future__ import annotations

from numba import types

__all__ = [
    "REGION_OUTSIDE", "INF_DISTANCE", "is_world_type",
    "world_locate", "world_distance", "world_material", "world_density", "world_tagged", "world_snap",
]

#: Region of a point outside the world.
REGION_OUTSIDE = -1
#: Distance meaning "no boundary along this direction"  [length unit of the world].
INF_DISTANCE = 1.0e300


def is_world_type(world_type, cls) -> bool:
    """True if the numba type ``world_type`` is the NamedTuple class ``cls`` (for overloads)."""
    return isinstance(world_type, types.BaseNamedTuple) and world_type.instance_class is cls


def _protocol_stub(name):
    def stub(*args):
        raise TypeError(f"{name} is a numba generic kernel of the world protocol; call it from "
                        f"@njit code with a world whose module is imported")
    stub.__name__ = name
    stub.__qualname__ = name
    return stub


#: ``world_locate(world, x, y, z) -> region``.
world_locate = _protocol_stub("world_locate")
#: ``world_distance(world, region, x, y, z, ux, uy, uz) -> (d, next_region)``.
world_distance = _protocol_stub("world_distance")
#: ``world_material(world, region) -> material row``.
world_material = _protocol_stub("world_material")
#: ``world_density(world, region) -> density / nominal density of the material``.
world_density = _protocol_stub("world_density")
#: ``world_tagged(world, region) -> bool``.
world_tagged = _protocol_stub("world_tagged")
#: ``world_snap(world, region, x, y, z) -> (x, y, z)``.
world_snap = _protocol_stub("world_snap")
