"""The ``[gnp]`` job table (defaults = the settings of Thomas et al. (2025))."""
from __future__ import annotations

import dataclasses

from hpcmc.schema import option

__all__ = ["GeometryConfig", "SourceConfig", "ScoringConfig", "PhysicsConfig", "OptimizerConfig", "ComparisonConfig",
           "GnpConfig"]


@dataclasses.dataclass(frozen=True)
class GeometryConfig:
    """World, nanoparticle and electron-tracking region (Thomas et al. 2025, §2.3, Fig. 1)."""

    world_length_um: float = option(220.0, doc="length of the cylindrical water world", unit="um", gt=0)
    world_radius_um: float = option(100.0, doc="radius of the water world", unit="um", gt=0)
    np_radius_nm: float = option(50.0, doc="nanoparticle radius", unit="nm", gt=0)
    np_material: str = option("gold", doc="nanoparticle material (water = the background case)",
                              choices=("gold", "water"))
    tracking_radius_um: float = option(55.05, doc="radius of the sphere in which electrons are tracked "
                                       "(5 um + 50 nm + 50 um electron range)", unit="um", gt=0)
    source_z_um: float = option(-100.0, doc="z of the disk source (photons go along +z)", unit="um", lt=0)

    def __post_init__(self):
        if self.tracking_radius_um * 1e3 <= self.np_radius_nm:
            raise ValueError(f"geometry.tracking_radius_um ({self.tracking_radius_um}) must exceed the NP radius")
        if -self.source_z_um > self.world_length_um / 2:
            raise ValueError(f"geometry.source_z_um = {self.source_z_um} lies outside the world "
                             f"(half-length {self.world_length_um / 2} um)")


@dataclasses.dataclass(frozen=True)
class SourceConfig:
    """Photon spectrum and the annuli of the disk source."""

    kvp: float = option(100.0, doc="tube voltage of the spekpy spectrum", unit="kV", ge=10, le=300)
    anode_angle_deg: float = option(12.0, doc="anode angle of the spekpy spectrum", unit="deg", gt=0, lt=90)
    filter_materials: tuple[str, ...] = option(("Al",), doc="filter materials (spekpy names)")
    filter_thickness_mm: tuple[float, ...] = option((4.0,), doc="filter thicknesses, same order", unit="mm", ge=0)
    spectrum_file: str = option("", doc="two-column file (energy_keV, fluence) replacing the spekpy spectrum")
    n_annuli: int = option(31, doc="annuli n_b (first matched to the NP, then per_decade per decade)", ge=2, le=200)
    annuli_per_decade: int = option(10, doc="annuli per decade of impact parameter", ge=1, le=100)

    def __post_init__(self):
        if len(self.filter_materials) != len(self.filter_thickness_mm):
            raise ValueError(f"source.filter_materials has {len(self.filter_materials)} entries but "
                             f"source.filter_thickness_mm has {len(self.filter_thickness_mm)}")


@dataclasses.dataclass(frozen=True)
class ScoringConfig:
    """Shells and ionization clustering."""

    n_shells: int = option(40, doc="radial shells n_r", ge=1, le=1000)
    shells_per_decade: int = option(20, doc="shells per decade of radius", ge=1, le=1000)
    target_diameter_nm: float = option(
        3.4, doc="diameter of the AVC target sphere (3.4 nm: one helical turn, 10 bp of DNA)", unit="nm", gt=0, le=100)
    cluster_min_size: int = option(4, doc="k of F_k: ionizations that make a cluster", ge=1, le=100)
    electron_cutoff_eV: float = option(10.0, doc="track-structure cut-off in water", unit="eV", ge=7.0, le=1000.0)


@dataclasses.dataclass(frozen=True)
class PhysicsConfig:
    """Electron physics in water (:func:`hpcmc.physics.water_xs.build_water_tables`)."""

    water_ionization: str = option(
        "dielectric", doc="ionization model of the valence shells: dielectric (Geant4-DNA option-4 class, as the paper) "
                          "or beb (relativistic BEB, Kim, Santos & Parente 2000)", choices=("dielectric", "beb"))


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    """The active-learning loop (Thomas et al. 2025, §2.2)."""

    lam: float = option(0.08, doc="lambda of eq. 8 (regularisation weight)", ge=0)
    alpha: float = option(0.5, doc="damping of eq. 9, q = alpha q_opt + (1 - alpha) q_prev", gt=0, le=1)
    smoothing_sigma_bins: float = option(2.0, doc="sigma of the Gaussian smoothing of eq. 6", unit="bins", ge=0)
    n_trials: int = option(100, doc="Optuna trials per iteration", ge=2, le=100_000)
    sampler: str = option("gp", doc="Optuna sampler (gp needs PyTorch; tpe otherwise)", choices=("gp", "tpe"))
    theta_min: float = option(-12.0, doc="log10 floor of the unnormalised annulus masses", lt=0, ge=-300)
    max_iterations: int = option(20, doc="iterations at most", ge=1, le=10_000)
    tolerance: float = option(1e-3, doc="stop when W1(q_k, q_k-1)/b_max stays below this", gt=0)
    patience: int = option(3, doc="iterations in a row below the tolerance to stop", ge=1)
    storage: str = option("", doc="Optuna storage URL; '' = an SQLite file beside the results file")


@dataclasses.dataclass(frozen=True)
class ComparisonConfig:
    """The final run: optimised q against the analog q = p at equal N (Thomas et al. 2025, §3, Fig. 4)."""

    enabled: bool = option(True, doc="run the comparison after the optimisation")
    n_primaries: int = option(100_000_000, doc="primaries of each comparison run (the paper: 1e8..1e9)", ge=1)


@dataclasses.dataclass(frozen=True)
class GnpConfig:
    """The ``[gnp]`` table."""

    mode: str = option("optimize", doc="optimize (loop + comparison) or compare (comparison only, q from q_file)",
                       choices=("optimize", "compare"))
    q_file: str = option("", doc="results file whose final q the compare mode uses")
    geometry: GeometryConfig = dataclasses.field(default_factory=GeometryConfig)
    source: SourceConfig = dataclasses.field(default_factory=SourceConfig)
    scoring: ScoringConfig = dataclasses.field(default_factory=ScoringConfig)
    physics: PhysicsConfig = dataclasses.field(default_factory=PhysicsConfig)
    optimizer: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)
    comparison: ComparisonConfig = dataclasses.field(default_factory=ComparisonConfig)

    def __post_init__(self):
        if self.mode == "compare" and not self.q_file:
            raise ValueError("mode = 'compare' needs q_file (a results file of an optimisation)")
