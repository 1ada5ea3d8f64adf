"""Impact-parameter annuli and scoring shells of the gnp geometry (Thomas et al. 2025, §2.3).

Annuli (eq. 10): ``b_0 = 0`` and ``b_j = b_np · 10^((j−1)/k_b)`` for ``j = 1..n_b``, with the
first annulus matched to the nanoparticle radius ``b_np`` (50 nm) and ``k_b`` (10) annuli per
decade; the outer edge ``b_{n_b}`` is ``b_max`` (50 µm for n_b = 31). Physical probability
masses of uniform irradiation of the disk (eq. A.5): ``p_j = (b_{j+1}² − b_j²)/b_max²``.

Shells (eq. 11): ``r_i = r_np · 10^(i/k_r)`` for ``i = 0..n_r`` (lower edges, plus the last
upper edge), ``k_r`` (20) shells per decade, ``n_r`` (40) shells.

Stratified allocation (§2.2.2): ``N_j = ⌊q_j N⌋`` primaries on annulus j, uniform in area.
"""
from __future__ import annotations

import numpy as np

__all__ = ["annulus_edges_nm", "physical_masses", "shell_edges_nm", "allocate", "shell_masses_kg"]


def annulus_edges_nm(n_annuli: int = 31, first_radius_nm: float = 50.0, per_decade: int = 10) -> np.ndarray:
    """Annulus edges ``b_0..b_{n_b}``  [nm] (eq. 10); ``b_0 = 0``, last = ``b_max``."""
    if n_annuli < 2:
        raise ValueError(f"n_annuli must be >= 2, got {n_annuli}")
    if first_radius_nm <= 0:
        raise ValueError(f"first_radius_nm must be > 0, got {first_radius_nm}")
    j = np.arange(1, n_annuli + 1)
    return np.concatenate([[0.0], first_radius_nm * 10.0 ** ((j - 1) / per_decade)])


def physical_masses(edges_nm: np.ndarray) -> np.ndarray:
    """``p_j = A_j / A = (b_{j+1}² − b_j²) / b_max²`` (eq. A.5); sums to 1."""
    e = np.asarray(edges_nm, dtype=float)
    return np.diff(e**2) / e[-1] ** 2


def shell_edges_nm(n_shells: int = 40, inner_radius_nm: float = 50.0, per_decade: int = 20) -> np.ndarray:
    """Shell edges ``r_0..r_{n_r}``  [nm] (eq. 11)."""
    if n_shells < 1:
        raise ValueError(f"n_shells must be >= 1, got {n_shells}")
    return inner_radius_nm * 10.0 ** (np.arange(n_shells + 1) / per_decade)


def shell_masses_kg(edges_nm: np.ndarray, density_g_cm3: float = 1.0) -> np.ndarray:
    """Mass of water in each spherical shell  [kg]: ``ρ · 4π/3 (r_{i+1}³ − r_i³)``."""
    r_cm = np.asarray(edges_nm, dtype=float) * 1e-7
    return density_g_cm3 * 4.0 / 3.0 * np.pi * np.diff(r_cm**3) * 1e-3


def allocate(q: np.ndarray, n_primaries: int) -> np.ndarray:
    """Primaries per annulus, ``N_j = ⌊q_j N⌋`` (§2.2.2, footnote 5)."""
    q = np.asarray(q, dtype=float)
    if np.any(q < 0) or not np.isclose(q.sum(), 1.0, rtol=1e-9, atol=0):
        raise ValueError(f"q must be a probability vector (q_j >= 0, sum 1), got sum {q.sum()!r}")
    return np.floor(q * n_primaries).astype(np.int64)
