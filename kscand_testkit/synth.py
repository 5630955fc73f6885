"""A simulator of kscand's behaviour, and the ground truth of what it simulated.

The simulator drives a small model of a machine running the kscand RFC V3
series and emits the trace a recording of it would contain, as a stream of
:class:`~kscand_perf.stream.Emitted` in non-decreasing time order:

- processes: shells forking children (``kmem_mm_enter`` of the child's mm from
  the parent, then ``sched_process_fork``), children exec'ing (``kmem_mm_enter``
  of the new mm and ``kmem_mm_exit`` of the old one from the task under its old
  comm, then ``sched_process_exec``) and exiting (``kmem_mm_exit``, then
  ``sched_process_exit``); some mms are registered before the trace begins;
- mm pointers from a small pool, so a freed pointer comes back for a new mm;
- the ``kscand`` thread visiting every registered mm each cycle
  (``kmem_scan_mm_start`` always, ``kmem_scan_mm_end`` only for due mms), with
  the period and size adapting per scan as in the V3 series;
- the ``kmigrated`` thread promoting the queued pages of one mm at a time
  (``kmem_scan_mm_migrate`` per attempt), starting while the scan that found the
  pages is still running.

The ground truth is kept from the model while it emits (which start is the
start of which scan, which mm a pointer currently names, who owns it), never by
pairing events read back from the stream. See :func:`simulate` and
:class:`Simulation`.

Everything is deterministic for a given :class:`SynthConfig` (its seed drives a
private ``random.Random``); nothing is held per event, so the stream can be
millions of events long.
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
import math
import random
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple

from kscand_perf.events import (
    MIGRATE_PASS_LIMIT, RC_NAMES_V3, SCAN_PERIOD_FIRST_MS, SCAN_PERIOD_MAX_MS,
    SCAN_PERIOD_MIN_MS, SCAN_SIZE_DEFAULT, SCAN_SIZE_MAX, SCAN_SIZE_MIN, rc_name)
from .stream import Emitted

TRUTH_SCHEMA = "kscand-perf-truth/1"

KSCAND_EVENT_NAMES = ("kmem_mm_enter", "kmem_mm_exit", "kmem_scan_mm_start",
                      "kmem_scan_mm_end", "kmem_scan_mm_migrate")

# The largest scan_period kmem_scan_mm_end can report: the clamped period
# scaled by the scan scale and by the largest failure-ratio factor.
FAIL_FACTOR_MAX = 11

_US = 1000
_MS = 1000 * 1000
_S = 1000 * 1000 * 1000
_PAGE = 4096


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


@dataclasses.dataclass
class SynthConfig:
    """What to simulate. Probabilities are in 0..1; rates are per second."""

    mms: int = 16                      # mms registered when the trace begins
    seconds: float = 60.0              # simulated time
    seed: int = 1
    sched: bool = True                 # emit sched_process_fork/exec/exit
    cpus: int = 4
    scan_sleep_ms: int = 20            # kscand's sleep between cycles
    fork_rate: float = 2.5             # forks per second from the shells
    exec_prob: float = 0.85            # a forked child execs a program
    pre_exit_prob: float = 0.25        # an mm from before the trace exits during it
    workloads: int = 4                 # mms from before the trace with hot slow-tier pages
    # The owner exits while its mm is being scanned, per due scan; four times as likely
    # (at most 1) for a scan that found pages, so that attempts in flight at the exit
    # (inflight_after_exit_prob) show up in ordinary runs.
    exit_during_scan_prob: float = 0.05
    inflight_after_exit_prob: float = 0.8  # kmigrated has attempts in flight at an exit
    orphan_end: bool = True            # the trace begins in the middle of a scan
    pointer_reuse_prob: float = 0.9    # a new mm gets a freed pointer when there is one
    scan_scale_factor: float = 1.78    # the prctl scan scale (default 8 in V3)
    switches: bool = False             # emit sched_switch of kscand and kmigrated (issue 20)

    def validate(self) -> None:
        """Raise ValueError with a one-line reason when the config makes no sense."""
        if not isinstance(self.mms, int) or isinstance(self.mms, bool) or self.mms < 1:
            raise ValueError("mms must be a positive integer, not %r" % (self.mms,))
        if not (_is_number(self.seconds) and self.seconds > 0):
            raise ValueError("seconds must be a positive number, not %r" % (self.seconds,))
        if self.seconds > 10 * 24 * 3600:
            raise ValueError("seconds must be at most 864000 (ten days)")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError("seed must be an integer, not %r" % (self.seed,))
        if not isinstance(self.cpus, int) or self.cpus < 2:
            raise ValueError("cpus must be an integer >= 2 (kscand and kmigrated "
                             "run on different cpus), not %r" % (self.cpus,))
        if not isinstance(self.scan_sleep_ms, int) or self.scan_sleep_ms < 1:
            raise ValueError("scan_sleep_ms must be a positive integer")
        if not (_is_number(self.fork_rate) and 0 <= self.fork_rate <= 1e6):
            raise ValueError("fork_rate must be a number in 0..1e6, not %r" % (self.fork_rate,))
        if not isinstance(self.workloads, int) or self.workloads < 0:
            raise ValueError("workloads must be an integer >= 0, not %r" % (self.workloads,))
        for name in ("exec_prob", "pre_exit_prob", "exit_during_scan_prob",
                     "inflight_after_exit_prob", "pointer_reuse_prob"):
            value = getattr(self, name)
            if not (_is_number(value) and 0.0 <= value <= 1.0):
                raise ValueError("%s must be a probability in 0..1, not %r" % (name, value))
        if not (_is_number(self.scan_scale_factor) and 1.0 <= self.scan_scale_factor <= 4.0):
            raise ValueError("scan_scale_factor must be a number in 1..4, not %r"
                             % (self.scan_scale_factor,))

    def max_scan_period_ms(self) -> int:
        """The largest scan_period a scan end can report with this config."""
        return int(SCAN_PERIOD_MAX_MS * self.scan_scale_factor * FAIL_FACTOR_MAX)


# rc of kmem_scan_mm_migrate for a failed attempt, with relative weights.
_FAIL_RCS: Tuple[Tuple[int, float], ...] = (
    (10, 60.0),   # KSCAND_NOT_HOT_PAGE: the common failure
    (3, 9.0),     # KSCAND_INVALID_FOLIO: already moved
    (6, 7.0),     # KSCAND_SAME_SRC_DEST_NODE
    (11, 5.0),    # KSCAND_LRU_ISOLATION_ERR
    (-11, 5.0),   # -EAGAIN from migrate_misplaced_folio
    (2, 4.0),     # KSCAND_EXITING_MM
    (4, 2.0),     # KSCAND_NONLRU_FOLIO
    (5, 1.5),     # KSCAND_INELIGIBLE_SRC_NODE
    (8, 1.5),     # KSCAND_PMD_NOT_PRESENT
    (9, 1.5),     # KSCAND_NO_PTE_OFFSET_MAP_LOCK
    (1, 1.0),     # KSCAND_NULL_MM
    (7, 0.8),     # KSCAND_PTE_NOT_PRESENT: never returned by V3, kept so decoders see it
)
assert {rc for rc, _ in _FAIL_RCS} | {0} == set(RC_NAMES_V3)

# Processes alive before the trace: (comm, kind, weight).
_DAEMONS = ("systemd-journal", "systemd-udevd", "systemd-logind", "dbus-daemon", "sshd",
            "cron", "rsyslogd", "agetty", "polkitd", "chronyd", "irqbalance", "containerd",
            "dockerd", "udisksd", "snapd", "multipathd")
_WORKLOADS = ("memhog", "slowtouch", "redis-server", "postgres", "java", "mysqld",
              "qemu-system-x86", "memcached", "numademo")

# Programs children exec: (name, weight, lifetime range in seconds, kind).
# kind: "cmd" short-lived, "shell" can fork, "work" has hot pages.
_PROGRAMS: Tuple[Tuple[str, float, Tuple[float, float], str], ...] = (
    ("true", 6, (0.0004, 0.003), "cmd"),
    ("ls", 8, (0.001, 0.03), "cmd"),
    ("cat", 8, (0.001, 0.05), "cmd"),
    ("grep", 7, (0.001, 0.08), "cmd"),
    ("sed", 4, (0.001, 0.05), "cmd"),
    ("tr", 3, (0.001, 0.02), "cmd"),
    ("cut", 3, (0.001, 0.02), "cmd"),
    ("head", 3, (0.001, 0.02), "cmd"),
    ("awk", 3, (0.002, 0.1), "cmd"),
    ("date", 2, (0.0005, 0.005), "cmd"),
    ("uname", 1, (0.0005, 0.005), "cmd"),
    ("sleep", 6, (0.5, 5.0), "cmd"),
    ("sh", 5, (0.003, 0.3), "shell"),
    ("python3", 3, (0.1, 4.0), "cmd"),
    ("git", 2, (0.01, 1.5), "cmd"),
    ("make", 1, (0.5, 10.0), "cmd"),
    ("systemd-tmpfiles", 1.5, (0.01, 0.2), "cmd"),   # comm is cut to 15 characters
    ("update-alternatives", 1, (0.005, 0.05), "cmd"),
    ("memhog", 0.6, (4.0, 40.0), "work"),
    ("redis-server", 0.4, (5.0, 60.0), "work"),
)
_PROGRAM_CUM = []
_acc = 0.0
for _p in _PROGRAMS:
    _acc += _p[1]
    _PROGRAM_CUM.append(_acc)
del _acc, _p


def _cum(weights: Sequence[Tuple[int, float]]) -> Tuple[List[int], List[float]]:
    values, cum, acc = [], [], 0.0
    for value, weight in weights:
        acc += weight
        values.append(value)
        cum.append(acc)
    return values, cum


class _Rec:
    """Ground truth of one (mm pointer, generation): filled while emitting."""

    __slots__ = ("ptr", "gen", "completed", "not_due", "orphan_ends", "exited_during_scan",
                 "full_passes", "pages_found", "pairs", "nodes", "period", "size",
                 "mig", "batches", "exit_pid", "exit_comm",
                 "entered", "sched_pid", "sched_comm")

    def __init__(self, ptr: int, gen: int) -> None:
        self.ptr = ptr
        self.gen = gen
        self.completed = 0
        self.not_due = 0
        self.orphan_ends = 0
        self.exited_during_scan = 0
        self.full_passes = 0
        self.pages_found = 0
        self.pairs: List[int] = []          # indexes into Simulation's pair lists
        self.nodes: Dict[int, int] = {}
        self.period: Optional[List[int]] = None   # [first, last, min, max, changes]
        self.size: Optional[List[int]] = None
        self.mig: Dict[Tuple[int, int], int] = {}   # (node, rc) -> migrate events
        self.batches = 0
        self.exit_pid: Optional[int] = None
        self.exit_comm: Optional[str] = None
        self.entered = False
        self.sched_pid: Optional[int] = None
        self.sched_comm: Optional[str] = None


class _Proc:
    __slots__ = ("pid", "comm", "cpu", "mm", "kind", "alive", "busy", "doomed", "exit_token",
                 "can_exit")

    def __init__(self, pid: int, comm: str, cpu: int, kind: str) -> None:
        self.pid = pid
        self.comm = comm
        self.cpu = cpu
        self.mm: Optional[_Mm] = None
        self.kind = kind          # "shell", "cmd", "work", "daemon"
        self.alive = True
        self.busy = False         # between the events of one fork or exec
        self.doomed = False       # an exit is planned during a scan of its mm
        self.exit_token = 0
        self.can_exit = True


class _Mm:
    __slots__ = ("ptr", "rec", "owner", "vmas", "span", "registered", "exited", "scanning",
                 "scan_in_trace", "next_due", "period", "size", "resume", "prev_total",
                 "scans_done", "hot_pages", "p_success", "home_node", "mig_ok", "mig_fail",
                 "pending", "waiting", "inflight", "mig_node", "freed")

    def __init__(self, ptr: int, owner: _Proc) -> None:
        self.ptr = ptr
        self.rec: Optional[_Rec] = None
        self.owner = owner
        self.vmas: List[Tuple[int, int]] = []
        self.span = 0
        self.registered = False
        self.exited = False
        self.scanning = False
        self.scan_in_trace = False
        self.next_due = 0
        self.period = SCAN_PERIOD_FIRST_MS
        self.size = SCAN_SIZE_DEFAULT
        self.resume = 0
        self.prev_total = 0
        self.scans_done = 0
        self.hot_pages = 0
        self.p_success = 0.5
        self.home_node = 0
        self.mig_ok = 0
        self.mig_fail = 0
        self.pending = 0          # pages queued for kmigrated
        self.waiting = False      # in kmigrated's queue of mms
        self.inflight = 0         # attempts kmigrated still makes after the exit
        self.mig_node = 0
        self.freed = False


class _Scan:
    __slots__ = ("mm", "start_index", "start_time", "new_resume", "total", "size",
                 "period", "node", "full", "pages")

    def __init__(self, mm: _Mm) -> None:
        self.mm = mm
        self.start_index = -1     # -1: the start is not in the trace (orphan end)
        self.start_time = 0
        self.new_resume = 0
        self.total = 0
        self.size = 0
        self.period = 0
        self.node = 0
        self.full = False
        self.pages = 0            # pages of VMA span walked


def _stats(values: List[int]) -> Optional[Dict[str, Any]]:
    """min/mean/max/total and nearest-rank p50/p90/p99 of durations."""
    if not values:
        return None
    ordered = sorted(values)
    n = len(ordered)
    total = sum(ordered)

    def rank(p: int) -> int:
        return ordered[max(0, -(-p * n // 100) - 1)]

    return {"min": ordered[0], "mean": total / n, "max": ordered[-1], "total": total,
            "p50": rank(50), "p90": rank(90), "p99": rank(99)}


def _value_stats(stat: Optional[List[int]]) -> Optional[Dict[str, int]]:
    if stat is None:
        return None
    return {"first": stat[0], "last": stat[1], "min": stat[2], "max": stat[3],
            "changes": stat[4]}


def _track(stat: Optional[List[int]], value: int) -> List[int]:
    if stat is None:
        return [value, value, value, value, 0]
    if value != stat[1]:
        stat[4] += 1
    stat[1] = value
    if value < stat[2]:
        stat[2] = value
    if value > stat[3]:
        stat[3] = value
    return stat


class Simulation:
    """One run of the simulator: iterate it once for the events, then ask for the truth.

    ``scan_pairs`` lists, for every completed scan, the stream indexes (0-based
    positions in the emitted stream) of its start and its end.
    """

    def __init__(self, config: SynthConfig) -> None:
        config.validate()
        self.config = config
        self._rng = rng = random.Random(config.seed)
        self._started = False
        self._done = False
        # Times: a monotonic clock some minutes after boot.
        self.base_ns = rng.randrange(60, 3600) * _S + rng.randrange(_S)
        self.horizon_ns = self.base_ns + int(round(config.seconds * _S))
        self._heap: List[Tuple[int, int, bool, Any, Any]] = []
        self._seq = 0
        self._out: List[Emitted] = []
        self._n = 0                              # stream index of the next event
        self.now_ns = self.base_ns               # simulated time reached so far
        self._counts: Dict[str, int] = {name: 0 for name in KSCAND_EVENT_NAMES}
        self._other: Dict[str, int] = {}
        # Truth records and scan pairs.
        self._recs: List[_Rec] = []
        self._gen_next: Dict[int, int] = {}
        self._pair_start: List[int] = []
        self._pair_end: List[int] = []
        self._pair_dur: List[int] = []
        self._period_first: Optional[int] = None
        self._period_last: Optional[int] = None
        self._size_first: Optional[int] = None
        self._size_last: Optional[int] = None
        # Pointer pool.
        self._ptr_used: Set[int] = set()
        self._ptr_free: List[int] = []
        # Threads.
        cpus = list(range(config.cpus))
        rng.shuffle(cpus)
        self._ks_cpu, self._km_cpu = cpus[0], cpus[1]
        self._ks_pid = rng.randrange(60, 200)
        self._km_pid = self._ks_pid + 1
        self._ks_list: List[_Mm] = []
        self._ks_cursor = 0
        self._ks_scan: Optional[_Scan] = None
        self._km_cur: Optional[_Mm] = None
        self._km_queue: List[_Mm] = []
        self._km_qhead = 0
        self._km_idle = True
        self._km_ms = 0
        self._km_mf = 0
        self._fail_rcs, self._fail_cum = _cum(_FAIL_RCS)
        # sched_switch (config.switches): kscand is on a CPU when the trace begins (since its
        # first event), kmigrated is not; the truth sums each thread's on-CPU intervals
        self._sw_on: Dict[str, Optional[int]] = {"kscand": -1, "kmigrated": None}
        self._sw_ns = {"kscand": 0, "kmigrated": 0}
        self._first_t: Optional[int] = None
        self._last_t = 0
        self._next_pid = rng.randrange(1000, 3000)
        self._shells: List[_Proc] = []
        self._build_initial()

    # ----------------------------------------------------------------- set-up

    def _push(self, t: int, fn: Any, arg: Any = None, force: bool = False) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, force, fn, arg))

    def _alloc_ptr(self) -> int:
        rng = self._rng
        free = self._ptr_free
        if free and rng.random() < self.config.pointer_reuse_prob:
            # Mostly the most recently freed object, as a slab cache would.
            i = len(free) - 1 if rng.random() < 0.7 else rng.randrange(len(free))
            return free.pop(i)
        while True:
            ptr = 0xffff888100000000 + rng.randrange(1 << 24) * 64
            if ptr not in self._ptr_used:
                self._ptr_used.add(ptr)
                return ptr

    def _new_pid(self) -> int:
        self._next_pid += self._rng.choice((1, 1, 1, 2, 3))
        return self._next_pid

    def _make_vmas(self, mm: _Mm, span: int) -> None:
        """A text+heap region, one big mapping region of about ``span``, the stack."""
        rng = self._rng
        text = 0x555555554000 + rng.randrange(1 << 20) * _PAGE
        text_len = rng.randrange(64, 2048) * _PAGE
        heap_len = rng.randrange(16, 8192) * _PAGE
        mmap_len = max(_PAGE, span - text_len - heap_len) // _PAGE * _PAGE
        mmap_start = 0x7f0000000000 + rng.randrange(1 << 24) * _PAGE
        stack_end = 0x7ffc00000000 + rng.randrange(1 << 20) * _PAGE
        mm.vmas = [(text, text + text_len), (text + text_len + rng.randrange(1, 256) * _PAGE,
                                             text + text_len + 256 * _PAGE + heap_len),
                   (mmap_start, mmap_start + mmap_len), (stack_end - 33 * _PAGE, stack_end)]
        mm.span = sum(e - s for s, e in mm.vmas)

    def _make_mm(self, owner: _Proc, kind: str) -> _Mm:
        rng = self._rng
        mm = _Mm(self._alloc_ptr(), owner)
        if kind == "work":
            span = int(math.exp(rng.uniform(math.log(1 << 30), math.log(24 << 30))))
            mm.hot_pages = int(math.exp(rng.uniform(math.log(600), math.log(10000))))
            mm.p_success = rng.uniform(0.2, 0.8)
            mm.home_node = 0 if rng.random() < 0.6 else 1
        elif kind == "big":
            span = int(math.exp(rng.uniform(math.log(2 << 30), math.log(16 << 30))))
        elif kind == "cmd":
            span = int(math.exp(rng.uniform(math.log(2 << 20), math.log(40 << 20))))
        else:
            span = int(math.exp(rng.uniform(math.log(4 << 20), math.log(384 << 20))))
        self._make_vmas(mm, span)
        owner.mm = mm
        return mm

    def _build_initial(self) -> None:
        cfg = self.config
        rng = self._rng
        base = self.base_ns
        horizon = self.horizon_ns
        pre: List[_Mm] = []
        # The login shell first, the workloads anywhere, the rest mostly small daemons
        # (as on a real machine: many processes, few of them large).
        work = set(rng.sample(range(1, cfg.mms), min(cfg.workloads, cfg.mms - 1)))
        for i in range(cfg.mms):
            mm_kind = None
            if i == 0:
                comm, kind = "bash", "shell"
            elif i in work:
                comm, kind = rng.choice(_WORKLOADS), "work"
            elif rng.random() < 0.12:
                comm, kind = "bash", "shell"
            else:
                comm, kind = rng.choice(_DAEMONS), "daemon"
                if rng.random() < 0.05:
                    mm_kind = "big"      # a large reserved address space
            proc = _Proc(self._new_pid() if i else rng.randrange(600, 900), comm,
                         rng.randrange(cfg.cpus), kind)
            proc.can_exit = i != 0
            mm_kind = mm_kind or kind
            mm = self._make_mm(proc, mm_kind)
            mm.registered = True
            if kind == "shell":
                self._shells.append(proc)
            # State left by scans before the trace began.
            if rng.random() < 0.7:
                mm.scans_done = rng.randrange(1, 50)
                base_period = rng.uniform(SCAN_PERIOD_MIN_MS, SCAN_PERIOD_MAX_MS)
                mm.period = int(base_period * cfg.scan_scale_factor * rng.uniform(1.0, 2.5))
                mm.size = SCAN_SIZE_MIN << rng.randrange(5)
                if mm.span > mm.size and rng.random() < 0.5:
                    s, e = mm.vmas[2]
                    mm.resume = s + rng.randrange(max(1, (e - s) // _PAGE)) * _PAGE
                mm.prev_total = mm.hot_pages // 3 if rng.random() < 0.5 else 0
            mm.next_due = base + rng.randrange(max(1, mm.period * _MS))
            pre.append(mm)
            self._ks_list.append(mm)
            if proc.can_exit and rng.random() < cfg.pre_exit_prob:
                when = base + 100 * _MS + rng.randrange(max(1, horizon - base))
                self._push(when, self._act_exit, (proc, proc.exit_token))
        # kscand: either in the middle of a scan (the trace shows its end first)
        # or sleeping.
        if cfg.orphan_end:
            idx = rng.randrange(len(pre))
            mm = pre[idx]
            scan = self._plan_scan(mm)
            scan.start_index = -1
            mm.scanning = True
            mm.scan_in_trace = False
            self._ks_scan = scan
            self._ks_cursor = idx + 1
            self._push(base + rng.randrange(20 * _US, 5 * _MS), self._act_kscand, None, True)
        else:
            self._push(base + rng.randrange(cfg.scan_sleep_ms * _MS), self._act_kscand)
        if cfg.fork_rate > 0 and self._shells:
            self._push(base + int(rng.expovariate(cfg.fork_rate) * _S), self._act_fork_tick)

    # ---------------------------------------------------------------- emitting

    def _rec(self, mm: _Mm) -> _Rec:
        rec = mm.rec
        if rec is None:
            gen = self._gen_next.get(mm.ptr, 0)
            self._gen_next[mm.ptr] = gen + 1
            rec = mm.rec = _Rec(mm.ptr, gen)
            self._recs.append(rec)
        return rec

    def _emit_other(self, t: int, proc: _Proc, event: str, values: Tuple[Any, ...]) -> None:
        self._out.append(Emitted(t, proc.cpu, proc.pid, proc.comm, event, values))
        self._n += 1
        key = "sched:" + event
        self._other[key] = self._other.get(key, 0) + 1

    def _switch(self, t: int, who: str, on: bool) -> None:
        """kscand or kmigrated goes on (``on``) or off its CPU at ``t`` (config.switches)."""
        cpu, pid = ((self._ks_cpu, self._ks_pid) if who == "kscand"
                    else (self._km_cpu, self._km_pid))
        idle = "swapper/%d" % cpu
        if on:
            values: Tuple[Any, ...] = (idle, 0, 120, 0, who, pid, 120)
            self._out.append(Emitted(t, cpu, 0, idle, "sched_switch", values))
            self._sw_on[who] = t
        else:
            since = self._sw_on[who]
            if since is not None and since < 0:  # on since the trace began
                since = self._first_t
                if since is None:  # (this action's events are the trace's first)
                    since = self._out[0].time_ns if self._out else t
            if since is not None:
                self._sw_ns[who] += t - since
            values = (who, pid, 120, 1, idle, 0, 120)
            self._out.append(Emitted(t, cpu, pid, who, "sched_switch", values))
            self._sw_on[who] = None
        self._n += 1
        self._other["sched:sched_switch"] = self._other.get("sched:sched_switch", 0) + 1

    def _emit_enter(self, t: int, proc: _Proc, mm: _Mm) -> None:
        self._out.append(Emitted(t, proc.cpu, proc.pid, proc.comm, "kmem_mm_enter", (mm.ptr,)))
        self._n += 1
        self._counts["kmem_mm_enter"] += 1
        self._rec(mm).entered = True

    def _mm_exit(self, t: int, proc: _Proc, mm: _Mm) -> None:
        """``proc`` drops the last reference of ``mm``: kmem_mm_exit and its effects."""
        self._out.append(Emitted(t, proc.cpu, proc.pid, proc.comm, "kmem_mm_exit", (mm.ptr,)))
        self._n += 1
        self._counts["kmem_mm_exit"] += 1
        rec = self._rec(mm)
        rec.exit_pid = proc.pid
        rec.exit_comm = proc.comm
        if mm.scanning and mm.scan_in_trace:
            rec.exited_during_scan += 1
        mm.registered = False
        mm.exited = True
        if mm.pending > 0 or self._km_cur is mm:
            # kmigrated may still be working on (or about to take) this mm's list: a few
            # attempts follow the exit, then the list is dropped.
            if self._rng.random() < self.config.inflight_after_exit_prob:
                mm.inflight = self._rng.randint(1, 3)
        mm.pending = 0
        self._maybe_free(mm)

    def _maybe_free(self, mm: _Mm) -> None:
        """Give the pointer back once nothing can emit an event for this mm any more."""
        if (mm.exited and not mm.scanning and self._km_cur is not mm and mm.inflight <= 0
                and not mm.freed):
            mm.freed = True
            self._ptr_free.append(mm.ptr)

    # --------------------------------------------------------------- processes

    def _act_fork_tick(self, t: int, _: Any) -> None:
        rng = self._rng
        self._push(t + max(1, int(rng.expovariate(self.config.fork_rate) * _S)),
                   self._act_fork_tick)
        shells = [p for p in self._shells if p.alive and not p.busy and not p.doomed]
        if len(shells) != len(self._shells):
            self._shells = [p for p in self._shells if p.alive]
        if not shells:
            return
        # The first shell (the login shell) forks most.
        parent = shells[0] if rng.random() < 0.6 else rng.choice(shells)
        child = _Proc(self._new_pid(), parent.comm, rng.randrange(self.config.cpus), "cmd")
        mm = self._make_mm(child, "cmd")
        parent.busy = True
        self._emit_enter(t, parent, mm)
        mm.registered = True
        mm.next_due = t + int(SCAN_PERIOD_FIRST_MS * _MS * rng.uniform(0.5, 1.0))
        self._ks_list.append(mm)
        self._push(t + rng.randrange(15 * _US, 80 * _US), self._act_fork_event, (parent, child))

    def _act_fork_event(self, t: int, arg: Tuple[_Proc, _Proc]) -> None:
        parent, child = arg
        rng = self._rng
        if self.config.sched:
            self._emit_other(t, parent, "sched_process_fork",
                             (parent.comm, parent.pid, child.comm, child.pid))
            assert child.mm is not None
            rec = self._rec(child.mm)
            rec.sched_pid, rec.sched_comm = child.pid, child.comm
        parent.busy = False
        if rng.random() < self.config.exec_prob:
            self._push(t + rng.randrange(50 * _US, 3 * _MS), self._act_exec_begin, child)
        else:
            # A subshell that runs a builtin and exits.
            self._push(t + int(math.exp(rng.uniform(math.log(0.0005), math.log(0.05))) * _S),
                       self._act_exit, (child, child.exit_token))

    def _act_exec_begin(self, t: int, proc: _Proc) -> None:
        if not proc.alive or proc.doomed:
            return
        rng = self._rng
        i = bisect.bisect_right(_PROGRAM_CUM, rng.random() * _PROGRAM_CUM[-1])
        name, _, (lo, hi), kind = _PROGRAMS[min(i, len(_PROGRAMS) - 1)]
        old = proc.mm
        proc.busy = True
        new = self._make_mm(proc, kind)          # sets proc.mm
        self._emit_enter(t, proc, new)
        new.registered = True
        new.next_due = t + int(SCAN_PERIOD_FIRST_MS * _MS * rng.uniform(0.5, 1.0))
        self._ks_list.append(new)
        lifetime = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        self._push(t + rng.randrange(5 * _US, 40 * _US), self._act_exec_old,
                   (proc, old, name, kind, lifetime))

    def _act_exec_old(self, t: int, arg: Tuple[_Proc, _Mm, str, str, float]) -> None:
        proc, old, name, kind, lifetime = arg
        self._mm_exit(t, proc, old)
        self._push(t + self._rng.randrange(5 * _US, 30 * _US), self._act_exec_event,
                   (proc, name, kind, lifetime))

    def _act_exec_event(self, t: int, arg: Tuple[_Proc, str, str, float]) -> None:
        proc, name, kind, lifetime = arg
        proc.comm = name[:15]
        proc.kind = kind
        if self.config.sched:
            self._emit_other(t, proc, "sched_process_exec", ("/usr/bin/" + name, proc.pid,
                                                             proc.pid))
            assert proc.mm is not None
            rec = self._rec(proc.mm)
            rec.sched_pid, rec.sched_comm = proc.pid, proc.comm
        proc.busy = False
        if kind == "shell":
            self._shells.append(proc)
        self._push(t + max(1, int(lifetime * _S)), self._act_exit, (proc, proc.exit_token))

    def _act_exit(self, t: int, arg: Tuple[_Proc, int]) -> None:
        proc, token = arg
        if not proc.alive or token != proc.exit_token:
            return
        if proc.busy:
            self._push(t + 200 * _US, self._act_exit, arg)
            return
        proc.alive = False
        assert proc.mm is not None
        self._mm_exit(t, proc, proc.mm)
        self._push(t + self._rng.randrange(5 * _US, 50 * _US), self._act_sched_exit, proc)

    def _act_sched_exit(self, t: int, proc: _Proc) -> None:
        if self.config.sched:
            self._emit_other(t, proc, "sched_process_exit", (proc.comm, proc.pid, 120))

    # ------------------------------------------------------------------ kscand

    def _walk(self, mm: _Mm, size: int) -> Tuple[int, int]:
        """Walk ``size`` bytes of VMA span from mm.resume: (pages walked, next resume)."""
        addr = mm.resume
        remaining = size
        walked = 0
        for start, end in mm.vmas:
            if end <= addr:
                continue
            s = start if start > addr else addr
            take = end - s
            if take > remaining:
                take = remaining
            walked += take
            remaining -= take
            if remaining == 0:
                nxt = s + take
                if nxt >= mm.vmas[-1][1]:
                    nxt = 0
                return walked // _PAGE, nxt
        return walked // _PAGE, 0

    def _plan_scan(self, mm: _Mm) -> _Scan:
        """What a due scan of ``mm`` will report, decided when it starts."""
        rng = self._rng
        scan = _Scan(mm)
        scan.size = mm.size
        scan.period = mm.period
        pages, scan.new_resume = self._walk(mm, mm.size)
        scan.pages = pages
        scan.full = scan.new_resume == 0
        total = 0
        if mm.hot_pages and mm.scans_done > 0 and rng.random() < 0.8:
            share = pages * _PAGE / max(1, mm.span)
            total = int(mm.hot_pages * min(1.0, share) * rng.uniform(0.3, 1.0))
        elif mm.scans_done > 0 and rng.random() < 0.06:
            total = rng.randint(1, 40)
        scan.total = min(total, pages)
        scan.node = mm.home_node if scan.total else 0
        return scan

    def _scan_duration(self, scan: _Scan) -> int:
        """Tens of microseconds for a small mm, tens of milliseconds for gigabytes."""
        rng = self._rng
        per_page = rng.uniform(10.0, 35.0) * rng.lognormvariate(0.0, 0.35)
        return int(rng.uniform(12 * _US, 50 * _US) + scan.pages * per_page)

    def _visit_gap(self) -> int:
        return 400 + int(self._rng.random() * 2100)

    def _begin_scan(self, t: int, mm: _Mm) -> None:
        rng = self._rng
        cfg = self.config
        scan = self._plan_scan(mm)
        scan.start_index = self._n
        scan.start_time = t
        self._out.append(Emitted(t, self._ks_cpu, self._ks_pid, "kscand",
                                 "kmem_scan_mm_start", (mm.ptr,)))
        self._n += 1
        self._counts["kmem_scan_mm_start"] += 1
        self._rec(mm)
        mm.scanning = True
        mm.scan_in_trace = True
        duration = self._scan_duration(scan)
        end = t + duration
        # kscand hands the pages over to kmigrated after each VMA.
        times: List[int] = []
        first_chunk = 0
        if scan.total:
            chunks = min(scan.total, rng.randint(1, 4))
            left = scan.total
            times = sorted(t + 1 + rng.randrange(max(1, duration - 2)) for _ in range(chunks))
            for k, when in enumerate(times):
                n = left if k == chunks - 1 else rng.randint(1, left - (chunks - 1 - k))
                left -= n
                first_chunk = first_chunk or n
                self._push(when, self._act_handover, (mm, n, scan.node))
        owner = mm.owner
        if (duration > 4 and owner.alive and owner.can_exit and not owner.busy
                and not owner.doomed and owner.mm is mm
                and rng.random() < cfg.exit_during_scan_prob * (4 if scan.total else 1)):
            owner.doomed = True
            owner.exit_token += 1
            if times and rng.random() < 0.85:
                # while kmigrated works on (or is about to take) the first hand-over
                when = times[0] + rng.randrange(5 * _US, 60 * _US + first_chunk * 2 * _US)
            else:
                when = t + 1 + int(duration * rng.uniform(0.1, 0.9))
            self._push(max(t + 1, min(when, end - 2)), self._act_exit,
                       (owner, owner.exit_token), True)
        self._ks_scan = scan
        self._push(end, self._act_kscand, None, True)

    def _end_scan(self, t: int, scan: _Scan) -> None:
        cfg = self.config
        mm = scan.mm
        self._out.append(Emitted(t, self._ks_cpu, self._ks_pid, "kscand", "kmem_scan_mm_end",
                                 (mm.ptr, scan.new_resume, scan.total, scan.period, scan.size,
                                  scan.node)))
        end_index = self._n
        self._n += 1
        self._counts["kmem_scan_mm_end"] += 1
        rec = self._rec(mm)
        if scan.start_index >= 0:
            rec.completed += 1
            rec.pairs.append(len(self._pair_start))
            self._pair_start.append(scan.start_index)
            self._pair_end.append(end_index)
            self._pair_dur.append(t - scan.start_time)
        else:
            rec.orphan_ends += 1
        if scan.full:
            rec.full_passes += 1
        rec.pages_found += scan.total
        rec.nodes[scan.node] = rec.nodes.get(scan.node, 0) + 1
        rec.period = _track(rec.period, scan.period)
        rec.size = _track(rec.size, scan.size)
        if self._period_first is None:
            self._period_first = scan.period
            self._size_first = scan.size
        self._period_last = scan.period
        self._size_last = scan.size
        # Adapt the period and size (V3: compare this scan's finds with the last one's).
        x, y = mm.prev_total, scan.total
        period = float(mm.period)
        size = mm.size
        if x == 0 and y == 0:
            period *= 1.15
            size >>= 1
        elif x == 0:
            period /= 8
            size = SCAN_SIZE_MAX
        elif y == 0:
            period *= 8
        else:
            period *= 0.85
            size <<= 1
        period = min(max(period, SCAN_PERIOD_MIN_MS), SCAN_PERIOD_MAX_MS)
        attempts = mm.mig_ok + mm.mig_fail
        factor = 1.0 + 10.0 * mm.mig_fail / attempts if attempts else 1.0
        mm.period = int(period * cfg.scan_scale_factor * factor)
        mm.size = min(max(size, SCAN_SIZE_MIN), SCAN_SIZE_MAX)
        mm.mig_ok = mm.mig_fail = 0
        mm.prev_total = y
        mm.resume = scan.new_resume
        mm.scans_done += 1
        mm.scanning = False
        mm.scan_in_trace = False
        mm.next_due = t + mm.period * _MS
        if scan.start_index < 0 and scan.total and not mm.exited:
            self._act_handover(t, (mm, scan.total, scan.node))
        self._maybe_free(mm)

    def _act_kscand(self, t: int, _: Any) -> None:
        scan = self._ks_scan
        if scan is not None:
            self._ks_scan = None
            self._end_scan(t, scan)
            t += self._visit_gap()
        heap = self._heap
        horizon = self.horizon_ns
        lst = self._ks_list
        out = self._out
        rng_random = self._rng.random
        cpu, pid = self._ks_cpu, self._ks_pid
        sleep_ns = self.config.scan_sleep_ms * _MS
        switches = self.config.switches
        counts = self._counts
        new_rec = self._rec
        n_start = 0
        while True:
            if t > horizon:
                break
            if heap and heap[0][0] < t:
                self._push(t, self._act_kscand)
                break
            if switches and self._sw_on["kscand"] is None:
                self._switch(t, "kscand", True)
            cursor = self._ks_cursor
            if cursor >= len(lst):
                lst[:] = [m for m in lst if m.registered]
                self._ks_cursor = 0
                if switches:
                    self._switch(t, "kscand", False)
                t += sleep_ns + int(rng_random() * 200 * _US)
                continue
            mm = lst[cursor]
            self._ks_cursor = cursor + 1
            if not mm.registered:
                continue
            if t >= mm.next_due:
                self._n += n_start
                counts["kmem_scan_mm_start"] += n_start
                n_start = 0
                self._begin_scan(t, mm)
                return
            out.append(Emitted(t, cpu, pid, "kscand", "kmem_scan_mm_start", (mm.ptr,)))
            n_start += 1
            rec = mm.rec
            if rec is None:
                rec = new_rec(mm)
            rec.not_due += 1
            t += 400 + int(rng_random() * 2100)
        self._n += n_start
        counts["kmem_scan_mm_start"] += n_start

    # --------------------------------------------------------------- kmigrated

    def _act_handover(self, t: int, arg: Tuple[_Mm, int, int]) -> None:
        mm, n, node = arg
        if mm.exited:
            return
        mm.pending += n
        mm.mig_node = node
        if not mm.waiting and self._km_cur is not mm:
            mm.waiting = True
            self._km_queue.append(mm)
        if self._km_idle:
            self._km_idle = False
            self._push(t + self._rng.randrange(5 * _US, 60 * _US), self._act_kmigrated)

    def _next_mm(self) -> Optional[_Mm]:
        queue = self._km_queue
        while self._km_qhead < len(queue):
            mm = queue[self._km_qhead]
            self._km_qhead += 1
            mm.waiting = False
            if mm.pending > 0 or mm.inflight > 0:
                break
        else:
            mm = None
        if self._km_qhead > 1024 or self._km_qhead == len(queue):
            del queue[:self._km_qhead]
            self._km_qhead = 0
        return mm

    def _act_kmigrated(self, t: int, _: Any) -> None:
        heap = self._heap
        horizon = self.horizon_ns
        append = self._out.append
        rng = self._rng
        rng_random = rng.random
        cpu, pid = self._km_cpu, self._km_pid
        fail_rcs, fail_cum = self._fail_rcs, self._fail_cum
        fail_total = fail_cum[-1]
        bisect_right = bisect.bisect_right
        ms, mf = self._km_ms, self._km_mf
        switches = self.config.switches
        n = 0
        cur = self._km_cur
        while True:
            if t > horizon:
                self._km_idle = True
                break
            if heap and heap[0][0] < t:
                self._push(t, self._act_kmigrated)
                break
            if switches and self._sw_on["kmigrated"] is None:
                self._switch(t, "kmigrated", True)
            if cur is None:
                cur = self._km_cur = self._next_mm()
                if cur is None:
                    self._km_idle = True
                    if switches:
                        self._switch(t, "kmigrated", False)
                    break
                ms = mf = 0       # a new pass over this mm
                t += rng.randrange(1 * _US, 6 * _US)
                continue
            if cur.exited:
                if cur.inflight <= 0:
                    self._km_cur = None
                    self._maybe_free(cur)
                    cur = None
                    t += rng.randrange(1 * _US, 6 * _US)
                    continue
                cur.inflight -= 1
                rc = 0 if rng_random() < 0.3 else 2      # KSCAND_EXITING_MM
            else:
                cur.pending -= 1
                if rng_random() < cur.p_success:
                    rc = 0
                else:
                    rc = fail_rcs[bisect_right(fail_cum, rng_random() * fail_total)]
            if rc == 0:
                ms += 1
                cur.mig_ok += 1
                step = 4000 + int(rng_random() * 10000)
            else:
                mf += 1
                cur.mig_fail += 1
                step = 600 + int(rng_random() * 2400)
            node = cur.mig_node
            append(Emitted(t, cpu, pid, "kmigrated", "kmem_scan_mm_migrate",
                           (cur.ptr, rc, node, ms, mf)))
            n += 1
            rec = cur.rec
            if rec is None:
                rec = self._rec(cur)
            key = (node, rc)
            mig = rec.mig
            mig[key] = mig.get(key, 0) + 1
            t += step
            if ms + mf == 1:
                rec.batches += 1
            elif ms + mf >= MIGRATE_PASS_LIMIT:
                ms = mf = 0
                t += rng.randrange(50 * _US, 500 * _US)
            if cur.pending <= 0 and not cur.exited:
                # The list is empty: this pass is over.
                self._km_cur = cur = None
                t += rng.randrange(2 * _US, 20 * _US)
        self._km_ms, self._km_mf = ms, mf
        self._n += n
        self._counts["kmem_scan_mm_migrate"] += n

    # ---------------------------------------------------------------- the run

    def __iter__(self) -> Iterator[Emitted]:
        if self._started:
            raise RuntimeError("a Simulation can be iterated only once")
        self._started = True
        return self._run()

    def _run(self) -> Iterator[Emitted]:
        heap = self._heap
        out = self._out
        horizon = self.horizon_ns
        pop = heapq.heappop
        while heap:
            t, _, force, fn, arg = pop(heap)
            if t > horizon and not force:
                continue
            self.now_ns = t
            fn(t, arg)
            if out:
                if self._first_t is None:
                    self._first_t = out[0].time_ns
                self._last_t = out[-1].time_ns
                yield from out
                out.clear()
        self._done = True

    # ------------------------------------------------------------------ truth

    @property
    def scan_pairs(self) -> List[Tuple[int, int]]:
        """(start index, end index) in the stream of every completed scan, in end order."""
        return list(zip(self._pair_start, self._pair_end))

    @property
    def event_count(self) -> int:
        """Events emitted so far."""
        return self._n

    def progress(self, time_ns: int) -> float:
        """The fraction of the simulated interval before ``time_ns``."""
        span = self.horizon_ns - self.base_ns
        return min(1.0, max(0.0, (time_ns - self.base_ns) / span))

    def truth(self) -> Dict[str, Any]:
        """The ground truth with the simulated timestamps."""
        return self._truth(self._pair_dur)

    def truth_with_times(self, times: Sequence[int]) -> Dict[str, Any]:
        """The ground truth with every time-derived number recomputed from ``times``.

        ``times[i]`` is the recorded timestamp (ns) of the i-th event of the stream,
        e.g. as a real kernel stamped it when the stream was replayed there.
        """
        if len(times) < self._n:
            raise ValueError("need %d timestamps, got %d" % (self._n, len(times)))
        durations = [times[e] - times[s] for s, e in zip(self._pair_start, self._pair_end)]
        return self._truth(durations)

    def _truth(self, durations: Sequence[int]) -> Dict[str, Any]:
        if not self._done:
            raise RuntimeError("iterate the whole Simulation before asking for its truth")
        cfg = self.config
        mms = []
        all_scans = self._scans_dict(self._recs, [durations[i] for r in self._recs
                                                  for i in r.pairs])
        all_scans["scan_period_ms"] = self._overall(
            [r.period for r in self._recs], self._period_first, self._period_last)
        all_scans["scan_size_bytes"] = self._overall(
            [r.size for r in self._recs], self._size_first, self._size_last)
        for rec in self._recs:
            if rec.exit_pid is not None:
                pid, comm = rec.exit_pid, rec.exit_comm
            elif cfg.sched and rec.entered and rec.sched_pid is not None:
                pid, comm = rec.sched_pid, rec.sched_comm
            else:
                pid, comm = None, None
            mms.append({"mm": "0x%x" % rec.ptr, "generation": rec.gen, "pid": pid,
                        "comm": comm,
                        "scans": self._scans_dict([rec], [durations[i] for i in rec.pairs]),
                        "migrations": self._migs_dict([rec])})
        return {
            "schema": TRUTH_SCHEMA,
            "seed": cfg.seed,
            # (switches only when on: the truths written before it existed stay true)
            "config": {k: v for k, v in dataclasses.asdict(cfg).items()
                       if k != "switches" or v},
            "events": dict(self._counts),
            "other_events": dict(sorted(self._other.items())),
            "scans": all_scans,
            "migrations": self._migs_dict(self._recs),
            "mms": mms,
            **({"cpu": self._cpu_truth()} if self.config.switches else {}),
        }

    def _cpu_truth(self) -> Optional[Dict[str, Any]]:
        """On-CPU ns of kscand and kmigrated within the trace (config.switches): the complete
        intervals, kscand's first from the trace's first event, a thread still on a CPU up
        to the trace's last event."""
        if not self.config.switches:
            return None
        ns = dict(self._sw_ns)
        for who, since in self._sw_on.items():
            if since is not None:
                ns[who] += self._last_t - (since if since >= 0 else (self._first_t or 0))
        return {"kscand_pid": self._ks_pid, "kmigrated_pid": self._km_pid,
                "kscand_on_cpu_ns": ns["kscand"], "kmigrated_on_cpu_ns": ns["kmigrated"]}

    @staticmethod
    def _overall(stats: List[Optional[List[int]]], first: Optional[int],
                 last: Optional[int]) -> Optional[Dict[str, int]]:
        present = [s for s in stats if s is not None]
        if not present or first is None or last is None:
            return None
        return {"first": first, "last": last, "min": min(s[2] for s in present),
                "max": max(s[3] for s in present), "changes": sum(s[4] for s in present)}

    @staticmethod
    def _scans_dict(recs: Sequence[_Rec], durations: List[int]) -> Dict[str, Any]:
        nodes: Dict[int, int] = {}
        for rec in recs:
            for node, n in rec.nodes.items():
                nodes[node] = nodes.get(node, 0) + n
        scans = {
            "completed": sum(r.completed for r in recs),
            "not_due": sum(r.not_due for r in recs),
            "orphan_ends": sum(r.orphan_ends for r in recs),
            "exited_during_scan": sum(r.exited_during_scan for r in recs),
            "full_passes": sum(r.full_passes for r in recs),
            "pages_found": sum(r.pages_found for r in recs),
            "duration_ns": _stats(list(durations)),
            "ends_by_target_node": {str(k): nodes[k] for k in sorted(nodes)},
            "scan_period_ms": None,
            "scan_size_bytes": None,
        }
        if len(recs) == 1:
            scans["scan_period_ms"] = _value_stats(recs[0].period)
            scans["scan_size_bytes"] = _value_stats(recs[0].size)
        return scans

    @staticmethod
    def _migs_dict(recs: Sequence[_Rec]) -> Dict[str, Any]:
        by_node: Dict[int, List[int]] = {}
        by_rc: Dict[int, int] = {}
        for rec in recs:
            for (node, rc), n in rec.mig.items():
                acc = by_node.setdefault(node, [0, 0])
                acc[0] += n
                if rc == 0:
                    acc[1] += n
                by_rc[rc] = by_rc.get(rc, 0) + n
        attempted = sum(v[0] for v in by_node.values())
        succeeded = sum(v[1] for v in by_node.values())
        return {
            "attempted": attempted,
            "succeeded": succeeded,
            "failed": attempted - succeeded,
            "by_node": {str(k): {"attempted": v[0], "succeeded": v[1], "failed": v[0] - v[1]}
                        for k, v in sorted(by_node.items())},
            "by_rc": {str(k): {"name": rc_name(k), "count": by_rc[k]} for k in sorted(by_rc)},
            "batches": sum(r.batches for r in recs),
        }


def simulate(config: Optional[SynthConfig] = None) -> Simulation:
    """A Simulation of ``config`` (default SynthConfig()); iterate it once for the events."""
    return Simulation(config if config is not None else SynthConfig())


def scenario(config: Optional[SynthConfig] = None) -> Tuple[List[Emitted], Dict[str, Any]]:
    """The whole stream as a list and its truth: for small runs."""
    sim = simulate(config)
    events = list(sim)
    return events, sim.truth()
