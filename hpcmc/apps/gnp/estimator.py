"""The importance-sampling estimator, importance scores and the loss of Thomas et al. (2025) (§2.2).

Notation: shells i = 0..n_r−1, annuli j = 0..n_b−1. The Monte Carlo gives, for each annulus,
the per-primary mean ⟨g⟩_{ij} of the F4 cluster dose in shell i from primaries started
uniformly on annulus j, and its standard error s_{ij}.

* eq. 2/3 (stratified estimate; the q_j cancel): ⟨g⟩_i = Σ_j p_j ⟨g⟩_{ij}, with the variance
  of independent strata σ_i² = Σ_j p_j² s_{ij}².
* contribution matrix: W_{ij} = p_j ⟨g⟩_{ij} / ⟨g⟩_i (rows sum to 1; a shell with no score
  contributes nothing).
* eq. 4: importance scores u_j = Σ_i W_{ij} ⟨g⟩_i; eq. 6: u → G * u with a discrete Gaussian
  kernel of σ = 2 bins over annulus *indices* (footnote 4), edges handled by renormalising
  the truncated kernel; eq. 5: q^u_j ∝ u_j.
* eq. 7: L_W1(q') = W1(q^u, q')/b_max, with the exact W1 of piecewise-uniform densities on the
  annuli (Appendix B, :func:`wasserstein1`).
* L_reg(q') = Σ_{j=1}^{n_b−2} (q'_{j+1} − q'_j)² / Σ_{j=1}^{n_b−2} q'_j² (the first annulus,
  matched to the NP, excluded); eq. 8: L = L_W1 + λ L_reg.
* efficiency of a run of N primaries per shell: 1/(N δ_i²), δ_i = σ_i/⟨g⟩_i.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "combine",
    "contribution_matrix",
    "importance_scores",
    "gaussian_smooth",
    "cdf_at_edges",
    "wasserstein1",
    "regularization",
    "loss",
    "efficiency",
    "analog_efficiency_from_strata",
]


def combine(p: np.ndarray, mean_ij: np.ndarray, std_ij: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stratified estimate per shell (eq. 2/3): ``(Σ_j p_j g_ij, sqrt(Σ_j p_j² s_ij²))``.

    Parameters
    ----------
    p : (n_b,) array
        Physical probability masses of the annuli.
    mean_ij, std_ij : (n_r, n_b) arrays
        Per-primary mean of each annulus's tally and its standard error (NaN or 0 where an
        annulus ran no primaries are treated as 0, as in the paper's footnote 7).
    """
    g = np.nan_to_num(np.asarray(mean_ij, float))
    s = np.nan_to_num(np.asarray(std_ij, float))
    return g @ p, np.sqrt((s**2) @ (p**2))


def contribution_matrix(p: np.ndarray, mean_ij: np.ndarray) -> np.ndarray:
    """``W_ij = p_j g_ij / Σ_k p_k g_ik``; rows of shells with no score are zero."""
    g = np.nan_to_num(np.asarray(mean_ij, float))
    num = g * p[None, :]
    den = num.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, 0.0)


def importance_scores(p: np.ndarray, mean_ij: np.ndarray) -> np.ndarray:
    """``u_j = Σ_i W_ij ⟨g⟩_i`` (eq. 4)."""
    g_i, _ = combine(p, mean_ij, np.zeros_like(mean_ij))
    return contribution_matrix(p, mean_ij).T @ g_i


def gaussian_smooth(u: np.ndarray, sigma_bins: float = 2.0) -> np.ndarray:
    """Discrete Gaussian smoothing over annulus indices (eq. 6), kernel truncated at 4σ.

    ``(G*u)_j = Σ_k w_{jk} u_k / Σ_k w_{jk}``, ``w_{jk} = exp(−(j−k)²/(2σ²))``; at the edges
    the truncated kernel is renormalised so a constant vector stays constant. ``σ = 0``
    returns ``u`` unchanged.
    """
    u = np.asarray(u, float)
    if sigma_bins <= 0:
        return u.copy()
    idx = np.arange(u.size)
    d = idx[:, None] - idx[None, :]
    w = np.exp(-0.5 * (d / sigma_bins) ** 2) * (np.abs(d) <= 4 * sigma_bins)
    return (w @ u) / w.sum(axis=1)


def cdf_at_edges(q: np.ndarray) -> np.ndarray:
    """``Q(b_j) = Σ_{k<j} q_k`` at the annulus edges (eq. B.1), length n_b + 1."""
    return np.concatenate([[0.0], np.cumsum(q)])


def wasserstein1(q1: np.ndarray, q2: np.ndarray, edges: np.ndarray) -> float:
    """Exact W1 between two distributions that are uniform within each annulus (Appendix B).

    The CDF difference ``u(b) = Q1(b) − Q2(b)`` is linear on each annulus, from ``u_j`` at
    ``b_j`` to ``u_{j+1}`` at ``b_{j+1}``, so

        I_j = ∫ |u| db = Δb_j (|u_j| + |u_{j+1}|)/2                  if u_j u_{j+1} ≥ 0,
            = Δb_j (u_j² + u_{j+1}²) / (2 (|u_j| + |u_{j+1}|))      otherwise (a zero inside),

    and W1 = Σ_j I_j, in the unit of ``edges``. (The second line follows from the two
    triangles on either side of the zero crossing at b_j + Δb_j |u_j|/(|u_j| + |u_{j+1}|).)
    """
    q1 = np.asarray(q1, float)
    q2 = np.asarray(q2, float)
    if q1.shape != q2.shape or q1.size + 1 != len(edges):
        raise ValueError(f"need n_b masses and n_b + 1 edges, got {q1.size}, {q2.size}, {len(edges)}")
    u = cdf_at_edges(q1) - cdf_at_edges(q2)
    a, b = u[:-1], u[1:]
    db = np.diff(np.asarray(edges, float))
    same = a * b >= 0
    aa, ab = np.abs(a), np.abs(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        crossing = np.where(aa + ab > 0, (a * a + b * b) / (2 * (aa + ab)), 0.0)
    return float(np.sum(db * np.where(same, 0.5 * (aa + ab), crossing)))


def regularization(q: np.ndarray) -> float:
    """``L_reg = Σ_{j=1}^{n_b−2} (q_{j+1} − q_j)² / Σ_{j=1}^{n_b−2} q_j²`` (§2.2.1)."""
    q = np.asarray(q, float)
    inner = q[1:-1]
    return float(np.sum((q[2:] - inner) ** 2) / np.sum(inner**2))


def loss(q_candidate: np.ndarray, q_target: np.ndarray, edges: np.ndarray, lam: float) -> tuple[float, float, float]:
    """``(L, L_W1, L_reg)`` of eq. 8 with ``L_W1 = W1(q^u, q')/b_max`` (eq. 7)."""
    lw = wasserstein1(q_target, q_candidate, edges) / edges[-1]
    lr = regularization(q_candidate)
    return lw + lam * lr, lw, lr


def efficiency(n_primaries: int, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``1/(N δ²)`` per shell with ``δ = std/mean``; 0 where nothing was scored."""
    mean = np.asarray(mean, float)
    std = np.asarray(std, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        eff = np.where((mean > 0) & (std > 0), mean**2 / (n_primaries * std**2), 0.0)
    return eff


def analog_efficiency_from_strata(p: np.ndarray, n_j: np.ndarray, mean_ij: np.ndarray, std_ij: np.ndarray) -> np.ndarray:
    """Efficiency 1/(N δ²) the analog estimator (q = p) would have, from a stratified run.

    Sampling annuli with probabilities p is drawing from the mixture of the strata, whose
    per-history variance is (law of total variance)

        σ²_analog = Σ_j p_j (V_j + μ_j²) − μ²,   μ = Σ_j p_j μ_j,

    with V_j = n_j s_j² the per-history variance within annulus j (s_j the standard error of
    its mean over n_j histories). The analog efficiency is then μ²/σ²_analog (independent of
    N). It needs every annulus with p_j > 0 to have been sampled (n_j ≥ 2); annuli that
    were not are treated as contributing nothing, so the estimate is then an upper bound of the
    analog efficiency and the gain derived from it a lower bound.
    """
    g = np.nan_to_num(np.asarray(mean_ij, float))
    v = np.nan_to_num(np.asarray(std_ij, float)) ** 2 * np.asarray(n_j, float)[None, :]
    mu = g @ p
    var = (v + g**2) @ p - mu**2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((mu > 0) & (var > 0), mu**2 / var, 0.0)
