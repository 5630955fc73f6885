"""Benchmark: the report's cost over perf's own dispatch, and memory against trace size.

1. A 1M-event simulator trace is reported by perf-scripts/kscand_report.py and by
   bench/empty_handlers.py (same handler signatures, empty bodies), alternately,
   REPEAT times each; the ratio of the best times is the figure (goal <= 1.25).
   Where ../shared/traces holds the real kscand trace, the same for it, and for a
   tiny trace that shows the fixed cost of starting the report.
2. 10M events are streamed through a pipe (synth --pipe | perf script -i -) and
   perf's peak RSS is compared with the 1M pipe run (goal: flat).
3. Process churn (issue 12): traces of 100k and 400k short mm lifetimes (enter, two
   not-due starts, exit; pointers reused; a new pid each), reported as text and as
   --json, against the empty handlers on the same trace in the same run (goal at 400k:
   time <= 1.3x and peak RSS <= +50 MB of the empty handlers', for both).

Run with `make bench` (or python3 bench/run.py [--events-1m N] [--repeat R]).
Timings go to stdout; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from typing import List, Optional, Sequence, Tuple

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


PIPE_WRITER = """
import sys
from kscand_testkit.perfdata import write_trace
from kscand_testkit.synth import SynthConfig, simulate
mms, seconds, seed = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
write_trace("-", simulate(SynthConfig(mms=mms, seconds=seconds, seed=seed, fork_rate=0.0)),
            pipe=True)
"""


def pipe_run(perf: str, config: SynthConfig) -> Tuple[float, int, int]:
    """synth --pipe | perf script -s kscand_report.py -i -: time, perf's peak RSS, bytes."""
    synth = subprocess.Popen(
        [sys.executable, "-c", PIPE_WRITER, str(config.mms), str(config.seconds),
         str(config.seed)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        elapsed, rss = run([perf, "script", "-s", REPORT, "-i", "-"], stdin=synth.stdout.fileno())
    finally:
        synth.stdout.close()
        synth.wait()
    return elapsed, rss, 0


def ratio(perf: str, label: str, trace: str, events: int, repeat: int) -> float:
    """Best-of-``repeat`` times of the report and of the empty handlers, run alternately."""
    best = {}
    for _ in range(repeat):
        for name, script in (("empty handlers", EMPTY), ("kscand_report", REPORT)):
            elapsed, rss = run([perf, "script", "-s", script, "-i", trace])
            old = best.get(name)
            if old is None or elapsed < old[0]:
                best[name] = (elapsed, rss)
    print("%s:" % label)
    for name, (elapsed, rss) in best.items():
        print("  %-15s best of %d: %.2f s (%.2f us/event), peak RSS %.1f MB" % (
            name, repeat, elapsed, 1e6 * elapsed / events, rss / 1024))
    value = best["kscand_report"][0] / best["empty handlers"][0]
    print("  ratio kscand_report / empty handlers: %.2f" % value)
    return value


def churn_bench(perf: str, lifetimes: int, repeat: int) -> None:
    """Text and --json against the empty handlers on one churn trace, alternately."""
    with tempfile.TemporaryDirectory(prefix="kscand-bench-") as tmp:
        trace = os.path.join(tmp, "churn.data")
        stats = write_trace(trace, churn(lifetimes))
        runs = (("empty handlers", [EMPTY]), ("text", [REPORT]),
                ("--json", [REPORT, "--", "--json"]))
        best = {}
        for _ in range(repeat):
            for name, script in runs:
                elapsed, rss = run([perf, "script", "-s", script[0], "-i", trace] + script[1:])
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
    p.add_argument("--events", type=int, default=1000000, help="events of the file run")
    p.add_argument("--pipe-events", type=int, default=10000000, help="events of the big pipe run")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--perf", default=os.environ.get("PERF", "perf"))
    p.add_argument("--churn", type=int, nargs="*", default=[100000, 400000], metavar="N",
                   help="lifetimes of the churn traces (default 100000 400000)")
    p.add_argument("--only-churn", action="store_true", help="run the churn benchmark only")
    args = p.parse_args(argv)
    if args.only_churn:
        for n in args.churn:
            churn_bench(args.perf, n, args.repeat)
        return 0

    with tempfile.TemporaryDirectory(prefix="kscand-bench-") as tmp:
        trace = os.path.join(tmp, "bench.data")
        t0 = time.perf_counter()
        stats = write_trace(trace, simulate(config_for(args.events, 11)))
        written = time.perf_counter() - t0
        print("trace: %d events, %.1f MB, written in %.2f s (%.0f events/s, synth + writer)" % (
            stats.samples, stats.bytes / 1e6, written, stats.samples / written))
        ratio(args.perf, "1M-event trace", trace, stats.samples, args.repeat)
    if os.path.exists(REAL_TRACE):  # the project's machines only: a mix with 40% migrates
        ratio(args.perf, "real kscand trace", REAL_TRACE, 165767, args.repeat)
        ratio(args.perf, "startup only (1,311 events)",
              os.path.join(ROOT, "tests", "data", "small.data"), 1335, args.repeat)

    small = pipe_run(args.perf, config_for(args.events, 12))
    big = pipe_run(args.perf, config_for(args.pipe_events, 13))
    print("pipe, %.1fM events: %.1f s, perf peak RSS %.1f MB" % (
        args.events / 1e6, small[0], small[1] / 1024))
    print("pipe, %.1fM events: %.1f s, perf peak RSS %.1f MB (x%.2f of the small run)" % (
        args.pipe_events / 1e6, big[0], big[1] / 1024, big[1] / small[1]))
    for n in args.churn:
        churn_bench(args.perf, n, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
