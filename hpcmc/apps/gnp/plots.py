"""Figures of a gnp results file, after Thomas et al. (2025), Figs. 4–8."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hpcmc.io.results import open_results

__all__ = ["plot_gnp"]


def _plt():
    import matplotlib  # heavy optional dependency: only when a plot is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # after use("Agg"): no display needed

    return plt


def _iterations(h5):
    if "optimizer" not in h5:
        return []
    keys = sorted(h5["optimizer"], key=lambda s: int(s.split("_")[1]))
    return [h5["optimizer"][k] for k in keys]


def _centres(edges):
    e = np.asarray(edges)
    return 0.5 * (e[:-1] + e[1:])


def _fig4a(h5, out: Path, plt) -> Path | None:
    if "comparison" not in h5:
        return None
    r = h5["gnp/shell_edges_nm"][()]
    rc = np.sqrt(r[:-1] * r[1:])
    fig, (ax, axr) = plt.subplots(2, 1, figsize=(7.5, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    for name, colour in (("optimized", "C0"), ("analog", "C3")):
        if name not in h5["comparison"]:
            continue
        g = h5["comparison"][name]
        m = g["cluster_dose_per_fluence_cm2_per_kg"][()]
        s = g["cluster_dose_per_fluence_std_cm2_per_kg"][()]
        n = int(np.sum(g["n_per_annulus"][()]))
        m = np.where(m > 0, m, np.nan)  # shells where nothing was scored are left out
        lower = np.maximum(m - s, m / 20)  # a band reaching (nearly) zero is drawn to μ/20 on the log axis
        ax.plot(rc, m, "o-", ms=3, color=colour, label=f"{name} (N = {n:.2g}; {int(np.isfinite(m).sum())} shells scored)")
        ax.fill_between(rc, lower, m + s, color=colour, alpha=0.25)
        axr.plot(rc, g["relative_uncertainty"][()], "o-", ms=3, color=colour)
    ax.set_xscale("log")
    if any(np.any(h5["comparison"][n]["cluster_dose_per_fluence_cm2_per_kg"][()] > 0) for n in h5["comparison"]):
        ax.set_yscale("log")  # shells with nothing scored drop out of the plot
    ax.set_ylabel(r"$\langle g_{F_4}\rangle_{r_i}/\phi_0$  [cm$^2$ kg$^{-1}$]")
    ax.legend()
    np_r = float(h5["gnp"].attrs["np_radius_nm"])
    ax.axvline(np_r + 200, color="0.5", ls=":", lw=1)
    ax.text(np_r + 200, ax.get_ylim()[1], " NP surface + 200 nm", va="top", fontsize=8, color="0.4")
    axr.set_yscale("log")
    axr.set_ylabel(r"$\sigma/\mu$")
    axr.set_xlabel("distance from the NP centre r  [nm]")
    fig.suptitle(f"F{int(h5['gnp'].attrs['cluster_min_size'])} cluster dose around a "
                 f"{h5['gnp'].attrs['np_material']} NP (cf. Thomas et al. (2025), Fig. 4a)")
    fig.tight_layout()
    path = out / "gnp_fig4a_cluster_dose.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _final_q(h5):
    if "comparison" in h5 and "optimized" in h5["comparison"]:
        return h5["comparison/optimized/q"][()]
    its = _iterations(h5)
    return its[-1]["q_next"][()] if its else None


def _fig4b_5(h5, out: Path, plt) -> list[Path]:
    q = _final_q(h5)
    if q is None:
        return []
    e = h5["gnp/annulus_edges_nm"][()]
    p = h5["gnp/p"][()]
    paths = []
    x = np.concatenate([[max(e[1] / 3, 1.0)], e[1:]])  # draw annulus 0 on a log axis from b_1/3
    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.stairs(p, x, color="C3", label="initial q = p (uniform irradiation)")
    ax.stairs(q, x, color="C0", label="optimised q")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("impact parameter b  [nm] (annulus 0 drawn from b₁/3)")
    ax.set_ylabel("probability mass per annulus")
    ax.legend()
    ax.set_title("importance distribution (cf. Thomas et al. (2025), Fig. 4b)")
    fig.tight_layout()
    paths.append(out / "gnp_fig4b_q_vs_p.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.stairs(q / p, x, color="C0")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("impact parameter b  [nm]")
    ax.set_ylabel(r"$q_j/p_j$  (primaries per area relative to uniform)")
    ax.set_title(f"q/p (cf. Thomas et al. (2025), Fig. 5): annulus 0 = {q[0] / p[0]:.3g}, annulus 1 = {q[1] / p[1]:.3g}")
    fig.tight_layout()
    paths.append(out / "gnp_fig5_q_over_p.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths


def _fig6(h5, out: Path, plt) -> Path | None:
    its = _iterations(h5)
    if not its:
        return None
    rows = [np.cumsum(its[0]["q_used"][()])] + [np.cumsum(g["q_next"][()]) for g in its]
    data = np.array(rows)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    ax1.step(np.arange(data.shape[1]), data[0], where="mid", color="C3", label="initial")
    ax1.step(np.arange(data.shape[1]), data[-1], where="mid", color="C0", label="final")
    ax1.set_xlabel("annulus j")
    ax1.set_ylabel("CDF Q(b_{j+1})")
    ax1.legend()
    im = ax2.imshow(data, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    ax2.set_xlabel("annulus j")
    ax2.set_ylabel("iteration k (0 = initial)")
    fig.colorbar(im, ax=ax2, label="CDF")
    fig.suptitle("CDFs of the importance distribution over iterations (cf. Thomas et al. (2025), Fig. 6)")
    fig.tight_layout()
    path = out / "gnp_fig6_cdf_heatmap.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _fig7(h5, out: Path, plt) -> Path | None:
    its = _iterations(h5)[:3]
    if not its:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for k, g in enumerate(its):
        u = g["u_raw"][()]
        us = g["u_smoothed"][()]
        norm = u.sum() if u.sum() > 0 else 1.0
        j = np.arange(u.size)
        ax.plot(j, u / norm, "o", color=f"C{k}", ms=4, label=f"iteration {g.attrs['iteration']}: raw")
        ax.plot(j, us / (us.sum() if us.sum() > 0 else 1.0), "-", color=f"C{k}", label="smoothed (eq. 6)")
    ax.set_yscale("log")
    ax.set_xlabel("annulus j")
    ax.set_ylabel("normalised importance score u_j")
    ax.legend(fontsize=8)
    ax.set_title("importance scores (cf. Thomas et al. (2025), Fig. 7)")
    fig.tight_layout()
    path = out / "gnp_fig7_importance_scores.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _fig8(h5, out: Path, plt) -> Path | None:
    its = _iterations(h5)
    if not its:
        return None
    k = [int(g.attrs["iteration"]) for g in its]
    r = h5["gnp/shell_edges_nm"][()][:-1]
    inner = r < float(h5["gnp"].attrs["np_radius_nm"]) + 200.0
    eff = np.array([np.mean(g["efficiency"][()][inner]) for g in its])
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    axes[0].plot(k, eff, "o-")
    if np.any(eff > 0):
        axes[0].set_yscale("log")
    axes[0].set_ylabel("mean 1/(N δ²), shells r < r_NP + 200 nm")
    axes[1].semilogy(k, [g.attrs["w1_to_previous"] for g in its], "o-")
    axes[1].set_ylabel("W1(q⁽ᵏ⁾, q⁽ᵏ⁻¹⁾) / b_max")
    axes[2].plot(k, [g.attrs["loss"] for g in its], "o-", label="L")
    axes[2].plot(k, [g.attrs["loss_w1"] for g in its], "s--", label="L_W1")
    axes[2].plot(k, [g.attrs["loss_reg"] * float(h5["gnp"].attrs["lambda"]) for g in its], "^:", label="λ L_reg")
    axes[2].legend()
    axes[2].set_ylabel("loss at the optimum")
    for ax in axes:
        ax.set_xlabel("iteration k")
    fig.suptitle("optimisation metrics (cf. Thomas et al. (2025), Fig. 8)")
    fig.tight_layout()
    path = out / "gnp_fig8_metrics.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_gnp(results_path: str, outdir: str) -> list[str]:
    """All gnp figures that the file has data for; returns their paths."""
    plt = _plt()
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list = []
    with open_results(results_path) as h5:
        if "gnp" not in h5:
            return []
        for fn in (_fig4a, _fig6, _fig7, _fig8):
            p = fn(h5, out, plt)
            if p is not None:
                paths.append(p)
        paths += _fig4b_5(h5, out, plt)
    return [str(p) for p in paths]
