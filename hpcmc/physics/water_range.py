"""CSDA range of electrons in liquid water from hpcmc's own track-structure cross sections.

Stopping power from the tabulated inelastic channels of :mod:`hpcmc.physics.water_xs`
(the tables the transport samples, for either ionization model):

    S(T) = Σ_orbitals Σ_i(T) (B_i + ⟨W⟩_i(T))  +  Σ_levels E_j Σ_j(T)   [eV/nm],

⟨W⟩_i the mean secondary energy (W ≤ (T − B_i)/2) of the orbital's sampling distribution,

(n = molecules per nm³; elastic scattering loses no energy in the model), and the CSDA range

    R(T) = ∫_{T_c}^{T} dT′ / S(T′)   [nm]   (trapezoidal in ln T on a fine grid).

Because it integrates the same cross sections the transport samples, R is the model's own
mean primary path length (which agrees with ESTAR within a few per cent at 10–50 keV, see
``tests/test_physics_electron.py``). The gnp kernel uses it for *range rejection*: an
electron farther from the scoring region than ``RANGE_MARGIN · R(T)`` can neither reach it
nor leave a descendant ionization there (every descendant's path is bounded by the parent's
remaining CSDA path), so it is deposited locally without changing any scored quantity.
Valid from the cut-off (~10 eV) to the table's upper end (1 MeV).
"""
from __future__ import annotations

import functools

import numpy as np

from hpcmc.physics import water_xs as wx

__all__ = ["stopping_power_eV_per_nm", "csda_range_table", "RANGE_MARGIN"]

#: Safety factor on the mean CSDA range for range rejection (covers range straggling, which
#: is ~10–15 % (1σ) for keV electrons in water; 1.5 is > 3σ).
RANGE_MARGIN = 1.5


def _mean_w_beb(energy_eV, b, u, occ):
    """∫ W dσ/dW dW and ∫ dσ/dW dW of one RBEB orbital at T (W ≤ (T − B)/2)."""
    w_max = 0.5 * (energy_eV - b)
    w = np.concatenate([[0.0], np.geomspace(min(1e-3 * b, 1e-3 * w_max), w_max, 4000)])  # dσ/dW peaks at W → 0
    sdcs = wx.rbeb_sdcs_nm2_per_eV(w, energy_eV, b, u, occ)
    return np.trapezoid(w * sdcs, w), np.trapezoid(sdcs, w)


@functools.lru_cache(maxsize=4)
def _mean_x_rows(model):
    """⟨x⟩ = ⟨W⟩/W_max of every row and tabulated shell of the model's W-sampling table, shape (n, shells)."""
    wt = wx.water_tables(model=model).ion_w_table
    return np.sum(0.5 * (wt[:, :, 0, 1:] + wt[:, :, 0, :-1]) * np.diff(wt[:, :, 1], axis=2), axis=2)


def stopping_power_eV_per_nm(energy_eV: float, model: str = "dielectric") -> float:
    """Electronic stopping power of liquid water in the track-structure model  [eV/nm].

    Parameters
    ----------
    energy_eV : float
        Kinetic energy T  [eV].
    model : {"dielectric", "beb"}
        Ionization model of :func:`hpcmc.physics.water_xs.water_tables` whose channels are
        integrated: Σ_k(T) (B_k + ⟨W⟩_k(T)) per ionization channel, with ⟨W⟩ from the tabulated
        W distribution (dielectric valence shells) or the RBEB dσ/dW, plus Σ_j E_j Σ_j(T).
    """
    tab = wx.water_tables(model=model)
    ln_e = np.log(tab.energy_eV)
    x = np.log(energy_eV)
    total = 0.0
    for k in range(5):
        ch = wx.CH_ION0 + k
        b = float(tab.threshold_eV[ch])
        if energy_eV <= b:
            continue
        sig = float(np.interp(x, ln_e, tab.sigma_per_nm[:, ch]))
        if tab.ion_w_table is not None and k < tab.ion_w_table.shape[1]:
            mw = float(np.interp(x, ln_e, _mean_x_rows(model)[:, k])) * 0.5 * (energy_eV - b)
        else:
            num, den = _mean_w_beb(energy_eV, b, wx.ORBITAL_U_EV[k], wx.ORBITAL_N[k])
            mw = num / den if den > 0.0 else 0.0
        total += sig * (b + mw)
    for level, e_j in enumerate(wx.EXCITATION_E_EV):
        total += float(wx.excitation_sigma_per_nm(energy_eV, level)) * e_j
    return float(total)


@functools.lru_cache(maxsize=8)
def csda_range_table(cutoff_eV: float = 10.0, e_max_eV: float = 1.0e6, points_per_decade: int = 40,
                     model: str = "dielectric"):
    """``(energy_eV, range_nm)`` on a log grid from the cut-off; ``range_nm[0] = 0``."""
    n = int(np.ceil(np.log10(e_max_eV / cutoff_eV) * points_per_decade)) + 1
    e = np.geomspace(cutoff_eV, e_max_eV, n)
    s = np.array([stopping_power_eV_per_nm(x, model) for x in e])
    inv = np.where(s > 0, 1.0 / np.maximum(s, 1e-300), 0.0)
    # ∫ dT/S = ∫ T/S d(ln T)
    f = e * inv
    r = np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(np.log(e)))])
    e.setflags(write=False)
    r.setflags(write=False)
    return e, r
