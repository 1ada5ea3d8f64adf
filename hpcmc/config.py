"""Job files: TOML → validated, frozen dataclasses.

A job file has a ``[job]`` table (which app, how many histories, the seed...), an optional
``[gateway]`` table, and one table named after the app, validated by the app's own
``config_class``. Every error names the file, the key and the value::

    jobs/selftest.toml: job.chunk_size must be >= 1, got 0

Unknown keys are errors, not ignored. Schemas are plain frozen dataclasses whose fields are
declared with :func:`option`, which carries the documentation, the unit and the admissible
range; nested dataclasses become sub-tables (:mod:`hpcmc.schema`, re-exported here).

Layer: this module sits between the cli and the apps — it looks the app's schema up in the
app registry (:mod:`hpcmc.apps`); the apps declare their tables with :mod:`hpcmc.schema`,
which imports nothing from hpcmc.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from hpcmc.apps import get_app, known_apps
from hpcmc.schema import ConfigError, _fmt, describe, option, parse_table

__all__ = ["ConfigError", "option", "parse_table", "JobSection", "GatewaySection", "Job", "load_job", "parse_job", "describe"]


# --------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class JobSection:
    """The ``[job]`` table: what runs, how much and with which seed."""

    app: str = option(doc="the app to run (selftest, gnp, lem, ...)")
    seed: int = option(1, doc="seed of all random streams", ge=0, lt=2**63)
    n_histories: int = option(1_000_000, doc="primary histories per task", ge=1)
    chunk_size: int = option(10_000, doc="histories per chunk handed to a worker", ge=1, le=100_000_000)
    checkpoint_interval_s: float = option(
        300.0, doc="write a statepoint at least this often during a task", unit="s", gt=0.0
    )
    output: str = option("results.h5", doc="results file (HDF5); `hpcmc run -o` overrides it")


@dataclasses.dataclass(frozen=True)
class GatewaySection:
    """The ``[gateway]`` table: the TCP interface of ``hpcmc serve``."""

    bind: str = option("tcp://127.0.0.1:5555", doc="ZeroMQ endpoint the master binds")
    auth_key_file: str = option(
        "", doc="file holding the shared HMAC key; required to bind anything but loopback"
    )
    max_histories: int = option(
        10_000_000_000, doc="largest n_histories/n_primaries a request may ask for", ge=1
    )
    max_message_bytes: int = option(65536, doc="largest request accepted", unit="B", ge=256)


@dataclasses.dataclass(frozen=True)
class Job:
    """A validated job: its tables, the app's table and the text it came from."""

    job: JobSection
    gateway: GatewaySection
    app: Any
    text: str
    path: str

    @property
    def app_name(self) -> str:
        return self.job.app


def parse_job(text: str, path: str = "<job>", app_config_class=None) -> Job:
    """Parse and validate job text.

    Parameters
    ----------
    text : str
        TOML text of the job.
    path : str
        File name used in messages.
    app_config_class : type, optional
        Schema of the app's table; if ``None`` it is looked up from the app registry.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if "job" not in data:
        raise ConfigError(f"{path}: missing table [job] (it names the app: [job] app = \"selftest\")")
    if not isinstance(data["job"], dict):
        raise ConfigError(f"{path}: job must be a table, got {_fmt(data['job'])}")
    job = parse_table(JobSection, data["job"], "job", path)
    if app_config_class is None:
        if job.app not in known_apps():
            raise ConfigError(f"{path}: job.app must be one of {', '.join(map(repr, known_apps()))}, got {job.app!r}")
        app_config_class = get_app(job.app).config_class
    allowed = {"job", "gateway", job.app}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(
            f"{path}: unknown table or key {unknown[0]!r} (a {job.app} job has [job], [gateway] and [{job.app}])"
        )
    gateway = parse_table(GatewaySection, data.get("gateway", {}), "gateway", path)
    if app_config_class is None:
        if job.app in data:
            raise ConfigError(f"{path}: app {job.app!r} takes no [{job.app}] table")
        app_cfg = None
    else:
        table = data.get(job.app, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {job.app} must be a table, got {_fmt(table)}")
        app_cfg = parse_table(app_config_class, table, job.app, path)
    return Job(job=job, gateway=gateway, app=app_cfg, text=text, path=path)


def load_job(path: str | Path) -> Job:
    """Read and validate a job file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: job file not found") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the job file: {exc.strerror}") from None
    return parse_job(text, str(p))
