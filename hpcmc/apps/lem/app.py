"""The ``lem`` app: configuration, the study driver and the results layout.

No transport: :meth:`LemApp.run` does everything on the master (workers of an MPI launch have
no problem to serve and exit at once). The study (``jobs/lem/baec.toml`` reproduces the
paper's BAEC study):

1. beam quality — calibrate ``ε V`` on monoenergetic DERs (or take it from the job), then
   ``k`` and ``K_c`` for every beam, DER at a few concentrations, ``K_c(E)`` from 1 keV to
   20 MeV;
2. survival — σ(c), the three survival forms, DEF at the survival level per form, LQ fits,
   the experimental points and the paper's values beside them.

Results (all under ``/lem``)::

    /lem                      attrs: medium, eps_v_gy_um3, kc_survival_per_mM, ...
    /lem/calibration          energy_keV, der_measured, der_model, used, der_paper_model
    /lem/beams/<k>_<name>     energy_keV, fluence, concentration_mM, der; attrs kc_per_mM, ...
    /lem/energy_curve         energy_keV, kc_per_mM, der; attrs concentration_mM
    /lem/survival             dose_Gy, sf_baseline, model (the forms); attrs alpha, beta, kc, xi, level
    /lem/survival/c<c>mM      sf_<model>, def, def_paper, lq_*, exp_dose_Gy, exp_sf, ...
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import h5py
import numpy as np

from hpcmc.apps.base import App, RunContext
from hpcmc.apps.lem import model as lem_model
from hpcmc.apps.lem import photon
from hpcmc.apps.lem.plots import plot_lem
from hpcmc.io.results import set_units
from hpcmc.schema import option

__all__ = [
    "BeamConfig",
    "CalibrationConfig",
    "EnergyCurveConfig",
    "SurvivalDataConfig",
    "SurvivalConfig",
    "LemConfig",
    "LemApp",
    "APP",
    "make_spectrum",
    "run_study",
]


@dataclasses.dataclass(frozen=True)
class BeamConfig:
    """One ``[[lem.beams]]`` entry: a photon beam whose ``K_c`` is computed."""

    name: str = option(doc="label of the beam (e.g. '100 kVp')")
    kind: str = option("spekpy", doc="mono (one line), spekpy (tube spectrum) or file (user spectrum)",
                       choices=("mono", "spekpy", "file"))
    energy_keV: float = option(0.0, doc="photon energy of a mono beam", unit="keV", ge=0.0, le=20000.0)
    kvp: float = option(100.0, doc="tube potential of a spekpy beam", unit="kV", ge=10.0, le=300.0)
    anode_angle_deg: float = option(12.0, doc="anode angle of a spekpy beam", unit="deg", gt=0.0, lt=90.0)
    filters: tuple[str, ...] = option(("Be", "Al"), doc="filter materials of a spekpy beam (spekpy names)")
    filter_mm: tuple[float, ...] = option((0.8, 3.9), doc="filter thicknesses, one per material", unit="mm",
                                          ge=0.0)
    dk_keV: float = option(0.5, doc="energy bin width of a spekpy beam", unit="keV", gt=0.0, le=10.0)
    path: str = option("", doc="spectrum file of a file beam (two columns: energy, fluence per bin); "
                               "relative paths are relative to the job file")
    energy_unit: str = option("MeV", doc="energy unit of the spectrum file", choices=("keV", "MeV"))
    paper_kc_per_mM: float = option(0.0, doc="K_c the paper reports for this beam (0 = none)", unit="1/mM",
                                    ge=0.0)

    def __post_init__(self):
        if self.kind == "mono" and not self.energy_keV >= 1.0:
            raise ValueError(f"beam {self.name!r}: a mono beam needs energy_keV >= 1, got {self.energy_keV}")
        if self.kind == "file" and not self.path:
            raise ValueError(f"beam {self.name!r}: a file beam needs path = \"...\"")
        if self.kind == "spekpy" and len(self.filters) != len(self.filter_mm):
            raise ValueError(f"beam {self.name!r}: filters and filter_mm need one entry each, got "
                             f"{len(self.filters)} and {len(self.filter_mm)}")


@dataclasses.dataclass(frozen=True)
class CalibrationConfig:
    """The ``[lem.calibration]`` table: how ``ε V`` is obtained."""

    eps_v_gy_um3: float = option(0.0, doc="calibration constant eps*V; 0 = fit it to der_measured",
                                 unit="Gy um^3", ge=0.0)
    energies_keV: tuple[float, ...] = option((), doc="energies of the monoenergetic DER data", unit="keV",
                                             ge=1.0, le=20000.0)
    der_measured: tuple[float, ...] = option((), doc="measured DER (DEF80) at each energy", ge=0.0)
    concentration_mM: float = option(1.0, doc="gold concentration of the DER data", unit="mM", gt=0.0)
    min_energy_keV: float = option(0.0, doc="leave data below this energy out of the fit (0 = use all)",
                                   unit="keV", ge=0.0)
    paper_der_model: tuple[float, ...] = option((), doc="the paper's model DER at each energy, for comparison",
                                                ge=0.0)

    def __post_init__(self):
        if len(self.energies_keV) != len(self.der_measured):
            raise ValueError(f"calibration: energies_keV and der_measured need equal lengths, got "
                             f"{len(self.energies_keV)} and {len(self.der_measured)}")
        if self.paper_der_model and len(self.paper_der_model) != len(self.energies_keV):
            raise ValueError("calibration: paper_der_model needs one value per energy")
        if self.eps_v_gy_um3 == 0.0 and not self.der_measured:
            raise ValueError("calibration: give eps_v_gy_um3 > 0 or data (energies_keV, der_measured) to fit it")


@dataclasses.dataclass(frozen=True)
class EnergyCurveConfig:
    """The ``[lem.energy_curve]`` table: K_c and DER of monoenergetic beams over a log grid."""

    emin_keV: float = option(1.0, doc="lowest energy", unit="keV", ge=1.0, le=20000.0)
    emax_keV: float = option(20000.0, doc="highest energy", unit="keV", ge=1.0, le=20000.0)
    points: int = option(400, doc="log-spaced energies (plus points either side of the Au edges)", ge=2,
                         le=100_000)
    concentration_mM: float = option(1.0, doc="concentration of the DER curve", unit="mM", ge=0.0)

    def __post_init__(self):
        if not self.emax_keV > self.emin_keV:
            raise ValueError(f"energy_curve: emax_keV must exceed emin_keV, got {self.emin_keV}..{self.emax_keV}")


@dataclasses.dataclass(frozen=True)
class SurvivalDataConfig:
    """One ``[[lem.survival.datasets]]`` entry: a concentration, its data and the paper's values."""

    concentration_mM: float = option(doc="gold concentration", unit="mM", ge=0.0)
    dose_Gy: tuple[float, ...] = option((), doc="doses of the measured survival points", unit="Gy", ge=0.0)
    sf_measured: tuple[float, ...] = option((), doc="measured surviving fractions", ge=0.0)
    def_measured: float = option(0.0, doc="measured DEF at the survival level (0 = none)", ge=0.0)
    paper_def: tuple[float, ...] = option((), doc="the paper's DEF for (variance, mixed, second_order)", ge=0.0)
    paper_model: str = option("mixed", doc="model of the paper's survival column", choices=lem_model.MODELS)
    paper_sf_model: tuple[float, ...] = option((), doc="the paper's model survival at dose_Gy", ge=0.0)

    def __post_init__(self):
        if len(self.sf_measured) != len(self.dose_Gy):
            raise ValueError(f"dataset c = {self.concentration_mM} mM: dose_Gy and sf_measured need equal lengths")
        if self.paper_sf_model and len(self.paper_sf_model) != len(self.dose_Gy):
            raise ValueError(f"dataset c = {self.concentration_mM} mM: paper_sf_model needs one value per dose")
        if self.paper_def and len(self.paper_def) != len(lem_model.MODELS):
            raise ValueError(f"dataset c = {self.concentration_mM} mM: paper_def needs 3 values "
                             f"({', '.join(lem_model.MODELS)})")


@dataclasses.dataclass(frozen=True)
class SurvivalConfig:
    """The ``[lem.survival]`` table: the survival study."""

    kc_per_mM: float = option(2.111, doc="K_c of the survival study (the paper's 100 kVp value)", unit="1/mM",
                              ge=0.0)
    kc_beam: str = option("", doc="use the computed K_c of this beam (by name) instead of kc_per_mM")
    alpha_per_Gy: float = option(0.0252, doc="LQ alpha without gold", unit="1/Gy", ge=0.0)
    beta_per_Gy2: float = option(0.0013, doc="LQ beta without gold", unit="1/Gy^2", ge=0.0)
    xi: float = option(1.0, doc="splitting factor (variance share of the gain), eq. 25", ge=0.0, le=1.0)
    level: float = option(0.8, doc="survival level of the DEF", gt=0.0, lt=1.0)
    dose_max_Gy: float = option(8.0, doc="upper end of the tabulated curves", unit="Gy", gt=0.0, le=100.0)
    dose_points: int = option(161, doc="doses of the tabulated curves", ge=2, le=100_000)
    fit_dose_max_Gy: float = option(6.0, doc="upper end of the LQ-fit dose grid", unit="Gy", gt=0.0, le=100.0)
    fit_points: int = option(26, doc="doses of the LQ-fit grid (from 0)", ge=3, le=100_000)
    fit_weights: str = option("relative", doc="LQ-fit weights: uniform, or relative (sigma proportional to S)",
                              choices=("uniform", "relative"))
    datasets: tuple[SurvivalDataConfig, ...] = option((), doc="concentrations with data ([[lem.survival.datasets]])")

    def __post_init__(self):
        if self.alpha_per_Gy == 0.0 and self.beta_per_Gy2 == 0.0:
            raise ValueError("survival: alpha_per_Gy and beta_per_Gy2 cannot both be 0")


@dataclasses.dataclass(frozen=True)
class LemConfig:
    """The ``[lem]`` table."""

    calibration: CalibrationConfig = dataclasses.field(metadata=dict(doc="[lem.calibration] (required)"))
    medium: str = option("water", doc="dose medium of mu_en/rho (water stands for the paper's tissue)",
                         choices=photon.MEDIA)
    der_concentrations_mM: tuple[float, ...] = option((0.1, 0.5, 1.0), doc="concentrations of the DER table",
                                                      unit="mM", ge=0.0)
    beams: tuple[BeamConfig, ...] = option((), doc="beams whose K_c is computed ([[lem.beams]])")
    energy_curve: EnergyCurveConfig = dataclasses.field(default_factory=EnergyCurveConfig,
                                                        metadata=dict(doc="[lem.energy_curve]"))
    survival: SurvivalConfig = dataclasses.field(default_factory=SurvivalConfig, metadata=dict(doc="[lem.survival]"))

    def __post_init__(self):
        names = [b.name for b in self.beams]
        if len(set(names)) != len(names):
            raise ValueError(f"beam names must be unique, got {names}")
        if self.survival.kc_beam and self.survival.kc_beam not in names:
            raise ValueError(f"survival.kc_beam = {self.survival.kc_beam!r} names no beam (beams: {names})")


# --------------------------------------------------------------------------------------
def make_spectrum(beam: BeamConfig, base_dir: Optional[Path] = None) -> photon.Spectrum:
    """The spectrum of a ``[[lem.beams]]`` entry (file paths relative to ``base_dir``)."""
    if beam.kind == "mono":
        return photon.Spectrum(np.array([beam.energy_keV]), np.array([1.0]), beam.name)
    if beam.kind == "spekpy":
        return photon.tube_spectrum(beam.kvp, beam.anode_angle_deg, tuple(zip(beam.filters, beam.filter_mm)),
                                    beam.dk_keV, beam.name)
    path = Path(beam.path)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return photon.read_spectrum(path, beam.energy_unit, beam.name)


def _energy_grid(cfg: EnergyCurveConfig) -> np.ndarray:
    """Log grid plus points 1 eV either side of the gold K and L1–L3 edges inside the range  [keV]."""
    import xraylib  # only the energy grid needs it (the study itself does not)

    grid = np.geomspace(cfg.emin_keV, cfg.emax_keV, cfg.points)
    edges = [xraylib.EdgeEnergy(photon.GOLD_Z, s) for s in (xraylib.K_SHELL, xraylib.L1_SHELL,
                                                             xraylib.L2_SHELL, xraylib.L3_SHELL)]
    extra = [e + d for e in edges for d in (-1e-3, 1e-3) if cfg.emin_keV <= e + d <= cfg.emax_keV]
    return np.unique(np.concatenate([grid, extra]))


def _write(group, name: str, data) -> None:
    if name in group:
        del group[name]
    group[name] = np.asarray(data)


def _calibrate(cfg: LemConfig, out, log) -> tuple[float, float]:
    """``ε V`` (fitted or given) and the ``ε V`` matching the paper's Table 1 model column (0 if none)."""
    cal_cfg = cfg.calibration
    g = out.require_group("calibration")
    g.attrs["fitted"] = cal_cfg.eps_v_gy_um3 == 0.0
    if not cal_cfg.der_measured:
        g.attrs["eps_v_gy_um3"] = cal_cfg.eps_v_gy_um3
        log(f"lem: eps*V = {cal_cfg.eps_v_gy_um3:.4g} Gy um^3 (given)")
        return cal_cfg.eps_v_gy_um3, 0.0
    cal = photon.calibrate_eps_v(cal_cfg.energies_keV, cal_cfg.der_measured, cal_cfg.concentration_mM,
                                 cfg.medium, cal_cfg.min_energy_keV)
    eps_v = cal_cfg.eps_v_gy_um3 or cal.eps_v_gy_um3
    x = np.array([photon.kc_per_mM(photon.monoenergetic(e), 1.0, cfg.medium)
                  for e in cal_cfg.energies_keV]) * cal_cfg.concentration_mM  # DER − 1 per unit ε V
    der_model = 1.0 + eps_v * x
    resid = der_model - cal.der_measured
    for name, data in (("energy_keV", cal.energies_keV), ("der_measured", cal.der_measured), ("used", cal.used),
                       ("der_model", der_model)):
        _write(g, name, data)
    g.attrs.update(eps_v_gy_um3=eps_v, concentration_mM=cal_cfg.concentration_mM,
                   min_energy_keV=cal_cfg.min_energy_keV, rmse=float(np.sqrt(np.mean(resid[cal.used] ** 2))),
                   rmse_all=float(np.sqrt(np.mean(resid ** 2))))
    how = "RMSE fit to" if cal_cfg.eps_v_gy_um3 == 0 else "given; compared with"
    log(f"lem: eps*V = {eps_v:.4g} Gy um^3 ({how} {int(np.sum(cal.used))} of {cal.used.size} DER points "
        f"at E >= {cal_cfg.min_energy_keV:g} keV: RMSE {g.attrs['rmse']:.3f}; over all points "
        f"{g.attrs['rmse_all']:.3f})")
    if not cal_cfg.paper_der_model:
        return eps_v, 0.0
    paper = np.asarray(cal_cfg.paper_der_model)
    _write(g, "der_paper_model", paper)
    # the ε V that brings our K_c(E) closest to the paper's own model column: compares shapes only
    eps_v_paper = float(np.sum(x * (paper - 1.0)) / np.sum(x * x))
    g.attrs["eps_v_matching_paper_table1"] = eps_v_paper
    g.attrs["rmse_paper_model"] = float(np.sqrt(np.mean((paper - cal.der_measured) ** 2)))
    log(f"lem: Table 1 at {cal_cfg.concentration_mM:g} mM  E[keV]  DER_meas  DER_paper  ours(RMSE)  "
        f"ours(eps*V = {eps_v_paper:.4g}, matched to the paper)")
    for e, y, p, m, mp in zip(cal_cfg.energies_keV, cal.der_measured, paper, der_model, 1.0 + eps_v_paper * x):
        log(f"lem:                   {e:6.1f}  {y:8.2f}  {p:9.2f}  {m:10.2f}  {mp:8.2f}")
    log(f"lem: RMSE against the measured DERs: paper's column {g.attrs['rmse_paper_model']:.3f}, "
        f"ours {g.attrs['rmse_all']:.3f}")
    return eps_v, eps_v_paper


def _beams(cfg: LemConfig, base_dir: Optional[Path], out, eps_v: float, eps_v_paper: float, log) -> dict:
    """``k``, ``K_c`` and DERs of every beam; returns ``{name: K_c}``."""
    kc_by_beam: dict[str, float] = {}
    conc = np.asarray(cfg.der_concentrations_mM)
    beams = out.require_group("beams")
    for i, beam in enumerate(cfg.beams):
        spec = make_spectrum(beam, base_dir)
        k = photon.ionisations_per_gray(spec, cfg.medium)
        kc = photon.kc_per_mM(spec, eps_v, cfg.medium)
        kc_by_beam[beam.name] = kc
        bg = beams.require_group(f"{i:02d}_{beam.name.replace('/', '_')}")
        for name, data in (("energy_keV", spec.energy_keV), ("fluence", spec.fluence), ("concentration_mM", conc),
                           ("der", lem_model.der(kc, conc))):
            _write(bg, name, data)
        bg.attrs.update(name=beam.name, kind=beam.kind, k_per_gy_nm3=k, kc_per_mM=kc,
                        paper_kc_per_mM=beam.paper_kc_per_mM, mean_energy_keV=spec.mean_energy_keV)
        extra = ""
        if eps_v_paper:
            kc_p = photon.kc_per_mM(spec, eps_v_paper, cfg.medium)
            bg.attrs["kc_with_paper_table1_constant"] = kc_p
            extra = f"; with eps*V matched to the paper's Table 1: {kc_p:.4g}"
        paper = f"; paper {beam.paper_kc_per_mM:.4g}" if beam.paper_kc_per_mM else ""
        ders = ", ".join(f"{d:.4g}" for d in lem_model.der(kc, conc))
        log(f"lem: beam {beam.name!r}: <E> = {spec.mean_energy_keV:.1f} keV, k = {k:.4g} /(Gy nm^3), "
            f"K_c = {kc:.4g} /mM{paper}{extra}; DER at {cfg.der_concentrations_mM} mM = {ders}")
    return kc_by_beam


def _energy_curve(cfg: LemConfig, out, eps_v: float, eps_v_paper: float) -> None:
    """Monoenergetic ``K_c(E)`` and DER on a log grid (paper, Fig. 2)."""
    curve = cfg.energy_curve
    energy = _energy_grid(curve)
    kc_e = eps_v * np.array([photon.kc_per_mM(photon.monoenergetic(e), 1.0, cfg.medium) for e in energy])
    cg = out.require_group("energy_curve")
    _write(cg, "energy_keV", energy)
    _write(cg, "kc_per_mM", kc_e)
    _write(cg, "der", 1.0 + kc_e * curve.concentration_mM)
    cg.attrs["concentration_mM"] = curve.concentration_mM
    if eps_v_paper:
        _write(cg, "kc_with_paper_table1_constant", kc_e * eps_v_paper / eps_v)


def _survival_study(cfg: LemConfig, kc_by_beam: dict[str, float], out, log) -> None:
    """Step 2: σ(c), the three forms, DEF, LQ fits, data beside the paper's values."""
    sv = cfg.survival
    kc = kc_by_beam[sv.kc_beam] if sv.kc_beam else sv.kc_per_mM
    a, b = sv.alpha_per_Gy, sv.beta_per_Gy2
    sg = out.require_group("survival")
    dose = np.linspace(0.0, sv.dose_max_Gy, sv.dose_points)
    fit_dose = np.linspace(0.0, sv.fit_dose_max_Gy, sv.fit_points)
    _write(sg, "dose_Gy", dose)
    _write(sg, "sf_baseline", lem_model.survival_lq(dose, a, b))
    sg.attrs.update(alpha_per_Gy=a, beta_per_Gy2=b, kc_per_mM=kc, xi=sv.xi, level=sv.level,
                    kc_source=sv.kc_beam or "kc_per_mM", models=",".join(lem_model.MODELS),
                    fit_weights=sv.fit_weights, fit_dose_max_Gy=sv.fit_dose_max_Gy)
    out.attrs["kc_survival_per_mM"] = kc
    log(f"lem: survival with K_c = {kc:.4g} /mM, alpha = {a:g} /Gy, beta = {b:g} /Gy^2, xi = {sv.xi:g}")
    pct = int(round(100 * sv.level))
    log(f"lem: c[mM]  sigma    DER    DEF{pct}: variance  mixed  2nd-order   (paper)            measured")
    for ds in sv.datasets:
        c = ds.concentration_mM
        dg = sg.require_group(f"c{c:g}mM")
        sigma, mu = lem_model.sigma_mu(kc, c, sv.xi)
        dg.attrs.update(concentration_mM=c, sigma=float(sigma), mu=float(mu), der=float(lem_model.der(kc, c)),
                        def_measured=ds.def_measured, paper_model=ds.paper_model)
        _write(dg, "exp_dose_Gy", np.asarray(ds.dose_Gy))
        _write(dg, "exp_sf", np.asarray(ds.sf_measured))
        if ds.paper_sf_model:
            _write(dg, "paper_sf_model", np.asarray(ds.paper_sf_model))
        if c == 0:
            _write(dg, "sf_lq", lem_model.survival_lq(np.asarray(ds.dose_Gy), a, b))
            continue
        defs, fits = [], []
        for m in lem_model.MODELS:
            sf = lem_model.survival(m, dose, a, b, kc, c, sv.xi)
            _write(dg, f"sf_{m}", sf)
            _write(dg, f"sf_{m}_at_exp", lem_model.survival(m, np.asarray(ds.dose_Gy), a, b, kc, c, sv.xi))
            defs.append(lem_model.dose_enhancement_factor(m, a, b, kc, c, sv.level, sv.xi))
            y = lem_model.survival(m, fit_dose, a, b, kc, c, sv.xi)
            fits.append(lem_model.fit_lq(fit_dose, y, y if sv.fit_weights == "relative" else None))
        _write(dg, "def", np.array(defs))
        _write(dg, "def_paper", np.asarray(ds.paper_def) if ds.paper_def else np.full(3, np.nan))
        for field in ("alpha", "beta", "alpha_se", "beta_se", "r2"):
            _write(dg, f"lq_{field}", np.array([getattr(f, field) for f in fits]))
        paper = "/".join(f"{x:.3f}" for x in ds.paper_def) if ds.paper_def else "-"
        meas = f"{ds.def_measured:.2f}" if ds.def_measured else "-"
        log(f"lem: {c:5.2f}  {float(sigma):.4f}  {float(lem_model.der(kc, c)):.3f}        "
            f"{defs[0]:.3f}  {defs[1]:.3f}  {defs[2]:.3f}   ({paper})   {meas}")
    for ds in sv.datasets:
        if ds.concentration_mM == 0:
            continue
        dg = sg[f"c{ds.concentration_mM:g}mM"]
        i = lem_model.MODELS.index(ds.paper_model)
        log(f"lem: LQ fit of {ds.paper_model} at {ds.concentration_mM:g} mM: alpha = {dg['lq_alpha'][i]:.4f} "
            f"+- {dg['lq_alpha_se'][i]:.4f} /Gy, beta = {dg['lq_beta'][i]:.5f} +- {dg['lq_beta_se'][i]:.5f} /Gy^2, "
            f"R^2 = {dg['lq_r2'][i]:.4f}")
        if ds.paper_sf_model:
            ours = dg[f"sf_{ds.paper_model}_at_exp"][()]
            log(f"lem:   Table 4 ({ds.paper_model}) at {list(ds.dose_Gy)} Gy: ours "
                f"{', '.join(f'{x:.4f}' for x in ours)}; max |ours - paper| = "
                f"{np.max(np.abs(ours - np.asarray(ds.paper_sf_model))):.4f}; max |ours - measured| = "
                f"{np.max(np.abs(ours - np.asarray(ds.sf_measured))):.4f}")


def run_study(cfg: LemConfig, out, log=print, base_dir: Optional[Path] = None) -> None:
    """Run the whole study of a :class:`LemConfig` into an open h5py group ``out``.

    Parameters
    ----------
    cfg : LemConfig
    out : h5py.Group
        Where the results go (``/lem`` in a results file).
    log : callable
        ``log(message)``.
    base_dir : Path, optional
        Directory relative spectrum-file paths refer to (the job file's).
    """
    out.attrs["medium"] = cfg.medium
    out.attrs["paper"] = "P. Teles, An analytical model for gold nanoparticle radiosensitisation, arXiv:2506.06671"
    eps_v, eps_v_paper = _calibrate(cfg, out, log)
    out.attrs["eps_v_gy_um3"] = eps_v
    kc_by_beam = _beams(cfg, base_dir, out, eps_v, eps_v_paper, log)
    _energy_curve(cfg, out, eps_v, eps_v_paper)
    _survival_study(cfg, kc_by_beam, out, log)


#: Units and descriptions of the ``/lem`` datasets (results file format 1.1); first match wins.
UNITS = (
    ("lem/calibration/energy_keV", "keV", "photon energy of the monoenergetic DER data"),
    ("lem/calibration/der_measured", "1", "measured dose-enhancement ratio"),
    ("lem/calibration/der_model", "1", "model dose-enhancement ratio with the calibrated eps*V"),
    ("lem/calibration/der_paper_model", "1", "the paper's model dose-enhancement ratio"),
    ("lem/calibration/used", "1", "whether the point entered the eps*V fit"),
    ("lem/beams/*/energy_keV", "keV", "photon energy at the bin centre"),
    ("lem/beams/*/fluence", "1", "relative photon fluence per energy bin (sums to 1)"),
    ("lem/beams/*/concentration_mM", "mM", "gold concentration"),
    ("lem/beams/*/der", "1", "dose-enhancement ratio 1 + K_c c"),
    ("lem/energy_curve/energy_keV", "keV", "photon energy of the monoenergetic beam"),
    ("lem/energy_curve/kc_per_mM", "mM-1", "K_c of the monoenergetic beam"),
    ("lem/energy_curve/kc_with_paper_table1_constant", "mM-1", "K_c with eps*V matched to the paper's Table 1"),
    ("lem/energy_curve/der", "1", "dose-enhancement ratio at the curve's concentration"),
    ("lem/survival/dose_Gy", "Gy", "absorbed dose"),
    ("lem/survival/sf_baseline", "1", "surviving fraction without gold (LQ)"),
    ("lem/survival/*/exp_dose_Gy", "Gy", "dose of the measured survival points"),
    ("lem/survival/*/exp_sf", "1", "measured surviving fraction"),
    ("lem/survival/*/paper_sf_model", "1", "the paper's model surviving fraction at exp_dose_Gy"),
    ("lem/survival/*/sf_lq", "1", "LQ surviving fraction at exp_dose_Gy"),
    ("lem/survival/*/sf_*_at_exp", "1", "model surviving fraction at exp_dose_Gy"),
    ("lem/survival/*/sf_*", "1", "model surviving fraction at survival/dose_Gy"),
    ("lem/survival/*/def_paper", "1", "the paper's dose-enhancement factor (variance, mixed, second_order)"),
    ("lem/survival/*/def", "1", "dose-enhancement factor at the survival level (variance, mixed, second_order)"),
    ("lem/survival/*/lq_alpha_se", "Gy-1", "standard error of the LQ-fit alpha per model"),
    ("lem/survival/*/lq_beta_se", "Gy-2", "standard error of the LQ-fit beta per model"),
    ("lem/survival/*/lq_alpha", "Gy-1", "LQ-fit alpha per model"),
    ("lem/survival/*/lq_beta", "Gy-2", "LQ-fit beta per model"),
    ("lem/survival/*/lq_r2", "1", "coefficient of determination of the LQ fit per model"),
    ("lem/survival/model", "1", "the survival forms, in the order of the per-model arrays"),
)


def _attach_axes(results) -> None:
    """Dimension scales of the study's curves (energy and dose axes)."""
    h5 = results.h5
    lem = h5["lem"]
    results.attach_scale("lem/calibration/energy_keV",
                         [f"lem/calibration/{n}" for n in ("der_measured", "der_model", "der_paper_model", "used")])
    for name in lem["beams"]:
        results.attach_scale(f"lem/beams/{name}/energy_keV", [f"lem/beams/{name}/fluence"])
        results.attach_scale(f"lem/beams/{name}/concentration_mM", [f"lem/beams/{name}/der"])
    results.attach_scale("lem/energy_curve/energy_keV", [f"lem/energy_curve/{n}" for n in
                                                         ("kc_per_mM", "der", "kc_with_paper_table1_constant")])
    sv = lem["survival"]
    results.attach_scale("lem/survival/dose_Gy", ["lem/survival/sf_baseline"])
    if "model" not in sv:
        sv.create_dataset("model", data=list(lem_model.MODELS), dtype=h5py.string_dtype())
        set_units(sv["model"], *next((u, d) for p, u, d in UNITS if p == "lem/survival/model"))
    for name, g in sv.items():
        if not isinstance(g, h5py.Group):
            continue
        at_exp = [f"lem/survival/{name}/{n}" for n in g if n.endswith("_at_exp") or n in ("exp_sf", "paper_sf_model",
                                                                                         "sf_lq")]
        curves = [f"lem/survival/{name}/{n}" for n in g if n.startswith("sf_") and not n.endswith("_at_exp")
                  and n != "sf_lq"]
        results.attach_scale(f"lem/survival/{name}/exp_dose_Gy", at_exp)
        results.attach_scale("lem/survival/dose_Gy", curves)
        per_model = [f"lem/survival/{name}/{n}" for n in g if n in ("def", "def_paper") or n.startswith("lq_")]
        results.attach_scale("lem/survival/model", per_model)


class LemApp(App):
    """The analytic sigma-LEM app (no transport; everything on the master)."""

    name = "lem"
    config_class = LemConfig
    # defaults_are_a_job stays False: [lem.calibration] has no default (data or eps_v_gy_um3).

    def planned_histories(self, job) -> int:
        return 0  # analytic: no transport

    def run(self, job, ctx: RunContext) -> None:
        base_dir = Path(job.path).resolve().parent if job.path and not job.path.startswith("<") else None
        run_study(job.app, ctx.results.group("lem"), ctx.log, base_dir)
        ctx.results.annotate(UNITS)
        _attach_axes(ctx.results)

    def plot(self, results_path: str, outdir: str) -> list[str]:
        return plot_lem(results_path, outdir)


APP = LemApp()
