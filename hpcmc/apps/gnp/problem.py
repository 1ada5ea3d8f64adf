"""The gnp transport problem: tables built once per rank, chunks run by the numba kernel."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hpcmc.apps.gnp.binning import shell_edges_nm, shell_masses_kg
from hpcmc.apps.gnp.photons import AnnulusSource
from hpcmc.apps.gnp.transport import (ELECTRON_FULL, ION_FULL, N_LEDGER, OK, PHOTON_FULL, STACK_FULL, GnpBuffers,
                                      GnpPhysics, GnpScoring, GnpTallies, gnp_chunk)
from hpcmc.apps.gnp.world import make_gnp_world
from hpcmc.physics.banks import new_bank
from hpcmc.physics.electron_gold import gold_electron_tables
from hpcmc.physics.electron_water import water_kernel_tables
from hpcmc.physics.photon_data import load_photon_data
from hpcmc.physics.relaxation import build_relaxation_tables, new_vacancy_stack
from hpcmc.physics.sphere_world import make_sphere_world
from hpcmc.physics.spectrum import spectrum_from_file, tube_spectrum
from hpcmc.physics.water_range import RANGE_MARGIN, csda_range_table
from hpcmc.physics.water_xs import water_tables
from hpcmc.runtime.problem import Problem
from hpcmc.runtime.rng import stream_key
from hpcmc.runtime.tally import TallySpec
from hpcmc.runtime.task import Task

__all__ = ["GnpProblem", "load_spectrum"]

_STREAMS = ("source", "transport", "relaxation", "gold", "electron_water")
_MAX_BUFFER_ROWS = 1 << 26


def load_spectrum(src, job_dir: str = "."):
    """The source spectrum of a ``[gnp.source]`` table (spekpy or a user file)."""
    if src.spectrum_file:
        path = Path(src.spectrum_file)
        if not path.is_absolute():
            path = Path(job_dir) / path
        return spectrum_from_file(path)
    return tube_spectrum(src.kvp, src.anode_angle_deg, tuple(zip(src.filter_materials, src.filter_thickness_mm)))


class GnpProblem(Problem):
    """Histories of primaries on one annulus; tallies per radial shell (see :mod:`.transport`)."""

    app = "gnp"

    def __init__(self, job):
        cfg = job.app
        geo, sc = cfg.geometry, cfg.scoring
        self.cfg = cfg
        self.np_is_gold = geo.np_material == "gold"
        self.pdata = load_photon_data(("water", "gold"))
        mat_np = self.pdata.index("gold" if self.np_is_gold else "water")
        self.world = make_gnp_world(geo.np_radius_nm, geo.world_radius_um * 1e3, geo.world_length_um * 1e3,
                                    mat_np=mat_np, mat_medium=self.pdata.index("water"))
        self.spectrum = load_spectrum(cfg.source, str(Path(job.path).parent))
        if self.spectrum.max_energy_eV > self.pdata.tables.e_max_eV:
            raise ValueError(f"gnp.source: spectrum reaches {self.spectrum.max_energy_eV / 1e3:g} keV, above the photon "
                             f"tables' {self.pdata.tables.e_max_eV / 1e3:g} keV")
        relax = build_relaxation_tables((79, 8, 1)).kernel_tables(sc.electron_cutoff_eV)
        gold = gold_electron_tables().kernel_args()
        wt = water_tables(model=cfg.physics.water_ionization)
        w = self.world
        np_center = (w.np_x_nm, w.np_y_nm, w.np_z_nm)
        water_geom = make_sphere_world(np_center, geo.tracking_radius_um * 1e3,
                                       geo.np_radius_nm if self.np_is_gold else 0.0, np_center,
                                       mat_outer=w.mat_medium, mat_inner=w.mat_np)
        self.shells_nm = shell_edges_nm(sc.n_shells, geo.np_radius_nm, sc.shells_per_decade)
        self.inv_mass = 1.0 / shell_masses_kg(self.shells_nm)
        e, r = csda_range_table(sc.electron_cutoff_eV, model=cfg.physics.water_ionization)
        target_radius_nm = 0.5 * sc.target_diameter_nm
        self.phys = GnpPhysics(self.pdata.tables, self.world, relax, gold,
                               water_kernel_tables(wt, sc.electron_cutoff_eV), wt.ion_w_table, water_geom,
                               np.asarray(e), RANGE_MARGIN * np.asarray(r),
                               float(self.shells_nm[-1] + 2.0 * target_radius_nm), float(geo.np_radius_nm),
                               bool(self.np_is_gold))
        self.scoring = GnpScoring(float(target_radius_nm), int(sc.cluster_min_size), self.shells_nm)
        self.keys = np.array([stream_key(s) for s in _STREAMS], dtype=np.uint64)
        self.cluster_key = stream_key("cluster")
        self.z_src_nm = geo.source_z_um * 1e3
        # work buffers (grown on demand, kept between chunks)
        self.buf = {
            "photons": new_bank(256), "ebank": new_bank(4096), "vbank": np.zeros((1024, 4), dtype=np.int64),
            "work": new_bank(4096), "ions": np.zeros((1 << 16, 3)), "wstack": new_bank(4096),
            "wgold": new_bank(1024), "wdep": np.zeros((0, 5)),
        }
        self.vac_stack = new_vacancy_stack(1024)
        self.ledger = np.zeros(N_LEDGER)

    # ------------------------------------------------------------------------------------
    def check_task(self, task: Task) -> None:
        super().check_task(task)
        lo, hi = task.params.get("b_lower_nm"), task.params.get("b_upper_nm")
        r_world = self.cfg.geometry.world_radius_um * 1e3
        if not (isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and 0 <= lo < hi <= r_world):
            raise ValueError(f"gnp task needs 0 <= b_lower_nm < b_upper_nm <= {r_world:g} nm, "
                             f"got b_lower_nm={lo!r}, b_upper_nm={hi!r}")

    def tally_specs(self, task: Task) -> list[TallySpec]:
        k = self.cfg.scoring.cluster_min_size
        return [
            TallySpec("cluster_dose", (self.cfg.scoring.n_shells,), "1/kg", {"r_nm": self.shells_nm},
                      scale=self.inv_mass, description=f"F{k} clusters (AVC, target diameter {self.cfg.scoring.target_diameter_nm} nm) per kg of water "
                      "in each shell, per primary of the task's annulus"),
            TallySpec("ionization_density", (self.cfg.scoring.n_shells,), "1/kg", {"r_nm": self.shells_nm},
                      scale=self.inv_mass, description="ionizations per kg of water in each shell, per primary of the task's annulus"),
        ]

    def prepare(self, task: Task):
        return float(task.params["b_lower_nm"]), float(task.params["b_upper_nm"])

    def run_chunk(self, task, state, chunk, tallies) -> None:
        b_lo, b_hi = state
        cd, idn = tallies["cluster_dose"], tallies["ionization_density"]
        source = AnnulusSource(b_lo, b_hi, float(self.z_src_nm))
        sums = GnpTallies(cd.sum_limbs, cd.sum_sq_limbs, idn.sum_limbs, idn.sum_sq_limbs)
        h, end = chunk.first, chunk.first + chunk.n
        while h < end:
            b = self.buf
            buf = GnpBuffers(b["photons"], b["ebank"], b["vbank"], b["work"], b["ions"], b["wstack"], b["wgold"],
                             b["wdep"], self.vac_stack)
            status, h_stop = gnp_chunk(h, end - h, np.uint64(task.seed), self.keys, self.cluster_key, source,
                                       self.spectrum.table, self.phys, self.scoring, buf, sums, self.ledger)
            if status == OK:
                return
            self._grow(status, h_stop)
            h = h_stop  # rerun the history that did not fit (it scored nothing)

    def _grow(self, status: int, history: int) -> None:
        names = {ION_FULL: ("ions",), PHOTON_FULL: ("photons",), ELECTRON_FULL: ("ebank", "work", "vbank", "wgold"),
                 STACK_FULL: ("wstack",)}.get(status)
        if names is None:
            raise RuntimeError(f"gnp: history {history} failed in the transport kernel (status {status})")
        for name in names:
            old = self.buf[name]
            if old.shape[0] * 2 > _MAX_BUFFER_ROWS:
                raise MemoryError(f"gnp: history {history} needs more than {_MAX_BUFFER_ROWS} rows in buffer {name!r}")
            new = np.zeros((old.shape[0] * 2,) + old.shape[1:], dtype=old.dtype)
            self.buf[name] = new
        if status == ELECTRON_FULL:
            self.vac_stack = np.zeros(self.vac_stack.shape[0] * 2, dtype=self.vac_stack.dtype)
