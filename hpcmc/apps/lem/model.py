"""The sigma-LEM: DER, log-normal width, splitting factor and the three survival forms.

Rebuilt from sections 3.2–3.4 and appendices A–C of P. Teles, *An analytical model for gold
nanoparticle radiosensitisation*, arXiv:2506.06671 (2025) — "the paper"; equation numbers are
the paper's. Most equations were lost in the seed's text extraction; each function states
whether its equation is the paper's (number given) or rebuilt, and how it was checked.

Notation: ``D_0`` baseline (macroscopic) dose [Gy]; ``α`` [Gy⁻¹], ``β`` [Gy⁻²] the LQ
coefficients without gold; ``c`` gold concentration [mM]; ``K_c`` [mM⁻¹]; ``Z ~ N(0, 1)``;
``Φ`` the standard normal CDF.

Local dose (eqs. 8–10, 20–22)
-----------------------------
The enhanced dose in a voxel is log-normal, ``D_enh = D_0 exp(σZ)`` (eq. 9). Its mean is
``D_0 exp(σ²/2)`` (eq. 20: ``E[e^{σZ}] = e^{σ²/2}``, A&S 7.4.32, appendix A) and must equal the
macroscopic ``D_0 · DER = D_0 (1 + K_c c)`` (eq. 19), hence (eqs. 21–22)
``σ = sqrt(2 ln(1 + K_c c))``.

Splitting factor (eqs. 23–26)
-----------------------------
With a deterministic shift, ``D_enh = D_0 exp(μ + σZ)``, the mean condition is one equation
for two unknowns, ``μ + σ²/2 = ln G`` with the macroscopic gain ``G = 1 + K_c c``
(eqs. 23–24). The splitting factor ``ξ`` is the variance share of the gain, ``σ²/2 = ξ ln G``
(eq. 25), so ``σ = sqrt(2ξ ln G)`` and ``μ = (1 − ξ) ln G`` (eq. 26). ``ξ > 1`` would put the
median ``D_0 e^μ`` below ``D_0`` and is discarded; ``ξ < 0`` gives an imaginary ``σ``: the
admissible range ``0 ≤ ξ ≤ 1`` is enforced. ``ξ = 1`` (the paper's choice throughout) is the
purely stochastic eq. 22; ``ξ = 0`` is a purely deterministic dose ``D_0 G``.
For ``ξ < 1`` the survival forms below are applied to the median dose ``D_0 e^μ``
(``D_enh = (D_0 e^μ) e^{σZ}``); this generalisation is ours — the paper evaluates only ξ = 1.

Survival forms (eqs. 27–42)
---------------------------
LQ response per voxel, ``S = exp(−α D − β D²)`` (eq. 28), averaged over ``Z``.

*First order* (eq. 27): ``D ≈ D_0 (1 + σZ)``, a Gaussian dose. Inserting it in eq. 28 gives
(eq. 29) ``αD + βD² = αD_0 + βD_0² + (α + 2βD_0) D_0 σZ + β D_0² σ² Z²``; the term
``2βD_0²σZ`` is the "mixed" baseline × cascade term. A Gaussian average of
``exp(−A Z² − B Z)`` is, by A&S 7.4.32 (completing the square),

    E[exp(−A Z² − B Z)] = (1 + 2A)^(-1/2) · exp(B² / (2 (1 + 2A)))                   (G)

and restricted to the physical tail ``1 + σZ ≥ 0``, i.e. ``Z ≥ −z_0`` with ``z_0 = 1/σ``,
and renormalised by ``Φ(z_0)`` (appendix B), it is (G) times the truncation factor

    C = Φ((z_0 (1 + 2A) − B) / sqrt(1 + 2A)) / Φ(z_0).                              (eq. 32)

With ``A = β D_0² σ²``, ``B_v = α D_0 σ`` and ``B_m = (α + 2βD_0) D_0 σ``:

* variance-only (eqs. 30, 31, 33): ``S = e^{−αD_0 − βD_0²} (1+2A)^{-1/2} e^{B_v²/(2(1+2A))} C``;
* mixed term (eqs. 34, 35, ``α' = α + 2βD_0``): the same with ``B_m`` in the Gaussian factor;

and both use the same ``C``, built from the complete exponent ``B_m`` (the paper, after
eq. 35: the correction "is the same truncation value as derived previously"). This
reconstruction is fixed by the paper's numbers: it reproduces DEF80 = 1.301/1.504/1.738
(variance-only) and 1.260/1.453/1.680 (mixed) of appendix C and the model column of Table 4
to every printed digit. Alternatives we tried fail: without the ``βD_0²σ²Z²`` term the
variance-only DEF80 are 1.12/1.23/1.36; with ``B_v`` inside ``C`` they are 1.22/1.37/1.56;
the untruncated average lowers survival only through ``(1+2A)^{-1/2}``.

*Second order* (eqs. 36–42): ``D ≈ D_0 (1 + σZ + σ²Z²/2) = (D_0/2)((1 + σZ)² + 1) > 0``
(eq. 37, no truncation). Keeping terms up to ``σ²`` in eq. 28 (eqs. 38–39),
``αD + βD² = αD_0 + βD_0² + B Z + A Z²`` with (eq. 40)
``A = (αD_0/2 + 2βD_0²) σ²`` and ``B = (αD_0 + 2βD_0²) σ``, and (G) gives (eqs. 41–42)
``S = e^{−αD_0 − βD_0²} (1+2A)^{-1/2} e^{B²/(2(1+2A))}``.
This reproduces Table 4 (1.00 mM) and DEF80 = 1.422/1.679/2.011 of appendix C.

DEF and LQ fits
---------------
``DEF_s = D_s(0) / D_s(c)``, the ratio of the doses giving survival ``s`` (paper, after
Table 1; ``s = 0.8``). The paper relates it to DER by equating LQ survivals, DEF80 ≈ DER.
The analytic curves are cast into LQ form by (weighted) least squares in linear space with
standard errors from the covariance matrix (paper, Table 5).
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Optional, Sequence

import numpy as np
from scipy import optimize, special

__all__ = [
    "MODELS",
    "der",
    "gain_split",
    "sigma_mu",
    "survival_lq",
    "lq_dose_at_survival",
    "truncation_factor",
    "survival_variance_only",
    "survival_mixed",
    "survival_second_order",
    "survival",
    "dose_at_survival",
    "dose_enhancement_factor",
    "LQFit",
    "fit_lq",
]

#: The three closed forms, by name.
MODELS = ("variance", "mixed", "second_order")


def der(kc_per_mM: float, concentration_mM) -> np.ndarray:
    """Dose-enhancement ratio ``DER = 1 + K_c c`` (eq. 19).

    Parameters
    ----------
    kc_per_mM : float  [mM⁻¹], ≥ 0
    concentration_mM : float or array  [mM], ≥ 0
    """
    c = np.asarray(concentration_mM, dtype=float)
    if kc_per_mM < 0 or np.any(c < 0):
        raise ValueError(f"K_c and c must be >= 0, got K_c = {kc_per_mM}, c = {concentration_mM}")
    return 1.0 + kc_per_mM * c


def gain_split(gain, xi: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Split the macroscopic gain ``G`` into log-normal width and shift (eqs. 24–26).

    ``σ = sqrt(2 ξ ln G)``, ``μ = (1 − ξ) ln G``; ``0 ≤ ξ ≤ 1`` is enforced (eq. 26 and the
    text after it: ``ξ > 1`` puts the median below ``D_0``).

    Parameters
    ----------
    gain : float or array
        ``G = DER ≥ 1``.
    xi : float
        Splitting factor, the variance share of ``ln G``.

    Returns
    -------
    sigma, mu : numpy.ndarray
    """
    if not 0.0 <= xi <= 1.0:
        raise ValueError(f"splitting factor xi must be in [0, 1] (xi > 1 puts the median dose below D0), got {xi}")
    g = np.asarray(gain, dtype=float)
    if np.any(g < 1.0):
        raise ValueError(f"gain G = DER must be >= 1, got {gain}")
    log_g = np.log(g)
    return np.sqrt(2.0 * xi * log_g), (1.0 - xi) * log_g


def sigma_mu(kc_per_mM: float, concentration_mM, xi: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Log-normal width and shift at a concentration: eq. 22 (ξ = 1) and eq. 26 (any ξ).

    Parameters
    ----------
    kc_per_mM : float  [mM⁻¹]
    concentration_mM : float or array  [mM]
    xi : float
        Splitting factor in [0, 1].

    Returns
    -------
    sigma, mu : numpy.ndarray  [1]
    """
    return gain_split(der(kc_per_mM, concentration_mM), xi)


def survival_lq(dose_Gy, alpha: float, beta: float) -> np.ndarray:
    """Linear-quadratic survival ``exp(−αD − βD²)`` (eq. 28).

    Parameters
    ----------
    dose_Gy : float or array  [Gy]
    alpha : float  [Gy⁻¹]
    beta : float  [Gy⁻²]
    """
    d = np.asarray(dose_Gy, dtype=float)
    return np.exp(-alpha * d - beta * d * d)


def lq_dose_at_survival(level: float, alpha: float, beta: float) -> float:
    """Dose at which the LQ survival equals ``level``  [Gy] (closed form of eq. 28)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"survival level must be in (0, 1), got {level}")
    effect = -np.log(level)
    if beta == 0:
        return effect / alpha
    return (-alpha + np.sqrt(alpha * alpha + 4.0 * beta * effect)) / (2.0 * beta)


def _z0(sigma: float) -> float:
    """Truncation point ``z_0 = 1/σ`` of ``1 + σZ ≥ 0`` (appendix B); ``inf`` for ``σ = 0``."""
    return np.inf if sigma == 0 else 1.0 / sigma


def _check(alpha: float, beta: float, sigma: float) -> None:
    if alpha < 0 or beta < 0 or not sigma >= 0:
        raise ValueError(f"need alpha >= 0, beta >= 0, sigma >= 0; got {alpha}, {beta}, {sigma}")


def _gaussian_average(a_quad, b_lin) -> np.ndarray:
    """``E[exp(−A Z² − B Z)] = (1+2A)^{-1/2} exp(B²/(2(1+2A)))`` (A&S 7.4.32; appendix A)."""
    g = 1.0 + 2.0 * a_quad
    return np.exp(b_lin * b_lin / (2.0 * g)) / np.sqrt(g)


def truncation_factor(dose_Gy, alpha: float, beta: float, sigma: float) -> np.ndarray:
    """Truncation correction ``C`` of the first-order forms (eq. 32; rebuilt, appendix B).

    ``C = Φ((z_0 (1+2A) − B_m)/sqrt(1+2A)) / Φ(z_0)`` with ``z_0 = 1/σ``, ``A = βD²σ²``,
    ``B_m = (α + 2βD) D σ``: the ratio of the Gaussian average of the complete first-order
    exponent (eq. 29) over ``Z ≥ −1/σ`` (doses ≥ 0), renormalised by ``Φ(z_0)``, to its
    average over the whole line. ``C = 1`` at ``D = 0`` and for ``σ = 0``.

    Parameters
    ----------
    dose_Gy : float or array
        Dose the log-normal is centred on (``D_0``, or ``D_0 e^μ`` for ξ < 1)  [Gy].
    alpha : float  [Gy⁻¹]
    beta : float  [Gy⁻²]
    sigma : float
        Log-normal width.
    """
    _check(alpha, beta, sigma)
    d = np.asarray(dose_Gy, dtype=float)
    z0 = _z0(sigma)
    a_quad = beta * d * d * sigma * sigma
    b_mix = (alpha + 2.0 * beta * d) * d * sigma
    g = 1.0 + 2.0 * a_quad
    arg = (z0 * g - b_mix) / np.sqrt(g)
    return np.exp(special.log_ndtr(arg) - special.log_ndtr(z0))


def _first_order(dose_Gy, alpha: float, beta: float, sigma: float, mu: float, mixed: bool) -> np.ndarray:
    d = np.asarray(dose_Gy, dtype=float) * np.exp(mu)
    a_quad = beta * d * d * sigma * sigma
    b_lin = ((alpha + 2.0 * beta * d) if mixed else alpha) * d * sigma
    return survival_lq(d, alpha, beta) * _gaussian_average(a_quad, b_lin) * truncation_factor(d, alpha, beta, sigma)


def survival_variance_only(dose_Gy, alpha: float, beta: float, sigma: float, mu: float = 0.0) -> np.ndarray:
    """Variance-only first-order survival with truncation (eqs. 30, 31, 33; rebuilt).

    ``S = e^{−αD − βD²} (1+2A)^{-1/2} exp(B_v²/(2(1+2A))) C`` with ``A = βD²σ²``,
    ``B_v = αDσ`` and ``C`` from :func:`truncation_factor`; ``D = D_0 e^μ``.

    Parameters
    ----------
    dose_Gy : float or array
        Baseline dose ``D_0``  [Gy].
    alpha, beta : float  [Gy⁻¹], [Gy⁻²]
    sigma : float
        Log-normal width (eq. 22 / 26).
    mu : float
        Log-normal shift (eq. 26; 0 for ξ = 1).
    """
    _check(alpha, beta, sigma)
    return _first_order(dose_Gy, alpha, beta, sigma, mu, mixed=False)


def survival_mixed(dose_Gy, alpha: float, beta: float, sigma: float, mu: float = 0.0) -> np.ndarray:
    """Mixed-term first-order survival with truncation (eqs. 34–35; rebuilt).

    As :func:`survival_variance_only` with ``α → α' = α + 2βD`` in the Gaussian factor:
    ``B_m = (α + 2βD) D σ`` (the simultaneous baseline + cascade hit). Same ``C``.
    """
    _check(alpha, beta, sigma)
    return _first_order(dose_Gy, alpha, beta, sigma, mu, mixed=True)


def survival_second_order(dose_Gy, alpha: float, beta: float, sigma: float, mu: float = 0.0) -> np.ndarray:
    """Second-order survival, no truncation needed (eqs. 36–42).

    ``S = e^{−αD − βD²} (1+2A)^{-1/2} exp(B²/(2(1+2A)))`` with (eq. 40)
    ``A = (αD/2 + 2βD²) σ²`` and ``B = (αD + 2βD²) σ``; ``D = D_0 e^μ``.
    """
    _check(alpha, beta, sigma)
    d = np.asarray(dose_Gy, dtype=float) * np.exp(mu)
    a_quad = (0.5 * alpha * d + 2.0 * beta * d * d) * sigma * sigma
    b_lin = (alpha * d + 2.0 * beta * d * d) * sigma
    return survival_lq(d, alpha, beta) * _gaussian_average(a_quad, b_lin)


_FORMS: dict[str, Callable] = {
    "variance": survival_variance_only,
    "mixed": survival_mixed,
    "second_order": survival_second_order,
}


def survival(model: str, dose_Gy, alpha: float, beta: float, kc_per_mM: float, concentration_mM: float,
             xi: float = 1.0) -> np.ndarray:
    """Macroscopic survival of one of :data:`MODELS` at a gold concentration.

    Parameters
    ----------
    model : {"variance", "mixed", "second_order"}
    dose_Gy : float or array
        Baseline dose ``D_0``  [Gy].
    alpha, beta : float
        LQ coefficients without gold  [Gy⁻¹], [Gy⁻²].
    kc_per_mM : float
        Beam-quality prefactor  [mM⁻¹].
    concentration_mM : float  [mM]
    xi : float
        Splitting factor in [0, 1] (1 = the paper).
    """
    if model not in _FORMS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    sigma, mu = sigma_mu(kc_per_mM, concentration_mM, xi)
    return _FORMS[model](dose_Gy, alpha, beta, float(sigma), float(mu))


def dose_at_survival(curve: Callable[[np.ndarray], np.ndarray], level: float, dose_max_Gy: float,
                     n_scan: int = 2001) -> float:
    """First dose at which ``curve(D)`` falls to ``level``  [Gy].

    The first-order forms are not monotonic at very high dose (their Gaussian factor grows
    like ``exp(D⁴)``), so the first crossing on a scan of ``[0, dose_max_Gy]`` is refined
    with Brent's method. Raises ``ValueError`` if the curve stays above ``level``.
    """
    d = np.linspace(0.0, dose_max_Gy, n_scan)
    s = curve(d) - level
    below = np.nonzero(s <= 0)[0]
    if below.size == 0:
        raise ValueError(f"survival never falls to {level} below {dose_max_Gy} Gy")
    i = below[0]
    if i == 0:
        return 0.0
    return float(optimize.brentq(lambda x: float(curve(np.array([x]))[0]) - level, d[i - 1], d[i], xtol=1e-12))


def dose_enhancement_factor(model: str, alpha: float, beta: float, kc_per_mM: float, concentration_mM: float,
                            level: float = 0.8, xi: float = 1.0) -> float:
    """``DEF_s = D_s(0 mM) / D_s(c)`` for a survival level ``s`` (paper, after Table 1; s = 0.8).

    Parameters
    ----------
    model : {"variance", "mixed", "second_order"}
    alpha, beta : float  [Gy⁻¹], [Gy⁻²]
    kc_per_mM : float  [mM⁻¹]
    concentration_mM : float  [mM]
    level : float
        Survival fraction (0.8 → DEF80).
    xi : float
        Splitting factor.
    """
    d_ref = lq_dose_at_survival(level, alpha, beta)
    d_au = dose_at_survival(lambda d: survival(model, d, alpha, beta, kc_per_mM, concentration_mM, xi),
                            level, 1.5 * d_ref)
    return d_ref / d_au


@dataclasses.dataclass(frozen=True)
class LQFit:
    """An LQ fit ``S = exp(−αD − βD²)`` with standard errors from the covariance matrix.

    Attributes
    ----------
    alpha : float  [Gy⁻¹]
    beta : float  [Gy⁻²]
    alpha_se : float  [Gy⁻¹]
    beta_se : float  [Gy⁻²]
    r2 : float
        Coefficient of determination (unweighted, linear space).
    """

    alpha: float
    beta: float
    alpha_se: float
    beta_se: float
    r2: float


def fit_lq(dose_Gy: Sequence[float], survival_fraction: Sequence[float],
           sigma: Optional[Sequence[float]] = None) -> LQFit:
    """Weighted least-squares LQ fit in linear space (paper, Table 5).

    Parameters
    ----------
    dose_Gy : sequence of float  [Gy]
    survival_fraction : sequence of float
    sigma : sequence of float, optional
        Uncertainty of each point (weights ``1/σ²``); ``None`` = equal weights. Standard
        errors are the square roots of the covariance diagonal scaled by the residual
        variance (``absolute_sigma=False``).
    """
    d = np.asarray(dose_Gy, dtype=float)
    s = np.asarray(survival_fraction, dtype=float)
    if d.shape != s.shape or d.size < 3:
        raise ValueError(f"need >= 3 (dose, survival) pairs of equal length, got {d.shape} and {s.shape}")

    def lq(x, a, b):
        return np.exp(-a * x - b * x * x)

    p, cov = optimize.curve_fit(lq, d, s, p0=(0.1, 0.01), sigma=sigma, absolute_sigma=False)
    ss_res = float(np.sum((s - lq(d, *p)) ** 2))
    ss_tot = float(np.sum((s - s.mean()) ** 2))
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return LQFit(float(p[0]), float(p[1]), float(se[0]), float(se[1]), 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0)
