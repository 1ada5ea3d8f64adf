"""Event-by-event (track-structure) electron transport in liquid water.

Every ionization, excitation and elastic collision of an electron and of all its
secondaries is simulated individually, down to a cut-off energy of order 10 eV; every
ionization position is recorded (nm).  Cross sections and their references:
:mod:`hpcmc.physics.water_xs`.  Units: energies in eV, lengths in nm.

Algorithm (one history, :func:`transport_electron`)
---------------------------------------------------
The medium is homogeneous and an electron loses no energy between collisions, so the free
path is sampled exactly: ``s = −ln ξ / Σ_tot(T)`` with Σ_tot the sum of the 11 channel
cross sections interpolated (linear in ln T) from :class:`~hpcmc.physics.water_xs.WaterTables`
and set to zero below each channel's threshold.  The geometry is a world
(:mod:`hpcmc.physics.world`, e.g. :class:`~hpcmc.physics.sphere_world.SphereWorld`): if the
segment meets the boundary of the water region first and behind it lies another region (the
gold sphere), the electron is moved onto that surface and written to the *gold bank* (another
module transports it in gold); if it leaves the world (the tracking sphere), it is moved to
the boundary and its energy counted as escaped.  Otherwise the channel k is chosen with
probability Σ_k/Σ_tot:

* ionization of orbital i (RBEB): the secondary energy W is sampled from dσ/dW by
  composition–rejection (below); the secondary gets W, the primary keeps T − B − W
  (≥ W, so the faster electron always continues as "the primary"), B is deposited at the
  ionization point, whose position is recorded.  Secondary polar angle (
  KURBUC, Uehara et al.; Geant4-DNA): W < 50 eV isotropic; 50–200 eV: 90 % with cos θ
  uniform in [0, cos 45°] (θ in 45°–90°), 10 % isotropic; W > 200 eV binary-encounter
  kinematics cos²θ = W(T + 2mc²)/(T(W + 2mc²)); azimuth uniform.  The primary's new
  direction follows from momentum conservation with the (free) secondary,
  p′ = p₀ û₀ − p_W û_W (recoil of the molecule neglected);
* excitation of level j: the primary loses E_j, deposited locally, direction unchanged;
* elastic: polar angle from the screened Rutherford law (T ≥ 200 eV) by exact inversion
  ``cos θ = 1 − 2nξ/(n + 1 − ξ)``, or from the Brenner–Zaider two-term law (T < 200 eV):
  choose the forward or backward term with probability ∝ its integral
  (1/(2γ(1+γ)) and β/(2δ(1+δ))), then invert that term the same way.

Electrons below ``cutoff_eV`` — or at or below the lowest inelastic threshold (8.22 eV),
where only elastic scattering would remain — deposit their energy locally ("sub-cut-off").
Secondaries above the cut-off go on a caller-provided stack and are followed after the
current electron ends (so the stack holds at most the pending secondaries of one track).

Sampling of W (exact)
---------------------
With w = W/B, dσ/dw ∝ f(w) = c3[(w+1)⁻³ + (t−w)⁻³] + [(w+1)⁻² + (t−w)⁻²]
+ c1[(w+1)⁻¹ + (t−w)⁻¹] + c0 on [0, (t−1)/2], c1 < 0.  The envelope g = f minus its
negative terms is a sum of five terms each integrable and invertible in closed form, so a
term is picked with probability ∝ its integral, w is drawn from it by inversion, and
accepted with probability f(w)/g(w) (mean acceptance 0.5 at threshold, 0.7 at t = 2, 0.9 at
t = 10, → 1 for t ≫ 1).  The result is distributed exactly as dσ/dW (χ² tests in
tests/test_physics_electron.py and tools/validate_electron.py).

Dielectric ionization model (optional)
--------------------------------------
Tables built with ``model="dielectric"`` (:mod:`hpcmc.physics.water_dielectric`) carry a
W-sampling table; passing it as ``ion_w_table`` (``run_electron_history``/``_batch`` do this,
or ``model="dielectric"``) samples W of the four valence shells from the tabulated CDF
(:func:`sample_dielectric_w_eV`: table row of T_i or T_{i+1} chosen with the interpolation
weight, linear inversion, W = x (T − B)/2 ≤ (T − B)/2).  The binding energy of channel k is
``xs_threshold[k]`` for both models (identical to ORBITAL_B_EV for the BEB tables), so
energy conservation stays exact.  Without ``ion_w_table`` (the default, e.g. the gnp app)
the kernel behaves exactly as before.

Buffers and the grow-by-return pattern
--------------------------------------
The kernel never allocates.  Ionization positions go to ``ion_xyz_nm`` (float64[:, 3]),
local energy deposits (optional) to ``deposits`` (float64[:, 5]: x, y, z [nm], E [eV],
kind), electrons reaching the gold to ``gold_bank`` and secondaries to ``stack`` (particle
records, float64[:, PARTICLE_COLUMNS] — :mod:`hpcmc.physics.particles`); ``counts`` (int64[4]) holds the fill levels
(the kernel appends at ``counts[i]``).  When a buffer is full the kernel returns a
non-zero code at once; the caller restores ``counts`` and ``score`` to their values
before the history, enlarges that buffer, reseeds the history's stream and reruns it
(:func:`run_electron_history` does exactly this).  A zero-row ``ion_xyz_nm`` or
``deposits`` switches that recording off (counting continues in ``score``).

Start points must lie in the water: outside the gold sphere (or on its surface moving
outwards — how the gold-transport module hands electrons back); a start point on or inside
the gold moving inwards is banked at once.

Validation (tools/validate_electron.py): exact energy conservation; the mean path length of
the primary agrees with the ESTAR CSDA range within 5 % at 10–50 keV (+4.0, +1.5, +1.0 %
with 1000/300/100 histories); the W value is 20.0 eV at 100 eV, 19.4 eV at 500 eV and
19.4 eV at 1 keV — within 1 % of the Geant4-DNA wvalue example with its Born physics list
(G4EmDNAPhysics of Geant4 10.2/10.3: 19.8, 19.5, 19.5 eV) and 15–18 % below option 4
(24.3, 22.9, 22.77 eV), whose excitation cross sections this model shares (to ≈ 10 %) but
whose dielectric ionization model gives far fewer ionizations near threshold; see
:mod:`hpcmc.physics.water_xs`.

Reproducibility: all random numbers of history ``h`` come from the stream
``(seed, h, stream_key("electron_water"))`` and the processing order is fixed (LIFO
stack), so a history gives the same ionizations whether run alone or in any batch.
"""
from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numba as nb
import numpy as np

from hpcmc.physics import status as stc
from hpcmc.physics.banks import set_lineage, set_particle
from hpcmc.physics.geometry import distance_to_sphere_entry_nm, distance_to_sphere_exit_nm
from hpcmc.physics.sphere_world import REGION_SHELL, SphereWorld, make_sphere_world
from hpcmc.physics.particles import ELECTRON, P_E, P_REGION, P_UX, P_UY, P_UZ, P_X, P_Y, P_Z, PARTICLE_COLUMNS
from hpcmc.physics.kinematics import rotate_direction
from hpcmc.physics.water_xs import (
    CH_ELASTIC,
    CH_EXC0,
    ELECTRON_MASS_EV,
    EXCITATION_E_EV,
    N_CHANNELS,
    ORBITAL_B_EV,
    ORBITAL_N,
    ORBITAL_U_EV,
    WaterTables,
    brenner_zaider_parameters,
    elastic_screening,
    rbeb_coefficients,
    water_tables,
)
from hpcmc.physics.world import REGION_OUTSIDE, world_distance, world_locate, world_snap
from hpcmc.runtime.rng import rng_seed, rng_uniform, stream_key

__all__ = [
    "ELECTRON_STREAM",
    "S_E_BINDING", "S_E_EXCITATION", "S_E_SUBCUTOFF", "S_E_ESCAPED", "S_E_GOLD",
    "S_N_IONIZATION", "S_N_EXCITATION", "S_N_ELASTIC", "S_PATH_PRIMARY_NM", "S_PATH_TOTAL_NM",
    "S_N_TRACKS", "N_SCORE", "SCORE_NAMES",
    "C_ION", "C_GOLD", "C_DEPOSIT", "C_STACK_MAX", "N_COUNTS",
    "OK", "ION_BUFFER_FULL", "STACK_FULL", "GOLD_BANK_FULL", "DEPOSIT_BUFFER_FULL",
    "DEP_BINDING", "DEP_EXCITATION", "DEP_SUBCUTOFF",
    "DEPOSIT_COLS",
    "BRENNER_ZAIDER_MAX_EV",
    "WaterKernelTables", "water_kernel_tables", "make_geometry",
    "sample_ionization_w_eV",
    "sample_dielectric_w_eV",
    "sample_screened_rutherford_cos",
    "sample_brenner_zaider_cos",
    "sample_elastic_cos",
    "secondary_cos_theta",
    "rotate_direction",
    "interpolate_sigma",
    "distance_to_sphere_entry_nm",
    "distance_to_sphere_exit_nm",
    "transport_electron",
    "run_electron_batch_nb",
    "ElectronHistory",
    "run_electron_history",
    "run_electron_batch",
]

#: Key of the named random sub-stream used by this module.
ELECTRON_STREAM = stream_key("electron_water")

# score[] layout (float64; counts are exact integers below 2**53)
S_E_BINDING = 0       # binding energies deposited at ionizations  [eV]
S_E_EXCITATION = 1    # excitation energies deposited               [eV]
S_E_SUBCUTOFF = 2     # kinetic energy of electrons stopped at the cut-off  [eV]
S_E_ESCAPED = 3       # kinetic energy leaving the tracking sphere  [eV]
S_E_GOLD = 4          # kinetic energy handed to the gold bank      [eV]
S_N_IONIZATION = 5
S_N_EXCITATION = 6
S_N_ELASTIC = 7
S_PATH_PRIMARY_NM = 8  # path length of the primary (the faster electron after each ionization)  [nm]
S_PATH_TOTAL_NM = 9    # path length of all electrons  [nm]
S_N_TRACKS = 10        # electrons followed (primary + secondaries above the cut-off)
N_SCORE = 11
SCORE_NAMES = ("e_binding_eV", "e_excitation_eV", "e_subcutoff_eV", "e_escaped_eV", "e_gold_eV",
               "n_ionization", "n_excitation", "n_elastic", "path_primary_nm", "path_total_nm", "n_tracks")

# counts[] layout (int64)
C_ION = 0
C_GOLD = 1
C_DEPOSIT = 2
C_STACK_MAX = 3
N_COUNTS = 4

# return codes
OK = stc.OK
ION_BUFFER_FULL = stc.ION_BUFFER_FULL
STACK_FULL = stc.STACK_FULL
GOLD_BANK_FULL = stc.GOLD_BANK_FULL
DEPOSIT_BUFFER_FULL = stc.DEPOSIT_BUFFER_FULL
_CODE_NAMES = {OK: "ok", ION_BUFFER_FULL: "ionization buffer full", STACK_FULL: "stack full",
               GOLD_BANK_FULL: "gold bank full", DEPOSIT_BUFFER_FULL: "deposit buffer full"}

# deposit kinds
DEP_BINDING = 0
DEP_EXCITATION = 1
DEP_SUBCUTOFF = 2

DEPOSIT_COLS = 5   # x, y, z [nm], E [eV], kind

#: Below this energy the elastic polar angle follows Brenner & Zaider (1984)  [eV].
BRENNER_ZAIDER_MAX_EV = 200.0
_TWO_MC2 = 2.0 * ELECTRON_MASS_EV
_MIN_INELASTIC_EV = float(min(EXCITATION_E_EV.min(), ORBITAL_B_EV.min()))
_SQRT_HALF = math.sqrt(0.5)
_TWO_PI = 2.0 * math.pi


class WaterKernelTables(NamedTuple):
    """What :func:`transport_electron` needs of the cross sections, and the cut-off.

    Attributes
    ----------
    sigma_per_nm : float64[n, 11]
        Macroscopic cross sections  [1/nm] (:attr:`WaterTables.sigma_per_nm`).
    grid : float64[3]
        ``[ln E_min, 1/Δ ln E, n]`` (:attr:`WaterTables.grid`).
    threshold_eV : float64[11]
        Channel thresholds  [eV].
    cutoff_eV : float
        Tracking cut-off  [eV]; lower energies are deposited locally.
    """

    sigma_per_nm: np.ndarray
    grid: np.ndarray
    threshold_eV: np.ndarray
    cutoff_eV: float


def water_kernel_tables(tables: WaterTables, cutoff_eV: float) -> WaterKernelTables:
    """:class:`WaterKernelTables` of ``tables`` with the cut-off ``cutoff_eV``  [eV]."""
    return WaterKernelTables(tables.sigma_per_nm, tables.grid, tables.threshold_eV, float(cutoff_eV))


def make_geometry(track_center_nm=(0.0, 0.0, 0.0), track_radius_nm=math.inf, gold_radius_nm=0.0) -> SphereWorld:
    """The world of a stand-alone water kernel run: water in a tracking sphere around an
    optional gold sphere at the origin (a :class:`~hpcmc.physics.sphere_world.SphereWorld`,
    water region ``REGION_SHELL``).

    Parameters
    ----------
    track_center_nm : sequence of 3 float
        Centre of the tracking sphere  [nm].
    track_radius_nm : float
        Its radius  [nm]; ``inf`` = infinite water medium.  Electrons leaving it are
        stopped on its surface and their energy is scored as escaped.
    gold_radius_nm : float
        Radius of the excluded gold sphere centred at the origin  [nm]; 0 = no gold.

    Returns
    -------
    SphereWorld
    """
    c = np.asarray(track_center_nm, dtype=float)
    if c.shape != (3,) or not np.all(np.isfinite(c)):
        raise ValueError(f"track_center_nm must be 3 finite numbers, got {track_center_nm!r}")
    if not track_radius_nm > 0.0:
        raise ValueError(f"track_radius_nm must be > 0 (inf for an infinite medium), got {track_radius_nm!r}")
    if not (gold_radius_nm >= 0.0 and math.isfinite(gold_radius_nm)):
        raise ValueError(f"gold_radius_nm must be finite and ≥ 0, got {gold_radius_nm!r}")
    return make_sphere_world(c, float(track_radius_nm), float(gold_radius_nm))


# =========================================================================== sampling kernels
@nb.njit(cache=True)
def sample_ionization_w_eV(energy_eV, b_eV, u_eV, n_occ, state):
    """Sample the secondary energy W of an RBEB ionization of one orbital.

    Composition–rejection on dσ/dW (module docstring); exact.

    Parameters
    ----------
    energy_eV : float
        Incident energy T  [eV], > B.
    b_eV, u_eV, n_occ : float
        Orbital constants B [eV], U [eV], N.
    state : uint64[2]
        Generator state.

    Returns
    -------
    float
        W  [eV], in [0, (T − B)/2].
    """
    t, pref, c3, c1, c0 = rbeb_coefficients(energy_eV, b_eV, u_eV, n_occ)
    wm = 0.5 * (t - 1.0)
    if wm <= 0.0:
        return 0.0
    c3p = c3 if c3 > 0.0 else 0.0
    c3n = c3 - c3p
    tp1 = t + 1.0
    q = 4.0 / (tp1 * tp1)          # (wm+1)⁻² = (t−wm)⁻²
    it = 1.0 / t
    it2 = it * it
    ia = (t - 1.0) / tp1           # ∫(w+1)⁻²
    ib = 2.0 / tp1 - it            # ∫(t−w)⁻²
    ic = c3p * 0.5 * (1.0 - q)     # c3 ∫(w+1)⁻³
    idd = c3p * 0.5 * (q - it2)    # c3 ∫(t−w)⁻³
    ie = c0 * wm                   # ∫c0
    s1 = ia
    s2 = s1 + ib
    s3 = s2 + ic
    s4 = s3 + idd
    total = s4 + ie
    while True:
        r = rng_uniform(state) * total
        x = rng_uniform(state)
        if r < s1:
            w = 1.0 / (1.0 - x * ia) - 1.0
        elif r < s2:
            w = t - 1.0 / (it + x * ib)
        elif r < s3:
            w = 1.0 / math.sqrt(1.0 - x * (1.0 - q)) - 1.0
        elif r < s4:
            w = t - 1.0 / math.sqrt(it2 + x * (q - it2))
        else:
            w = x * wm
        if w < 0.0:
            w = 0.0
        elif w > wm:
            w = wm
        a1 = 1.0 / (w + 1.0)
        a2 = 1.0 / (t - w)
        cub = a1 * a1 * a1 + a2 * a2 * a2
        g = a1 * a1 + a2 * a2 + c3p * cub + c0
        f = g + c1 * (a1 + a2) + c3n * cub
        if rng_uniform(state) * g <= f:
            return w * b_eV


@nb.njit(cache=True)
def grid_cell(energy_eV, xs_grid):
    """Cell of the log energy grid ``[ln E_min, 1/Δ ln E, n]``: i = ⌊(ln T − ln E_min)/Δ⌋ clamped
    to [0, n − 2], and the fraction fr = (ln T − ln E_i)/Δ (> 1 above the last node)."""
    f = (math.log(energy_eV) - xs_grid[0]) * xs_grid[1]
    i = int(f)
    n_grid = int(xs_grid[2])
    if i < 0:
        i = 0
    elif i > n_grid - 2:
        i = n_grid - 2
    return i, f - i


@nb.njit(cache=True)
def sample_dielectric_w_eV(energy_eV, b_eV, shell, w_table, xs_grid, state):
    """Sample W of a valence-shell ionization of the dielectric model from its table.

    The table row of T_i or T_{i+1} (the grid cell of ``energy_eV``) is chosen with the
    linear-interpolation weight; its tabulated CDF of x = W/W_max is inverted with linear
    interpolation and W = x (T − B)/2, so 0 ≤ W ≤ (T − B)/2 exactly
    (:mod:`hpcmc.physics.water_dielectric`).

    Parameters
    ----------
    energy_eV : float
        Incident energy T  [eV], > B.
    b_eV : float
        Binding energy of the shell  [eV].
    shell : int
        Valence shell 0–3.
    w_table : float64[n, 4, 2, K]
        :attr:`WaterTables.ion_w_table`.
    xs_grid : float64[3]
        :attr:`WaterTables.grid`.
    state : uint64[2]
        Generator state.

    Returns
    -------
    float
        W  [eV].
    """
    wm = 0.5 * (energy_eV - b_eV)
    if wm <= 0.0:
        return 0.0
    i, fr = grid_cell(energy_eV, xs_grid)
    kk = w_table.shape[3]
    row = i + 1 if rng_uniform(state) < fr else i
    if w_table[row, shell, 1, kk - 1] <= 0.0:
        row = i + 1 if row == i else i
        if w_table[row, shell, 1, kk - 1] <= 0.0:
            return rng_uniform(state) * wm
    u = rng_uniform(state)
    lo = 0
    hi = kk - 1
    while hi - lo > 1:
        m = (lo + hi) >> 1
        if w_table[row, shell, 1, m] <= u:
            lo = m
        else:
            hi = m
    c0 = w_table[row, shell, 1, lo]
    c1 = w_table[row, shell, 1, hi]
    x0 = w_table[row, shell, 0, lo]
    x1 = w_table[row, shell, 0, hi]
    x = x0 + (u - c0) / (c1 - c0) * (x1 - x0) if c1 > c0 else x0
    if x < 0.0:
        x = 0.0
    elif x > 1.0:
        x = 1.0
    return x * wm


@nb.njit(cache=True)
def sample_screened_rutherford_cos(n, state):
    """cos θ from dσ/dΩ ∝ (1 − cos θ + 2n)⁻² by inversion: cos θ = 1 − 2nξ/(n + 1 − ξ).

    Parameters
    ----------
    n : float
        Screening parameter (> 0).
    state : uint64[2]
        Generator state.
    """
    xi = rng_uniform(state)
    return 1.0 - 2.0 * n * xi / (n + 1.0 - xi)


@nb.njit(cache=True)
def sample_brenner_zaider_cos(energy_eV, state):
    """cos θ from the Brenner–Zaider law 1/(1+2γ−cos θ)² + β/(1+2δ+cos θ)² (exact).

    Parameters
    ----------
    energy_eV : float
        T  [eV] (fit valid ≈ 10–200 eV).
    state : uint64[2]
        Generator state.
    """
    gamma, beta, delta = brenner_zaider_parameters(energy_eV)
    wf = 1.0 / (2.0 * gamma * (1.0 + gamma))
    wb = beta / (2.0 * delta * (1.0 + delta))
    pick = rng_uniform(state) * (wf + wb)
    xi = rng_uniform(state)
    if pick < wf:
        return 1.0 - 2.0 * gamma * xi / (gamma + 1.0 - xi)
    return -1.0 + 2.0 * delta * xi / (delta + 1.0 - xi)


@nb.njit(cache=True)
def sample_elastic_cos(energy_eV, state):
    """Elastic polar-angle cosine: Brenner–Zaider below 200 eV, screened Rutherford above.

    Parameters
    ----------
    energy_eV : float
        T  [eV].
    state : uint64[2]
        Generator state.
    """
    if energy_eV < BRENNER_ZAIDER_MAX_EV:
        return sample_brenner_zaider_cos(energy_eV, state)
    return sample_screened_rutherford_cos(elastic_screening(energy_eV), state)


@nb.njit(cache=True)
def secondary_cos_theta(w_eV, energy_eV, state):
    """Polar-angle cosine of an ionization secondary relative to the primary's direction.

    W < 50 eV: isotropic; 50 ≤ W ≤ 200 eV: with probability 0.9 cos θ uniform in
    [0, cos 45°], else isotropic; W > 200 eV: binary encounter with a free electron at rest,
    cos²θ = W(T + 2mc²)/(T(W + 2mc²)).

    Parameters
    ----------
    w_eV : float
        Secondary energy W  [eV].
    energy_eV : float
        Primary energy before the collision T  [eV].
    state : uint64[2]
        Generator state.
    """
    if w_eV < 50.0:
        return 2.0 * rng_uniform(state) - 1.0
    if w_eV <= 200.0:
        if rng_uniform(state) <= 0.1:
            return 2.0 * rng_uniform(state) - 1.0
        return rng_uniform(state) * _SQRT_HALF
    c2 = w_eV * (energy_eV + _TWO_MC2) / (energy_eV * (w_eV + _TWO_MC2))
    return math.sqrt(c2) if c2 < 1.0 else 1.0


# =========================================================================== transport kernel
@nb.njit(cache=True)
def interpolate_sigma(energy_eV, xs_sigma, xs_grid, xs_threshold, sig):
    """Channel cross sections at T by linear interpolation in ln T; returns their sum.

    Σ_k(T) = Σ_k[i] + f (Σ_k[i+1] − Σ_k[i]) with i, f from (ln T − ln E_min)/Δ; Σ_k = 0 for
    T ≤ threshold_k, and in the grid cell containing the threshold Σ_k is interpolated from
    zero at the threshold: Σ_k[i+1] ln(T/T_k)/ln(E_{i+1}/T_k).

    Parameters
    ----------
    energy_eV : float
        T  [eV].
    xs_sigma : float64[n, 11]
        Tabulated Σ_k  [1/nm].
    xs_grid : float64[3]
        ``[ln E_min, 1/Δ ln E, n]``.
    xs_threshold : float64[11]
        Thresholds  [eV].
    sig : float64[11]
        Output: Σ_k(T)  [1/nm].

    Returns
    -------
    float
        Σ_tot(T)  [1/nm].
    """
    ln0 = xs_grid[0]
    inv_dln = xs_grid[1]
    ln_e = math.log(energy_eV)
    i, fr = grid_cell(energy_eV, xs_grid)
    if fr > 1.0:
        fr = 1.0
    tot = 0.0
    for k in range(sig.shape[0]):
        thr = xs_threshold[k]
        if energy_eV <= thr:
            v = 0.0
        elif xs_sigma[i, k] == 0.0 and thr > 0.0:
            ln_thr = math.log(thr)
            v = xs_sigma[i + 1, k] * (ln_e - ln_thr) / (ln0 + (i + 1) / inv_dln - ln_thr)
        else:
            v = xs_sigma[i, k] + fr * (xs_sigma[i + 1, k] - xs_sigma[i, k])
        if v < 0.0:
            v = 0.0
        sig[k] = v
        tot += v
    return tot


@nb.njit(cache=True)
def _deposit(deposits, counts, x, y, z, e, kind):
    """Append a local deposit; False if the buffer is full (recording on)."""
    i = counts[C_DEPOSIT]
    if i >= deposits.shape[0]:
        return False
    deposits[i, 0] = x
    deposits[i, 1] = y
    deposits[i, 2] = z
    deposits[i, 3] = e
    deposits[i, 4] = kind
    counts[C_DEPOSIT] = i + 1
    return True


@nb.njit(cache=True)
def transport_electron(p, state, xs, world, stack, ion_xyz_nm, gold_bank, deposits, counts, score,
                       ion_w_table=None):
    """Follow one electron and all its secondaries, event by event, in liquid water.

    Parameters
    ----------
    p : float64[PARTICLE_COLUMNS]
        The electron's particle record (read only): initial position  [nm], unit direction
        and kinetic energy  [eV] (≤ the table's upper limit).
    state : uint64[2]
        Generator state, already seeded for the history (see :data:`ELECTRON_STREAM`).
    xs : WaterKernelTables
        Cross sections and the tracking cut-off (:func:`water_kernel_tables`).
    world : world (:mod:`hpcmc.physics.world`)
        The geometry: the electron is transported in region ``p[P_REGION]`` (the water; the
        caller sets it, e.g. ``REGION_SHELL`` of a :class:`SphereWorld`). At the boundary of
        that region it stops: leaving the world its energy is scored as escaped; entering
        another region (the gold) it is put on that region's surface (``world_snap``) and
        written to ``gold_bank`` with its region.
    stack : float64[:, PARTICLE_COLUMNS]
        Scratch stack of pending secondaries.
    ion_xyz_nm : float64[:, 3]
        Output: ionization positions  [nm], appended at ``counts[C_ION]`` (0 rows = off).
    gold_bank : float64[:, PARTICLE_COLUMNS]
        Output: electrons reaching the gold surface (particle records),
        appended at ``counts[C_GOLD]``.
    deposits : float64[:, 5]
        Output: local deposits (x, y, z [nm], E [eV], kind), appended at
        ``counts[C_DEPOSIT]`` (0 rows = off).
    counts : int64[4]
        Fill levels (C_ION, C_GOLD, C_DEPOSIT) and the deepest stack use (C_STACK_MAX).
    score : float64[11]
        Accumulated history scores (S_* indices), added to.
    ion_w_table : float64[n, 4, 2, K] or None
        :attr:`WaterTables.ion_w_table` of ``model="dielectric"`` tables (W of the four
        valence shells sampled from it); None (default) = RBEB dσ/dW for every shell.
        The binding energy of ionization channel k is always ``xs_threshold[k]``.

    Returns
    -------
    int
        OK, or ION_BUFFER_FULL / STACK_FULL / GOLD_BANK_FULL / DEPOSIT_BUFFER_FULL (the
        history is then incomplete and must be rerun with a larger buffer).
    """
    energy_eV = p[P_E]
    x_nm = p[P_X]
    y_nm = p[P_Y]
    z_nm = p[P_Z]
    ux = p[P_UX]
    uy = p[P_UY]
    uz = p[P_UZ]
    xs_sigma = xs.sigma_per_nm
    xs_grid = xs.grid
    xs_threshold = xs.threshold_eV
    cutoff_eV = xs.cutoff_eV
    region = int(p[P_REGION])
    record_ion = ion_xyz_nm.shape[0] > 0
    record_dep = deposits.shape[0] > 0
    sig = np.empty(N_CHANNELS)

    e = energy_eV
    x = x_nm
    y = y_nm
    z = z_nm
    is_primary = True
    n_stack = 0
    while True:
        # ------------------------------------------------------------ start of a track
        score[S_N_TRACKS] += 1.0
        alive = True
        if e < cutoff_eV or e <= _MIN_INELASTIC_EV:
            score[S_E_SUBCUTOFF] += e
            if record_dep and not _deposit(deposits, counts, x, y, z, e, DEP_SUBCUTOFF):
                return DEPOSIT_BUFFER_FULL
            alive = False
        elif world_locate(world, x, y, z) == REGION_OUTSIDE:
            score[S_E_ESCAPED] += e
            alive = False
        need_xs = True
        tot = 0.0
        while alive:
            if need_xs:
                tot = interpolate_sigma(e, xs_sigma, xs_grid, xs_threshold, sig)
                need_xs = False
            s = -math.log(rng_uniform(state)) / tot
            # ---------------------------------------------------- boundaries (asked of the world)
            d, nxt = world_distance(world, region, x, y, z, ux, uy, uz)
            if d < s and nxt != REGION_OUTSIDE:
                # into another region (the gold): onto its surface, handed to the gold bank
                x += d * ux
                y += d * uy
                z += d * uz
                x, y, z = world_snap(world, nxt, x, y, z)
                score[S_PATH_TOTAL_NM] += d
                if is_primary:
                    score[S_PATH_PRIMARY_NM] += d
                j = counts[C_GOLD]
                if j >= gold_bank.shape[0]:
                    return GOLD_BANK_FULL
                set_particle(gold_bank[j], x, y, z, ux, uy, uz, e, 1.0, ELECTRON, 0.0)
                set_lineage(gold_bank[j], nxt, 0.0)
                counts[C_GOLD] = j + 1
                score[S_E_GOLD] += e
                break
            if d < s:
                x += d * ux
                y += d * uy
                z += d * uz
                score[S_PATH_TOTAL_NM] += d
                if is_primary:
                    score[S_PATH_PRIMARY_NM] += d
                score[S_E_ESCAPED] += e
                break
            x += s * ux
            y += s * uy
            z += s * uz
            score[S_PATH_TOTAL_NM] += s
            if is_primary:
                score[S_PATH_PRIMARY_NM] += s
            # ---------------------------------------------------- channel
            # first channel whose cumulative sum exceeds r (a closed channel, Σ = 0, can
            # never be chosen; if rounding puts r at Σ_tot, elastic — always open — is taken)
            r = rng_uniform(state) * tot
            k = CH_ELASTIC
            acc = 0.0
            for kk in range(N_CHANNELS):
                acc += sig[kk]
                if r < acc:
                    k = kk
                    break
            if k == CH_ELASTIC:
                score[S_N_ELASTIC] += 1.0
                ct = sample_elastic_cos(e, state)
                ux, uy, uz = rotate_direction(ux, uy, uz, ct, _TWO_PI * rng_uniform(state))
                continue
            need_xs = True
            if k >= CH_EXC0:
                de = EXCITATION_E_EV[k - CH_EXC0]
                e -= de
                score[S_N_EXCITATION] += 1.0
                score[S_E_EXCITATION] += de
                if record_dep and not _deposit(deposits, counts, x, y, z, de, DEP_EXCITATION):
                    return DEPOSIT_BUFFER_FULL
            else:
                b = xs_threshold[k]
                if ion_w_table is None:
                    w_sec = sample_ionization_w_eV(e, b, ORBITAL_U_EV[k], ORBITAL_N[k], state)
                else:
                    if k < 4:
                        w_sec = sample_dielectric_w_eV(e, b, k, ion_w_table, xs_grid, state)
                    else:
                        w_sec = sample_ionization_w_eV(e, b, ORBITAL_U_EV[k], ORBITAL_N[k], state)
                e_new = e - b - w_sec
                score[S_N_IONIZATION] += 1.0
                score[S_E_BINDING] += b
                if record_ion:
                    m = counts[C_ION]
                    if m >= ion_xyz_nm.shape[0]:
                        return ION_BUFFER_FULL
                    ion_xyz_nm[m, 0] = x
                    ion_xyz_nm[m, 1] = y
                    ion_xyz_nm[m, 2] = z
                    counts[C_ION] = m + 1
                if record_dep and not _deposit(deposits, counts, x, y, z, b, DEP_BINDING):
                    return DEPOSIT_BUFFER_FULL
                # secondary direction, primary direction from momentum conservation
                ct = secondary_cos_theta(w_sec, e, state)
                sx, sy, sz = rotate_direction(ux, uy, uz, ct, _TWO_PI * rng_uniform(state))
                p0 = math.sqrt(e * (e + _TWO_MC2))
                ps = math.sqrt(w_sec * (w_sec + _TWO_MC2))
                px = p0 * ux - ps * sx
                py = p0 * uy - ps * sy
                pz = p0 * uz - ps * sz
                pn = math.sqrt(px * px + py * py + pz * pz)
                if pn > 1e-12 * p0:
                    ux = px / pn
                    uy = py / pn
                    uz = pz / pn
                if w_sec >= cutoff_eV and w_sec > _MIN_INELASTIC_EV:
                    if n_stack >= stack.shape[0]:
                        return STACK_FULL
                    set_particle(stack[n_stack], x, y, z, sx, sy, sz, w_sec, 1.0, ELECTRON, 0.0)
                    n_stack += 1
                    if n_stack > counts[C_STACK_MAX]:
                        counts[C_STACK_MAX] = n_stack
                else:
                    score[S_E_SUBCUTOFF] += w_sec
                    if record_dep and not _deposit(deposits, counts, x, y, z, w_sec, DEP_SUBCUTOFF):
                        return DEPOSIT_BUFFER_FULL
                e = e_new
            if e < cutoff_eV or e <= _MIN_INELASTIC_EV:
                score[S_E_SUBCUTOFF] += e
                if record_dep and not _deposit(deposits, counts, x, y, z, e, DEP_SUBCUTOFF):
                    return DEPOSIT_BUFFER_FULL
                alive = False
        # ------------------------------------------------------------ next electron
        if n_stack == 0:
            return OK
        n_stack -= 1
        x = stack[n_stack, P_X]
        y = stack[n_stack, P_Y]
        z = stack[n_stack, P_Z]
        ux = stack[n_stack, P_UX]
        uy = stack[n_stack, P_UY]
        uz = stack[n_stack, P_UZ]
        e = stack[n_stack, P_E]
        is_primary = False


@nb.njit(cache=True)
def run_electron_batch_nb(seed, stream, first_history, n_histories, energy_eV, xs, geometry, out_score,
                          ion_w_table=None):
    """Run histories ``first .. first+n−1`` of mono-energetic electrons from the origin along +z.

    No positions are recorded (counting only); the stack and gold bank grow by rerunning a
    history when full.

    Parameters
    ----------
    seed, stream : uint64
        Task seed and sub-stream key (:data:`ELECTRON_STREAM`).
    first_history, n_histories : int
        Global index of the first history and the number of histories.
    energy_eV : float
        Primary energy  [eV].
    xs : WaterKernelTables
        Cross sections and cut-off.
    geometry : SphereWorld
        :func:`make_geometry` output.
    out_score : float64[n_histories, N_SCORE]
        Output: per-history scores.
    ion_w_table : ndarray or None
        W table of ``model="dielectric"`` tables (None: RBEB sampling).

    Returns
    -------
    int
        Deepest stack use over the batch.
    """
    state = np.zeros(2, dtype=np.uint64)
    stack = np.empty((1024, PARTICLE_COLUMNS))
    gold = np.empty((16, PARTICLE_COLUMNS))
    no_ion = np.empty((0, 3))
    no_dep = np.empty((0, DEPOSIT_COLS))
    counts = np.zeros(N_COUNTS, dtype=np.int64)
    p = np.zeros(PARTICLE_COLUMNS)
    p[P_UZ] = 1.0
    p[P_E] = energy_eV
    p[P_REGION] = REGION_SHELL
    deepest = 0
    for h in range(n_histories):
        while True:
            rng_seed(state, seed, first_history + h, stream)
            for k in range(N_SCORE):
                out_score[h, k] = 0.0
            counts[:] = 0
            code = transport_electron(p, state, xs, geometry, stack, no_ion, gold, no_dep, counts, out_score[h],
                                      ion_w_table)
            if code == OK:
                break
            if code == STACK_FULL:
                stack = np.empty((2 * stack.shape[0], PARTICLE_COLUMNS))
            else:  # GOLD_BANK_FULL (the other buffers are off)
                gold = np.empty((2 * gold.shape[0], PARTICLE_COLUMNS))
        if counts[C_STACK_MAX] > deepest:
            deepest = counts[C_STACK_MAX]
    return deepest


# =========================================================================== Python API
@dataclasses.dataclass
class ElectronHistory:
    """Result of one electron history (:func:`run_electron_history`).

    Attributes
    ----------
    ionizations_nm : ndarray, shape (n_ion, 3)
        Ionization positions  [nm].
    deposits : ndarray, shape (n_dep, 5)
        Local deposits (x, y, z [nm], E [eV], kind) if requested, else empty.
    gold_bank : ndarray, shape (n_gold, PARTICLE_COLUMNS)
        Electrons that reached the gold surface (particle records).
    score : dict
        The :data:`SCORE_NAMES` scores of the history.
    max_stack : int
        Deepest stack use.
    """

    ionizations_nm: np.ndarray
    deposits: np.ndarray
    gold_bank: np.ndarray
    score: dict
    max_stack: int


def _resolve_tables(tables, model):
    if tables is None:
        return water_tables() if model is None else water_tables(model=model)
    if model is not None and model != tables.model:
        raise ValueError(f"model={model!r} does not match tables.model={tables.model!r}")
    return tables


def _check_energy(energy_eV, cutoff_eV, tables):
    if not (math.isfinite(energy_eV) and energy_eV > 0.0):
        raise ValueError(f"energy_eV must be finite and > 0, got {energy_eV!r}")
    if energy_eV > tables.e_max_eV:
        raise ValueError(f"energy_eV must be ≤ the table limit {tables.e_max_eV:g} eV, got {energy_eV!r}")
    if not (tables.e_min_eV <= cutoff_eV < 1e4):
        raise ValueError(f"cutoff_eV must lie in [{tables.e_min_eV:g}, 1e4) eV, got {cutoff_eV!r}")


def _unit(direction):
    d = np.asarray(direction, dtype=float)
    n = float(np.linalg.norm(d)) if d.shape == (3,) else 0.0
    if not (n > 0.0 and math.isfinite(n)):
        raise ValueError(f"direction must be a non-zero 3-vector, got {direction!r}")
    return d / n


def run_electron_history(seed, history, energy_eV, position_nm=(0.0, 0.0, 0.0), direction=(0.0, 0.0, 1.0),
                         cutoff_eV=10.0, geometry=None, tables: WaterTables | None = None,
                         record_deposits=False, ion_capacity=4096, stream=ELECTRON_STREAM,
                         model=None) -> ElectronHistory:
    """Transport one electron history and return its ionizations (grow-and-rerun on full buffers).

    Parameters
    ----------
    seed, history : int
        Task seed and global history index; the stream is ``(seed, history, stream)``.
    energy_eV : float
        Initial kinetic energy  [eV].
    position_nm : sequence of 3 float
        Start point  [nm].
    direction : sequence of 3 float
        Start direction (normalised here).
    cutoff_eV : float
        Tracking cut-off  [eV].
    geometry : SphereWorld or None
        :func:`make_geometry` output; None = infinite water.
    tables : WaterTables or None
        Cross sections; None = the cached tables of ``model``.
    record_deposits : bool
        Also return every local energy deposit.
    ion_capacity : int
        Initial size of the ionization buffer (doubled as needed).
    stream : uint64
        Sub-stream key.
    model : {None, "beb", "dielectric"}
        Ionization model when ``tables`` is None (None = "beb", the default tables); it
        must match ``tables.model`` if both are given.

    Returns
    -------
    ElectronHistory
    """
    tables = _resolve_tables(tables, model)
    _check_energy(energy_eV, cutoff_eV, tables)
    geometry = make_geometry() if geometry is None else geometry
    p = np.asarray(position_nm, dtype=float)
    u = _unit(direction)
    ion = np.empty((max(int(ion_capacity), 1), 3))
    dep = np.empty((1024 if record_deposits else 0, DEPOSIT_COLS))
    gold = np.empty((16, PARTICLE_COLUMNS))
    stack = np.empty((256, PARTICLE_COLUMNS))
    state = np.zeros(2, dtype=np.uint64)
    counts = np.zeros(N_COUNTS, dtype=np.int64)
    score = np.zeros(N_SCORE)
    rec = np.zeros(PARTICLE_COLUMNS)
    rec[[P_X, P_Y, P_Z]] = p
    rec[[P_UX, P_UY, P_UZ]] = u
    rec[P_E] = float(energy_eV)
    rec[P_REGION] = REGION_SHELL
    xs = water_kernel_tables(tables, cutoff_eV)
    while True:
        rng_seed(state, np.uint64(seed), np.uint64(history), np.uint64(stream))
        counts[:] = 0
        score[:] = 0.0
        code = transport_electron(rec, state, xs, geometry, stack, ion, gold, dep, counts, score,
                                  tables.ion_w_table)
        if code == OK:
            break
        if code == ION_BUFFER_FULL:
            ion = np.empty((2 * ion.shape[0], 3))
        elif code == STACK_FULL:
            stack = np.empty((2 * stack.shape[0], PARTICLE_COLUMNS))
        elif code == GOLD_BANK_FULL:
            gold = np.empty((2 * gold.shape[0], PARTICLE_COLUMNS))
        elif code == DEPOSIT_BUFFER_FULL:
            dep = np.empty((2 * dep.shape[0], DEPOSIT_COLS))
        else:  # pragma: no cover - defensive
            raise RuntimeError(f"transport_electron returned unknown code {code}")
    return ElectronHistory(
        ionizations_nm=ion[: counts[C_ION]].copy(),
        deposits=dep[: counts[C_DEPOSIT]].copy(),
        gold_bank=gold[: counts[C_GOLD]].copy(),
        score=dict(zip(SCORE_NAMES, score.tolist())),
        max_stack=int(counts[C_STACK_MAX]),
    )


def run_electron_batch(seed, first_history, n_histories, energy_eV, cutoff_eV=10.0, geometry=None,
                       tables: WaterTables | None = None, stream=ELECTRON_STREAM, model=None) -> np.ndarray:
    """Per-history scores of ``n_histories`` electrons started at the origin along +z.

    Parameters
    ----------
    seed, first_history, n_histories : int
        Task seed, first global history index, number of histories.
    energy_eV, cutoff_eV : float
        Primary energy and cut-off  [eV].
    geometry : SphereWorld or None
        :func:`make_geometry` output; None = infinite water.
    tables : WaterTables or None
        Cross sections (None = the cached tables of ``model``).
    stream : uint64
        Sub-stream key.
    model : {None, "beb", "dielectric"}
        Ionization model when ``tables`` is None (None = "beb"); must match
        ``tables.model`` if both are given.

    Returns
    -------
    ndarray, shape (n_histories, N_SCORE)
        Columns as :data:`SCORE_NAMES`.
    """
    tables = _resolve_tables(tables, model)
    _check_energy(energy_eV, cutoff_eV, tables)
    if n_histories < 0:
        raise ValueError(f"n_histories must be ≥ 0, got {n_histories}")
    geometry = make_geometry() if geometry is None else geometry
    out = np.zeros((int(n_histories), N_SCORE))
    run_electron_batch_nb(np.uint64(seed), np.uint64(stream), int(first_history), int(n_histories),
                          float(energy_eV), water_kernel_tables(tables, cutoff_eV), geometry, out,
                          tables.ion_w_table)
    return out
