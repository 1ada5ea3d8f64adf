"""Beam quality of the sigma-LEM: photo-ionisations per gray and the prefactor K_c.

Rebuilt from section 3.1 and 3.3 of P. Teles, *An analytical model for gold nanoparticle
radiosensitisation*, arXiv:2506.06671 (2025) — "the paper" below; equation numbers are the
paper's. Several equations were lost in the text extraction of the seed; each one below says
whether it is the paper's (with its number) or rebuilt, and how.

Derivation (eqs. 1–7, 11–19)
----------------------------
* Eq. 1 — dose under charged-particle equilibrium from a photon fluence ``Φ`` of energy ``E``:
  ``D = Φ · E · (μ_en/ρ)_medium``.
* Eq. 2 — the reference fluence that delivers 1 Gy: ``Φ_ref = 1 Gy / (E (μ_en/ρ)_medium)``.
* Eqs. 3–5 — a photon crossing a nanoparticle (NP) of projected area ``A_NP`` out of a source
  area ``A_src`` photo-ionises it with probability ``(A_NP/A_src)(1 − exp(−μ_pe l̄))``
  ≈ ``(A_NP/A_src) μ_pe l̄`` (first Taylor term; ``μ_pe l̄ ≪ 1``). With Cauchy's mean chord
  ``l̄ = 4V/S`` and the mean projected area ``A_NP = S/4`` of a convex body, this is
  ``μ_pe V_NP / A_src``: proportional to the NP volume, whatever its shape
  (``μ_pe = τ_Au ρ_Au``, ``τ_Au`` the photoelectric mass coefficient of gold).
* Eqs. 6–7 — times ``Φ_ref`` and the number of NPs ``N_NP``: photo-ionisations per gray
  ``N_ion/D = k V_NP N_NP`` with ``k = τ_Au ρ_Au / (E (μ_en/ρ)_medium)``, the ionisations
  per gray per unit volume of gold (:func:`ionisations_per_gray`).
* Eqs. 11–16 — each ionisation adds on average a dose ``ε`` to the nucleus, so the mean
  extra dose is ``ΔD = ε N_ion`` and ``DER = 1 + ΔD/D_0 = 1 + ε k V_NP N_NP``.
* Eq. 17 — ``N_NP = m_Au / (ρ_Au V_NP)`` with ``m_Au = c M_Au V`` (``c`` the molar
  concentration, ``V`` the cell/nucleus volume the paper tunes).
* Eqs. 18–19 — ``V_NP`` cancels: ``DER = 1 + K_c c`` with
  ``K_c = (ε V) · M_Au · τ_Au / (E (μ_en/ρ)_medium) · [1 Gy in keV/g]`` (per mM after the unit
  conversions in :func:`kc_per_mM`). ``ρ_Au`` cancels too; only the product ``ε V`` is free
  and is calibrated (:func:`calibrate_eps_v`), as the paper does against synchrotron DERs.

Spectrum weighting (rebuilt): the paper says the "bracketed terms should be
spectrum-weighted". The number of ionisations per gray of a polyenergetic fluence ``Φ(E)`` is
the ratio of the two fluence integrals ``∫Φ τ_Au dE / ∫Φ E (μ_en/ρ) dE`` (eq. 1 and eq. 3
summed over the spectrum), which is what :func:`ionisations_per_gray` computes.

Photon data: gold photo-ionisation from ``xraylib`` (``CS_Photo``); ``μ_en/ρ`` of the dose
medium (water, the paper's "tissue"; or air) from the NIST tables shipped with ``spekpy`` (see
:func:`medium_mu_en_cm2_g` for why not xraylib's ``CS_Energy``); tube spectra from ``spekpy`` through
:func:`hpcmc.physics.spectrum.tube_spectrum`, the one SpekPy wrapper of hpcmc.
``xraylib`` tabulates ``CS_Photo`` only up to just below 1 MeV; above 999 keV (MV beams only)
the cross section is continued as ``τ ∝ 1/E`` (Sauter's high-energy limit), which
overestimates the 1–20 MeV tail by a factor of order one and moves MV DERs, already
~1 + 1e-5, by a negligible amount.

Check against the paper: the equations of this module were lost in the extraction and are
rebuilt from the text as above. With ``ε V`` scaled to the paper's own Table 1 model column,
``K_c(E)`` reproduces that column within 2.5 % at all seven energies (30–100 keV, across the
K edge) — the shape is the paper's; see ``tests/test_lem.py``.
"""
from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import constants

from hpcmc.physics import spectrum as physics_spectrum

__all__ = [
    "GOLD_Z",
    "KEV_PER_GRAM_PER_GRAY",
    "Spectrum",
    "monoenergetic",
    "tube_spectrum",
    "from_physics_spectrum",
    "read_spectrum",
    "gold_photo_cm2_g",
    "MEDIA",
    "medium_mu_en_cm2_g",
    "ionisations_per_gray",
    "kc_per_mM",
    "kc_shape_per_keV",
    "Calibration",
    "calibrate_eps_v",
]

#: Atomic number of gold.
GOLD_Z = 79
#: 1 Gy = 1 J/kg expressed in keV per gram  [keV g⁻¹ Gy⁻¹].
KEV_PER_GRAM_PER_GRAY = 1.0 / (constants.e * 1e3) / 1e3
#: Upper end of xraylib's photo-ionisation table (CS_Photo fails at 1000 keV)  [keV].
_PHOTO_TABLE_MAX_KEV = 999.0
#: mM → mol per cm³  [mol cm⁻³ mM⁻¹].
_MOL_CM3_PER_MM = 1e-6
#: µm³ → cm³.
_CM3_PER_UM3 = 1e-12


@dataclasses.dataclass(frozen=True)
class Spectrum:
    """A photon spectrum: fluence per energy bin (any normalisation).

    Attributes
    ----------
    energy_keV : numpy.ndarray
        Bin energies  [keV].
    fluence : numpy.ndarray
        Photons in each bin (fluence per bin, not per keV), ≥ 0.
    label : str
        What the spectrum is (shown in logs and plots).
    """

    energy_keV: np.ndarray
    fluence: np.ndarray
    label: str = ""

    def __post_init__(self):
        e = np.atleast_1d(np.asarray(self.energy_keV, dtype=float))
        w = np.atleast_1d(np.asarray(self.fluence, dtype=float))
        if e.shape != w.shape or e.ndim != 1 or e.size == 0:
            raise ValueError(f"spectrum {self.label!r}: energies and fluences must be 1-D of equal length, "
                             f"got {e.shape} and {w.shape}")
        if np.any(~np.isfinite(e)) or np.any(e < 1.0) or np.any(e > 20000.0):
            raise ValueError(f"spectrum {self.label!r}: energies must lie in [1 keV, 20 MeV], "
                             f"got {e.min():g}..{e.max():g} keV")
        if np.any(~np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
            raise ValueError(f"spectrum {self.label!r}: fluences must be finite, >= 0 and not all zero")
        object.__setattr__(self, "energy_keV", e)
        object.__setattr__(self, "fluence", w)

    @property
    def mean_energy_keV(self) -> float:
        """Fluence-weighted mean energy  [keV]."""
        return float(np.sum(self.fluence * self.energy_keV) / np.sum(self.fluence))


def monoenergetic(energy_keV: float) -> Spectrum:
    """A single line of ``energy_keV`` [keV]."""
    return Spectrum(np.array([float(energy_keV)]), np.array([1.0]), f"{energy_keV:g} keV")


def from_physics_spectrum(spectrum: physics_spectrum.Spectrum, label: str = "") -> Spectrum:
    """The lem view [keV] of a :class:`hpcmc.physics.spectrum.Spectrum` [eV]: bin centres
    ``(lo + hi)/2`` converted eV → keV, fluence = the bin probabilities (K_c and the ionisations
    per gray are ratios of fluence integrals, so the normalisation cancels). Bins below 1 keV or
    without fluence are dropped."""
    energy_keV = 0.5 * (spectrum.lo_eV + spectrum.hi_eV) * 1e-3
    keep = (energy_keV >= 1.0) & (spectrum.probability > 0)
    return Spectrum(energy_keV[keep], spectrum.probability[keep], label or spectrum.label)


def tube_spectrum(kvp: float, anode_angle_deg: float = 12.0, filters: Sequence[tuple[str, float]] = (),
                  dk_keV: float = 0.5, label: str = "") -> Spectrum:
    """An X-ray tube spectrum from ``spekpy`` (tungsten anode), via hpcmc's one SpekPy wrapper
    :func:`hpcmc.physics.spectrum.tube_spectrum` (cached; energies in eV there, keV here).

    Parameters
    ----------
    kvp : float
        Tube potential  [kV].
    anode_angle_deg : float
        Anode (take-off) angle  [deg].
    filters : sequence of (str, float)
        Filtration as (material, thickness [mm]) pairs in spekpy's names, e.g.
        ``(("Be", 0.8), ("Al", 3.9))`` — the paper's filtration.
    dk_keV : float
        Energy bin width  [keV].
    label : str
    """
    built = physics_spectrum.tube_spectrum(kvp, anode_angle_deg, tuple(filters), dk_keV)
    return from_physics_spectrum(built, label or f"{kvp:g} kVp")


def read_spectrum(path: str | Path, energy_unit: str = "MeV", label: str = "") -> Spectrum:
    """Read a user spectrum: two whitespace- or comma-separated columns, energy and fluence per bin.

    Lines starting with ``#`` are comments. Use this for MV beams (e.g. the BEAM spectra of
    Sheikh-Bagheri & Rogers 2002, which the paper uses), whose spectra are not computed here.

    Parameters
    ----------
    path : str or Path
    energy_unit : {"keV", "MeV"}
        Unit of the first column.
    label : str
    """
    scale = {"keV": 1.0, "MeV": 1000.0}
    if energy_unit not in scale:
        raise ValueError(f"energy_unit must be 'keV' or 'MeV', got {energy_unit!r}")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{p}: cannot read the spectrum file: {exc.strerror}") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].replace(",", " ").strip()
        if not line:
            continue
        parts = line.split()
        try:
            rows.append((float(parts[0]), float(parts[1])))
        except (ValueError, IndexError):
            raise ValueError(f"{p}:{n}: expected two numbers (energy, fluence), got {line!r}") from None
    if not rows:
        raise ValueError(f"{p}: no data rows")
    data = np.array(rows)
    return Spectrum(data[:, 0] * scale[energy_unit], data[:, 1], label or p.stem)


@functools.lru_cache(maxsize=None)
def _photo_scalar(energy_keV: float) -> float:
    import xraylib  # only the functions that evaluate cross sections need it

    if energy_keV <= _PHOTO_TABLE_MAX_KEV:
        return xraylib.CS_Photo(GOLD_Z, energy_keV)
    # beyond the table: Sauter's high-energy limit tau ∝ 1/E (see the module docstring)
    return xraylib.CS_Photo(GOLD_Z, _PHOTO_TABLE_MAX_KEV) * _PHOTO_TABLE_MAX_KEV / energy_keV


def gold_photo_cm2_g(energy_keV) -> np.ndarray:
    """Photo-ionisation mass coefficient of gold ``τ_Au/ρ`` (xraylib ``CS_Photo``)  [cm² g⁻¹].

    Parameters
    ----------
    energy_keV : float or array  [keV], 1 keV … 20 MeV
    """
    e = np.atleast_1d(np.asarray(energy_keV, dtype=float))
    return np.array([_photo_scalar(float(x)) for x in e])


#: Media with mass energy-absorption tables (shipped with spekpy).
MEDIA = ("water", "air")
#: Energy up to which spekpy's NIST (Hubbell & Seltzer) mu_en/rho tables reach  [keV].
_NIST_TABLE_MAX_KEV = 1250.0


@functools.lru_cache(maxsize=None)
def _mu_en_table(medium: str) -> tuple[np.ndarray, np.ndarray]:
    """ln E [keV] and ln mu_en/rho [cm²/g] nodes of ``medium`` from spekpy's tables.

    NIST (Hubbell & Seltzer) nodes up to 1.25 MeV, PENELOPE nodes above (to 10 MeV for
    water, 20 MeV for air).
    """
    if medium not in MEDIA:
        raise ValueError(f"medium must be one of {', '.join(MEDIA)}, got {medium!r}")
    from spekpy import DataTables  # slow import: only for SpekPy's attenuation data

    cls, attr = {"water": (DataTables.MuEnWaterData, "muen_over_rho_water_coefficients"),
                 "air": (DataTables.MuEnAirData, "muen_over_rho_air_coefficients")}[medium]
    try:
        nist, pene = cls(f"nist_muen_{medium}.dat"), cls(f"pene_muen_{medium}.dat")
        e_n, m_n = getattr(nist, attr + "_energies") * 1e3, getattr(nist, attr)
        e_p, m_p = getattr(pene, attr + "_energies") * 1e3, getattr(pene, attr)
    except (AttributeError, OSError, TypeError) as exc:  # pragma: no cover - spekpy layout changed
        raise RuntimeError(f"cannot read spekpy's mu_en/rho tables for {medium}: {exc}") from None
    above = e_p > _NIST_TABLE_MAX_KEV
    energy = np.concatenate([e_n, e_p[above]])
    mu_en = np.concatenate([m_n, m_p[above]])
    return np.log(energy), np.log(mu_en)


def medium_mu_en_cm2_g(energy_keV, medium: str = "water") -> np.ndarray:
    """Mass energy-absorption coefficient ``μ_en/ρ`` of the dose medium  [cm² g⁻¹].

    NIST tables (Hubbell & Seltzer, the paper's ref. [22]) as shipped with ``spekpy``, up to
    1.25 MeV; spekpy's PENELOPE tables above; log-log interpolation between nodes and, past the
    last node (10 MeV for water), log-log extrapolation of the last segment. ``xraylib``'s
    ``CS_Energy`` is not used: its stored data disagree with NIST by up to ~30 % between 15
    and 100 keV (xraylib issues #176 and #255; e.g. water at 30 keV: 0.098 vs NIST 0.156).
    PENELOPE's water values fall below NIST's by up to ~15 % at 5–10 MeV; this matters only
    for MV beams, whose DER differs from 1 by ~1e-5.

    Parameters
    ----------
    energy_keV : float or array  [keV], 1 keV … 20 MeV
    medium : {"water", "air"}
    """
    log_e, log_mu = _mu_en_table(medium)
    x = np.log(np.atleast_1d(np.asarray(energy_keV, dtype=float)))
    y = np.interp(x, log_e, log_mu)
    top = x > log_e[-1]
    if np.any(top):
        slope = (log_mu[-1] - log_mu[-2]) / (log_e[-1] - log_e[-2])
        y[top] = log_mu[-1] + slope * (x[top] - log_e[-1])
    return np.exp(y)


def ionisations_per_gray(spectrum: Spectrum, medium: str = "water") -> float:
    """Gold photo-ionisations per gray per unit gold volume, ``k`` of eq. 7  [nm⁻³ Gy⁻¹].

    ``k = ρ_Au ∫Φ τ_Au dE / ∫Φ E (μ_en/ρ) dE`` × (1 Gy in keV/g): eqs. 2, 5 and 7 with the
    spectrum weighting rebuilt as the ratio of fluence integrals (module docstring).

    Parameters
    ----------
    spectrum : Spectrum
    medium : {"water", "air"}
        Medium in which the dose is defined (see :func:`medium_mu_en_cm2_g`).
    """
    import xraylib  # only the functions that evaluate cross sections need it

    rho_au = xraylib.ElementDensity(GOLD_Z)  # g/cm³
    per_gram = _ionisations_per_gram_gold(spectrum, medium)  # g⁻¹ Gy⁻¹
    return per_gram * rho_au * 1e-21  # cm⁻³ → nm⁻³


def _ionisations_per_gram_gold(spectrum: Spectrum, medium: str) -> float:
    """Photo-ionisations per gray per gram of gold  [g⁻¹ Gy⁻¹] (eqs. 2 × 5, spectrum-weighted)."""
    e, w = spectrum.energy_keV, spectrum.fluence
    numerator = np.sum(w * gold_photo_cm2_g(e))  # cm²/g per photon
    denominator = np.sum(w * e * medium_mu_en_cm2_g(e, medium))  # keV cm²/g per photon
    return KEV_PER_GRAM_PER_GRAY * numerator / denominator


def kc_shape_per_keV(spectrum: Spectrum, medium: str = "water") -> float:
    """The energy-dependent factor of K_c, ``∫Φ τ_Au / ∫Φ E μ_en/ρ``  [keV⁻¹].

    ``K_c = eps_v × kc_shape × M_Au × 1 Gy[keV/g] × 1e-18`` (see :func:`kc_per_mM`).
    """
    return _ionisations_per_gram_gold(spectrum, medium) / KEV_PER_GRAM_PER_GRAY


def _kc_per_eps_v(spectrum: Spectrum, medium: str) -> float:
    """K_c per unit ``ε V`` [mM⁻¹ per Gy µm³] (eq. 18 with the unit conversions)."""
    import xraylib  # only the functions that evaluate cross sections need it

    molar_mass = xraylib.AtomicWeight(GOLD_Z)  # g/mol
    # ΔD/D0 = ε · (ionisations per Gy per gram) · m_Au,  m_Au = c · 1e-6 mol/cm³/mM · M · V
    return _ionisations_per_gram_gold(spectrum, medium) * molar_mass * _MOL_CM3_PER_MM * _CM3_PER_UM3


def kc_per_mM(spectrum: Spectrum, eps_v_gy_um3: float, medium: str = "water") -> float:
    """Concentration prefactor ``K_c`` of eqs. 18–19, ``DER = 1 + K_c c``  [mM⁻¹].

    Parameters
    ----------
    spectrum : Spectrum
    eps_v_gy_um3 : float
        Calibration constant ``ε V``: mean dose to the nucleus per gold photo-ionisation times
        the cell volume the gold concentration refers to  [Gy µm³].
    medium : {"water", "air"}
        Dose medium.
    """
    if not eps_v_gy_um3 >= 0:
        raise ValueError(f"eps_v_gy_um3 must be >= 0, got {eps_v_gy_um3}")
    return eps_v_gy_um3 * _kc_per_eps_v(spectrum, medium)


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibrate_eps_v`.

    Attributes
    ----------
    eps_v_gy_um3 : float
        Fitted ``ε V``  [Gy µm³].
    energies_keV : numpy.ndarray
        Energies of all data points  [keV].
    der_measured : numpy.ndarray
        Measured DERs (DEF80 of the synchrotron data).
    der_model : numpy.ndarray
        ``1 + K_c(E) c`` at every data point with the fitted constant.
    used : numpy.ndarray of bool
        Points that entered the fit.
    rmse : float
        Root-mean-square error over the fitted points.
    rmse_all : float
        Root-mean-square error over all points.
    """

    eps_v_gy_um3: float
    energies_keV: np.ndarray
    der_measured: np.ndarray
    der_model: np.ndarray
    used: np.ndarray
    rmse: float
    rmse_all: float


def calibrate_eps_v(energies_keV: Sequence[float], der_measured: Sequence[float], concentration_mM: float,
                    medium: str = "water", min_energy_keV: float = 0.0) -> Calibration:
    """Fit the single constant ``ε V`` to monoenergetic DERs by minimising the RMSE.

    The model ``DER_i = 1 + x g_i`` (``g_i = K_c(E_i)/(ε V) · c``) is linear in ``x = ε V``,
    so the RMSE minimum is the least-squares solution ``x = Σ g_i (DER_i − 1) / Σ g_i²``
    (paper, section 2 and 3.3: "a single energy-independent constant … obtained by
    minimising the Root Mean Square Error between model and synchrotron DERs").

    Parameters
    ----------
    energies_keV : sequence of float
        Monoenergetic beam energies  [keV].
    der_measured : sequence of float
        Measured DERs (the paper uses DEF80 of Rahman et al. 2014, its Table 1).
    concentration_mM : float
        Gold concentration of the measurements  [mM].
    medium : {"water", "air"}
        Dose medium.
    min_energy_keV : float
        Leave out points below this energy  [keV] (0 = use all).
    """
    e = np.asarray(energies_keV, dtype=float)
    y = np.asarray(der_measured, dtype=float)
    if e.shape != y.shape or e.ndim != 1 or e.size == 0:
        raise ValueError(f"energies_keV and der_measured must be 1-D of equal length, got {e.shape} and {y.shape}")
    if not concentration_mM > 0:
        raise ValueError(f"concentration_mM must be > 0, got {concentration_mM}")
    used = e >= min_energy_keV
    if not np.any(used):
        raise ValueError(f"min_energy_keV = {min_energy_keV} leaves no calibration point")
    g = np.array([_kc_per_eps_v(monoenergetic(x), medium) for x in e]) * concentration_mM
    x = float(np.sum(g[used] * (y[used] - 1.0)) / np.sum(g[used] ** 2))
    model = 1.0 + x * g
    rmse = float(np.sqrt(np.mean((model[used] - y[used]) ** 2)))
    rmse_all = float(np.sqrt(np.mean((model - y) ** 2)))
    return Calibration(x, e, y, model, used, rmse, rmse_all)
