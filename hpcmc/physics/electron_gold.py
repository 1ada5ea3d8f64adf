"""Condensed-history transport of electrons inside the gold nanoparticle.

An electron in the gold sphere (centre, radius given) is followed until it leaves the
sphere — it is then returned on the surface with its direction and energy so that the
caller continues it in water — or until it stops (all its energy deposited in gold; no
ionizations are scored in gold).  Units: energies in eV, lengths in nm.

Model (class I condensed history: continuous slowing down, no secondaries)
--------------------------------------------------------------------------
**Collision stopping power** — relativistic Bethe formula for electrons (ICRU Report 37,
1984; Rohrlich & Carlson 1954) with the Joy–Luo low-energy modification of the
mean excitation energy (Joy & Luo, Scanning 11 (1989) 176):

    S_col/ρ = 2π r_e² mc² (N_A Z/A) β⁻² [ ln(τ²(τ+2) / (2 (I′/mc²)²)) + F⁻(τ) − δ ],
    F⁻(τ) = 1 − β² + [τ²/8 − (2τ+1) ln 2]/(τ+1)²,   I′ = I / (1 + k I/T),

τ = T/mc², I = 790 eV (gold, ICRU 37), k = 0.734 Z^0.037 = 0.863 for gold (the fit quoted
with Joy & Luo's formula).  For T ≫ kI, I′ → I and this is exactly the formula ESTAR uses;
for T ≪ mc² it reduces to Joy & Luo's S = (2πe⁴N Z/T) ln(1.166 (T + kI)/I), which stays
positive where Bethe's logarithm turns negative (gold: T ≲ 700 eV).  The density effect δ
is neglected (Sternheimer's δ for gold is 0.02 at 100 keV: −0.3 % on S).
*Validity*: within ≈ 2 % of ESTAR's Bethe values at 10–100 keV (Joy–Luo raises S by 2.3 %
at 10 keV, 0.1 % at 100 keV; ESTAR itself has no shell corrections and states 5–10 %
uncertainty for high-Z media between 10 and 100 keV).  CSDA ranges: 9 % below ESTAR's at
10 keV (ESTAR integrates Bethe only down to 1 keV and extrapolates S ∝ 1/T below), 4 % at
20 keV, 1–2 % at 50–100 keV (tools/validate_gold.py).  Below ~5 keV the inner shells of
gold stop contributing and the stopping power is a model choice: Joy–Luo is an empirical
fit that is qualitatively right (finite, peaked near 10–100 eV) but uncertain by tens of
per cent below 1 keV; the CSDA ranges of 1–2 keV Auger electrons (14–36 nm here) carry
that uncertainty.

**Radiative stopping power** — S_rad = S_col · Z T / (800 MeV) (the usual ratio rule,
Attix 1986 §8).  It underestimates ESTAR's S_rad by about a factor 2 below 100 keV, where
S_rad is < 1 % of the total (CSDA range error < 0.5 %).  Bremsstrahlung energy is deposited
locally (radiation yield of a 100 keV electron in gold ≈ 1 %).

**CSDA range** R(T) = R(T_min) + ∫_{T_min}^{T} dT′/S_tot(T′), with R(T_min) = T_min/S(T_min)
(T_min = 10 eV); tabulated log-log on a uniform ln T grid.  Energy after a path s:
T′ = R⁻¹(R(T) − s) (exact CSDA along the step; no straggling).

**Elastic (multiple) scattering** — first transport cross section of the screened
Rutherford (Wentzel) cross section with Molière's screening parameter:

    σ₁ = 2π Z(Z+1) (r_e mc²/(p v))² [ ln(1 + 1/η) − 1/(1 + η) ],
    η = (ħ / (2 p a_TF))² · 1.13,   a_TF = 0.88534 a₀ Z^(−1/3);

λ₁ = 1/(N σ₁).  Molière's Coulomb-correction factor (1.13 + 3.76 (αZ/β)²) is *not* applied
by default (``coulomb_correction=False``): it is a Born-series result for αZ/β ≪ 1 and for
gold below 100 keV (αZ/β > 1) it inflates the screening angle by up to 10³, suppressing
scattering (λ₁ ≈ 1 µm at 1 keV instead of ≈ 0.5 nm).  The uncorrected model gives a
backscatter coefficient of bulk gold of 0.51–0.53 at 10–30 keV against ≈ 0.49 measured
(Reuter's fit; tools/validate_gold.py), i.e. slightly too much large-angle scattering.
Validity: the screened Rutherford law is a first Born approximation; for gold below a few
keV the true (Mott / partial-wave) cross sections differ in shape (diffraction minima) and
in magnitude by tens of per cent.

**Angular deflection per step** (Goudsmit–Saunderson first moment + Wentzel shape): after a
path s, ⟨cos θ⟩ = exp(−s/λ₁) exactly (Goudsmit & Saunderson, Phys. Rev. 57 (1940) 24; λ₁
at the mid-step energy).  cos θ is drawn from a Wentzel distribution
p(μ) ∝ (1 − μ + 2A)⁻² whose screening A is solved so that its mean matches:
⟨1 − μ⟩ = 2A[(1 + A) ln(1 + 1/A) − 1] = 1 − exp(−s/λ₁); sampled by inversion
μ = 1 − 2Aξ/(1 + A − ξ).  This is the first-moment version of the modified Wentzel model
(Fernández-Varea, Mayol, Baró & Salvat, NIM B 73 (1993) 447); the second moment is not
matched.  The deflection is applied at a random point of the step ("random hinge",
PENELOPE), which reproduces the mean lateral displacement.

**Steps** — s = min(f_range R(T), f_msc λ₁(T)) (defaults 0.02 and 0.3: escape fractions
unchanged within 1 % when both are divided by 3), at least ``s_min_nm``, at most the residual
path to the cut-off; each straight segment is cut at the sphere surface (the electron then
leaves with its current direction).  *Range rejection*: an electron whose residual path to
the cut-off is shorter than its distance to the surface cannot leave and is stopped at once
(exact in CSDA).  Electrons below ``cutoff_eV`` stop.

Banks
-----
Particles are particle records (:mod:`hpcmc.physics.particles`: positions in nm, energies in
eV), the layout of every bank.  :func:`transport_in_gold` updates one
row in place; :func:`transport_gold_bank` moves a whole input bank and appends the electrons
that leave the sphere to an output bank.
"""
from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numba as nb
import numpy as np
import xraylib
from scipy.integrate import cumulative_trapezoid

from hpcmc.physics import status as stc
from hpcmc.physics.banks import set_phase
from hpcmc.physics.particles import P_E, P_UX, P_UY, P_UZ, P_X, P_Y, P_Z, PARTICLE_COLUMNS
from hpcmc.physics.geometry import sphere_distance_inside
from hpcmc.physics.kinematics import rotate_direction as rotate
from hpcmc.runtime.rng import rng_seed, rng_uniform, stream_key

__all__ = [
    "ELECTRON_MASS_EV", "GOLD_STREAM", "DEFAULT_CUTOFF_EV", "DEFAULT_F_RANGE", "DEFAULT_F_MSC",
    "DEFAULT_S_MIN_NM", "STOPPED", "ESCAPED", "STEP_LIMIT", "OK", "OUT_BANK_FULL",
    "joy_luo_k", "collision_stopping_power_MeV_cm2_g", "radiative_stopping_power_MeV_cm2_g",
    "transport_cross_section_cm2",
    "GoldKernelTables", "Sphere", "GoldElectronTables", "build_gold_electron_tables", "gold_electron_tables",
    "interp_loglog", "energy_from_range_nm", "wentzel_screening", "sample_msc_cos",
    "rotate", "transport_in_gold", "transport_gold_bank", "escape_statistics",
    "backscatter_statistics", "straight_line_escape_fraction",
]

ELECTRON_MASS_EV = 510998.95                 # CODATA 2018  [eV]
_R_E_CM = 2.8179403262e-13                   # classical electron radius  [cm]
_N_A = 6.02214076e23                         # [1/mol]
_ALPHA = 7.2973525693e-3                     # fine-structure constant
_BOHR_CM = 5.29177210903e-9                  # [cm]
_HBARC_EV_CM = 1.973269804e-5                # [eV cm]
_CM_PER_NM = 1e-7

#: Named random sub-stream for stand-alone gold-transport runs (escape/backscatter statistics).
GOLD_STREAM = stream_key("electron_gold")

# transport_in_gold fates and transport_gold_bank status (values from hpcmc.physics.status)
STOPPED = stc.STOPPED
ESCAPED = stc.ESCAPED
STEP_LIMIT = stc.STEP_LIMIT
OK = stc.OK
OUT_BANK_FULL = stc.OUT_BANK_FULL

#: Default step and cut-off parameters (step-size convergence: escape fractions at 1–5 keV
#: change by < 1 % (within statistics) when both fractions are divided by 3).
DEFAULT_CUTOFF_EV = 50.0
DEFAULT_F_RANGE = 0.02
DEFAULT_F_MSC = 0.3
DEFAULT_S_MIN_NM = 0.01

_MAX_STEPS = 1_000_000
_TWO_PI = 2.0 * math.pi


# -- stopping powers and cross sections (NumPy, build time) -----------------------------------

def joy_luo_k(z: float) -> float:
    """Joy–Luo coefficient k = 0.734 Z^0.037 (dimensionless; gold 0.863)."""
    return 0.734 * float(z) ** 0.037


def collision_stopping_power_MeV_cm2_g(energy_eV, z: float, a_g_mol: float, i_eV: float, k: float = 0.0):
    """Mass collision stopping power of electrons  [MeV cm²/g] (Bethe, ICRU 37; Joy–Luo if k > 0).

    Parameters
    ----------
    energy_eV : float or array
        Kinetic energy T  [eV].
    z, a_g_mol : float
        Atomic number and atomic weight  [g/mol].
    i_eV : float
        Mean excitation energy I  [eV].
    k : float
        Joy–Luo coefficient; I′ = I/(1 + kI/T).  0 = plain Bethe (ESTAR's formula without the
        density effect; negative below ~0.9 I for gold — not usable there).

    Returns
    -------
    float or ndarray
        S_col/ρ  [MeV cm²/g].
    """
    t = np.asarray(energy_eV, dtype=float)
    tau = t / ELECTRON_MASS_EV
    gamma = tau + 1.0
    beta2 = 1.0 - 1.0 / (gamma * gamma)
    i_eff = i_eV / (1.0 + k * i_eV / t) if k > 0.0 else i_eV * np.ones_like(t)
    f_minus = 1.0 - beta2 + (tau * tau / 8.0 - (2.0 * tau + 1.0) * math.log(2.0)) / (gamma * gamma)
    bracket = np.log(tau * tau * (tau + 2.0) / (2.0 * (i_eff / ELECTRON_MASS_EV) ** 2)) + f_minus
    s_eV = 2.0 * math.pi * _R_E_CM ** 2 * ELECTRON_MASS_EV * _N_A * z / a_g_mol / beta2 * bracket
    return s_eV * 1e-6


def radiative_stopping_power_MeV_cm2_g(energy_eV, z: float, a_g_mol: float, i_eV: float, k: float = 0.0):
    """Approximate mass radiative stopping power  [MeV cm²/g]: S_col · Z T/(800 MeV) (Attix 1986)."""
    t = np.asarray(energy_eV, dtype=float)
    return collision_stopping_power_MeV_cm2_g(t, z, a_g_mol, i_eV, k) * z * t / 800e6


def transport_cross_section_cm2(energy_eV, z: float, coulomb_correction: bool = False):
    """First transport cross section of the screened Rutherford law per atom  [cm²].

    σ₁ = 2π Z(Z+1)(r_e mc²/(pv))² [ln(1 + 1/η) − 1/(1 + η)],
    η = (ħ/(2 p a_TF))² (1.13 [+ 3.76 (αZ/β)² if ``coulomb_correction``]).
    """
    t = np.asarray(energy_eV, dtype=float)
    pc = np.sqrt(t * (t + 2.0 * ELECTRON_MASS_EV))
    beta2 = pc * pc / (t + ELECTRON_MASS_EV) ** 2
    pv = pc * np.sqrt(beta2)
    a_tf = 0.88534 * _BOHR_CM * z ** (-1.0 / 3.0)
    factor = 1.13 + (3.76 * (_ALPHA * z) ** 2 / beta2 if coulomb_correction else 0.0)
    eta = (_HBARC_EV_CM / (2.0 * pc * a_tf)) ** 2 * factor
    return (2.0 * math.pi * z * (z + 1.0) * (_R_E_CM * ELECTRON_MASS_EV / pv) ** 2
            * (np.log1p(1.0 / eta) - 1.0 / (1.0 + eta)))


class GoldKernelTables(NamedTuple):
    """What :func:`transport_in_gold` needs: the log-log tables and the step parameters
    (:meth:`GoldElectronTables.kernel_args`).

    Attributes
    ----------
    ln_e0, dln_e : float
        ``ln(T_0/eV)`` and the grid step in ``ln T``.
    ln_stopping, ln_range, ln_inv_lambda1 : float64[n]
        ``ln`` of the stopping power  [eV/nm], CSDA range  [nm] and ``1/λ₁``  [1/nm].
    cutoff_eV : float
        Electrons below this energy stop  [eV].
    f_range, f_msc : float
        Step ≤ f_range · R(T) and ≤ f_msc · λ₁(T).
    s_min_nm : float
        Smallest step  [nm].
    """

    ln_e0: float
    dln_e: float
    ln_stopping: np.ndarray
    ln_range: np.ndarray
    ln_inv_lambda1: np.ndarray
    cutoff_eV: float
    f_range: float
    f_msc: float
    s_min_nm: float


class Sphere(NamedTuple):
    """A sphere: centre ``(cx, cy, cz)`` and ``radius``  [nm]."""

    cx: float
    cy: float
    cz: float
    radius: float


@dataclasses.dataclass(frozen=True)
class GoldElectronTables:
    """Log-log tables for :func:`transport_in_gold` (build with :func:`build_gold_electron_tables`).

    Attributes
    ----------
    z, a_g_mol, density_g_cm3, i_eV, k_joy_luo : float
        Material and model constants.
    coulomb_correction : bool
        Whether Molière's Coulomb correction was applied to the screening.
    energy_eV : float64[n]
        Grid, uniform in ln T  [eV].
    stopping_eV_nm : float64[n]
        Total (collision + radiative) linear stopping power  [eV/nm].
    range_nm : float64[n]
        CSDA range  [nm].
    lambda1_nm : float64[n]
        First transport mean free path  [nm].
    """

    z: float
    a_g_mol: float
    density_g_cm3: float
    i_eV: float
    k_joy_luo: float
    coulomb_correction: bool
    energy_eV: np.ndarray
    stopping_eV_nm: np.ndarray
    range_nm: np.ndarray
    lambda1_nm: np.ndarray

    @property
    def arrays(self) -> tuple:
        """Kernel arguments ``(ln_e0, dln_e, ln_stopping, ln_range, ln_inv_lambda1)``."""
        ln_e = np.log(self.energy_eV)
        return (float(ln_e[0]), float(ln_e[1] - ln_e[0]), np.log(self.stopping_eV_nm), np.log(self.range_nm),
                -np.log(self.lambda1_nm))

    def kernel_args(self, cutoff_eV: float = DEFAULT_CUTOFF_EV, f_range: float = DEFAULT_F_RANGE,
                    f_msc: float = DEFAULT_F_MSC, s_min_nm: float = DEFAULT_S_MIN_NM) -> GoldKernelTables:
        """``arrays`` + ``(cutoff_eV, f_range, f_msc, s_min_nm)``, validated: the kernels' tables.

        Raises
        ------
        ValueError
            Naming the parameter and its value if it is out of range.
        """
        if not (self.energy_eV[0] <= cutoff_eV < self.energy_eV[-1]):
            raise ValueError(f"cutoff_eV must be in [{self.energy_eV[0]:g}, {self.energy_eV[-1]:g}), got {cutoff_eV!r}")
        if not (0.0 < f_range <= 1.0):
            raise ValueError(f"f_range must be in (0, 1], got {f_range!r}")
        if not (0.0 < f_msc and math.isfinite(f_msc)):
            raise ValueError(f"f_msc must be > 0, got {f_msc!r}")
        if not (0.0 < s_min_nm and math.isfinite(s_min_nm)):
            raise ValueError(f"s_min_nm must be > 0, got {s_min_nm!r}")
        return GoldKernelTables(*self.arrays, float(cutoff_eV), float(f_range), float(f_msc), float(s_min_nm))

    def csda_range_g_cm2(self, energy_eV):
        """CSDA range from the table (log-log interpolation)  [g/cm²]."""
        r_nm = np.exp(np.interp(np.log(energy_eV), np.log(self.energy_eV), np.log(self.range_nm)))
        return r_nm * _CM_PER_NM * self.density_g_cm3


def build_gold_electron_tables(z: float = 79, a_g_mol: float | None = None, density_g_cm3: float = 19.32,
                               i_eV: float = 790.0, k_joy_luo: float | None = None, e_min_eV: float = 10.0,
                               e_max_eV: float = 1.0e6, points_per_decade: int = 100,
                               coulomb_correction: bool = False) -> GoldElectronTables:
    """Tabulate stopping power, CSDA range and λ₁ for electrons in gold (or another element).

    Parameters
    ----------
    z : float
        Atomic number (79).
    a_g_mol : float, optional
        Atomic weight  [g/mol]; default xraylib's ``AtomicWeight(z)`` (196.967 for gold).
    density_g_cm3 : float
        Mass density  [g/cm³] (gold 19.32).
    i_eV : float
        Mean excitation energy  [eV] (gold 790, ICRU 37).
    k_joy_luo : float, optional
        Joy–Luo coefficient; default 0.734 Z^0.037.  0 = plain Bethe (fails at low T).
    e_min_eV, e_max_eV : float
        Grid limits  [eV] (10 eV – 1 MeV).
    points_per_decade : int
        Grid density (100: log-log interpolation error < 10⁻⁴).
    coulomb_correction : bool
        Apply Molière's (1.13 + 3.76 (αZ/β)²) screening factor (not recommended for gold).

    Returns
    -------
    GoldElectronTables

    Raises
    ------
    ValueError
        For non-physical arguments, or if the stopping power is not positive on the grid.
    """
    if not (1 <= z <= 100):
        raise ValueError(f"z must be in 1..100, got {z!r}")
    if not (density_g_cm3 > 0.0 and math.isfinite(density_g_cm3)):
        raise ValueError(f"density_g_cm3 must be > 0, got {density_g_cm3!r}")
    if not (i_eV > 0.0):
        raise ValueError(f"i_eV must be > 0, got {i_eV!r}")
    if not (0.0 < e_min_eV < e_max_eV):
        raise ValueError(f"need 0 < e_min_eV < e_max_eV, got {e_min_eV!r}, {e_max_eV!r}")
    if int(points_per_decade) < 10:
        raise ValueError(f"points_per_decade must be >= 10, got {points_per_decade!r}")
    a = float(xraylib.AtomicWeight(int(z))) if a_g_mol is None else float(a_g_mol)
    k = joy_luo_k(z) if k_joy_luo is None else float(k_joy_luo)
    n_dec = math.log10(e_max_eV / e_min_eV)
    n = int(round(n_dec * points_per_decade)) + 1
    ln_e = np.linspace(math.log(e_min_eV), math.log(e_max_eV), n)
    # fine grid for the range integral (trapezoid in ln T of T/S)
    ln_fine = np.linspace(ln_e[0], ln_e[-1], (n - 1) * 16 + 1)
    e_fine = np.exp(ln_fine)

    def s_total(e):
        return (collision_stopping_power_MeV_cm2_g(e, z, a, i_eV, k)
                + radiative_stopping_power_MeV_cm2_g(e, z, a, i_eV, k))   # MeV cm²/g

    s_fine = s_total(e_fine)
    if not np.all(s_fine > 0.0):
        bad = e_fine[~(s_fine > 0.0)]
        raise ValueError(f"stopping power not positive at {bad[0]:.4g} eV (k_joy_luo={k!r}); "
                         f"raise e_min_eV or use the Joy-Luo correction")
    s_fine_eV_g = s_fine * 1e6   # eV cm²/g
    r_fine = e_fine[0] / s_fine_eV_g[0] + cumulative_trapezoid(e_fine / s_fine_eV_g, ln_fine, initial=0.0)
    energy = np.exp(ln_e)
    stopping_eV_nm = s_total(energy) * 1e6 * density_g_cm3 * _CM_PER_NM
    range_nm = r_fine[::16] / density_g_cm3 / _CM_PER_NM
    n_atoms_cm3 = density_g_cm3 * _N_A / a
    lambda1_nm = 1.0 / (n_atoms_cm3 * transport_cross_section_cm2(energy, z, coulomb_correction)) / _CM_PER_NM
    return GoldElectronTables(z=float(z), a_g_mol=a, density_g_cm3=float(density_g_cm3), i_eV=float(i_eV),
                              k_joy_luo=k, coulomb_correction=bool(coulomb_correction), energy_eV=energy,
                              stopping_eV_nm=stopping_eV_nm, range_nm=range_nm, lambda1_nm=lambda1_nm)


_TABLES: dict = {}


def gold_electron_tables(**kwargs) -> GoldElectronTables:
    """Cached :func:`build_gold_electron_tables` (keyed by its keyword arguments)."""
    key = tuple(sorted(kwargs.items()))
    if key not in _TABLES:
        _TABLES[key] = build_gold_electron_tables(**kwargs)
    return _TABLES[key]


def straight_line_escape_fraction(path_nm: float, radius_nm: float) -> float:
    """Escape probability of a straight path of length L from a uniform point in a sphere.

    Isotropic start, uniform in a sphere of radius a:  P = 3L/(4a) − L³/(16a³) for L ≤ 2a,
    1 beyond (an upper bound of the escape fraction of a CSDA electron of range L: scattering
    only shortens the displacement).
    """
    x = path_nm / radius_nm
    return 1.0 if x >= 2.0 else 0.75 * x - x ** 3 / 16.0


# -- kernels ---------------------------------------------------------------------------------------

@nb.njit(cache=True)
def interp_loglog(energy_eV, ln_e0, dln_e, ln_y):
    """exp of the linear interpolation of ``ln_y`` at ln T on the uniform grid (clamped ends)."""
    x = (math.log(energy_eV) - ln_e0) / dln_e
    n = ln_y.shape[0]
    if x <= 0.0:
        return math.exp(ln_y[0])
    if x >= n - 1:
        return math.exp(ln_y[n - 1])
    i = int(x)
    f = x - i
    return math.exp(ln_y[i] + f * (ln_y[i + 1] - ln_y[i]))


@nb.njit(cache=True)
def energy_from_range_nm(range_nm, ln_e0, dln_e, ln_range):
    """Inverse of the CSDA range table: T with R(T) = ``range_nm``  [eV] (log-log, bisection)."""
    n = ln_range.shape[0]
    if range_nm <= math.exp(ln_range[0]):
        return math.exp(ln_e0)
    lr = math.log(range_nm)
    if lr >= ln_range[n - 1]:
        return math.exp(ln_e0 + (n - 1) * dln_e)
    lo = 0
    hi = n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ln_range[mid] <= lr:
            lo = mid
        else:
            hi = mid
    f = (lr - ln_range[lo]) / (ln_range[hi] - ln_range[lo])
    return math.exp(ln_e0 + (lo + f) * dln_e)


@nb.njit(cache=True)
def _wentzel_mean(a):
    """⟨1 − μ⟩ of the Wentzel law p(μ) ∝ (1 − μ + 2A)⁻²: 2A[(1 + A) ln(1 + 1/A) − 1]."""
    return 2.0 * a * ((1.0 + a) * math.log1p(1.0 / a) - 1.0)


@nb.njit(cache=True)
def wentzel_screening(mean_one_minus_mu):
    """Screening A of the Wentzel law with ⟨1 − μ⟩ = ``mean_one_minus_mu`` ∈ (0, 1).

    Solves g(A) = 2A[(1 + A) ln(1 + 1/A) − 1] = t by Newton's method on x = ln A
    (dg/dA = 2(1 + 2A) ln(1 + 1/A) − 4), safeguarded by bisection inside the bracket
    [e⁻⁶⁰, e¹²] on which g rises monotonically from 0 to 1; stops at |g − t| ≤ 10⁻¹² t
    (typically 3–6 iterations).  Start: A₀ = t/(2 max(ln(2/t) − 1, ½)) for t < ½ (small-A
    expansion g ≈ 2A(ln(1/A) − 1)), A₀ = 1/(3(1 − t)) otherwise (large-A expansion
    g ≈ 1 − 1/(3A)).
    """
    t = mean_one_minus_mu
    lo = -60.0
    hi = 12.0
    if t < 0.5:
        a0 = t / (2.0 * max(math.log(2.0 / t) - 1.0, 0.5))
    else:
        a0 = 1.0 / (3.0 * (1.0 - t))
    x = math.log(a0)
    if x <= lo or x >= hi:
        x = 0.5 * (lo + hi)
    for _ in range(200):
        a = math.exp(x)
        lg = math.log1p(1.0 / a)
        g = 2.0 * a * ((1.0 + a) * lg - 1.0)
        diff = g - t
        if abs(diff) <= 1e-12 * t:
            return a
        if diff < 0.0:
            lo = x
        else:
            hi = x
        dgdx = a * (2.0 * (1.0 + 2.0 * a) * lg - 4.0)
        x_new = x - diff / dgdx if dgdx > 0.0 else 0.5 * (lo + hi)
        if not (lo < x_new < hi):
            x_new = 0.5 * (lo + hi)
        if hi - lo < 1e-14:
            return math.exp(x_new)
        x = x_new
    return math.exp(x)


@nb.njit(cache=True)
def sample_msc_cos(mean_one_minus_mu, state):
    """cos θ of one multiple-scattering step with ⟨1 − cos θ⟩ = ``mean_one_minus_mu``.

    Wentzel shape (module docstring); ≥ 0.999 → isotropic, ≤ 10⁻¹² → no deflection.
    """
    if mean_one_minus_mu <= 1e-12:
        return 1.0
    if mean_one_minus_mu >= 0.999:
        return 2.0 * rng_uniform(state) - 1.0
    a = wentzel_screening(mean_one_minus_mu)
    u = rng_uniform(state)
    mu = 1.0 - 2.0 * a * u / (1.0 + a - u)
    if mu < -1.0:
        mu = -1.0
    return mu


@nb.njit(cache=True)
def transport_in_gold(p, sphere, gt, msc_on, state):
    """Transport one electron inside the gold sphere until it leaves or stops.

    Parameters
    ----------
    p : float64[PARTICLE_COLUMNS]
        The electron's particle record, inside or on the sphere; updated in place: on escape
        it holds the exit point (on the surface), direction and energy; on stop its energy is
        set to 0.
    sphere : Sphere
        Sphere centre and radius  [nm].
    gt : GoldKernelTables
        Tables and step parameters (cutoff ≥ the table's lowest energy; defaults f_range
        0.02, f_msc 0.3, s_min 0.01 nm).
    msc_on : bool
        False: straight lines (no deflection; used to test the geometry against the analytic
        escape probability).
    state : uint64[2]
        Random-number state.

    Returns
    -------
    status : int
        ESCAPED, STOPPED or STEP_LIMIT (stopped after 10⁶ steps; should not happen).
    deposited_eV : float
        Energy left in the gold  [eV].
    path_nm : float
        Path length travelled in gold  [nm].
    """
    cx = sphere.cx
    cy = sphere.cy
    cz = sphere.cz
    radius_nm = sphere.radius
    ln_e0 = gt.ln_e0
    dln_e = gt.dln_e
    ln_range = gt.ln_range
    ln_inv_lambda1 = gt.ln_inv_lambda1
    cutoff_eV = gt.cutoff_eV
    f_range = gt.f_range
    f_msc = gt.f_msc
    s_min_nm = gt.s_min_nm
    e_start = p[P_E]
    x = p[0]
    y = p[1]
    z = p[2]
    ux = p[3]
    uy = p[4]
    uz = p[5]
    e = e_start
    path = 0.0
    r_cut = interp_loglog(cutoff_eV, ln_e0, dln_e, ln_range)
    for _ in range(_MAX_STEPS):
        if e <= cutoff_eV:
            p[P_E] = 0.0
            return STOPPED, e_start, path
        r_now = interp_loglog(e, ln_e0, dln_e, ln_range)
        avail = r_now - r_cut
        dx = x - cx
        dy = y - cy
        dz = z - cz
        dist_in = radius_nm - math.sqrt(dx * dx + dy * dy + dz * dz)
        if avail < dist_in:            # range rejection: cannot reach the surface
            p[P_E] = 0.0
            return STOPPED, e_start, path
        s = f_range * r_now
        if msc_on:
            lam1 = 1.0 / interp_loglog(e, ln_e0, dln_e, ln_inv_lambda1)
            if f_msc * lam1 < s:
                s = f_msc * lam1
        if s < s_min_nm:
            s = s_min_nm
        final = False
        if s >= avail:
            s = avail
            final = True
        s1 = s * rng_uniform(state) if msc_on else s
        d = sphere_distance_inside(x, y, z, cx, cy, cz, radius_nm, ux, uy, uz)
        if d <= s1:
            set_phase(p, x, y, z, ux, uy, uz, p[P_E])
            return _leave(p, d, r_now, path, e_start, sphere, gt)
        x += s1 * ux
        y += s1 * uy
        z += s1 * uz
        if msc_on:
            e_mid = energy_from_range_nm(r_now - 0.5 * s, ln_e0, dln_e, ln_range)
            t1 = -math.expm1(-s * interp_loglog(e_mid, ln_e0, dln_e, ln_inv_lambda1))
            mu = sample_msc_cos(t1, state)
            phi = _TWO_PI * rng_uniform(state)
            ux, uy, uz = rotate(ux, uy, uz, mu, phi)
            s2 = s - s1
            d = sphere_distance_inside(x, y, z, cx, cy, cz, radius_nm, ux, uy, uz)
            if d <= s2:
                set_phase(p, x, y, z, ux, uy, uz, p[P_E])
                return _leave(p, d, r_now - s1, path + s1, e_start, sphere, gt)
            x += s2 * ux
            y += s2 * uy
            z += s2 * uz
        path += s
        if final:
            p[0] = x
            p[1] = y
            p[2] = z
            p[P_E] = 0.0
            return STOPPED, e_start, path
        e = energy_from_range_nm(r_now - s, ln_e0, dln_e, ln_range)
    p[0] = x
    p[1] = y
    p[2] = z
    p[P_E] = 0.0
    return STEP_LIMIT, e_start, path


@nb.njit(cache=True)
def _leave(p, d, r_before, path, e_start, sphere, gt):
    """Move the electron of record p a distance d to the surface, snap onto it, write the exit
    state into p."""
    x = p[P_X]
    y = p[P_Y]
    z = p[P_Z]
    ux = p[P_UX]
    uy = p[P_UY]
    uz = p[P_UZ]
    cx = sphere.cx
    cy = sphere.cy
    cz = sphere.cz
    radius_nm = sphere.radius
    x += d * ux
    y += d * uy
    z += d * uz
    ox = x - cx
    oy = y - cy
    oz = z - cz
    rr = math.sqrt(ox * ox + oy * oy + oz * oz)
    if rr > 0.0:
        x = cx + ox * (radius_nm / rr)
        y = cy + oy * (radius_nm / rr)
        z = cz + oz * (radius_nm / rr)
    e_exit = energy_from_range_nm(r_before - d, gt.ln_e0, gt.dln_e, gt.ln_range)
    set_phase(p, x, y, z, ux, uy, uz, e_exit)
    return ESCAPED, e_start - e_exit, path + d


@nb.njit(cache=True)
def transport_gold_bank(bank, n_bank, sphere, gt, msc_on, state, out_bank, n_out):
    """Transport every electron of ``bank[:n_bank]`` in gold; append escapees to ``out_bank``.

    Parameters
    ----------
    bank : float64[:, PARTICLE_COLUMNS]
        Electrons in (or on) the gold sphere (particle records); rows are overwritten with their final state.
    n_bank : int
        Number of rows to process.
    out_bank : float64[:, PARTICLE_COLUMNS]
        Output: electrons leaving the sphere (on its surface, pointing out), appended at
        ``n_out``.
    (other parameters as in :func:`transport_in_gold`)

    Returns
    -------
    status : int
        OK or OUT_BANK_FULL (then ``n_out`` and the deposit are those before the call: the
        caller enlarges ``out_bank``, reseeds and reruns, as for the other banks).
    n_out : int
        New fill level of ``out_bank``.
    deposited_eV : float
        Energy deposited in gold by these electrons  [eV].
    """
    n0 = n_out
    dep = 0.0
    for i in range(n_bank):
        status, d_eV, _path = transport_in_gold(bank[i], sphere, gt, msc_on, state)
        dep += d_eV
        if status == ESCAPED:
            if n_out >= out_bank.shape[0]:
                return OUT_BANK_FULL, n0, 0.0
            for c in range(PARTICLE_COLUMNS):
                out_bank[n_out, c] = bank[i, c]
            n_out += 1
    return OK, n_out, dep


@nb.njit(cache=True)
def escape_statistics(energy_eV, radius_nm, n, seed, gt, msc_on, out):
    """Electrons born uniformly and isotropically in a sphere: escape statistics.

    Electron i draws from the stream ``(seed, i, GOLD_STREAM)``.  Row i of ``out``
    (float64[n, 4]) receives: escaped (1/0), exit energy [eV], path in gold [nm], depth of
    birth below the surface [nm].
    """
    state = np.zeros(2, dtype=np.uint64)
    p = np.zeros(PARTICLE_COLUMNS)
    sphere = Sphere(0.0, 0.0, 0.0, radius_nm)
    for i in range(n):
        rng_seed(state, seed, i, GOLD_STREAM)
        r = radius_nm * rng_uniform(state) ** (1.0 / 3.0)
        cos_t = 2.0 * rng_uniform(state) - 1.0
        phi = _TWO_PI * rng_uniform(state)
        st = math.sqrt(max(0.0, 1.0 - cos_t * cos_t))
        p[0] = r * st * math.cos(phi)
        p[1] = r * st * math.sin(phi)
        p[2] = r * cos_t
        cos_t = 2.0 * rng_uniform(state) - 1.0
        phi = _TWO_PI * rng_uniform(state)
        st = math.sqrt(max(0.0, 1.0 - cos_t * cos_t))
        p[3] = st * math.cos(phi)
        p[4] = st * math.sin(phi)
        p[5] = cos_t
        p[P_E] = energy_eV
        status, _dep, path = transport_in_gold(p, sphere, gt, msc_on, state)
        out[i, 0] = 1.0 if status == ESCAPED else 0.0
        out[i, 1] = p[P_E] if status == ESCAPED else 0.0
        out[i, 2] = path
        out[i, 3] = radius_nm - r


@nb.njit(cache=True)
def backscatter_statistics(energy_eV, n, seed, gt, out):
    """Normal incidence on bulk gold (a sphere of radius 10⁷ nm entered at its pole).

    Row i of ``out`` (float64[n, 2]): backscattered (1/0), exit energy [eV].
    """
    state = np.zeros(2, dtype=np.uint64)
    p = np.zeros(PARTICLE_COLUMNS)
    big = 1.0e7
    sphere = Sphere(0.0, 0.0, 0.0, big)
    for i in range(n):
        rng_seed(state, seed, i, GOLD_STREAM)
        p[0] = 0.0
        p[1] = 0.0
        p[2] = big
        p[3] = 0.0
        p[4] = 0.0
        p[5] = -1.0
        p[P_E] = energy_eV
        status, _dep, _path = transport_in_gold(p, sphere, gt, True, state)
        out[i, 0] = 1.0 if status == ESCAPED else 0.0
        out[i, 1] = p[P_E] if status == ESCAPED else 0.0
