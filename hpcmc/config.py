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
import os
import sys
import typing
from pathlib import Path
from typing import Any, Iterable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from hpcmc.apps import get_app, known_apps
from hpcmc.schema import ConfigError, _fmt, describe, did_you_mean, is_hidden, option, parse_table
from hpcmc.overrides import apply_overrides, parse_assignments, toml_key, toml_value

__all__ = ["ConfigError", "option", "parse_table", "JobSection", "GatewaySection", "Job", "load_job", "parse_job",
           "describe", "resolved_lines", "input_files"]


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
    app = None
    if app_config_class is None:
        if job.app not in known_apps():
            raise ConfigError(f"{path}: job.app must be one of {', '.join(map(repr, known_apps()))}, "
                              f"got {job.app!r}{did_you_mean(job.app, known_apps())}")
        app = get_app(job.app)
        app_config_class = app.config_class
    allowed = {"job", "gateway", job.app}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(
            f"{path}: unknown table or key {unknown[0]!r}{did_you_mean(unknown[0], sorted(allowed))} "
            f"(a {job.app} job has [job], [gateway] and [{job.app}])"
        )
    if (app is not None and app_config_class is not None and job.app not in data
            and not getattr(app, "defaults_are_a_job", False)):
        raise ConfigError(
            f"{path}: missing table [{job.app}] (job.app = {job.app!r}); the {job.app} defaults are not a job to "
            f"start by accident: write the [{job.app}] table (an empty one takes every default; "
            f"`hpcmc options {job.app}` lists them)"
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


def load_job(path: str | Path, overrides: Iterable[str] = ()) -> Job:
    """Read and validate a job file, with ``key=value`` overrides folded in (:func:`hpcmc.overrides.apply_overrides`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: job file not found") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the job file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not a text (UTF-8) file: {exc.reason} at byte {exc.start}") from None
    overrides = list(overrides)
    if overrides:
        text = apply_overrides(text, parse_assignments(overrides), str(p))
    return parse_job(text, str(p))


# --------------------------------------------------------------------------------------
def _resolved_table(obj, raw: dict, prefix: str, lines: list[str]) -> None:
    """``key = value`` lines of the dataclass ``obj``; values not in ``raw`` marked ``# default``."""
    hints = typing.get_type_hints(type(obj))
    tables = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        tp = hints[f.name]
        args = typing.get_args(tp) if typing.get_origin(tp) is tuple else ()
        if dataclasses.is_dataclass(tp) or (args and dataclasses.is_dataclass(args[0])):
            tables.append((f.name, value))
            continue
        given = f.name in raw
        if is_hidden(f) and not given:
            continue
        text = "" if value is None else toml_value(value)
        lines.append(f"{toml_key(f.name)} = {text}" + ("" if given else "  # default"))
    for name, value in tables:
        sub = raw.get(name)
        if isinstance(value, tuple):
            items = sub if isinstance(sub, list) else []
            if not value:
                lines += ["", f"# [[{prefix}{name}]]: none"]
            for k, entry in enumerate(value):
                lines += ["", f"[[{prefix}{name}]]"]
                _resolved_table(entry, items[k] if k < len(items) else {}, f"{prefix}{name}.", lines)
        else:
            lines += ["", f"[{prefix}{name}]" + ("" if isinstance(sub, dict) else "  # default")]
            _resolved_table(value, sub if isinstance(sub, dict) else {}, f"{prefix}{name}.", lines)


def resolved_lines(job: Job) -> list[str]:
    """The job with every option resolved, as TOML lines; values the file does not set end in ``# default``.

    Hidden options (test hooks) appear only when the file sets them.
    """
    data = tomllib.loads(job.text)
    lines: list[str] = ["[job]"]
    _resolved_table(job.job, data.get("job", {}), "job.", lines)
    lines += ["", "[gateway]" + ("" if "gateway" in data else "  # default")]
    _resolved_table(job.gateway, data.get("gateway", {}), "gateway.", lines)
    if job.app is not None:
        lines += ["", f"[{job.app_name}]" + ("" if job.app_name in data else "  # default")]
        _resolved_table(job.app, data.get(job.app_name, {}), f"{job.app_name}.", lines)
    return lines


def input_files(job: Job) -> list[Path]:
    """Files the job names: every string value of the job that is an existing file.

    Relative paths are taken relative to the job file's directory (as the apps read them), then
    to the working directory. The job's output files are left out. Sorted, without duplicates.
    """
    base = Path(job.path).resolve().parent if job.path and not job.path.startswith("<") else Path.cwd()
    outputs = {job.job.output}
    found: set[Path] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str) and node and node not in outputs and len(node) < 4096:
            for candidate in (base / os.path.expanduser(node), Path(os.path.expanduser(node))):
                try:
                    if candidate.is_file():
                        found.add(candidate.resolve())
                        break
                except OSError:
                    continue

    walk(tomllib.loads(job.text))
    return sorted(found)
