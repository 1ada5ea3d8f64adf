"""AVC clustering: exact on tight groups, equal to an O(n²) reference, unbiased for F_k."""
import math

import numpy as np

from hpcmc.apps.gnp.clustering import avc_cluster_shells
from hpcmc.runtime.rng import new_state, rng_seed, rng_uniform, stream_key

EDGES = np.array([0.0, 1e6])  # one shell covering everything


def _run(pos, a=1.7, k=4, seed=1, edges=EDGES):
    st = new_state()
    rng_seed(st, seed, 0, stream_key("cluster"))
    out = np.zeros(len(edges) - 1)
    total = avc_cluster_shells(np.asarray(pos, float), len(pos), a, k, edges, st, out)
    return total, out


def test_tight_groups_count_once():
    # m coincident ionizations: every centre contains all m → one cluster iff m >= k
    for m, expected in [(3, 0.0), (4, 1.0), (9, 1.0)]:
        pos = np.tile([10.0, 20.0, 30.0], (m, 1))
        assert math.isclose(_run(pos)[0], expected, abs_tol=1e-12)
    # two well-separated groups of 5 and 6 → two clusters
    pos = np.vstack([np.tile([0, 0, 100.0], (5, 1)), np.tile([0, 500.0, 0], (6, 1))])
    assert math.isclose(_run(pos)[0], 2.0, abs_tol=1e-12)


def _reference(pos, a, k, seed):
    """Brute force with the same random draws (O(n²))."""
    st = new_state()
    rng_seed(st, seed, 0, stream_key("cluster"))
    total = 0.0
    for x in pos:
        rr = a * rng_uniform(st) ** (1 / 3)
        mu = 2 * rng_uniform(st) - 1
        phi = 2 * math.pi * rng_uniform(st)
        s = math.sqrt(max(0.0, 1 - mu * mu))
        c = x + rr * np.array([s * math.cos(phi), s * math.sin(phi), mu])
        nu = int(np.sum(np.sum((pos - c) ** 2, axis=1) < a * a))
        if nu >= k:
            total += 1 / nu
    return total


def test_matches_brute_force_on_a_track_like_cloud():
    rng = np.random.default_rng(5)
    # a random walk (track-like): steps of ~1.5 nm with occasional jumps, and negative coordinates
    steps = rng.normal(scale=1.5, size=(600, 3))
    steps[rng.random(600) < 0.05] *= 20
    pos = np.cumsum(steps, axis=0) - 40.0
    fast = _run(pos, a=1.7, k=4, seed=3)[0]
    assert fast > 0
    assert math.isclose(fast, _reference(pos, 1.7, 4, 3), rel_tol=1e-12)


def test_unbiased_for_a_uniform_random_cloud():
    # Poisson points of density ρ in a big cube: expected F_k per unit volume (away from walls)
    # = P(N ≥ k)/V_s with N ~ Poisson(ρ V_s); count clusters whose centre lies in the inner cube.
    rng = np.random.default_rng(8)
    a, k, L, rho = 1.7, 4, 70.0, 0.08  # nm, -, nm, 1/nm³  → ρV_s = 1.646
    vs = 4 / 3 * math.pi * a**3
    lam = rho * vs
    p_ge_k = 1 - sum(math.exp(-lam) * lam**j / math.factorial(j) for j in range(k))
    # score only centres within 25 nm of the origin (≥ a from the walls): a one-shell tally
    edges = np.array([0.0, 25.0])
    expected = p_ge_k / vs * (4 / 3 * math.pi * 25.0**3)  # ≈ 270 clusters per cloud
    estimates = []
    for cloud in range(4):  # independent clouds: relative standard error ≈ 3 %
        n = rng.poisson(rho * L**3)
        pos = rng.uniform(-L / 2, L / 2, size=(n, 3))
        estimates.append(_run(pos, a, k, seed=cloud, edges=edges)[1][0])
    assert abs(np.mean(estimates) - expected) / expected < 0.08
