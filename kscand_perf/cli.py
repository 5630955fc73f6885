"""The ``python3 -m kscand_perf`` command line.

One parser with a subcommand per front end. Every error becomes one line on
stderr and a non-zero exit status, never a traceback:

- 2: bad arguments or an output that cannot be opened;
- 1: a failure while running (a write error, the output closed early);
- 130: interrupted.

Adding a subcommand: write ``_add_NAME(subparsers)`` that registers its parser
with ``set_defaults(run=FUNCTION)`` and call it from :func:`build_parser`;
``FUNCTION(args) -> int`` raises :class:`UsageError` for bad arguments and
:class:`CommandError` for failures.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
import time
from typing import IO, Any, List, Optional, Sequence

PROG = "kscand-perf"

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad arguments: one line, exit status 2."""


class CommandError(Exception):
    """The command could not do its work: one line, exit status 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> "NoReturn":  # type: ignore[name-defined] # noqa: F821
        raise UsageError("%s: %s" % (self.prog, message))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not an integer: %r" % text) from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1, not %d" % value)
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number: %r" % text) from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number, not %s" % text)
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not an integer: %r" % text) from None


# ---------------------------------------------------------------------- synth

SYNTH_EPILOG = """\
examples:
  python3 -m kscand_perf synth -o trace.data                  # 60 s, 16 mms, seed 1
  python3 -m kscand_perf synth -o trace.data --truth truth.json
  python3 -m kscand_perf synth -o - | perf script -i -        # pipe mode on stdout
  python3 -m kscand_perf synth -o big.data --mms 4096 --seconds 120   # a benchmark trace
"""

PROGRESS_EVERY = 1000000    # a progress line every this many events (stderr not a tty)
_CHUNK = 65536              # events written between progress checks


def _add_synth(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "synth", help="write a simulated kscand trace (perf.data) and its ground truth",
        description="Simulate kscand, kmigrated and a process workload and write the trace "
                    "as a perf.data file (or a pipe stream) that perf script reads.",
        epilog=SYNTH_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", required=True, metavar="PATH",
                   help="the perf.data file to write; - writes a pipe stream to stdout")
    p.add_argument("--pipe", action="store_true",
                   help="write perf's pipe format (what perf record -o - writes)")
    p.add_argument("--mms", type=_positive_int, default=16, metavar="N",
                   help="mms registered when the trace begins (default 16)")
    p.add_argument("--seconds", type=_positive_float, default=60.0, metavar="S",
                   help="simulated seconds (default 60)")
    p.add_argument("--seed", type=_int, default=1, metavar="K",
                   help="random seed: the same seed gives the same trace (default 1)")
    p.add_argument("--truth", metavar="PATH",
                   help="also write the ground truth as JSON to PATH")
    p.add_argument("--no-sched", dest="sched", action="store_false",
                   help="leave out sched_process_fork/exec/exit (a recording of the "
                        "kmem events only)")
    p.add_argument("--posted-printk", action="store_true",
                   help="use the TP_printk formats of the posted RFC V3 patch in the "
                        "format text")
    p.set_defaults(run=run_synth)


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


def run_synth(args: argparse.Namespace) -> int:
    from .events import ALL_EVENTS, KSCAND_EVENTS, POSTED_V3_PRINT_FMTS
    from .perfdata import PerfDataWriter, SchemaError
    from .synth import SynthConfig, simulate

    config = SynthConfig(mms=args.mms, seconds=args.seconds, seed=args.seed, sched=args.sched)
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
        fmts = POSTED_V3_PRINT_FMTS if args.posted_printk else None
        sim = simulate(config)
        progress = _Progress(sys.stderr, sim)
        try:
            writer = PerfDataWriter(out, events, pipe=pipe, print_fmts=fmts)
            stream = iter(sim)
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
            _silence_stdout()
            raise CommandError("the output was closed before the trace was written") from None
        except OSError as e:
            raise CommandError("writing %s: %s" % ("stdout" if to_stdout else args.output,
                                                   e.strerror or e)) from None
        finally:
            progress.done()
        if truth_file is not None:
            try:
                text = json.dumps(sim.truth(), indent=1) + "\n"
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


def _silence_stdout() -> None:
    """After EPIPE on stdout, point it at /dev/null so the exit flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


# ---------------------------------------------------------------------- record

def _add_record(subparsers: Any) -> None:
    from . import record
    p = subparsers.add_parser(
        "record", help="record the kscand events with perf, and the kernel's counters "
                       "around them (as bin/kscand-record)",
        description=record.parser().description, epilog=record.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    record.add_arguments(p)
    p.set_defaults(run=run_record)


def run_record(args: argparse.Namespace) -> int:
    from . import record
    try:
        return record.run(args)
    except record.RecordUsageError as e:
        raise UsageError(str(e)) from None
    except record.RecordError as e:
        raise CommandError(str(e)) from None


# ---------------------------------------------------------------------- main

def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Analyse and simulate traces of the kscand "
                                            "tracepoints (kmem_mm_*, kmem_scan_mm_*).")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND",
                                       parser_class=_Parser)
    subparsers.required = True
    _add_synth(subparsers)
    _add_record(subparsers)
    return parser


# The subcommands build_parser() registers (used to name the command in errors).
COMMANDS = ("synth", "record")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command in ``argv`` (default sys.argv[1:]); return the exit status."""
    args_list: List[str] = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
        return int(args.run(args))
    except UsageError as e:
        _error(e, args_list)
        return EXIT_USAGE
    except CommandError as e:
        _error(e, args_list)
        return EXIT_FAILURE
    except SystemExit as e:           # --help, --version
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        sys.stderr.write("%s: interrupted\n" % PROG)
        return EXIT_INTERRUPTED


def _error(e: Exception, argv: Sequence[str]) -> None:
    """Print ``e`` as ``PROG[ COMMAND]: error: MESSAGE`` on one line."""
    line = " ".join(str(e).split()) or e.__class__.__name__
    command = next((a for a in argv if not a.startswith("-")), "")
    prefix = "%s %s" % (PROG, command) if command in COMMANDS else PROG
    for known in (prefix, PROG):
        if line.startswith(known + ": "):
            prefix, line = known, line[len(known) + 2:]
            break
    try:
        sys.stderr.write("%s: error: %s\n" % (prefix, line))
    except (OSError, ValueError):
        pass
