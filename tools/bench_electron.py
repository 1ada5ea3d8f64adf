#!/usr/bin/env python
"""Speed of the liquid-water track-structure electron transport (one core).

Prints, for mono-energetic primaries of 1–50 keV in infinite water (cut-off 10 eV), the
number of interaction events (ionizations + excitations + elastic collisions of the primary
and all secondaries) simulated per second of wall time on one core (target ≥ 2×10⁶), and
the time from a fresh interpreter to the end of the first history with a warm numba cache
(import + cross-section tables + cache load) and with a cold cache (full compilation).

Run from a checkout with hpcmc installed: ``python tools/bench_electron.py [--quick]``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

_FIRST_HISTORY_SNIPPET = (
    "import time; t0 = time.perf_counter();"
    "from hpcmc.physics.electron_water import run_electron_history;"
    "run_electron_history(1, 0, 1e3);"
    "print(time.perf_counter() - t0)"
)


def _time_first_history(cache_dir=None) -> float:
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    out = subprocess.run([sys.executable, "-c", _FIRST_HISTORY_SNIPPET], capture_output=True, text=True,
                         env=env, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def bench_electrons(energies_keV=(1, 2, 5, 10, 20, 50), seconds_per_energy=1.0, cold=True):
    """Print events/s per core per primary energy and the time to the first history.

    Parameters
    ----------
    energies_keV : sequence of float
        Primary energies  [keV].
    seconds_per_energy : float
        Approximate wall time spent per energy  [s].
    cold : bool
        Also measure the first-history time with an empty numba cache (full compile).

    Returns
    -------
    dict
        ``{"events_per_s": {E_keV: rate}, "first_history_warm_s": t, "first_history_cold_s": t}``.
    """
    from hpcmc.physics import electron_water as ew

    t_warm = _time_first_history()  # also makes sure the cache is populated
    t_cold = None
    if cold:
        with tempfile.TemporaryDirectory() as d:
            t_cold = _time_first_history(cache_dir=d)
    ew.run_electron_batch(1, 0, 1, 1e3)  # warm this process
    rates = {}
    print(f"{'E0 [keV]':>9} {'histories':>10} {'events/hist':>12} {'events/s':>12} {'hist/s':>10}")
    for e_kev in energies_keV:
        e = e_kev * 1e3
        # size a batch from a short probe, then time it
        t0 = time.perf_counter()
        probe = ew.run_electron_batch(2, 0, 2, e)
        dt = max(time.perf_counter() - t0, 1e-4)
        n = max(2, int(seconds_per_energy / (dt / 2)))
        t0 = time.perf_counter()
        out = ew.run_electron_batch(3, 0, n, e)
        dt = time.perf_counter() - t0
        events = float(out[:, [ew.S_N_IONIZATION, ew.S_N_EXCITATION, ew.S_N_ELASTIC]].sum())
        rates[e_kev] = events / dt
        print(f"{e_kev:9g} {n:10d} {events / n:12.4g} {events / dt:12.3e} {n / dt:10.4g}")
        del probe
    print(f"\ntime to first history (fresh interpreter, warm numba cache): {t_warm:.2f} s")
    if t_cold is not None:
        print(f"time to first history (fresh interpreter, empty numba cache): {t_cold:.2f} s")
    print(f"minimum rate: {min(rates.values()):.3e} events/s/core (target ≥ 2e6)")
    return {"events_per_s": rates, "first_history_warm_s": t_warm, "first_history_cold_s": t_cold}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="0.3 s per energy, no cold-cache timing")
    args = ap.parse_args(argv)
    res = bench_electrons(seconds_per_energy=0.3 if args.quick else 1.0, cold=not args.quick)
    return 0 if min(res["events_per_s"].values()) >= 2e6 else 1


if __name__ == "__main__":
    sys.exit(main())
