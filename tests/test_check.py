"""`hpcmc check`, `hpcmc options` and the job-file checks behind them: exit 0 or 2, messages
naming the file, the key and the value, defaults marked, test hooks hidden."""
import pytest

from conftest import REPO, run_hpcmc, write_job
from hpcmc.cli import main
from hpcmc.config import ConfigError, load_job, parse_job
from hpcmc.overrides import apply_overrides as _apply, parse_assignments


def apply_overrides(text, items, source="<job>"):
    return _apply(text, parse_assignments(items), source)

JOBS = sorted((REPO / "jobs").glob("*.toml")) + sorted((REPO / "jobs").glob("*/*.toml"))


@pytest.mark.parametrize("job", JOBS, ids=lambda p: str(p.relative_to(REPO)))
def test_check_accepts_every_shipped_job(job, capsys):
    assert main(["check", str(job)]) == 0
    out = capsys.readouterr().out
    assert "# total histories:" in out
    assert "[job]" in out and "# default" in out


GOOD = "[job]\napp = 'selftest'\nn_histories = 1000\n[selftest]\nmu_per_cm = 0.5\n"


@pytest.mark.parametrize("text, fragments", [
    ("[job]\napp = 'selftest'\n[selftest]\nmu_per_cn = 0.5\n",
     ["bad.toml", "unknown key selftest.mu_per_cn = 0.5", "did you mean 'mu_per_cm'?"]),
    ("[job]\napp = 'selftest'\nn_histries = 10\n", ["bad.toml", "job.n_histries", "did you mean 'n_histories'?"]),
    ("[job]\napp = 'selftst'\n", ["bad.toml", "job.app", "'selftst'", "did you mean 'selftest'?"]),
    ("[job]\napp = 'selftest'\n[selftests]\n", ["bad.toml", "'selftests'", "did you mean 'selftest'?"]),
    ("[job]\napp = 'selftest'\nn_histories = 'many'\n", ["bad.toml", "job.n_histories must be an integer, got 'many'"]),
    ("[job]\napp = 'selftest'\n[selftest]\nthickness_cm = -1\n", ["bad.toml", "selftest.thickness_cm must be > 0", "-1"]),
    ("[job]\napp = 'gnp'\nn_histories = 1000\n", ["bad.toml", "missing table [gnp]"]),
    ("[job]\napp = 'lem'\n", ["bad.toml", "missing table [lem]"]),
    ("[job]\napp = 'selftest'\nseed = \n", ["bad.toml", "not valid TOML"]),
])
def test_check_refuses_bad_jobs_with_exit_2(tmp_path, capsys, text, fragments):
    job = tmp_path / "bad.toml"
    job.write_text(text)
    assert main(["check", str(job)]) == 2
    err = capsys.readouterr().err
    for fragment in fragments:
        assert fragment in err, err


def test_check_exit_status_from_the_command_line(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    assert run_hpcmc(["check", good]).returncode == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("mu_per_cm", "mu_per_cn"))
    proc = run_hpcmc(["check", bad], check=False)
    assert proc.returncode == 2 and "did you mean 'mu_per_cm'?" in proc.stderr
    proc = run_hpcmc(["check", tmp_path / "none.toml"], check=False)
    assert proc.returncode == 2 and "job file not found" in proc.stderr


def test_selftest_defaults_are_a_job_but_gnp_needs_its_table():
    job = parse_job("[job]\napp = 'selftest'\n", "j.toml")
    assert job.app.mu_per_cm == 1.0
    job = parse_job("[job]\napp = 'gnp'\n[gnp]\n", "j.toml")
    assert job.app.optimizer.max_iterations == 20
    with pytest.raises(ConfigError, match=r"missing table \[gnp\]"):
        parse_job("[job]\napp = 'gnp'\n", "j.toml")


def test_check_marks_defaults_and_prints_total_histories(tmp_path, capsys):
    job = tmp_path / "j.toml"
    job.write_text(GOOD)
    assert main(["check", str(job), "--set", "selftest.n_bins=7", "--set", "job.n_histories=2e4"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "n_histories = 20000" in out  # set: not marked
    assert "mu_per_cm = 0.5" in out
    assert "n_bins = 7" in out
    assert "thickness_cm = 2.0  # default" in out
    assert "chunk_size = 10000  # default" in out
    assert not any("fail_at_history" in line for line in out)  # a hidden test hook
    assert "# total histories: 20,000 over all tasks (an upper bound where an optimizer may stop early)" in out


def test_gnp_total_histories_counts_iterations_and_comparison(capsys):
    assert main(["check", str(REPO / "jobs/gnp/quick.toml")]) == 0
    out = capsys.readouterr().out
    assert "# total histories: 12,000,000 over all tasks" in out  # 8 x 1e6 + 2 x 2e6


def test_check_time_estimates_from_a_short_sample(tmp_path, capsys):
    job = write_job(tmp_path / "j.toml", n_histories=1_000_000, n_bins=5)
    assert main(["check", str(job), "--time", "--time-histories", "200", "--ranks", "3"]) == 0
    out = capsys.readouterr().out
    assert "# estimated run time:" in out and "ms per history" in out
    assert "with mpiexec -n 3 (2 workers)" in out


def test_check_set_errors_name_the_key_and_value(tmp_path, capsys):
    job = tmp_path / "j.toml"
    job.write_text(GOOD)
    assert main(["check", str(job), "--set", "selftest.mu_per_cm=abc def"]) == 2
    err = capsys.readouterr().err
    assert "selftest.mu_per_cm" in err and "'abc def'" in err
    assert main(["check", str(job), "--set", "selftest.mu_per_cm=-2"]) == 2
    assert "selftest.mu_per_cm must be > 0 1/cm, got -2.0" in capsys.readouterr().err
    assert main(["check", str(job), "--set", "noequals"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_apply_overrides_folds_values_in_as_toml():
    text = (REPO / "jobs/lem/baec.toml").read_text()
    out = apply_overrides(text, ["lem.beams.1.kvp=120", "lem.survival.xi=0.5", "job.seed=1e3",
                                 "job.output=out/x.h5", "lem.der_concentrations_mM=[0.2, 2]",
                                 'lem.medium="air"'], "baec.toml")
    job = parse_job(out, "baec.toml")
    assert job.app.beams[1].kvp == 120.0 and job.app.beams[0].kvp == 50.0
    assert job.app.survival.xi == 0.5 and job.job.seed == 1000 and job.job.output == "out/x.h5"
    assert job.app.der_concentrations_mM == (0.2, 2.0) and job.app.medium == "air"
    # everything else is unchanged
    before = parse_job(text, "baec.toml")
    assert job.app.calibration == before.app.calibration and job.app.survival.datasets == before.app.survival.datasets
    assert apply_overrides(text, []) == text


@pytest.mark.parametrize("item, fragment", [
    ("job.seed", "KEY=VALUE"),
    ("job..seed=1", "is not a key"),
    ("job.seed=[1,", "job.seed"),
    ("lem.beams.kvp=3", "add an entry index"),
    ("lem.beams.9.kvp=3", "lem.beams[9] does not exist"),
    ("lem.medium.x=3", "lem.medium is a value, not a table"),
])
def test_apply_overrides_errors(item, fragment):
    text = (REPO / "jobs/lem/baec.toml").read_text()
    with pytest.raises(ConfigError) as info:
        apply_overrides(text, [item], "baec.toml")
    assert fragment in str(info.value)


def test_options_lists_every_visible_key_with_type_unit_range(capsys):
    assert main(["options", "selftest"]) == 0
    out = capsys.readouterr().out
    assert "[job]" in out and "[gateway]" in out and "[selftest]" in out
    assert "selftest.mu_per_cm (float) = 1.0 [1/cm] {> 0}: attenuation coefficient of the slab" in out
    assert "job.chunk_size (int) = 10000 {>= 1, <= 100_000_000}" in out
    assert "fail_at_history" not in out  # test hook
    assert main(["options", "gnp"]) == 0
    out = capsys.readouterr().out
    assert "gnp.optimizer.sampler (str) = \"gp\" {one of 'gp', 'tpe'}" in out
    assert "[gnp]  # required in a job file" in out
    assert main(["options", "lem"]) == 0
    assert "lem.beams[].kvp (float) = 100.0 [kV] {>= 10, <= 300}" in capsys.readouterr().out
    assert main(["options", "gnpp"]) == 2
    assert "did you mean 'gnp'?" in capsys.readouterr().err


def test_hidden_test_hook_is_accepted_but_not_suggested():
    job = parse_job("[job]\napp = 'selftest'\n[selftest]\nfail_at_history = 5\n", "j.toml")
    assert job.app.fail_at_history == 5
    with pytest.raises(ConfigError) as info:
        parse_job("[job]\napp = 'selftest'\n[selftest]\nfail_at_histor = 5\n", "j.toml")
    assert "fail_at_history" not in str(info.value).split("unknown key")[1].split("=")[1]


def test_load_job_with_overrides(tmp_path):
    job = load_job(REPO / "jobs/selftest.toml", ["job.n_histories=1e4"])
    assert job.job.n_histories == 10_000 and job.app.mu_per_cm == 0.5
