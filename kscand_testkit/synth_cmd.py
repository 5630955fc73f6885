"""``kscand-perf synth``: write a simulated kscand trace and its ground truth.

Test machinery, not part of an installed kscand-perf: the command is offered
where this package is importable (a checkout). Raises UsageError for bad
arguments and CommandError for failures, like every command.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from typing import IO, Any, BinaryIO, Dict, Iterator, Optional, cast

from kscand_perf.argparsing import int_arg, positive_float_arg, positive_int_arg
from kscand_perf.errors import CommandError, UsageError, quiet_stdout

from .formats import ALL_EVENTS, KSCAND_EVENTS, POSTED_V3_PRINT_FMTS, SCHED_SWITCH
from .mechanisms import MechConfig, with_migrate_events
from .perfdata import PerfDataWriter, SchemaError
from .stream import Emitted
from .synth import SynthConfig, simulate

SYNTH_EPILOG = """\
examples:
  kscand-perf synth -o trace.data                  # 60 s, 16 mms, seed 1
  kscand-perf synth -o trace.data --truth truth.json
  kscand-perf synth -o - | perf script -i -        # pipe mode on stdout
  kscand-perf synth -o big.data --mms 4096 --seconds 120   # a benchmark trace
  kscand-perf synth -o mech.data --truth mech.json --mechanisms 6.12   # + migrate events
"""

PROGRESS_EVERY = 1000000    # a progress line every this many events (stderr not a tty)
_CHUNK = 65536              # events written between progress checks


DESCRIPTION = ("Simulate kscand, kmigrated and a process workload and write the trace "
               "as a perf.data file (or a pipe stream) that perf script reads.")
EPILOG = SYNTH_EPILOG


def set_argparser(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, metavar="PATH",
                   help="the perf.data file to write; - writes a pipe stream to stdout")
    p.add_argument("--pipe", action="store_true",
                   help="write perf's pipe format (what perf record -o - writes)")
    p.add_argument("--mms", type=positive_int_arg, default=16, metavar="N",
                   help="mms registered when the trace begins (default 16)")
    p.add_argument("--seconds", type=positive_float_arg, default=60.0, metavar="S",
                   help="simulated seconds (default 60)")
    p.add_argument("--seed", type=int_arg, default=1, metavar="K",
                   help="random seed: the same seed gives the same trace (default 1)")
    p.add_argument("--truth", metavar="PATH",
                   help="also write the ground truth as JSON to PATH")
    p.add_argument("--switches", action="store_true",
                   help="also sched_switch of kscand and kmigrated (their CPU time; the "
                        "truth's cpu member)")
    p.add_argument("--no-sched", dest="sched", action="store_false",
                   help="leave out sched_process_fork/exec/exit (a recording of the "
                        "kmem events only)")
    p.add_argument("--mechanisms", choices=("6.12", "6.1"), metavar="KERNEL",
                   help="also write the kernel's migrate:mm_migrate_pages(_start) events with "
                        "that kernel's layout (6.12 or 6.1): kmigrated's call for each kscand "
                        "promotion with rc 0 or -11, NUMA balancing's promotions, demotions "
                        "and compaction; the truth gains \"mechanisms\"")
    p.add_argument("--posted-printk", action="store_true",
                   help="use the TP_printk formats of the posted RFC V3 patch in the "
                        "format text")


class _Progress:
    """Progress on stderr: a \\r percentage on a terminal, else a line per million events."""

    def __init__(self, stream: IO[str], sim: Any) -> None:
        self.stream = stream
        self.sim = sim
        try:
            self.tty = stream.isatty()
        except (AttributeError, ValueError):
            self.tty = False
        self.next_line = PROGRESS_EVERY
        self.shown = False

    def update(self, events: int, last_time_ns: int) -> None:
        if events < PROGRESS_EVERY and not self.shown:
            return   # small outputs say nothing until the end
        fraction = self.sim.progress(last_time_ns)
        if self.tty:
            self.stream.write("\rsynth: %3d%% (%d events)" % (int(fraction * 100), events))
            self.stream.flush()
            self.shown = True
        elif events >= self.next_line:
            self.stream.write("synth: %d events, %d%% of the simulated time\n"
                              % (events, int(fraction * 100)))
            self.stream.flush()
            self.next_line = (events // PROGRESS_EVERY + 1) * PROGRESS_EVERY

    def done(self) -> None:
        if self.tty and self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return ("%d %s" % (n, unit)) if unit == "bytes" else ("%.1f %s" % (n, unit))
        n /= 1024.0  # type: ignore[assignment]
    return str(n)


def _check_writable(path: str, what: str) -> None:
    """Raise UsageError unless ``path`` can be created or overwritten (before any work)."""
    if os.path.isdir(path):
        raise UsageError("cannot write %s %s: it is a directory" % (what, path))
    if os.path.exists(path):
        ok = os.access(path, os.W_OK)
    else:
        folder = os.path.dirname(path) or "."
        if not os.path.isdir(folder):
            raise UsageError("cannot write %s %s: no such directory %s" % (what, path, folder))
        ok = os.access(folder, os.W_OK | os.X_OK)
    if not ok:
        raise UsageError("cannot write %s %s: permission denied" % (what, path))


def _open_output(path: str, what: str) -> IO[bytes]:
    try:
        return open(path, "wb")
    except OSError as e:
        raise UsageError("cannot write %s %s: %s" % (what, path, e.strerror or e)) from None


def main(args: argparse.Namespace) -> int:
    config = SynthConfig(mms=args.mms, seconds=args.seconds, seed=args.seed, sched=args.sched,
                         switches=args.switches)
    try:
        config.validate()
    except ValueError as e:
        raise UsageError(str(e)) from None
    to_stdout = args.output == "-"
    pipe = args.pipe or to_stdout
    if to_stdout and sys.stdout.isatty():
        raise UsageError("refusing to write a binary trace to a terminal; "
                         "use -o FILE or a pipe")
    if args.truth is not None and args.truth == args.output:
        raise UsageError("--truth and -o name the same file")

    if not to_stdout:
        _check_writable(args.output, "the trace to")
    if args.truth is not None:
        _check_writable(args.truth, "the truth to")

    truth_file = None
    out: Optional[IO[bytes]] = None
    started = time.monotonic()
    try:
        out = sys.stdout.buffer if to_stdout else _open_output(args.output, "the trace to")
        if args.truth is not None:
            truth_file = _open_output(args.truth, "the truth to")
        events = ALL_EVENTS if args.sched else KSCAND_EVENTS
        if args.switches:
            events = events + (SCHED_SWITCH,)
        fmts = POSTED_V3_PRINT_FMTS if args.posted_printk else None
        sim = simulate(config)
        progress = _Progress(sys.stderr, sim)
        stream: Iterator[Emitted] = iter(sim)
        mech_truth: Optional[Dict[str, Any]] = None
        if args.mechanisms is not None:  # (the whole stream is held: test scenarios)
            mech = MechConfig(seed=config.seed, kernel=args.mechanisms)
            merged, mech_truth = with_migrate_events(stream, mech)
            stream = iter(merged)
            events = tuple(events) + mech.events
        try:
            writer = PerfDataWriter(cast(BinaryIO, out), events, pipe=pipe, print_fmts=fmts,
                                    nr_cpus=config.cpus)
            while True:
                before = writer.events_written
                writer.extend(itertools.islice(stream, _CHUNK))
                if writer.events_written == before:
                    break
                progress.update(writer.events_written, sim.now_ns)
            writer.close()
        except SchemaError as e:
            # The simulator made an event the schema does not accept: a bug.
            raise CommandError("internal error: simulated event rejected: %s" % e) from None
        except BrokenPipeError:
            quiet_stdout()
            raise CommandError("the output was closed before the trace was written") from None
        except OSError as e:
            raise CommandError("writing %s: %s" % ("stdout" if to_stdout else args.output,
                                                   e.strerror or e)) from None
        finally:
            progress.done()
        if truth_file is not None:
            try:
                truth = sim.truth()
                if mech_truth is not None:
                    for name in ("migrate:mm_migrate_pages", "migrate:mm_migrate_pages_start"):
                        truth["other_events"][name] = mech_truth["starts"]
                    truth["other_events"] = dict(sorted(truth["other_events"].items()))
                    truth["mechanisms"] = mech_truth
                text = json.dumps(truth, indent=1) + "\n"
                truth_file.write(text.encode("utf-8"))
                truth_file.flush()
            except OSError as e:
                raise CommandError("writing %s: %s" % (args.truth, e.strerror or e)) from None
    finally:
        for f in (truth_file, None if to_stdout else out):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass
    elapsed = time.monotonic() - started
    where = "stdout" if to_stdout else args.output
    sys.stderr.write("synth: %d events, %s to %s%s in %.2f s (%g s simulated, seed %d)\n"
                     % (writer.events_written, _size(writer.bytes_written), where,
                        " (pipe)" if pipe and not to_stdout else "", elapsed, config.seconds,
                        config.seed))
    return 0
