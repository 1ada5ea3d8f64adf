"""CSDA range of electrons in liquid water from hpcmc's own track-structure cross sections.

Stopping power from the tabulated inelastic channels of :mod:`hpcmc.physics.water_xs`:

    S(T) = n Σ_orbitals ∫₀^{(T−B)/2} (B + W) dσ_i/dW dW  +  Σ_levels E_j Σ_j(T)   [eV/nm],

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


def stopping_power_eV_per_nm(energy_eV: float) -> float:
    """Electronic stopping power of liquid water in the track-structure model  [eV/nm]."""
    n = wx.WATER_MOLECULES_PER_NM3
    total = 0.0
    for b, u, occ in zip(wx.ORBITAL_B_EV, wx.ORBITAL_U_EV, wx.ORBITAL_N):
        if energy_eV <= b:
            continue
        w_max = 0.5 * (energy_eV - b)
        w = np.linspace(0.0, w_max, 4001)
        sdcs = wx.rbeb_sdcs_nm2_per_eV(w, energy_eV, b, u, occ)
        total += n * np.trapezoid((b + w) * sdcs, w)
    for level, e_j in enumerate(wx.EXCITATION_E_EV):
        total += float(wx.excitation_sigma_per_nm(energy_eV, level)) * e_j
    return float(total)


@functools.lru_cache(maxsize=4)
def csda_range_table(cutoff_eV: float = 10.0, e_max_eV: float = 1.0e6, points_per_decade: int = 40):
    """``(energy_eV, range_nm)`` on a log grid from the cut-off; ``range_nm[0] = 0``."""
    n = int(np.ceil(np.log10(e_max_eV / cutoff_eV) * points_per_decade)) + 1
    e = np.geomspace(cutoff_eV, e_max_eV, n)
    s = np.array([stopping_power_eV_per_nm(x) for x in e])
    inv = np.where(s > 0, 1.0 / np.maximum(s, 1e-300), 0.0)
    # ∫ dT/S = ∫ T/S d(ln T)
    f = e * inv
    r = np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(np.log(e)))])
    e.setflags(write=False)
    r.setflags(write=False)
    return e, r
