"""Table schemas of job files: frozen dataclasses whose fields carry doc, unit and range.

Fields are declared with :func:`option`; :func:`parse_table` validates a parsed TOML table
against such a dataclass and raises :class:`ConfigError` naming the file, the key and the
value; nested dataclasses become sub-tables. The standard library only: the apps declare
their ``[<app>]`` tables with it, and :mod:`hpcmc.config` (which reads whole job files and
asks the app registry for the app's schema) builds on it.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import typing
from typing import Any, Optional, Sequence

__all__ = ["ConfigError", "option", "parse_table", "describe", "did_you_mean", "is_hidden", "type_name", "range_text"]


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
    hidden: bool = False,
):
    """A dataclass field with documentation, unit and admissible range for validation.

    ``hidden=True`` marks a test hook (e.g. ``selftest.fail_at_history``): it is validated and
    accepted like any option, but :func:`describe` (``hpcmc options``), the "known keys" of
    error messages and the suggestions leave it out, so users do not meet it.
    """
    meta = dict(doc=doc, unit=unit, ge=ge, gt=gt, le=le, lt=lt, choices=choices, min_len=min_len, hidden=hidden)
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple for sequence defaults (configs are frozen)")
    return dataclasses.field(default=default, metadata=meta)


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    return str(value)


def did_you_mean(word: str, candidates) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``candidates`` to ``word``, or ``""``."""
    close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def is_hidden(f: dataclasses.Field) -> bool:
    """True for an option declared with ``hidden=True`` (a test hook)."""
    return bool(f.metadata.get("hidden"))


def type_name(tp) -> str:
    """Short type of an option for ``hpcmc options``: int, float, bool, str, list[...], table."""
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return type_name(args[0])
    if origin is tuple:
        return f"list[{type_name(typing.get_args(tp)[0])}]"
    if dataclasses.is_dataclass(tp):
        return "table"
    return getattr(tp, "__name__", str(tp))


def range_text(meta) -> str:
    """The admissible range of an option as text (``>= 1, <= 100``; ``one of 'a', 'b'``), or ``""``."""
    parts = [f"{sym} {_bound_text(meta[key])}" for key, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
             if meta.get(key) is not None]
    if meta.get("choices") is not None:
        parts.append("one of " + ", ".join(_fmt(c) for c in meta["choices"]))
    if meta.get("min_len") is not None:
        parts.append(f"at least {meta['min_len']} entries")
    return ", ".join(parts)


def _bound_text(bound: float) -> str:
    if float(bound).is_integer() and abs(bound) >= 1e5:
        return f"{int(bound):_}"  # 100_000_000, as a job file may write it
    return f"{bound:g}"


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
        visible = sorted(n for n, f in fields.items() if not is_hidden(f))
        hint = did_you_mean(unknown[0], visible)
        raise ConfigError(f"{file}: unknown key {where}.{unknown[0]} = {_fmt(table[unknown[0]])}{hint} "
                          f"(known keys of [{where}]: {', '.join(visible)})")
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
    """One line per option of ``cls`` (for ``hpcmc options``): key, type, default, unit, range, doc.

    Nested tables are described with dotted keys, arrays of tables (``tuple[Table, ...]``) as
    ``key[].field``; hidden options (test hooks, see :func:`option`) are left out. A line reads
    ``key (type) = default [unit] {range}: doc``.
    """
    lines = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if is_hidden(f):
            continue
        key = f"{prefix}{f.name}"
        tp = hints[f.name]
        meta = f.metadata
        if dataclasses.is_dataclass(tp):
            lines += describe(tp, prefix=f"{key}.")
            continue
        args = typing.get_args(tp) if typing.get_origin(tp) is tuple else ()
        if args and dataclasses.is_dataclass(args[0]):
            lines.append(f"{key} (array of tables [[...]]): {meta.get('doc', '')}")
            lines += describe(args[0], prefix=f"{key}[].")
            continue
        if f.default is not dataclasses.MISSING:
            default = f"= {_default_text(f.default)}"
        else:
            default = "required"
        unit = f" [{meta['unit']}]" if meta.get("unit") else ""
        rng = range_text(meta)
        rng = f" {{{rng}}}" if rng else ""
        lines.append(f"{key} ({type_name(tp)}) {default}{unit}{rng}: {meta.get('doc', '')}")
    return lines


def _default_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple):
        return "[" + ", ".join(_default_text(v) for v in value) + "]"
    return repr(value)
