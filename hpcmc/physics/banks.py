"""Particle banks: arrays of particle records (:mod:`hpcmc.physics.particles`) shared by all
transport kernels."""
from __future__ import annotations

import numba as nb
import numpy as np

from hpcmc.physics.particles import (P_E, P_GENERATION, P_REGION, P_SOURCE, P_SPECIES, P_UX, P_UY,
                                     P_UZ, P_WEIGHT, P_X, P_Y, P_Z, PARTICLE_COLUMNS, REGION_UNKNOWN)

__all__ = ["PARTICLE_COLUMNS", "new_bank", "phase_of", "set_phase", "set_particle", "push_particle", "set_lineage"]


def new_bank(rows: int) -> np.ndarray:
    """An empty bank of ``rows`` particle records (zeros)."""
    return np.zeros((int(rows), PARTICLE_COLUMNS))


@nb.njit(cache=True, inline="always")
def phase_of(row):
    """The phase space ``(x, y, z, ux, uy, uz, E)`` of a particle row, as a tuple (kernels that
    take a tuple see constants a caller passes, e.g. a source direction, at compile time)."""
    return row[P_X], row[P_Y], row[P_Z], row[P_UX], row[P_UY], row[P_UZ], row[P_E]


@nb.njit(cache=True, inline="always")
def set_phase(row, x, y, z, ux, uy, uz, e):
    """Overwrite position, direction and kinetic energy [eV] of a particle (the rest is kept)."""
    row[P_X] = x
    row[P_Y] = y
    row[P_Z] = z
    row[P_UX] = ux
    row[P_UY] = uy
    row[P_UZ] = uz
    row[P_E] = e


@nb.njit(cache=True, inline="always")
def set_particle(row, x, y, z, ux, uy, uz, e, weight, species, source):
    """Write a new particle into a bank row: phase space, weight, species code and
    source-element index; region unknown (−1), generation 0 (see :func:`set_lineage`)."""
    set_phase(row, x, y, z, ux, uy, uz, e)
    row[P_WEIGHT] = weight
    row[P_SPECIES] = species
    row[P_SOURCE] = source
    row[P_REGION] = REGION_UNKNOWN
    row[P_GENERATION] = 0.0


@nb.njit(cache=True, inline="always")
def set_lineage(row, region, generation):
    """Set the region and the generation of a particle row."""
    row[P_REGION] = region
    row[P_GENERATION] = generation


@nb.njit(cache=True)
def push_particle(bank, n, x, y, z, ux, uy, uz, e, weight, species, source):
    """Append a particle at row ``n`` (:func:`set_particle`); return ``n + 1``, or −1 if full."""
    if n >= bank.shape[0]:
        return -1
    set_particle(bank[n], x, y, z, ux, uy, uz, e, weight, species, source)
    return n + 1
