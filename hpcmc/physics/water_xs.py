"""Electron cross sections of liquid water for event-by-event track structure.

Units: energies in eV, lengths in nm, microscopic cross sections in nm², macroscopic cross
sections (inverse mean free paths) in 1/nm.  Constants come from :mod:`scipy.constants`
(CODATA); only model parameters taken from the cited papers are typed in.

Medium
------
Liquid water, ρ = 1.0 g/cm³, M = 18.015 g/mol: molecular number density
``N = ρ N_A / M = 33.43 nm⁻³`` (= 3.343×10⁻² Å⁻³), :data:`WATER_MOLECULES_PER_NM3`.

Channels (11, in the order of the columns of :attr:`WaterTables.sigma_per_nm`)
----------------------------------------------------------------------------
0–4   ionization of the orbitals 1b1, 3a1, 1b2, 2a1, 1a1 (dielectric response up to 1 keV
      for the valence shells — the default, see the end of this docstring — or
      relativistic BEB, below);
5–9   electronic excitation of the levels A¹B₁, B¹A₁, Ryd A+B, Ryd C+D, diffuse bands;
10    elastic scattering (screened Rutherford).

Ionization — Binary-Encounter-Bethe (BEB)
-----------------------------------------
Kim & Rudd, Phys. Rev. A 50 (1994) 3954, with the dipole constant Q = 1 and N_i = N.  Per
orbital (binding energy B, mean orbital kinetic energy U, occupation N), with t = T/B,
u = U/B, w = W/B (W: kinetic energy of the ejected electron), R = 13.606 eV (Rydberg),
a₀ = Bohr radius, S = 4π a₀² N (R/B)²:

    σ_BEB(T)    = S/(t+u+1) · [½ ln t (1 − 1/t²) + 1 − 1/t − ln t/(t+1)]
    dσ/dW(W, T) = S/(B(t+u+1)) · Σₙ Fₙ [(w+1)⁻ⁿ + (t−w)⁻ⁿ],
                  F₁ = −1/(t+1),  F₂ = 1,  F₃ = ln t,      0 ≤ w ≤ (t−1)/2.

∫₀^{(t−1)/2} dσ/dW B dw = σ_BEB exactly (tested).  The primary loses B + W, the secondary
gets W, the binding energy B is deposited locally.

Relativistic extension (RBEB; Kim, Santos & Parente, Phys. Rev. A 62 (2000) 052710).  With
t' = T/mc², b' = B/mc², u' = U/mc², β_x² = 1 − 1/(1 + x')², α the fine-structure constant:

    σ_RBEB = 4π a₀² α⁴ N / ((β_t² + β_u² + β_b²) 2b')
             · { ½ [ln(β_t²/(1−β_t²)) − β_t² − ln 2b'] (1 − 1/t²) + 1 − 1/t
                 − ln t/(t+1) · (1+2t')/(1+t'/2)² + b'²/(1+t'/2)² · (t−1)/2 }

and the matching singly differential form (the integrand of the braces, per unit w)

    dσ/dW = [same prefactor]/B · { L [(w+1)⁻³ + (t−w)⁻³] + [(w+1)⁻² + (t−w)⁻²]
                                   − (1+2t')/((1+t'/2)²(t+1)) [(w+1)⁻¹ + (t−w)⁻¹]
                                   + b'²/(1+t'/2)² },
    L = ln(β_t²/(1−β_t²)) − β_t² − ln 2b'.

For t' → 0, RBEB → BEB term by term (L → ln t, the prefactor → S/(t+u+1)); the
difference is +0.2 % at 1 keV, +2.6 % at 10 keV, +5 % at 20 keV, +13 % at 50 keV and
+28 % at 100 keV (plain BEB uses T instead of mv²/2 in the Bethe term and so
underestimates the cross section of fast electrons).  hpcmc uses RBEB at all energies, so
the transport is continuous across 20 keV; :func:`beb_sigma_nm2` is kept for validation.

Orbital constants: liquid-phase binding energies B (Dingfelder et al., Radiat. Phys. Chem.
53 (1998) 1; the values used by Geant4-DNA) and the vapour orbital kinetic energies U of
Hwang, Kim & Rudd, J. Chem. Phys. 104 (1996) 2956.  Validity: BEB is a
model for isolated molecules; with liquid-phase B it is a common approximation for liquid
water (no condensed-phase screening, no collective excitation), stated accuracy of BEB
±10–20 % near the peak; RBEB valid up to MeV energies.  The 1a1 (O K-shell) vacancy's
Auger cascade is not followed: its B = 539 eV is deposited locally.

Excitation — Emfietzoglou et al. (2003) analytic fit of the dielectric-model cross section
--------------------------------------------------------------------------------------------
Five levels E_j = 8.22, 10.00, 11.24, 12.61, 13.77 eV (A¹B₁, B¹A₁, Rydberg A+B, Rydberg C+D,
diffuse bands; Emfietzoglou & Moscovitch, Nucl. Instrum. Meth. B 193 (2002) 71) with the
analytic fit of the dielectric-model (first Born, optical-data loss function) excitation
inverse mean free path of liquid water of Emfietzoglou, Karava, Papamichael & Moscovitch,
"Monte Carlo simulation of the energy loss of low-energy electrons in liquid water",
Phys. Med. Biol. 48 (2003) 2355:

    Σ_j(T) = A_j/(2π a₀) · (E_j/T) · ln(C_j T/R) · (1 − E_j/T)^{P_j}      [1/nm], T > E_j

    A_j = 0.0205, 0.0209, 0.0130, 0.0026, 0.0025
    C_j = 4.9801, 3.3850, 2.8095, 1.9242, 3.4624
    P_j = 0.4757, 0.3483, 0.4443, 0.3429, 0.4379

Σ_j is the macroscopic cross section of liquid water of unit density; σ_j = Σ_j/N.
Provenance (checked): formula, parameter values and the macroscopic convention (σ = Σ/N)
are exactly those of the first Geant4-DNA implementation of this fit (Geant4 9.0, 2007,
class G4CrossSectionExcitationEmfietzoglouPartial, which cites PMB 48 (2003) 2355; it uses
R = 13.6 eV, here CODATA 13.606 eV: −0.01 % in Σ).  The paper's table itself was not
available to re-read.  Validity of the fit: ≈ 10 eV – 10 keV; above 10 keV the formula is
extrapolated with its (non-relativistic) Bethe asymptote (ln T)/T — excitation carries
< 1 % of the stopping power above 1 keV, so this changes the 50 keV CSDA range by ≪ 1 %.
Energy loss = E_j, deposited locally, no ionization recorded, direction unchanged.

Magnitudes (σ_j per molecule in 10⁻¹⁸ cm², levels in the order above; Σ in 1/nm):

    T        A¹B₁    B¹A₁    Ryd A+B  Ryd C+D  diffuse   total    Σ_total
    100 eV   5.24    5.83    3.78     0.75     0.94      16.5     0.0553
    1 keV    0.891   1.034   0.697    0.145    0.171     2.94     0.00982
    10 keV   0.124   0.147   0.100    0.021    0.024     0.417    0.00139

Check against the tabulated cross sections of Geant4-DNA (G4EMLOW 8.6.1 data set, read
from the log–log resampling of those files published in github.com/abgnydn/webgpu-dna,
commits f222a4b and c6bce13, public/cross_sections.wgsl — not from G4EMLOW itself):

* option 4 (Emfietzoglou–Kyriakou dielectric model, dna/sigma_excitation_e_emfietzoglou,
  8 eV – 10 keV): total 14.7 (100 eV) and 2.83 (1 keV) ×10⁻¹⁸ cm²; the fit is +12 % and
  +4 % (each level within −10 … +16 %), +18 … +23 % at 20–50 eV, within 5 % from 500 eV
  to 5 keV;
* option 2 (Born, dna/sigma_excitation_e_born): 6.68 and 1.18 ×10⁻¹⁸ cm², 2.4× smaller.

So the channel has no scale, unit or parameter error: it is the excitation of the
Geant4-DNA option-4 physics to ≈ 10 %.  In the Bethe limit the fit corresponds to the
effective oscillator strengths f_j = A_j E_j²/(8π² a₀³ N R²) = 0.019, 0.029, 0.023, 0.006,
0.007 (Σ 0.083; :func:`excitation_bethe_oscillator_strengths`); the option-4 and option-2
tables imply ≈ 0.080 and ≈ 0.033 (their cross sections relative to this fit at 2–5 keV).
These are strengths of the energy-loss function Im[−1/ε] = ε₂/|ε|², the quantity that
enters the inelastic cross section.  In the dielectric models of Dingfelder et al. (Radiat.
Phys. Chem. 53 (1998) 1) and Emfietzoglou the Drude terms are fitted to ε₂ (optical
absorption) and the loss function is partitioned as ε₂,ⱼ/|ε|²; |ε|² > 1 in the 8–14 eV
region screens the discrete levels, so the (larger) oscillator strengths of the ε₂ Drude
terms must not be inserted into a Bethe formula directly — doing so (Σ f ≈ 0.3, i.e. all
Σ_j × 3.75) would give W(1 keV) = 22.3 eV but contradict the option-4 excitation
cross sections by the same factor and shorten the 1 keV path to 61.5 nm.
At a fixed energy excitation is 44 % (15 eV), 24 % (20 eV), 5 % (100 eV) and 3 % (1 keV)
of the inelastic cross section; over the slowing-down of a 1 keV electron and all its
secondaries it makes 17 % of the inelastic events (N_exc/N_ion = 0.20) and takes 10 % of
E₀ — most excitations come from secondaries of a few tens of eV.

Elastic — screened Rutherford (Uehara) with Brenner–Zaider angles below 200 eV
-------------------------------------------------------------------------------
Uehara, Nikjoo & Goodhead, Phys. Med. Biol. 37 (1992) 1841 (KURBUC), per molecule with an
effective Z = 7.42:

    dσ/dΩ = σ_R / (1 − cos θ + 2n)²,    σ_el = π σ_R / (n (n+1)),
    σ_R   = Z(Z+1) [e²/(4πε₀) · (T + mc²)/(T (T + 2mc²))]²,
    n     = 1.7×10⁻⁵ Z^{2/3} η_c / (τ(τ+2)),   τ = T/mc²,
    η_c   = 1.198 (T < 50 keV),  1.13 + 3.76 (αZ)²/β² (T ≥ 50 keV).

The total cross section above is used at all energies.  Below 200 eV the polar angle is
sampled instead from the Brenner & Zaider fit to measured water-vapour angular
distributions (Phys. Med. Biol. 29 (1984) 443):

    dσ/dΩ ∝ 1/(1 + 2γ − cos θ)² + β/(1 + 2δ + cos θ)²,
    β = exp(Σ b_i Tⁱ), δ = exp(Σ d_i Tⁱ),
    γ = exp(Σ g_i Tⁱ) (T ≤ 10 eV, and 10 < T ≤ 100 eV with other coefficients),
    γ = Σ g_i Tⁱ       (100 < T < 200 eV),   T in eV.

(the same combination as Geant4-DNA's "Uehara screened Rutherford" elastic model).
Validity: the screened Rutherford form is a high-energy approximation (> ~200 eV); below
it the total cross section is only indicative (factor ~2), the angular distribution is
the fitted measurement (≈ 10–200 eV).

Stopping power, ranges and W value of the combination (for orientation)
-------------------------------------------------------------------------
Σ_k N σ_k ⟨energy loss⟩_k gives 11.6 eV/nm at 1 keV, 2.27 eV/nm at 10 keV (ESTAR collision
stopping power 2.26), 0.669 eV/nm at 50 keV (ESTAR 0.660) and CSDA ranges within 5 % of
ESTAR at 10–100 keV.

With BEB ionization (``model="beb"``), W = E₀/⟨N_ion⟩ (all generations, cut-off 10 eV) is
20.0 eV (100 eV), 19.4 eV (500 eV) and 19.4 eV (1 keV) (±0.1 %, 4000–40000 histories).  It is model-dependent, and so are the Geant4-DNA references
(tools/validate_electron.py; public outputs of the Geant4 example
extended/medical/dna/wvalue):

* the then-default constructor G4EmDNAPhysics (Born ionisation and excitation, Champion
  elastic, vibrational excitation and attachment; tracking cut 7.4 eV; Geant4 10.2 and
  10.3 reference outputs): 19.87/19.83 eV (100 eV), 19.37/19.51 eV (500 eV),
  19.56/19.47 eV (1 keV) — this model agrees within 1 % at 100 eV–1 keV and within 3.5 %
  at every energy from 30 eV up (5.00 vs 5.04 ionizations at 100 eV, 51.5 vs 51.4 at
  1 keV);
* option 4 (Emfietzoglou–Kyriakou dielectric ionisation and excitation; tracking cut 9 eV;
  Geant4 10.4–11.4 outputs): 24.2–24.5, 22.9–23.0 and 22.77–22.88 eV.

The option-4 excitation is the one used here (above), so the 15 % gap to option 4 lies in
its ionization model, mainly near threshold: a 15 eV (20 eV) electron makes 0.21 (0.46)
ionizations with option 4, but 0.61 (0.82) with the Born list and 0.57 (0.76) here.  The
overall magnitude of the BEB cross section is not the lever: BEB with liquid B is 1.3× the
Born ionization from 100 eV to 10 keV, yet scaling it by 0.77 moves W(1 keV) only to
19.8 eV (and the 1 keV path to 84.5 nm).  Reaching option 4 takes its dielectric
ionization model (cross section and energy-transfer distribution): the default, below;
nothing is tuned.  The W value also depends on the binding energies (vapour
B: 22.5 eV at 1 keV) and weakly on the cut-off (10 eV: 19.4, 15 eV: 20.3, 20 eV:
21.7 eV at 1 keV; 9 eV as in option 4: 19.4 eV).  The 1 keV primary path is 66 nm
(70 nm with a 9 eV cut-off; option 4: 78–79 nm): the BEB inelastic mean free path is
0.93 nm at 100 eV and 3.0 nm at 1 keV (Born: 1.2 and 4.0 nm).

Default ionization model: dielectric response (``model="dielectric"``)
----------------------------------------------------------------------
The BEB above is ``model="beb"``.  The default tables (``build_water_tables()`` /
``water_tables()``) replace the four valence-shell RBEB channels up to 1 keV by the
first-Born dielectric-response ionization with the Emfietzoglou–Kyriakou low-energy
corrections (Coulomb-field T → T + 2B, Mott-type exchange, smooth threshold partition of
the loss function) of :mod:`hpcmc.physics.water_dielectric`, fitted to measured optical data
of liquid water (:mod:`hpcmc.physics.water_optical`), with the option-4 thresholds 10.0,
13.0, 17.0, 32.2 eV at all energies and RBEB above 1 keV; the K shell, excitation and
elastic channels are unchanged, and the tables carry the W-sampling table
(:attr:`WaterTables.ion_w_table`).  It is the Geant4-DNA option-4 model class that Thomas et al. (2025)
used: W = 26.75 / 24.81 / 24.51 eV at 100 / 500 / 1000 eV (9 eV cut; option 4: 24.5 / 23.0 /
22.9 eV), a 1 keV track of 79 nm (option 4: 78 nm), ESTAR CSDA ranges within 4 % at 10–50 keV.

Tables
------
:func:`build_water_tables` tabulates Σ_k(T) for the 11 channels on a log grid (default
1 eV – 1 MeV, 100 points per decade); kernels interpolate linearly in ln T.  Thresholds
are enforced exactly by the kernel (Σ_k = 0 for T ≤ threshold_k; in the grid cell that
contains a threshold, Σ_k is interpolated from zero at the threshold).  Interpolation
error: total Σ within 10⁻³ everywhere, each channel within 3×10⁻⁴ more than one grid cell
(2.3 %) above its threshold (just above a threshold the relative error of the tiny Σ_k is
larger, its absolute value negligible).
"""
from __future__ import annotations

import dataclasses
import functools
import math

import numba as nb
import numpy as np
from scipy import constants as _sc

from hpcmc.physics.rbeb import (BOHR_RADIUS_NM, ELECTRON_MASS_EV, FINE_STRUCTURE, rbeb_coefficients,
                                rbeb_sdcs_nm2_per_eV, rbeb_sigma_nm2)
from hpcmc.physics.water_dielectric import dielectric_ionization

__all__ = [
    "WATER_DENSITY_G_CM3",
    "WATER_MOLAR_MASS_G_MOL",
    "WATER_MOLECULES_PER_NM3",
    "BOHR_RADIUS_NM",
    "RYDBERG_EV",
    "ELECTRON_MASS_EV",
    "FINE_STRUCTURE",
    "COULOMB_EV_NM",
    "ORBITAL_NAMES",
    "ORBITAL_B_EV",
    "ORBITAL_U_EV",
    "ORBITAL_N",
    "VAPOUR_ORBITAL_B_EV",
    "EXCITATION_NAMES",
    "EXCITATION_E_EV",
    "EXCITATION_A",
    "EXCITATION_C",
    "EXCITATION_P",
    "ELASTIC_Z_EFF",
    "BZ_BETA",
    "BZ_DELTA",
    "BZ_GAMMA_LOW",
    "BZ_GAMMA_MID",
    "BZ_GAMMA_HIGH",
    "N_CHANNELS",
    "CH_ION0",
    "CH_EXC0",
    "CH_ELASTIC",
    "CHANNEL_NAMES",
    "beb_sigma_nm2",
    "beb_sdcs_nm2_per_eV",
    "rbeb_sigma_nm2",
    "rbeb_sdcs_nm2_per_eV",
    "rbeb_coefficients",
    "excitation_sigma_per_nm",
    "excitation_bethe_oscillator_strengths",
    "elastic_screening",
    "elastic_sigma_nm2",
    "brenner_zaider_parameters",
    "WaterTables",
    "ION_MODELS",
    "build_water_tables",
    "water_tables",
]

# --------------------------------------------------------------------------- constants
WATER_DENSITY_G_CM3 = 1.0
WATER_MOLAR_MASS_G_MOL = 18.015
#: Molecules per nm³: ρ N_A / M, with 1 cm³ = 10²¹ nm³.
WATER_MOLECULES_PER_NM3 = WATER_DENSITY_G_CM3 * _sc.Avogadro / WATER_MOLAR_MASS_G_MOL * 1e-21

RYDBERG_EV = _sc.physical_constants["Rydberg constant times hc in eV"][0]
#: e²/(4πε₀) in eV·nm (= 1.44 eV nm).
COULOMB_EV_NM = _sc.e / (4.0 * math.pi * _sc.epsilon_0) * 1e9

# --------------------------------------------------------------------------- ionization
ORBITAL_NAMES = ("1b1", "3a1", "1b2", "2a1", "1a1")
#: Liquid-phase binding energies B [eV] (Dingfelder et al. 1998).
ORBITAL_B_EV = np.array([10.79, 13.39, 16.05, 32.30, 539.0])
#: Orbital kinetic energies U [eV] (Hwang, Kim & Rudd 1996).
ORBITAL_U_EV = np.array([61.91, 59.52, 48.36, 70.71, 796.2])
#: Occupation numbers.
ORBITAL_N = np.array([2.0, 2.0, 2.0, 2.0, 2.0])
#: Vapour binding energies [eV] (Hwang, Kim & Rudd 1996), for comparisons with gas data.
VAPOUR_ORBITAL_B_EV = np.array([12.61, 14.73, 18.55, 32.20, 539.7])

# --------------------------------------------------------------------------- excitation
EXCITATION_NAMES = ("A1B1", "B1A1", "RydA+B", "RydC+D", "diffuse")
#: Level energies E_j [eV] (Emfietzoglou & Moscovitch 2002) and the A_j, C_j, P_j of the
#: Emfietzoglou et al. (2003) fit, as in Geant4-DNA 9.0 (module docstring).
EXCITATION_E_EV = np.array([8.22, 10.00, 11.24, 12.61, 13.77])
EXCITATION_A = np.array([0.0205, 0.0209, 0.0130, 0.0026, 0.0025])
EXCITATION_C = np.array([4.9801, 3.3850, 2.8095, 1.9242, 3.4624])
EXCITATION_P = np.array([0.4757, 0.3483, 0.4443, 0.3429, 0.4379])

# --------------------------------------------------------------------------- elastic
ELASTIC_Z_EFF = 7.42
_ETA_C_LOW = 1.198
_SCREEN_K = 1.7e-5
_ETA_SWITCH_EV = 50e3
#: Brenner & Zaider (1984) polynomial coefficients (T in eV), lowest order first.
BZ_BETA = np.array([7.51525, -0.41912, 7.2017e-3, -4.646e-5, 1.02897e-7])
BZ_DELTA = np.array([2.9612, -0.26376, 4.307e-3, -2.6895e-5, 5.83505e-8])
BZ_GAMMA_LOW = np.array([-1.7013, -1.48284, 0.6331, -0.10911, 8.358e-3, -2.388e-4])  # T ≤ 10 eV, exp
BZ_GAMMA_MID = np.array([-3.32517, 0.10996, -4.5255e-3, 5.8372e-5, -2.4659e-7])  # 10–100 eV, exp
BZ_GAMMA_HIGH = np.array([2.4775e-2, -2.96264e-5, -1.20655e-7])  # 100–200 eV, linear

# --------------------------------------------------------------------------- channels
N_CHANNELS = 11
CH_ION0 = 0
CH_EXC0 = 5
CH_ELASTIC = 10
CHANNEL_NAMES = tuple(f"ion_{n}" for n in ORBITAL_NAMES) + tuple(f"exc_{n}" for n in EXCITATION_NAMES) + ("elastic",)


# =========================================================================== ionization
def beb_sigma_nm2(energy_eV, b_eV, u_eV, n_occ=2.0):
    """Non-relativistic BEB ionization cross section of one orbital (Kim & Rudd 1994).

    σ = S/(t+u+1) [½ ln t (1 − 1/t²) + 1 − 1/t − ln t/(t+1)],  S = 4π a₀² N (R/B)².

    Parameters
    ----------
    energy_eV : float or ndarray
        Incident kinetic energy T  [eV].
    b_eV, u_eV : float
        Orbital binding energy B and orbital kinetic energy U  [eV].
    n_occ : float
        Occupation number N.

    Returns
    -------
    float or ndarray
        σ  [nm²]; zero for T ≤ B.
    """
    T = np.asarray(energy_eV, dtype=float)
    t = np.maximum(T / b_eV, 1.0)
    u = u_eV / b_eV
    S = 4.0 * math.pi * BOHR_RADIUS_NM**2 * n_occ * (RYDBERG_EV / b_eV) ** 2
    lt = np.log(t)
    sig = S / (t + u + 1.0) * (0.5 * lt * (1.0 - 1.0 / t**2) + 1.0 - 1.0 / t - lt / (t + 1.0))
    return np.where(T > b_eV, sig, 0.0)


def beb_sdcs_nm2_per_eV(w_eV, energy_eV, b_eV, u_eV, n_occ=2.0):
    """Non-relativistic BEB singly differential cross section dσ/dW (Kim & Rudd 1994, Q = 1).

    dσ/dW = S/(B(t+u+1)) Σₙ Fₙ [(w+1)⁻ⁿ + (t−w)⁻ⁿ], F₁ = −1/(t+1), F₂ = 1, F₃ = ln t.

    Parameters
    ----------
    w_eV : float or ndarray
        Secondary-electron kinetic energy W  [eV], 0 ≤ W ≤ (T − B)/2.
    energy_eV : float
        Incident kinetic energy T  [eV].
    b_eV, u_eV, n_occ
        Orbital constants as in :func:`beb_sigma_nm2`.

    Returns
    -------
    float or ndarray
        dσ/dW  [nm²/eV]; zero outside [0, (T − B)/2].
    """
    w = np.asarray(w_eV, dtype=float) / b_eV
    t = energy_eV / b_eV
    u = u_eV / b_eV
    S = 4.0 * math.pi * BOHR_RADIUS_NM**2 * n_occ * (RYDBERG_EV / b_eV) ** 2
    f = (-1.0 / (t + 1.0) * (1.0 / (w + 1.0) + 1.0 / (t - w))
         + (1.0 / (w + 1.0) ** 2 + 1.0 / (t - w) ** 2)
         + math.log(max(t, 1.0)) * (1.0 / (w + 1.0) ** 3 + 1.0 / (t - w) ** 3))
    val = S / (b_eV * (t + u + 1.0)) * f
    ok = (w >= 0.0) & (w <= 0.5 * (t - 1.0)) & (t > 1.0)
    return np.where(ok, val, 0.0)


# =========================================================================== excitation
def excitation_sigma_per_nm(energy_eV, level):
    """Macroscopic excitation cross section Σ_j of liquid water (Emfietzoglou 2003 fit).

    Σ_j(T) = A_j/(2π a₀) (E_j/T) ln(C_j T/R) (1 − E_j/T)^{P_j}, zero for T ≤ E_j
    (Emfietzoglou et al., Phys. Med. Biol. 48 (2003) 2355, as implemented in Geant4-DNA 9.0;
    within ≈ 10 % of the Geant4-DNA option-4 excitation tables — module docstring).

    Parameters
    ----------
    energy_eV : float or ndarray
        T  [eV].
    level : int
        Level index 0–4 (:data:`EXCITATION_NAMES`).

    Returns
    -------
    float or ndarray
        Σ_j  [1/nm] for ρ = 1 g/cm³ (divide by :data:`WATER_MOLECULES_PER_NM3` for σ in nm²).
    """
    T = np.asarray(energy_eV, dtype=float)
    e = EXCITATION_E_EV[level]
    x = np.maximum(T, e)
    val = (EXCITATION_A[level] / (2.0 * math.pi * BOHR_RADIUS_NM) * (e / x) * np.log(EXCITATION_C[level] * x / RYDBERG_EV)
           * (1.0 - e / x) ** EXCITATION_P[level])
    return np.where(T > e, val, 0.0)


def excitation_bethe_oscillator_strengths():
    """Effective oscillator strengths implied by the excitation fit in the Bethe limit.

    For T ≫ E_j the fit tends to Σ_j → A_j E_j/(2π a₀ T) ln(C_j T/R); equating this with
    the Bethe cross section of a discrete level, N · 4π a₀² R² f_j/(T E_j) ln(c T/R),
    gives f_j = A_j E_j²/(8π² a₀³ N R²).  These are strengths of the energy-loss function
    Im[−1/ε] (see the module docstring), not of the ε₂ Drude terms.

    Returns
    -------
    ndarray, shape (5,)
        f_j (dimensionless): 0.019, 0.029, 0.023, 0.006, 0.007 (sum 0.083).
    """
    denom = 8.0 * math.pi**2 * BOHR_RADIUS_NM**3 * WATER_MOLECULES_PER_NM3 * RYDBERG_EV**2
    return EXCITATION_A * EXCITATION_E_EV**2 / denom


# =========================================================================== elastic
@nb.njit(cache=True)
def elastic_screening(energy_eV):
    """Screening parameter n(T) of the screened Rutherford cross section (Uehara et al. 1992).

    n = 1.7×10⁻⁵ Z^{2/3} η_c/(τ(τ+2)), τ = T/mc², Z = 7.42, η_c = 1.198 below 50 keV and
    1.13 + 3.76 (αZ)²/β² above.

    Parameters
    ----------
    energy_eV : float
        T  [eV].

    Returns
    -------
    float
        n (dimensionless).
    """
    tau = energy_eV / ELECTRON_MASS_EV
    if energy_eV < _ETA_SWITCH_EV:
        eta = _ETA_C_LOW
    else:
        beta2 = 1.0 - 1.0 / ((1.0 + tau) * (1.0 + tau))
        az = FINE_STRUCTURE * ELASTIC_Z_EFF
        eta = 1.13 + 3.76 * az * az / beta2
    return _SCREEN_K * ELASTIC_Z_EFF ** (2.0 / 3.0) * eta / (tau * (tau + 2.0))


def elastic_sigma_nm2(energy_eV):
    """Total elastic cross section per molecule σ_el = π σ_R/(n(n+1))  [nm²].

    σ_R = Z(Z+1)[e²/(4πε₀) (T+mc²)/(T(T+2mc²))]², Z = 7.42 (Uehara et al. 1992).

    Parameters
    ----------
    energy_eV : float or ndarray
        T  [eV].
    """
    T = np.atleast_1d(np.asarray(energy_eV, dtype=float))
    lam = COULOMB_EV_NM * (T + ELECTRON_MASS_EV) / (T * (T + 2.0 * ELECTRON_MASS_EV))
    sig_r = ELASTIC_Z_EFF * (ELASTIC_Z_EFF + 1.0) * lam * lam
    n = np.array([elastic_screening(e) for e in T])
    out = math.pi * sig_r / (n * (n + 1.0))
    return out if np.ndim(energy_eV) else float(out[0])


@nb.njit(cache=True)
def _poly(x, c):
    r = 0.0
    for i in range(c.shape[0] - 1, -1, -1):
        r = r * x + c[i]
    return r


@nb.njit(cache=True)
def brenner_zaider_parameters(energy_eV):
    """Parameters (γ, β, δ) of the Brenner & Zaider (1984) elastic angular distribution.

    dσ/dΩ ∝ 1/(1 + 2γ − cos θ)² + β/(1 + 2δ + cos θ)², fitted for water vapour, T in eV,
    validity ≈ 10–200 eV (used below 200 eV).

    Parameters
    ----------
    energy_eV : float
        T  [eV].

    Returns
    -------
    tuple of float
        ``(gamma, beta, delta)``.
    """
    beta = math.exp(_poly(energy_eV, BZ_BETA))
    delta = math.exp(_poly(energy_eV, BZ_DELTA))
    if energy_eV > 100.0:
        gamma = _poly(energy_eV, BZ_GAMMA_HIGH)
    elif energy_eV > 10.0:
        gamma = math.exp(_poly(energy_eV, BZ_GAMMA_MID))
    else:
        gamma = math.exp(_poly(energy_eV, BZ_GAMMA_LOW))
    return gamma, beta, delta


# =========================================================================== tables
@dataclasses.dataclass(frozen=True)
class WaterTables:
    """Tabulated macroscopic cross sections of liquid water for the transport kernels.

    Attributes
    ----------
    energy_eV : ndarray, shape (n,)
        Log-spaced grid  [eV].
    sigma_per_nm : ndarray, shape (n, N_CHANNELS)
        Macroscopic cross section Σ_k(T) per channel  [1/nm] (column order: CHANNEL_NAMES).
    grid : ndarray, shape (3,)
        ``[ln E_min, 1/Δ(ln E), n]`` — what the kernels need to locate a grid cell.
    threshold_eV : ndarray, shape (N_CHANNELS,)
        Channel thresholds  [eV] (B for ionization — the kernels use these as the binding
        energies —, E_j for excitation, 0 for elastic).
    model : str
        Ionization model: ``"dielectric"`` (the default, :mod:`hpcmc.physics.water_dielectric`)
        or ``"beb"`` (relativistic BEB).
    ion_w_table : ndarray or None
        ``"dielectric"`` only: W-sampling table of the four valence shells, shape
        (n, 4, 2, N_W_NODES) (:class:`hpcmc.physics.water_dielectric.DielectricIonization`);
        None for ``"beb"`` (W sampled from the RBEB dσ/dW).
    """

    energy_eV: np.ndarray
    sigma_per_nm: np.ndarray
    grid: np.ndarray
    threshold_eV: np.ndarray
    model: str = "dielectric"
    ion_w_table: np.ndarray | None = None

    @property
    def e_min_eV(self) -> float:
        return float(self.energy_eV[0])

    @property
    def e_max_eV(self) -> float:
        return float(self.energy_eV[-1])


#: Ionization models accepted by :func:`build_water_tables` / :func:`water_tables`.
ION_MODELS = ("beb", "dielectric")


def build_water_tables(e_min_eV=1.0, e_max_eV=1.0e6, points_per_decade=100, model="dielectric") -> WaterTables:
    """Tabulate the 11 channel cross sections on a log grid.

    Parameters
    ----------
    e_min_eV, e_max_eV : float
        Grid limits  [eV]; e_min must lie below the cut-off used in transport and
        e_max above the highest primary energy (≥ 100 keV).
    points_per_decade : int
        Grid density.
    model : {"dielectric", "beb"}
        Ionization model of the valence shells (1b1, 3a1, 1b2, 2a1): the dielectric-response
        model of :mod:`hpcmc.physics.water_dielectric` up to 1 keV and RBEB above, with the
        option-4 thresholds 10.0/13.0/17.0/32.2 eV and W sampled from the tabulated
        distribution (default: the Geant4-DNA option-4 model class, W(1 keV) = 24.5 eV), or
        relativistic BEB at all energies with the liquid binding energies of Dingfelder et al. (1998)
        (``"beb"``: W(1 keV) = 19.4 eV, like Geant4-DNA's Born models).  Excitation, elastic
        scattering and the O K shell (RBEB, B = 539 eV) are the same in both.

    Returns
    -------
    WaterTables
    """
    if not (0.0 < e_min_eV < e_max_eV):
        raise ValueError(f"build_water_tables: need 0 < e_min_eV < e_max_eV, got {e_min_eV}, {e_max_eV}")
    if points_per_decade < 10:
        raise ValueError(f"build_water_tables: points_per_decade must be ≥ 10, got {points_per_decade}")
    if model not in ION_MODELS:
        raise ValueError(f"build_water_tables: model must be one of {ION_MODELS}, got {model!r}")
    n = int(round(math.log10(e_max_eV / e_min_eV) * points_per_decade)) + 1
    ln_e = np.linspace(math.log(e_min_eV), math.log(e_max_eV), n)
    e = np.exp(ln_e)
    e[0], e[-1] = e_min_eV, e_max_eV
    sig = np.zeros((n, N_CHANNELS))
    N = WATER_MOLECULES_PER_NM3
    thr = np.zeros(N_CHANNELS)
    thr[CH_ION0:CH_ION0 + 5] = ORBITAL_B_EV
    w_table = None
    if model == "dielectric":
        diel = dielectric_ionization(e)
        sig[:, CH_ION0:CH_ION0 + 4] = N * diel.sigma_nm2
        thr[CH_ION0:CH_ION0 + 4] = diel.binding_eV
        sig[:, CH_ION0 + 4] = N * rbeb_sigma_nm2(e, ORBITAL_B_EV[4], ORBITAL_U_EV[4], ORBITAL_N[4])
        w_table = np.ascontiguousarray(diel.w_table)
    else:
        for k in range(5):
            sig[:, CH_ION0 + k] = N * rbeb_sigma_nm2(e, ORBITAL_B_EV[k], ORBITAL_U_EV[k], ORBITAL_N[k])
    for j in range(5):
        sig[:, CH_EXC0 + j] = excitation_sigma_per_nm(e, j)
    sig[:, CH_ELASTIC] = N * elastic_sigma_nm2(e)
    thr[CH_EXC0:CH_EXC0 + 5] = EXCITATION_E_EV
    grid = np.array([ln_e[0], (n - 1) / (ln_e[-1] - ln_e[0]), float(n)])
    sig = np.ascontiguousarray(sig)
    arrays = (e, sig, grid, thr) if w_table is None else (e, sig, grid, thr, w_table)
    for a in arrays:  # shared through the cache below: make them immutable
        a.flags.writeable = False
    return WaterTables(energy_eV=e, sigma_per_nm=sig, grid=grid, threshold_eV=thr, model=model,
                       ion_w_table=w_table)


@functools.lru_cache(maxsize=4)
def water_tables(e_min_eV=1.0, e_max_eV=1.0e6, points_per_decade=100, model="dielectric") -> WaterTables:
    """Cached :func:`build_water_tables` (built once per process; ~0.1 s for ``"beb"``, ≈ 3 s
    for ``"dielectric"`` the first time, then ≈ 0.2 s from the npz cache)."""
    return build_water_tables(e_min_eV, e_max_eV, points_per_decade, model)
