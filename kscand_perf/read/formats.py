"""Event formats: the tracing data a recording carries (perf's HEADER_TRACING_DATA
feature or record) and the tracefs ``format`` text of each event in it, which gives
every field's offset, size and signedness."""

from __future__ import annotations

import dataclasses
import re
from typing import Dict, Optional, Tuple

from .base import Cursor, Damage, Problem


@dataclasses.dataclass(frozen=True)
class FieldFormat:
    """One field of an event's format. ``kind``: "int", "str" (char[N]), "dynstr"
    (__data_loc char[]), "relstr" (__rel_loc char[]), "array" (other arrays: bytes)."""

    name: str
    type: str
    offset: int
    size: int
    signed: bool
    kind: str


@dataclasses.dataclass(frozen=True)
class EventFormat:
    """One tracepoint's format, as the recording holds it."""
    system: str
    name: str
    id: int
    fields: Tuple[FieldFormat, ...]   # the common_* fields first, as in the format text
    # field -> value -> name, from the print fmt's __print_symbolic(REC->field, ...) tables
    symbols: Dict[str, Dict[int, str]] = dataclasses.field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return "%s:%s" % (self.system, self.name)

    def field(self, name: str) -> Optional[FieldFormat]:
        for f in self.fields:
            if f.name == name:
                return f
        return None


_FIELD_RE = re.compile(r"field:([^;]*);\s*offset:(\d+);\s*size:(\d+);(?:\s*signed:(\d+);)?")
_SYMBOLIC_RE = re.compile(r"__print_symbolic\(\s*REC->(\w+)\s*,")
_SYMBOL_RE = re.compile(r'\s*,?\s*\{\s*(-?(?:0x[0-9a-fA-F]+|\d+))\s*,\s*"((?:[^"\\]|\\.)*)"\s*\}')
_ID_RE = re.compile(r"^ID:\s*(\d+)\s*$", re.M)
_NAME_RE = re.compile(r"^name:\s*(\S+)\s*$", re.M)


def _field(decl: str, offset: int, size: int, signed: bool) -> Optional[FieldFormat]:
    decl = decl.strip()
    tokens = decl.split()
    if not tokens:
        return None
    last = tokens[-1]
    name = last.split("[", 1)[0]
    if not name:
        return None
    ctype = decl[: len(decl) - len(last)].strip()
    if decl.startswith("__data_loc"):
        kind = "dynstr" if "char" in ctype else "array"
    elif decl.startswith("__rel_loc"):
        kind = "relstr" if "char" in ctype else "array"
    elif "[" in last:
        kind = "str" if "char" in ctype else "array"
    elif size in (1, 2, 4, 8):
        kind = "int"
    else:
        kind = "array"
    return FieldFormat(name, ctype, offset, size, signed, kind)


def parse_symbols(text: str) -> Dict[str, Dict[int, str]]:
    """The ``__print_symbolic(REC->field, {value, "name"}, ...)`` tables of a format's print
    fmt, by field (what perf hands a script through define_symbolic_value). A value the
    kernel left as an enum name (no TRACE_DEFINE_ENUM) has no number: it is left out."""
    out: Dict[str, Dict[int, str]] = {}
    for m in _SYMBOLIC_RE.finditer(text):
        table = out.setdefault(m.group(1), {})
        pos = m.end() - 1  # at the comma before the first {value, "name"}
        while True:
            s = _SYMBOL_RE.match(text, pos)
            if s is None:
                break
            number = s.group(1)
            hexa = number.lstrip("-").startswith("0x")
            value = int(number, 16) if hexa else int(number, 10)
            table.setdefault(value, s.group(2))
            pos = s.end()
    return out


def parse_format(system: str, text: str) -> Optional[EventFormat]:
    """An event's format from the text of its tracefs ``format`` file (None if unusable)."""
    m_id = _ID_RE.search(text)
    m_name = _NAME_RE.search(text)
    if m_id is None or m_name is None:
        return None
    fields = []
    for m in _FIELD_RE.finditer(text):
        f = _field(m.group(1), int(m.group(2)), int(m.group(3)), m.group(4) == "1")
        if f is not None:
            fields.append(f)
    symbols = parse_symbols(text) if "__print_symbolic" in text else {}
    return EventFormat(system, m_name.group(1), int(m_id.group(1)), tuple(fields), symbols)


def parse_tracing_data(blob: bytes, base: int = 0
                       ) -> Tuple[Dict[int, EventFormat], Optional[Problem]]:
    """The event formats in a HEADER_TRACING_DATA blob, by event ID, and the problem
    that stopped parsing, if any (the formats read before it are kept)."""
    formats: Dict[int, EventFormat] = {}
    c = Cursor(blob, base)
    try:
        if c.take(10) != b"\x17\x08Dtracing":
            return formats, Problem(base, "the tracing data has no 'tracing' signature")
        c.cstr()                      # version
        if c.u8() != 0:
            return formats, Problem(base + c.pos, "big-endian tracing data is not supported")
        c.u8()                        # long size
        c.u32()                       # page size
        for _ in range(2):            # header_page, header_event
            c.cstr()
            c.take(c.u64())
        for _ in range(c.u32()):      # ftrace formats
            c.take(c.u64())
        for _ in range(c.u32()):
            system = c.cstr()
            for _ in range(c.u32()):
                text = c.take(c.u64()).decode("utf-8", "replace")
                fmt = parse_format(system, text)
                if fmt is not None:
                    formats[fmt.id] = fmt
        # kallsyms, printk formats and saved cmdlines follow: not needed
    except Damage as e:
        return formats, Problem(e.offset, "tracing data: %s" % e.reason)
    return formats, None
