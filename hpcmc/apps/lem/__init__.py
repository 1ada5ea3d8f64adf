"""lem: the analytic sigma-LEM of gold-nanoparticle radiosensitisation (no transport).

Rebuilt from P. Teles, *An analytical model for gold nanoparticle radiosensitisation*,
arXiv:2506.06671 (2025). ``hpcmc run jobs/lem/baec.toml`` reproduces the paper's BAEC study;
the functions below are the API for scripts::

    from hpcmc.apps.lem import tube_spectrum, kc_per_mM, calibrate_eps_v, survival, \\
        dose_enhancement_factor, fit_lq

    cal = calibrate_eps_v([40, 50, 60], [3.47, 2.77, 3.06], concentration_mM=1.0)
    beam = tube_spectrum(100, anode_angle_deg=12, filters=[("Be", 0.8), ("Al", 3.9)])
    kc = kc_per_mM(beam, cal.eps_v_gy_um3)                     # [1/mM], DER = 1 + kc c
    sf = survival("mixed", [0, 1, 2], 0.0252, 0.0013, kc, 0.5)  # surviving fractions
    def80 = dose_enhancement_factor("second_order", 0.0252, 0.0013, kc, 1.0)

Modules: :mod:`~hpcmc.apps.lem.photon` (beam quality, eqs. 1–7 and 16–19),
:mod:`~hpcmc.apps.lem.model` (DER, σ, ξ, survival forms, DEF, LQ fits; eqs. 19–42),
:mod:`~hpcmc.apps.lem.app` (job configuration and the study driver),
:mod:`~hpcmc.apps.lem.plots` (figures).
"""
from hpcmc.apps.lem.app import APP, LemConfig, run_study
from hpcmc.apps.lem.model import (
    MODELS,
    LQFit,
    der,
    dose_at_survival,
    dose_enhancement_factor,
    fit_lq,
    gain_split,
    lq_dose_at_survival,
    sigma_mu,
    survival,
    survival_lq,
    survival_mixed,
    survival_second_order,
    survival_variance_only,
    truncation_factor,
)
from hpcmc.apps.lem.photon import (
    Calibration,
    Spectrum,
    calibrate_eps_v,
    gold_photo_cm2_g,
    ionisations_per_gray,
    MEDIA,
    kc_per_mM,
    medium_mu_en_cm2_g,
    monoenergetic,
    read_spectrum,
    tube_spectrum,
)

__all__ = [
    "APP",
    "LemConfig",
    "run_study",
    "MODELS",
    "LQFit",
    "der",
    "dose_at_survival",
    "dose_enhancement_factor",
    "fit_lq",
    "gain_split",
    "lq_dose_at_survival",
    "sigma_mu",
    "survival",
    "survival_lq",
    "survival_mixed",
    "survival_second_order",
    "survival_variance_only",
    "truncation_factor",
    "Calibration",
    "Spectrum",
    "calibrate_eps_v",
    "gold_photo_cm2_g",
    "ionisations_per_gray",
    "MEDIA",
    "kc_per_mM",
    "medium_mu_en_cm2_g",
    "monoenergetic",
    "read_spectrum",
    "tube_spectrum",
]
