"""Benchmark: the report's cost over perf's own dispatch, and memory against trace size.

1. 1M- and 10M-event simulator traces, each in file mode and as a pipe stream (fed
   through `cat |`), are read by bench/empty_handlers.py (perf's floor: the handler
   signatures with empty bodies), by perf-scripts/kscand_report.py (1M only) and by
   `kscand-perf report` (our own reader), alternately, REPEAT times each; the figures
   are the ratios of the best times to the floor (goals: the perf script <= 1.25,
   our reader <= 0.5).
2. Where ../shared/traces holds the real kscand trace, the same for it, and for a
   tiny trace that shows the fixed cost of starting the report.
3. Our reader's peak RSS at 1M and 10M events, file and pipe (goal: flat).
   With the report, also the report with --interval 1 (goal: at most 1.10 x the report's
   time, issue 13).
4. Under perf 7.3 (its chroot, tools/perf-chroot), on the 1M-event file: the empty-handler
   floor and the report through `perf script -s`, and the report through perf's Python
   module (python3 kscand_report.py --via perf-module), in the same run. Every command
   there pays the chroot's start (a mount namespace, about 0.05 s).
5. Process churn (issue 12): traces of 100k and 400k short mm lifetimes (enter, two
   not-due starts, exit; pointers reused; a new pid each), reported as text and as --json
   through perf, and through our reader, against the empty handlers on the same trace in
   the same run (goal at 400k: time <= 1.3x and peak RSS <= +50 MB of the empty
   handlers', for both; our reader: peak RSS under 1 GB at 4M lifetimes, --churn 4000000).

Run with `make bench` (or python3 bench/run.py [--events-1m N] [--repeat R]).
Timings go to stdout; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from kscand_testkit.churn import churn  # noqa: E402
from kscand_testkit.perfdata import write_trace  # noqa: E402
from kscand_testkit.synth import SynthConfig, simulate  # noqa: E402

REPORT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")
REAL_TRACE = os.path.join(os.path.dirname(ROOT), "shared", "traces", "kscand-real-1.data")
EMPTY = os.path.join(ROOT, "bench", "empty_handlers.py")
# about 2,090 events per simulated mm and minute, mostly kmem_scan_mm_start
EVENTS_PER_MM_MINUTE = 2090


def run(cmd: Sequence[str], stdin: Optional[int] = None) -> Tuple[float, int]:
    """Wall time and peak RSS (KiB) of one command, output discarded."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(list(cmd), stdin=stdin, stdout=null, stderr=null)
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("bench: %s failed (status %d)" % (cmd[0], status))
    return elapsed, usage.ru_maxrss


def config_for(events: int, seed: int) -> SynthConfig:
    """410 long-lived mms (no process churn), for as long as ``events`` takes: the 1M and
    10M runs then differ only in the number of events, which is what memory must not
    follow (state is per mm)."""
    mms = 410
    minutes = max(events / (mms * EVENTS_PER_MM_MINUTE), 0.05)
    return SynthConfig(mms=mms, seconds=60.0 * minutes, seed=seed, fork_rate=0.0)


OURS = [sys.executable, os.path.join(ROOT, "bin", "kscand-perf"), "report"]
PERF_CHROOT = os.path.join(ROOT, "tools", "perf-chroot")


def perf73_rows(trace: str, repeat: int) -> Optional[Dict[str, Tuple[float, int]]]:
    """Best-of-``repeat`` times under perf 7.3, or None where its chroot cannot be had."""
    if subprocess.run([PERF_CHROOT, "path", "7.3"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode != 0:
        return None
    bind = ["--bind", os.path.dirname(trace), "--"]
    cmds = [
        ("perf 7.3 empty handlers", [PERF_CHROOT, "run", "7.3"] + bind
         + ["script", "-s", EMPTY, "-i", trace]),
        ("perf 7.3 script -s", [PERF_CHROOT, "run", "7.3"] + bind
         + ["script", "-s", REPORT, "-i", trace]),
        ("perf 7.3 module", [PERF_CHROOT, "python", "7.3"] + bind
         + [REPORT, "-i", trace, "--via", "perf-module"]),
        ("kscand-perf report", OURS + ["-i", trace]),
    ]
    best: Dict[str, Tuple[float, int]] = {}
    for _ in range(repeat):
        for name, cmd in cmds:
            elapsed, rss = run(cmd)
            if name not in best or elapsed < best[name][0]:
                best[name] = (elapsed, rss)
    return best


def run_piped(cmd: Sequence[str], stream_file: str) -> Tuple[float, int]:
    """``cat stream_file | cmd``: time and peak RSS of cmd (a real pipe, as from perf
    record -o -)."""
    cat = subprocess.Popen(["cat", stream_file], stdout=subprocess.PIPE)
    try:
        return run(cmd, stdin=cat.stdout.fileno())  # type: ignore[union-attr]
    finally:
        cat.stdout.close()  # type: ignore[union-attr]
        cat.wait()


def rows(perf: str, trace: str, pipe: bool, repeat: int,
         with_report: bool = True) -> Dict[str, Tuple[float, int]]:
    """Best-of-``repeat`` (time, peak RSS) of perf's empty-handler floor, the perf script
    report and our reader on one trace, run alternately in the same loop."""
    src = "-" if pipe else trace
    cmds = [("perf empty handlers", [perf, "script", "-s", EMPTY, "-i", src])]
    if with_report:
        cmds.append(("perf kscand_report", [perf, "script", "-s", REPORT, "-i", src]))
        cmds.append(("perf --interval 1", [perf, "script", "-s", REPORT, "-i", src, "--",
                                           "--interval", "1"]))
    cmds.append(("kscand-perf report", OURS + ["-i", src]))
    best: Dict[str, Tuple[float, int]] = {}
    for _ in range(repeat):
        for name, cmd in cmds:
            elapsed, rss = run_piped(cmd, trace) if pipe else run(cmd)
            old = best.get(name)
            if old is None or elapsed < old[0]:
                best[name] = (elapsed, rss)
    return best


def show(label: str, events: int, best: Dict[str, Tuple[float, int]], repeat: int) -> None:
    print("%s:" % label)
    for name, (elapsed, rss) in best.items():
        print("  %-19s best of %d: %6.2f s (%.2f us/event), peak RSS %6.1f MB" % (
            name, repeat, elapsed, 1e6 * elapsed / events, rss / 1024))
    floor = best["perf empty handlers"][0]
    if "perf kscand_report" in best:
        print("  ratio perf kscand_report / empty handlers: %.2f"
              % (best["perf kscand_report"][0] / floor))
    if "perf --interval 1" in best:
        print("  ratio --interval 1 / perf kscand_report: %.3f (goal <= 1.10)"
              % (best["perf --interval 1"][0] / best["perf kscand_report"][0]))
    print("  ratio kscand-perf report / empty handlers: %.2f (goal <= 0.5)"
          % (best["kscand-perf report"][0] / floor))


def write(path: str, events: int, seed: int, pipe: bool) -> int:
    t0 = time.perf_counter()
    # the simulator's event rate falls as scan periods grow: simulate the longest time
    # it allows (generation is lazy) and keep exactly ``events``
    config = dataclasses.replace(config_for(events, seed), seconds=864000.0)
    stream = itertools.islice(simulate(config), events)
    stats = write_trace(path, stream, pipe=pipe)
    written = time.perf_counter() - t0
    print("trace %s: %d events, %.1f MB, written in %.1f s" % (
        os.path.basename(path), stats.samples, stats.bytes / 1e6, written))
    return stats.samples


def churn_bench(perf: str, lifetimes: int, repeat: int) -> None:
    """Text and --json against the empty handlers on one churn trace, alternately."""
    with tempfile.TemporaryDirectory(prefix="kscand-bench-") as tmp:
        trace = os.path.join(tmp, "churn.data")
        stats = write_trace(trace, churn(lifetimes))
        runs = (("empty handlers", [perf, "script", "-s", EMPTY, "-i", trace]),
                ("text", [perf, "script", "-s", REPORT, "-i", trace]),
                ("--json", [perf, "script", "-s", REPORT, "-i", trace, "--", "--json"]),
                ("ours, text", OURS + ["-i", trace]),
                ("ours, --json", OURS + ["-i", trace, "--json"]))
        best: Dict[str, Tuple[float, int]] = {}
        for _ in range(repeat):
            for name, cmd in runs:
                elapsed, rss = run(cmd)
                old = best.get(name)
                if old is None or elapsed < old[0]:
                    best[name] = (elapsed, rss)
                if name != "empty handlers":  # RSS: the largest of the runs
                    best[name] = (best[name][0], max(best[name][1], rss))
        floor = best["empty handlers"]
        print("churn, %dk lifetimes (%d events, %.0f MB), best of %d:" % (
            lifetimes // 1000, stats.samples, stats.bytes / 1e6, repeat))
        for name, (elapsed, rss) in best.items():
            extra = "" if name == "empty handlers" else " (x%.2f, %+.1f MB)" % (
                elapsed / floor[0], (rss - floor[1]) / 1024)
            print("  %-15s %.2f s, peak RSS %.1f MB%s" % (name, elapsed, rss / 1024, extra))


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1000000, help="events of the small runs")
    p.add_argument("--big-events", "--pipe-events", type=int, default=10000000,
                   dest="big_events", help="events of the big runs")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--big-repeat", type=int, default=1)
    p.add_argument("--perf", default=os.environ.get("PERF", "perf"))
    p.add_argument("--no-perf73", action="store_true", help="skip the perf 7.3 rows")
    p.add_argument("--churn", type=int, nargs="*", default=[100000, 400000], metavar="N",
                   help="lifetimes of the churn traces (default 100000 400000)")
    p.add_argument("--only-churn", action="store_true", help="run the churn benchmark only")
    args = p.parse_args(argv)
    if args.only_churn:
        for n in args.churn:
            churn_bench(args.perf, n, args.repeat)
        return 0

    rss: Dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="kscand-bench-") as tmp:
        for label, n, repeat, report in (("1M", args.events, args.repeat, True),
                                         ("10M", args.big_events, args.big_repeat, False)):
            for pipe in (False, True):
                mode = "pipe" if pipe else "file"
                trace = os.path.join(tmp, "bench-%s-%s.data" % (label, mode))
                samples = write(trace, n, 11, pipe)
                best = rows(args.perf, trace, pipe, repeat, with_report=report)
                show("%s-event trace, %s mode" % (label, mode), samples, best, repeat)
                rss["%s %s" % (label, mode)] = best["kscand-perf report"][1]
                if label == "1M" and not pipe and not args.no_perf73:
                    best73 = perf73_rows(trace, repeat)
                    if best73 is None:
                        print("perf 7.3: no chroot here (tools/perf-chroot path 7.3 failed)")
                    else:
                        print("1M-event trace, file mode, perf 7.3 (chroot):")
                        floor = best73["perf 7.3 empty handlers"][0]
                        for name, (elapsed, peak) in best73.items():
                            print("  %-24s best of %d: %6.2f s, peak RSS %6.1f MB, "
                                  "%.2f x the floor" % (name, repeat, elapsed, peak / 1024,
                                                        elapsed / floor))
                os.unlink(trace)
    if os.path.exists(REAL_TRACE):  # the project's machines only: a mix with 40% migrates
        show("real kscand trace", 165767, rows(args.perf, REAL_TRACE, False, args.repeat),
             args.repeat)
        small = os.path.join(ROOT, "tests", "data", "small.data")
        show("startup only (1,311 events)", 1335, rows(args.perf, small, False, args.repeat),
             args.repeat)
    for mode in ("file", "pipe"):
        print("kscand-perf report peak RSS, %s mode: %.1f MB at 1M, %.1f MB at 10M (x%.2f)" % (
            mode, rss["1M " + mode] / 1024, rss["10M " + mode] / 1024,
            rss["10M " + mode] / rss["1M " + mode]))
    for n in args.churn:
        churn_bench(args.perf, n, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
