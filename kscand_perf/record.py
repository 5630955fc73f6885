"""kscand-record: record the kscand events with the kernel's counters around them.

What it does, in order:

1. checks that this kernel has every event to record (tracefs
   ``events/<system>/<event>``, mounting tracefs when it is not and that is
   possible, else ``perf list``); if any kscand or sched_process event is
   missing it stops at once, naming them, before anything is written (exit 1).
   The kernel's own migrate events (``migrate:mm_migrate_pages`` and
   ``_start``: which promoter moved a page) and ``sched:sched_switch`` filtered
   to kscand's two threads (kmigrated's CPU time) are added when the kernel
   has them (:data:`EXTRA_EVENTS`; ``--light`` leaves them out);
   with ``--mms-to-scan N`` it then sets /sys/kernel/mm/kscand/mms_to_scan, and
   with ``--numa-balancing MODE`` /proc/sys/kernel/numa_balancing, for the
   recording (the old values are put back afterwards, also when perf fails or
   on Ctrl-C), and it warns when kmem_scan_mm_start will flood the recording
   (see :func:`start_rate`);
2. snapshots the nr_kscand_* lines of /proc/vmstat, and the NUMA balancing and
   migration counters (:data:`SNAPSHOT_PREFIXES`), into OUT.vmstat-before.txt;
   kscand's knobs and kernel.numa_balancing go to OUT.kscand.txt;
3. runs ``perf record -e ... -a -m 16M --affinity=cpu -o OUT -- WORKLOAD``
   (``-m 16M`` so bursts of migrate events are not lost, ``--affinity=cpu`` so
   perf 6.1 does not write a sample twice; sched_switch with its ``--filter``);
4. snapshots the counters again into OUT.vmstat-after.txt;
5. says how many event types it asked for and how many samples perf wrote
   (counted in OUT itself, with any LOST records), then prints the report
   command, which compares the trace with the counters:
   ``perf script -s .../kscand_report.py -i OUT -- --vmstat BEFORE AFTER``.

The snapshots are taken just before perf starts and just after it stops: events
kscand emits in those moments are counted by the kernel and not recorded, so a
busy kscand can leave the trace a few events short of the counters.

Exit status: 0 when recorded (else perf record's own status, e.g. the
workload's), 1 when it cannot record (missing events, perf or /proc/vmstat
unusable), 2 for bad arguments. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import time
from typing import IO, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple

from .errors import CommandError, UsageError
from .events import KSCAND_EVENTS, SCAN_START, SCHED_EVENTS
from .vmstat import PREFIX as KSCAND_PREFIX

PROG = "kscand-record"

# Every event the report uses, as ``system:name``.
EVENTS: Tuple[str, ...] = tuple("%s:%s" % (ev.system, ev.name)
                                for ev in KSCAND_EVENTS + SCHED_EVENTS)
# --light leaves out the hot event (one per mm per kscand cycle): no scan durations then.
LIGHT_DROPS = "%s:%s" % (SCAN_START.system, SCAN_START.name)
# Recorded as well when this kernel has them, left out by --light (the core does not
# need them): the kernel's own migrate events, whose reason and task tell the promoters
# apart (kmigrated's numa_misplaced calls are kscand's, a faulting task's are NUMA
# balancing's), and the context switches of kscand's two threads (kmigrated's CPU time).
MIGRATE_EVENTS: Tuple[str, ...] = ("migrate:mm_migrate_pages", "migrate:mm_migrate_pages_start")
SWITCH_EVENT = "sched:sched_switch"
SWITCH_FILTER = ('prev_comm == "kscand" || prev_comm == "kmigrated" || '
                 'next_comm == "kscand" || next_comm == "kmigrated"')
EXTRA_EVENTS: Tuple[str, ...] = MIGRATE_EVENTS + (SWITCH_EVENT,)
FILTERS = {SWITCH_EVENT: SWITCH_FILTER}

# /proc/vmstat lines each snapshot keeps: kscand's counters, and those of NUMA balancing,
# promotion, demotion and migration, which count several promoters at once (the report
# holds them against the migrate events).
SNAPSHOT_PREFIXES: Tuple[str, ...] = (KSCAND_PREFIX, "numa_pte_updates", "numa_huge_pte_updates",
                                      "numa_hint_faults", "numa_pages_migrated", "pgpromote_",
                                      "pgdemote_", "pgmigrate_", "thp_migration_")
NUMA_BALANCING = "/proc/sys/kernel/numa_balancing"
# kernel.numa_balancing: 0 off, 1 NUMA_BALANCING_NORMAL, 2 NUMA_BALANCING_MEMORY_TIERING,
# 3 both (Documentation/admin-guide/sysctl/kernel.rst).
NUMA_BALANCING_MODES = {"off": 0, "normal": 1, "tiering": 2, "both": 3}

TRACEFS_ROOTS: Tuple[str, ...] = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
KSCAND_SYSFS = "/sys/kernel/mm/kscand"
# kscand visits up to mms_to_scan mms per cycle, one kmem_scan_mm_start each, and
# sleeps scan_sleep_ms between cycles (RFC V3 kscand_do_scan). Above this many starts a
# second, kscand-record warns: at the defaults (4096, 20 ms) an idle guest wrote
# 552,913 samples (42 MB) in 5 s, about 76 bytes a sample.
FLOOD_STARTS_PER_S = 5000
BYTES_PER_START = 76
SUGGESTED_MMS_TO_SCAN = 32
PROC_VMSTAT = "/proc/vmstat"
DEFAULT_MMAP = "16M"

HELP = ("record the kscand events with perf, and the kernel's counters around them "
        "(as bin/kscand-record)")
DESCRIPTION = ("Record the kscand tracepoints system-wide with perf, and the kernel's "
               "nr_kscand_* counters before and after, for the report to analyse and "
               "cross-check.")
USAGE = ("%(prog)s [-o OUT] [-m PAGES] [--light] [--mms-to-scan N] [--numa-balancing MODE] "
         "[--perf PATH] (--duration SECONDS | -- WORKLOAD [ARGS...])")
EPILOG = """\
examples:
  kscand-record -o run.data -- ./workload --its-args   # record while the workload runs
  kscand-record -o idle.data --duration 30             # record 30 s of the whole system
  kscand-record --light -o long.data --duration 600    # without kmem_scan_mm_start
  kscand-record --mms-to-scan 32 -o run.data -- ./wl   # fewer kmem_scan_mm_start events
  kscand-record --numa-balancing tiering -o ab.data -- ./wl   # NUMA balancing beside kscand

It writes OUT, OUT.vmstat-before.txt and OUT.vmstat-after.txt, then prints the
report command. Recording needs root (or perf_event_paranoid -1) and tracefs.
"""

_EVENT_NAME = re.compile(r"^[A-Za-z0-9_]+:[A-Za-z0-9_]+$")


def set_argparser(p: argparse.ArgumentParser) -> None:
    """The options of kscand-record (bin/kscand-record and ``kscand-perf record``)."""
    p.usage = USAGE
    p.add_argument("-o", "--output", default="perf.data", metavar="OUT",
                   help="the perf.data file to write (default perf.data); the counters go "
                        "to OUT.vmstat-before.txt and OUT.vmstat-after.txt")
    p.add_argument("--duration", metavar="SECONDS",
                   help="record the whole system for SECONDS (runs `sleep SECONDS`) "
                        "instead of a workload")
    p.add_argument("-m", "--mmap-pages", default=DEFAULT_MMAP, metavar="PAGES",
                   help="perf record's -m: ring buffer size per CPU (default %s; smaller "
                        "buffers lose events in bursts)" % DEFAULT_MMAP)
    p.add_argument("--light", action="store_true",
                   help="leave out kmem_scan_mm_start, by far the most frequent event, and "
                        "the migrate and sched_switch events recorded when the kernel has "
                        "them: much smaller files, but no scan durations, no promotions by "
                        "mechanism and no kmigrated CPU time")
    p.add_argument("--mms-to-scan", metavar="N", dest="mms_to_scan",
                   help="set kscand's mms_to_scan (%s/mms_to_scan) to N for the recording "
                        "and put the old value back afterwards: how many mms kscand visits "
                        "per cycle, so how often kmem_scan_mm_start fires (e.g. %d); needs "
                        "root" % (KSCAND_SYSFS, SUGGESTED_MMS_TO_SCAN))
    p.add_argument("--numa-balancing", metavar="MODE", dest="numa_balancing",
                   help="set kernel.numa_balancing (%s) to MODE for the recording and put "
                        "the old value back afterwards: 0 or off, 1 or normal, 2 or tiering "
                        "(memory tiering: hint faults promote from slow nodes), 3 or both; "
                        "needs root" % NUMA_BALANCING)
    p.add_argument("--perf", metavar="PATH",
                   help="the perf to run (default $PERF, else perf on PATH)")
    # testing only: replace the event list / look for events in another tracefs
    p.add_argument("--events", help=argparse.SUPPRESS)
    p.add_argument("--tracefs", help=argparse.SUPPRESS)
    p.add_argument("--kscand-sysfs", default=KSCAND_SYSFS, help=argparse.SUPPRESS)
    p.add_argument("--numa-balancing-file", default=NUMA_BALANCING, help=argparse.SUPPRESS)
    p.add_argument("workload", nargs="*", metavar="-- WORKLOAD",
                   help="the command to run while recording (after --)")


# -- checks ------------------------------------------------------------------------

def _duration(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError("--duration: not a number of seconds: %r" % text) from None
    if not math.isfinite(value) or value <= 0:
        raise UsageError("--duration: must be a positive number of seconds, not %s"
                         % text)
    return value


def _event_list(text: str) -> Tuple[str, ...]:
    events = tuple(e.strip() for e in text.split(",") if e.strip())
    if not events:
        raise UsageError("--events: empty list")
    bad = [e for e in events if not _EVENT_NAME.match(e)]
    if bad:
        raise UsageError("--events: not SYSTEM:EVENT: %s" % ", ".join(bad))
    return events


def find_tracefs(roots: Sequence[str] = TRACEFS_ROOTS) -> Optional[str]:
    """The first of ``roots`` whose events/ folder can be seen."""
    for root in roots:
        if os.path.isdir(os.path.join(root, "events")):
            return root
    return None


def mount_tracefs(target: str = TRACEFS_ROOTS[0]) -> Optional[str]:
    """Mount tracefs on ``target`` when we may (root, an empty mount point); its path or None."""
    if not os.path.isdir(target) or os.geteuid() != 0:
        return None
    try:
        subprocess.run(["mount", "-t", "tracefs", "nodev", target], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return find_tracefs((target,))


def missing_in_tracefs(events: Iterable[str], root: str) -> List[str]:
    """The events of ``events`` (``system:name``) that ``root``/events/ does not have."""
    return [e for e in events
            if not os.path.isdir(os.path.join(root, "events", *e.split(":", 1)))]


def perf_tracepoints(perf: str) -> Optional[Set[str]]:
    """The tracepoints ``perf list`` knows, or None when it lists none (no access)."""
    try:
        proc = subprocess.run([perf, "list", "--raw-dump", "tracepoint"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    names = {n for n in proc.stdout.decode("utf-8", "replace").split() if ":" in n}
    return names or None


def check_events(events: Sequence[str], perf: str,
                 tracefs: Optional[str] = None) -> Tuple[List[str], str]:
    """The missing events and where we looked; raises CommandError when nothing can tell.

    ``tracefs`` forces the tracefs root to look in (tests).
    """
    if tracefs is not None:
        if not os.path.isdir(os.path.join(tracefs, "events")):
            raise UsageError("--tracefs: no events/ folder in %s" % tracefs)
        return missing_in_tracefs(events, tracefs), os.path.join(tracefs, "events")
    root = find_tracefs() or mount_tracefs()
    if root is not None:
        return missing_in_tracefs(events, root), os.path.join(root, "events")
    known = perf_tracepoints(perf)
    if known is not None:
        return [e for e in events if e not in known], "perf list"
    raise CommandError("cannot tell which trace events this kernel has: no readable tracefs "
                       "(%s) and `perf list` shows no tracepoints; run as root"
                       % " or ".join(TRACEFS_ROOTS))


def _missing_message(missing: Sequence[str], where: str) -> str:
    why = ""
    if any(e.startswith("kmem:kmem_") for e in missing):
        why = ": a kernel with the kscand series and CONFIG_KSCAND=y is needed"
    return "this kernel lacks the trace event%s %s (looked in %s)%s; nothing recorded" % (
        "" if len(missing) == 1 else "s", ", ".join(missing), where, why)


def _resolve_perf(given: Optional[str]) -> str:
    name = given or os.environ.get("PERF") or "perf"
    path = shutil.which(name)
    if path is None:
        if given:
            raise UsageError("--perf: no such program: %s" % given)
        raise CommandError("perf not found (%s): install it (apt-get install linux-perf) or "
                           "give --perf PATH" % name)
    return path


def _check_output(out: str) -> None:
    if out == "-":
        raise UsageError("-o -: kscand-record writes a file (the counter snapshots go "
                         "next to it)")
    if os.path.isdir(out):
        raise UsageError("-o %s: is a directory" % out)
    folder = os.path.dirname(out) or "."
    if not os.path.isdir(folder):
        raise UsageError("-o %s: no such directory %s" % (out, folder))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError("-o %s: cannot write in %s" % (out, folder))


# -- kscand's knobs -------------------------------------------------------------------

def _mms_to_scan(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise UsageError("--mms-to-scan: not a whole number: %r" % text) from None
    if value < 1:
        raise UsageError("--mms-to-scan: must be at least 1, not %s" % text)
    return value


def _numa_balancing(text: str) -> int:
    word = text.strip().lower()
    if word in NUMA_BALANCING_MODES:
        return NUMA_BALANCING_MODES[word]
    if word in ("0", "1", "2", "3"):
        return int(word)
    raise UsageError("--numa-balancing: not a mode: %r (0 or off, 1 or normal, 2 or tiering, "
                     "3 or both)" % text)


def numa_balancing_setting(path: str, value: int) -> "KnobSetting":
    """Set kernel.numa_balancing (the file ``path``) for the recording."""
    return KnobSetting(os.path.dirname(path), os.path.basename(path), value,
                       "this kernel has no NUMA balancing (CONFIG_NUMA_BALANCING)",
                       "numa_balancing")


def read_knob(sysfs: str, name: str) -> Optional[int]:
    """The value of kscand's knob ``name`` under ``sysfs``, or None when it cannot be read."""
    try:
        with open(os.path.join(sysfs, name), "r", encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def write_knob(sysfs: str, name: str, value: int) -> None:
    """Write ``value`` to kscand's knob ``name``. Raises CommandError naming the file."""
    path = os.path.join(sysfs, name)
    try:
        with open(path, "w", encoding="ascii") as f:
            f.write("%d\n" % value)
    except OSError as e:
        raise CommandError("cannot set %s to %d: %s%s" % (
            path, value, e.strerror or e,
            " (run as root)" if e.errno in (errno.EACCES, errno.EPERM) else "")) from None


class KnobSetting:
    """Set one knob for the recording; :meth:`restore` puts the old value back (once)."""

    def __init__(self, sysfs: str, name: str, value: int,
                 absent: str = "this kernel has no kscand knobs there (a kernel with the "
                               "kscand series is needed)",
                 label: Optional[str] = None) -> None:
        path = os.path.join(sysfs, name)
        self.label = label or name      # the option's and the message's name
        old = read_knob(sysfs, name)
        if old is None:
            raise CommandError("--%s: cannot read %s: %s"
                               % (self.label.replace("_", "-"), path, absent))
        self.sysfs, self.name, self.old, self.value = sysfs, name, old, value
        write_knob(sysfs, name, value)
        self.restored = False

    def restore(self) -> Optional[str]:
        """Put the old value back; a warning line when that failed, else None."""
        if self.restored:
            return None
        self.restored = True
        try:
            write_knob(self.sysfs, self.name, self.old)
        except CommandError as e:
            return "could not put %s back to %d: %s" % (self.label, self.old, e)
        return None


def start_rate(mms_to_scan: int, scan_sleep_ms: int) -> Optional[float]:
    """The most kmem_scan_mm_start events a second kscand can emit with these knobs.

    Each kscand cycle visits up to ``mms_to_scan`` mms (one start event each, due or
    not) and then sleeps ``scan_sleep_ms``; the visits themselves take time, so this is
    an upper bound (at the defaults, 4096 and 20 ms: 204,800 a second; an idle guest
    under emulation gave 110,000). None: no sleep at all, no bound.
    """
    if scan_sleep_ms <= 0:
        return None
    return mms_to_scan * 1000.0 / scan_sleep_ms


def flood_warning(mms_to_scan: Optional[int], scan_sleep_ms: Optional[int],
                  limit: float = FLOOD_STARTS_PER_S) -> Optional[str]:
    """The warning to give before recording kmem_scan_mm_start, or None when it stays
    below ``limit`` a second (or the knobs cannot be read)."""
    if mms_to_scan is None or scan_sleep_ms is None:
        return None
    rate = start_rate(mms_to_scan, scan_sleep_ms)
    if rate is not None and rate <= limit:
        return None
    if rate is None:
        how = ("kscand's scan_sleep_ms is 0: kscand visits mms without a pause, each visit "
               "a kmem_scan_mm_start event")
    else:
        how = ("kmem_scan_mm_start may fire up to about %s times a second (mms_to_scan %d "
               "visits per kscand cycle, a cycle every scan_sleep_ms %d ms): about %s MB of "
               "perf.data a minute" % (
                   "{:,}".format(int(rate)), mms_to_scan, scan_sleep_ms,
                   "{:,}".format(int(rate * BYTES_PER_START * 60 / 1e6))))
    suggest = min(SUGGESTED_MMS_TO_SCAN, mms_to_scan)
    return ("%s; record with --light to leave that event out (no scan durations then), or "
            "with a lower mms_to_scan (--mms-to-scan %d)" % (how, suggest))


# -- what perf wrote -------------------------------------------------------------------

PERF_RECORD_LOST = 2
PERF_RECORD_SAMPLE = 9
PERF_RECORD_LOST_SAMPLES = 13
PERF_RECORD_COMPRESSED = 81
_REC_HEADER = struct.Struct("<IHH")


class Written(NamedTuple):
    samples: int
    lost_records: int     # PERF_RECORD_LOST + PERF_RECORD_LOST_SAMPLES
    lost_events: int      # what they say was lost


def count_records(path: str) -> Optional[Written]:
    """Count the samples and LOST records in the data section of perf.data ``path``.

    None when that cannot be told: not a perf.data file in file mode, compressed
    records (perf record -z), or a data section that does not walk cleanly.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(104)
            if len(head) < 104 or head[:8] != b"PERFILE2":
                return None
            header_size, = struct.unpack_from("<Q", head, 8)
            if header_size != 104:
                return None
            offset, size = struct.unpack_from("<QQ", head, 40)
            f.seek(offset)
            data = f.read(size)
    except OSError:
        return None
    if len(data) != size:
        return None
    samples = lost_records = lost_events = 0
    at = 0
    unpack = _REC_HEADER.unpack_from
    while at < size:
        if at + 8 > size:
            return None
        rtype, _misc, rsize = unpack(data, at)
        if rsize < 8 or at + rsize > size:
            return None
        if rtype == PERF_RECORD_SAMPLE:
            samples += 1
        elif rtype in (PERF_RECORD_LOST, PERF_RECORD_LOST_SAMPLES):
            lost_records += 1
            # LOST: id, lost; LOST_SAMPLES: lost (each a u64 after the header)
            at_lost = at + (16 if rtype == PERF_RECORD_LOST else 8)
            if at_lost + 8 <= at + rsize:
                lost_events += struct.unpack_from("<Q", data, at_lost)[0]
        elif rtype == PERF_RECORD_COMPRESSED:
            return None
        at += rsize
    return Written(samples, lost_records, lost_events)


# -- snapshots and the report command ------------------------------------------------

def snapshot_paths(out: str) -> Tuple[str, str]:
    return out + ".vmstat-before.txt", out + ".vmstat-after.txt"


def knobs_path(out: str) -> str:
    """Where kscand-record keeps kscand's knobs and the kernel release of a recording
    (the report reads it beside its input: kscand_perf.session.read_knobs)."""
    return out + ".kscand.txt"


def save_knobs(path: str, sysfs: str, numa_balancing: str = NUMA_BALANCING) -> int:
    """Write ``kernel_release``, ``numa_balancing`` (kernel.numa_balancing, read from the
    file ``numa_balancing``, when it can be read) and every readable file under ``sysfs``
    as ``name value`` lines to ``path``; return how many kscand knobs there were."""
    lines = ["# kscand's knobs during the recording (%s, %s)" % (
        PROG, time.strftime("%Y-%m-%d %H:%M:%S %z")),
        "kernel_release %s" % os.uname().release]
    mode = read_knob(os.path.dirname(numa_balancing), os.path.basename(numa_balancing))
    if mode is not None:
        lines.append("numa_balancing %d" % mode)
    knobs = 0
    try:
        names = sorted(os.listdir(sysfs))
    except OSError:
        names = []
        lines.append("# no %s: this kernel has no kscand knobs" % sysfs)
    for name in names:
        try:
            with open(os.path.join(sysfs, name), "r", encoding="utf-8",
                      errors="replace") as f:
                value = " ".join(f.read().split())
        except OSError:
            continue
        lines.append("%s %s" % (name, value))
        knobs += 1
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    except OSError as e:
        raise CommandError("cannot write %s: %s" % (path, e.strerror or e)) from None
    return knobs


def snapshot(path: str, when: str, source: str = PROC_VMSTAT) -> int:
    """Write the nr_kscand_* lines of ``source``, and the NUMA balancing and migration
    counters (:data:`SNAPSHOT_PREFIXES`), to ``path``; return how many nr_kscand_* lines
    there were.

    A ``#`` header says what the file is; kscand_report.py's --vmstat reads it.
    """
    try:
        with open(source, "r", encoding="utf-8", errors="replace") as f:
            lines = [line for line in f.read().splitlines()
                     if line.startswith(SNAPSHOT_PREFIXES)]
    except OSError as e:
        raise CommandError("cannot read %s: %s" % (source, e.strerror or e)) from None
    head = ["# nr_kscand_* lines (and NUMA balancing's, promotion's and migration's) of %s "
            "%s the recording (%s, %s)" % (source, when, PROG,
                                           time.strftime("%Y-%m-%d %H:%M:%S %z"))]
    kscand = sum(1 for line in lines if line.startswith(KSCAND_PREFIX))
    if not kscand:
        head.append("# none: this kernel has no nr_kscand_* counters")
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(head + lines) + "\n")
    except OSError as e:
        raise CommandError("cannot write %s: %s" % (path, e.strerror or e)) from None
    return kscand


def report_script() -> str:
    """Where the report script is: next to this package (a checkout), else installed in
    perf's exec path (as kscand-report.py, perf's naming), else its bare name."""
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidates = [os.path.join(package_root, "perf-scripts", "kscand_report.py")]
    for exec_path in (os.environ.get("PERF_EXEC_PATH"), "/usr/lib/perf-core"):
        if exec_path:
            candidates.append(os.path.join(exec_path, "scripts", "python", "kscand-report.py"))
    for path in candidates:
        if os.path.isfile(path):
            return path
    return "kscand_report.py"


def report_command(out: str, script: Optional[str] = None) -> str:
    before, after = snapshot_paths(out)
    return "perf script -s %s -i %s -- --vmstat %s %s" % tuple(
        shlex.quote(x) for x in (script or report_script(), out, before, after))


def perf_command(perf: str, events: Sequence[str], mmap: str, out: str,
                 workload: Sequence[str]) -> List[str]:
    cmd = [perf, "record"]
    for e in events:
        cmd += ["-e", e]
        if e in FILTERS:
            cmd += ["--filter", FILTERS[e]]
    return cmd + ["-a", "-m", mmap, "--affinity=cpu", "-o", out, "--"] + list(workload)


def _wait(proc: "subprocess.Popen[bytes]") -> int:
    """Wait for perf; Ctrl-C reaches perf and the workload too, so we wait on to snapshot."""
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            continue


def _remove(paths: Iterable[str]) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass


# -- the command ---------------------------------------------------------------------

def run(args: argparse.Namespace, stdout: Optional[IO[str]] = None,
        stderr: Optional[IO[str]] = None) -> int:
    """Record as ``args`` say (parsed by :func:`add_arguments`). Raises CommandError."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    workload = list(args.workload)
    if workload[:1] == ["--"]:
        workload = workload[1:]
    if args.duration is not None:
        if workload:
            raise UsageError("give either --duration or a WORKLOAD after --, not both")
        workload = ["sleep", "%g" % _duration(args.duration)]
    elif not workload:
        raise UsageError("nothing to record: give a WORKLOAD after -- or --duration "
                         "SECONDS")
    if not args.mmap_pages.strip():
        raise UsageError("-m: empty buffer size")
    mms_to_scan = _mms_to_scan(args.mms_to_scan) if args.mms_to_scan is not None else None
    numa_mode = (_numa_balancing(args.numa_balancing) if args.numa_balancing is not None
                 else None)
    events = _event_list(args.events) if args.events is not None else EVENTS
    extras: Tuple[str, ...] = ()
    if args.light:
        events = tuple(e for e in events if e != LIGHT_DROPS)
    elif args.events is None:
        extras = EXTRA_EVENTS
    out = args.output
    _check_output(out)
    perf = _resolve_perf(args.perf)

    missing, where = check_events(events + extras, perf, args.tracefs)
    required = [e for e in missing if e not in extras]
    if required:
        raise CommandError(_missing_message(required, where))
    events += tuple(e for e in extras if e not in missing)
    absent = [e for e in extras if e in missing]

    settings: List[KnobSetting] = []
    failed: List[str] = []
    try:
        if mms_to_scan is not None:
            settings.append(KnobSetting(args.kscand_sysfs, "mms_to_scan", mms_to_scan))
        if numa_mode is not None:
            settings.append(numa_balancing_setting(args.numa_balancing_file, numa_mode))
        if LIGHT_DROPS in events:
            warning = flood_warning(read_knob(args.kscand_sysfs, "mms_to_scan"),
                                    read_knob(args.kscand_sysfs, "scan_sleep_ms"))
            if warning:
                stderr.write("%s: warning: %s\n" % (PROG, warning))
        status, lines = _record(args, events, out, perf, workload, stderr)
    finally:
        for setting in reversed(settings):
            problem = setting.restore()
            if problem:
                failed.append(setting.label)
                stderr.write("%s: warning: %s\n" % (PROG, problem))
                stderr.flush()
    for at, setting in enumerate(settings, 1):
        lines.insert(at, "%s was %d for the recording%s" % (
            setting.label, setting.value, ", now %d again" % setting.old
            if setting.label not in failed else " and is still (see the warning above)"))
    if absent:
        lines.append("note: this kernel has no %s: recorded without %s" % (
            ", ".join(absent), "them" if len(absent) > 1 else "it"))
    lines += ["report with:", "  " + report_command(out)]
    stdout.write("\n".join(lines) + "\n")
    stdout.flush()
    return status


def _record(args: argparse.Namespace, events: Sequence[str], out: str, perf: str,
            workload: Sequence[str], stderr: IO[str]) -> Tuple[int, List[str]]:
    """Snapshot, record, snapshot; perf's status and the lines to print."""
    before, after = snapshot_paths(out)
    counters = snapshot(before, "before")
    save_knobs(knobs_path(out), args.kscand_sysfs,  # as they are for the recording
               args.numa_balancing_file)
    cmd = perf_command(perf, events, args.mmap_pages, out, workload)
    stderr.write("%s: %s\n" % (PROG, " ".join(shlex.quote(c) for c in cmd)))
    stderr.flush()
    try:
        proc = subprocess.Popen(cmd)
    except OSError as e:
        _remove([before, knobs_path(out)])
        raise CommandError("cannot run %s: %s" % (perf, e.strerror or e)) from None
    status = _wait(proc)
    if not os.path.isfile(out):
        _remove([before, knobs_path(out)])
        raise CommandError("perf record failed (exit status %d, see its messages above): "
                           "nothing recorded" % status)
    snapshot(after, "after")

    written = count_records(out)
    what = "%d event type%s%s" % (len(events), "" if len(events) == 1 else "s",
                                  ", without " + LIGHT_DROPS if args.light else "")
    if written is not None:
        what += ", %s sample%s" % ("{:,}".format(written.samples),
                                   "" if written.samples == 1 else "s")
        if written.lost_records:
            what += ", %s LOST record%s" % ("{:,}".format(written.lost_records),
                                            "" if written.lost_records == 1 else "s")
    lines = ["recorded %s (%s), the kernel's counters in %s and %s, and kscand's knobs "
             "in %s" % (out, what, before, after, knobs_path(out))]
    if written is not None and written.lost_records:
        lines.append("warning: perf lost %s events (its buffer overflowed): the counts are "
                     "short; record with a larger -m, --light or a lower --mms-to-scan"
                     % "{:,}".format(written.lost_events))
    if status != 0:
        lines.append("note: perf record exited with status %d (the workload's status, or a "
                     "perf problem: see its messages above)" % status)
    if counters == 0:
        lines.append("note: this kernel has no nr_kscand_* counters: the report will list "
                     "them as missing")
    if args.light:
        lines.append("note: without %s the report cannot time scans: it says scan "
                     "durations are unknown" % LIGHT_DROPS)
        lines.append("note: --light also leaves out %s: no promotions by mechanism, no "
                     "kmigrated CPU time" % ", ".join(EXTRA_EVENTS))
    return status, lines


def main(args: argparse.Namespace) -> int:
    """Record as ``args`` say; the exit status is perf record's (the workload's)."""
    return run(args)


__all__ = ["EVENTS", "LIGHT_DROPS", "EXTRA_EVENTS", "MIGRATE_EVENTS", "SWITCH_EVENT",
           "SWITCH_FILTER", "SNAPSHOT_PREFIXES", "NUMA_BALANCING_MODES",
           "numa_balancing_setting", "HELP", "DESCRIPTION", "EPILOG", "USAGE",
           "set_argparser", "run", "main", "check_events", "snapshot", "snapshot_paths",
           "report_command", "perf_command", "report_script", "start_rate",
           "flood_warning", "count_records", "read_knob", "write_knob", "KnobSetting"]
