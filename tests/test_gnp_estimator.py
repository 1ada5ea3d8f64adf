"""gnp binning and estimator: Thomas et al. (2025) Table 1, Appendix B's W1, eqs. 2-8."""
import numpy as np
import pytest

from hpcmc.apps.gnp.binning import allocate, annulus_edges_nm, physical_masses, shell_edges_nm
from hpcmc.apps.gnp.estimator import (
    combine,
    contribution_matrix,
    gaussian_smooth,
    importance_scores,
    loss,
    regularization,
    wasserstein1,
)

# Thomas et al. (2025), Table 1: lower annulus edge b_j [nm] and p_j, as printed (3 significant digits).
TABLE1 = {
    0: (0.0, 1e-6), 1: (5.00e1, 5.85e-7), 2: (6.29e1, 9.27e-7), 3: (7.92e1, 1.47e-6), 4: (9.98e1, 2.33e-6),
    5: (1.26e2, 3.69e-6), 6: (1.58e2, 5.85e-6), 7: (1.99e2, 9.27e-6), 8: (2.51e2, 1.47e-5), 9: (3.15e2, 2.33e-5),
    10: (3.97e2, 3.69e-5), 11: (5.00e2, 5.85e-5), 12: (6.29e2, 9.27e-5), 13: (7.92e2, 1.47e-4),
    14: (9.98e2, 2.33e-4), 15: (1.26e3, 3.69e-4), 16: (1.58e3, 5.85e-4), 17: (1.99e3, 9.27e-4),
    18: (2.51e3, 1.47e-3), 19: (3.15e3, 2.33e-3), 20: (3.97e3, 3.69e-3), 21: (5.00e3, 5.85e-3),
    22: (6.29e3, 9.27e-3), 23: (7.92e3, 1.47e-2), 24: (9.98e3, 2.33e-2), 25: (1.26e4, 3.69e-2),
    26: (1.58e4, 5.85e-2), 27: (1.99e4, 9.27e-2), 28: (2.51e4, 1.47e-1), 29: (3.15e4, 2.33e-1),
    30: (3.97e4, 3.69e-1),
}


def _sig3(x):
    return float(f"{x:.3g}")


def test_table1_reproduced_to_printed_digits():
    edges = annulus_edges_nm()
    p = physical_masses(edges)
    assert edges.size == 32 and edges[-1] == pytest.approx(50_000.0)
    for j, (b_lower, p_j) in TABLE1.items():
        assert _sig3(edges[j]) == b_lower, f"b_{j}"
        assert _sig3(p[j]) == p_j, f"p_{j}"
    assert p.sum() == pytest.approx(1.0, abs=1e-15)


def test_shells_and_allocation():
    r = shell_edges_nm()
    assert r.size == 41 and r[0] == 50.0 and r[-1] == pytest.approx(5000.0)
    n = allocate(physical_masses(annulus_edges_nm()), 10**6)
    assert n[0] == 1 and n[-1] == 369_042  # ⌊p_j N⌋: "only 1 primary photon" heads for the NP (Table 1 caption)
    with pytest.raises(ValueError, match="probability vector"):
        allocate(np.array([0.5, 0.6]), 10)


def _w1_numeric(q1, q2, edges, n=200_001):
    b = np.linspace(0.0, edges[-1], n)
    cdf = lambda q: np.interp(b, edges, np.concatenate([[0], np.cumsum(q)]))  # noqa: E731
    return np.trapezoid(np.abs(cdf(q1) - cdf(q2)), b)


@pytest.mark.parametrize("seed", range(6))
def test_w1_matches_direct_integration(seed):
    rng = np.random.default_rng(seed)
    n_b = int(rng.integers(3, 12))
    edges = np.concatenate([[0.0], np.cumsum(rng.uniform(0.1, 3.0, n_b))])
    q1 = rng.dirichlet(np.ones(n_b) * 0.5)
    q2 = rng.dirichlet(np.ones(n_b) * 0.5)
    exact = wasserstein1(q1, q2, edges)
    assert exact == pytest.approx(_w1_numeric(q1, q2, edges), rel=1e-6, abs=1e-12)
    assert wasserstein1(q1, q1, edges) == 0.0
    assert exact == pytest.approx(wasserstein1(q2, q1, edges))


def test_w1_of_shifted_point_masses_is_the_shift():
    # all mass in annulus [1,2) vs [3,4): uniform densities → W1 = distance between centres
    edges = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    assert wasserstein1(np.array([0, 1.0, 0, 0]), np.array([0, 0, 0, 1.0]), edges) == pytest.approx(2.0)


def test_estimator_identities():
    rng = np.random.default_rng(3)
    p = physical_masses(annulus_edges_nm(n_annuli=6))
    g = rng.exponential(size=(4, 6))
    s = 0.1 * g
    mean, std = combine(p, g, s)
    assert np.allclose(mean, g @ p)
    assert np.allclose(std**2, (s**2) @ (p**2))
    W = contribution_matrix(p, g)
    assert np.allclose(W.sum(axis=1), 1.0)
    u = importance_scores(p, g)
    assert np.allclose(u, W.T @ mean)
    # smoothing keeps a constant, is the identity at sigma 0
    assert np.allclose(gaussian_smooth(np.full(9, 3.0), 2.0), 3.0)
    assert np.array_equal(gaussian_smooth(u, 0.0), u)
    # regularisation ignores the first annulus and vanishes for a flat tail
    assert regularization(np.array([0.9, 0.025, 0.025, 0.025, 0.025])) == 0.0
    total, lw, lr = loss(p, p, annulus_edges_nm(n_annuli=6), 0.08)
    assert lw == 0.0 and total == pytest.approx(0.08 * lr)


def test_analog_efficiency_from_strata_matches_direct_sampling():
    from hpcmc.apps.gnp.estimator import analog_efficiency_from_strata

    rng = np.random.default_rng(4)
    p = np.array([0.01, 0.09, 0.9])
    # per-history score: stratum j scores Exp(scale_j) with probability hit_j, else 0
    hit, scale = np.array([0.5, 0.05, 0.001]), np.array([10.0, 3.0, 1.0])
    n_j = np.array([40_000, 40_000, 40_000])
    means, stds = np.zeros((1, 3)), np.zeros((1, 3))
    for j in range(3):
        x = rng.exponential(scale[j], n_j[j]) * (rng.random(n_j[j]) < hit[j])
        means[0, j], stds[0, j] = x.mean(), x.std(ddof=1) / np.sqrt(n_j[j])
    est = analog_efficiency_from_strata(p, n_j, means, stds)[0]
    # direct: analog histories choose a stratum with probability p
    n = 2_000_000
    j = rng.choice(3, size=n, p=p)
    x = rng.exponential(scale[j]) * (rng.random(n) < hit[j])
    direct = x.mean() ** 2 / x.var()
    assert est == pytest.approx(direct, rel=0.1)
