"""Indented JSON text, faster than the standard library's.

``json.dumps(value, indent=2)`` is written by the json module's Python encoder (its C
encoder cannot indent), at about 20 MB/s: a tenth of a second for the report of a
1M-event recording. :func:`dumps` writes the same text to the byte (tests/test_jsontext.py
holds the two side by side) in about half the time: one function call per container,
none per scalar, the strings escaped by the json module's own C function.
"""

from __future__ import annotations

import json
import json.encoder
from typing import Any, Callable, List

# the json module's own escaping of a string (C), as json.dumps uses it (ensure_ascii)
_string: Callable[[str], str] = getattr(json.encoder, "encode_basestring_ascii")

_INF = float("inf")


def dumps(value: Any, pad: str = "") -> str:
    """``json.dumps(value, indent=2)``, each line after the first preceded by ``pad``;
    a value of another kind than JSON's (where json.dumps would call ``default``) is
    left to json.dumps, which says what it says about it."""
    out: List[str] = []
    try:
        _write(value, "\n" + pad, out.append)
    except _Foreign:
        return json.dumps(value, indent=2).replace("\n", "\n" + pad)
    return "".join(out)


class _Foreign(Exception):
    """A value json.dumps alone knows what to do with."""


def _scalar(v: Any) -> str:
    if isinstance(v, str):
        return _string(v)
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return int.__repr__(v)
    if isinstance(v, float):
        if v != v:
            return "NaN"
        if v == _INF:
            return "Infinity"
        if v == -_INF:
            return "-Infinity"
        return float.__repr__(v)
    raise _Foreign()


def _key(k: Any) -> str:
    if isinstance(k, str):
        return _string(k)
    if isinstance(k, (int, float)) or k is None:  # json names them as it writes them
        return '"' + _scalar(k) + '"'
    raise _Foreign()


def _write(v: Any, pad: str, out: Callable[[str], None]) -> None:
    """``v`` at the depth whose lines begin with ``pad`` (a newline and spaces)."""
    inner = pad + "  "
    if isinstance(v, dict):
        if not v:
            out("{}")
            return
        sep = "{" + inner
        for k, x in v.items():
            name = _string(k) if type(k) is str else _key(k)
            t = type(x)
            if t is int:  # (the common kinds first, without a call)
                out(sep + name + ": " + int.__repr__(x))
            elif t is str:
                out(sep + name + ": " + _string(x))
            elif isinstance(x, (dict, list, tuple)):
                out(sep + name + ": ")
                _write(x, inner, out)
            else:
                out(sep + name + ": " + _scalar(x))
            sep = "," + inner
        out(pad + "}")
    elif isinstance(v, (list, tuple)):
        if not v:
            out("[]")
            return
        sep = "[" + inner
        for x in v:
            t = type(x)
            if t is int:
                out(sep + int.__repr__(x))
            elif isinstance(x, (dict, list, tuple)):
                out(sep)
                _write(x, inner, out)
            else:
                out(sep + _scalar(x))
            sep = "," + inner
        out(pad + "]")
    else:
        out(_scalar(v))
