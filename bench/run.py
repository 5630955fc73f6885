"""Benchmark: the report's cost against perf's own floor, in pairs, with peak memory.

The floor E is perf's dispatch of the same trace to bench/empty_handlers.py (the
handlers of kscand_report.py with empty bodies). Every figure is a ratio path / E, each
E run just before its path's run on the same trace (a pair), PAIRS pairs (default 5,
interleaved across the paths); the median and the range of the ratios are printed, with
the median times and the peak RSS (ru_maxrss of the child; the largest of its runs).
The host is shared and noisy: pairs and ranges, not single times.

Paths: our reader with the stdlib decoder (KSCAND_PERF_READER=stdlib) and with the
columnar one (=columnar, numpy), both ``kscand-perf report --json``; the perf script
(``perf script -s perf-scripts/kscand_report.py``). Traces:

1. 1M simulated events (99% kmem_scan_mm_start, the hot event of a real kscand trace),
   file and pipe stream (``cat |``); our readers in both, the perf script on the file
   (goals, issue 22: columnar <= 0.25x, stdlib <= 0.5x, perf <= 1.15x);
2. with --big (``make bench BIG=1``; about 10 more minutes), the same at 10M events,
   where peak RSS must stay flat (<= 150 MB);
3. the shared real kscand trace where ../shared/traces has it (40% migrates);
4. process churn (issue 12): 100k and 200k short mm lifetimes (enter, two not-due starts,
   exit; pointers reused; a new pid each), perf script text and --json (goal: <= 1.3x and
   <= +50 MB over E); our two readers beside;
5. start-up: ``kscand-perf report`` on the bundled sample (3,852 events), median wall
   time of PAIRS runs (goal <= 0.15 s).

Run with `make bench` (or python3 bench/run.py [--big] [--pairs N] [--only-churn]).
Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import statistics
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
SAMPLE = os.path.join(ROOT, "samples", "kscand-sample.data")
EMPTY = os.path.join(ROOT, "bench", "empty_handlers.py")
OURS = [sys.executable, os.path.join(ROOT, "bin", "kscand-perf"), "report"]
READER_ENV = "KSCAND_PERF_READER"
# about 2,090 events per simulated mm and minute, mostly kmem_scan_mm_start
EVENTS_PER_MM_MINUTE = 2090

Cmd = Tuple[List[str], Dict[str, str]]    # argv, extra environment
PYCACHE = os.path.join(tempfile.gettempdir(), "kscand-bench-pycache")


def run(cmd: Cmd, stdin_file: Optional[str] = None) -> Tuple[float, int, float]:
    """Wall time, peak RSS (KiB) and CPU time of one command, output discarded; with
    ``stdin_file``, the command reads it through a pipe (``cat FILE |``)."""
    argv, extra = cmd
    env = dict(os.environ, **extra)
    # compiled modules kept (outside the checkout), as an installed package has them: a
    # PYTHONDONTWRITEBYTECODE environment would otherwise compile every module every run
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = PYCACHE
    cat = None
    stdin: Optional[int] = None
    if stdin_file is not None:
        cat = subprocess.Popen(["cat", stdin_file], stdout=subprocess.PIPE)
        stdin = cat.stdout.fileno()  # type: ignore[union-attr]
    try:
        start = time.perf_counter()
        with open(os.devnull, "wb") as null:
            proc = subprocess.Popen(argv, stdin=stdin, stdout=null, stderr=null, env=env)
            _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    finally:
        if cat is not None:
            cat.stdout.close()  # type: ignore[union-attr]
            cat.wait()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("bench: %s failed (status %d)" % (" ".join(argv), status))
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


@dataclasses.dataclass
class Pairs:
    """One path's pairs against E: its times, E's times, the ratios, peak RSS."""

    name: str
    times: List[float] = dataclasses.field(default_factory=list)
    floors: List[float] = dataclasses.field(default_factory=list)
    rss: int = 0
    floor_rss: int = 0
    cpu: List[float] = dataclasses.field(default_factory=list)     # CPU-time ratios

    def add(self, floor: Tuple[float, int, float], mine: Tuple[float, int, float]) -> None:
        self.floors.append(floor[0])
        self.times.append(mine[0])
        self.floor_rss = max(self.floor_rss, floor[1])
        self.rss = max(self.rss, mine[1])
        self.cpu.append(mine[2] / max(floor[2], 1e-6))

    @property
    def ratios(self) -> List[float]:
        return [t / f for t, f in zip(self.times, self.floors)]

    def line(self, goal: str = "") -> str:
        r = self.ratios
        return ("  %-26s %.2fx E (%.2f-%.2f), %6.2f s against E %6.2f s; CPU time %.2fx "
                "(%.2f-%.2f); peak RSS %6.1f MB (E %.1f MB)%s" % (
                    self.name, statistics.median(r), min(r), max(r),
                    statistics.median(self.times), statistics.median(self.floors),
                    statistics.median(self.cpu), min(self.cpu), max(self.cpu), self.rss / 1024,
                    self.floor_rss / 1024, "  " + goal if goal else ""))


def pairs(trace: str, pipe: bool, paths: Sequence[Tuple[str, Cmd]], n: int,
          perf: str) -> List[Pairs]:
    """``n`` rounds; in each, every path runs right after its own E run on ``trace``."""
    src = "-" if pipe else trace
    floor: Cmd = ([perf, "script", "-s", EMPTY, "-i", src], {})
    out = [Pairs(name) for name, _ in paths]
    stdin = trace if pipe else None
    for _ in range(n):
        for acc, (_, cmd) in zip(out, paths):
            acc.add(run(floor, stdin), run(cmd, stdin))
    return out


def reader(kind: str, src: str, *extra: str) -> Cmd:
    return OURS + ["-i", src, "--json"] + list(extra), {READER_ENV: kind}


def perf_script(perf: str, src: str, *extra: str) -> Cmd:
    argv = [perf, "script", "-s", REPORT, "-i", src]
    return (argv + ["--"] + list(extra) if extra else argv), {}


def config_for(events: int, seed: int) -> SynthConfig:
    """410 long-lived mms (no process churn), for as long as ``events`` takes: the 1M and
    10M runs then differ only in the number of events, which is what memory must not
    follow (state is per mm)."""
    mms = 410
    minutes = max(events / (mms * EVENTS_PER_MM_MINUTE), 0.05)
    return SynthConfig(mms=mms, seconds=60.0 * minutes, seed=seed, fork_rate=0.0)


def write(path: str, events: int, seed: int, pipe: bool) -> int:
    t0 = time.perf_counter()
    # the simulator's event rate falls as scan periods grow: simulate the longest time
    # it allows (generation is lazy) and keep exactly ``events``
    config = dataclasses.replace(config_for(events, seed), seconds=864000.0)
    stream = itertools.islice(simulate(config), events)
    stats = write_trace(path, stream, pipe=pipe)
    print("trace %s: %d events, %.1f MB, written in %.1f s" % (
        os.path.basename(path), stats.samples, stats.bytes / 1e6, time.perf_counter() - t0),
        flush=True)
    return stats.samples


def simulated(tmp: str, label: str, events: int, n: int, perf: str,
              perf_script_too: bool = True) -> None:
    for pipe in (False, True):
        mode = "pipe" if pipe else "file"
        trace = os.path.join(tmp, "bench-%s-%s.data" % (label, mode))
        write(trace, events, 11, pipe)
        src = "-" if pipe else trace
        paths = [("columnar reader", reader("columnar", src)),
                 ("stdlib reader", reader("stdlib", src))]
        if not pipe and perf_script_too:
            paths.append(("perf script kscand_report", perf_script(perf, src)))
        print("%s events, %s mode, %d pairs:" % (label, mode, n))
        goals = {"columnar reader": "(goal <= 0.25x)", "stdlib reader": "(goal <= 0.5x)",
                 "perf script kscand_report": "(goal <= 1.15x)"}
        for acc in pairs(trace, pipe, paths, n, perf):
            print(acc.line(goals.get(acc.name, "")), flush=True)
        os.unlink(trace)


def churn_bench(tmp: str, lifetimes: int, n: int, perf: str) -> None:
    trace = os.path.join(tmp, "churn.data")
    stats = write_trace(trace, churn(lifetimes))
    print("churn, %dk lifetimes (%d events, %.0f MB), %d pairs:" % (
        lifetimes // 1000, stats.samples, stats.bytes / 1e6, n))
    paths = [("perf script, text", perf_script(perf, trace)),
             ("perf script, --json", perf_script(perf, trace, "--json")),
             ("stdlib reader, --json", reader("stdlib", trace)),
             ("columnar reader, --json", reader("columnar", trace))]
    for acc in pairs(trace, False, paths, n, perf):
        extra = "" if acc.name.endswith("reader, --json") else \
            "(goal <= 1.3x, <= +50 MB: %+.1f MB)" % ((acc.rss - acc.floor_rss) / 1024)
        print(acc.line(extra), flush=True)
    os.unlink(trace)


def startup(n: int) -> None:
    """Median wall time of the report on the bundled sample (the fixed cost), after a
    first run that compiles the modules."""
    run((OURS + ["-i", SAMPLE], {}))
    for args in ([], ["--json"]):
        times = [run((OURS + ["-i", SAMPLE] + args, {}))[0] for _ in range(n)]
        print("  kscand-perf report %-7s on the sample: median %.3f s (%.3f-%.3f), %d runs "
              "(goal <= 0.15 s)" % (" ".join(args), statistics.median(times), min(times),
                                    max(times), n))


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1000000, help="events of the small runs")
    p.add_argument("--big", action="store_true", help="also the 10M-event runs")
    p.add_argument("--big-events", type=int, default=10000000)
    p.add_argument("--pairs", type=int, default=5, help="pairs per figure (default 5)")
    p.add_argument("--perf", default=os.environ.get("PERF", "perf"))
    p.add_argument("--churn", type=int, nargs="*", default=[100000, 200000], metavar="N",
                   help="lifetimes of the churn traces (default 100000 200000)")
    p.add_argument("--only-churn", action="store_true", help="run the churn benchmark only")
    p.add_argument("--only-big", action="store_true", help="run the 10M-event runs only")
    args = p.parse_args(argv)
    n = max(args.pairs, 1)
    print("bench: %s, %d CPUs, load average %.1f at the start" % (
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.cpu_count() or 0,
        os.getloadavg()[0]), flush=True)
    with tempfile.TemporaryDirectory(prefix="kscand-bench-") as tmp:
        if args.only_big:
            simulated(tmp, "10M", args.big_events, n, args.perf, perf_script_too=False)
            return 0
        if not args.only_churn:
            print("start-up:")
            startup(max(n, 7))
            simulated(tmp, "1M", args.events, n, args.perf)
            if args.big:   # (the perf script: at 1M only, it takes 20 s a run at 10M)
                simulated(tmp, "10M", args.big_events, n, args.perf, perf_script_too=False)
            if os.path.exists(REAL_TRACE):  # the project's machines only
                print("real kscand trace (166k events, 40%% migrates), %d pairs:" % n)
                paths = [("columnar reader", reader("columnar", REAL_TRACE)),
                         ("stdlib reader", reader("stdlib", REAL_TRACE)),
                         ("perf script kscand_report", perf_script(args.perf, REAL_TRACE))]
                for acc in pairs(REAL_TRACE, False, paths, n, args.perf):
                    print(acc.line(), flush=True)
        for lifetimes in args.churn:
            churn_bench(tmp, lifetimes, n, args.perf)
    print("bench: load average %.1f at the end" % os.getloadavg()[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
