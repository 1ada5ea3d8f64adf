"""``hpcmc plot``: PNGs from a results file.

Generic plots for every tally (1-D: mean with a 1σ band and the relative uncertainty beneath;
2-D: a heat map of the mean and one of the relative uncertainty), then the app's own figures,
made by the ``app_plot`` callable the caller passes in (``hpcmc plot`` passes one that
dispatches to :meth:`hpcmc.apps.base.App.plot` of the registered app); this module knows no app.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np

from hpcmc.io.results import open_results, read_tally

__all__ = ["plot_results", "plot_tally"]


def _pyplot():
    import matplotlib  # heavy optional dependency: only when a plot is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # after use("Agg"): no display needed

    return plt


def _axis(tally, dim: int, size: int):
    """Bin centres and a label for axis ``dim`` (edges if the tally has them)."""
    items = list(tally.edges.items())
    if dim < len(items) and len(items[dim][1]) == size + 1:
        name, edges = items[dim]
        return 0.5 * (edges[:-1] + edges[1:]), edges, name
    return np.arange(size), np.arange(size + 1) - 0.5, "bin"


def plot_tally(tally, outdir: Path, title: str = "") -> Path | None:
    """Plot one tally; returns the PNG path (``None`` for a single-bin tally)."""
    plt = _pyplot()
    mean = np.atleast_1d(tally.mean)
    std = np.atleast_1d(tally.std)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(mean != 0, std / np.abs(mean), np.nan)
    squeezed = mean.squeeze()
    if squeezed.ndim == 0:
        return None
    path = outdir / f"tally_{tally.name}.png"
    if squeezed.ndim == 1:
        x, edges, xlabel = _axis(tally, 0, squeezed.size)
        fig, (ax, axr) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
        m, s = mean.ravel(), std.ravel()
        ax.step(edges, np.append(m, m[-1]), where="post", color="C0", label="mean")
        ax.fill_between(edges, np.append(m - s, m[-1] - s[-1]), np.append(m + s, m[-1] + s[-1]),
                        step="post", color="C0", alpha=0.3, label="±1σ")
        ax.set_ylabel(f"{tally.name} [{tally.unit}]")
        ax.legend()
        axr.step(edges, np.append(rel.ravel(), rel.ravel()[-1]), where="post", color="C3")
        axr.set_ylabel("σ / mean")
        axr.set_xlabel(xlabel)
        if np.all(np.isfinite(rel)) and np.nanmax(rel) / max(np.nanmin(rel), 1e-300) > 100:
            axr.set_yscale("log")
    else:
        data = mean.reshape(mean.shape[0], -1)
        reld = rel.reshape(data.shape)
        _, e0, l0 = _axis(tally, 0, data.shape[0])
        _, e1, l1 = _axis(tally, 1, data.shape[1])
        fig, axes = plt.subplots(1, 2, figsize=(12, 5))
        for ax, d, lab in ((axes[0], data, f"mean [{tally.unit}]"), (axes[1], reld, "σ / mean")):
            im = ax.pcolormesh(e1, e0, d, shading="flat")
            fig.colorbar(im, ax=ax, label=lab)
            ax.set_xlabel(l1)
            ax.set_ylabel(l0)
    fig.suptitle(title or f"{tally.name}  (n = {tally.n:,} histories)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_results(results_path: str, outdir: str | None = None,
                 app_plot: Optional[Callable[[str, str, str], list]] = None) -> list[Path]:
    """Write the generic tally plots and the app's plots; return the PNG paths.

    Parameters
    ----------
    results_path : str
        Results file (HDF5).
    outdir : str, optional
        Directory for the PNGs; default: ``<results stem>_plots`` beside the file.
    app_plot : callable, optional
        ``app_plot(app_name, results_path, outdir) -> list of paths``: the figures of the app
        named in the file (called only if the file names one); ``None``: generic plots only.
    """
    out = Path(outdir) if outdir else Path(results_path).with_suffix("").parent / (Path(results_path).stem + "_plots")
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    with open_results(results_path) as h5:
        app = h5.attrs.get("app", "")
        app = app.decode() if isinstance(app, bytes) else str(app)
        tallies = [read_tally(h5["tallies"][k]) for k in h5["tallies"]] if "tallies" in h5 else []
    for tally in tallies:
        p = plot_tally(tally, out)
        if p is not None:
            paths.append(p)
    if app and app_plot is not None:
        paths += [Path(p) for p in app_plot(app, results_path, str(out))]
    return paths
