"""kscand-record: record the kscand events with the kernel's counters around them.

What it does, in order:

1. checks that this kernel has every event to record (tracefs
   ``events/<system>/<event>``, mounting tracefs when it is not and that is
   possible, else ``perf list``); if any is missing it stops at once, naming
   them, before anything is written (exit 1);
2. snapshots the nr_kscand_* lines of /proc/vmstat into OUT.vmstat-before.txt;
3. runs ``perf record -e ... -a -m 16M --affinity=cpu -o OUT -- WORKLOAD``
   (``-m 16M`` so bursts of migrate events are not lost, ``--affinity=cpu`` so
   perf 6.1 does not write a sample twice);
4. snapshots the counters again into OUT.vmstat-after.txt;
5. prints the report command, which compares the trace with the counters:
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
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from typing import IO, Iterable, List, Optional, Sequence, Set, Tuple

from .errors import CommandError, UsageError
from .events import KSCAND_EVENTS, SCAN_START, SCHED_EVENTS
from .vmstat import kscand_lines

PROG = "kscand-record"

# Every event the report uses, as ``system:name``.
EVENTS: Tuple[str, ...] = tuple("%s:%s" % (ev.system, ev.name)
                                for ev in KSCAND_EVENTS + SCHED_EVENTS)
# --light leaves out the hot event (one per mm per kscand cycle): no scan durations then.
LIGHT_DROPS = "%s:%s" % (SCAN_START.system, SCAN_START.name)

TRACEFS_ROOTS: Tuple[str, ...] = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
PROC_VMSTAT = "/proc/vmstat"
DEFAULT_MMAP = "16M"

HELP = ("record the kscand events with perf, and the kernel's counters around them "
        "(as bin/kscand-record)")
DESCRIPTION = ("Record the kscand tracepoints system-wide with perf, and the kernel's "
               "nr_kscand_* counters before and after, for the report to analyse and "
               "cross-check.")
USAGE = ("%(prog)s [-o OUT] [-m PAGES] [--light] [--perf PATH] "
         "(--duration SECONDS | -- WORKLOAD [ARGS...])")
EPILOG = """\
examples:
  kscand-record -o run.data -- ./workload --its-args   # record while the workload runs
  kscand-record -o idle.data --duration 30             # record 30 s of the whole system
  kscand-record --light -o long.data --duration 600    # without kmem_scan_mm_start

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
                   help="leave out kmem_scan_mm_start, by far the most frequent event: "
                        "much smaller files, but no scan durations")
    p.add_argument("--perf", metavar="PATH",
                   help="the perf to run (default $PERF, else perf on PATH)")
    # testing only: replace the event list / look for events in another tracefs
    p.add_argument("--events", help=argparse.SUPPRESS)
    p.add_argument("--tracefs", help=argparse.SUPPRESS)
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


# -- snapshots and the report command ------------------------------------------------

def snapshot_paths(out: str) -> Tuple[str, str]:
    return out + ".vmstat-before.txt", out + ".vmstat-after.txt"


def snapshot(path: str, when: str, source: str = PROC_VMSTAT) -> int:
    """Write the nr_kscand_* lines of ``source`` to ``path``; return how many there were.

    A ``#`` header says what the file is; kscand_report.py's --vmstat reads it.
    """
    try:
        with open(source, "r", encoding="utf-8", errors="replace") as f:
            lines = kscand_lines(f.read())
    except OSError as e:
        raise CommandError("cannot read %s: %s" % (source, e.strerror or e)) from None
    head = ["# nr_kscand_* lines of %s %s the recording (%s, %s)" % (
        source, when, PROG, time.strftime("%Y-%m-%d %H:%M:%S %z"))]
    if not lines:
        head.append("# none: this kernel has no nr_kscand_* counters")
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(head + lines) + "\n")
    except OSError as e:
        raise CommandError("cannot write %s: %s" % (path, e.strerror or e)) from None
    return len(lines)


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
    events = _event_list(args.events) if args.events is not None else EVENTS
    if args.light:
        events = tuple(e for e in events if e != LIGHT_DROPS)
    out = args.output
    _check_output(out)
    perf = _resolve_perf(args.perf)

    missing, where = check_events(events, perf, args.tracefs)
    if missing:
        raise CommandError(_missing_message(missing, where))

    before, after = snapshot_paths(out)
    counters = snapshot(before, "before")
    cmd = perf_command(perf, events, args.mmap_pages, out, workload)
    stderr.write("%s: %s\n" % (PROG, " ".join(shlex.quote(c) for c in cmd)))
    stderr.flush()
    try:
        proc = subprocess.Popen(cmd)
    except OSError as e:
        _remove([before])
        raise CommandError("cannot run %s: %s" % (perf, e.strerror or e)) from None
    status = _wait(proc)
    if not os.path.isfile(out):
        _remove([before])
        raise CommandError("perf record failed (exit status %d, see its messages above): "
                           "nothing recorded" % status)
    snapshot(after, "after")

    lines = ["recorded %s (%d event%s%s) and the kernel's counters in %s and %s" % (
        out, len(events), "" if len(events) == 1 else "s",
        ", without " + LIGHT_DROPS if args.light else "", before, after)]
    if status != 0:
        lines.append("note: perf record exited with status %d (the workload's status, or a "
                     "perf problem: see its messages above)" % status)
    if counters == 0:
        lines.append("note: this kernel has no nr_kscand_* counters: the report will list "
                     "them as missing")
    if args.light:
        lines.append("note: without %s the report cannot time scans: it says scan "
                     "durations are unknown" % LIGHT_DROPS)
    lines += ["report with:", "  " + report_command(out)]
    stdout.write("\n".join(lines) + "\n")
    stdout.flush()
    return status


def main(args: argparse.Namespace) -> int:
    """Record as ``args`` say; the exit status is perf record's (the workload's)."""
    return run(args)


__all__ = ["EVENTS", "LIGHT_DROPS", "HELP", "DESCRIPTION", "EPILOG", "USAGE",
           "set_argparser", "run", "main", "check_events", "snapshot", "snapshot_paths",
           "report_command", "perf_command", "report_script"]
