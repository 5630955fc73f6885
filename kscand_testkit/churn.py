"""Process churn: many short mm lifetimes, as a build server or a container host makes.

Each lifetime is what a short process costs the trace: its parent registers the
mm (``kmem_mm_enter``), kscand visits it twice without scanning it (two not-due
``kmem_scan_mm_start``), and the process exits (``kmem_mm_exit``). mm pointers
come from a small pool, so they are reused, as slab addresses are. Optionally a
few long-lived mms are scanned and promoted alongside (``busy``), so a report has
rows to rank. Used by the churn benchmark and the tests of per-lifetime cost.
"""

from __future__ import annotations

from typing import Iterator

from .stream import Emitted

KSCAND_PID = 50
KMIGRATED_PID = 51
SHELL_PID = 1000
MM_BASE = 0xFFFF888100000000


def churn(lifetimes: int, pointers: int = 64, busy: int = 0,
          start_ns: int = 1000000000) -> Iterator[Emitted]:
    """``lifetimes`` short mm lifetimes (4 events each) on ``pointers`` reused pointers;
    every 1000 lifetimes each of ``busy`` long-lived mms gets one completed scan that
    found 3 pages and 3 promotion attempts (one kmigrated batch)."""
    t = start_ns
    busy_mms = [MM_BASE - 0x1000 * (i + 1) for i in range(busy)]
    for i in range(lifetimes):
        mm = MM_BASE + 0x400 * (i % pointers)
        pid = 2000 + i % 4000000  # a new process each time, as on a real machine
        yield Emitted(t, 0, SHELL_PID, "bash", "kmem_mm_enter", (mm,))
        yield Emitted(t + 1000, 1, KSCAND_PID, "kscand", "kmem_scan_mm_start", (mm,))
        yield Emitted(t + 2000, 1, KSCAND_PID, "kscand", "kmem_scan_mm_start", (mm,))
        yield Emitted(t + 3000, 2, pid, "cc1", "kmem_mm_exit", (mm,))
        t += 10000
        if busy and i % 1000 == 999:
            for j, bmm in enumerate(busy_mms):
                yield Emitted(t, 1, KSCAND_PID, "kscand", "kmem_scan_mm_start", (bmm,))
                yield Emitted(t + 5000 + 1000 * j, 1, KSCAND_PID, "kscand", "kmem_scan_mm_end",
                              (bmm, 0, 3, 2000, 1 << 30, 0))
                for k in range(3):
                    yield Emitted(t + 8000 + 1000 * j + k, 3, KMIGRATED_PID, "kmigrated",
                                  "kmem_scan_mm_migrate",
                                  (bmm, k % 2 * 10, 0, 1 + k // 2, (k + 1) // 2))
                t += 20000
