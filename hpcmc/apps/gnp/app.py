"""The gnp app: configuration, problem, driver and gateway mapping (seed 000)."""
from __future__ import annotations

import os

import numpy as np

from hpcmc.apps.base import App, RunContext
from hpcmc.apps.gnp.config import GnpConfig
from hpcmc.apps.gnp.driver import GnpDriver
from hpcmc.apps.gnp.estimator import analog_efficiency_from_strata
from hpcmc.apps.gnp.optimizer import OptimizerSettings
from hpcmc.runtime.optimizer_state import optimizer_state_path, record_to_group
from hpcmc.runtime.task import Task

__all__ = ["GnpApp", "APP"]


class GnpApp(App):
    name = "gnp"
    config_class = GnpConfig

    def make_problem(self, job):
        from hpcmc.apps.gnp.problem import GnpProblem

        return GnpProblem(job)

    # -- gateway ---------------------------------------------------------------------
    def task_from_request(self, job, fields) -> Task:
        from hpcmc.apps.gnp.driver import annulus_task

        n = int(fields.get("n_primaries", 0))
        if not 1 <= n <= job.gateway.max_histories:
            raise ValueError(f"gnp.n_primaries must be in [1, {job.gateway.max_histories}], got {n}")
        lo, hi = float(fields.get("b_lower_nm", -1.0)), float(fields.get("b_upper_nm", -1.0))
        b_max = _b_max_nm(job)
        if not (np.isfinite(lo) and np.isfinite(hi) and 0.0 <= lo < hi <= b_max * (1 + 1e-12)):
            raise ValueError(f"gnp annulus must satisfy 0 <= b_lower_nm < b_upper_nm <= {b_max:g} nm, "
                             f"got b_lower_nm={lo!r}, b_upper_nm={hi!r}")
        seed = int(fields.get("seed", 0))
        if not 0 <= seed < 2**63:
            raise ValueError(f"gnp.seed must be in [0, 2**63), got {seed}")
        task = annulus_task(0, np.array([lo, hi]), n, seed, job.job.chunk_size)
        # the annulus index is informational only; keep it when the edges are the job's own
        edges = _edges(job)
        match = np.flatnonzero(np.isclose(edges[:-1], lo, rtol=1e-12, atol=0) & np.isclose(edges[1:], hi, rtol=1e-12, atol=0))
        params = dict(task.params, annulus=int(match[0]) if match.size else -1)
        return Task(app=self.name, params=params, n_histories=n, seed=seed, chunk_size=job.job.chunk_size)

    def request_fields(self, task: Task) -> dict:
        """The gateway request of a task (inverse of :meth:`task_from_request`)."""
        return {"n_primaries": task.n_histories, "b_lower_nm": task.params["b_lower_nm"],
                "b_upper_nm": task.params["b_upper_nm"], "seed": task.seed}

    # -- driver ----------------------------------------------------------------------------
    def state_files(self, job, output: str) -> list[str]:
        files = [optimizer_state_path(output)]
        if not job.app.optimizer.storage:
            files.append(f"{os.path.abspath(output)}.optuna.db")
        return files

    def run(self, job, ctx: RunContext) -> None:
        cfg: GnpConfig = job.app
        out = ctx.results.path
        state_path, *db = self.state_files(job, out)
        storage = cfg.optimizer.storage or f"sqlite:///{db[0]}"
        if not ctx.resume:
            for stale in self.state_files(job, out):
                if os.path.exists(stale):
                    os.remove(stale)  # a fresh run starts a fresh study (the CLI refused without --force)
        driver = GnpDriver(job, ctx.simulate, ctx.log, state_path)
        self._write_setup(ctx, driver)
        oc = cfg.optimizer
        settings = OptimizerSettings(
            n_primaries=job.job.n_histories, lam=oc.lam, alpha=oc.alpha, smoothing_sigma_bins=oc.smoothing_sigma_bins,
            n_trials=oc.n_trials, theta_min=oc.theta_min, sampler=oc.sampler, max_iterations=oc.max_iterations,
            tolerance=oc.tolerance, patience=oc.patience, seed=job.job.seed, storage=storage,
            study_prefix=f"gnp-{job.job.seed}",
        )
        if cfg.mode == "optimize":
            records = driver.optimize(settings, resume=ctx.resume)
            g = ctx.results.group("optimizer")
            g.attrs["optuna_storage"] = storage
            for rec in records:
                record_to_group(g.create_group(f"iteration_{rec.iteration}"), rec)
            q_final = records[-1].q_next
        else:
            q_final = _q_from_file(cfg.q_file)
        if cfg.comparison.enabled:
            comp = driver.compare(q_final, cfg.comparison.n_primaries)
            self._write_comparison(ctx, driver, comp)
        else:
            ctx.results.group("gnp")["q_final"] = q_final

    def _write_setup(self, ctx: RunContext, d: GnpDriver) -> None:
        cfg = d.cfg
        g = ctx.results.group("gnp")
        g["annulus_edges_nm"] = d.edges_nm
        g["p"] = d.p
        g["shell_edges_nm"] = d.shells_nm
        g.attrs.update({
            "np_radius_nm": cfg.geometry.np_radius_nm, "np_material": cfg.geometry.np_material,
            "cluster_min_size": cfg.scoring.cluster_min_size, "target_diameter_nm": cfg.scoring.target_diameter_nm,
            "source_area_cm2": d.source_area_cm2, "lambda": cfg.optimizer.lam,
            "units": "per-primary tallies in 1/kg (F_k clusters per kg of water in the shell); "
                     "per-fluence values multiply by the source area A = pi b_max^2 [cm2] (phi_0 = N/A)",
        })

    def _write_comparison(self, ctx: RunContext, d: GnpDriver, comp: dict) -> None:
        g = ctx.results.group("comparison")
        for name, data in comp.items():
            sub = g.create_group(name)
            for k, v in data.items():
                sub[k] = v
        opt, ana = comp["optimized"], comp["analog"]
        inner = d.shells_nm[:-1] < d.cfg.geometry.np_radius_nm + 200.0
        gain, bound = efficiency_gain(opt, ana, inner)
        g["efficiency_gain"] = gain
        g["efficiency_gain_is_lower_bound"] = bound
        eff_strata = analog_efficiency_from_strata(d.p, opt["n_per_annulus"], opt["mean_ij"], opt["std_ij"])
        with np.errstate(divide="ignore", invalid="ignore"):
            gain_strata = np.where(eff_strata > 0, opt["efficiency"] / eff_strata, np.nan)
        g["analog_efficiency_from_strata"] = eff_strata
        g["efficiency_gain_from_strata"] = gain_strata
        q0p0 = opt["q"][0] / d.p[0]
        g.attrs["q0_over_p0"] = q0p0
        ctx.log(f"gnp: optimised q puts {q0p0:.3g}x more primaries per area on the NP annulus than p")
        fin_s = gain_strata[inner & np.isfinite(gain_strata)]
        if fin_s.size:
            ctx.log(f"gnp: efficiency gain in shells r < r_NP + 200 nm, analog efficiency estimated from the "
                    f"optimised run's strata: min {fin_s.min():.3g}, median {np.median(fin_s):.3g}")
        finite = gain[inner & np.isfinite(gain)]
        if finite.size:
            ctx.log(f"gnp: efficiency gain in shells r < r_NP + 200 nm: min {finite.min():.3g}, "
                    f"median {np.median(finite):.3g} ({int(bound[inner].sum())} shell(s) are lower bounds: "
                    "the analog run scored nothing there)")

    def plot(self, results_path: str, outdir: str) -> list[str]:
        from hpcmc.apps.gnp.plots import plot_gnp

        return plot_gnp(results_path, outdir)


def efficiency_gain(opt: dict, ana: dict, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-shell efficiency ratio optimised/analog at equal N, and where it is a lower bound.

    Where the analog run scored nothing, its efficiency 1/(N δ²) is bounded: for a per-history
    score X that is non-zero with probability π, Cauchy–Schwarz gives E[X²] ≥ E[X]²/π, so the
    per-history relative variance is ≥ 1/π − 1 and the efficiency ≤ π/(1 − π) ≈ π. No score
    in N histories means π ≤ 3/N at 95 % confidence (rule of three), hence
    gain ≥ eff_opt · N/3 there (flagged as a lower bound).
    """
    n_ana = float(np.sum(ana["n_per_annulus"]))
    eff_o, eff_a = opt["efficiency"], ana["efficiency"]
    bound = (eff_a <= 0) & (eff_o > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(eff_a > 0, eff_o / np.where(eff_a > 0, eff_a, 1.0), np.nan)
    gain = np.where(bound, eff_o * n_ana / 3.0, gain)
    return gain, bound


def _edges(job):
    from hpcmc.apps.gnp.binning import annulus_edges_nm

    s = job.app.source
    return annulus_edges_nm(s.n_annuli, job.app.geometry.np_radius_nm, s.annuli_per_decade)


def _b_max_nm(job) -> float:
    return float(_edges(job)[-1])


def _q_from_file(path: str) -> np.ndarray:
    from hpcmc.io.results import open_results

    with open_results(path) as h5:
        if "optimizer" not in h5:
            raise ValueError(f"gnp.q_file: {path} holds no /optimizer group (not a gnp optimisation)")
        keys = sorted(h5["optimizer"], key=lambda s: int(s.split("_")[1]))
        return h5["optimizer"][keys[-1]]["q_next"][()]


APP = GnpApp()
