"""Physics: materials, data tables (xraylib, spekpy), geometry primitives and transport kernels.

Modules (one concern each): :mod:`~hpcmc.physics.materials`, :mod:`~hpcmc.physics.photon_data`,
:mod:`~hpcmc.physics.photon`, :mod:`~hpcmc.physics.geometry`, :mod:`~hpcmc.physics.spectrum`.
Import them directly; this package imports nothing on its own so that loading one module does
not pull in the others' dependencies (spekpy, for instance, is slow to import).
"""
