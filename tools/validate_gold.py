#!/usr/bin/env python
"""Validation of gold atomic relaxation and condensed-history electron transport in gold.

Each ``validate_gold_*()`` returns a list of rows ``(name, measured, reference, source,
passed)``; :func:`main` prints them as a table (``--quick`` for reduced statistics) followed
by the escape fractions of electrons born in a 50 nm-radius gold sphere.  Run from a
checkout with hpcmc installed::

    python tools/validate_gold.py [--quick]

Reference numbers and where they come from
------------------------------------------
* Gold relaxation (xraylib 4.3, Schoonjans et al. 2011): ω_K 0.960, ω_L1 0.117, ω_L2 0.334, ω_L3 0.320,
  f12 0.074, f13 0.615, f23 0.124; K line energies ``LineEnergy`` (Kα1 = KL3 68.806 keV).
* ESTAR (NIST SRD 124) californium table, collision stopping power 7.806 / 5.118 / 3.039
  MeV cm²/g at 10 / 20 / 45 keV and CSDA range 9.638e-4 / 2.584e-3 / 9.154e-3 g/cm² — read
  from a public copy of ESTAR's output (quoted in the documentation of an R dosimetry
  package), not from NIST directly; ESTAR liquid-water CSDA ranges from NIST ESTAR (Berger et al., NIST SRD 124).
* ESTAR gold CSDA ranges: the ESTAR gold table itself could not be retrieved here.  They
  are *reconstructed* with ESTAR's method, which this script first verifies on the two
  published tables above: Bethe collision stopping power (ICRU 37, I = 790 eV, no shell or
  density-effect correction) integrated from 1 keV, plus R(1 keV) = 1 keV / (2 S(1 keV))
  (i.e. S ∝ 1/T below 1 keV).  This reproduces ESTAR water to 6e-4 and californium to
  0.7 % (the residue is ESTAR's radiative stopping, omitted in the reconstruction, which
  therefore overestimates ESTAR by ≲ 1 % at 50–100 keV).  Result for gold: 7.93e-4,
  2.27e-3, 9.96e-3, 3.08e-2 g/cm² at 10, 20, 50, 100 keV.  (A value of 6.9e-4 g/cm² at
  10 keV that circulated in the project's notes is the Bethe integral from 2 keV, not
  ESTAR; it is not used.)
* Backscatter coefficient of bulk gold at normal incidence, 10–30 keV: η = 0.487 from
  Reuter's fit η(Z) = −0.0254 + 0.016 Z − 1.86e-4 Z² + 8.3e-7 Z³ to measured coefficients
  (W. Reuter, Proc. 6th Int. Conf. X-ray Optics and Microanalysis, 1972; quoted in
  Goldstein et al., "Scanning Electron Microscopy and X-ray Microanalysis").  Tolerance
  ±0.08 for the first-moment multiple-scattering model.
* Kanaya–Okayama range R_KO = 0.0276 A E^1.67 / (Z^0.889 ρ) µm (E in keV; J. Phys. D 5
  (1972) 43) is a maximum *penetration depth*: the CSDA path length must exceed it.
* Straight-line escape probability from a uniform point of a sphere,
  P = 3L/(4a) − L³/(16a³) (L ≤ 2a): exact check of the geometry with scattering off, and an
  upper bound of the escape fraction with scattering on.
"""
from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
import xraylib
from scipy import integrate

from hpcmc.physics import electron_gold as eg
from hpcmc.physics import relaxation as rx

SEED = 271828
ESTAR_CF_SCOL = {10e3: 7.806, 20e3: 5.118, 45e3: 3.039}           # MeV cm²/g
ESTAR_CF_CSDA = {10e3: 9.638e-4, 20e3: 2.584e-3, 45e3: 9.154e-3}  # g/cm²
ESTAR_WATER_CSDA = {10e3: 2.515e-4, 20e3: 8.566e-4, 50e3: 4.320e-3, 100e3: 1.431e-2}
REUTER_ETA_AU = -0.0254 + 0.016 * 79 - 1.86e-4 * 79 ** 2 + 8.3e-7 * 79 ** 3
ESCAPE_ENERGIES_EV = (1e3, 2e3, 5e3, 10e3, 50e3)


def _binomial_row(name, k, n, p_ref, source):
    f = k / n
    sigma = math.sqrt(p_ref * (1.0 - p_ref) / n)
    return (name, f, p_ref, f"{source}; ±4σ = {4 * sigma:.2g}", abs(f - p_ref) <= 4.0 * sigma)


def estar_method_range_g_cm2(energy_eV, z, a_g_mol, i_eV):
    """CSDA range by ESTAR's method: ∫_{1 keV}^{T} dT/S_Bethe + 1 keV/(2 S_Bethe(1 keV))  [g/cm²].

    Collision stopping only (ICRU 37 Bethe, no density effect) — see the module docstring.
    """
    def s_ev(t):
        return float(eg.collision_stopping_power_MeV_cm2_g(t, z, a_g_mol, i_eV, k=0.0)) * 1e6
    r = integrate.quad(lambda t: 1.0 / s_ev(t), 1e3, energy_eV, limit=400, epsrel=1e-10)[0]
    return r + 1e3 / (2.0 * s_ev(1e3))


# -- relaxation ------------------------------------------------------------------------------

def validate_gold_relaxation(quick=False):
    """Sampled yields, CK probabilities, line energies and energy conservation of the cascade."""
    tab = rx.relaxation_table(79)
    n = 20000 if quick else 200000
    rows = []
    out = np.zeros((n, 8))
    rx.cascade_statistics(rx.K_SHELL, n, SEED, rx.RELAXATION_STREAM, tab.kernel_tables(0.0), out)
    k_x = out[:, 6] > 50e3
    rows.append(_binomial_row("K vacancy: P(K x-ray) = ω_K", int(k_x.sum()), n,
                              xraylib.FluorYield(79, xraylib.K_SHELL), "xraylib 4.3 FluorYield (0.960)"))
    for label, macro in (("Kα1 (KL3)", xraylib.KL3_LINE), ("Kα2 (KL2)", xraylib.KL2_LINE),
                         ("Kβ1 (KM3)", xraylib.KM3_LINE)):
        ref = 1e3 * xraylib.LineEnergy(79, macro)
        e = out[k_x, 6]
        hit = e[np.abs(e - ref) < 1.0]
        rows.append((f"{label} emitted energy [keV]", float(hit.mean()) / 1e3 if hit.size else float("nan"),
                     ref / 1e3, "xraylib LineEnergy", hit.size > 0 and abs(hit.mean() - ref) < 1e-6))
    n1 = int(np.sum(np.abs(out[:, 6] - 1e3 * xraylib.LineEnergy(79, xraylib.KL3_LINE)) < 1.0))
    n2 = int(np.sum(np.abs(out[:, 6] - 1e3 * xraylib.LineEnergy(79, xraylib.KL2_LINE)) < 1.0))
    r1, r2 = xraylib.RadRate(79, xraylib.KL3_LINE), xraylib.RadRate(79, xraylib.KL2_LINE)
    rows.append(_binomial_row("Kα1/(Kα1+Kα2) fraction", n1, n1 + n2, r1 / (r1 + r2), "xraylib RadRate"))
    e_k = tab.binding_eV[rx.K_SHELL]
    bal = np.abs(out[:, 2] + out[:, 3] + out[:, 4] - e_k) / e_k
    worst = float(bal.max())
    min_local = float(out[:, 4].min())
    k_stats = out.mean(axis=0)

    for shell, name in ((rx.L1_SHELL, "L1"), (rx.L2_SHELL, "L2"), (rx.L3_SHELL, "L3")):
        o = np.zeros((n, 8))
        rx.cascade_statistics(shell, n, SEED + shell, rx.RELAXATION_STREAM, tab.kernel_tables(0.0), o)
        e0 = tab.binding_eV[shell]
        worst = max(worst, float(np.max(np.abs(o[:, 2] + o[:, 3] + o[:, 4] - e0) / e0)))
        min_local = min(min_local, float(o[:, 4].min()))
        if shell == rx.L3_SHELL:   # L3 lines 8.5–11.6 keV; later M lines < 3.5 keV
            rows.append(_binomial_row("L3 vacancy: P(L x-ray) = ω_L3", int(np.sum(o[:, 6] > 5e3)), n,
                                      xraylib.FluorYield(79, xraylib.L3_SHELL), "xraylib 4.3 FluorYield (0.320)"))
    for shell in (4, 8, 9, 13):   # M1, M5, N1, N5
        o = np.zeros((n // 4, 8))
        rx.cascade_statistics(shell, n // 4, SEED + shell, rx.RELAXATION_STREAM, tab.kernel_tables(0.0), o)
        e0 = tab.binding_eV[shell]
        worst = max(worst, float(np.max(np.abs(o[:, 2] + o[:, 3] + o[:, 4] - e0) / e0)))
        min_local = min(min_local, float(o[:, 4].min()))
    rows.append(("energy conservation max |ΣE − E_s|/E_s (K,L,M1,M5,N1,N5)", worst, 1e-9, "task requirement",
                 worst <= 1e-9))
    rows.append(("min local deposit per vacancy [eV]", min_local, 0.0, "task requirement (≥ 0)", min_local >= 0.0))

    # first-transition frequencies (direct branching of L1 and L2)
    for shell, fin, macro, label in ((rx.L1_SHELL, rx.L3_SHELL, xraylib.FL13_TRANS, "f13"),
                                     (rx.L1_SHELL, rx.L2_SHELL, xraylib.FL12_TRANS, "f12"),
                                     (rx.L2_SHELL, rx.L3_SHELL, xraylib.FL23_TRANS, "f23")):
        m = n
        idx = _first_transitions(tab, shell, m)
        k = int(np.sum((tab.tr_kind[idx] == rx.COSTER_KRONIG) & (tab.tr_v1[idx] == fin)))
        rows.append(_binomial_row(f"Coster-Kronig {label} sampled", k, m, xraylib.CosKronTransProb(79, macro),
                                  "xraylib 4.3 CosKronTransProb"))
    for shell, label, ref in ((rx.L1_SHELL, "ω_L1 (+f'13)", xraylib.FluorYield(79, xraylib.L1_SHELL)
                               + xraylib.CosKronTransProb(79, xraylib.FLP13_TRANS)),
                              (rx.L2_SHELL, "ω_L2", xraylib.FluorYield(79, xraylib.L2_SHELL))):
        idx = _first_transitions(tab, shell, n)
        rows.append(_binomial_row(f"{label} sampled (first transition radiative)",
                                  int(np.sum(tab.tr_kind[idx] == rx.RADIATIVE)), n, ref, "xraylib FluorYield"))
    validate_gold_relaxation.k_summary = k_stats
    return rows


def _first_transitions(tab, shell, n):
    from hpcmc.runtime.rng import new_state, rng_seed, stream_key
    state = new_state()
    key = stream_key("validate_gold")
    idx = np.empty(n, dtype=np.int64)
    rng_seed(state, SEED, shell, key)
    for i in range(n):
        idx[i] = rx.sample_transition(shell, tab.tr_start, tab.tr_cum, state)
    return idx


# -- electrons in gold ---------------------------------------------------------------------------

def validate_gold_stopping(quick=False):
    """Bethe implementation vs ESTAR tables; gold CSDA ranges vs ESTAR's method."""
    rows = []
    for e, ref in ESTAR_CF_SCOL.items():
        s = float(eg.collision_stopping_power_MeV_cm2_g(e, 98, 251.0796, 966.0, k=0.0))
        rows.append((f"Bethe S_col Cf {e / 1e3:g} keV [MeV cm²/g]", s, ref, "ESTAR californium table",
                     abs(s / ref - 1) < 3e-3))
    for e, ref in ESTAR_CF_CSDA.items():
        r = estar_method_range_g_cm2(e, 98, 251.0796, 966.0)
        rows.append((f"ESTAR-method CSDA Cf {e / 1e3:g} keV [g/cm²]", r, ref,
                     "ESTAR californium table (rad. stopping omitted)", abs(r / ref - 1) < 1e-2))
    for e, ref in ESTAR_WATER_CSDA.items():
        r = estar_method_range_g_cm2(e, 1.0, 1.0 / 0.555087, 75.0)
        rows.append((f"ESTAR-method CSDA water {e / 1e3:g} keV [g/cm²]", r, ref, "NIST ESTAR water",
                     abs(r / ref - 1) < 2e-3))
    tab = eg.gold_electron_tables()
    tol = {10e3: 0.10, 20e3: 0.05, 50e3: 0.03, 100e3: 0.03}
    for e in (10e3, 20e3, 50e3, 100e3):
        ref = estar_method_range_g_cm2(e, 79, tab.a_g_mol, 790.0)
        r = float(tab.csda_range_g_cm2(e))
        rows.append((f"CSDA range Au {e / 1e3:g} keV [g/cm²] (Joy-Luo Bethe)", r, ref,
                     f"ESTAR method, I=790 eV; tol {tol[e]:.0%} (ESTAR: 5-10 % high-Z)", abs(r / ref - 1) < tol[e]))
    for e_kev in (1.0, 2.0, 5.0):
        ko_nm = 0.0276 * tab.a_g_mol * e_kev ** 1.67 / (79 ** 0.889 * tab.density_g_cm3) * 1e3
        r_nm = float(tab.csda_range_g_cm2(e_kev * 1e3)) / tab.density_g_cm3 * 1e7
        rows.append((f"CSDA path Au {e_kev:g} keV [nm] ≥ Kanaya-Okayama depth", r_nm, ko_nm,
                     "Kanaya & Okayama 1972 (penetration < path)", r_nm > ko_nm))
    return rows


def validate_gold_transport(quick=False):
    """Geometry (straight-line escape), multiple scattering (backscatter), step convergence."""
    tab = eg.gold_electron_tables()
    args = tab.kernel_args()
    n = 20000 if quick else 100000
    rows = []
    for e in (1e3, 2e3):
        out = np.zeros((n, 4))
        eg.escape_statistics(e, 50.0, n, SEED, args, False, out)
        path = (tab.csda_range_g_cm2(e) - tab.csda_range_g_cm2(args[5])) / tab.density_g_cm3 * 1e7
        rows.append(_binomial_row(f"straight-line escape, {e / 1e3:g} keV, R=50 nm", int(out[:, 0].sum()), n,
                                  eg.straight_line_escape_fraction(float(path), 50.0), "3L/(4a) − L³/(16a³)"))
    nb_ = 4000 if quick else 20000
    for e in (10e3, 20e3, 30e3):
        out = np.zeros((nb_, 2))
        eg.backscatter_statistics(e, nb_, SEED, args, out)
        eta = float(out[:, 0].mean())
        rows.append((f"backscatter coefficient bulk Au, {e / 1e3:g} keV", eta, REUTER_ETA_AU,
                     "Reuter 1972 fit of measurements; tol ±0.08", abs(eta - REUTER_ETA_AU) < 0.08))
    fine = tab.kernel_args(f_range=eg.DEFAULT_F_RANGE / 3, f_msc=eg.DEFAULT_F_MSC / 3)
    for e in (2e3, 5e3):
        a = np.zeros((n, 4))
        b = np.zeros((n, 4))
        eg.escape_statistics(e, 50.0, n, SEED, args, True, a)
        eg.escape_statistics(e, 50.0, n, SEED + 1, fine, True, b)
        fa, fb = float(a[:, 0].mean()), float(b[:, 0].mean())
        sd = math.sqrt(fa * (1 - fa) / n + fb * (1 - fb) / n)
        rows.append((f"escape {e / 1e3:g} keV: default steps vs steps/3", fa, fb, f"step convergence; ±4σ = {4 * sd:.2g}",
                     abs(fa - fb) <= 4 * sd))
    return rows


def escape_table(quick=False, radius_nm=50.0):
    """Escape fraction, mean exit energy and straight-line bound for electrons born in the NP."""
    tab = eg.gold_electron_tables()
    args = tab.kernel_args()
    n = 20000 if quick else 100000
    rows = []
    for e in ESCAPE_ENERGIES_EV:
        out = np.zeros((n, 4))
        eg.escape_statistics(e, radius_nm, n, SEED, args, True, out)
        esc = out[:, 0] > 0
        f = float(esc.mean())
        path = float(tab.csda_range_g_cm2(e)) / tab.density_g_cm3 * 1e7
        rows.append((e, f, math.sqrt(f * (1 - f) / n), float(out[esc, 1].mean()) if esc.any() else 0.0,
                     eg.straight_line_escape_fraction(path, radius_nm), path))
    return rows


VALIDATORS = (validate_gold_relaxation, validate_gold_stopping, validate_gold_transport)


def validate_gold_all(quick=False):
    return [row for fn in VALIDATORS for row in fn(quick=quick)]


def main(argv=None):
    """The gold rows (``validate_kv.py`` runs all groups), then the cascade and escape tables."""
    from validate_kv import run_validators

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="reduced statistics")
    args = ap.parse_args(argv)
    status = run_validators(VALIDATORS, quick=args.quick)
    k = validate_gold_relaxation.k_summary
    print(f"\nK-vacancy cascade (mean per vacancy, threshold {rx.DEFAULT_THRESHOLD_EV:g} eV): "
          f"{k[0]:.3f} photons ({k[2] / 1e3:.2f} keV), {k[1]:.2f} electrons ({k[3] / 1e3:.2f} keV), "
          f"{k[4]:.1f} eV deposited locally")
    print("\nElectrons born uniformly and isotropically in a 50 nm-radius gold sphere "
          "(CSDA + multiple scattering, cut-off 50 eV):")
    print(f"  {'E [keV]':>8}  {'escape':>8}  {'±1σ':>7}  {'<E_exit> [keV]':>14}  {'straight-line bound':>19}  "
          f"{'CSDA [nm]':>10}")
    for e, f, sd, ex, bound, path in escape_table(quick=args.quick):
        print(f"  {e / 1e3:8g}  {f:8.4f}  {sd:7.4f}  {ex / 1e3:14.3f}  {bound:19.4f}  {path:10.1f}")
    return status


if __name__ == "__main__":
    sys.exit(main())
