"""What the report needs to know of the kscand tracepoints: names, fields, rc codes.

The C layout of each event (offsets, sizes, format text) is not here: a
reader takes it from the recording's own tracing data, and perf hands the
fields to the handlers by name. The layouts this project writes for its
tests live beside the product, in :mod:`kscand_testkit.formats`, which is
checked against this module and against patch/.
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Sequence, Tuple

SYSTEM = "kmem"


class EventSpec(NamedTuple):
    """A trace event by name: its system, name and fields after the common ones."""

    system: str
    name: str
    field_names: Tuple[str, ...]

    @property
    def handler(self) -> str:
        """The name of perf's Python handler for this event."""
        return "%s__%s" % (self.system, self.name)

    @property
    def full_name(self) -> str:
        """``system:name``, as perf and tracefs name it."""
        return "%s:%s" % (self.system, self.name)


MM_ENTER = EventSpec(SYSTEM, "kmem_mm_enter", ("mm",))
MM_EXIT = EventSpec(SYSTEM, "kmem_mm_exit", ("mm",))
SCAN_START = EventSpec(SYSTEM, "kmem_scan_mm_start", ("mm",))
SCAN_END = EventSpec(SYSTEM, "kmem_scan_mm_end",
                     ("mm", "start", "total", "scan_period", "scan_size", "target_node"))
MIGRATE = EventSpec(SYSTEM, "kmem_scan_mm_migrate",
                    ("mm", "rc", "target_node", "msuccess", "mfailed"))
# RFC V1 and V2: no msuccess/mfailed.
MIGRATE_V2 = EventSpec(SYSTEM, "kmem_scan_mm_migrate", ("mm", "rc", "target_node"))

KSCAND_EVENTS: Tuple[EventSpec, ...] = (MM_ENTER, MM_EXIT, SCAN_START, SCAN_END, MIGRATE)

# Scheduler events a recording may carry for process attribution.
SCHED_PROCESS_FORK = EventSpec("sched", "sched_process_fork",
                               ("parent_comm", "parent_pid", "child_comm", "child_pid"))
SCHED_PROCESS_EXEC = EventSpec("sched", "sched_process_exec", ("filename", "pid", "old_pid"))
SCHED_PROCESS_EXIT = EventSpec("sched", "sched_process_exit", ("comm", "pid", "prio"))

SCHED_EVENTS: Tuple[EventSpec, ...] = (SCHED_PROCESS_FORK, SCHED_PROCESS_EXEC, SCHED_PROCESS_EXIT)

# The kernel's own migrate events (Promotions by mechanism, kscand_perf.mechanisms). Their
# fields differ between kernels (6.1 has no large_folio_split): every front end takes them by
# NAME, an absent one is 0. ``mode`` and ``reason`` are enums named by the recording's own
# print fmt (its __print_symbolic tables), never by a table here.
MIGRATE_PAGES = EventSpec("migrate", "mm_migrate_pages",
                          ("succeeded", "failed", "thp_succeeded", "thp_failed", "thp_split",
                           "large_folio_split", "mode", "reason"))
MIGRATE_PAGES_START = EventSpec("migrate", "mm_migrate_pages_start", ("mode", "reason"))

MIGRATE_EVENTS: Tuple[EventSpec, ...] = (MIGRATE_PAGES, MIGRATE_PAGES_START)

ALL_EVENTS: Tuple[EventSpec, ...] = KSCAND_EVENTS + SCHED_EVENTS

# kscand's and kmigrated's CPU time (kscand_perf.cost): kscand-record filters it to the two
# kthreads' switches; perf hands the fields in this order after the common ones.
SCHED_SWITCH = EventSpec("sched", "sched_switch",
                         ("prev_comm", "prev_pid", "prev_prio", "prev_state", "next_comm",
                          "next_pid", "next_prio"))


def by_name(name: str, events: Sequence[EventSpec] = ALL_EVENTS) -> EventSpec:
    """The event called ``name`` (``kmem_scan_mm_end`` or ``kmem:kmem_scan_mm_end``)."""
    short = name.split(":", 1)[-1]
    for ev in events:
        if ev.name == short:
            return ev
    raise KeyError("unknown event %r" % name)


# Decoding of kmem_scan_mm_migrate's rc, per version of the tracing patch.
RC_NAMES_V3: Dict[int, str] = {
    0: "success",
    1: "KSCAND_NULL_MM",
    2: "KSCAND_EXITING_MM",
    3: "KSCAND_INVALID_FOLIO",
    4: "KSCAND_NONLRU_FOLIO",
    5: "KSCAND_INELIGIBLE_SRC_NODE",
    6: "KSCAND_SAME_SRC_DEST_NODE",
    7: "KSCAND_PTE_NOT_PRESENT",
    8: "KSCAND_PMD_NOT_PRESENT",
    9: "KSCAND_NO_PTE_OFFSET_MAP_LOCK",
    10: "KSCAND_NOT_HOT_PAGE",
    11: "KSCAND_LRU_ISOLATION_ERR",
    -11: "EAGAIN",
}
# V1 and V2 use the same numbering as V3.
RC_NAMES: Dict[str, Dict[int, str]] = {"v3": RC_NAMES_V3, "v2": RC_NAMES_V3}


def rc_name(rc: int, version: str = "v3") -> str:
    """The name of migrate rc ``rc`` for that version; unknown codes as their number."""
    return RC_NAMES.get(version, RC_NAMES_V3).get(rc, str(rc))


# Documented ranges (kscand RFC V3), used by the simulator and by sanity checks.
SCAN_PERIOD_FIRST_MS = 2000
SCAN_PERIOD_MIN_MS = 600
SCAN_PERIOD_MAX_MS = 5000
SCAN_SIZE_MIN = 256 << 20
SCAN_SIZE_MAX = 4 << 30
SCAN_SIZE_DEFAULT = 1 << 30
MIGRATE_PASS_LIMIT = 1024
