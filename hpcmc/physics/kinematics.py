"""Direction kernels shared by the photon and electron transport modules."""
from __future__ import annotations

import math

import numba as nb

__all__ = ["rotate_direction"]


@nb.njit(cache=True)
def rotate_direction(ux, uy, uz, cos_t, phi):
    """Direction after a deflection by polar angle θ (``cos_t``) and azimuth φ  [rad].

        u'_x = u_x cos θ + sin θ (u_x u_z cos φ − u_y sin φ)/√(1 − u_z²)
        u'_y = u_y cos θ + sin θ (u_y u_z cos φ + u_x sin φ)/√(1 − u_z²)
        u'_z = u_z cos θ − sin θ cos φ √(1 − u_z²)

    (the standard rotation of e.g. the PENELOPE manual, Salvat 2018, eq. 1.131); for
    ``u_z → ±1`` the new direction is taken about the z axis. ``cos_t`` is clamped to [−1, 1]
    and the result renormalised against rounding drift.
    """
    if cos_t > 1.0:
        cos_t = 1.0
    elif cos_t < -1.0:
        cos_t = -1.0
    sin_t = math.sqrt(1.0 - cos_t * cos_t)
    cp = math.cos(phi)
    sp = math.sin(phi)
    rho2 = ux * ux + uy * uy
    if rho2 < 1.0e-20:
        s = 1.0 if uz > 0.0 else -1.0
        vx = sin_t * cp
        vy = sin_t * sp
        vz = s * cos_t
    else:
        rho = math.sqrt(rho2)
        vx = ux * cos_t + sin_t * (ux * uz * cp - uy * sp) / rho
        vy = uy * cos_t + sin_t * (uy * uz * cp + ux * sp) / rho
        vz = uz * cos_t - sin_t * cp * rho
    inv = 1.0 / math.sqrt(vx * vx + vy * vy + vz * vz)
    return vx * inv, vy * inv, vz * inv
