"""Relativistic binary-encounter-Bethe (RBEB) ionization cross section of one orbital.

Kim, Santos & Parente, "Extension of the binary-encounter-dipole model to relativistic
incident electrons", Phys. Rev. A 62 (2000) 052710. The water models of
:mod:`hpcmc.physics.water_xs` (``model="beb"``, and the K shell of ``"dielectric"``) and the
hand-over above 1 keV of :mod:`hpcmc.physics.water_dielectric` use it; it lives here, below
both, so that neither has to import the other from inside a function. Energies in eV, cross
sections in nm².
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np
from scipy import constants as _sc

__all__ = ["BOHR_RADIUS_NM", "ELECTRON_MASS_EV", "FINE_STRUCTURE", "rbeb_coefficients", "rbeb_sigma_nm2",
           "rbeb_sdcs_nm2_per_eV"]

#: Bohr radius a₀  [nm] (CODATA via scipy).
BOHR_RADIUS_NM = _sc.physical_constants["Bohr radius"][0] * 1e9
#: Electron rest energy m_e c²  [eV] (CODATA via scipy).
ELECTRON_MASS_EV = _sc.physical_constants["electron mass energy equivalent in MeV"][0] * 1e6
#: Fine-structure constant α.
FINE_STRUCTURE = _sc.fine_structure


@nb.njit(cache=True)
def rbeb_coefficients(energy_eV, b_eV, u_eV, n_occ):
    """Coefficients of the RBEB singly differential cross section of one orbital.

    dσ/dW = (pref/B) {c3 [(w+1)⁻³ + (t−w)⁻³] + [(w+1)⁻² + (t−w)⁻²]
                      + c1 [(w+1)⁻¹ + (t−w)⁻¹] + c0},     w = W/B ∈ [0, (t−1)/2]

    with pref = 4π a₀² α⁴ N/((β_t² + β_u² + β_b²) 2b'), c3 = L = ln(β_t²/(1−β_t²)) − β_t²
    − ln 2b', c1 = −(1+2t')/((1+t'/2)²(t+1)) and c0 = b'²/(1+t'/2)² (Kim, Santos & Parente
    2000; see the module docstring of :mod:`hpcmc.physics.water_xs`).

    Parameters
    ----------
    energy_eV, b_eV, u_eV : float
        T, B, U  [eV].
    n_occ : float
        Occupation number N.

    Returns
    -------
    tuple of float
        ``(t, pref_nm2, c3, c1, c0)``; pref in [nm²].
    """
    t = energy_eV / b_eV
    tp = energy_eV / ELECTRON_MASS_EV
    bp = b_eV / ELECTRON_MASS_EV
    up = u_eV / ELECTRON_MASS_EV
    bt2 = 1.0 - 1.0 / ((1.0 + tp) * (1.0 + tp))
    bb2 = 1.0 - 1.0 / ((1.0 + bp) * (1.0 + bp))
    bu2 = 1.0 - 1.0 / ((1.0 + up) * (1.0 + up))
    a2 = FINE_STRUCTURE * FINE_STRUCTURE
    pref = 4.0 * math.pi * BOHR_RADIUS_NM * BOHR_RADIUS_NM * a2 * a2 * n_occ / ((bt2 + bb2 + bu2) * 2.0 * bp)
    # ln(β²/(1−β²)) = ln(t'(2+t')) written without cancellation
    c3 = math.log(tp * (2.0 + tp)) - bt2 - math.log(2.0 * bp)
    h = 1.0 + 0.5 * tp
    c1 = -(1.0 + 2.0 * tp) / (h * h * (t + 1.0))
    c0 = bp * bp / (h * h)
    return t, pref, c3, c1, c0


def rbeb_sigma_nm2(energy_eV, b_eV, u_eV, n_occ=2.0):
    """Relativistic BEB ionization cross section of one orbital (Kim, Santos & Parente 2000).

    σ = pref {½ L (1 − 1/t²) + 1 − 1/t + c1 ln t + c0 (t − 1)/2} with the coefficients of
    :func:`rbeb_coefficients` (c1 already contains −1/(t+1)).

    Parameters
    ----------
    energy_eV : float or ndarray
        T  [eV].
    b_eV, u_eV : float
        B, U  [eV].
    n_occ : float
        Occupation number.

    Returns
    -------
    float or ndarray
        σ  [nm²]; zero for T ≤ B (and clipped at zero in the sliver t − 1 ≲ 2b' just
        above threshold where L < 0).
    """
    T = np.atleast_1d(np.asarray(energy_eV, dtype=float))
    out = np.zeros_like(T)
    for i, e in enumerate(T):
        if e <= b_eV:
            continue
        t, pref, c3, c1, c0 = rbeb_coefficients(e, b_eV, u_eV, n_occ)
        val = pref * (0.5 * c3 * (1.0 - 1.0 / t**2) + 1.0 - 1.0 / t + c1 * math.log(t) + c0 * 0.5 * (t - 1.0))
        out[i] = max(val, 0.0)
    return out if np.ndim(energy_eV) else float(out[0])


def rbeb_sdcs_nm2_per_eV(w_eV, energy_eV, b_eV, u_eV, n_occ=2.0):
    """RBEB singly differential cross section dσ/dW  [nm²/eV] (see :func:`rbeb_coefficients`).

    Parameters
    ----------
    w_eV : float or ndarray
        Secondary energy W  [eV].
    energy_eV : float
        Incident energy T  [eV].
    b_eV, u_eV, n_occ
        Orbital constants.
    """
    w = np.asarray(w_eV, dtype=float) / b_eV
    if energy_eV <= b_eV:
        return np.zeros_like(w)
    t, pref, c3, c1, c0 = rbeb_coefficients(energy_eV, b_eV, u_eV, n_occ)
    f = (c3 * (1.0 / (w + 1.0) ** 3 + 1.0 / (t - w) ** 3) + (1.0 / (w + 1.0) ** 2 + 1.0 / (t - w) ** 2)
         + c1 * (1.0 / (w + 1.0) + 1.0 / (t - w)) + c0)
    ok = (w >= 0.0) & (w <= 0.5 * (t - 1.0))
    return np.where(ok, pref / b_eV * f, 0.0)
