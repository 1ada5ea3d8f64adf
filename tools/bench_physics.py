#!/usr/bin/env python
"""Speed of hpcmc's physics kernels on one core.

Sections (each a ``bench_<what>(quick=False)`` function listed in :data:`SECTIONS`; other
engineers append theirs):

* ``bench_photon_gnp`` — 100 kVp photons (SpekPy, W 12°, 4 mm Al) through the gnp world
  (water cylinder 220 µm × 100 µm radius, 50 nm gold NP at the centre), electrons banked but not
  transported: photons/s per core for the whole source disk (b < 100 µm, the physical
  irradiation: almost every photon crosses the water without interacting) and for the
  first annulus (b < 50 nm, every photon crosses the NP); plus the time from a fresh
  interpreter to the end of the first history with a warm numba cache (imports, cached photon
  tables and spectrum, cached kernels) and, unless ``--quick``, with a cold numba cache.

Run from a checkout with hpcmc installed: ``python tools/bench_physics.py [--quick] [--only photon]``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

_PHOTON_FIRST_HISTORY = (
    "import time; t0 = time.perf_counter()\n"
    "from hpcmc.physics.photon_data import load_photon_data\n"
    "from hpcmc.apps.gnp.world import make_gnp_world\n"
    "from hpcmc.physics.spectrum import tube_spectrum\n"
    "from hpcmc.apps.gnp.photons import run_gnp_photons\n"
    "d = load_photon_data(['water', 'gold'])\n"
    "s = tube_spectrum(100.0, anode_angle_deg=12.0, filtration=[('Al', 4.0)])\n"
    "w = make_gnp_world(mat_np=d.index('gold'), mat_medium=d.index('water'))\n"
    "run_gnp_photons(d, w, s, 1)\n"
    "print(time.perf_counter() - t0)\n"
)


def _time_snippet(snippet: str, numba_cache_dir=None):
    """(time  [s] a fresh interpreter reports for ``snippet`` from its first line, total wall time  [s])."""
    env = dict(os.environ)
    if numba_cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = numba_cache_dir
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(f"benchmark snippet failed:\n{out.stderr}")
    return float(out.stdout.strip().splitlines()[-1]), wall


def bench_photon_gnp(quick=False):
    """Photons/s per core through the gnp world, and the time to the first history."""
    import numba

    numba.set_num_threads(1)
    from hpcmc.apps.gnp.photons import run_gnp_photons
    from hpcmc.apps.gnp.world import make_gnp_world
    from hpcmc.physics.photon_data import load_photon_data
    from hpcmc.physics.spectrum import tube_spectrum

    data = load_photon_data(["water", "gold"])
    spectrum = tube_spectrum(100.0, anode_angle_deg=12.0, filtration=[("Al", 4.0)])
    world = make_gnp_world(mat_np=data.index("gold"), mat_medium=data.index("water"))
    run_gnp_photons(data, world, spectrum, 10)  # compile / load the kernels
    print(f"photon transport, {spectrum.label}, HVL {spectrum.hvl_mm_al:.3f} mm Al, "
          f"mean {spectrum.mean_energy_eV * 1e-3:.2f} keV; gnp world, electrons banked only")
    n = 1_000_000 if quick else 5_000_000
    for label, b_hi in (("whole disk, b < 100 µm", world.cyl_radius_nm), ("annulus 0, b < 50 nm", 50.0)):
        best = None
        for rep in range(1 if quick else 3):
            t = time.perf_counter()
            tot = run_gnp_photons(data, world, spectrum, n, seed=1 + rep, b_hi_nm=b_hi)
            dt = time.perf_counter() - t
            best = dt if best is None else min(best, dt)
        inter = (tot["n_photo"] + tot["n_incoh"] + tot["n_coh"]) / tot["histories"]
        print(f"  {label:24s}: {n / best:10.3e} photons/s per core (target ≥ 3e6); "
              f"{inter:.4f} interactions/photon, P(NP interaction) {tot['np_histories'] / n:.2e}, "
              f"max |ΔE|/E {tot['max_rel_imbalance']:.1e}")
    warm, wall = _time_snippet(_PHOTON_FIRST_HISTORY)
    print(f"  time to first history, warm numba cache: {warm:.2f} s after interpreter start "
          f"({wall:.2f} s wall incl. interpreter; target ≤ 3 s)")
    if not quick:
        with tempfile.TemporaryDirectory() as tmp:
            cold, wall = _time_snippet(_PHOTON_FIRST_HISTORY, numba_cache_dir=tmp)
        print(f"  time to first history, cold numba cache (compilation): {cold:.2f} s ({wall:.2f} s wall)")


def bench_electron_water(quick=False):
    """Electron track structure in water, 1–50 keV: interaction events/s per core."""
    from bench_electron import bench_electrons

    print("electron track structure in liquid water:")
    bench_electrons(seconds_per_energy=0.3 if quick else 1.0, cold=not quick)


#: Benchmark sections in print order.
SECTIONS = [bench_photon_gnp, bench_electron_water]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer histories, no cold-cache timing")
    ap.add_argument("--only", default="", help="run only sections whose name contains this text")
    args = ap.parse_args(argv)
    for fn in SECTIONS:
        if args.only and args.only not in fn.__name__:
            continue
        fn(quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
