"""Writing TOML: values and whole documents (the standard library reads TOML but cannot write it).

Used by :func:`hpcmc.config.apply_overrides` (a job with ``--set key=value`` folded in) and by
``hpcmc check`` (the resolved job). The output parses back with :mod:`tomllib` to the same
data. The standard library only, like :mod:`hpcmc.schema`.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import re
from typing import Any

__all__ = ["toml_value", "toml_key", "dump_toml"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_key(key: str) -> str:
    """``key`` as a TOML key: bare when it can be, else a quoted string."""
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def toml_value(value: Any) -> str:
    """One value as TOML text (strings, booleans, numbers, dates, lists and tables inline).

    Parameters
    ----------
    value : str, bool, int, float, datetime, date, time, list, tuple or dict
        Floats keep every digit (``repr``); ``inf`` and ``nan`` are written as TOML's.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are TOML basic-string escapes
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as TOML")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, dict) for v in value)


def _dump_table(table: dict, path: list[str], out: list[str]) -> None:
    scalars = [(k, v) for k, v in table.items() if not isinstance(v, dict) and not _is_table_array(v)]
    for k, v in scalars:
        out.append(f"{toml_key(k)} = {toml_value(v)}")
    for k, v in table.items():
        sub = path + [toml_key(k)]
        if isinstance(v, dict):
            out.append("")
            out.append(f"[{'.'.join(sub)}]")
            _dump_table(v, sub, out)
        elif _is_table_array(v):
            for item in v:
                out.append("")
                out.append(f"[[{'.'.join(sub)}]]")
                _dump_table(item, sub, out)


def dump_toml(data: dict) -> str:
    """A TOML document holding ``data`` (nested dicts become tables, lists of dicts arrays of tables).

    Comments and the layout of the text ``data`` was read from are not kept.
    """
    out: list[str] = []
    _dump_table(data, [], out)
    return "\n".join(out).lstrip("\n") + "\n"
