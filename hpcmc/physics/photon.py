"""kV photon interaction kernels (numba) and the photon history kernel of any world.

Units: energies in eV, lengths in nm, μ in 1/nm, directions unit vectors. Tables:
:class:`hpcmc.physics.photon_data.PhotonTables`. Random numbers: hpcmc's per-history
streams (:mod:`hpcmc.runtime.rng`); every kernel takes the generator state ``uint64[2]``.

Models (validity: 1 keV ≤ E ≤ 800 keV, the table range)
-------------------------------------------------------
* Free path: ``s = −ln ξ / μ_tot`` (exponential attenuation); across boundaries the optical
  depth ``τ = −ln ξ`` is spent region by region (``τ −= μ_r d_r``).
* Interaction type: ``P(ch) = μ_ch/(μ_pe + μ_incoh + μ_coh)`` at the photon energy.
* Photoelectric (photo-ionisation): absorbed; shell (Z, s) chosen with the tabulated
  probabilities (Kissel partial fractions × ``CS_Photo``); a photoelectron of kinetic energy
  ``T = E − B_s`` is emitted with the Sauter (1931) K-shell angular distribution (used for
  every shell, as PENELOPE does; F. Salvat, PENELOPE-2018 manual, OECD/NEA 2019, ch. 2) and the
  vacancy (Z, s) is banked with binding energy ``B_s`` = ``EdgeEnergy`` for the relaxation
  cascade — for every element (in water: O K, O L1–L3, H K), not only gold.
* Incoherent (Compton): Klein & Nishina (1929) cross section times the incoherent scattering
  function S(x, Z)/Z (Waller–Hartree; Hubbell et al., J. Phys. Chem. Ref. Data 4 (1975) 471);
  KN sampled with Kahn's mixture method (H. Kahn, Applications of Monte Carlo, RAND
  RM-1237-AEC, 1956; the method of the Los Alamos sampler compilations of Everett & Cashwell
  and of MCNP below 1.5 MeV; derivation in :func:`kn_ratio`), then rejection with
  ``S_m(x)/Z_m``, ``x = sin(θ/2)/λ``. Scattered photon ``E' = E/[1 + κ(1 − cos θ)]``,
  ``κ = E/m_ec²``. **Binding**: the recoil electron gets ``T = E − E'`` exactly; no shell is
  ionised, no vacancy is made, no Doppler broadening — binding enters only through S, which
  suppresses small-angle (small momentum transfer) scattering. Electron direction from
  momentum conservation, ``p_e = E u − E' u'``.
* Coherent (Rayleigh): Thomson ``(1 + cos²θ)/2`` times the form factor ``F²_m(x)``
  (independent-atom approximation, no anomalous scattering factors); ``x²`` sampled from
  ``F²_m`` by inverting its running integral, accepted with ``(1 + cos²θ)/2`` (the scheme of
  PENELOPE-2018, ch. 2); energy unchanged. The *frequency* comes from ``CS_Rayl``, the *shape*
  from ``FF_Rayl``; xraylib's two differ (∫ Thomson·F² dΩ is 5 % below ``CS_Rayl`` for gold at
  50 keV, 0.3 % for water), as in every code that mixes tabulated σ with form factors.
* Photons whose energy falls below the table minimum (1 keV by default) are absorbed on the
  spot (``OUT_LOCAL_EV``); with primaries ≥ 1.01 keV this never happens through Compton or
  Rayleigh, it is there for fluorescence photons a relaxation module may inject.

Banks (caller-provided)
-----------------------
* electrons ``float64[:, PARTICLE_COLUMNS]``: particle records (:mod:`hpcmc.physics.particles`;
  positions in nm, energies in eV), species electron, weight 1, source 0;
* vacancies ``int64[:, 4]``: rows ``(Z, shell, electron_row, material)`` — ``shell`` is
  xraylib's code (0 K, 1–3 L1–L3, 4–8 M1–M5, 9– N…), ``electron_row`` the photoelectron's row in
  the electron bank (its position is the vacancy's), ``material`` the table row;
* ``counts int64[2]``: ``(n_electrons, n_vacancies)`` in use; kernels append.
A full bank stops the history with ``STATUS_ELECTRON_BANK_FULL`` / ``STATUS_VACANCY_BANK_FULL``.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

from hpcmc.physics import status as stc
from hpcmc.physics.banks import phase_of, set_particle
from hpcmc.physics.kinematics import rotate_direction
from hpcmc.physics.particles import ELECTRON, P_E, P_UX, P_UY, P_UZ, P_X, P_Y, P_Z, PARTICLE_COLUMNS, PHOTON
from hpcmc.physics.photon_data import (CH_COH, CH_INCOH, CH_PHOTO, CH_TOTAL, HC_EV_ANGSTROM, MEC2_EV,
                                       energy_index, mu_array_per_nm, mu_per_nm)
from hpcmc.physics.world import (REGION_OUTSIDE, world_density, world_distance,
                                 world_locate, world_material, world_tagged)
from hpcmc.runtime.rng import rng_seed, rng_uniform, stream_key

__all__ = [
    "STATUS_OK", "STATUS_ELECTRON_BANK_FULL", "STATUS_VACANCY_BANK_FULL", "STATUS_ENERGY_ABOVE_TABLE",
    "VB_Z", "VB_SHELL", "VB_ROW", "VB_MAT", "VB_COLUMNS",
    "OUT_ESCAPED_EV", "OUT_LOCAL_EV", "OUT_BINDING_EV", "OUT_N_PHOTO", "OUT_N_INCOH", "OUT_N_COH",
    "OUT_NP_INTERACTIONS", "N_OUT",
    "energy_index", "mu_per_nm", "mu_array_per_nm", "sample_distance_nm", "select_interaction",
    "select_photo_channel", "sauter_cos", "rotate_direction", "bank_electron",
    "photoabsorb", "kn_ratio", "sf_ratio_at", "incoherent_sample", "incoherent_scatter",
    "coherent_cos", "coherent_scatter", "photon_interact",
    "photon_history", "world_narrow_beam_uncollided",
    "check_spectrum_in_range",
    "sample_interaction_counts", "sample_photo_channel_counts", "sample_incoherent_array",
    "sample_coherent_array", "sample_sauter_array",
]

#: Return codes (values from :mod:`hpcmc.physics.status`, shared by all kernels).
STATUS_OK = stc.OK
STATUS_ELECTRON_BANK_FULL = stc.ELECTRON_BANK_FULL
STATUS_VACANCY_BANK_FULL = stc.VACANCY_BANK_FULL
STATUS_ENERGY_ABOVE_TABLE = stc.ENERGY_ABOVE_TABLE
VB_Z, VB_SHELL, VB_ROW, VB_MAT = range(4)
VB_COLUMNS = 4

#: Per-history outputs (``out`` array; kernels add to it).
OUT_ESCAPED_EV, OUT_LOCAL_EV, OUT_BINDING_EV, OUT_N_PHOTO, OUT_N_INCOH, OUT_N_COH, OUT_NP_INTERACTIONS = range(7)
N_OUT = 7

_TWO_PI = 2.0 * math.pi
_INV_HC = 1.0 / HC_EV_ANGSTROM   # [1/(eV·Å)]
_INV_MEC2 = 1.0 / MEC2_EV        # [1/eV]


# -- sampling primitives -----------------------------------------------------------------

@nb.njit(cache=True, inline="always")
def sample_distance_nm(state, mu):
    """Free path ``s = −ln ξ / μ``  [nm], ξ uniform in (0, 1); μ  [1/nm]."""
    return -math.log(rng_uniform(state)) / mu


@nb.njit(cache=True)
def select_interaction(tables, mat, i, f, state):
    """Interaction type: ``CH_PHOTO``, ``CH_INCOH`` or ``CH_COH`` with probability μ_ch/Σμ.

    The three partial μ are interpolated (log–log) and summed, so the choice is exact for the
    interpolated partials whatever the (≤ 10⁻⁵) interpolation mismatch with ``CH_TOTAL``.
    """
    mpe = mu_per_nm(tables, mat, CH_PHOTO, i, f)
    minc = mu_per_nm(tables, mat, CH_INCOH, i, f)
    mcoh = mu_per_nm(tables, mat, CH_COH, i, f)
    r = rng_uniform(state) * (mpe + minc + mcoh)
    if r < mpe:
        return CH_PHOTO
    if r < mpe + minc:
        return CH_INCOH
    return CH_COH


@nb.njit(cache=True)
def select_photo_channel(tables, mat, i, f, state):
    """Photo-ionisation channel k (element, shell) from the cumulative table.

    ``C_k(E) = (1 − f) C_k(E_i) + f C_k(E_{i+1})`` (linear in ln E); k = first with ξ < C_k.
    """
    if f < 0.0:
        f = 0.0
    elif f > 1.0:
        f = 1.0
    u = rng_uniform(state)
    n = tables.pe_n[mat]
    cdf = tables.pe_cdf
    for k in range(n - 1):
        c = (1.0 - f) * cdf[mat, k, i] + f * cdf[mat, k, i + 1]
        if u < c:
            return k
    return n - 1


@nb.njit(cache=True)
def sauter_cos(t_eV, state):
    """cos θ_e of a photoelectron of kinetic energy ``t_eV``  [eV] (Sauter 1931).

    With ``γ = 1 + T/m_ec²``, ``β = √(T(T + 2m_ec²))/(T + m_ec²)``, ``A = 1/β − 1`` and
    ``ν = 1 − cos θ_e ∈ [0, 2]``:

        p(ν) ∝ (2 − ν) [1/(A + ν) + ½βγ(γ − 1)(γ − 2)] · ν/(A + ν)³.

    ``ν`` is drawn from ``π(ν) ∝ ν/(A + ν)³`` by inversion of its CDF
    ``ν²(A + 2)²/[4(A + ν)²] = ξ`` → ``ν = 2A√ξ/(A + 2 − 2√ξ)``, and accepted with
    ``g(ν)/g(0)``, ``g(ν) = (2 − ν)[1/(A + ν) + ½βγ(γ − 1)(γ − 2)]`` (decreasing in ν).
    Below 1 eV the direction is isotropic. Sauter, Ann. Phys. 403 (1931) 217; sampling scheme
    as in PENELOPE-2018, ch. 2 (derived here independently).
    """
    if t_eV < 1.0:
        return 2.0 * rng_uniform(state) - 1.0
    gamma = 1.0 + t_eV * _INV_MEC2
    beta = math.sqrt(t_eV * (t_eV + 2.0 * MEC2_EV)) / (t_eV + MEC2_EV)
    a = 1.0 / beta - 1.0
    g0 = 0.5 * beta * gamma * (gamma - 1.0) * (gamma - 2.0)
    gmax = 2.0 * (1.0 / a + g0)
    while True:
        sq = math.sqrt(rng_uniform(state))
        nu = 2.0 * a * sq / (a + 2.0 - 2.0 * sq)
        g = (2.0 - nu) * (1.0 / (a + nu) + g0)
        if rng_uniform(state) * gmax <= g:
            return 1.0 - nu


@nb.njit(cache=True, inline="always")
def bank_electron(ebank, counts, x, y, z, ux, uy, uz, e_eV):
    """Append an electron to the bank; its row, or −1 if the bank is full."""
    row = counts[0]
    if row >= ebank.shape[0]:
        return -1
    set_particle(ebank[row], x, y, z, ux, uy, uz, e_eV, 1.0, ELECTRON, 0.0)
    counts[0] = row + 1
    return row


# -- interactions --------------------------------------------------------------------------

@nb.njit(cache=True)
def photoabsorb(tables, mat, i, f, p, state, ebank, vbank, counts, out):
    """Photoelectric absorption of the photon ``p`` where it is: bank the photoelectron and the
    vacancy. ``p`` is its phase space ``(x, y, z, ux, uy, uz, E)``: a tuple or the first seven
    entries of a particle record (read only).

    Photoelectron ``T = E − B_s`` (B_s the shell's edge energy; the table only opens a shell
    at E ≥ B_s, T is clipped at 0 for safety), direction Sauter about the photon direction,
    azimuth uniform. Adds ``B_s`` to ``out[OUT_BINDING_EV]``.

    Returns
    -------
    int
        ``STATUS_OK`` or a bank-full status.
    """
    e_eV = p[P_E]
    k = select_photo_channel(tables, mat, i, f, state)
    b = tables.pe_binding_eV[mat, k]
    t = e_eV - b
    if t < 0.0:
        t = 0.0
        b = e_eV
    cos_t = sauter_cos(t, state)
    phi = _TWO_PI * rng_uniform(state)
    vx, vy, vz = rotate_direction(p[P_UX], p[P_UY], p[P_UZ], cos_t, phi)
    row = bank_electron(ebank, counts, p[P_X], p[P_Y], p[P_Z], vx, vy, vz, t)
    if row < 0:
        return STATUS_ELECTRON_BANK_FULL
    nv = counts[1]
    if nv >= vbank.shape[0]:
        return STATUS_VACANCY_BANK_FULL
    vbank[nv, 0] = tables.pe_z[mat, k]
    vbank[nv, 1] = tables.pe_shell[mat, k]
    vbank[nv, 2] = row
    vbank[nv, 3] = mat
    counts[1] = nv + 1
    out[OUT_BINDING_EV] += b
    return STATUS_OK


@nb.njit(cache=True)
def kn_ratio(kappa, state):
    """Sample ``r = E/E' ∈ [1, 1 + 2κ]`` from the Klein–Nishina distribution (Kahn's method).

    KN in r (``cos θ = 1 − (r − 1)/κ``): ``dσ/dr ∝ r⁻²[r + 1/r − 1 + cos²θ]``. Kahn's mixture:
    with probability ``(1 + 2κ)/(9 + 2κ)`` take ``r = 1 + 2κξ₂`` (uniform) and accept if
    ``ξ₃ ≤ 4(1/r − 1/r²)``; otherwise take ``r = (1 + 2κ)/(1 + 2κξ₂)`` (density ∝ r⁻²) and
    accept if ``ξ₃ ≤ ½(cos²θ + 1/r)``. The two accepted branches add up to
    ``∝ r⁻²[(r − 1) + cos²θ + 1/r]``, i.e. exactly KN.
    """
    two_k = 2.0 * kappa
    p1 = (1.0 + two_k) / (9.0 + two_k)
    while True:
        u1 = rng_uniform(state)
        u2 = rng_uniform(state)
        u3 = rng_uniform(state)
        if u1 <= p1:
            r = 1.0 + two_k * u2
            if u3 <= 4.0 * (1.0 / r - 1.0 / (r * r)):
                return r
        else:
            r = (1.0 + two_k) / (1.0 + two_k * u2)
            c = 1.0 - (r - 1.0) / kappa
            if u3 <= 0.5 * (c * c + 1.0 / r):
                return r


@nb.njit(cache=True)
def sf_ratio_at(tables, mat, x):
    """``S_m(x)/Z_m`` at momentum transfer ``x``  [1/Å]: linear in ln x on the table,
    ``∝ x²`` below it (the small-x limit of S), 1 above it."""
    if x <= 0.0:
        return 0.0
    row = tables.sf_ratio[mat]
    p = (math.log(x) - tables.sf_log_x_min) * tables.sf_inv_step
    if p < 0.0:
        x0 = math.exp(tables.sf_log_x_min)
        return row[0] * (x / x0) ** 2
    j = int(p)
    if j >= row.size - 1:
        return row[row.size - 1]
    g = p - j
    return (1.0 - g) * row[j] + g * row[j + 1]


@nb.njit(cache=True)
def incoherent_sample(tables, mat, e_eV, state):
    """Scattered energy  [eV] and cos θ of an incoherent scattering of a photon of ``e_eV``.

    Draw ``r`` from KN (:func:`kn_ratio`), ``cos θ = 1 − (r − 1)/κ``, and accept with
    ``S_m(x)/Z_m``, ``x = (E/hc) sin(θ/2) = (E/hc)√((1 − cos θ)/2)``; ``E' = E/r``.
    Samples ``dσ/dΩ = dσ_KN/dΩ · S_m(x)/Z_m``.
    """
    kappa = e_eV * _INV_MEC2
    xfac = e_eV * _INV_HC
    while True:
        r = kn_ratio(kappa, state)
        c = 1.0 - (r - 1.0) / kappa
        if c < -1.0:
            c = -1.0
        elif c > 1.0:
            c = 1.0
        x = xfac * math.sqrt(0.5 * (1.0 - c))
        if rng_uniform(state) <= sf_ratio_at(tables, mat, x):
            return e_eV / r, c


@nb.njit(cache=True)
def incoherent_scatter(tables, mat, p, state, ebank, counts):
    """Incoherent scattering of the photon ``p`` (phase space as in :func:`photoabsorb`): new
    photon (E', u') and a banked recoil electron.

    Electron: ``T = E − E'``, direction ``(E u − E' u')/|E u − E' u'|`` (momentum
    conservation with a free electron at rest); no binding correction (see module docstring).

    Returns
    -------
    e_out, vx, vy, vz : float
        Scattered photon energy  [eV] and direction.
    status : int
    """
    e_eV = p[P_E]
    x = p[P_X]
    y = p[P_Y]
    z = p[P_Z]
    ux = p[P_UX]
    uy = p[P_UY]
    uz = p[P_UZ]
    e1, c = incoherent_sample(tables, mat, e_eV, state)
    phi = _TWO_PI * rng_uniform(state)
    vx, vy, vz = rotate_direction(ux, uy, uz, c, phi)
    t = e_eV - e1
    px = e_eV * ux - e1 * vx
    py = e_eV * uy - e1 * vy
    pz = e_eV * uz - e1 * vz
    pn = math.sqrt(px * px + py * py + pz * pz)
    if pn > 0.0:
        px /= pn
        py /= pn
        pz /= pn
    else:
        px, py, pz = ux, uy, uz
    row = bank_electron(ebank, counts, x, y, z, px, py, pz, t)
    if row < 0:
        return e1, vx, vy, vz, STATUS_ELECTRON_BANK_FULL
    return e1, vx, vy, vz, STATUS_OK


@nb.njit(cache=True)
def coherent_cos(tables, mat, e_eV, state):
    """cos θ of a coherent (Rayleigh) scattering of a photon of ``e_eV``  [eV].

    ``dσ/d(x²) ∝ F²_m(x) (1 + cos²θ)/2`` with ``x² = (E/hc)² (1 − cos θ)/2`` ∈ [0, x²_max],
    ``x²_max = (E/hc)²``. Draw ``x²`` from ``F²_m`` restricted to ``[0, x²_max]`` by inverting
    ``Π(x²) = ∫₀^{x²} F²_m`` (F² linear in x² inside a table bin → a quadratic per bin), set
    ``cos θ = 1 − 2x²/x²_max`` and accept with ``(1 + cos²θ)/2`` (efficiency ≥ ½).
    """
    x2 = tables.ff_x2
    f2 = tables.ff_f2[mat]
    cum = tables.ff_cum[mat]
    q_max = (e_eV * _INV_HC) ** 2
    j = np.searchsorted(x2, q_max) - 1
    if j < 0:
        j = 0
    elif j > x2.size - 2:
        j = x2.size - 2
    s = (f2[j + 1] - f2[j]) / (x2[j + 1] - x2[j])
    d = q_max - x2[j]
    pi_max = cum[j] + d * (f2[j] + 0.5 * s * d)
    while True:
        target = rng_uniform(state) * pi_max
        k = np.searchsorted(cum, target) - 1
        if k < 0:
            k = 0
        elif k > x2.size - 2:
            k = x2.size - 2
        a = f2[k]
        s = (f2[k + 1] - f2[k]) / (x2[k + 1] - x2[k])
        delta = target - cum[k]
        disc = a * a + 2.0 * s * delta
        if disc < 0.0:
            disc = 0.0
        den = a + math.sqrt(disc)
        q = x2[k] + (2.0 * delta / den if den > 0.0 else 0.0)
        if q > q_max:
            q = q_max
        c = 1.0 - 2.0 * q / q_max
        if rng_uniform(state) <= 0.5 * (1.0 + c * c):
            return c


@nb.njit(cache=True)
def coherent_scatter(tables, mat, e_eV, ux, uy, uz, state):
    """Coherent scattering: new direction (energy unchanged)."""
    c = coherent_cos(tables, mat, e_eV, state)
    phi = _TWO_PI * rng_uniform(state)
    return rotate_direction(ux, uy, uz, c, phi)


@nb.njit(cache=True)
def photon_interact(tables, mat, i, f, p, state, ebank, vbank, counts, out):
    """One interaction of the photon ``p`` (phase space as in :func:`photoabsorb`) in material
    ``mat`` where it is: choose the type and do it.

    Geometry-free: any history kernel (gnp, voxels) calls this at an interaction point.

    Returns
    -------
    alive : bool
        False if the photon was absorbed.
    e_out, vx, vy, vz : float
        Photon energy  [eV] and direction after the interaction.
    status : int
    """
    e_eV = p[P_E]
    ux = p[P_UX]
    uy = p[P_UY]
    uz = p[P_UZ]
    ch = select_interaction(tables, mat, i, f, state)
    if ch == CH_PHOTO:
        out[OUT_N_PHOTO] += 1.0
        st = photoabsorb(tables, mat, i, f, p, state, ebank, vbank, counts, out)
        return False, 0.0, ux, uy, uz, st
    if ch == CH_INCOH:
        out[OUT_N_INCOH] += 1.0
        e1, vx, vy, vz, st = incoherent_scatter(tables, mat, p, state, ebank, counts)
        return True, e1, vx, vy, vz, st
    out[OUT_N_COH] += 1.0
    vx, vy, vz = coherent_scatter(tables, mat, e_eV, ux, uy, uz, state)
    return True, e_eV, vx, vy, vz, STATUS_OK


# -- any world ------------------------------------------------------------------------------

@nb.njit(cache=True)
def photon_history(tables, world, p, state, ebank, vbank, counts, out):
    """Transport one photon through any world (:mod:`hpcmc.physics.world`) until it escapes or
    is absorbed.

    ``p`` is the photon's phase space ``(x, y, z, ux, uy, uz, E [eV])`` as a tuple
    (:func:`hpcmc.physics.banks.phase_of` of a particle record): scalars, so constants of the
    caller (the source direction) fold into the first flight. Surface tracking: sample ``τ = −ln ξ``; in
    region r of material m and relative density ρ_r, ``μ_r = ρ_r μ_m(E)``; move ``min(τ/μ_r, d_boundary)``; at a boundary
    ``τ −= μ_r d`` and take the region behind it; else interact (:func:`photon_interact`) and
    draw a new τ. Electrons and vacancies are banked, not transported. Adds to ``out``:
    escaped energy, locally absorbed energy (photons below the table minimum), binding
    energies of vacancies, interaction counts, and in ``OUT_NP_INTERACTIONS`` the interactions
    in the world's tagged regions (``world_tagged``, e.g. the nanoparticle of the gnp world).

    Energy balance (exact up to rounding): ``E = out[OUT_ESCAPED_EV] + Σ banked electron
    energies + out[OUT_BINDING_EV] + out[OUT_LOCAL_EV]``.

    Returns
    -------
    int
        ``STATUS_OK`` or an error status (bank full, energy above the table).
    """
    x, y, z, ux, uy, uz, e_eV = p
    if e_eV > tables.e_max_eV:
        return STATUS_ENERGY_ABOVE_TABLE
    region = world_locate(world, x, y, z)
    if region == REGION_OUTSIDE:
        out[OUT_ESCAPED_EV] += e_eV
        return STATUS_OK
    if e_eV < tables.e_min_eV:
        out[OUT_LOCAL_EV] += e_eV
        return STATUS_OK
    i, f = energy_index(tables, math.log(e_eV))
    mat = world_material(world, region)
    rho = world_density(world, region)
    mu = rho * mu_per_nm(tables, mat, CH_TOTAL, i, f)
    tau = -math.log(rng_uniform(state))
    while True:
        d, nxt = world_distance(world, region, x, y, z, ux, uy, uz)
        s = tau / mu
        if s < d:
            x += s * ux
            y += s * uy
            z += s * uz
            if world_tagged(world, region):
                out[OUT_NP_INTERACTIONS] += 1.0
            alive, e_eV, ux, uy, uz, st = photon_interact(tables, mat, i, f, (x, y, z, ux, uy, uz, e_eV), state,
                                                          ebank, vbank, counts, out)
            if st != STATUS_OK or not alive:
                return st
            if e_eV < tables.e_min_eV:
                out[OUT_LOCAL_EV] += e_eV
                return STATUS_OK
            i, f = energy_index(tables, math.log(e_eV))
            mu = rho * mu_per_nm(tables, mat, CH_TOTAL, i, f)
            tau = -math.log(rng_uniform(state))
        else:
            x += d * ux
            y += d * uy
            z += d * uz
            tau -= mu * d
            if tau < 0.0:
                tau = 0.0
            region = nxt
            if region == REGION_OUTSIDE:
                out[OUT_ESCAPED_EV] += e_eV
                return STATUS_OK
            mat = world_material(world, region)
            rho = world_density(world, region)
            mu = rho * mu_per_nm(tables, mat, CH_TOTAL, i, f)


def check_spectrum_in_range(spectrum, photon_data) -> None:
    """Raise ``ValueError`` if ``spectrum`` can emit energies outside the photon tables' range.

    Bins of zero probability are ignored. Call it once, at the edge, before transport: inside
    the kernels an energy above the range is an error status and one below it is absorbed on
    the spot.
    """
    t = photon_data.tables
    live = spectrum.probability > 0
    lo = float(spectrum.lo_eV[live].min())
    hi = float(spectrum.hi_eV[live].max())
    if hi > t.e_max_eV:
        raise ValueError(f"spectrum ({spectrum.label}) reaches {hi:g} eV, above the photon tables' "
                         f"maximum {t.e_max_eV:g} eV")
    if lo < t.e_min_eV:
        raise ValueError(f"spectrum ({spectrum.label}) starts at {lo:g} eV, below the photon tables' "
                         f"minimum {t.e_min_eV:g} eV")


# -- validation harness: the kernels above, sampled in bulk ----------------------------------
# History h of seed s draws from rng_seed(state, s, h, stream), as in transport.

@nb.njit(cache=True)
def sample_interaction_counts(tables, mat, e_eV, n, seed, stream):
    """Counts of ``(photo, incoh, coh)`` from ``n`` calls of :func:`select_interaction` at ``e_eV``."""
    st = np.zeros(2, dtype=np.uint64)
    counts = np.zeros(3, dtype=np.int64)
    i, f = energy_index(tables, math.log(e_eV))
    for h in range(n):
        rng_seed(st, seed, h, stream)
        ch = select_interaction(tables, mat, i, f, st)
        counts[ch - 1] += 1
    return counts


@nb.njit(cache=True)
def sample_photo_channel_counts(tables, mat, e_eV, n, seed, stream):
    """Counts per photo-ionisation channel (table order) from ``n`` calls of :func:`select_photo_channel`."""
    st = np.zeros(2, dtype=np.uint64)
    counts = np.zeros(tables.pe_n[mat], dtype=np.int64)
    i, f = energy_index(tables, math.log(e_eV))
    for h in range(n):
        rng_seed(st, seed, h, stream)
        counts[select_photo_channel(tables, mat, i, f, st)] += 1
    return counts


@nb.njit(cache=True)
def sample_incoherent_array(tables, mat, e_eV, n, seed, stream):
    """``n`` draws of :func:`incoherent_sample`: scattered energies  [eV] and cos θ."""
    st = np.zeros(2, dtype=np.uint64)
    e_out = np.empty(n)
    cos_out = np.empty(n)
    for h in range(n):
        rng_seed(st, seed, h, stream)
        e_out[h], cos_out[h] = incoherent_sample(tables, mat, e_eV, st)
    return e_out, cos_out


@nb.njit(cache=True)
def sample_coherent_array(tables, mat, e_eV, n, seed, stream):
    """``n`` draws of :func:`coherent_cos` (cos θ)."""
    st = np.zeros(2, dtype=np.uint64)
    out = np.empty(n)
    for h in range(n):
        rng_seed(st, seed, h, stream)
        out[h] = coherent_cos(tables, mat, e_eV, st)
    return out


@nb.njit(cache=True)
def sample_sauter_array(t_eV, n, seed, stream):
    """``n`` draws of :func:`sauter_cos` (cos θ_e)."""
    st = np.zeros(2, dtype=np.uint64)
    out = np.empty(n)
    for h in range(n):
        rng_seed(st, seed, h, stream)
        out[h] = sauter_cos(t_eV, st)
    return out


@nb.njit(cache=True)
def world_narrow_beam_uncollided(tables, world, start, n, seed, stream):
    """Narrow-beam transmission through any world: ``n`` photons ``start`` (a particle record,
    :mod:`hpcmc.physics.particles`) are transported by :func:`photon_history`; returns how many leave the world
    without interacting (expected ``n·exp(−Σ μ_i t_i)`` along the ray)."""
    st = np.zeros(2, dtype=np.uint64)
    ebank = np.zeros((64, PARTICLE_COLUMNS))
    vbank = np.zeros((64, VB_COLUMNS), dtype=np.int64)
    counts = np.zeros(2, dtype=np.int64)
    out = np.zeros(N_OUT)
    n_unc = 0
    for h in range(n):
        rng_seed(st, seed, h, stream)
        counts[0] = 0
        counts[1] = 0
        for k in range(N_OUT):
            out[k] = 0.0
        photon_history(tables, world, phase_of(start), st, ebank, vbank, counts, out)
        if out[OUT_N_PHOTO] + out[OUT_N_INCOH] + out[OUT_N_COH] == 0.0 and out[OUT_ESCAPED_EV] > 0.0:
            n_unc += 1
    return n_unc
