"""Figures of the ``lem`` app, drawn from a results file (``hpcmc plot``).

* ``lem_survival.png`` — survival vs dose per concentration: the three sigma-LEM forms, the
  baseline LQ curve and the experimental points (paper, Table 4 / Figs. 3–4);
* ``lem_der_vs_energy.png`` — ``K_c`` and DER of monoenergetic beams from 1 keV to 20 MeV
  (paper, Fig. 2) and a zoom on 20–120 keV with the synchrotron DERs and the paper's model
  values (Table 1, Fig. 1);
* ``lem_spectra.png`` — the beams' spectra with their computed ``K_c``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hpcmc.io.results import open_results

__all__ = ["plot_lem"]

_LABELS = {"variance": "variance-only (eq. 33)", "mixed": "mixed term (eq. 35)",
           "second_order": "second order (eq. 42)"}


def _pyplot():
    import matplotlib  # heavy optional dependency: only when a plot is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # after use("Agg"): no display needed

    return plt


def _survival_figure(plt, sg, path: Path) -> Path:
    groups = sorted((sg[k] for k in sg if k.startswith("c")), key=lambda g: g.attrs["concentration_mM"])
    base = next((g for g in groups if g.attrs["concentration_mM"] == 0), None)
    enhanced = [g for g in groups if g.attrs["concentration_mM"] > 0]
    dose = sg["dose_Gy"][()]
    fig, axes = plt.subplots(1, max(len(enhanced), 1), figsize=(5 * max(len(enhanced), 1), 4.6), sharey=True,
                             squeeze=False)
    for ax, g in zip(axes[0], enhanced):
        c = g.attrs["concentration_mM"]
        ax.plot(dose, sg["sf_baseline"][()], color="0.4", lw=1.2, label="0 mM (LQ baseline)")
        if base is not None and base["exp_dose_Gy"].size:
            ax.plot(base["exp_dose_Gy"][()], base["exp_sf"][()], "s", color="0.4", mfc="none", label="0 mM data")
        for i, m in enumerate(("variance", "mixed", "second_order")):
            d80 = g["def"][i]
            ax.plot(dose, g[f"sf_{m}"][()], color=f"C{i}", label=f"{_LABELS[m]}, DEF80 {d80:.2f}")
        if g["exp_dose_Gy"].size:
            meas = g.attrs.get("def_measured", 0.0)
            ax.plot(g["exp_dose_Gy"][()], g["exp_sf"][()], "o", color="k",
                    label="data (Rahman/Brown)" + (f", DEF80 {meas:.2f}" if meas else ""))
        ax.axhline(sg.attrs["level"], color="0.7", lw=0.8, ls=":")
        ax.set_title(f"{c:g} mM  (σ = {g.attrs['sigma']:.3f}, DER = {g.attrs['der']:.3f})")
        ax.set_xlabel("baseline dose D$_0$ [Gy]")
        ax.set_ylim(0.4, 1.02)
        ax.set_xlim(0, dose[-1])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    axes[0][0].set_ylabel("surviving fraction")
    fig.suptitle(f"σ-LEM survival, BAEC, K$_c$ = {sg.attrs['kc_per_mM']:.3f} mM$^{{-1}}$, "
                 f"α = {sg.attrs['alpha_per_Gy']:g} Gy$^{{-1}}$, β = {sg.attrs['beta_per_Gy2']:g} Gy$^{{-2}}$")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _der_figure(plt, lem, path: Path) -> Path:
    cg, cal = lem["energy_curve"], lem["calibration"]
    e, kc = cg["energy_keV"][()], cg["kc_per_mM"][()]
    c = cg.attrs["concentration_mM"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    ax1.loglog(e, kc, color="C0", label=f"K$_c$(E), ε·V = {cal.attrs['eps_v_gy_um3']:.3g} Gy µm$^3$ (RMSE fit)")
    if "kc_with_paper_table1_constant" in cg:
        ax1.loglog(e, cg["kc_with_paper_table1_constant"][()], color="C1", ls="--",
                   label="K$_c$(E), ε·V matched to the paper's Table 1")
    for b in lem["beams"].values():
        ax1.plot(b.attrs["mean_energy_keV"], b.attrs["kc_per_mM"], "D", ms=6,
                 label=f"{b.attrs['name']} at <E>: K$_c$ = {b.attrs['kc_per_mM']:.3g}")
        if b.attrs["paper_kc_per_mM"]:
            ax1.plot(b.attrs["mean_energy_keV"], b.attrs["paper_kc_per_mM"], "x", ms=8, color="k")
    ax1.plot([], [], "x", color="k", label="paper's K$_c$ of the beams")
    ax1.set_xlabel("photon energy [keV]")
    ax1.set_ylabel("K$_c$ [mM$^{-1}$]")
    ax1.set_title("monoenergetic K$_c$, 1 keV – 20 MeV (paper Fig. 2)")
    ax1.grid(alpha=0.3, which="both")
    ax1.legend(fontsize=7)
    zoom = (e >= 20) & (e <= 120)
    ax2.plot(e[zoom], 1 + kc[zoom] * c, color="C0", label=f"DER = 1 + K$_c$c (RMSE fit), c = {c:g} mM")
    if "kc_with_paper_table1_constant" in cg:
        ax2.plot(e[zoom], 1 + cg["kc_with_paper_table1_constant"][()][zoom] * c, color="C1", ls="--",
                 label="ε·V matched to the paper's Table 1")
    if "der_measured" in cal:
        ax2.plot(cal["energy_keV"][()], cal["der_measured"][()], "o", color="k",
                 label="synchrotron DEF80 (Rahman 2014; Table 1)")
    if "der_paper_model" in cal:
        ax2.plot(cal["energy_keV"][()], cal["der_paper_model"][()], "s", color="C3", mfc="none",
                 label="paper's model DER (Table 1)")
    ax2.set_xlabel("photon energy [keV]")
    ax2.set_ylabel("DER")
    ax2.set_title(f"DER at {c:g} mM, 20–120 keV")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _spectra_figure(plt, lem, path: Path) -> Path | None:
    beams = [b for b in lem["beams"].values() if b["energy_keV"].size > 1]
    if not beams:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for b in beams:
        e, w = b["energy_keV"][()], b["fluence"][()]
        label = (f"{b.attrs['name']}: <E> = {b.attrs['mean_energy_keV']:.1f} keV, "
                 f"K$_c$ = {b.attrs['kc_per_mM']:.3f} mM$^{{-1}}$")
        ax.plot(e, w / np.sum(w) / np.gradient(e), label=label)
    ax.set_xlabel("photon energy [keV]")
    ax.set_ylabel("fluence per keV (unit area) [keV$^{-1}$]")
    ax.set_xscale("log" if max(b["energy_keV"][-1] for b in beams) > 1000 else "linear")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_lem(results_path: str, outdir: str) -> list[str]:
    """Write the lem figures of ``results_path`` into ``outdir``; return their paths."""
    plt = _pyplot()
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with open_results(results_path) as h5:
        if "lem" not in h5:
            return []
        lem = h5["lem"]
        if "survival" in lem:
            paths.append(_survival_figure(plt, lem["survival"], out / "lem_survival.png"))
        if "energy_curve" in lem:
            paths.append(_der_figure(plt, lem, out / "lem_der_vs_energy.png"))
        if "beams" in lem:
            p = _spectra_figure(plt, lem, out / "lem_spectra.png")
            if p is not None:
                paths.append(p)
    return [str(p) for p in paths]
