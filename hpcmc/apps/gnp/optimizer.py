"""Active optimisation of the importance distribution over annuli (seed 000 §2.2.2, Fig. 3).

One iteration k:

(B) run ⌊q_j^(k−1) N⌋ primaries on each annulus j → per-primary means ⟨g⟩_ij and standard
    errors (``evaluate``, supplied by the caller: in-process dispatch or a TCP client);
(C) importance scores u (eq. 4), smoothed (eq. 6, σ = ``smoothing_sigma_bins``), target
    q^u ∝ u (eq. 5); loss L(q') = W1(q^u, q')/b_max + λ L_reg(q') (eqs. 7, 8);
(D) minimise L with Optuna (GPSampler; TPESampler when PyTorch is missing, with a warning)
    over θ ∈ [θ_min, 0]^n_b with q'_j = 10^θ_j / Σ_k 10^θ_k — every q'_j > 0, so supp(q') =
    supp(p). The study starts from two enqueued candidates, q^u itself and q^(k−1);
(E) damped update q^(k) = α q^opt + (1 − α) q^(k−1) (eq. 9).

Stop when W1(q^(k), q^(k−1))/b_max stays below ``tolerance`` for ``patience`` iterations, or
after ``max_iterations``. Every iteration's q, u (raw and smoothed), loss terms, efficiency
1/(N δ²) per shell and W1 to the previous q are returned in an :class:`IterationRecord`.

Resumability: the Optuna study of iteration k is named ``"<study_prefix>-iter-<k>"`` in the
storage (an SQLite file by default); the caller persists the records after every iteration
(:class:`hpcmc.runtime.optimizer_state.IterationStore`, driven by :mod:`hpcmc.apps.gnp.driver`),
so a killed optimisation restarts at the first unfinished iteration and a half-finished study
continues with its remaining trials.
"""
from __future__ import annotations

import dataclasses
import logging
import warnings
from typing import Callable, Optional

import numpy as np

from hpcmc.apps.gnp.binning import allocate
from hpcmc.apps.gnp.estimator import (
    combine,
    efficiency,
    gaussian_smooth,
    importance_scores,
    loss,
    wasserstein1,
)

__all__ = ["OptimizerSettings", "IterationRecord", "make_sampler", "optimize_q", "iterate", "q_from_theta"]

log = logging.getLogger("hpcmc.gnp")

#: ``evaluate(q, n_per_annulus, iteration) -> (mean_ij, std_ij)`` with shape (n_r, n_b).
Evaluate = Callable[[np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray]]


@dataclasses.dataclass(frozen=True)
class OptimizerSettings:
    """Numerical settings of the loop (defaults: the paper's where it gives them)."""

    n_primaries: int = 1_000_000  # N per iteration (§2.2.2)
    lam: float = 0.08  # λ of eq. 8
    alpha: float = 0.5  # damping of eq. 9 (the paper leaves α ∈ (0, 1] open)
    smoothing_sigma_bins: float = 2.0  # σ of eq. 6 (Fig. 7)
    n_trials: int = 100  # Optuna trials per iteration
    theta_min: float = -12.0  # log10 lower bound of the unnormalised masses
    sampler: str = "gp"  # "gp" (Optuna GPSampler) or "tpe"
    max_iterations: int = 20
    tolerance: float = 1e-3  # on W1(q^(k), q^(k−1))/b_max
    patience: int = 3
    seed: int = 1
    storage: Optional[str] = None  # Optuna storage URL; None = in memory
    study_prefix: str = "gnp"


@dataclasses.dataclass
class IterationRecord:
    """What one iteration produced (all arrays over annuli j or shells i)."""

    iteration: int
    q_used: np.ndarray  # q^(k−1), the distribution the MC ran with
    n_per_annulus: np.ndarray
    mean_ij: np.ndarray
    std_ij: np.ndarray
    shell_mean: np.ndarray  # eq. 2/3
    shell_std: np.ndarray
    u_raw: np.ndarray  # eq. 4
    u_smoothed: np.ndarray  # eq. 6
    q_target: np.ndarray  # q^u, eq. 5
    q_opt: np.ndarray  # argmin of eq. 8
    q_next: np.ndarray  # q^(k), eq. 9
    loss: float
    loss_w1: float
    loss_reg: float
    efficiency: np.ndarray  # 1/(N δ²) per shell
    w1_to_previous: float  # W1(q^(k), q^(k−1)) / b_max
    sampler: str


def q_from_theta(theta: np.ndarray) -> np.ndarray:
    """``q_j = 10^θ_j / Σ_k 10^θ_k`` (computed stably)."""
    t = np.asarray(theta, float)
    w = 10.0 ** (t - t.max())
    return w / w.sum()


def _theta_from_q(q: np.ndarray, theta_min: float) -> np.ndarray:
    q = np.asarray(q, float)
    return np.clip(np.log10(np.maximum(q / q.max(), 10.0**theta_min)), theta_min, 0.0)


def make_sampler(kind: str, seed: int):
    """Optuna's GPSampler (needs PyTorch) or TPESampler; falls back to TPE with a warning."""
    import optuna

    if kind == "gp":
        try:
            import torch  # noqa: F401
        except ImportError:
            warnings.warn(
                "PyTorch is not installed, so Optuna's GPSampler cannot run; using TPESampler "
                "instead (install the 'gp' extra: pip install 'hpcmc[gp]')",
                RuntimeWarning,
                stacklevel=2,
            )
            kind = "tpe"
        else:
            return optuna.samplers.GPSampler(seed=seed, deterministic_objective=True), "gp"
    if kind != "tpe":
        raise ValueError(f"gnp.optimizer.sampler must be 'gp' or 'tpe', got {kind!r}")
    return optuna.samplers.TPESampler(seed=seed, multivariate=True), "tpe"


def optimize_q(q_target: np.ndarray, q_previous: np.ndarray, edges: np.ndarray, settings: OptimizerSettings,
               iteration: int) -> tuple[np.ndarray, tuple[float, float, float], str]:
    """Minimise eq. 8 over q' with Optuna; return ``(q_opt, (L, L_W1, L_reg), sampler_used)``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    n_b = q_target.size
    sampler, used = make_sampler(settings.sampler, settings.seed + 7919 * iteration)
    name = f"{settings.study_prefix}-iter-{iteration}"
    study = optuna.create_study(storage=settings.storage, study_name=name, direction="minimize",
                                sampler=sampler, load_if_exists=True)
    names = [f"theta_{j:02d}" for j in range(n_b)]
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not study.trials:  # a fresh study starts from the target and from where we are
        for q0 in (q_target, q_previous):
            study.enqueue_trial(dict(zip(names, _theta_from_q(q0, settings.theta_min))))

    def objective(trial):
        theta = np.array([trial.suggest_float(n, settings.theta_min, 0.0) for n in names])
        return loss(q_from_theta(theta), q_target, edges, settings.lam)[0]

    remaining = settings.n_trials - len(done)
    if remaining > 0:
        study.optimize(objective, n_trials=remaining, gc_after_trial=False)
    best = study.best_trial
    q_opt = q_from_theta(np.array([best.params[n] for n in names]))
    return q_opt, loss(q_opt, q_target, edges, settings.lam), used


def iterate(evaluate: Evaluate, p: np.ndarray, edges: np.ndarray, settings: OptimizerSettings,
            q_start: Optional[np.ndarray] = None, start_iteration: int = 1,
            on_iteration: Optional[Callable[[IterationRecord], None]] = None,
            history: Optional[list] = None) -> list[IterationRecord]:
    """Run iterations ``start_iteration..max_iterations`` (stopping early on convergence).

    Parameters
    ----------
    evaluate : callable
        ``(q, n_per_annulus, iteration) -> (mean_ij, std_ij)``.
    p : (n_b,) array
        Physical masses (eq. A.5); also the initial q.
    edges : (n_b + 1,) array
        Annulus edges  [nm].
    q_start : array, optional
        q^(start_iteration − 1) when resuming.
    on_iteration : callable, optional
        Called with each record as soon as it exists (persist it there).
    history : list, optional
        Records of earlier iterations (for the convergence test when resuming).
    """
    records = list(history or [])
    q = np.asarray(p if q_start is None else q_start, float)
    calm = sum(1 for _ in _trailing_calm(records, settings.tolerance))
    for k in range(start_iteration, settings.max_iterations + 1):
        n_j = allocate(q, settings.n_primaries)
        mean_ij, std_ij = evaluate(q, n_j, k)
        shell_mean, shell_std = combine(p, mean_ij, std_ij)
        u_raw = importance_scores(p, mean_ij)
        u_s = gaussian_smooth(u_raw, settings.smoothing_sigma_bins)
        if u_s.sum() > 0:
            q_target = u_s / u_s.sum()
        else:  # nothing scored yet: keep the current distribution as the target
            log.warning("iteration %d: no cluster scored in any shell; the target stays q^(k-1)", k)
            q_target = q.copy()
        q_opt, (l_tot, l_w1, l_reg), used = optimize_q(q_target, q, edges, settings, k)
        q_next = settings.alpha * q_opt + (1.0 - settings.alpha) * q
        q_next /= q_next.sum()
        w1_prev = wasserstein1(q_next, q, edges) / edges[-1]
        rec = IterationRecord(
            iteration=k, q_used=q, n_per_annulus=n_j, mean_ij=mean_ij, std_ij=std_ij,
            shell_mean=shell_mean, shell_std=shell_std, u_raw=u_raw, u_smoothed=u_s, q_target=q_target,
            q_opt=q_opt, q_next=q_next, loss=l_tot, loss_w1=l_w1, loss_reg=l_reg,
            efficiency=efficiency(int(n_j.sum()), shell_mean, shell_std), w1_to_previous=w1_prev, sampler=used,
        )
        records.append(rec)
        if on_iteration is not None:
            on_iteration(rec)
        q = q_next
        calm = calm + 1 if w1_prev < settings.tolerance else 0
        if calm >= settings.patience:
            log.info("converged after %d iterations (W1/b_max < %g for %d in a row)", k, settings.tolerance, calm)
            break
    return records


def _trailing_calm(records, tolerance):
    for rec in reversed(records):
        if rec.w1_to_previous >= tolerance:
            return
        yield rec
