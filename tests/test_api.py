"""hpcmc from Python: hpcmc.run, hpcmc.Results, --set overrides, results format 1.1 units."""
import dataclasses
import sys

import h5py
import numpy as np
import pytest

import hpcmc
from conftest import REPO, run_hpcmc, write_job
from hpcmc.api import JobError
from hpcmc.apps.gnp.app import UNITS as GNP_UNITS
from hpcmc.apps.gnp.optimizer import IterationRecord
from hpcmc.config import parse_job
from hpcmc.io.reader import MissingExtraError, Results
from hpcmc.io.results import ResultsWriter
from hpcmc.overrides import apply_overrides, dumps_toml, parse_assignment
from hpcmc.io.optimizer_state import record_to_group
from hpcmc.runtime.task import Task, TallyResult, TaskResult
from regression.harness import prepare as prepare_regression_case

BAEC = REPO / "jobs" / "lem" / "baec.toml"
#: a faster BAEC study (coarser energy curve and dose grid; the same datasets)
BAEC_FAST = {"lem.energy_curve.points": 60, "lem.survival.dose_points": 41}


def _datasets_without_units(path) -> list[str]:
    missing = []
    with h5py.File(path, "r") as h5:
        h5.visititems(lambda n, o: missing.append(n) if isinstance(o, h5py.Dataset) and "units" not in o.attrs
                      else None)
    return missing


def test_run_selftest_in_process_records_the_call_and_the_overrides(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["/some/ipykernel_launcher.py", "-f", "kernel.json"])
    job = write_job(tmp_path / "j.toml", n_histories=20_000, chunk_size=5_000, n_bins=10)
    with hpcmc.run(job, output="r.h5", overrides={"job.n_histories": 3e4, "selftest.n_bins": 6}) as res:
        assert isinstance(res, hpcmc.Results) and res.app == "selftest" and res.version == (1, 1)
        command = res.provenance["command"]
        assert command.startswith("hpcmc.run(job=") and "'selftest.n_bins': 6" in command
        assert "ipykernel" not in command
        assert res.config.data["job"]["n_histories"] == 3e4 and res.config.data["selftest"]["n_bins"] == 6
        t = res.tallies["first_interaction"]
        assert t.n == 30_000 and t.mean.shape == (6,) and t.edges["depth_cm"].shape == (7,) and t.units == "1"
        assert np.array_equal(res["tallies/first_interaction/mean"], t.mean)
        assert res.selftest.expected_first_interaction.shape == (6,)
        ds = res.to_xarray()
        for name in ds.variables:
            assert "units" in ds[name].attrs, name
        assert ds["first_interaction"].dims == ("depth_cm",)
        np.testing.assert_allclose(ds["depth_cm"].values, t.centres["depth_cm"])
        np.testing.assert_array_equal(ds["depth_cm_edges"].values, t.edges["depth_cm"])
        assert ds["track_length"].attrs["units"] == "cm" and ds["selftest.z_first_interaction"].dims == ("depth_cm",)
        df = res.to_dataframe()
        assert list(df.columns[:3]) == ["tally", "bin", "axis"] and len(df) == 6 + 1 + 1
        assert set(df.loc[df.tally == "track_length", "unit"]) == {"cm"}
    assert _datasets_without_units(tmp_path / "r.h5") == []
    with pytest.raises(JobError, match="exists"):
        hpcmc.run(job, output="r.h5")
    hpcmc.run(job, output="r.h5", force=True).close()


def test_run_lem_every_dataset_has_units(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with hpcmc.run(BAEC, output=tmp_path / "lem.h5", overrides=BAEC_FAST) as res:
        study = res.lem_study()
        assert set(study.beams) == {"50 kVp", "100 kVp"} and 1.0 in study.survival_by_concentration
        assert study.energy_curve.energy_keV.size > 60 and res.units("lem/energy_curve/kc_per_mM") == "mM-1"
        ds = res.to_xarray()
        assert not [v for v in ds.variables if "units" not in ds[v].attrs]
        assert ds["lem.energy_curve.der"].dims == ("lem.energy_curve.energy_keV",)
        assert np.array_equal(res.lem.energy_curve.der, res["lem/energy_curve/der"])
        assert np.array_equal(res.lem["survival/c1mM/def"], study.survival_by_concentration[1.0].data["def"])
        assert ds["lem.survival.c1mM.sf_mixed"].dims == ("lem.survival.dose_Gy",)
        assert list(ds["lem.survival.c1mM.def"]["lem.survival.model"].values) == ["variance", "mixed", "second_order"]
        text = res.config.text
    assert _datasets_without_units(tmp_path / "lem.h5") == []
    assert "points = 60" in text and "dose_points = 41" in text


def test_run_accepts_toml_text_and_dicts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    job = {"job": {"app": "selftest", "n_histories": 2_000, "chunk_size": 1_000, "seed": 3},
           "selftest": {"n_bins": 4}}
    with hpcmc.run(job, output="d.h5") as a, hpcmc.run(dumps_toml(job), output="t.h5") as b:
        assert np.array_equal(a.tallies["first_interaction"].mean, b.tallies["first_interaction"].mean)
        assert "job=<dict>" in a.provenance["command"] and "job=<TOML text>" in b.provenance["command"]


@pytest.mark.parametrize("overrides, message", [
    ({"selftest.n_bins": 0}, r"selftest.n_bins=0: selftest.n_bins must be >= 1, got 0"),
    ({"selftest.nbins": 3}, r"unknown key selftest.nbins"),
    ({"job.n_histories": "many"}, r"job.n_histories must be an integer, got 'many'"),
    ({"job": 1}, r"override key 'job' names a table"),
    ({"job.app.x": 1}, r"override job.app.x = 1: job.app is a value, not a table"),
    ({"selftest.n bins": 1}, r"'n bins' is not a key"),
])
def test_bad_overrides_name_the_key_and_the_value(tmp_path, overrides, message):
    job = write_job(tmp_path / "j.toml", n_histories=1_000, chunk_size=500)
    with pytest.raises(JobError, match=message):
        hpcmc.run(job, output=tmp_path / "r.h5", overrides=overrides)
    assert not (tmp_path / "r.h5").exists()


def test_cli_set_is_stored_in_config_and_errors_exit_2(tmp_path):
    job = write_job(tmp_path / "j.toml", n_histories=5_000, chunk_size=1_000, n_bins=10)
    out = tmp_path / "r.h5"
    run_hpcmc(["run", job, "-o", out, "--set", "job.n_histories=1e4", "--set", "selftest.n_bins=5"])
    with Results(out) as res:
        assert res.config.data["job"]["n_histories"] == 1e4 and res.tallies["first_interaction"].n == 10_000
        assert res.tallies["first_interaction"].mean.shape == (5,)
        assert "--set selftest.n_bins=5" in res.provenance["command"]
        assert "\nn_histories = 10000\n" in res.config.text  # 1e4 for an integer key is stored as an integer
    proc = run_hpcmc(["run", job, "-o", tmp_path / "x.h5", "--set", "selftest.n_bins=abc"], check=False)
    assert proc.returncode == 2 and "selftest.n_bins must be an integer, got 'abc'" in proc.stderr
    proc = run_hpcmc(["run", job, "-o", tmp_path / "x.h5", "--set", "selftest.n_bins"], check=False)
    assert proc.returncode == 2 and "--set must be KEY=VALUE" in proc.stderr


def test_overrides_keep_arrays_of_tables():
    text = BAEC.read_text()
    new = apply_overrides(text, {"lem.beams[1].kvp": 120, "lem.survival.datasets[0].def_measured": 1.5}, "baec")
    job = parse_job(new, "baec")
    assert job.app.beams[1].kvp == 120.0 and job.app.survival.datasets[0].def_measured == 1.5
    assert job.app.beams[0] == parse_job(text, "baec").app.beams[0]
    assert parse_assignment("job.output=x.h5") == ("job.output", "x.h5")
    assert parse_assignment("lem.x=[1, 2.5]") == ("lem.x", [1, 2.5])
    assert apply_overrides(text, {}) is text


@pytest.mark.mpi
def test_run_with_two_ranks_under_mpiexec_equals_one_rank(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    job = write_job(tmp_path / "j.toml", n_histories=20_000, chunk_size=2_000, n_bins=8)
    with hpcmc.run(job, output="one.h5") as one, hpcmc.run(job, output="two.h5", n_ranks=2) as two:
        assert two.provenance["n_ranks"] == 2 and two.provenance["command"].endswith("n_ranks=2)")
        for name, t in one.tallies.items():
            assert np.array_equal(t.mean, two.tallies[name].mean) and np.array_equal(t.std, two.tallies[name].std)
    with pytest.raises(JobError, match="selftest.n_bins must be >= 1"):
        hpcmc.run(job, output="bad.h5", n_ranks=2, overrides={"selftest.n_bins": 0})


def _write_1_0_file(path):
    """A results file in the 1.0 layout: no units, no dimension scales, version 1.0."""
    t = TallyResult("dose", "Gy", np.array([1.0, 2.0]), np.array([0.1, 0.2]), 10,
                    {"r_nm": np.array([0.0, 1.0, 2.0])}, np.array([10.0, 20.0]), np.array([11.0, 42.0]))
    with ResultsWriter(str(path), "[job]\napp = 'selftest'\n", "selftest", {"command": "hpcmc run old.toml"}) as w:
        w.write_result(TaskResult(Task("selftest", {}, 10, 1), {"dose": t}, 0.5, 1))
        w.group("selftest")["z_dose"] = np.array([0.5, -0.5])
    with h5py.File(path, "r+") as h5:
        h5.attrs["version"] = np.array([1, 0], dtype=np.int64)
        g = h5["tallies/dose"]
        for name in ("mean", "std", "sum", "sum_sq"):
            for dim in g[name].dims:
                for scale in list(dim.values()):
                    dim.detach_scale(scale)

        def strip(name, obj):
            if isinstance(obj, h5py.Dataset):
                for a in ("units", "description", "CLASS", "NAME", "REFERENCE_LIST"):
                    if a in obj.attrs:
                        del obj.attrs[a]

        h5.visititems(strip)


def test_results_reads_format_1_0(tmp_path):
    path = tmp_path / "old.h5"
    _write_1_0_file(path)
    with Results(path) as res:
        assert res.version == (1, 0) and res.provenance["command"] == "hpcmc run old.toml"
        t = res.tallies["dose"]
        assert t.unit == "Gy" and t.units == "Gy" and t.n == 10 and np.array_equal(t.edges["r_nm"], [0, 1, 2])
        ds = res.to_xarray()
        assert ds["dose"].attrs["units"] == "Gy" and ds["dose"].dims == ("r_nm",)
        assert np.array_equal(ds["selftest.z_dose"].values, [0.5, -0.5])
        assert res.config.app == "selftest"
    with pytest.raises(ValueError, match="closed"):
        res.tallies


def test_missing_xarray_names_the_extra(tmp_path, monkeypatch):
    path = tmp_path / "old.h5"
    _write_1_0_file(path)
    monkeypatch.setitem(sys.modules, "xarray", None)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with Results(path) as res:
        with pytest.raises(MissingExtraError, match=r"pip install 'hpcmc\[xarray\]'"):
            res.to_xarray()
        with pytest.raises(ImportError, match="hpcmc\\[xarray\\]"):
            res.to_dataframe()


def test_gnp_results_have_units_scales_spectrum_and_accessors(tmp_path, monkeypatch):
    """The gnp_small regression job (compare mode, two annuli) through hpcmc.run."""
    job = prepare_regression_case("gnp_small", tmp_path)
    monkeypatch.chdir(tmp_path)
    with hpcmc.run(job, output="g.h5", overrides={"gnp.comparison.n_primaries": 4_000}) as res:
        comp = res.gnp_comparison()
        n_shells = comp.shell_edges_nm.size - 1
        assert comp.optimized.shell_mean.shape == (n_shells,) and comp.efficiency_gain.shape == (n_shells,)
        assert comp.optimized.units["cluster_dose_per_fluence_cm2_per_kg"] == "cm2 kg-1"
        assert abs(int(comp.analog.n_per_annulus.sum()) - 4_000) <= comp.p.size  # allocation rounds per annulus
        spec = res.gnp
        assert spec.spectrum_energy_keV.size == spec.spectrum_fluence.size
        assert abs(spec.spectrum_fluence.sum() - 1) < 1e-12 and 3.0 < float(spec.spectrum_hvl_mm_al) < 6.0
        ds = res.to_xarray()
        assert not [v for v in ds.variables if "units" not in ds[v].attrs]
        assert ds["comparison.optimized.shell_mean"].dims == ("gnp.shell_nm",)
        assert ds["comparison.optimized.mean_ij"].dims == ("gnp.shell_nm", "gnp.annulus_nm")
        assert ds["gnp.spectrum_fluence"].dims == ("gnp.spectrum_energy_keV",)
        with pytest.raises(KeyError, match="no /optimizer group"):
            res.gnp_optimizer()
    assert _datasets_without_units(tmp_path / "g.h5") == []


def test_gnp_optimizer_records_have_units(tmp_path):
    """Every field of gnp's iteration record written to /optimizer gets units from the gnp table."""
    arrays = {f.name: np.ones(3) for f in dataclasses.fields(IterationRecord) if f.type in ("np.ndarray",)}
    rec = IterationRecord(**arrays, iteration=1, loss=0.5, loss_w1=0.4, loss_reg=0.1, w1_to_previous=0.2,
                          sampler="tpe")
    path = tmp_path / "opt.h5"
    with ResultsWriter(str(path), "", "gnp", {}) as w:
        record_to_group(w.group("optimizer").create_group("iteration_1"), rec)
        w.annotate(GNP_UNITS)
    assert _datasets_without_units(path) == []
    with Results(path) as res:
        (it,) = res.gnp_optimizer()
        assert it.attrs["iteration"] == 1 and it.units["mean_ij"] == "kg-1" and it.units["q_next"] == "1"
        assert set(it.data) == set(arrays) and len(arrays) >= 10
