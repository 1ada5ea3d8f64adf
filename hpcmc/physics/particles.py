"""The particle record: one row layout for every species, bank and kernel.

A particle is a row of a float64 array with :data:`PARTICLE_COLUMNS` columns:

====================  =====  ============================================================
column                index  meaning
====================  =====  ============================================================
``P_X, P_Y, P_Z``     0–2    position  [length unit of the world: nm for the gnp world and
                             the photon/electron kernels of this package; a world built in
                             cm for cm-based kernels — see :mod:`hpcmc.physics.world`]
``P_UX, P_UY, P_UZ``  3–5    unit direction
``P_E``               6      kinetic energy  [eV]
``P_WEIGHT``          7      statistical weight (may be negative, e.g. correlated sampling)
``P_SPECIES``         8      species code (:data:`PHOTON`, :data:`ELECTRON`, ...)
``P_SOURCE``          9      source-element index (annulus, beamlet, slit) of its history
``P_REGION``          10     region in the world, :data:`REGION_UNKNOWN` (−1) if not known
``P_GENERATION``      11     0 for a primary, parent's + 1 for a secondary
====================  =====  ============================================================

Integer-valued columns are stored as floats (exact below 2⁵³). Kernels index with the
``P_*`` names; banks are ``numpy.zeros((rows, PARTICLE_COLUMNS))``
(:func:`hpcmc.physics.banks.new_bank`).
"""
from __future__ import annotations

__all__ = [
    "P_X", "P_Y", "P_Z", "P_UX", "P_UY", "P_UZ", "P_E", "P_WEIGHT", "P_SPECIES", "P_SOURCE",
    "P_REGION", "P_GENERATION", "PARTICLE_COLUMNS", "COLUMN_NAMES",
    "PHOTON", "ELECTRON", "POSITRON", "PROTON", "NEUTRON", "SPECIES_NAMES", "REGION_UNKNOWN",
]

P_X, P_Y, P_Z, P_UX, P_UY, P_UZ, P_E, P_WEIGHT, P_SPECIES, P_SOURCE, P_REGION, P_GENERATION = range(12)
#: Columns of a particle row.
PARTICLE_COLUMNS = 12
COLUMN_NAMES = ("x", "y", "z", "ux", "uy", "uz", "energy_eV", "weight", "species", "source", "region",
                "generation")

#: Species codes (``P_SPECIES``).
PHOTON = 0
ELECTRON = 1
POSITRON = 2
PROTON = 3
NEUTRON = 4
SPECIES_NAMES = ("photon", "electron", "positron", "proton", "neutron")

#: ``P_REGION`` of a particle whose region has not been located yet.
REGION_UNKNOWN = -1
