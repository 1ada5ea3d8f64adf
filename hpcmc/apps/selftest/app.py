"""The selftest app: configuration, problem, driver and gateway mapping."""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from hpcmc.apps.base import App, RunContext
from hpcmc.apps.selftest.kernel import SlabSettings, SlabTallies, mesh_chunk, slab_chunk
from hpcmc.runtime.problem import Problem
from hpcmc.runtime.rng import stream_key
from hpcmc.runtime.tally import TallySpec
from hpcmc.runtime.task import Task
from hpcmc.schema import option

__all__ = ["SelftestConfig", "SelftestProblem", "SelftestApp", "APP", "expected"]


@dataclasses.dataclass(frozen=True)
class SelftestConfig:
    """The ``[selftest]`` table."""

    mu_per_cm: float = option(1.0, doc="attenuation coefficient of the slab", unit="1/cm", gt=0.0)
    thickness_cm: float = option(2.0, doc="slab thickness", unit="cm", gt=0.0)
    n_bins: int = option(20, doc="depth bins of the first-interaction tally", ge=1, le=100_000)
    work_per_history: int = option(0, doc="extra random draws per history (cost knob)", ge=0, le=10_000_000)
    cost_decades: float = option(0.0, doc="spread of history cost in orders of magnitude", ge=0.0, le=6.0)
    fail_at_history: int = option(
        -1, doc="raise an error when this global history runs (tests the abort path); -1 = never", ge=-1,
        hidden=True,  # a test hook: accepted, but not listed by `hpcmc options` nor suggested
    )
    mesh_n: int = option(0, doc="edge of a cubic mesh tally 'mesh' of random deposits (checks mesh tallies); 0 = none",
                         ge=0, le=512)
    mesh_scores: int = option(8, doc="deposits per history in the mesh tally", ge=1, le=1000)


#: Units and descriptions of the ``/selftest`` datasets (results file format 1.1).
UNITS = (
    ("selftest/expected_track_length", "cm", "closed-form mean track length in the slab per history"),
    ("selftest/expected_*", "1", "closed-form per-history mean of the tally"),
    ("selftest/z_*", "1", "(tally mean - closed-form mean) / standard error, per bin"),
)


def expected(cfg: SelftestConfig) -> dict[str, np.ndarray]:
    """Closed-form per-history means of the three tallies (see the kernel docstring)."""
    mu, L = cfg.mu_per_cm, cfg.thickness_cm
    edges = np.linspace(0.0, L, cfg.n_bins + 1)
    return {
        "first_interaction": np.exp(-mu * edges[:-1]) - np.exp(-mu * edges[1:]),
        "track_length": np.array([-math.expm1(-mu * L) / mu]),
        "transmitted": np.array([math.exp(-mu * L)]),
    }


class SelftestProblem(Problem):
    app = "selftest"

    def __init__(self, cfg: SelftestConfig):
        self.cfg = cfg
        self.edges_cm = np.linspace(0.0, cfg.thickness_cm, cfg.n_bins + 1)
        self.stream_transport = stream_key("transport")
        self.stream_cost = stream_key("cost")
        self.stream_mesh = stream_key("mesh")

    def tally_specs(self, task: Task) -> list[TallySpec]:
        return [
            TallySpec("first_interaction", (self.cfg.n_bins,), "1", {"depth_cm": self.edges_cm},
                      "probability of the first interaction in each depth bin"),
            TallySpec("track_length", (1,), "cm", {}, "track length in the slab, min(s, L)"),
            TallySpec("transmitted", (1,), "1", {}, "probability of crossing the slab without interaction"),
        ] + ([TallySpec("mesh", (self.cfg.mesh_n,) * 3, "1", {}, "random deposits per history (mesh tally check)",
                        kind="mesh")] if self.cfg.mesh_n else [])

    def run_chunk(self, task, state, chunk, tallies) -> None:
        cfg = self.cfg
        n = chunk.n
        fail = cfg.fail_at_history
        failing = chunk.first <= fail < chunk.first + chunk.n
        if failing:
            n = fail - chunk.first
        fi, tl, tr = tallies["first_interaction"], tallies["track_length"], tallies["transmitted"]
        settings = SlabSettings(cfg.mu_per_cm, cfg.thickness_cm, cfg.n_bins, cfg.work_per_history, cfg.cost_decades,
                                self.stream_transport, self.stream_cost)
        sums = SlabTallies(fi.sum_limbs, fi.sum_sq_limbs, tl.sum_limbs, tl.sum_sq_limbs, tr.sum_limbs, tr.sum_sq_limbs)
        slab_chunk(task.seed, chunk.first, n, settings, sums)
        if cfg.mesh_n:
            mesh_chunk(task.seed, chunk.first, n, self.stream_mesh, cfg.mesh_n**3, cfg.mesh_scores,
                       tallies["mesh"].kernel_args())
        if failing:
            raise RuntimeError(f"selftest.fail_at_history = {fail}: injected failure in history {fail}")


class SelftestApp(App):
    name = "selftest"
    config_class = SelftestConfig
    #: A platform check with cheap defaults: ``[job] app = "selftest"`` alone is a job.
    defaults_are_a_job = True

    def make_problem(self, job) -> SelftestProblem:
        return SelftestProblem(job.app)

    def task(self, job, n_histories: int, seed: int) -> Task:
        return Task(app=self.name, params={}, n_histories=n_histories, seed=seed, chunk_size=job.job.chunk_size)

    def planned_histories(self, job) -> int:
        return job.job.n_histories  # one task

    def timing_tasks(self, job, n_histories: int) -> list[tuple[Task, float]]:
        return [(self.task(job, n_histories, job.job.seed), 1.0)]

    def task_from_request(self, job, fields) -> Task:
        n = int(fields.get("n_histories", 0))
        if not 1 <= n <= job.gateway.max_histories:
            raise ValueError(f"selftest.n_histories must be in [1, {job.gateway.max_histories}], got {n}")
        seed = int(fields.get("seed", 0))
        if not 0 <= seed < 2**63:
            raise ValueError(f"selftest.seed must be in [0, 2**63), got {seed}")
        return self.task(job, n, seed)

    def request_fields(self, task: Task) -> dict:
        return {"n_histories": task.n_histories, "seed": task.seed}

    def run(self, job, ctx: RunContext) -> None:
        result = ctx.simulate(self.task(job, job.job.n_histories, job.job.seed))
        ctx.results.write_result(result)
        exp = expected(job.app)
        g = ctx.results.group("selftest")
        worst = 0.0
        for name, mean in exp.items():
            tally = result.tallies[name]
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.where(tally.std > 0, (tally.mean - mean) / tally.std, 0.0)
            g[f"expected_{name}"] = mean
            g[f"z_{name}"] = z
            worst = max(worst, float(np.max(np.abs(z))))
            ctx.log(f"selftest: {name:18s} max |z| = {np.max(np.abs(z)):.2f} over {z.size} bin(s)")
        g.attrs["max_abs_z"] = worst
        ctx.results.annotate(UNITS)
        ctx.results.attach_scale("tallies/first_interaction/edges/depth_cm",
                                 ["selftest/expected_first_interaction", "selftest/z_first_interaction"])
        verdict = "OK" if worst < 5.0 else "SUSPICIOUS (|z| >= 5)"
        ctx.log(f"selftest: {result.tallies['transmitted'].n:,} histories on {result.n_ranks} rank(s) "
                f"in {result.wall_time_s:.2f} s; agreement with the analytic answer: {verdict}")


APP = SelftestApp()
