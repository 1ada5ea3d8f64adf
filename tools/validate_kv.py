#!/usr/bin/env python
"""Validation of hpcmc's kV physics: measured vs reference, with the source of each reference.

Each ``validate_<topic>_*()`` function returns a list of rows ``(name, measured, reference,
source, passed)``; :data:`VALIDATORS` lists them in print order and :func:`main` prints one
table. To add a topic, write ``validate_<topic>_<what>(quick=False)`` and append it to
:data:`VALIDATORS`. Run from a checkout with hpcmc installed::

    python tools/validate_kv.py [--quick] [--only photon]

Photon references: xraylib 4.3 (≈ NIST XCOM) mass attenuation coefficients; xraylib
4.3 itself (partial cross sections, ``DCS_Compt`` = Klein–Nishina × S(x, Z), ``DCS_Rayl`` =
Thomson × F², ``CS_Photo_Partial``); exp(−μx) for narrow-beam transmission; SpekPy's HVL;
Thomas et al. (2025), §2.3 for the NP interaction probability (≈ 1.5×10⁻³).
"""
from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

SEED = 271828


def _fmt(v) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if v is None:
        return "-"
    v = float(v)
    if v == 0 or 1e-3 <= abs(v) < 1e5:
        return f"{v:.5g}"
    return f"{v:.4e}"


# -- photons ---------------------------------------------------------------------------------

def _photon_setup():
    from hpcmc.physics.photon_data import load_photon_data

    return load_photon_data(["water", "gold"])


def _stream():
    from hpcmc.runtime.rng import stream_key

    return stream_key("validate_kv")


PHYSICS_MD_MU = [  # (material, keV, channel, cm²/g) — xraylib 4.3 (≈ NIST XCOM)
    ("gold", 30, "total", 27.52), ("gold", 30, "photo", 26.12),
    ("gold", 50, "total", 7.258), ("gold", 50, "photo", 6.537),
    ("gold", 80, "total", 2.185), ("gold", 80, "photo", 1.791),
    ("gold", 100, "total", 5.158), ("gold", 100, "photo", 4.855),
    ("water", 30, "total", 0.3756), ("water", 30, "photo", 0.1457),
    ("water", 50, "total", 0.2270), ("water", 100, "total", 0.1708),
]


def validate_photon_tables(quick=False):
    """Interpolated μ/ρ at the reference energies (±0.1 %) and the worst interpolation error."""
    from hpcmc.physics.photon_data import xraylib_mass_attenuation_cm2_g

    data = _photon_setup()
    rows = []
    for mat, e_keV, ch, ref in PHYSICS_MD_MU:
        got = float(data.mass_attenuation_cm2_g(mat, e_keV * 1e3, ch)[0])
        rows.append((f"μ/ρ {ch} {mat} {e_keV} keV [cm²/g]", got, ref, "xraylib 4.3 (≈ NIST XCOM)",
                     abs(got / ref - 1) < 1e-3))
    le = data.tables.log_energy
    d = np.diff(le)
    mid = np.exp(le[:-1] + 0.5 * d)[d > 0]
    if quick:
        mid = mid[::4]
    worst = 0.0
    for m in data.materials:
        for ch in ("total", "photo", "incoh", "coh"):
            got = data.mass_attenuation_cm2_g(m.name, mid, ch)
            ref = np.array([xraylib_mass_attenuation_cm2_g(m, e * 1e-3, ch) for e in mid])
            worst = max(worst, float(np.max(np.abs(got / ref - 1))))
    rows.append(("max log-log interpolation error, water+gold, 1-800 keV", worst, 1e-3,
                 "xraylib 4.3 at interval mid-points", worst < 1e-3))
    return rows


def validate_photon_channels(quick=False):
    """Sampled interaction-type frequencies vs xraylib's partial cross sections (3σ)."""
    from hpcmc.physics import photon as ph
    from hpcmc.physics.photon_data import xraylib_mass_attenuation_cm2_g

    data = _photon_setup()
    n = 200_000 if quick else 2_000_000
    rows = []
    for mat in ("water", "gold"):
        m = data.index(mat)
        for e_keV in (30, 50, 80, 100):
            counts = ph.sample_interaction_counts(data.tables, m, e_keV * 1e3, n, np.uint64(SEED + e_keV), _stream())
            ref = np.array([xraylib_mass_attenuation_cm2_g(data.materials[m], e_keV, ch)
                            for ch in ("photo", "incoh", "coh")])
            p = ref / ref.sum()
            for k, ch in enumerate(("photo", "incoh", "coh")):
                sigma = math.sqrt(n * p[k] * (1 - p[k]))
                rows.append((f"P({ch}) {mat} {e_keV} keV", counts[k] / n, p[k], "xraylib CS_Photo/Compt/Rayl",
                             abs(counts[k] - n * p[k]) < 3 * sigma))
    return rows


def validate_photon_transmission(quick=False):
    """Narrow-beam (uncollided) transmission through slabs vs exp(−μx) (3σ)."""
    from hpcmc.apps.gnp import photons as gph
    from hpcmc.apps.gnp import world as gw
    from hpcmc.physics import photon as ph
    from hpcmc.physics.photon_data import xraylib_mass_attenuation_cm2_g

    data = _photon_setup()
    n = 100_000 if quick else 1_000_000
    rows = []
    for mat, e_keV, length_nm in (("gold", 30, 2.0e4), ("gold", 80, 1.0e5), ("gold", 100, 1.0e5),
                                  ("water", 30, 3.0e7), ("water", 50, 5.0e7), ("water", 100, 6.0e7)):
        m = data.index(mat)
        world = gw.make_gnp_world(np_radius_nm=0.0, cyl_radius_nm=1e9, cyl_length_nm=length_nm, mat_medium=m)
        k = gph.narrow_beam_uncollided(data.tables, world, e_keV * 1e3, n, np.uint64(SEED), _stream())
        material = data.materials[m]
        mu = xraylib_mass_attenuation_cm2_g(material, e_keV, "total") * material.density_g_cm3 * 1e-7
        p = math.exp(-mu * length_nm)
        sigma = math.sqrt(n * p * (1 - p))
        rows.append((f"T {mat} {length_nm * 1e-3:g} µm, {e_keV} keV", k / n, p, "exp(-μx), μ from xraylib",
                     abs(k - n * p) < 3 * sigma))
    return rows


def _gauss_bins(edges, pdf, order=16):
    xg, wg = np.polynomial.legendre.leggauss(order)
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        x = 0.5 * (b - a) * xg + 0.5 * (a + b)
        out.append(0.5 * (b - a) * np.sum(wg * pdf(x)))
    return np.abs(np.array(out))


def _chi2_p(obs, exp):
    from scipy import stats

    keep = exp > 5
    return float(stats.chisquare(obs[keep], exp[keep] * obs[keep].sum() / exp[keep].sum()).pvalue)


def validate_photon_incoherent(quick=False):
    """Scattered-photon energy distribution vs Klein–Nishina × S(x, Z) (χ², p > 1e-3)."""
    import xraylib

    from hpcmc.physics import photon as ph
    from hpcmc.physics.photon_data import MEC2_EV

    data = _photon_setup()
    n = 200_000 if quick else 2_000_000
    rows = []
    for mat, e_keV in (("water", 50.0), ("water", 20.0), ("gold", 50.0)):
        m = data.index(mat)
        material = data.materials[m]
        kappa = e_keV * 1e3 / MEC2_EV
        e1, _ = ph.sample_incoherent_array(data.tables, m, e_keV * 1e3, n, np.uint64(SEED), _stream())
        edges = np.linspace(1 / (1 + 2 * kappa), 1.0, 41)
        obs, _ = np.histogram(e1 / (e_keV * 1e3), edges)

        def dcs(c):
            th = np.arccos(np.clip(c, -1, 1))
            return sum(w * np.array([xraylib.DCS_Compt(z, e_keV, t) for t in th])
                       for z, w in zip(material.elements, material.mass_fractions))

        exp = _gauss_bins(1 - (1 / edges - 1) / kappa, dcs)
        p = _chi2_p(obs, exp * n / exp.sum())
        rows.append((f"incoherent E'/E χ² p-value, {mat} {e_keV:g} keV (40 bins)", p, 1e-3,
                     "xraylib DCS_Compt (KN × SF_Compt)", p > 1e-3))
    return rows


def validate_photon_coherent(quick=False):
    """Rayleigh angular distribution vs Thomson × F² (χ², p > 1e-3)."""
    import xraylib

    from hpcmc.physics import photon as ph

    data = _photon_setup()
    n = 200_000 if quick else 2_000_000
    rows = []
    for mat, e_keV in (("gold", 50.0), ("water", 30.0)):
        m = data.index(mat)
        material = data.materials[m]
        c = ph.sample_coherent_array(data.tables, m, e_keV * 1e3, n, np.uint64(SEED), _stream())
        edges = np.sort(1 - np.concatenate(([0.0], np.geomspace(1e-4, 2.0, 40))))
        obs, _ = np.histogram(c, edges)
        exp = _gauss_bins(edges, lambda x: sum(w * np.array([xraylib.DCS_Rayl(z, e_keV, t) for t in np.arccos(x)])
                                               for z, w in zip(material.elements, material.mass_fractions)))
        p = _chi2_p(obs, exp * n / exp.sum())
        rows.append((f"coherent cos θ χ² p-value, {mat} {e_keV:g} keV", p, 1e-3, "xraylib DCS_Rayl (Thomson × F²)",
                     p > 1e-3))
    return rows


def validate_photon_sauter(quick=False):
    """Photoelectron angular distribution vs the Sauter formula (χ², p > 1e-3)."""
    from hpcmc.physics import photon as ph
    from hpcmc.physics.photon_data import MEC2_EV

    n = 200_000 if quick else 2_000_000
    rows = []
    for t_eV in (2e3, 20e3, 80e3):
        c = ph.sample_sauter_array(t_eV, n, np.uint64(SEED), _stream())
        g = 1 + t_eV / MEC2_EV
        b = math.sqrt(t_eV * (t_eV + 2 * MEC2_EV)) / (t_eV + MEC2_EV)
        edges = np.linspace(-1, 1, 41)
        obs, _ = np.histogram(c, edges)
        exp = _gauss_bins(edges, lambda x: (1 - x**2) / (1 - b * x) ** 4 * (1 + 0.5 * g * (g - 1) * (g - 2) * (1 - b * x)))
        p = _chi2_p(obs, exp * n / exp.sum())
        rows.append((f"photoelectron cos θ χ² p-value, T = {t_eV * 1e-3:g} keV", p, 1e-3, "Sauter (1931)", p > 1e-3))
    return rows


def validate_photon_kshell(quick=False):
    """Gold K-shell (and L1, L3) share of photoabsorptions at 100 keV vs xraylib (3σ)."""
    from hpcmc.physics import photon as ph
    from hpcmc.physics.photon_data import xraylib_shell_fractions

    data = _photon_setup()
    n = 200_000 if quick else 2_000_000
    g = data.index("gold")
    counts = ph.sample_photo_channel_counts(data.tables, g, 100e3, n, np.uint64(SEED), _stream())
    shells = [int(s) for s in data.tables.pe_shell[g, :data.tables.pe_n[g]]]
    ref = xraylib_shell_fractions(79, 100.0)
    rows = []
    for s, name in ((0, "K"), (1, "L1"), (3, "L3")):
        k = counts[shells.index(s)]
        sigma = math.sqrt(n * ref[s] * (1 - ref[s]))
        rows.append((f"Au {name}-shell fraction of photoabsorption, 100 keV", k / n, ref[s],
                     "xraylib CS_Photo_Partial ratio", abs(k - n * ref[s]) < 3 * sigma))
    # K share of photoabsorptions in a thin gold target under the 100 kVp spectrum:
    # Σ p(E) μ_pe(E) f_K(E) / Σ p(E) μ_pe(E), 8 points per 0.5 keV bin (the K edge falls in one).
    from hpcmc.physics.spectrum import tube_spectrum

    spec = tube_spectrum(100.0, anode_angle_deg=12.0, filtration=[("Al", 4.0)])
    frac = (np.arange(8) + 0.5) / 8
    e = (spec.lo_eV[:, None] + frac[None, :] * (spec.hi_eV - spec.lo_eV)[:, None]).ravel()
    w = np.repeat(spec.probability / 8, 8)
    mu = data.mu_per_nm("gold", e, "photo")
    f_k = np.array([data.channel_probabilities("gold", x).get((79, 0), 0.0) for x in e])
    share = float(np.sum(w * mu * f_k) / np.sum(w * mu))
    rows.append(("Au K-shell share of photoabsorptions, 100 kVp 4 mm Al (thin target)", share, "0.02-0.035",
                 "xraylib 4.3 Kissel partials", 0.02 <= share <= 0.035))
    return rows


def validate_photon_bookkeeping(quick=False):
    """Per-history energy balance E_in = escaped + electrons + vacancy binding (+ local)."""
    import xraylib

    from hpcmc.apps.gnp import photons as gph
    from hpcmc.apps.gnp import world as gw
    from hpcmc.physics import photon as ph
    from hpcmc.physics.particles import P_E, PARTICLE_COLUMNS
    from hpcmc.runtime.rng import rng_seed

    data = _photon_setup()
    n = 300 if quick else 3000
    ebank = np.zeros((512, PARTICLE_COLUMNS))
    vbank = np.zeros((512, ph.VB_COLUMNS), dtype=np.int64)
    counts = np.zeros(2, dtype=np.int64)
    out = np.zeros(ph.N_OUT)
    state = np.zeros(2, dtype=np.uint64)
    rows = []
    cases = (("gold cylinder, 100 keV", gw.make_gnp_world(np_radius_nm=0.0, cyl_radius_nm=2e5, cyl_length_nm=4e5,
                                                          mat_medium=data.index("gold")), 100e3, (0.0, 0.0, -1.9e5)),
             ("gnp-type world with a 50 µm gold sphere in water, 60 keV",
              gw.make_gnp_world(np_radius_nm=5e4, mat_np=data.index("gold"), mat_medium=data.index("water")),
              60e3, (1e4, 0.0, -1.0e5)))
    for name, world, e_eV, (x0, y0, z0) in cases:
        worst = 0.0
        n_vac = 0
        for h in range(n):
            rng_seed(state, np.uint64(SEED), np.uint64(h), _stream())
            counts[:] = 0
            out[:] = 0
            st = ph.photon_history(data.tables, world, (x0, y0, z0, 0.0, 0.0, 1.0, e_eV), state, ebank, vbank,
                                       counts, out)
            if st != ph.STATUS_OK:
                raise RuntimeError(f"history {h} stopped with status {st}")
            binding = sum(xraylib.EdgeEnergy(int(z), int(s)) * 1e3 for z, s in vbank[:counts[1], :2])
            bal = out[ph.OUT_ESCAPED_EV] + ebank[:counts[0], P_E].sum() + binding + out[ph.OUT_LOCAL_EV]
            worst = max(worst, abs(bal - e_eV) / e_eV)
            n_vac += counts[1]
        rows.append((f"max |ΔE|/E per history, {name} ({n} hist., {n_vac} vacancies)", worst, 1e-9,
                     "energy conservation", worst <= 1e-9))
    return rows


def validate_photon_np_interaction(quick=False):
    """Probability that a 100 kVp photon aimed at the 50 nm gold NP interacts in it."""
    from hpcmc.apps.gnp import photons as gph
    from hpcmc.apps.gnp import world as gw
    from hpcmc.physics import photon as ph
    from hpcmc.physics.spectrum import tube_spectrum

    data = _photon_setup()
    spectrum = tube_spectrum(100.0, anode_angle_deg=12.0, filtration=[("Al", 4.0)])
    world = gw.make_gnp_world(mat_np=data.index("gold"), mat_medium=data.index("water"))
    n = 1_000_000 if quick else 10_000_000
    tot = gph.run_gnp_photons(data, world, spectrum, n, seed=SEED, b_hi_nm=50.0)
    e_mid = 0.5 * (spectrum.lo_eV + spectrum.hi_eV)
    mu = data.mu_per_nm("gold", e_mid)
    u = (np.arange(4000) + 0.5) / 4000
    chord = 2 * 50.0 * np.sqrt(1 - u)
    p_exp = float(np.sum(spectrum.probability * np.mean(1 - np.exp(-np.outer(mu, chord)), axis=1)))
    k = tot["np_histories"]
    p = k / n
    return [
        ("P(interaction in NP), 100 kVp, b < 50 nm", p, p_exp, "Σ p(E)⟨1−exp(−μℓ)⟩ from the tables",
         abs(k - n * p_exp) < 3 * math.sqrt(n * p_exp)),
        ("P(interaction in NP), 100 kVp, b < 50 nm (rough)", p, 1.5e-3, "Thomas et al. (2025), §2.3 (≈1.5e-3)",
         abs(p / 1.5e-3 - 1) < 0.25),
        ("max |ΔE|/E per history in that run", tot["max_rel_imbalance"], 1e-9, "energy conservation",
         tot["max_rel_imbalance"] <= 1e-9),
    ]


def validate_photon_spectrum(quick=False):
    """100 kVp SpekPy spectrum: HVL and mean energy; alias sampling reproduces the mean."""
    from hpcmc.physics.spectrum import tube_spectrum

    s = tube_spectrum(100.0, anode_angle_deg=12.0, filtration=[("Al", 4.0)])
    n = 200_000 if quick else 2_000_000
    e = s.sample(n, seed=SEED)
    sig = float(np.std(e) / math.sqrt(n))
    return [
        ("HVL 100 kVp W 12°, 4 mm Al [mm Al]", s.hvl_mm_al, 4.4, "Thomas et al. (2025) (≈4.4 mm Al)", abs(s.hvl_mm_al - 4.4) < 0.15),
        ("mean energy sampled (alias) [keV]", e.mean() * 1e-3, s.mean_energy_eV * 1e-3, "spectrum mean",
         abs(e.mean() - s.mean_energy_eV) < 4 * sig),
    ]


#: Validators in print order; other engineers append theirs.
VALIDATORS = [
    validate_photon_tables,
    validate_photon_channels,
    validate_photon_transmission,
    validate_photon_incoherent,
    validate_photon_coherent,
    validate_photon_sauter,
    validate_photon_kshell,
    validate_photon_bookkeeping,
    validate_photon_np_interaction,
    validate_photon_spectrum,
]


def print_table(rows, out=sys.stdout):
    header = ("name", "measured", "reference", "source", "pass")
    cells = [header] + [(r[0], _fmt(r[1]), _fmt(r[2]), r[3], "ok" if r[4] else "FAIL") for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(5)]
    for k, c in enumerate(cells):
        out.write("  ".join(c[i].ljust(widths[i]) for i in range(5)).rstrip() + "\n")
        if k == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")


def run_validators(validators, quick=False, only="") -> int:
    """Run validators, print one table with a pass count; exit status 1 if any row fails."""
    rows = []
    t0 = time.perf_counter()
    for fn in validators:
        if only and only not in fn.__name__:
            continue
        t = time.perf_counter()
        rows += fn(quick=quick)
        print(f"# {fn.__name__}: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    print_table(rows)
    n_fail = sum(1 for r in rows if not r[4])
    print(f"\n{len(rows) - n_fail}/{len(rows)} passed in {time.perf_counter() - t0:.1f} s")
    return 1 if n_fail else 0


def all_validators() -> list:
    """Photon rows (this file), then the electron-in-water and gold rows (their own files)."""
    import validate_electron
    import validate_gold

    return list(VALIDATORS) + list(validate_electron.VALIDATORS) + list(validate_gold.VALIDATORS)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="reduced statistics")
    ap.add_argument("--only", default="", help="run only validators whose name contains this text")
    args = ap.parse_args(argv)
    return run_validators(all_validators(), quick=args.quick, only=args.only)


if __name__ == "__main__":
    sys.exit(main())
