"""gnp photons alone: the annulus source through the gnp world with electrons banked only
(for validation and benchmarks; the full history is :mod:`hpcmc.apps.gnp.transport`).

Photons are transported by :func:`hpcmc.physics.photon.photon_history` through the
:class:`~hpcmc.apps.gnp.world.GnpWorld` (lengths in nm, energies in eV).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from hpcmc.apps.gnp.world import GnpWorld  # noqa: F401  (registers the world protocol of GnpWorld)
from hpcmc.physics import status as stc
from hpcmc.physics.particles import P_E, P_UZ, P_WEIGHT, P_Z, PARTICLE_COLUMNS
from hpcmc.physics.photon import (N_OUT, OUT_BINDING_EV, OUT_ESCAPED_EV, OUT_LOCAL_EV, OUT_N_COH, OUT_N_INCOH,
                                  OUT_N_PHOTO, OUT_NP_INTERACTIONS, STATUS_OK, VB_COLUMNS, check_spectrum_in_range,
                                  photon_history, world_narrow_beam_uncollided)
from hpcmc.physics.spectrum import sample_spectrum_eV
from hpcmc.runtime.rng import rng_seed, rng_uniform, stream_key

__all__ = [
    "TOT_HISTORIES", "TOT_E_IN_EV", "TOT_ESCAPED_EV", "TOT_ELECTRON_EV", "TOT_BINDING_EV", "TOT_LOCAL_EV",
    "TOT_N_ELECTRONS", "TOT_N_VACANCIES", "TOT_N_PHOTO", "TOT_N_INCOH", "TOT_N_COH", "TOT_NP_HISTORIES",
    "TOT_NP_INTERACTIONS", "TOT_MAX_REL_IMBALANCE", "N_TOT",
    "AnnulusSource", "gnp_photon_chunk", "run_gnp_photons", "narrow_beam_uncollided",
]

#: Chunk totals (``totals`` array of :func:`gnp_photon_chunk`).
(TOT_HISTORIES, TOT_E_IN_EV, TOT_ESCAPED_EV, TOT_ELECTRON_EV, TOT_BINDING_EV, TOT_LOCAL_EV, TOT_N_ELECTRONS,
 TOT_N_VACANCIES, TOT_N_PHOTO, TOT_N_INCOH, TOT_N_COH, TOT_NP_HISTORIES, TOT_NP_INTERACTIONS,
 TOT_MAX_REL_IMBALANCE) = range(14)
N_TOT = 14

_TWO_PI = 2.0 * math.pi


class AnnulusSource(NamedTuple):
    """Photons start uniformly on the annulus ``b_lo_nm ≤ ρ ≤ b_hi_nm`` of the plane
    ``z = z_src_nm``  [nm], moving along +z."""

    b_lo_nm: float
    b_hi_nm: float
    z_src_nm: float


@nb.njit(cache=True)
def gnp_photon_chunk(tables, world, source, spectrum, seed, first, n, key_source, key_transport, ebank, vbank,
                     totals):
    """Histories ``first … first + n − 1`` of the gnp photon source, electrons banked only.

    Source: position uniform on the annulus ``b_lo ≤ ρ ≤ b_hi`` of the plane
    ``z = z_src`` (``ρ = √(b_lo² + ξ(b_hi² − b_lo²))``, φ = 2πξ), direction +z, energy from the
    spectrum's alias table; drawn from stream ``key_source`` of history h, transport from
    ``key_transport``. The banks are reset for every history (a caller transporting the
    electrons would consume them per history). Adds to ``totals`` (``TOT_*`` indices),
    including the largest relative energy imbalance of a history.

    Returns
    -------
    int
        ``STATUS_OK`` or the first error status (the chunk stops there).
    """
    b_lo_nm = source.b_lo_nm
    b_hi_nm = source.b_hi_nm
    z_src_nm = source.z_src_nm
    # arrays taken out of the NamedTuple once (not per history: no reference counting in the loop)
    lo_eV = spectrum.lo_eV
    hi_eV = spectrum.hi_eV
    alias_prob = spectrum.alias_prob
    alias_index = spectrum.alias_index
    ss = np.zeros(2, dtype=np.uint64)
    st = np.zeros(2, dtype=np.uint64)
    counts = np.zeros(2, dtype=np.int64)
    out = np.zeros(N_OUT)
    b2lo = b_lo_nm * b_lo_nm
    b2span = b_hi_nm * b_hi_nm - b2lo
    for h in range(first, first + n):
        rng_seed(ss, seed, h, key_source)
        rho = math.sqrt(b2lo + rng_uniform(ss) * b2span)
        phi = _TWO_PI * rng_uniform(ss)
        e0 = sample_spectrum_eV(ss, lo_eV, hi_eV, alias_prob, alias_index)
        rng_seed(st, seed, h, key_transport)
        counts[0] = 0
        counts[1] = 0
        for k in range(N_OUT):
            out[k] = 0.0
        status = photon_history(tables, world, (rho * math.cos(phi), rho * math.sin(phi), z_src_nm, 0.0, 0.0, 1.0, e0),
                                st, ebank, vbank, counts, out)
        if status != STATUS_OK:
            return status
        e_el = 0.0
        for r in range(counts[0]):
            e_el += ebank[r, P_E]
        totals[TOT_HISTORIES] += 1.0
        totals[TOT_E_IN_EV] += e0
        totals[TOT_ESCAPED_EV] += out[OUT_ESCAPED_EV]
        totals[TOT_ELECTRON_EV] += e_el
        totals[TOT_BINDING_EV] += out[OUT_BINDING_EV]
        totals[TOT_LOCAL_EV] += out[OUT_LOCAL_EV]
        totals[TOT_N_ELECTRONS] += counts[0]
        totals[TOT_N_VACANCIES] += counts[1]
        totals[TOT_N_PHOTO] += out[OUT_N_PHOTO]
        totals[TOT_N_INCOH] += out[OUT_N_INCOH]
        totals[TOT_N_COH] += out[OUT_N_COH]
        if out[OUT_NP_INTERACTIONS] > 0.0:
            totals[TOT_NP_HISTORIES] += 1.0
        totals[TOT_NP_INTERACTIONS] += out[OUT_NP_INTERACTIONS]
        imb = abs(e0 - out[OUT_ESCAPED_EV] - e_el - out[OUT_BINDING_EV] - out[OUT_LOCAL_EV]) / e0
        if imb > totals[TOT_MAX_REL_IMBALANCE]:
            totals[TOT_MAX_REL_IMBALANCE] = imb
    return STATUS_OK


_TOT_NAMES = ("histories", "e_in_eV", "escaped_eV", "electron_eV", "binding_eV", "local_eV", "n_electrons",
              "n_vacancies", "n_photo", "n_incoh", "n_coh", "np_histories", "np_interactions",
              "max_rel_imbalance")


def run_gnp_photons(photon_data, world, spectrum, n, seed=1, first=0, b_lo_nm=0.0, b_hi_nm=None,
                    z_src_nm=-100.0e3, bank_rows=1024) -> dict:
    """Python driver of :func:`gnp_photon_chunk` (one process): returns the totals as a dict.

    Parameters
    ----------
    photon_data : PhotonData
        Tables holding ``world.mat_np`` and ``world.mat_medium``.
    world : GnpWorld
    spectrum : Spectrum
        From :mod:`hpcmc.physics.spectrum`; its maximum must not exceed the table range.
    n, seed, first : int
        Histories, task seed, global index of the first history.
    b_lo_nm, b_hi_nm : float
        Source annulus  [nm] (default: the whole disk of the cylinder's radius).
    z_src_nm : float
        Source plane  [nm] (default −100 µm).
    bank_rows : int
        Rows of the per-history electron and vacancy banks.
    """
    t = photon_data.tables
    if b_hi_nm is None:
        b_hi_nm = world.cyl_radius_nm
    if not 0.0 <= b_lo_nm <= b_hi_nm:
        raise ValueError(f"source annulus must satisfy 0 ≤ b_lo_nm ≤ b_hi_nm, got {b_lo_nm}, {b_hi_nm}")
    check_spectrum_in_range(spectrum, photon_data)
    ebank = np.zeros((bank_rows, PARTICLE_COLUMNS))
    vbank = np.zeros((bank_rows, VB_COLUMNS), dtype=np.int64)
    totals = np.zeros(N_TOT)
    source = AnnulusSource(float(b_lo_nm), float(b_hi_nm), float(z_src_nm))
    status = gnp_photon_chunk(t, world, source, spectrum.table, np.uint64(seed), first, n, stream_key("source"),
                              stream_key("transport"), ebank, vbank, totals)
    if status != STATUS_OK:
        raise RuntimeError(f"gnp photon transport stopped: {stc.status_text(status)}")
    return dict(zip(_TOT_NAMES, totals.tolist()))


@nb.njit(cache=True)
def narrow_beam_uncollided(tables, world, e_eV, n, seed, stream):
    """Narrow-beam transmission: photons of ``e_eV`` start on the axis just inside the lower end
    plane of the world's cylinder, moving +z; returns how many leave it without interacting
    (expected ``n·exp(−μ L)`` for a homogeneous cylinder of length L).
    :func:`hpcmc.physics.photon.world_narrow_beam_uncollided` with that start."""
    start = np.zeros(PARTICLE_COLUMNS)
    start[P_Z] = world.cyl_zmin_nm + 1.0e-6
    start[P_UZ] = 1.0
    start[P_E] = e_eV
    start[P_WEIGHT] = 1.0
    return world_narrow_beam_uncollided(tables, world, start, n, seed, stream)
