"""Text that comes from outside Python, made safe for HDF5 attributes and protobuf strings.

Strings that hpcmc did not write itself — the MPI library's version string, host names,
command lines, file names, environment values, exception messages quoting client input — may
carry NUL characters (Open MPI's ``MPI_Get_library_version`` ends with one), bytes that are
not UTF-8, lone surrogates (``os.fsdecode`` of such bytes), terminal control sequences, or be
arbitrarily long. HDF5 variable-length strings refuse embedded NULs and protobuf ``string``
fields refuse invalid UTF-8, so one such string would end a run or a gateway reply.
:func:`clean_text` is applied where such strings enter a results file, a statepoint or a
gateway message.
"""
from __future__ import annotations

import re
from typing import Any

__all__ = ["MAX_TEXT_CHARS", "clean_text", "clean_mapping"]

#: Default bound on the length of one cleaned string [characters].
MAX_TEXT_CHARS = 4096

# C0 controls except TAB, LF, CR; DEL; C1 controls.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ELLIPSIS = "…"


def clean_text(value: Any, max_chars: int = MAX_TEXT_CHARS) -> str:
    """A printable, valid-UTF-8 string of at most ``max_chars`` characters.

    Parameters
    ----------
    value : str, bytes or object
        ``bytes`` are decoded as UTF-8 with U+FFFD for invalid sequences; other objects go
        through ``str()``.
    max_chars : int
        Longer strings are cut to ``max_chars - 1`` characters plus ``…``.

    Returns
    -------
    str
        ``value`` without NUL and other control characters (tab, newline and carriage return
        are kept), with lone surrogates replaced by U+FFFD, trailing whitespace removed, and
        bounded in length.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars!r}")
    if isinstance(value, (bytes, bytearray, memoryview)):
        text = bytes(value).decode("utf-8", errors="replace")
    else:
        text = str(value)
    text = _SURROGATE.sub("\ufffd", text)
    text = _CONTROL.sub("", text).rstrip()
    if len(text) > max_chars:
        text = text[: max_chars - 1] + _ELLIPSIS
    return text


def clean_mapping(values: dict[str, Any], max_chars: int = MAX_TEXT_CHARS) -> dict[str, Any]:
    """A copy of ``values`` with every key and every ``str``/``bytes`` value cleaned.

    Numbers, booleans and arrays pass unchanged; keys are cleaned and bounded to 255
    characters (HDF5 attribute names).
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, (str, bytes, bytearray, memoryview)):
            value = clean_text(value, max_chars)
        out[clean_text(key, 255) or "_"] = value
    return out
