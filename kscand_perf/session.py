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
import math
import os
import re
import stat
from typing import IO, Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from . import __version__, forks, interpreter, mechanisms, render, strict, timeline, vmstat
from .analysis import Analyzer
from .filtered import make_analyzer
from .errors import CommandError, UsageError
from .options import Options, parse
from .promotion_time import promotion_time
from .render import machine
from .render.text import intervals_text, interval_footer, interval_header, interval_line
from .report import Report, RunMeta, Selection, build, mm_key


def event_name(name: str) -> str:
    """An event's name as the report prints it, ``system:event``, also when it comes as
    perf's handler name (``sched__sched_switch``)."""
    system, sep, event = name.partition("__")
    return "%s:%s" % (system, event) if sep and system and ":" not in name else name


def add_mechanisms(report: Report, collector: mechanisms.Collector, analyzer: Analyzer,
                   selection: Selection,
                   snapshots: Optional[Tuple[vmstat.Snapshot, vmstat.Snapshot]] = None
                   ) -> None:
    """The report's "Promotions by mechanism" from the migrate events ``collector`` took
    (None without them), and its pages per interval row. The cross-check counts kscand's
    rc-0 events in the whole recording (--pid/--comm/--mm do not apply to it)."""
    rc0 = sum(st.migs.by_rc.get(0, 0) for st in analyzer.finish() if st.migs is not None)
    first, last = report.trace_first_ns, report.trace_last_ns
    window = getattr(analyzer, "window_ns", None)  # --time: the rates are over its part
    if window is not None and first is not None and last is not None:
        first, last = max(first, window[0]), min(last, window[1])
    duration = last - first if first is not None and last is not None and last > first \
        else None
    report.mechanisms = collector.result(rc0, duration, selection.pids, selection.comm)
    if report.mechanisms is not None and report.over_time is not None:
        for row in report.over_time.rows:
            row.mechanisms = collector.interval_pages(row.start_ns, row.end_ns)
    if report.kernel_counters is not None and snapshots is not None:
        report.kernel_counters = stock_counters(report, snapshots, analyzer)


def fork_notes(report: Report, analyzer: Analyzer, collector: mechanisms.Collector
               ) -> List[str]:
    """A note per process kscand promoted that forked faster than NUMA balancing's scan
    delay while NUMA balancing was on and took none of its pages (kscand_perf/forks.py).
    Nothing without the migrate events (then the recording cannot say what NUMA balancing
    promoted)."""
    if report.mechanisms is None:
        return []
    knobs = report.run.knobs if report.run is not None else None
    delay, known = forks.scan_delay_ms(knobs)
    promoted: Dict[int, Tuple[str, int]] = {}
    for st in analyzer.finish():
        ok = st.migs.by_rc.get(0, 0) if st.migs is not None else 0
        if ok and st.pid is not None:
            comm, n = promoted.get(st.pid, (st.comm or "?", 0))
            promoted[st.pid] = (comm, n + ok)
    return forks.fork_notes(analyzer.forks.rates(), forks.numa_balancing_mode(knobs), delay,
                            collector.numa_balancing_pids(), promoted, known)


def stock_counters(report: Report, snapshots: Tuple[vmstat.Snapshot, vmstat.Snapshot],
                   analyzer: Analyzer) -> vmstat.KernelCounters:
    """The kernel counters with the stock NUMA and migration counters held against the
    mechanisms: not under --time (the counters count the whole recording)."""
    kc = report.kernel_counters
    assert kc is not None
    note = None
    figures = None
    if analyzer.config.time_window_ns is not None:
        note = "not compared with the trace: --time left migrate events out"
    elif report.mechanisms is None:
        note = "no trace figures: the recording has no migrate:mm_migrate_pages events"
    else:
        figures = mechanisms.stock_figures(report.mechanisms)
    knobs = report.run.knobs if report.run is not None else None
    mode = (knobs or {}).get("numa_balancing")
    tiering = bool(int(mode) & 2) if mode is not None and mode.strip().isdigit() else None
    stock = vmstat.compare_stock(snapshots[0], snapshots[1], figures, tiering)
    return dataclasses.replace(kc, stock=stock, stock_note=note if stock else None)


def check_folder(option: str, folder: Optional[str]) -> None:
    """Refuse, before the trace is read, a --csv/--plot folder that is a file (UsageError)."""
    if folder is not None and os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError("%s: %s is not a directory" % (option, folder))


class Session:
    def __init__(self, options: Options, live: Optional[IO[str]] = None) -> None:
        """Raises UsageError when a --vmstat file cannot be read (before the trace is), or
        --plot has no matplotlib. ``live``: where the text report's interval rows go as
        each interval closes (the front end's stdout); without it they come with the rest
        of the report, the same text."""
        self.options = options
        check_folder("--csv", options.csv_dir)
        check_folder("--plot", options.plot_dir)
        if options.plot_dir is not None and not interpreter.has("matplotlib"):
            raise UsageError(interpreter.missing("--plot", "matplotlib"))
        self.live = live if options.interval is not None and not options.json \
            and options.csv_dir is None else None
        self._live_origin: Optional[int] = None
        self._live_rows = 0
        self._held: List[timeline.IntervalRow] = []  # live rows before any kscand event
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
        # the kernel's own migrate events (Promotions by mechanism)
        self.mechanisms = mechanisms.Collector(self.analyzer, options.interval_ns)
        self.unhandled: Dict[str, int] = {}
        self._names: Dict[str, str] = {}  # perf's handler name -> system:event
        self.lost_events: Optional[int] = None  # perf's LOST records, where a front end sees them
        # what the front end noticed: perf's own filters, events perf lost, damage
        self.notes: List[str] = []
        self.snapshots = read_snapshots(*options.vmstat) if options.vmstat else None
        # the recording as the user named it (perf's -i; "-" for a pipe), for the
        # report's "run" member; every front end sets it the same way
        self.input: Optional[str] = None
        # why the front end stopped reading the recording (its damage), if it did
        self.damage: Optional[str] = None
        self._hashing: Optional[_Hashing] = None

    def hash_beside(self) -> None:
        """Hash the input in a thread while the front end reads it, where the output
        prints the hash (JSON, CSV) and the input is a file: hashlib lets go of the
        interpreter's lock over large blocks, so on a second CPU the hash costs no wall
        time. Our reader calls it before it reads; a front end that does not (perf's
        embedded Python) has the file hashed when the report is built."""
        if self._hashing is None and self.input not in (None, "-") and hashes(self.options):
            self._hashing = _Hashing(str(self.input))

    @classmethod
    def from_argv(cls, argv: Sequence[str], prog: str = "kscand_report.py",
                  live: Optional[IO[str]] = None) -> "Session":
        """Raises UsageError on bad options or --vmstat files (one line, for the front
        end to print)."""
        return cls(parse(argv, prog), live)

    # -- sinks the core calls while the trace is read (they never raise into it) ---------

    def _live_row(self, row: timeline.IntervalRow) -> None:
        """An interval closed: print its row now (text, --interval, a live front end).
        Rows before the first kscand event wait: a recording without any has nothing to
        report, not a table of empty rows."""
        if self._deferred_error is not None or self.live is None:
            return
        if self._live_origin is None and not (
                row.starts or row.ends or row.attempted or self.analyzer.filtered_events
                or any(self.analyzer.events.values())):
            self._held.append(row)
            return
        try:
            rows, self._held = self._held + [row], []
            self.live.write("".join(self._row_text(r) for r in rows))
            self.live.flush()
        except Exception as e:  # a closed pipe: reported when the report is written
            self._deferred_error = e

    def _row_text(self, row: timeline.IntervalRow) -> str:
        """A live row's text (the table's header before the first)."""
        opts = self.options
        head = ""
        if self._live_origin is None:
            self._live_origin = row.start_ns
            head = interval_header(opts.interval_ns or 0, row.start_ns, opts.unit_ns)
        self._live_rows += 1
        return head + interval_line(row, self._live_origin, opts.interval_ns or 0,
                                    opts.unit_ns)

    def _scan_row(self, row: timeline.ScanRow) -> None:
        """A scan ended: its scans.csv row goes to a file now (owners are added at the
        end), so no list of scans grows in memory."""
        if self._deferred_error is not None:
            return
        try:
            if self._scans_part is None:
                # no name in any folder: nothing is left behind, however the run ends
                import tempfile   # (--csv only: start-up time)
                self._scans_part = tempfile.TemporaryFile(
                    "w+", encoding="utf-8", newline="", prefix="kscand-perf-scans-")
                self._scans_writer = csv.writer(self._scans_part, lineterminator="\n")
            self._scans_writer.writerow(machine.scan_csv_cells(row))  # type: ignore
        except OSError as e:
            self._deferred_error = CommandError("--csv: cannot write the scans to a "
                                                "temporary file: %s" % (e.strerror or e))
        except Exception as e:
            self._deferred_error = e

    def _scans_csv(self, run_id: Optional[str] = None) -> Iterator[str]:
        """scans.csv: the rows written while reading, with their owners, as the selection
        keeps them."""
        part = self._scans_part
        rows: Iterable[List[str]] = ()
        owners = {}
        selection = self.options.selection()
        for st in self.analyzer.finish():
            if st.ends is not None:
                owners[(machine.csv_mm(st.mm), str(st.generation))] = (
                    st if selection.keeps(st) else None)
        if part is not None:
            part.seek(0)
            rows = csv.reader(part)
        try:
            def owned() -> Iterator[List[object]]:
                for cells in rows:
                    st = owners.get((cells[0], cells[1]))
                    if st is not None:
                        yield machine.scan_csv_owned(cells, st.pid, st.comm)
            yield from machine.csv_lines(machine.SCAN_CSV_HEADERS, owned(), run_id)
        finally:
            if part is not None:
                part.close()
                self._scans_part = None

    def _name(self, name: str) -> str:
        key = self._names.get(name)
        if key is None:
            key = self._names[name] = event_name(name)
        return key

    def count_unhandled(self, name: str) -> None:
        key = self._name(name)
        self.unhandled[key] = self.unhandled.get(key, 0) + 1

    def bad(self, name: str, exc: Optional[BaseException] = None,
            t: Optional[int] = None) -> None:
        """An event whose data the analyzer could not use, named ``system:event``; ``t``
        its time where the front end knows it."""
        self.analyzer.bad(self._name(name), exc, t)

    def note(self, text: str) -> None:
        """A remark of the front end for the report's notes (e.g. events perf lost)."""
        self.notes.append(text)

    def report(self) -> Report:
        report = build(self.analyzer, self.options.selection(), self.unhandled,
                       self.snapshots, self.lost_events, self.notes)
        if self.options.interval_ns is None:
            report.over_time = None  # (a timeline analyzer for --csv's scans.csv only)
        report.run = run_meta(self.input, self.options,
                              None if self._hashing is None else self._hashing.result())
        add_mechanisms(report, self.mechanisms, self.analyzer, self.options.selection(),
                       self.snapshots)
        sel = self.options.selection()
        report.promotion_time = promotion_time(self.analyzer.finish(),
                                               self.mechanisms.numa_balancing_times(),
                                               report.trace_first_ns, sel.pids, sel.comm)
        report.notes += fork_notes(report, self.analyzer, self.mechanisms)
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
        nothing = self.nothing_to_report(report)
        if nothing is not None:
            raise CommandError(nothing)
        if opts.json:
            yield from render.json_chunks(report)
        elif opts.csv_dir is not None:
            tables = dict(render.csv_files(report, opts.unit_ns))
            tables["scans.csv"] = self._scans_csv(machine.run_id(report))
            files = write_csv(opts.csv_dir, tables)
            yield "wrote %d CSV files to %s: %s\n" % (
                len(files), opts.csv_dir, " ".join(os.path.basename(f) for f in files))
        else:
            over = report.over_time
            if over is not None and opts.interval is not None:
                if self.live is not None:  # the rows went out as their intervals closed
                    rows, self._held = self._held, []
                    yield "".join(self._row_text(r) for r in rows)
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

    def nothing_to_report(self, report: Report) -> Optional[str]:
        """Why there is no report to print (one line), or None. A recording without a
        single kscand event (or a file that is no recording) has nothing to report: a
        table of zeros would only hide the reason. A filter that dropped every event
        is not this case: its report says what the filter did."""
        if sum(report.events.values()) or report.filtered_events or report.oddities.duplicates:
            return None
        if report.mechanisms is not None:
            return None  # the kernel's migrate events: Promotions by mechanism (NUMA balancing)
        if report.selection is not None and report.selection.events_in:
            return None  # --pid/--comm/--mm chose no lifetime: the report says so
        if any(name.startswith("kmem") for name in report.bad_events):
            return None
        where = self.input if self.input not in (None, "-") else "the recording"
        if self.damage is not None:
            return "%s: %s" % (where, self.damage)
        others = dict(report.other_events)
        for name, n in list(report.unhandled.items()) + list(report.bad_events.items()) + [
                (name + " (not a tracepoint)", n)
                for name, n in report.oddities.non_tracepoint.items()]:
            others[name] = others.get(name, 0) + n
        if others:
            listed = sorted(others.items(), key=lambda kv: (-kv[1], kv[0]))
            what = "no kscand events among its %s events (%s%s)" % (
                "{:,}".format(sum(others.values())),
                ", ".join("%s %s" % (name, "{:,}".format(n)) for name, n in listed[:3]),
                ", ..." if len(listed) > 3 else "")
        else:
            what = "no events at all"
        if self.notes:  # what the front end saw: perf's own filters, lost events
            return "%s: %s: nothing to report; %s" % (where, what, "; ".join(self.notes))
        return ("%s: %s: nothing to report; record the kscand events (-e 'kmem:kmem_scan_mm_*' "
                "-e 'kmem:kmem_mm_*', as kscand-record does) on a kernel with kscand"
                % (where, what))

    def output(self) -> Iterator[str]:
        """The report in pieces (raises CommandError when a CSV file cannot be written)."""
        return self.render(self.report())

    def finish(self) -> str:
        return "".join(self.output())


def _as_command_error(e: BaseException) -> BaseException:
    """A sink's deferred error as the front ends report it: OSError (a closed pipe, a full
    disk) and CommandError as they are, anything else as CommandError."""
    if isinstance(e, (OSError, CommandError)):
        return e
    return CommandError("while reading the trace: %s: %s" % (type(e).__name__, e))


def write_plots(folder: str, report: Report, unit_ns: int) -> List[str]:
    """The --plot files (PNG and SVG of each figure); raises CommandError when they cannot
    be written."""
    from .render import plot  # matplotlib: imported only for --plot
    figs = plot.figures(report, unit_ns)
    with _Output("--plot", folder) as out:
        for name, fig in figs.items():
            out.written += plot.save(fig, os.path.join(folder, name))
        return out.written


def hashes(options: Optional[Options]) -> bool:
    """Whether the output prints the input's hash (JSON and CSV do)."""
    return options is None or options.json or options.csv_dir is not None


class _Hashing:
    """:func:`file_sha256` of a file, in a thread of its own."""

    def __init__(self, path: str) -> None:
        import threading
        self.path = path
        self.value: Optional[str] = None
        self.thread = threading.Thread(target=self._run, name="kscand-perf sha256",
                                       daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.value = file_sha256(self.path)

    def result(self) -> Optional[str]:
        self.thread.join()
        return self.value


def run_meta(path: Optional[str], options: Optional[Options] = None,
             sha256: Optional[str] = None) -> RunMeta:
    """The report's run metadata: the tool's version, ``path`` as given, the SHA-256 of
    its bytes, the options, and the header of the recording there, read with our own
    parser in every front end (perf script's Python has no access to it), so that all of
    them write the same JSON. A pipe (``-``) has no header to read again and no content
    to hash: null, as the header of a file that is no perf.data. The hash (``sha256``
    where the caller has it already) is read only for the outputs that print it (JSON
    and CSV): hashing a large recording costs about a second per gigabyte, and the text
    report shows no hash."""
    header: Optional[Dict[str, Any]] = None
    if path is not None and path != "-":
        from .perfreader import read_run_info  # only here: it costs start-up time
        info = read_run_info(path)
        if info is not None:
            header = dataclasses.asdict(info)
            tod = header.pop("clock_tod_ns", None)
            header["captured_on"], header["captured_on_source"] = _captured_on(path, tod)
    knobs = read_knobs(path + KNOBS_SUFFIX) if path is not None and path != "-" else None
    if sha256 is None and hashes(options) and path is not None and path != "-":
        sha256 = file_sha256(path)
    return RunMeta(version=__version__, input=path, header=header, knobs=knobs,
                   input_sha256=sha256,
                   options=None if options is None else options_json(options))


def _utc(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(int(seconds), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def _captured_on(path: str, tod_ns: Optional[int]) -> Tuple[Optional[str], Optional[str]]:
    """When the recording was made, and where that comes from: the recording's own
    wall-clock time (perf record -k writes it, HEADER_CLOCK_DATA): "recording"; else
    the file's modification time (what `perf report --header` calls "captured on",
    changed by a copy): "file_mtime"; (None, None) when neither can be had."""
    try:
        if tod_ns:
            return _utc(tod_ns / 1e9), "recording"
        return _utc(os.stat(path).st_mtime), "file_mtime"
    except (OSError, ValueError, OverflowError):
        return None, None


def file_sha256(path: str) -> Optional[str]:
    """The SHA-256 of the file's bytes (hex), None where it is no regular file (a FIFO:
    reading it would take the events) or cannot be read."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        import hashlib  # (here: OpenSSL's start-up is not the text report's)
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    except OSError:
        return None


# options whose value has a unit, named with it in run.options (the rest as they are)
_OPTION_UNITS = {"interval": "interval_s", "time_window": "time_window_s"}


def options_json(options: Options) -> Dict[str, Any]:
    """The report's options as the JSON's run.options shows them: every option but the
    output folders, parsed (patterns as their text, mm pointers in hex, an open end as
    null; a value with a unit under a name that says it, in ns or s whatever
    --ns/--us/--ms)."""
    out: Dict[str, Any] = {}
    for field in dataclasses.fields(options):
        if field.name in ("csv_dir", "plot_dir"):
            continue  # where output goes, not what the report is: the same in every front end
        value = _plain(field.name, getattr(options, field.name))
        if field.name == "linear":
            out["linear_width_ns"] = None if value is None else value * options.unit_ns
        else:
            out[_OPTION_UNITS.get(field.name, field.name)] = value
    return out


def _plain(name: str, v: Any) -> Any:
    if isinstance(v, re.Pattern):
        return v.pattern
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (list, tuple)):
        return [mm_key(x) if name == "mms" and isinstance(x, int) else _plain(name, x)
                for x in v]
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


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
    """Write each table (its text, or its pieces) to FOLDER/NAME, and remove the tables an
    earlier run wrote there that this one does not (intervals.csv of a run with
    --interval, say): the folder holds one run; raises CommandError when that fails."""
    with _Output("--csv", folder) as out:
        for name in sorted(set(machine.CSV_NAMES) - set(tables)):
            try:
                os.unlink(os.path.join(folder, name))
            except FileNotFoundError:
                pass
        for name, body in sorted(tables.items()):
            path = os.path.join(folder, name)
            out.written.append(path)
            with open(path, "w", encoding="utf-8") as f:
                for piece in ([body] if isinstance(body, str) else body):
                    f.write(piece)
        return out.written


class _Output:
    """Files written into a --csv/--plot folder: the folder is created if missing, and
    when the writing fails or is interrupted, what this run wrote and the folders it
    created are removed (nothing half-written stays in the user's folder); an OSError
    becomes one CommandError line."""

    def __init__(self, option: str, folder: str) -> None:
        self.option, self.folder = option, folder
        self.written: List[str] = []
        self.created: List[str] = []

    def __enter__(self) -> "_Output":
        missing = []
        path = os.path.abspath(self.folder)
        while path and not os.path.lexists(path):
            missing.append(path)
            path = os.path.dirname(path)
        try:
            os.makedirs(self.folder, exist_ok=True)
        except OSError as e:
            raise CommandError("%s: cannot create the folder %s: %s"
                               % (self.option, self.folder, e.strerror or e)) from None
        self.created = missing  # innermost first
        if not os.path.isdir(self.folder):
            raise CommandError("%s: %s is not a directory" % (self.option, self.folder))
        return self

    def __exit__(self, kind: Any, e: Any, tb: Any) -> None:
        if kind is None:
            return
        for path in self.written:
            try:
                os.unlink(path)
            except OSError:
                pass
        for path in self.created:
            try:
                os.rmdir(path)
            except OSError:
                break
        if isinstance(e, OSError):
            raise CommandError("%s: cannot write to %s: %s" % (
                self.option, self.folder, e.strerror or e)) from None


__all__: Tuple[str, ...] = (
    "Session", "read_snapshot", "read_snapshots", "run_meta",
    "write_csv")
