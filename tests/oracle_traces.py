"""Hand-made traces for the oracle (tests/test_oracle.py): corners no simulation reaches.

CORNERS: two kscand threads, an end without a start, wraps (a pass time), a batch begun
before the recording, an unknown rc, a duplicated sample, a negative msuccess (bad data), a
sequence break, a scan with the mm's exit inside it and a migrate after the exit, pointer
reuse, owners by fork, exec and exit, node -1, a start left open at the end, events on an
interval's boundary, a tracepoint the report does not read (the last event).

BOUNDS: one mm with 2,100 scan ends and migrations 1 ms apart (with --interval 0.001: more
than 1,024 timeline points and 512 promotion bins), then 3 s of nothing but a visit (more
than 1,000 empty intervals: one row).
"""

from __future__ import annotations

from typing import List

from kscand_testkit import formats
from kscand_testkit.stream import Emitted as E

S = 1_000_000_000
MS = 1_000_000
MM_A, MM_B, MM_C = 0xff11000002843480, 0xff11000002843540, 0xff11000003279f80
K1, K2, KM = 35, 37, 36            # kscand threads, kmigrated


def _mig(t: int, mm: int, rc: int, node: int, ms: int, mf: int) -> E:
    return E(t, 1, KM, "kmigrated", "kmem_scan_mm_migrate", (mm, rc, node, ms, mf))


def _end(t: int, tid: int, mm: int, start: int, total: int, period: int, size: int,
         node: int) -> E:
    return E(t, 0, tid, "kscand", "kmem_scan_mm_end", (mm, start, total, period, size, node))


def _start(t: int, tid: int, mm: int) -> E:
    return E(t, 0 if tid == K1 else 2, tid, "kscand", "kmem_scan_mm_start", (mm,))


# a tracepoint the report does not read (it counts it in unhandled_events)
SCHED_WAKEUP = formats._event("sched", "sched_wakeup",
                              (("comm", "char[16]"), ("pid", "pid_t"), ("prio", "int"),
                               ("target_cpu", "int")),
                              "comm=%s pid=%d prio=%d target_cpu=%03d")
CORNER_EVENTS = formats.ALL_EVENTS + (SCHED_WAKEUP,)

CORNERS: List[E] = [
    _end(S, K1, MM_A, 0, 5, 2000, 1 << 30, 0),                   # end without a start
    _mig(S + 1 * MS, MM_A, 0, 0, 5, 0),                          # batch begun before
    _mig(S + 2 * MS, MM_A, 0, 0, 6, 0),
    _mig(S + 3 * MS, MM_A, 12, 0, 6, 1),                         # unknown rc
    _mig(S + 3 * MS, MM_A, 12, 0, 6, 1),                         # perf's duplicate
    E(S + 4 * MS, 3, 100, "bash", "sched_wakeup", ("kscand", K1, 120, 0)),
    E(S + 10 * MS, 3, 100, "bash", "kmem_mm_enter", (MM_B,)),
    E(S + 11 * MS, 3, 100, "bash", "sched_process_fork", ("bash", 100, "bash", 101)),
    _start(S + 20 * MS, K1, MM_B),
    _start(S + 21 * MS, K2, MM_A),                               # a second kscand thread
    _mig(S + 25 * MS, MM_B, 0, 1, 1, 0),
    _mig(S + 26 * MS, MM_B, 10, 1, 1, 1),
    _mig(S + 27 * MS, MM_B, 0, 1, 2, 1),
    _mig(S + 28 * MS, MM_B, 0, 1, 4, 1),                         # sequence break
    _mig(S + 29 * MS, MM_B, 0, 1, -1, 0),                        # bad: negative msuccess
    _end(S + 30 * MS, K1, MM_B, 0x7f0000001000, 3, 2000, 1 << 30, 1),
    _end(S + 31 * MS, K2, MM_A, 0, 0, 2300, 1 << 28, 0),         # a pass of MM_A
    _start(S + 40 * MS, K1, MM_B),
    E(S + 45 * MS, 2, 101, "worker", "kmem_mm_exit", (MM_B,)),   # exit during the scan
    E(S + 46 * MS, 2, 101, "worker", "sched_process_exit", ("worker", 101, 120)),
    _end(S + 50 * MS, K1, MM_B, 0, 2, 2600, 1 << 29, -1),
    _mig(S + 55 * MS, MM_B, 2, 1, 0, 1),                         # after the exit
    E(S + 60 * MS, 1, 102, "sh", "kmem_mm_enter", (MM_B,)),      # pointer reused
    E(S + 62 * MS, 1, 102, "longprogramname", "sched_process_exec",
      ("/usr/bin/longprogramname-x", 102, 102)),
    _start(S + 70 * MS, K1, MM_B),                               # a not-due visit
    _start(S + 71 * MS, K1, MM_B),
    _end(S + 80 * MS, K1, MM_B, 0x1000, 4, 2000, 1 << 30, 0),
    _mig(S + 90 * MS, MM_B, 0, 0, 1, 0),
    _mig(S + 91 * MS, MM_B, 0, 0, 2, 0),
    _mig(S + 92 * MS, MM_B, -11, 0, 2, 1),
    _start(2 * S, K2, MM_C),                                     # on a boundary
    _end(2 * S + 5 * MS, K2, MM_C, 0, 7, 2000, 1 << 30, 0),
    _mig(2 * S + 6 * MS, MM_C, 0, 0, 1, 0),
    _mig(3 * S, MM_C, 0, 0, 2, 0),                               # on a boundary
    _start(3 * S + 200 * MS, K1, MM_A),                          # open at the end
    E(3 * S + 300 * MS, 3, 100, "bash", "sched_wakeup", ("kmigrated", KM, 120, 1)),
]


def bounds() -> List[E]:
    out: List[E] = [E(S, 3, 200, "bash", "kmem_mm_enter", (MM_C,)),
                    E(S + 1, 3, 200, "bash", "sched_process_fork", ("bash", 200, "hog", 201))]
    seq = 0
    for i in range(2100):
        t = 2 * S + i * MS
        out.append(_start(t, K1, MM_C))
        out.append(_mig(t + MS // 4, MM_C, 0 if i % 3 else 10, 0,
                        *((seq % 1024 + 1, 0) if i % 3 else (seq % 1024, 1))))
        seq += 1
        out.append(_end(t + MS // 2, K1, MM_C, 0 if i % 7 == 0 else 0x1000, 1,
                        2000 + (i // 5) % 3, 1 << 30, 0))
    out.append(_start(2 * S + 2100 * MS + 3 * S, K1, MM_C))
    return out
