"""World protocol: voxel and periodic-slab worlds (locate/distance by hand) and narrow-beam
photon transmission through them against exp(−Σ μ_i t_i) from the package's own tables."""
from __future__ import annotations

import math

import numba as nb
import numpy as np
import pytest

from hpcmc.physics import photon as ph
from hpcmc.physics.materials import get_material
from hpcmc.physics.photon_data import load_photon_data
from hpcmc.physics.slab_world import homogeneous_layer, make_slab_world, slit_layer
from hpcmc.physics.voxel_world import make_voxel_world
from hpcmc.physics.world import (REGION_OUTSIDE, world_density, world_distance, world_locate,
                                 world_material)
from hpcmc.runtime.rng import stream_key

KEY = stream_key("test")
CM = 1.0e7  # nm


@nb.njit(cache=True)
def _locate(world, x, y, z):
    return world_locate(world, x, y, z)


@nb.njit(cache=True)
def _distance(world, region, x, y, z, ux, uy, uz):
    return world_distance(world, region, x, y, z, ux, uy, uz)


@nb.njit(cache=True)
def _material(world, region):
    return world_material(world, region), world_density(world, region)


def _trace(world, p, u, max_steps=1000):
    """[(region, distance)] from p along u until the world is left."""
    p = np.array(p, dtype=float)
    u = np.array(u, dtype=float) / np.linalg.norm(u)
    region = _locate(world, *p)
    steps = []
    while region != REGION_OUTSIDE and len(steps) < max_steps:
        d, nxt = _distance(world, region, *p, *u)
        steps.append((region, d))
        # the midpoint of a step of positive length is located in the region stepped through
        if d > 1e-9:
            assert _locate(world, *(p + 0.5 * d * u)) == region
        p = p + d * u
        region = nxt
    return steps


# -- voxel world -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cube():
    """3×3×3 unit voxels on [0, 3]³, material = flat index, density 1 + index/100."""
    e = [0.0, 1.0, 2.0, 3.0]
    idx = np.arange(27).reshape(3, 3, 3)
    return make_voxel_world(e, e, e, idx, 1.0 + idx / 100.0)


def test_voxel_locate(cube):
    assert _locate(cube, 0.5, 0.5, 0.5) == 0
    assert _locate(cube, 1.5, 0.5, 2.5) == (1 * 3 + 0) * 3 + 2
    assert _locate(cube, 1.0, 1.0, 1.0) == 13          # on faces: the voxel above
    assert _locate(cube, 3.0, 0.5, 0.5) == REGION_OUTSIDE
    assert _locate(cube, -1e-12, 0.5, 0.5) == REGION_OUTSIDE
    assert _material(cube, 11) == (11, 1.11)


def test_voxel_distance_axis_and_faces(cube):
    assert _distance(cube, 0, 0.5, 0.5, 0.5, 1.0, 0.0, 0.0) == (0.5, 9)
    assert _distance(cube, 0, 0.5, 0.5, 0.5, 0.0, -1.0, 0.0) == (0.5, REGION_OUTSIDE)
    # along a face: x = 1 (voxel i = 1), moving +z: three unit steps through (1, 0, k)
    steps = _trace(cube, (1.0, 0.5, 0.0), (0.0, 0.0, 1.0))
    assert [r for r, _ in steps] == [9, 10, 11]
    assert [d for _, d in steps] == [1.0, 1.0, 1.0]
    # along an edge x = 1, y = 2, moving −z from z = 2.5
    steps = _trace(cube, (1.0, 2.0, 2.5), (0.0, 0.0, -1.0))
    assert [r for r, _ in steps] == [17, 16, 15] and sum(d for _, d in steps) == 2.5


def test_voxel_diagonal_rays(cube):
    # body diagonal through the voxel corners: faces taken one at a time, x then y then z
    s3 = math.sqrt(3.0)
    steps = _trace(cube, (0.5, 0.5, 0.5), (1.0, 1.0, 1.0))
    assert [r for r, _ in steps] == [0, 9, 12, 13, 22, 25, 26]
    d = [d for _, d in steps]
    assert d[0] == pytest.approx(0.5 * s3) and d[1] == d[2] == 0.0
    assert d[3] == pytest.approx(s3) and d[4] == d[5] == 0.0 and d[6] == pytest.approx(s3)
    # an oblique ray in the plane z = 0.5 at 30° to x from (0.2, 0.5): x planes at
    # t = 0.8/cos30°, 1.8/cos30°, 2.8/cos30° (0.924, 2.078, 3.233), y planes at t = 1, 3
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    steps = _trace(cube, (0.2, 0.5, 0.5), (c, s, 0.0))
    assert [r for r, _ in steps] == [0, 9, 12, 21, 24]
    np.testing.assert_allclose(np.cumsum([d for _, d in steps]), [0.8 / c, 1.0, 1.8 / c, 3.0, 2.8 / c],
                               rtol=1e-14)


# -- periodic slab world -------------------------------------------------------------------

@pytest.fixture(scope="module")
def collimator():
    """Slits of width 1 every 4 (centre x = 0) over z ∈ [0, 10), box |x|, |y| < 10; water z ∈ [10, 30).

    Cells b(m) = −0.5 + ⌊m/2⌋·4 + (m mod 2): m = 0 slit [−0.5, 0.5), m = 1 wall [0.5, 3.5),
    m = −1 wall [−3.5, −0.5) …; the box holds m = −5 … 5 (regions 0 … 10), water is region 11.
    """
    return make_slab_world((-10.0, 10.0), (-10.0, 10.0), 0.0,
                           [slit_layer(10.0, 0, 1, 1.0, 4.0, open_density=0.5, wall_density=2.0),
                            homogeneous_layer(20.0, 2)])


def test_slab_locate(collimator):
    w = collimator
    assert list(w.region_offset) == [0, 11, 12]
    assert _locate(w, 0.0, 0.0, 5.0) == 5 and _material(w, 5) == (0, 0.5)
    assert _locate(w, 2.0, 0.0, 5.0) == 6 and _material(w, 6) == (1, 2.0)
    assert _locate(w, -4.0, 0.0, 5.0) == 3 and _material(w, 3) == (0, 0.5)     # slit m = −2
    assert _locate(w, -9.9, 0.0, 1.0) == 0 and _material(w, 0)[0] == 1        # wall m = −5, clipped
    assert _locate(w, 9.99, 0.0, 1.0) == 10
    assert _locate(w, 0.5, 0.0, 1.0) == 6                                      # on a slit edge
    assert _locate(w, 0.0, 0.0, 15.0) == 11 and _material(w, 11) == (2, 1.0)
    assert _locate(w, 0.0, 0.0, 30.0) == REGION_OUTSIDE
    assert _locate(w, 0.0, 10.0, 5.0) == REGION_OUTSIDE


def test_slab_crossing_several_periods(collimator):
    # from (0, 0, 0) at tan θ = 0.8 in the x–z plane: x = 0.8 z reaches 8 at z = 10, crossing
    # the cell boundaries x = 0.5, 3.5, 4.5, 7.5, then the water (z = 10 … 30, x = 8 … 24 →
    # the box wall x = 10 at z = 12.5)
    u = np.array([0.8, 0.0, 1.0]) / math.hypot(0.8, 1.0)
    steps = _trace(collimator, (0.0, 0.0, 0.0), u)
    assert [r for r, _ in steps] == [5, 6, 7, 8, 9, 11]
    xs = np.cumsum([d for _, d in steps]) * u[0]
    np.testing.assert_allclose(xs, [0.5, 3.5, 4.5, 7.5, 8.0, 10.0], rtol=1e-14)
    tungsten = sum(d for r, d in steps if _material(collimator, r)[0] == 1)
    assert tungsten == pytest.approx(6.0 / u[0], rel=1e-14)
    # the same backwards in x: boundaries −0.5, −3.5, −4.5, −7.5
    steps = _trace(collimator, (0.0, 0.0, 0.0), u * [-1, 1, 1])
    assert [r for r, _ in steps] == [5, 4, 3, 2, 1, 11]


def test_slab_z_crossings_and_walls(collimator):
    w = collimator
    # water → wall → out through the entrance plane
    assert _trace(w, (2.0, 0.0, 15.0), (0.0, 0.0, -1.0)) == [(11, 5.0), (6, 10.0)]
    # water → slit of m = 2 at x = 4
    assert _distance(w, 11, 4.0, 0.0, 15.0, 0.0, 0.0, -1.0) == (5.0, 7)
    # out through a y wall
    assert _distance(w, 5, 0.0, 0.0, 5.0, 0.0, 1.0, 0.0) == (10.0, REGION_OUTSIDE)
    # the clipped first/last cells end at the box wall
    assert _distance(w, 10, 9.0, 0.0, 5.0, 1.0, 0.0, 0.0) == (1.0, REGION_OUTSIDE)
    assert _distance(w, 0, -9.0, 0.0, 5.0, -1.0, 0.0, 0.0) == (1.0, REGION_OUTSIDE)


# -- narrow-beam transmission --------------------------------------------------------------

@pytest.fixture(scope="module")
def tissue_data():
    return load_photon_data(["water", "lung", "bone", "tungsten", "air"])


def _binomial_ok(k, n, p):
    return abs(k - n * p) < 3.0 * math.sqrt(n * p * (1.0 - p))


@pytest.mark.parametrize("e_keV", [30.0, 100.0])
def test_voxel_stack_narrow_beam(tissue_data, e_keV):
    """Water 2 cm / lung at 0.26 g/cm³ 4 cm / bone 1 cm / water 2 cm, as a 3×3×9 voxel grid of
    1 cm voxels along z; a pencil beam on the axis counts uncollided photons."""
    d = tissue_data
    names = ["water", "water", "lung", "lung", "lung", "lung", "bone", "water", "water"]
    rho_lung = 0.26 / get_material("lung").density_g_cm3
    mat = np.empty((3, 3, len(names)), dtype=np.int64)
    rho = np.ones(mat.shape)
    for k, name in enumerate(names):
        mat[:, :, k] = d.index(name)
        rho[:, :, k] = rho_lung if name == "lung" else 1.0
    z_edges = np.arange(len(names) + 1) * CM
    world = make_voxel_world(np.array([-3.0, -1.0, 1.0, 3.0]) * CM, np.array([-3.0, -1.0, 1.0, 3.0]) * CM,
                             z_edges, mat, rho)
    e_eV = e_keV * 1e3
    mu_t = sum(float(d.mu_per_nm(nm, e_eV)[0]) * (rho_lung if nm == "lung" else 1.0) * CM for nm in names)
    p = math.exp(-mu_t)
    n = 20_000
    start = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 1.0, e_eV])
    k = ph.world_narrow_beam_uncollided(d.tables, world, start, n, np.uint64(5), KEY)
    assert _binomial_ok(k, n, p), (k / n, p)


@pytest.mark.parametrize("x0,expect", [(0.0, "slit"), (2.0, "slit"), (1.0, "wall"), (-3.0, "wall")])
def test_slab_collimator_narrow_beam(tissue_data, x0, expect):
    """Tungsten multi-slit collimator (0.5 mm slits of air every 2 mm, 0.2 mm thick) then 3 cm
    of water; a pencil beam at 100 keV through a slit or through a wall."""
    d = tissue_data
    mm = 1.0e6
    world = make_slab_world((-20 * mm, 20 * mm), (-20 * mm, 20 * mm), 0.0,
                            [slit_layer(0.2 * mm, d.index("air"), d.index("tungsten"), 0.5 * mm, 2.0 * mm),
                             homogeneous_layer(30 * mm, d.index("water"))])
    e_eV = 1.0e5
    first = d.index("air") if expect == "slit" else d.index("tungsten")
    mu_t = (float(d.mu_per_nm(d.materials[first].name, e_eV)[0]) * 0.2 * mm
            + float(d.mu_per_nm("water", e_eV)[0]) * 30 * mm)
    p = math.exp(-mu_t)
    n = 20_000
    start = np.array([x0 * mm, 0.0, 0.0, 0.0, 0.0, 1.0, e_eV])
    k = ph.world_narrow_beam_uncollided(d.tables, world, start, n, np.uint64(6), KEY)
    assert _binomial_ok(k, n, p), (k / n, p)


# -- sphere world (the water electron kernel's world) ------------------------------------------

def test_sphere_world_locate_distance_snap():
    from hpcmc.physics.sphere_world import REGION_INNER, REGION_SHELL, make_sphere_world, sphere_world_snap

    w = make_sphere_world((0.0, 0.0, 30.0), 120.0, 10.0)
    assert _locate(w, 0.0, 0.0, 0.0) == REGION_INNER
    assert _locate(w, 0.0, 0.0, 11.0) == REGION_SHELL
    assert _locate(w, 0.0, 0.0, 151.0) == REGION_OUTSIDE
    assert _material(w, REGION_INNER) == (1, 1.0) and _material(w, REGION_SHELL) == (0, 1.0)
    # from z = −50 along +z: the inner sphere is entered at z = −10
    assert _distance(w, REGION_SHELL, 0.0, 0.0, -50.0, 0.0, 0.0, 1.0) == (40.0, REGION_INNER)
    # along −z: the outer sphere (centre z = 30, radius 120) is left at z = −90
    assert _distance(w, REGION_SHELL, 0.0, 0.0, -50.0, 0.0, 0.0, -1.0) == (40.0, REGION_OUTSIDE)
    # inside the inner sphere: its exit, then the shell
    assert _distance(w, REGION_INNER, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0) == (10.0, REGION_SHELL)
    x, y, z = sphere_world_snap(w, REGION_INNER, 3.0, 4.0, 0.0)
    assert math.isclose(math.sqrt(x * x + y * y + z * z), 10.0, rel_tol=1e-15)
    # an unbounded medium without inner sphere has no boundary
    free = make_sphere_world()
    assert _distance(free, REGION_SHELL, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)[1] == REGION_SHELL
