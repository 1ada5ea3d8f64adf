"""Job files: TOML → validated, frozen dataclasses.

A job file has a ``[job]`` table (which app, how many histories, the seed...), an optional
``[gateway]`` table, and one table named after the app, validated by the app's own
``config_class``. Every error names the file, the key and the value::

    jobs/selftest.toml: job.chunk_size must be >= 1, got 0

Unknown keys are errors, not ignored. Schemas are plain frozen dataclasses whose fields are
declared with :func:`option`, which carries the documentation, the unit and the admissible
range; nested dataclasses become sub-tables.
"""
from __future__ import annotations

import dataclasses
import math
import sys
import typing
from pathlib import Path
from typing import Any, Optional, Sequence

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["ConfigError", "option", "parse_table", "JobSection", "GatewaySection", "Job", "load_job", "parse_job", "describe"]


class ConfigError(ValueError):
    """A job file is invalid; the message names the file, the key and the value."""


def option(
    default: Any = dataclasses.MISSING,
    *,
    doc: str,
    unit: str = "",
    ge: Optional[float] = None,
    gt: Optional[float] = None,
    le: Optional[float] = None,
    lt: Optional[float] = None,
    choices: Optional[Sequence[Any]] = None,
    min_len: Optional[int] = None,
):
    """A dataclass field with documentation, unit and admissible range for validation."""
    meta = dict(doc=doc, unit=unit, ge=ge, gt=gt, le=le, lt=lt, choices=choices, min_len=min_len)
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple for sequence defaults (configs are frozen)")
    return dataclasses.field(default=default, metadata=meta)


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    return str(value)


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is tuple:
        args = typing.get_args(tp)
        return f"a list of {_type_name(args[0])}"
    if tp is float:
        return "a number"
    if tp is int:
        return "an integer"
    if tp is bool:
        return "true or false"
    if tp is str:
        return "a string"
    if dataclasses.is_dataclass(tp):
        return "a table"
    return str(tp)


def _convert(value: Any, tp, where: str, file: str):
    """Check/convert one TOML value to ``tp``; raise ConfigError naming ``where``."""
    origin = typing.get_origin(tp)
    if origin is typing.Union:  # Optional[X]
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(value, args[0], where, file)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{file}: {where} must be a table, got {_fmt(value)}")
        return parse_table(tp, value, where, file)
    if origin is tuple:
        (item_tp, *_rest) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"{file}: {where} must be {_type_name(tp)}, got {_fmt(value)}")
        return tuple(_convert(v, item_tp, f"{where}[{i}]", file) for i, v in enumerate(value))
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{file}: {where} must be true or false, got {_fmt(value)}")
        return value
    if tp is int:
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            value = int(value)  # 1e6 is accepted as an integer
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{file}: {where} must be an integer, got {_fmt(value)}")
        return value
    if tp is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(f"{file}: {where} must be a number, got {_fmt(value)}")
        value = float(value)
        if math.isnan(value):
            raise ConfigError(f"{file}: {where} must be a number, got nan")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{file}: {where} must be a string, got {_fmt(value)}")
        return value
    raise TypeError(f"unsupported option type {tp!r} at {where}")


def _check_range(value: Any, meta: dict, where: str, file: str) -> None:
    items = value if isinstance(value, tuple) else (value,)
    if meta.get("min_len") is not None and isinstance(value, tuple) and len(value) < meta["min_len"]:
        raise ConfigError(f"{file}: {where} must have at least {meta['min_len']} entries, got {len(value)}")
    for v in items:
        if meta.get("choices") is not None and v not in meta["choices"]:
            options = ", ".join(_fmt(c) for c in meta["choices"])
            raise ConfigError(f"{file}: {where} must be one of {options}, got {_fmt(v)}")
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        for key, ok, sym in (
            ("ge", lambda a, b: a >= b, ">="),
            ("gt", lambda a, b: a > b, ">"),
            ("le", lambda a, b: a <= b, "<="),
            ("lt", lambda a, b: a < b, "<"),
        ):
            bound = meta.get(key)
            if bound is not None and not ok(v, bound):
                unit = f" {meta['unit']}" if meta.get("unit") else ""
                raise ConfigError(f"{file}: {where} must be {sym} {bound:g}{unit}, got {_fmt(v)}")


def parse_table(cls, table: dict, where: str, file: str):
    """Validate a TOML table against the frozen dataclass ``cls``.

    Parameters
    ----------
    cls : type
        A dataclass whose fields were declared with :func:`option`.
    table : dict
        The parsed TOML table.
    where : str
        Dotted key of the table in the file (``"job"``, ``"gnp.source"``).
    file : str
        File name for messages.
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        known = ", ".join(sorted(fields))
        raise ConfigError(f"{file}: unknown key {where}.{unknown[0]} (known keys of [{where}]: {known})")
    values = {}
    for name, f in fields.items():
        key = f"{where}.{name}"
        if name in table:
            value = _convert(table[name], hints[name], key, file)
        elif f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:  # nested tables
            value = f.default_factory()
        else:
            raise ConfigError(f"{file}: missing required key {key} ({f.metadata.get('doc', '')})")
        if value is not None:
            _check_range(value, f.metadata, key, file)
        values[name] = value
    try:
        obj = cls(**values)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{file}: [{where}] {exc}") from None
    return obj


def describe(cls, prefix: str = "") -> list[str]:
    """One line per option of ``cls``: key, default, unit, range and doc (for ``hpcmc info``)."""
    lines = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(hints[f.name]):
            lines += describe(hints[f.name], prefix=f"{key}.")
            continue
        meta = f.metadata
        default = "required" if f.default is dataclasses.MISSING else f"= {f.default!r}"
        unit = f" [{meta['unit']}]" if meta.get("unit") else ""
        lines.append(f"{key} {default}{unit}: {meta.get('doc', '')}")
    return lines


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
        from hpcmc.apps import get_app, known_apps

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
