"""Random but valid kscand event sequences with every oddity of issue 12, for property tests.

:func:`generate` returns a list of :class:`~kscand_testkit.stream.Emitted` (plus
``("non_tracepoint", name)`` and ``("unhandled", name)`` markers) from a seeded
``random.Random``: interleaved kscand threads, duplicated samples, time going
backwards, kmigrated batches begun before the recording, negative msuccess,
exits during scans, pointer reuse, sched events, non-tracepoint samples.
:func:`feed` hands them to an analyzer the way the perf script does (a handler
that raises counts the event as bad) and returns how many events went in.
"""

from __future__ import annotations

import random
from typing import Any, Dict, List, Tuple, Union

from kscand_perf.analysis import Analyzer
from kscand_testkit.stream import Emitted

Item = Union[Emitted, Tuple[str, str]]
KSCAND_PIDS = (50, 52)
KMIGRATED = 51


def generate(seed: int, n: int = 300, monotonic: bool = False) -> List[Item]:
    """About ``n`` events. ``monotonic``: time never goes backwards and every value fits
    its C type (what the perf.data writer accepts)."""
    rng = random.Random(seed)
    pointers = [0xFFFF888000000000 + 0x1000 * i for i in range(rng.randint(1, 6))]
    t = 1000000000 + rng.randrange(10 ** 9)
    out: List[Item] = []
    batch: Dict[int, int] = {}
    pid_next = 3000
    while len(out) < n:
        t += rng.randint(0, 2000000)
        if not monotonic and rng.random() < 0.03:
            t -= rng.randint(1, 4000000000)  # time goes backwards
            t = max(t, 0)
        mm = rng.choice(pointers)
        kscand = rng.choice(KSCAND_PIDS) if rng.random() < 0.3 else KSCAND_PIDS[0]
        r = rng.random()
        if r < 0.35:
            e = Emitted(t, 1, kscand, "kscand", "kmem_scan_mm_start", (mm,))
        elif r < 0.5:
            e = Emitted(t, 1, kscand, "kscand", "kmem_scan_mm_end",
                        (mm, rng.choice([0, 0x7F0000000000]), rng.randint(0, 50),
                         rng.choice([2000, 600, 9536]), rng.choice([1 << 28, 1 << 30]),
                         rng.choice([0, 0, 1])))
        elif r < 0.75:
            k = batch.get(mm, rng.randint(0, 1500))  # may start mid-batch
            k = 1 if k >= 1024 or rng.random() < 0.1 else k + 1
            batch[mm] = k
            ok = rng.randint(0, k)
            fail = k - ok
            if rng.random() < 0.02:
                ok, fail = -5, k + 5  # impossible counts
            e = Emitted(t, 3, KMIGRATED, "kmigrated", "kmem_scan_mm_migrate",
                        (mm, rng.choice([0, 0, 10, 3, -11, 11]), rng.choice([0, 1]), ok, fail))
        elif r < 0.83:
            pid_next += 1
            e = Emitted(t, 0, 1000, "bash", "kmem_mm_enter", (mm,))
            if rng.random() < 0.7:
                out.append(e)
                e = Emitted(t, 0, 1000, "bash", "sched_process_fork",
                            ("bash", 1000, "bash", pid_next))
        elif r < 0.9:
            e = Emitted(t, 2, rng.randint(2000, 4000), "cc1", "kmem_mm_exit", (mm,))
        elif r < 0.93:
            e = Emitted(t, 2, rng.randint(2000, 4000), "cc1", "sched_process_exit",
                        ("cc1", rng.randint(2000, 4000), 120))
        elif r < 0.95:
            e = Emitted(t, 2, rng.randint(2000, 4000), "sh", "sched_process_exec",
                        ("/usr/bin/make", rng.randint(2000, 4000), 2000))
        elif r < 0.97 and not monotonic:
            out.append(("non_tracepoint", "cpu-clock"))
            continue
        elif r < 0.98 and not monotonic:
            out.append(("unhandled", "irq__softirq_entry"))
            continue
        else:
            continue
        out.append(e)
        if rng.random() < 0.04:
            out.append(e)  # perf 6.1's duplicated sample
    return out


def feed(analyzer: Analyzer, items: List[Item], unhandled: Dict[str, int]) -> int:
    """Feed ``items`` as the perf script's handlers would; return the events fed."""
    n = 0
    for item in items:
        n += 1
        if not isinstance(item, Emitted):
            kind, name = item
            if kind == "non_tracepoint":
                analyzer.non_tracepoint_sample(name)
            else:
                unhandled[name] = unhandled.get(name, 0) + 1
            continue
        t, _cpu, pid, comm, event, v = item
        secs, nsecs = divmod(t, 1000000000)
        try:
            call(analyzer, event, t, secs, nsecs, pid, comm, v)
        except Exception as exc:  # what the perf script does: count it, as system:event
            analyzer.bad("%s:%s" % ("sched" if event.startswith("sched") else "kmem", event),
                         exc)
    return n


def call(a: Analyzer, event: str, t: int, secs: int, nsecs: int, pid: int, comm: str,
         v: Tuple[Any, ...]) -> None:
    if event == "kmem_scan_mm_start":
        a.scan_start(secs, nsecs, pid, v[0])
    elif event == "kmem_scan_mm_end":
        a.scan_end(t, pid, *v)
    elif event == "kmem_scan_mm_migrate":
        a.migrate(secs, nsecs, pid, *v)
    elif event == "kmem_mm_enter":
        a.mm_enter(t, pid, comm, v[0])
    elif event == "kmem_mm_exit":
        a.mm_exit(t, pid, comm, v[0])
    elif event == "sched_process_fork":
        a.sched_fork(t, pid, v[3], v[2])
    elif event == "sched_process_exec":
        a.sched_exec(t, pid, v[0], v[1])
    elif event == "sched_process_exit":
        a.sched_exit(t, pid)
    else:
        raise ValueError(event)
