"""kV photon physics: materials, xraylib tables, interaction kernels, gnp geometry, spectra.

Reduced statistics (each test a few seconds); `tools/validate_kv.py` runs the same checks with
more histories and prints measured vs reference.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import xraylib
from scipy import stats

from hpcmc.apps.gnp import photons as gph
from hpcmc.apps.gnp import world as gw
from hpcmc.physics import geometry as geo
from hpcmc.physics import photon as ph
from hpcmc.physics.particles import P_E, PARTICLE_COLUMNS
from hpcmc.physics.materials import Material, get_material, material_names, register_material
from hpcmc.physics.photon_data import (MEC2_EV, load_photon_data, xraylib_mass_attenuation_cm2_g,
                                       xraylib_shell_fractions)
from hpcmc.physics.spectrum import (build_alias_table, monoenergetic, spectrum_from_file,
                                    tube_spectrum)
from hpcmc.runtime.rng import stream_key

KEY = stream_key("test")
WATER, GOLD = 0, 1


@pytest.fixture(scope="module")
def data():
    return load_photon_data(["water", "gold"])


def _gauss_bins(edges, pdf, order=16):
    """∫ pdf over each bin (Gauss–Legendre)."""
    xg, wg = np.polynomial.legendre.leggauss(order)
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        x = 0.5 * (b - a) * xg + 0.5 * (a + b)
        out.append(0.5 * (b - a) * np.sum(wg * pdf(x)))
    return np.abs(np.array(out))


# -- materials -----------------------------------------------------------------------------

def test_registry_has_the_builtins():
    for name in ("water", "gold", "tissue", "lung", "bone", "air", "tungsten"):
        assert name in material_names()
    w = get_material("water")
    assert w.density_g_cm3 == 1.0 and w.elements == (1, 8)
    assert abs(sum(w.mass_fractions) - 1) < 1e-12
    assert abs(w.mass_fractions[0] - 0.111894) < 1e-5          # NIST "Water, Liquid"
    g = get_material("gold")
    assert g.elements == (79,) and abs(g.density_g_cm3 - 19.32) < 1e-9 and g.mean_excitation_eV == 790.0


def test_material_constructors_and_errors():
    m = Material.from_formula("H2O", 1.0, name="water_formula")
    assert m.elements == (1, 8) and abs(m.mass_fractions[0] - 0.1119) < 1e-3
    lung = get_material("lung").with_density(0.26, name="lung_inflated")
    assert lung.density_g_cm3 == 0.26 and lung.elements == get_material("lung").elements
    with pytest.raises(ValueError, match="sum to 1"):
        Material.from_mass_fractions("bad", 1.0, {"H": 0.5, "O": 0.4})
    with pytest.raises(ValueError, match="density_g_cm3"):
        Material.from_element("Au", density_g_cm3=-1.0)
    with pytest.raises(ValueError, match="NIST"):
        Material.from_nist("Unobtainium")
    with pytest.raises(KeyError, match="unknown material"):
        get_material("unobtainium")
    with pytest.raises(ValueError, match="already registered"):
        register_material(Material.from_element("Au", name="gold"))


# -- tables --------------------------------------------------------------------------------

# xraylib 4.3 (Schoonjans et al. 2011; ≈ NIST XCOM), cm²/g, 4 significant figures.
PHYSICS_MD = [
    ("gold", 30, "total", 27.52), ("gold", 30, "photo", 26.12),
    ("gold", 50, "total", 7.258), ("gold", 50, "photo", 6.537),
    ("gold", 80, "total", 2.185), ("gold", 80, "photo", 1.791),
    ("gold", 100, "total", 5.158), ("gold", 100, "photo", 4.855),
    ("water", 30, "total", 0.3756), ("water", 30, "photo", 0.1457),
    ("water", 50, "total", 0.2270), ("water", 100, "total", 0.1708),
]


@pytest.mark.parametrize("mat,e_keV,channel,ref", PHYSICS_MD)
def test_table_values_match_physics_md(data, mat, e_keV, channel, ref):
    got = float(data.mass_attenuation_cm2_g(mat, e_keV * 1e3, channel)[0])
    assert abs(got / ref - 1) < 1e-3, (mat, e_keV, channel, got, ref)


def test_interpolation_error_below_1e4(data):
    le = data.tables.log_energy
    d = np.diff(le)
    mid = np.exp(le[:-1] + 0.5 * d)[d > 0][::3]
    for m in data.materials:
        for ch in ("total", "photo", "incoh", "coh"):
            got = data.mass_attenuation_cm2_g(m.name, mid, ch)
            ref = np.array([xraylib_mass_attenuation_cm2_g(m, e * 1e-3, ch) for e in mid])
            assert np.max(np.abs(got / ref - 1)) < 1e-4, (m.name, ch)


def test_edges_are_sharp(data):
    """Just below / above the gold K edge the table follows xraylib's jump."""
    for e_keV in (80.70, 80.75):
        got = float(data.mass_attenuation_cm2_g("gold", e_keV * 1e3, "photo")[0])
        assert abs(got / xraylib.CS_Photo(79, e_keV) - 1) < 1e-4
    p_below = data.channel_probabilities("gold", 80.72e3)
    p_above = data.channel_probabilities("gold", 80.73e3)
    assert p_below[(79, 0)] == 0.0 and p_above[(79, 0)] > 0.7


def test_cache_roundtrip(tmp_path):
    a = load_photon_data(["water"], cache_directory=tmp_path)
    assert a.cache_file is not None and a.cache_file.exists()
    b = load_photon_data(["water"], cache_directory=tmp_path)
    assert b.cache_file == a.cache_file
    for f in a.tables._fields:
        np.testing.assert_array_equal(np.asarray(getattr(a.tables, f)), np.asarray(getattr(b.tables, f)))
    # a different material definition is a different key
    c = load_photon_data([get_material("water").with_density(0.5, name="water")], cache_directory=tmp_path)
    assert c.cache_file != a.cache_file


def test_table_range_is_checked():
    with pytest.raises(ValueError, match="800 keV"):
        load_photon_data(["water"], e_max_eV=20e6, use_cache=False)


# -- sampling kernels ----------------------------------------------------------------------

@pytest.mark.parametrize("mat", ["water", "gold"])
def test_channel_frequencies_match_xraylib(data, mat):
    m = data.index(mat)
    n = 100_000
    for e_keV in (30, 50, 80, 100):
        counts = ph.sample_interaction_counts(data.tables, m, e_keV * 1e3, n, np.uint64(11 + e_keV), KEY)
        ref = np.array([xraylib_mass_attenuation_cm2_g(data.materials[m], e_keV, ch)
                        for ch in ("photo", "incoh", "coh")])
        p = ref / ref.sum()
        z = (counts - n * p) / np.sqrt(n * p * (1 - p))
        assert np.all(np.abs(z) < 3.0), (mat, e_keV, counts / n, p)


def test_gold_k_shell_fraction_at_100_keV(data):
    n = 100_000
    counts = ph.sample_photo_channel_counts(data.tables, GOLD, 100e3, n, np.uint64(5), KEY)
    shells = [int(s) for s in data.tables.pe_shell[GOLD, :data.tables.pe_n[GOLD]]]
    ref = xraylib_shell_fractions(79, 100.0)
    for s in (0, 1, 3):  # K, L1, L3
        p = ref[s]
        k = counts[shells.index(s)]
        assert abs(k - n * p) < 3 * math.sqrt(n * p * (1 - p)), (s, k / n, p)


def test_incoherent_energy_spectrum_water_50keV(data):
    """χ² of E'/E against Klein–Nishina × S(x, Z) from xraylib's DCS_Compt (mixture rule)."""
    e_keV, n = 50.0, 100_000
    kappa = e_keV * 1e3 / MEC2_EV
    e1, _ = ph.sample_incoherent_array(data.tables, WATER, e_keV * 1e3, n, np.uint64(3), KEY)
    edges = np.linspace(1 / (1 + 2 * kappa), 1.0, 31)
    obs, _ = np.histogram(e1 / (e_keV * 1e3), edges)
    water = data.materials[WATER]

    def dcs(c):
        th = np.arccos(np.clip(c, -1, 1))
        return sum(w * np.array([xraylib.DCS_Compt(z, e_keV, t) for t in th])
                   for z, w in zip(water.elements, water.mass_fractions))

    exp = _gauss_bins(1 - (1 / edges - 1) / kappa, dcs)
    exp *= n / exp.sum()
    assert obs.sum() == n
    assert stats.chisquare(obs, exp).pvalue > 1e-3


def test_coherent_angles_gold_50keV(data):
    """χ² of cos θ against Thomson × F² from xraylib's DCS_Rayl."""
    e_keV, n = 50.0, 100_000
    cos_t = ph.sample_coherent_array(data.tables, GOLD, e_keV * 1e3, n, np.uint64(4), KEY)
    edges = np.sort(1 - np.concatenate(([0.0], np.geomspace(1e-4, 2.0, 30))))
    obs, _ = np.histogram(cos_t, edges)
    exp = _gauss_bins(edges, lambda c: np.array([xraylib.DCS_Rayl(79, e_keV, t) for t in np.arccos(c)]))
    exp *= n / exp.sum()
    keep = exp > 5
    assert stats.chisquare(obs[keep], exp[keep] * obs[keep].sum() / exp[keep].sum()).pvalue > 1e-3


@pytest.mark.parametrize("t_eV", [2e3, 60e3])
def test_sauter_distribution(t_eV):
    n = 50_000
    c = ph.sample_sauter_array(t_eV, n, np.uint64(9), KEY)
    g = 1 + t_eV / MEC2_EV
    b = math.sqrt(t_eV * (t_eV + 2 * MEC2_EV)) / (t_eV + MEC2_EV)
    edges = np.linspace(-1, 1, 31)
    obs, _ = np.histogram(c, edges)
    exp = _gauss_bins(edges, lambda x: (1 - x**2) / (1 - b * x) ** 4 * (1 + 0.5 * g * (g - 1) * (g - 2) * (1 - b * x)))
    exp *= n / exp.sum()
    keep = exp > 5
    assert stats.chisquare(obs[keep], exp[keep] * obs[keep].sum() / exp[keep].sum()).pvalue > 1e-3


@pytest.mark.parametrize("mat,e_keV,length_nm", [("gold", 30, 2.0e4), ("gold", 100, 1.0e5), ("water", 50, 5.0e7)])
def test_narrow_beam_transmission(data, mat, e_keV, length_nm):
    m = data.index(mat)
    world = gw.make_gnp_world(np_radius_nm=0.0, cyl_radius_nm=1e9, cyl_length_nm=length_nm, mat_medium=m)
    n = 50_000
    k = gph.narrow_beam_uncollided(data.tables, world, e_keV * 1e3, n, np.uint64(21), KEY)
    material = data.materials[m]
    mu_per_nm = xraylib_mass_attenuation_cm2_g(material, e_keV, "total") * material.density_g_cm3 * 1e-7
    p = math.exp(-mu_per_nm * length_nm)
    assert abs(k - n * p) < 3 * math.sqrt(n * p * (1 - p)), (k / n, p)


# -- histories: energy bookkeeping ---------------------------------------------------------

def _check_history_balance(data, world, e_eV, n_hist, x0, y0, z0):
    ebank = np.zeros((256, PARTICLE_COLUMNS))
    vbank = np.zeros((256, ph.VB_COLUMNS), dtype=np.int64)
    counts = np.zeros(2, dtype=np.int64)
    out = np.zeros(ph.N_OUT)
    state = np.zeros(2, dtype=np.uint64)
    from hpcmc.runtime.rng import rng_seed

    n_vac = 0
    for h in range(n_hist):
        rng_seed(state, np.uint64(7), np.uint64(h), KEY)
        counts[:] = 0
        out[:] = 0
        st = ph.photon_history(data.tables, world, (x0, y0, z0, 0.0, 0.0, 1.0, e_eV), state, ebank, vbank, counts,
                                   out)
        assert st == ph.STATUS_OK
        electrons = ebank[:counts[0], P_E].sum()
        binding = sum(xraylib.EdgeEnergy(int(z), int(s)) * 1e3 for z, s in vbank[:counts[1], :2])
        balance = out[ph.OUT_ESCAPED_EV] + electrons + binding + out[ph.OUT_LOCAL_EV]
        assert abs(balance - e_eV) <= 1e-9 * e_eV, (h, balance, e_eV)
        assert np.all(ebank[:counts[0], P_E] >= 0)
        norms = np.linalg.norm(ebank[:counts[0], 3:6], axis=1)
        assert np.allclose(norms, 1.0, atol=1e-12)
        for row in vbank[:counts[1]]:  # the vacancy sits where its photoelectron was emitted
            assert 0 <= row[ph.VB_ROW] < counts[0]
        n_vac += counts[1]
    return n_vac


def test_energy_bookkeeping_per_history(data):
    # a thick gold cylinder: photo, Compton and Rayleigh events, L and K vacancies
    gold_world = gw.make_gnp_world(np_radius_nm=0.0, cyl_radius_nm=2e5, cyl_length_nm=4e5, mat_medium=GOLD)
    assert _check_history_balance(data, gold_world, 100e3, 300, 0.0, 0.0, -1.9e5) > 100
    # the gnp world with a big gold sphere: boundary crossings and interactions in both media
    world = gw.make_gnp_world(np_radius_nm=5e4, mat_np=GOLD, mat_medium=WATER)
    assert _check_history_balance(data, world, 60e3, 300, 1e4, 0.0, -1.0e5) > 20


def test_gnp_chunk_np_interaction_probability(data):
    """Photons of the 100 kVp spectrum aimed at the NP interact in it with the probability
    computed from the tables: Σ_E p(E) ⟨1 − exp(−μ(E) ℓ)⟩, chord ℓ = 2√(R² − b²)."""
    spectrum = tube_spectrum(100.0, filtration=[("Al", 4.0)])
    world = gw.make_gnp_world(mat_np=GOLD, mat_medium=WATER)
    n = 400_000
    tot = gph.run_gnp_photons(data, world, spectrum, n, seed=3, b_hi_nm=50.0)
    assert tot["histories"] == n and tot["max_rel_imbalance"] < 1e-12
    e_mid = 0.5 * (spectrum.lo_eV + spectrum.hi_eV)
    mu = data.mu_per_nm("gold", e_mid)
    u = (np.arange(2000) + 0.5) / 2000  # b² uniform on [0, R²]
    chord = 2 * 50.0 * np.sqrt(1 - u)
    p_exp = float(np.sum(spectrum.probability * np.mean(1 - np.exp(-np.outer(mu, chord)), axis=1)))
    k = tot["np_histories"]
    assert abs(k - n * p_exp) < 3 * math.sqrt(n * p_exp), (k / n, p_exp)
    assert 1.0e-3 < p_exp < 2.0e-3  # Thomas et al. (2025), §2.3: "roughly 1.5×10⁻³"


def test_energy_above_table_is_an_error(data):
    world = gw.make_gnp_world(mat_np=GOLD, mat_medium=WATER)
    with pytest.raises(ValueError, match="above the photon tables"):
        gph.run_gnp_photons(data, world, monoenergetic(900e3), 10)
    with pytest.raises(ValueError, match="below the photon tables"):
        ph.check_spectrum_in_range(monoenergetic(500.0), data)
    ph.check_spectrum_in_range(tube_spectrum(100.0), data)


# -- geometry ------------------------------------------------------------------------------

def test_sphere_distances():
    # from the centre: R in any direction; from outside on the axis: d - R
    assert geo.sphere_distance_inside(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 50.0, 0.0, 0.6, 0.8) == pytest.approx(50.0)
    assert geo.sphere_distance_outside(0.0, 0.0, -200.0, 0.0, 0.0, 0.0, 50.0, 0.0, 0.0, 1.0) == pytest.approx(150.0)
    assert geo.sphere_distance_outside(0.0, 60.0, -200.0, 0.0, 0.0, 0.0, 50.0, 0.0, 0.0, 1.0) >= geo.INF_NM
    assert geo.sphere_distance_outside(0.0, 0.0, 200.0, 0.0, 0.0, 0.0, 50.0, 0.0, 0.0, 1.0) >= geo.INF_NM
    # chord at impact parameter b: 2√(R² − b²)
    b = 30.0
    d_in = geo.sphere_distance_outside(b, 0.0, -100.0, 0.0, 0.0, 0.0, 50.0, 0.0, 0.0, 1.0)
    z = -100.0 + d_in
    chord = geo.sphere_distance_inside(b, 0.0, z, 0.0, 0.0, 0.0, 50.0, 0.0, 0.0, 1.0)
    assert chord == pytest.approx(2 * math.sqrt(50.0**2 - b**2), rel=1e-12)


def test_cylinder_distances_against_stepping():
    rng = np.random.default_rng(1)
    r, z0, z1 = 100.0, -50.0, 80.0
    for _ in range(200):
        u = rng.normal(size=3)
        u /= np.linalg.norm(u)
        p = np.array([rng.uniform(-70, 70), rng.uniform(-70, 70), rng.uniform(-45, 75)])
        if not geo.inside_cylinder(p[0], p[1], p[2], r, z0, z1):
            continue
        d = geo.cylinder_distance_inside(*p, r, z0, z1, *u)
        assert geo.inside_cylinder(*(p + (d - 1e-7) * u), r, z0, z1)
        assert not geo.inside_cylinder(*(p + (d + 1e-7) * u), r, z0, z1)
        # and back in from outside, reversed
        q = p + (d + 10.0) * u
        back = geo.cylinder_distance_outside(*q, r, z0, z1, *(-u))
        assert back == pytest.approx(10.0, abs=1e-9)
    assert geo.cylinder_distance_outside(200.0, 0.0, 0.0, r, z0, z1, 0.0, 1.0, 0.0) >= geo.INF_NM


def test_gnp_regions_and_distances():
    w = gw.make_gnp_world(mat_np=1, mat_medium=0)
    assert gw.gnp_region(w, 0.0, 0.0, 0.0) == gw.REGION_NP
    assert gw.gnp_region(w, 0.0, 0.0, 60.0) == gw.REGION_MEDIUM
    assert gw.gnp_region(w, 0.0, 0.0, 1.2e5) == gw.REGION_OUTSIDE
    assert gw.gnp_material(w, gw.REGION_NP) == 1 and gw.gnp_material(w, gw.REGION_MEDIUM) == 0
    d, nxt = gw.gnp_distance(w, gw.REGION_MEDIUM, 0.0, 0.0, -1.0e5, 0.0, 0.0, 1.0)
    assert nxt == gw.REGION_NP and d == pytest.approx(1.0e5 - 50.0)
    d, nxt = gw.gnp_distance(w, gw.REGION_MEDIUM, 0.0, 100.0, -1.0e5, 0.0, 0.0, 1.0)
    assert nxt == gw.REGION_OUTSIDE and d == pytest.approx(2.1e5)
    with pytest.raises(ValueError, match="inside the cylinder"):
        gw.make_gnp_world(np_radius_nm=2e5)


# -- spectra -------------------------------------------------------------------------------

def test_alias_table_is_exact():
    w = np.array([0.0, 1.0, 2.0, 7.0, 0.5])
    prob, alias = build_alias_table(w)
    n = w.size
    p = np.zeros(n)
    for j in range(n):
        p[j] += prob[j] / n
        p[alias[j]] += (1 - prob[j]) / n
    np.testing.assert_allclose(p, w / w.sum(), atol=1e-15)


def test_tube_spectrum_100kvp():
    s = tube_spectrum(100.0, anode_angle_deg=12.0, filtration=[("Al", 4.0)])
    assert abs(s.probability.sum() - 1) < 1e-12
    assert s.max_energy_eV <= 100e3 + 1e-6
    assert 4.2 < s.hvl_mm_al < 4.6                     # Thomas et al. (2025): HVL ≈ 4.4 mm Al
    e = s.sample(100_000, seed=2)
    sigma = np.std(e) / math.sqrt(e.size)
    assert abs(e.mean() - s.mean_energy_eV) < 4 * sigma
    with pytest.raises(ValueError, match="filter"):
        tube_spectrum(100.0, filtration=[("Unobtainium", 1.0)], use_cache=False)


def test_spectrum_file(tmp_path):
    f = tmp_path / "spec.txt"
    f.write_text("# energy_keV fluence\n20 1\n30, 2\n40 1  # comment\n")
    s = spectrum_from_file(f)
    np.testing.assert_allclose(s.lo_eV, [15e3, 25e3, 35e3])
    np.testing.assert_allclose(s.probability, [0.25, 0.5, 0.25])
    lines = spectrum_from_file(f, per="line")
    assert np.all(lines.lo_eV == lines.hi_eV)
    bad = tmp_path / "bad.txt"
    bad.write_text("20 1\n30 x\n")
    with pytest.raises(ValueError, match=r"bad\.txt line 2"):
        spectrum_from_file(bad)
    bad.write_text("20 1\n10 1\n")
    with pytest.raises(ValueError, match=r"bad\.txt line 2: energies must increase"):
        spectrum_from_file(bad)
    bad.write_text("20 -1\n")
    with pytest.raises(ValueError, match=r"bad\.txt line 1: fluence"):
        spectrum_from_file(bad)
