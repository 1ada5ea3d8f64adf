"""The lem app: the rebuilt sigma-LEM against the tables of its paper (arXiv:2506.06671).

"The paper" below is P. Teles, An analytical model for gold nanoparticle radiosensitisation
(arXiv:2506.06671, 2025). Its tables are the test that the lost equations were rebuilt right.
"""
import h5py
import numpy as np
import pytest
from scipy import integrate, optimize, stats

from conftest import REPO, run_hpcmc
from hpcmc.apps.lem import (
    calibrate_eps_v,
    der,
    dose_enhancement_factor,
    fit_lq,
    gain_split,
    gold_photo_cm2_g,
    kc_per_mM,
    medium_mu_en_cm2_g,
    monoenergetic,
    read_spectrum,
    sigma_mu,
    survival,
    survival_lq,
    survival_mixed,
    survival_second_order,
    survival_variance_only,
    truncation_factor,
    tube_spectrum,
)
from hpcmc.config import ConfigError, load_job, parse_job

ALPHA, BETA = 0.0252, 0.0013  # BAEC without gold (paper Table 5, 0 mM)
KC_50, KC_100 = 3.222, 2.111  # the paper's K_c of its 50 and 100 kVp spectra
BAEC_JOB = REPO / "jobs" / "lem" / "baec.toml"


# --------------------------------------------------------------------- DER and sigma
@pytest.mark.parametrize("kc, expected", [(KC_50, (1.322, 2.611, 4.222)), (KC_100, (1.211, 2.055, 3.111))])
def test_der_table_of_the_paper(kc, expected):
    """Paper, DER table of sec. 3.3: DER at 0.1/0.5/1.0 mM for the kV beams (within 2 %)."""
    ours = der(kc, np.array([0.1, 0.5, 1.0]))
    np.testing.assert_allclose(ours, expected, rtol=0.02)
    np.testing.assert_allclose(ours, expected, atol=6e-4)  # in fact to the printed digits


def test_sigma_makes_the_lognormal_mean_equal_the_der():
    """Eqs. 20–22: E[D0 exp(σZ)] = D0 · DER with σ = sqrt(2 ln(1 + K_c c))."""
    for c in (0.1, 0.25, 1.0, 3.0):
        sigma, mu = sigma_mu(KC_100, c)
        assert mu == 0
        mean = integrate.quad(lambda z: stats.norm.pdf(z) * np.exp(sigma * z), -30, 30)[0]
        assert mean == pytest.approx(1 + KC_100 * c, rel=1e-9)


def test_splitting_factor_range_and_meaning():
    """Eqs. 24–26: σ²/2 = ξ ln G, μ = (1 − ξ) ln G; ξ outside [0, 1] is refused."""
    g = 2.5
    for xi in (0.0, 0.3, 0.5, 1.0):
        sigma, mu = gain_split(g, xi)
        assert mu + sigma**2 / 2 == pytest.approx(np.log(g))  # the mean stays D0·G (eq. 23)
        assert sigma**2 / 2 == pytest.approx(xi * np.log(g))
    for bad in (-0.1, 1.01):
        with pytest.raises(ValueError, match="xi must be in"):
            gain_split(g, bad)
    with pytest.raises(ValueError, match="gain"):
        gain_split(0.9, 1.0)
    # ξ = 0: no variance, a deterministic dose D0·G in the LQ model, whatever the form
    d = np.linspace(0, 6, 13)
    for model in ("variance", "mixed", "second_order"):
        np.testing.assert_allclose(survival(model, d, ALPHA, BETA, KC_100, 0.5, xi=0.0),
                                   survival_lq(d * (1 + KC_100 * 0.5), ALPHA, BETA), rtol=1e-12)


# ----------------------------------------------------------------- the survival forms
def _truncated_average(sigma, exponent):
    """Numerical average of exp(−exponent(z)) over Z ≥ −1/σ, renormalised by Φ(1/σ)."""
    z0 = 1 / sigma
    val = integrate.quad(lambda z: stats.norm.pdf(z) * np.exp(-exponent(z)), -z0, 40, epsabs=1e-13)[0]
    return val / stats.norm.cdf(z0)


@pytest.mark.parametrize("c", [0.25, 1.0])
def test_mixed_form_is_the_truncated_average_of_the_first_order_lq(c):
    """Eqs. 29, 32, 35: the closed form equals the numerical truncated Gaussian average."""
    sigma = float(sigma_mu(KC_100, c)[0])
    for d0 in (0.5, 2.0, 5.0):
        def lq_exponent(z):
            dose = d0 * (1 + sigma * z)
            return ALPHA * dose + BETA * dose**2

        exact = _truncated_average(sigma, lq_exponent)
        assert survival_mixed(d0, ALPHA, BETA, sigma) == pytest.approx(exact, rel=1e-9)


def test_truncation_factor_limits():
    assert truncation_factor(0.0, ALPHA, BETA, 1.2) == pytest.approx(1.0)
    assert truncation_factor(3.0, ALPHA, BETA, 0.0) == pytest.approx(1.0)
    c = truncation_factor(np.array([1.0, 3.0, 5.0]), ALPHA, BETA, 1.2)
    assert np.all(np.diff(c) < 0) and np.all(c < 1)


def test_second_order_form_is_its_gaussian_average():
    """Eqs. 38–42: the closed form equals the numerical average of the σ²-truncated exponent."""
    sigma = float(sigma_mu(KC_100, 1.0)[0])
    for d0 in (1.0, 4.0):
        a = (ALPHA * d0 / 2 + 2 * BETA * d0**2) * sigma**2
        b = (ALPHA * d0 + 2 * BETA * d0**2) * sigma
        exact = integrate.quad(lambda z: stats.norm.pdf(z) * np.exp(-a * z * z - b * z), -40, 40)[0]
        exact *= survival_lq(d0, ALPHA, BETA)
        assert survival_second_order(d0, ALPHA, BETA, sigma) == pytest.approx(exact, rel=1e-10)


def test_variance_only_form_drops_the_mixed_term_from_the_gaussian_factor():
    sigma = float(sigma_mu(KC_100, 0.5)[0])
    d = np.linspace(0.1, 6, 7)
    ratio = survival_variance_only(d, ALPHA, BETA, sigma) / survival_mixed(d, ALPHA, BETA, sigma)
    a = BETA * d * d * sigma * sigma
    bv, bm = ALPHA * d * sigma, (ALPHA + 2 * BETA * d) * d * sigma
    np.testing.assert_allclose(ratio, np.exp((bv**2 - bm**2) / (2 * (1 + 2 * a))), rtol=1e-12)


# Paper, appendix C: DEF80 of the three forms at 0.25/0.50/1.00 mM with K_c = 2.111 /mM
DEF80_PAPER = {
    "variance": (1.301, 1.504, 1.738),
    "mixed": (1.260, 1.453, 1.680),
    "second_order": (1.422, 1.679, 2.011),
}


@pytest.mark.parametrize("model", sorted(DEF80_PAPER))
def test_def80_of_the_paper(model):
    ours = [dose_enhancement_factor(model, ALPHA, BETA, KC_100, c) for c in (0.25, 0.5, 1.0)]
    np.testing.assert_allclose(ours, DEF80_PAPER[model], atol=0.02)  # the acceptance band
    np.testing.assert_allclose(ours, DEF80_PAPER[model], atol=1.5e-3)  # in fact to the printed digits


# Paper, Table 4: model survival at 0–5 Gy (0 mM: LQ; 0.25/0.5 mM: mixed; 1.0 mM: second order)
TABLE4_MODEL = {
    0.0: ("lq", (1.0000, 0.9738, 0.9459, 0.9164, 0.8855, 0.8534)),
    0.25: ("mixed", (1.0000, 0.9669, 0.9306, 0.8917, 0.8513, 0.8101)),
    0.5: ("mixed", (1.0000, 0.9615, 0.9187, 0.8731, 0.8259, 0.7785)),
    1.0: ("second_order", (1.0000, 0.9427, 0.8808, 0.8178, 0.7559, 0.6968)),
}


@pytest.mark.parametrize("c", sorted(TABLE4_MODEL))
def test_table4_model_column(c):
    model, expected = TABLE4_MODEL[c]
    d = np.arange(6.0)
    ours = survival_lq(d, ALPHA, BETA) if model == "lq" else survival(model, d, ALPHA, BETA, KC_100, c)
    np.testing.assert_allclose(ours, expected, atol=0.005)
    np.testing.assert_allclose(ours, expected, atol=1.5e-4)


def test_lq_fit_recovers_lq_data_and_reports_errors():
    d = np.linspace(0, 6, 11)
    exact = fit_lq(d, survival_lq(d, 0.03, 0.002))
    assert exact.alpha == pytest.approx(0.03, abs=1e-9) and exact.beta == pytest.approx(0.002, abs=1e-10)
    assert exact.alpha_se < 1e-8 and exact.r2 == pytest.approx(1.0)



# Paper, Table 5: LQ fits of the analytic curves, (alpha, SE, beta, SE); its fit grid is not given
TABLE5 = {0.25: ("mixed", (0.0323, 0.0001, 0.00195, 0.00002)), 0.5: ("mixed", (0.0380, 0.0002, 0.00240, 0.00004)),
          1.0: ("second_order", (0.0590, 0.0004, 0.00251, 0.00009))}


@pytest.mark.parametrize("c", sorted(TABLE5))
def test_table5_lq_fits(c):
    """26 doses over 0–6 Gy, weights 1/S² (the BAEC job's choice) reproduce Table 5."""
    model, (a, a_se, b, b_se) = TABLE5[c]
    d = np.linspace(0, 6, 26)
    y = survival(model, d, ALPHA, BETA, KC_100, c)
    fit = fit_lq(d, y, sigma=y)
    assert fit.alpha == pytest.approx(a, abs=max(a_se, 2e-4)) and fit.beta == pytest.approx(b, abs=1.2 * b_se)
    assert fit.alpha_se == pytest.approx(a_se, abs=1e-4) and fit.beta_se == pytest.approx(b_se, abs=1e-5)
    assert fit.r2 > 0.999


# ----------------------------------------------------------------------- beam quality
def test_photon_data_match_nist():
    """mu_en/rho of water (NIST, via spekpy) and the gold photo-effect coefficient (xraylib)."""
    np.testing.assert_allclose(medium_mu_en_cm2_g([30.0, 100.0, 1000.0]), [0.1557, 0.02546, 0.03103], rtol=0.01)
    tau = gold_photo_cm2_g([50.0, 80.0, 81.0])
    assert tau[2] > 3 * tau[1]  # the K edge at 80.7 keV
    assert 6.3 < tau[0] < 6.9  # XCOM: mu/rho 7.26 minus coherent 0.62 and incoherent 0.10


def test_kc_shape_reproduces_table1_model_column():
    """Our K_c(E) ∝ τ_Au/(E μ_en/ρ) has the shape of the paper's Table 1 model DERs (one scale)."""
    energies = [30.0, 40.0, 50.0, 60.0, 70.0, 81.0, 100.0]
    paper = np.array([4.28, 3.52, 2.82, 2.23, 1.78, 3.45, 2.16])
    x = np.array([kc_per_mM(monoenergetic(e), 1.0) for e in energies])
    scale = np.sum(x * (paper - 1)) / np.sum(x * x)
    np.testing.assert_allclose(1 + scale * x, paper, rtol=0.025)


def test_calibration_minimises_the_rmse():
    energies = [30.0, 40.0, 50.0, 60.0, 70.0, 81.0, 100.0]
    measured = [1.74, 3.47, 2.77, 3.06, 1.30, 2.58, 1.35]  # paper Table 1 (Rahman 2014)
    cal = calibrate_eps_v(energies, measured, 1.0)
    x = np.array([kc_per_mM(monoenergetic(e), 1.0) for e in energies])
    best = optimize.minimize_scalar(lambda v: np.sqrt(np.mean((1 + v * x - measured) ** 2)), bounds=(0, 5000),
                                    method="bounded", options={"xatol": 1e-6})
    assert cal.eps_v_gy_um3 == pytest.approx(best.x, rel=1e-5)
    assert cal.rmse == pytest.approx(0.823, abs=0.01)  # the paper quotes "RMSE 0.9"
    high = calibrate_eps_v(energies, measured, 1.0, min_energy_keV=35.0)
    assert high.used.sum() == 6 and high.eps_v_gy_um3 > cal.eps_v_gy_um3


def test_kv_spectra_kc_beside_the_paper():
    """K_c of the paper's kV beams (spekpy, 0.8 mm Be + 3.9 mm Al) with eps*V matched to Table 1."""
    energies = [30.0, 40.0, 50.0, 60.0, 70.0, 81.0, 100.0]
    paper = np.array([4.28, 3.52, 2.82, 2.23, 1.78, 3.45, 2.16])
    x = np.array([kc_per_mM(monoenergetic(e), 1.0) for e in energies])
    eps_v = np.sum(x * (paper - 1)) / np.sum(x * x)
    filters = (("Be", 0.8), ("Al", 3.9))
    kc50 = kc_per_mM(tube_spectrum(50, 12.0, filters), eps_v)
    kc100 = kc_per_mM(tube_spectrum(100, 12.0, filters), eps_v)
    assert kc50 == pytest.approx(KC_50, rel=0.03)
    assert kc100 == pytest.approx(KC_100, rel=0.12)  # 2.31: see the app's report on the difference
    assert kc50 > kc100


def test_spectrum_file_and_its_errors(tmp_path):
    good = tmp_path / "beam.txt"
    good.write_text("# E[MeV] fluence\n0.05, 1\n0.10 2\n\n1.0 1  # a comment\n")
    spec = read_spectrum(good, "MeV")
    np.testing.assert_allclose(spec.energy_keV, [50, 100, 1000])
    assert spec.mean_energy_keV == pytest.approx((50 + 200 + 1000) / 4)
    assert kc_per_mM(spec, 300.0) > 0
    bad = tmp_path / "bad.txt"
    bad.write_text("0.05 1\n0.1 x\n")
    with pytest.raises(ValueError, match=r"bad.txt:2"):
        read_spectrum(bad)
    with pytest.raises(ValueError, match="energies must lie"):
        read_spectrum(good, "keV")  # 0.05 keV is below 1 keV


def test_mv_extrapolation_is_smooth():
    e = np.array([990.0, 999.0, 1001.0, 2000.0, 20000.0])
    tau = gold_photo_cm2_g(e)
    assert np.all(np.diff(tau) < 0) and tau[2] == pytest.approx(tau[1] * 999 / 1001)
    assert np.all(np.isfinite(medium_mu_en_cm2_g(e)))


# ------------------------------------------------------------------- config, job, CLI
def test_job_validation_names_key_and_value(tmp_path):
    text = BAEC_JOB.read_text()
    with pytest.raises(ConfigError, match=r"lem.survival.xi must be <= 1"):
        parse_job(text.replace("xi = 1.0", "xi = 1.5"), "baec.toml")
    with pytest.raises(ConfigError, match=r"kc_beam"):
        parse_job(text.replace('kc_per_mM = 2.111 ', 'kc_beam = "nope"\nkc_per_mM = 2.111 '), "baec.toml")
    with pytest.raises(ConfigError, match=r"lem.medium must be one of"):
        parse_job(text.replace('medium = "water"', 'medium = "lead"'), "baec.toml")
    with pytest.raises(ConfigError, match="unknown key lem.beams\\[0\\].kv"):
        parse_job(text.replace("kvp = 50.0", "kv = 50.0"), "baec.toml")
    with pytest.raises(ConfigError, match="missing required key lem.calibration"):
        parse_job('[job]\napp = "lem"\n[lem]\n', "j.toml")
    job = load_job(BAEC_JOB)
    assert [b.name for b in job.app.beams] == ["50 kVp", "100 kVp"]


def test_baec_job_runs_and_plots(tmp_path):
    text = BAEC_JOB.read_text().replace("points = 400", "points = 60").replace("dose_points = 161", "dose_points = 41")
    job = tmp_path / "baec.toml"
    job.write_text(text)
    out = tmp_path / "lem.h5"
    proc = run_hpcmc(["run", job, "-o", out])
    assert "DEF80" in proc.stdout
    with h5py.File(out, "r") as h5:
        lem = h5["lem"]
        assert lem["calibration"].attrs["eps_v_gy_um3"] > 0
        beams = {g.attrs["name"]: g for g in lem["beams"].values()}
        assert beams["100 kVp"].attrs["paper_kc_per_mM"] == KC_100
        assert 0 < beams["100 kVp"].attrs["kc_per_mM"] < beams["50 kVp"].attrs["kc_per_mM"]
        e = lem["energy_curve/energy_keV"][()]
        assert e[0] == pytest.approx(1.0) and e[-1] == pytest.approx(20000.0)
        for c, i in ((0.25, 1), (1.0, 2)):
            g = lem[f"survival/c{c:g}mM"]
            np.testing.assert_allclose(g["def"][()], g["def_paper"][()], atol=2e-3)
            assert g["lq_alpha"][i] > ALPHA
    plots = run_hpcmc(["plot", out, "-o", tmp_path / "plots"]).stdout.split()
    names = {p.rsplit("/", 1)[-1] for p in plots}
    assert {"lem_survival.png", "lem_der_vs_energy.png", "lem_spectra.png"} <= names
