"""Particle banks: rows ``(x, y, z [nm], ux, uy, uz, E [eV])`` shared by all transport kernels."""
from __future__ import annotations

import numba as nb

__all__ = ["BANK_COLUMNS", "set_particle", "push_particle"]

BANK_COLUMNS = 7


@nb.njit(cache=True, inline="always")
def set_particle(row, x, y, z, ux, uy, uz, e):
    """Write one particle into a bank row (a view of length ≥ 7)."""
    row[0] = x
    row[1] = y
    row[2] = z
    row[3] = ux
    row[4] = uy
    row[5] = uz
    row[6] = e


@nb.njit(cache=True)
def push_particle(bank, n, x, y, z, ux, uy, uz, e):
    """Append a particle at row ``n``; return the new fill level ``n + 1``, or −1 if full."""
    if n >= bank.shape[0]:
        return -1
    set_particle(bank[n], x, y, z, ux, uy, uz, e)
    return n + 1
