"""The gnp driver on the master: optimisation loop, comparison run, persistence, results.

Every annulus run is one :class:`~hpcmc.runtime.task.Task` with parameters
``{"annulus": j, "b_lower_nm", "b_upper_nm"}`` dispatched through ``ctx.simulate`` — the same
call the gateway serves — or, with ``hpcmc run --connect URL``, sent to a running
``hpcmc serve`` as a ``gnp`` annulus request ``{n_primaries, b_lower_nm, b_upper_nm, seed}``.
The seed of annulus j in iteration k is derived from the job seed
(:func:`~hpcmc.runtime.optimizer_state.derive_seed` of ``(phase, k, j)``), so
in-process and over-TCP runs of the same job give bitwise-identical tallies and hence the
same q.

Units and normalisation (results file ``/optimizer`` and ``/comparison``):

* the per-primary tally of annulus j, ``⟨g⟩_ij`` [kg⁻¹], is the mean number of F_k clusters
  per kilogram of water in shell i for a primary started uniformly on annulus j;
* the primary fluence is φ₀ = N / A with A = π b_max² the source-disk area, so the cluster
  dose per primary fluence is ``⟨g⟩_i/φ₀ = A Σ_j p_j ⟨g⟩_ij`` [cm² kg⁻¹] (eq. 2 with eq. A.5).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from hpcmc.apps.gnp.binning import allocate, annulus_edges_nm, physical_masses, shell_edges_nm
from hpcmc.apps.gnp.estimator import combine, efficiency
from hpcmc.apps.gnp.optimizer import IterationRecord, OptimizerSettings, iterate
from hpcmc.runtime.optimizer_state import IterationStore, derive_seed
from hpcmc.runtime.task import Task

__all__ = ["annulus_task", "GnpDriver"]


def annulus_task(j: int, edges_nm: np.ndarray, n: int, seed: int, chunk_size: int) -> Task:
    """The task that runs ``n`` primaries uniformly on annulus ``j``."""
    return Task(app="gnp", params={"annulus": int(j), "b_lower_nm": float(edges_nm[j]),
                                   "b_upper_nm": float(edges_nm[j + 1])},
                n_histories=int(n), seed=int(seed), chunk_size=int(chunk_size))


class GnpDriver:
    """Runs the optimisation and the comparison for one gnp job on the master.

    Parameters
    ----------
    job : hpcmc.config.Job
    simulate : callable
        ``simulate(task) -> TaskResult`` (in-process or remote).
    log : callable
        ``log(message)``.
    state_path : str
        File that holds finished iterations (an :class:`~hpcmc.runtime.optimizer_state.IterationStore`,
        written atomically after each one).
    """

    def __init__(self, job, simulate: Callable, log: Callable[[str], None], state_path: str):
        self.job = job
        self.cfg = job.app
        self.simulate = simulate
        self.log = log
        self.state_path = state_path
        self.store = IterationStore(state_path, "gnp", job.text, IterationRecord)
        src = self.cfg.source
        self.edges_nm = annulus_edges_nm(src.n_annuli, self.cfg.geometry.np_radius_nm, src.annuli_per_decade)
        self.p = physical_masses(self.edges_nm)
        self.shells_nm = shell_edges_nm(self.cfg.scoring.n_shells, self.cfg.geometry.np_radius_nm,
                                        self.cfg.scoring.shells_per_decade)
        self.source_area_cm2 = np.pi * (self.edges_nm[-1] * 1e-7) ** 2

    # -- running annuli --------------------------------------------------------------
    def run_annuli(self, n_per_annulus: np.ndarray, phase: str, iteration: int) -> tuple[np.ndarray, np.ndarray, dict]:
        """Run every annulus with ``n_j > 0``; return ``(mean_ij, std_ij, extra)`` (n_r × n_b)."""
        n_r, n_b = self.cfg.scoring.n_shells, self.p.size
        mean = np.zeros((n_r, n_b))
        std = np.zeros((n_r, n_b))
        ion_mean = np.zeros((n_r, n_b))
        t0 = time.perf_counter()
        for j in range(n_b):
            n = int(n_per_annulus[j])
            if n <= 0:
                continue
            task = annulus_task(j, self.edges_nm, n, derive_seed(self.job.job.seed, phase, iteration, j),
                                self.job.job.chunk_size)
            result = self.simulate(task)
            t = result.tallies["cluster_dose"]
            mean[:, j] = np.nan_to_num(t.mean)
            std[:, j] = np.nan_to_num(t.std)
            ion_mean[:, j] = np.nan_to_num(result.tallies["ionization_density"].mean)
        return mean, std, {"ionization_mean_ij": ion_mean, "wall_time_s": time.perf_counter() - t0}

    # -- persistence -------------------------------------------------------------------
    def load_state(self) -> list[IterationRecord]:
        """The finished iterations of this job (``[]`` without a state file)."""
        return self.store.load()

    def save_state(self, records: list[IterationRecord]) -> None:
        """Persist all finished iterations (atomically)."""
        self.store.save(records)

    # -- the two phases ------------------------------------------------------------------
    def optimize(self, settings: OptimizerSettings, resume: bool) -> list[IterationRecord]:
        """The active-learning loop (resumes from ``state_path`` when asked)."""
        history = self.load_state() if resume else []
        start = history[-1].iteration + 1 if history else 1
        q_start = history[-1].q_next if history else None
        if history:
            self.log(f"gnp: resuming the optimisation at iteration {start} ({len(history)} done)")
        records = list(history)

        def evaluate(q, n_j, k):
            self.log(f"gnp: iteration {k}: {int(n_j.sum()):,} primaries over {int((n_j > 0).sum())} annuli")
            mean, std, _ = self.run_annuli(n_j, "optimize", k)
            return mean, std

        def on_iteration(rec: IterationRecord):
            records.append(rec)
            self.save_state(records)
            inner = rec.efficiency[self.shells_nm[:-1] < 200.0 + self.cfg.geometry.np_radius_nm]
            self.log(f"gnp: iteration {rec.iteration}: loss {rec.loss:.4g} (W1 {rec.loss_w1:.3g}, reg {rec.loss_reg:.3g}), "
                     f"W1 to previous q {rec.w1_to_previous:.3g}, q0/p0 = {rec.q_next[0] / self.p[0]:.3g}, "
                     f"median efficiency r<250nm {np.median(inner):.3g} [{rec.sampler}]")

        if start <= settings.max_iterations:
            iterate(evaluate, self.p, self.edges_nm, settings, q_start=q_start, start_iteration=start,
                    on_iteration=on_iteration, history=history)
        return records

    def compare(self, q: np.ndarray, n_primaries: int) -> dict[str, dict[str, np.ndarray]]:
        """Optimised ``q`` against the analog ``p`` at equal N (Fig. 4a)."""
        out = {}
        for name, dist in (("optimized", q), ("analog", self.p)):
            n_j = allocate(dist, n_primaries)
            self.log(f"gnp: comparison run '{name}': {int(n_j.sum()):,} primaries")
            mean_ij, std_ij, extra = self.run_annuli(n_j, f"compare-{name}", 0)
            m, s = combine(self.p, mean_ij, std_ij)
            n_total = int(n_j.sum())
            out[name] = {
                "q": dist, "n_per_annulus": n_j, "mean_ij": mean_ij, "std_ij": std_ij,
                "shell_mean": m, "shell_std": s,
                "cluster_dose_per_fluence_cm2_per_kg": m * self.source_area_cm2,
                "cluster_dose_per_fluence_std_cm2_per_kg": s * self.source_area_cm2,
                "relative_uncertainty": np.where(m > 0, s / np.where(m > 0, m, 1), np.nan),
                "efficiency": efficiency(n_total, m, s),
                "ionization_density_per_fluence_cm2_per_kg": (extra["ionization_mean_ij"] @ self.p) * self.source_area_cm2,
                "wall_time_s": np.float64(extra["wall_time_s"]),
            }
        return out
