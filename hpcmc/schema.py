"""Table schemas of job files: frozen dataclasses whose fields carry doc, unit and range.

Fields are declared with :func:`option`; :func:`parse_table` validates a parsed TOML table
against such a dataclass and raises :class:`ConfigError` naming the file, the key and the
value; nested dataclasses become sub-tables. The standard library only: the apps declare
their ``[<app>]`` tables with it, and :mod:`hpcmc.config` (which reads whole job files and
asks the app registry for the app's schema) builds on it.
"""
from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any, Optional, Sequence

__all__ = ["ConfigError", "option", "parse_table", "describe"]


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
