"""Job overrides: dotted keys set on top of a job's TOML (``hpcmc run --set``, ``hpcmc.run(overrides=)``).

An override is ``"table.key" = value`` (``"job.n_histories" = 1e5``, ``"selftest.n_bins" = 10``,
``"lem.beams[1].kvp" = 120``). :func:`apply_overrides` folds them into the job's data and
writes the result back as TOML text, so the results file's ``/config`` holds the job that
actually ran. The new text is validated like any job file afterwards (an unknown key or a
value out of range is reported naming the key and the value); here only the shape of the key
is checked. Values given on the command line are TOML values (``--set job.n_histories=1e5``,
``--set job.output='"x.h5"'``); text that is not a TOML value is taken as a string
(``--set job.output=x.h5``).

The standard library only (layer ``job``, beside :mod:`hpcmc.config`).
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import re
import sys
from typing import Any, Iterable, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from hpcmc.schema import ConfigError

__all__ = ["parse_assignment", "parse_assignments", "apply_overrides", "dumps_toml", "toml_value",
           "toml_key", "format_overrides"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_SEGMENT = re.compile(r"^([A-Za-z0-9_-]+)((?:\[\d+\])*)$")


def parse_assignment(item: str) -> tuple[str, Any]:
    """``"KEY=VALUE"`` → ``(KEY, value)``; the value is read as a TOML value, else kept as a string.

    Raises
    ------
    ConfigError
        If ``item`` has no ``=`` or an empty key.
    """
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set must be KEY=VALUE (e.g. job.n_histories=1e5), got {item!r}")
    text = text.strip()
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError as exc:
        if not text or text[0] in "[{\"'":
            raise ConfigError(f"--set {key}: the value is not a TOML value, got {text!r} ({exc})") from None
        value = text  # a bare word: x.h5, gold, ...
    return key, value


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    """Several ``KEY=VALUE`` items (later ones win) as an ordered dict."""
    out: dict[str, Any] = {}
    for item in items:
        key, value = parse_assignment(item)
        out[key] = value
    return out


def _plain(value: Any, key: str) -> Any:
    """A Python/numpy value as a TOML-able plain value; ConfigError naming ``key`` otherwise."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy scalars and arrays
        value = value.tolist()
    if isinstance(value, (bool, int, str, _dt.datetime, _dt.date, _dt.time)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            raise ConfigError(f"override {key}: value must be a number, got nan")
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, key) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{key}.{k}") for k, v in value.items()}
    raise ConfigError(f"override {key}: cannot store a {type(value).__name__} value ({value!r}) in a job file; "
                      "use a number, string, boolean, list or table")


def _path(key: str) -> list[str | int]:
    """``"lem.beams[1].kvp"`` → ``["lem", "beams", 1, "kvp"]``."""
    if not isinstance(key, str):
        raise ConfigError(f"override key must be a string like 'job.n_histories', got {key!r}")
    parts: list[str | int] = []
    for seg in key.split("."):
        if seg.strip().isdigit() and parts:  # lem.beams.1.kvp, as lem.beams[1].kvp
            parts.append(int(seg))
            continue
        m = _SEGMENT.match(seg.strip())
        if not m:
            raise ConfigError(f"override key {key!r}: {seg!r} is not a key (keys look like job.n_histories "
                              "or lem.beams[0].kvp)")
        parts.append(m.group(1))
        parts += [int(i) for i in re.findall(r"\[(\d+)\]", m.group(2))]
    if len(parts) < 2:
        raise ConfigError(f"override key {key!r} names a table, not a key: write <table>.<key>, "
                          f"e.g. job.n_histories")
    return parts


def _set(data: dict, key: str, value: Any) -> None:
    parts = _path(key)
    node: Any = data
    walked = ""
    for part in parts[:-1]:
        walked = f"{walked}[{part}]" if isinstance(part, int) else (f"{walked}.{part}" if walked else part)
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                size = len(node) if isinstance(node, list) else 0
                raise ConfigError(f"override {key} = {value!r}: {walked} does not exist "
                                  f"(the job has {size} entr{'y' if size == 1 else 'ies'} there)")
            node = node[part]
        else:
            if not isinstance(node, dict):
                raise ConfigError(f"override {key} = {value!r}: {walked.rpartition('.')[0]} is not a table")
            node = node.setdefault(part, {})
        if not isinstance(node, (dict, list)):
            raise ConfigError(f"override {key} = {value!r}: {walked} is a value, not a table")
    last = parts[-1]
    if isinstance(node, list) and not isinstance(last, int):
        raise ConfigError(f"override {key} = {value!r}: {walked} is an array of tables; add an entry index, "
                          f"e.g. {walked}[0].{last}")
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise ConfigError(f"override {key} = {value!r}: {walked}[{last}] does not exist")
        node[last] = _like(node[last], value)
    elif not isinstance(node, dict):
        raise ConfigError(f"override {key} = {value!r}: {walked} is not a table")
    else:
        node[last] = _like(node.get(last), value)


def _like(current: Any, value: Any) -> Any:
    """``1e5`` for a key the job has as an integer is written as the integer 100000."""
    if (isinstance(current, int) and not isinstance(current, bool) and isinstance(value, float)
            and value.is_integer() and abs(value) < 2**53):
        return int(value)
    return value


def format_overrides(overrides: Mapping[str, Any]) -> str:
    """``key=value, ...`` with TOML values, for messages and headers."""
    return ", ".join(f"{k}={toml_value(_plain(v, k))}" for k, v in overrides.items())


def apply_overrides(text: str, overrides: Mapping[str, Any], source: str = "<job>") -> str:
    """The job text with ``overrides`` set (the text itself if there are none).

    Parameters
    ----------
    text : str
        TOML text of the job.
    overrides : mapping
        Dotted key → value (numbers, strings, booleans, lists, tables; numpy scalars allowed).
    source : str
        Name of the job in messages (its file).

    Returns
    -------
    str
        TOML text with a comment header naming the overrides (comments of ``text`` are not kept).

    Raises
    ------
    ConfigError
        Naming the key and the value, if a key is malformed or walks through a value.
    """
    if not overrides:
        return text
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    for key, value in overrides.items():
        _set(data, key, _plain(value, key))
    header = (f"# {source} with overrides {format_overrides(overrides)}\n"
              "# (written by hpcmc: the job that ran; the original file's comments are not kept)\n")
    return header + dumps_toml(data)


# -- a small TOML writer --------------------------------------------------------------------------
def toml_key(k: str) -> str:
    """``k`` as a TOML key: bare when it can be, else a quoted string."""
    return k if _BARE_KEY.match(k) else _string(k)


def _string(s: str) -> str:
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(v: Any) -> str:
    """One value as inline TOML."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (_dt.datetime, _dt.date, _dt.time)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write a {type(v).__name__} as TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _dump_table(lines: list[str], name: str, table: dict) -> None:
    for k, v in table.items():
        if not isinstance(v, dict) and not _is_table_array(v):
            lines.append(f"{toml_key(k)} = {toml_value(v)}")
    for k, v in table.items():
        full = f"{name}.{toml_key(k)}" if name else toml_key(k)
        if isinstance(v, dict):
            lines += ["", f"[{full}]"]
            _dump_table(lines, full, v)
        elif _is_table_array(v):
            for item in v:
                lines += ["", f"[[{full}]]"]
                _dump_table(lines, full, item)


def dumps_toml(data: dict) -> str:
    """TOML text of parsed TOML data (``tomllib.loads(dumps_toml(d)) == d``)."""
    lines: list[str] = []
    _dump_table(lines, "", data)
    text = "\n".join(lines).lstrip("\n") + "\n"
    if tomllib.loads(text) != data:  # pragma: no cover - a bug of this writer, not of the job
        raise RuntimeError("hpcmc.overrides: the TOML writer did not round-trip the job")
    return text
