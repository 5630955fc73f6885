"""One report run, for a front end: options parsed once, the analyzer, the output.

Front ends (the perf script, ``kscand-perf report``, tests) create a
:class:`Session`, feed ``session.analyzer`` and call :meth:`Session.finish`.
This is the I/O edge of the report: it reads the --vmstat files and writes the
CSV files; everything it calls is pure.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import os
from typing import IO, Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from . import __version__, interpreter, render, strict, timeline, vmstat
from .analysis import Analyzer, make_analyzer
from .errors import CommandError, UsageError
from .options import Options, parse
from .render import machine
from .render.text import intervals_text, interval_footer, interval_header, interval_line
from .report import Report, RunMeta, build, mm_key

SCANS_PART = ".scans.csv.part"  # scans.csv's rows while the trace is read (no owners yet)


class Session:
    def __init__(self, options: Options, live: Optional[IO[str]] = None) -> None:
        """Raises UsageError when a --vmstat file cannot be read (before the trace is), or
        --plot has no matplotlib. ``live``: where the text report's interval rows go as
        each interval closes (the front end's stdout); without it they come with the rest
        of the report, the same text."""
        self.options = options
        if options.plot_dir is not None and not interpreter.has("matplotlib"):
            raise UsageError(interpreter.missing("--plot", "matplotlib"))
        self.live = live if options.interval is not None and not options.json \
            and options.csv_dir is None else None
        self._live_origin: Optional[int] = None
        self._live_rows = 0
        self._deferred_error: Optional[BaseException] = None  # raised by output()
        self._scans_part: Optional[IO[str]] = None
        self._scans_writer = None  # type: Optional[object]
        self.analyzer: Analyzer
        if options.interval_ns is not None or options.csv_dir is not None:
            self.analyzer = timeline.make_analyzer(
                options.analyzer_config(),
                options.interval_ns or timeline.DEFAULT_INTERVAL_NS,
                on_row=self._live_row if self.live is not None else None,
                on_scan=self._scan_row if options.csv_dir is not None else None)
        else:
            self.analyzer = make_analyzer(options.analyzer_config())
        self.unhandled: Dict[str, int] = {}
        self.lost_events: Optional[int] = None  # perf's LOST records, where a front end sees them
        # what the front end noticed: perf's own filters, events perf lost, damage
        self.notes: List[str] = []
        self.snapshots = read_snapshots(*options.vmstat) if options.vmstat else None
        # the recording as the user named it (perf's -i; "-" for a pipe), for the
        # report's "run" member; every front end sets it the same way
        self.input: Optional[str] = None

    @classmethod
    def from_argv(cls, argv: Sequence[str], prog: str = "kscand_report.py",
                  live: Optional[IO[str]] = None) -> "Session":
        """Raises UsageError on bad options or --vmstat files (one line, for the front
        end to print)."""
        return cls(parse(argv, prog), live)

    # -- sinks the core calls while the trace is read (they never raise into it) ---------

    def _live_row(self, row: timeline.IntervalRow) -> None:
        """An interval closed: print its row now (text, --interval, a live front end)."""
        if self._deferred_error is not None or self.live is None:
            return
        opts = self.options
        try:
            if self._live_origin is None:
                self._live_origin = row.start_ns
                self.live.write(interval_header(opts.interval_ns or 0, row.start_ns,
                                                opts.unit_ns))
            self.live.write(interval_line(row, self._live_origin, opts.interval_ns or 0,
                                          opts.unit_ns))
            self.live.flush()
            self._live_rows += 1
        except Exception as e:  # a closed pipe: reported when the report is written
            self._deferred_error = e

    def _scan_row(self, row: timeline.ScanRow) -> None:
        """A scan ended: its scans.csv row goes to a file now (owners are added at the
        end), so no list of scans grows in memory."""
        if self._deferred_error is not None:
            return
        try:
            if self._scans_part is None:
                folder = self.options.csv_dir or "."
                os.makedirs(folder, exist_ok=True)
                self._scans_part = open(os.path.join(folder, SCANS_PART), "w",
                                        encoding="utf-8", newline="")
                self._scans_writer = csv.writer(self._scans_part, lineterminator="\n")
            self._scans_writer.writerow(machine.scan_csv_cells(row))  # type: ignore
        except OSError as e:
            self._deferred_error = CommandError("--csv: cannot write to %s: %s" % (
                self.options.csv_dir, e.strerror or e))
        except Exception as e:
            self._deferred_error = e

    def _scans_csv(self) -> Iterator[str]:
        """scans.csv: the rows written while reading, with their owners, as the selection
        keeps them."""
        part = self._scans_part
        path = os.path.join(self.options.csv_dir or ".", SCANS_PART)
        rows: Iterable[List[str]] = ()
        owners = {}
        selection = self.options.selection()
        for st in self.analyzer.finish():
            if st.ends is not None:
                owners[(mm_key(st.mm), str(st.generation))] = (
                    st if selection.keeps(st) else None)
        f = None
        if part is not None:
            part.close()
            f = open(path, encoding="utf-8", newline="")
            rows = csv.reader(f)
        try:
            def owned() -> Iterator[List[object]]:
                for cells in rows:
                    st = owners.get((cells[0], cells[1]))
                    if st is not None:
                        yield machine.scan_csv_owned(cells, st.pid, st.comm)
            yield from machine.csv_lines(machine.SCAN_CSV_HEADERS, owned())
        finally:
            if f is not None:
                f.close()
                os.unlink(path)

    def count_unhandled(self, event_name: str) -> None:
        self.unhandled[event_name] = self.unhandled.get(event_name, 0) + 1

    def note(self, text: str) -> None:
        """A remark of the front end for the report's notes (e.g. events perf lost)."""
        self.notes.append(text)

    def report(self) -> Report:
        report = build(self.analyzer, self.options.selection(), self.unhandled,
                       self.snapshots, self.lost_events, self.notes)
        if self.options.interval_ns is None:
            report.over_time = None  # (a timeline analyzer for --csv's scans.csv only)
        report.run = run_meta(self.input)
        self.built = report
        return report

    def strict_failures(self) -> List[str]:
        """With --strict, after the output: what the report found that a test pipeline
        should stop on (exit 2); empty without --strict or when nothing was found."""
        built = getattr(self, "built", None)
        if not self.options.strict or built is None:
            return []
        return strict.problems(built, self.lost_events)

    def render(self, report: Report) -> Iterator[str]:
        """What goes to standard output, in pieces to write as they come (the JSON of a
        trace with many processes is long); writes the CSV files when asked to."""
        opts = self.options
        if self._deferred_error is not None:
            raise _as_command_error(self._deferred_error)
        if opts.json:
            yield from render.json_chunks(report)
        elif opts.csv_dir is not None:
            tables = dict(render.csv_files(report, opts.unit_ns))
            tables["scans.csv"] = self._scans_csv()
            files = write_csv(opts.csv_dir, tables)
            yield "wrote %d CSV files to %s: %s\n" % (
                len(files), opts.csv_dir, " ".join(os.path.basename(f) for f in files))
        else:
            over = report.over_time
            if over is not None and opts.interval is not None:
                if self.live is not None:  # the rows went out as their intervals closed
                    if self._live_origin is None:
                        yield interval_header(over.interval_ns, None, opts.unit_ns)
                    yield interval_footer(len(over.rows)) + "\n"
                else:
                    yield intervals_text(over, opts.unit_ns) + "\n"
            yield render.text(report, opts.unit_ns, opts.top, opts.per_mm_histograms)
        if opts.plot_dir is not None and report.over_time is not None:
            files = write_plots(opts.plot_dir, report, opts.unit_ns)
            if not opts.json:
                yield "wrote %d plot files to %s: %s\n" % (
                    len(files), opts.plot_dir, " ".join(os.path.basename(f) for f in files))

    def output(self) -> Iterator[str]:
        """The report in pieces (raises CommandError when a CSV file cannot be written)."""
        return self.render(self.report())

    def finish(self) -> str:
        return "".join(self.output())


def _as_command_error(e: BaseException) -> BaseException:
    """A sink's deferred error as the front ends report it: OSError (a closed pipe, a full
    disk) as it is, anything else as CommandError."""
    if isinstance(e, OSError):
        return e
    return CommandError("while reading the trace: %s: %s" % (type(e).__name__, e))


def write_plots(folder: str, report: Report, unit_ns: int) -> List[str]:
    """The --plot files (PNG and SVG of each figure); raises CommandError when they cannot
    be written."""
    from .render import plot  # matplotlib: imported only for --plot
    try:
        os.makedirs(folder, exist_ok=True)
        return plot.save_all(plot.figures(report, unit_ns), folder)
    except OSError as e:
        raise CommandError("--plot: cannot write to %s: %s" % (folder, e.strerror or e)) from None


def run_meta(path: Optional[str]) -> RunMeta:
    """The report's run metadata: the tool's version, ``path`` as given, and the header
    of the recording there, read with our own parser in every front end (perf script's
    Python has no access to it), so that all of them write the same JSON. A pipe
    (``-``) has no header to read again: null, as for a file that is no perf.data."""
    header: Optional[Dict[str, Any]] = None
    if path is not None and path != "-":
        from .perfreader import read_run_info  # only here: it costs start-up time
        info = read_run_info(path)
        if info is not None:
            header = dataclasses.asdict(info)
            try:
                mtime = os.stat(path).st_mtime
                header["captured_on"] = datetime.datetime.fromtimestamp(
                    int(mtime), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            except (OSError, ValueError, OverflowError):
                header["captured_on"] = None
    knobs = read_knobs(path + KNOBS_SUFFIX) if path is not None and path != "-" else None
    return RunMeta(version=__version__, input=path, header=header, knobs=knobs)


KNOBS_SUFFIX = ".kscand.txt"  # written by kscand-record beside the recording


def read_knobs(path: str) -> Optional[Dict[str, str]]:
    """kscand's knobs and the kernel release that kscand-record saved (``name value`` lines,
    ``#`` comments), or None where there is no such file. A line of another shape is left
    out: the file is a record, not an input the report depends on."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(1 << 16)
    except OSError:
        return None
    knobs: Dict[str, str] = {}
    for line in text.splitlines():
        name, _, value = line.strip().partition(" ")
        if name and not name.startswith("#") and value:
            knobs[name] = value.strip()
    return knobs


def read_snapshot(path: str) -> vmstat.Snapshot:
    """One /proc/vmstat snapshot file. Raises UsageError (``--vmstat: ...``)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise UsageError("--vmstat: cannot read %s: %s" % (path, e.strerror or e)) from None
    try:
        return vmstat.snapshot(data.decode("utf-8"), path)
    except UnicodeDecodeError:
        raise UsageError("--vmstat: %s: binary data, not a /proc/vmstat snapshot"
                         % path) from None
    except vmstat.VmstatError as e:
        raise UsageError("--vmstat: %s" % e) from None


def read_snapshots(before: str, after: str) -> Tuple[vmstat.Snapshot, vmstat.Snapshot]:
    return read_snapshot(before), read_snapshot(after)


def write_csv(folder: str, tables: Dict[str, Iterable[str]]) -> List[str]:
    """Write each table (its text, or its pieces) to FOLDER/NAME; raises CommandError
    when that fails."""
    try:
        os.makedirs(folder, exist_ok=True)
        paths = []
        for name, body in sorted(tables.items()):
            path = os.path.join(folder, name)
            with open(path, "w", encoding="utf-8") as f:
                for piece in ([body] if isinstance(body, str) else body):
                    f.write(piece)
            paths.append(path)
        return paths
    except OSError as e:
        raise CommandError("--csv: cannot write to %s: %s" % (folder, e.strerror or e)) from None


__all__: Tuple[str, ...] = (
    "Session", "read_snapshot", "read_snapshots", "run_meta",
    "write_csv")
