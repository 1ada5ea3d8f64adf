"""Job files: every error names the file, the key and the value; unknown keys are errors."""
import pytest

from hpcmc.config import ConfigError, parse_job

GOOD = """
[job]
app = "selftest"
seed = 3
n_histories = 1e5
[selftest]
mu_per_cm = 2.0
"""


def test_good_job_is_typed_and_frozen():
    job = parse_job(GOOD, "j.toml")
    assert job.job.n_histories == 100_000 and isinstance(job.job.n_histories, int)
    assert job.app.mu_per_cm == 2.0
    assert job.gateway.bind == "tcp://127.0.0.1:5555"
    with pytest.raises(Exception):
        job.job.seed = 4  # frozen


@pytest.mark.parametrize(
    "text, message",
    [
        ("[job]\napp='selftest'\nchunk_size=0\n", "j.toml: job.chunk_size must be >= 1, got 0"),
        ("[job]\napp='selftest'\nseed=-1\n", "j.toml: job.seed must be >= 0, got -1"),
        ("[job]\napp='selftest'\nn_histories='many'\n", "j.toml: job.n_histories must be an integer, got 'many'"),
        ("[job]\napp='selftest'\nn_histories=1.5\n", "j.toml: job.n_histories must be an integer, got 1.5"),
        ("[job]\napp='selftest'\nnhistories=10\n", "j.toml: unknown key job.nhistories"),
        ("[job]\napp='nope'\n", "j.toml: job.app must be one of"),
        ("[job]\napp='selftest'\n[selftest]\nmu_per_cm=0\n", "j.toml: selftest.mu_per_cm must be > 0 1/cm, got 0.0"),
        ("[job]\napp='selftest'\n[selftest]\nwork=3\n", "j.toml: unknown key selftest.work"),
        ("[job]\napp='selftest'\n[gnp]\n", "j.toml: unknown table or key 'gnp'"),
        ("[job]\napp='selftest'\n[gateway]\nmax_message_bytes=10\n", "j.toml: gateway.max_message_bytes must be >= 256 B, got 10"),
        ("app='selftest'\n", "j.toml: missing table [job]"),
        ("[job]\napp=\n", "j.toml: not valid TOML"),
        ("[job]\nseed=1\n", "j.toml: missing required key job.app"),
    ],
)
def test_errors_name_key_and_value(text, message):
    with pytest.raises(ConfigError) as info:
        parse_job(text, "j.toml")
    assert message in str(info.value)


def test_load_job_missing_file(tmp_path):
    from hpcmc.config import load_job

    with pytest.raises(ConfigError, match="job file not found"):
        load_job(tmp_path / "nope.toml")
