"""One gnp history: photon → relaxation → electrons (water track structure, gold CH) → clusters.

A primary photon starts uniformly on the annulus ``b_lo ≤ ρ < b_hi`` of the source plane
``z = z_src`` (``ρ = √(b_lo² + ξ (b_hi² − b_lo²))``, φ = 2πξ), direction +z, energy from the
spectrum (stream ``"source"``). Then, within the history:

1. photons (the primary and fluorescence photons) are transported through the world
   (:func:`hpcmc.physics.photon.photon_history` in :class:`~hpcmc.apps.gnp.world.GnpWorld`, stream ``"transport"``); their electrons
   and vacancies are banked;
2. every vacancy cascades (:func:`hpcmc.physics.relaxation.relax_vacancy_z`, stream
   ``"relaxation"``): fluorescence photons go back to step 1, Auger/Coster–Kronig electrons to
   the electron list;
3. electrons in gold are transported by condensed history
   (:func:`hpcmc.physics.electron_gold.transport_in_gold`, stream ``"gold"``); those that
   leave continue in water; electrons in water are tracked event by event
   (:func:`hpcmc.physics.electron_water.transport_electron`, stream ``"electron_water"``)
   inside the tracking sphere, and stop at the gold surface (back to the gold step);
4. ionizations in water are recorded: each electron-impact ionization, and each electron set
   free in water by a photon interaction (photoabsorption or incoherent scattering) or by the
   non-radiative decay of a vacancy in a water molecule — one ionization at its emission
   point (Thomas et al. 2025, §2.3.1); no ionization is scored in gold;
5. at the end of the history the ionizations are clustered (AVC, stream ``"cluster"``) and the
   history scores, per shell i, ``F_k clusters / m_i`` [1/kg] and ``ionizations / m_i``
   [1/kg], with m_i the water mass of the shell.

Range rejection (exact, :mod:`hpcmc.physics.water_range`): an electron in water farther from
the scoring region than ``RANGE_MARGIN · R_CSDA(T)`` (plus two target radii) cannot put an
ionization where a cluster can be scored, so it is deposited locally.

Electrons born outside the tracking sphere are deposited locally, as in the paper.

Energy ledger per history (``ledger`` columns): incident, escaped photons, photon energy
absorbed locally (below the photon tables), relaxation local deposits, water-electron sinks
(binding, excitation, sub-cut-off, escaped from the tracking sphere), gold deposits, range-
rejected and untracked electrons. Their balance is exact up to rounding (tested).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from hpcmc.apps.gnp.clustering import avc_cluster_shells
from hpcmc.apps.gnp.world import GnpWorld  # noqa: F401  (registers the world protocol of GnpWorld)
from hpcmc.physics import electron_water as ew
from hpcmc.physics import photon as ph
from hpcmc.physics import status as stc
from hpcmc.physics.banks import phase_of, push_particle
from hpcmc.physics.electron_gold import ESCAPED, Sphere, transport_in_gold
from hpcmc.physics.particles import (ELECTRON, P_E, P_REGION, P_SOURCE, P_UX, P_UY, P_UZ, P_WEIGHT, P_X,
                                     P_Y, P_Z, PHOTON)
from hpcmc.physics.relaxation import relax_vacancy_z
from hpcmc.physics.spectrum import sample_spectrum_eV
from hpcmc.physics.sphere_world import REGION_SHELL
from hpcmc.runtime.rng import rng_seed, rng_uniform
from hpcmc.runtime.tally import fx_add

__all__ = ["GnpPhysics", "GnpBuffers", "GnpScoring", "GnpTallies", "gnp_chunk", "OK", "ION_FULL", "PHOTON_FULL", "ELECTRON_FULL", "FAILED", "LEDGER_NAMES", "N_LEDGER"]

#: Return codes (values from :mod:`hpcmc.physics.status`, shared by all kernels).
OK = stc.OK
ION_FULL = stc.ION_BUFFER_FULL
PHOTON_FULL = stc.PHOTON_BANK_FULL
ELECTRON_FULL = stc.ELECTRON_BANK_FULL
STACK_FULL = stc.STACK_FULL
FAILED = stc.FAILED

(L_INCIDENT, L_ESCAPED_PHOTON, L_LOCAL_PHOTON, L_RELAX_LOCAL, L_WATER_SINK, L_GOLD_DEPOSIT, L_REJECTED,
 L_MAX_IMBALANCE, L_NP_HISTORIES) = range(9)
N_LEDGER = 9
LEDGER_NAMES = ("incident_eV", "escaped_photon_eV", "local_photon_eV", "relaxation_local_eV", "water_electron_sink_eV",
                "gold_deposit_eV", "rejected_electron_eV", "max_relative_imbalance", "histories_with_np_interaction")

_TWO_PI = 2.0 * math.pi
#: Electron hand-offs (between banks, water and gold) allowed per history before it is declared
#: failed: a guard against a geometry bug turning into a hang.
MAX_HANDOFFS = 1_000_000


class GnpPhysics(NamedTuple):
    """Tables and settings of the gnp history kernel.

    Attributes
    ----------
    photon : PhotonTables
        Photon tables (water, gold).
    world : GnpWorld
        The gnp world (NP and water cylinder)  [nm].
    relax : StackedRelaxationKernelTables
        Relaxation tables of Au, O, H with the emission threshold (the electron cut-off).
    gold : GoldKernelTables
        Condensed-history tables of electrons in gold.
    water : WaterKernelTables
        Water cross sections and the tracking cut-off.
    water_w_table : ndarray or None
        W-sampling table of the dielectric model (None: RBEB).
    water_geom : SphereWorld
        The world of the water electron kernel: the tracking sphere around the NP (gold
        sphere; radius 0 for a water NP).
    range_e, range_r : float64[n]
        Energies  [eV] and margin-scaled CSDA ranges  [nm] for range rejection.
    reject_r_nm : float
        Radius beyond which an electron must reach back to score  [nm].
    np_radius_nm : float
        NP radius  [nm].
    np_is_gold : bool
        Whether the NP is gold (else water).
    """

    photon: object
    world: object
    relax: object
    gold: object
    water: object
    water_w_table: object
    water_geom: object
    range_e: np.ndarray
    range_r: np.ndarray
    reject_r_nm: float
    np_radius_nm: float
    np_is_gold: bool


class GnpBuffers(NamedTuple):
    """Work buffers of one history (grown by the caller when a kernel reports them full).

    Attributes
    ----------
    photons, ebank, work, wstack, wgold : float64[:, PARTICLE_COLUMNS]
        Particle banks: photons to transport, electrons banked by photons and relaxation,
        electrons to transport, the water kernel's secondary stack and its gold hand-offs.
    vbank : int64[:, 4]
        Vacancies banked by photoabsorption.
    ions : float64[:, 3]
        Ionization positions of the history  [nm].
    wdep : float64[:, 5]
        Local deposits of the water kernel (0 rows: off).
    vac_stack : int64[:]
        Pending vacancies of one cascade.
    """

    photons: np.ndarray
    ebank: np.ndarray
    vbank: np.ndarray
    work: np.ndarray
    ions: np.ndarray
    wstack: np.ndarray
    wgold: np.ndarray
    wdep: np.ndarray
    vac_stack: np.ndarray


class GnpScoring(NamedTuple):
    """Cluster scoring: AVC target radius  [nm], minimum cluster size, shell edges  [nm]."""

    target_radius_nm: float
    min_size: int
    shell_edges_nm: np.ndarray


class GnpTallies(NamedTuple):
    """Fixed-point accumulators (Σx, Σx²) of the cluster and ionization tallies per shell."""

    cd_sum: np.ndarray
    cd_sq: np.ndarray
    id_sum: np.ndarray
    id_sq: np.ndarray


@nb.njit(cache=True)
def _range_nm(energy_eV, range_e, range_r):
    """CSDA range by linear interpolation in the table  [nm] (energies above: last value)."""
    return np.interp(energy_eV, range_e, range_r)


@nb.njit(cache=True)
def _add_ion(ions, n_ion, x, y, z):
    if n_ion >= ions.shape[0]:
        return -1
    ions[n_ion, 0] = x
    ions[n_ion, 1] = y
    ions[n_ion, 2] = z
    return n_ion + 1


@nb.njit(cache=True)
def gnp_history(h, seed, keys, source, spectrum, phys, buf, states, ledger):
    """Transport one history; return ``(status, n_ionizations)`` with the ionizations in ``buf.ions``.

    ``keys`` holds the stream keys (source, transport, relaxation, gold, electron_water);
    ``source`` is the :class:`~hpcmc.physics.photon.AnnulusSource`, ``spectrum`` the
    :class:`~hpcmc.physics.spectrum.SpectrumTable`, ``phys`` the :class:`GnpPhysics`, ``buf``
    the :class:`GnpBuffers`; ``states`` is a (5, 2) uint64 work array.
    """
    b_lo_nm = source.b_lo_nm
    b_hi_nm = source.b_hi_nm
    ptables = phys.photon
    world = phys.world
    relax = phys.relax
    gold = phys.gold
    water_geom = phys.water_geom
    range_e = phys.range_e
    range_r = phys.range_r
    reject_r_nm = phys.reject_r_nm
    np_radius_nm = phys.np_radius_nm
    np_is_gold = phys.np_is_gold
    photons = buf.photons
    ebank = buf.ebank
    vbank = buf.vbank
    work = buf.work
    ions = buf.ions
    wstack = buf.wstack
    wgold = buf.wgold
    wdep = buf.wdep
    vac_stack = buf.vac_stack
    for s in range(5):
        rng_seed(states[s], seed, h, keys[s])
    ss, st, sr, sg, se = states[0], states[1], states[2], states[3], states[4]
    # ---- source
    rho = math.sqrt(b_lo_nm * b_lo_nm + rng_uniform(ss) * (b_hi_nm * b_hi_nm - b_lo_nm * b_lo_nm))
    phi = _TWO_PI * rng_uniform(ss)
    e0 = sample_spectrum_eV(ss, spectrum.lo_eV, spectrum.hi_eV, spectrum.alias_prob, spectrum.alias_index)
    n_ph = push_particle(photons, 0, rho * math.cos(phi), rho * math.sin(phi), source.z_src_nm, 0.0, 0.0, 1.0, e0,
                         1.0, PHOTON, 0.0)
    n_ion = 0
    n_work = 0
    led = np.zeros(N_LEDGER)
    led[L_INCIDENT] = e0
    pcounts = np.zeros(2, dtype=np.int64)
    out = np.zeros(ph.N_OUT)
    wcounts = np.zeros(ew.N_COUNTS, dtype=np.int64)
    wscore = np.zeros(ew.N_SCORE)
    np_r2 = np_radius_nm * np_radius_nm
    ncx = world.np_x_nm
    ncy = world.np_y_nm
    ncz = world.np_z_nm
    np_sphere = Sphere(ncx, ncy, ncz, np_radius_nm)
    touched_np = False
    handoffs = 0
    while n_ph > 0 or n_work > 0:
        # -------------------------------------------------------------- photons
        while n_ph > 0:
            n_ph -= 1
            pcounts[0] = 0
            pcounts[1] = 0
            for k in range(ph.N_OUT):
                out[k] = 0.0
            status = ph.photon_history(ptables, world, phase_of(photons[n_ph]), st, ebank, vbank, pcounts, out)
            if status != ph.STATUS_OK:
                return (ELECTRON_FULL if status == ph.STATUS_ELECTRON_BANK_FULL else FAILED), n_ion
            if out[ph.OUT_NP_INTERACTIONS] > 0.0:
                touched_np = True
            led[L_ESCAPED_PHOTON] += out[ph.OUT_ESCAPED_EV]
            led[L_LOCAL_PHOTON] += out[ph.OUT_LOCAL_EV]
            n_photon_electrons = pcounts[0]
            # every electron set free by a photon interaction in water is an ionization there
            for r in range(n_photon_electrons):
                x, y, z = ebank[r, P_X], ebank[r, P_Y], ebank[r, P_Z]
                dx = x - ncx
                dy = y - ncy
                dz = z - ncz
                if not (np_is_gold and dx * dx + dy * dy + dz * dz < np_r2):
                    n_ion = _add_ion(ions, n_ion, x, y, z)
                    if n_ion < 0:
                        return ION_FULL, 0
            # vacancies relax at the atom (the photoelectron's row holds the position)
            n_el = pcounts[0]
            for v in range(pcounts[1]):
                zz = vbank[v, ph.VB_Z]
                row = vbank[v, ph.VB_ROW]
                x, y, z = ebank[row, P_X], ebank[row, P_Y], ebank[row, P_Z]
                before = n_el
                rs, n_ph, n_el, local, _term = relax_vacancy_z(relax, zz, vbank[v, ph.VB_SHELL], x, y, z, sr, vac_stack,
                                                               photons, n_ph, ebank, n_el)
                if rs != stc.OK:
                    return (PHOTON_FULL if rs == stc.PHOTON_BANK_FULL else ELECTRON_FULL
                            if rs == stc.ELECTRON_BANK_FULL else FAILED), n_ion
                led[L_RELAX_LOCAL] += local
                # non-radiative decay in a water molecule (not in the gold NP): each emitted electron ionizes
                if not (np_is_gold and vbank[v, ph.VB_MAT] == world.mat_np):
                    for r in range(before, n_el):
                        n_ion = _add_ion(ions, n_ion, x, y, z)
                        if n_ion < 0:
                            return ION_FULL, 0
            for r in range(n_el):
                q = ebank[r]
                n_work = push_particle(work, n_work, q[P_X], q[P_Y], q[P_Z], q[P_UX], q[P_UY], q[P_UZ], q[P_E],
                                       q[P_WEIGHT], ELECTRON, q[P_SOURCE])
                if n_work < 0:
                    return ELECTRON_FULL, 0
        # -------------------------------------------------------------- electrons
        while n_work > 0:
            n_work -= 1
            handoffs += 1
            if handoffs > MAX_HANDOFFS:
                return FAILED, n_ion
            p = work[n_work]
            e = p[P_E]
            qx = p[P_X] - ncx
            qy = p[P_Y] - ncy
            qz = p[P_Z] - ncz
            r2 = qx * qx + qy * qy + qz * qz
            inward = qx * p[P_UX] + qy * p[P_UY] + qz * p[P_UZ] < 0.0
            if np_is_gold and (r2 < np_r2 * (1.0 - 1e-12) or (inward and r2 <= np_r2 * (1.0 + 1e-12))):
                # inside the gold: condensed history until it leaves or stops
                gstatus, dep, _path = transport_in_gold(p, np_sphere, gold, True, sg)
                led[L_GOLD_DEPOSIT] += dep
                if gstatus != ESCAPED or p[P_E] <= 0.0:
                    continue
                e = p[P_E]
                qx = p[P_X] - ncx
                qy = p[P_Y] - ncy
                qz = p[P_Z] - ncz
                r2 = qx * qx + qy * qy + qz * qz
            if e <= 0.0:
                continue
            r = math.sqrt(r2)
            if r > water_geom.outer_radius or r - reject_r_nm > _range_nm(e, range_e, range_r):
                led[L_REJECTED] += e  # untracked region, or cannot reach the scoring shells
                continue
            wcounts[ew.C_ION] = n_ion
            wcounts[ew.C_GOLD] = 0
            wcounts[ew.C_DEPOSIT] = 0
            for k in range(ew.N_SCORE):
                wscore[k] = 0.0
            p[P_REGION] = REGION_SHELL
            ws = ew.transport_electron(p, se, phys.water, water_geom, wstack, ions, wgold, wdep, wcounts, wscore,
                                       phys.water_w_table)
            if ws != ew.OK:
                return (ION_FULL if ws == ew.ION_BUFFER_FULL else STACK_FULL), n_ion
            n_ion = wcounts[ew.C_ION]
            led[L_WATER_SINK] += (wscore[ew.S_E_BINDING] + wscore[ew.S_E_EXCITATION] + wscore[ew.S_E_SUBCUTOFF]
                                  + wscore[ew.S_E_ESCAPED])
            for g in range(wcounts[ew.C_GOLD]):  # reached the NP surface: back to the gold step
                q = wgold[g]
                n_work = push_particle(work, n_work, q[P_X], q[P_Y], q[P_Z], q[P_UX], q[P_UY], q[P_UZ], q[P_E],
                                       q[P_WEIGHT], ELECTRON, q[P_SOURCE])
                if n_work < 0:
                    return ELECTRON_FULL, 0
    accounted = (led[L_ESCAPED_PHOTON] + led[L_LOCAL_PHOTON] + led[L_RELAX_LOCAL] + led[L_WATER_SINK]
                 + led[L_GOLD_DEPOSIT] + led[L_REJECTED])
    imbalance = abs(accounted - e0) / e0
    for k in range(L_MAX_IMBALANCE):
        ledger[k] += led[k]
    if imbalance > ledger[L_MAX_IMBALANCE]:
        ledger[L_MAX_IMBALANCE] = imbalance
    if touched_np:
        ledger[L_NP_HISTORIES] += 1.0
    return OK, n_ion


@nb.njit(cache=True)
def score_shells(ions, n_ion, scoring, cluster_state, tallies, scratch_c, scratch_i):
    """Cluster one history's ionizations and add ``x`` and ``x²`` per shell to the tallies.

    ``x_i`` = F_k clusters and ``y_i`` = ionizations in shell i (counts; the tallies' scale
    ``1/m_i`` turns them into per-kg values when results are derived).
    """
    shell_edges_nm = scoring.shell_edges_nm
    cd_sum = tallies.cd_sum
    cd_sq = tallies.cd_sq
    id_sum = tallies.id_sum
    id_sq = tallies.id_sq
    n_r = shell_edges_nm.shape[0] - 1
    for i in range(n_r):
        scratch_c[i] = 0.0
        scratch_i[i] = 0.0
    avc_cluster_shells(ions, n_ion, scoring.target_radius_nm, scoring.min_size, shell_edges_nm, cluster_state,
                       scratch_c)
    r_in = shell_edges_nm[0]
    r_out = shell_edges_nm[-1]
    for m in range(n_ion):
        r = math.sqrt(ions[m, 0] ** 2 + ions[m, 1] ** 2 + ions[m, 2] ** 2)
        if r_in <= r < r_out:
            scratch_i[np.searchsorted(shell_edges_nm, r, side="right") - 1] += 1.0
    for i in range(n_r):
        x = scratch_c[i]
        if x != 0.0:
            fx_add(cd_sum[i], x)
            fx_add(cd_sq[i], x * x)
        y = scratch_i[i]
        if y != 0.0:
            fx_add(id_sum[i], y)
            fx_add(id_sq[i], y * y)


@nb.njit(cache=True)
def gnp_chunk(first, n, seed, keys, cluster_key, source, spectrum, phys, scoring, buf, tallies, ledger):
    """Histories ``first … first + n − 1``; returns ``(status, h)``: the history that failed.

    On a full buffer the chunk stops before scoring history ``h``; the caller enlarges that
    buffer and calls again from ``h`` (histories are independent: same seed, same answer).
    """
    states = np.zeros((5, 2), dtype=np.uint64)
    sc = np.zeros(2, dtype=np.uint64)
    n_r = scoring.shell_edges_nm.shape[0] - 1
    scratch_c = np.zeros(n_r)
    scratch_i = np.zeros(n_r)
    for h in range(first, first + n):
        status, n_ion = gnp_history(h, seed, keys, source, spectrum, phys, buf, states, ledger)
        if status != OK:
            return status, h
        rng_seed(sc, seed, h, cluster_key)
        score_shells(buf.ions, n_ion, scoring, sc, tallies, scratch_c, scratch_i)
    return OK, first + n
