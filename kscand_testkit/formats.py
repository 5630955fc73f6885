"""The C layout of the kscand tracepoints, as the kernel lays them out.

What the perf.data writer needs to write records a kernel would write: C
types, offsets, sizes, the format text of tracefs and the posted printk
strings. Names and field order come from :mod:`kscand_perf.events` (what the
report knows); tests/test_schema_patch.py checks both against patch/.

Layouts are those of x86_64 (LP64): pointers and ``unsigned long`` are 8
bytes. The format text is what the kernel prints in
/sys/kernel/tracing/events/<system>/<event>/format.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Optional, Sequence, Tuple

# Re-exported for the simulator and the tests.
from kscand_perf.events import (  # noqa: F401
    MIGRATE_PASS_LIMIT, RC_NAMES, RC_NAMES_V3, SCAN_PERIOD_FIRST_MS, SCAN_PERIOD_MAX_MS,
    SCAN_PERIOD_MIN_MS, SCAN_SIZE_DEFAULT, SCAN_SIZE_MAX, SCAN_SIZE_MIN, rc_name)

SYSTEM = "kmem"

# C types this project meets, with their size and signedness on LP64.
# "str" fields are fixed char arrays, "dynstr" fields are __data_loc strings.
_CTYPES: Dict[str, Tuple[int, bool, str]] = {
    "unsigned short": (2, False, "int"),
    "unsigned char": (1, False, "int"),
    "int": (4, True, "int"),
    "pid_t": (4, True, "int"),
    "unsigned int": (4, False, "int"),
    "long": (8, True, "int"),
    "unsigned long": (8, False, "int"),
    "struct mm_struct *": (8, False, "int"),
    "enum migrate_mode": (4, False, "int"),
    "char[16]": (16, False, "str"),
    "__data_loc char[]": (4, False, "dynstr"),
}


@dataclasses.dataclass(frozen=True)
class Field:
    """One field of a trace event record."""

    name: str
    ctype: str
    offset: int
    size: int
    signed: bool
    kind: str  # "int", "str" (char[N]) or "dynstr" (__data_loc char[])

    def format_line(self) -> str:
        """The field's line in the kernel's format file (without the tab)."""
        if self.ctype.endswith("[16]"):
            decl = "%s %s[16]" % (self.ctype[:-4], self.name)
        else:
            decl = "%s %s" % (self.ctype, self.name)
        return "field:%s;\toffset:%d;\tsize:%d;\tsigned:%d;" % (
            decl, self.offset, self.size, int(self.signed))


def _layout(specs: Sequence[Tuple[str, str]], start: int) -> Tuple[Tuple[Field, ...], int]:
    """Lay fields out as the C compiler does; return them and the end offset."""
    fields = []
    offset = start
    for name, ctype in specs:
        size, signed, kind = _CTYPES[ctype]
        align = 1 if kind == "str" else size
        offset = (offset + align - 1) // align * align
        fields.append(Field(name, ctype, offset, size, signed, kind))
        offset += size
    return tuple(fields), offset


COMMON_FIELDS, _COMMON_END = _layout(
    (("common_type", "unsigned short"), ("common_flags", "unsigned char"),
     ("common_preempt_count", "unsigned char"), ("common_pid", "int")), 0)


@dataclasses.dataclass(frozen=True)
class EventDef:
    """A trace event: its fields after the common ones, and its TP_printk."""

    system: str
    name: str
    fields: Tuple[Field, ...]
    print_fmt: str
    print_args: Tuple[str, ...]
    record_size: int

    @property
    def handler(self) -> str:
        """The name of perf's Python handler for this event."""
        return "%s__%s" % (self.system, self.name)

    @property
    def field_names(self) -> Tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def format_text(self, event_id: int, print_fmt: Optional[str] = None) -> str:
        """The text of /sys/kernel/tracing/events/SYSTEM/NAME/format."""
        lines = ["name: %s" % self.name, "ID: %d" % event_id, "format:"]
        lines += ["\t" + f.format_line() for f in COMMON_FIELDS]
        lines.append("")
        lines += ["\t" + f.format_line() for f in self.fields]
        lines.append("")
        # a print arg with a call in it (__print_symbolic(REC->mode, ...)) is written as is
        args = ", ".join(a if "(" in a else _print_arg(self.field(a)) for a in self.print_args)
        lines.append('print fmt: "%s", %s' % (print_fmt or self.print_fmt, args))
        return "\n".join(lines) + "\n"


def _print_arg(field: Field) -> str:
    if field.kind == "dynstr":
        return "__get_str(%s)" % field.name
    return "REC->%s" % field.name


def _event(system: str, name: str, specs: Sequence[Tuple[str, str]], print_fmt: str,
           print_args: Optional[Sequence[str]] = None) -> EventDef:
    fields, end = _layout(specs, _COMMON_END)
    align = max([8 if f.size == 8 else min(f.size, 4) if f.kind != "str" else 1
                 for f in COMMON_FIELDS + fields])
    size = (end + align - 1) // align * align
    args = tuple(print_args) if print_args is not None else tuple(n for n, _ in specs)
    return EventDef(system, name, fields, print_fmt, args, size)


_MM = (("mm", "struct mm_struct *"),)

# The five kscand events as defined by patch/ (same layout as RFC V3 14/17).
MM_ENTER = _event(SYSTEM, "kmem_mm_enter", _MM, "mm=%p")
MM_EXIT = _event(SYSTEM, "kmem_mm_exit", _MM, "mm=%p")
SCAN_START = _event(SYSTEM, "kmem_scan_mm_start", _MM, "mm=%p")
SCAN_END = _event(
    SYSTEM, "kmem_scan_mm_end",
    _MM + (("start", "unsigned long"), ("total", "unsigned long"),
           ("scan_period", "unsigned long"), ("scan_size", "unsigned long"),
           ("target_node", "int")),
    "mm=%p start=0x%lx total=%lu scan_period=%lu scan_size=%lu node=%d")
MIGRATE = _event(
    SYSTEM, "kmem_scan_mm_migrate",
    _MM + (("rc", "int"), ("target_node", "int"), ("msuccess", "int"), ("mfailed", "int")),
    "mm=%p rc=%d node=%d msuccess=%d mfailed=%d")

# kmem_scan_mm_migrate of RFC V1 and V2: no msuccess/mfailed.
MIGRATE_V2 = _event(
    SYSTEM, "kmem_scan_mm_migrate",
    _MM + (("rc", "int"), ("target_node", "int")),
    "mm = %p rc = %d node = %d")

KSCAND_EVENTS: Tuple[EventDef, ...] = (MM_ENTER, MM_EXIT, SCAN_START, SCAN_END, MIGRATE)

# The TP_printk formats of the posted RFC V3 patch: same layout, other text.
POSTED_V3_PRINT_FMTS: Dict[str, str] = {
    "kmem_mm_enter": "mm = %p",
    "kmem_mm_exit": "mm = %p",
    "kmem_scan_mm_start": "mm = %p",
    "kmem_scan_mm_end": "mm=%p, start = %ld, total = %ld, scan_period = %ld, "
                        "scan_size = %ld node = %d",
    "kmem_scan_mm_migrate": "mm = %p rc = %d node = %d msuccess = %d mfailed = %d ",
}

# Scheduler events a recording may carry for process attribution (kernel 6.1 layout).
SCHED_PROCESS_FORK = _event(
    "sched", "sched_process_fork",
    (("parent_comm", "char[16]"), ("parent_pid", "pid_t"),
     ("child_comm", "char[16]"), ("child_pid", "pid_t")),
    "comm=%s pid=%d child_comm=%s child_pid=%d")
SCHED_PROCESS_EXEC = _event(
    "sched", "sched_process_exec",
    (("filename", "__data_loc char[]"), ("pid", "pid_t"), ("old_pid", "pid_t")),
    "filename=%s pid=%d old_pid=%d")
SCHED_PROCESS_EXIT = _event(
    "sched", "sched_process_exit",
    (("comm", "char[16]"), ("pid", "pid_t"), ("prio", "int")),
    "comm=%s pid=%d prio=%d")

SCHED_EVENTS: Tuple[EventDef, ...] = (SCHED_PROCESS_FORK, SCHED_PROCESS_EXEC, SCHED_PROCESS_EXIT)

ALL_EVENTS: Tuple[EventDef, ...] = KSCAND_EVENTS + SCHED_EVENTS

# kscand's and kmigrated's switches (SynthConfig.switches; kernel 6.1 layout, the print
# format without its prev_state flags)
SCHED_SWITCH = _event(
    "sched", "sched_switch",
    (("prev_comm", "char[16]"), ("prev_pid", "pid_t"), ("prev_prio", "int"),
     ("prev_state", "long"), ("next_comm", "char[16]"), ("next_pid", "pid_t"),
     ("next_prio", "int")),
    "prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%ld ==> next_comm=%s next_pid=%d "
    "next_prio=%d")


# The kernel's own migrate events (include/trace/events/migrate.h), as 6.12 and 6.1 lay them
# out: 6.1 has no large_folio_split and no reason "damon". The enum values are the numbers
# the kernel's TRACE_DEFINE_ENUM puts in the format file.
MIGRATE_MODES: Tuple[Tuple[int, str], ...] = (
    (0, "MIGRATE_ASYNC"), (1, "MIGRATE_SYNC_LIGHT"), (2, "MIGRATE_SYNC"))
MIGRATE_REASONS_6_12: Tuple[Tuple[int, str], ...] = (
    (0, "compaction"), (1, "memory_failure"), (2, "memory_hotplug"), (3, "syscall_or_cpuset"),
    (4, "mempolicy_mbind"), (5, "numa_misplaced"), (6, "contig_range"), (7, "longterm_pin"),
    (8, "demotion"), (9, "damon"))
MIGRATE_REASONS_6_1 = MIGRATE_REASONS_6_12[:9]


def _symbolic(field: str, table: Sequence[Tuple[int, str]]) -> str:
    return "__print_symbolic(REC->%s, %s)" % (
        field, ", ".join('{%d, "%s"}' % (v, name) for v, name in table))


_COUNTS = ("succeeded", "failed", "thp_succeeded", "thp_failed", "thp_split")


def _migrate_pages(split: bool, reasons: Sequence[Tuple[int, str]]) -> EventDef:
    counts = _COUNTS + (("large_folio_split",) if split else ())
    text = ("nr_succeeded=%lu nr_failed=%lu nr_thp_succeeded=%lu nr_thp_failed=%lu "
            "nr_thp_split=%lu " + ("nr_split=%lu " if split else "") + "mode=%s reason=%s")
    return _event("migrate", "mm_migrate_pages",
                  tuple((n, "unsigned long") for n in counts)
                  + (("mode", "enum migrate_mode"), ("reason", "int")), text,
                  counts + (_symbolic("mode", MIGRATE_MODES), _symbolic("reason", reasons)))


MIGRATE_PAGES = _migrate_pages(True, MIGRATE_REASONS_6_12)
MIGRATE_PAGES_6_1 = _migrate_pages(False, MIGRATE_REASONS_6_1)
MIGRATE_PAGES_START = _event(
    "migrate", "mm_migrate_pages_start", (("mode", "enum migrate_mode"), ("reason", "int")),
    "mode=%s reason=%s",
    (_symbolic("mode", MIGRATE_MODES), _symbolic("reason", MIGRATE_REASONS_6_12)))
MIGRATE_EVENTS: Tuple[EventDef, ...] = (MIGRATE_PAGES, MIGRATE_PAGES_START)


def by_name(name: str, events: Sequence[EventDef] = ALL_EVENTS) -> EventDef:
    """The event called ``name`` (``kmem_scan_mm_end`` or ``kmem:kmem_scan_mm_end``)."""
    short = name.split(":", 1)[-1]
    for ev in events:
        if ev.name == short:
            return ev
    raise KeyError("unknown event %r" % name)
