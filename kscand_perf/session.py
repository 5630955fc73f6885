"""One report run, for a front end: options parsed once, the analyzer, the output.

Front ends (the perf script, ``kscand-perf report``, tests) create a
:class:`Session`, feed ``session.analyzer`` and call :meth:`Session.finish`.
This is the I/O edge of the report: it reads the --vmstat files and writes the
CSV files; everything it calls is pure.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from . import __version__, render, vmstat
from .analysis import make_analyzer
from .errors import CommandError, UsageError
from .options import Options, parse
from .report import Report, RunMeta, build


class Session:
    def __init__(self, options: Options) -> None:
        """Raises UsageError when a --vmstat file cannot be read (before the trace is)."""
        self.options = options
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
    def from_argv(cls, argv: Sequence[str], prog: str = "kscand_report.py") -> "Session":
        """Raises UsageError on bad options or --vmstat files (one line, for the front
        end to print)."""
        return cls(parse(argv, prog))

    def count_unhandled(self, event_name: str) -> None:
        self.unhandled[event_name] = self.unhandled.get(event_name, 0) + 1

    def note(self, text: str) -> None:
        """A remark of the front end for the report's notes (e.g. events perf lost)."""
        self.notes.append(text)

    def report(self) -> Report:
        report = build(self.analyzer, self.options.selection(), self.unhandled,
                       self.snapshots, self.lost_events, self.notes)
        report.run = run_meta(self.input)
        return report

    def render(self, report: Report) -> Iterator[str]:
        """What goes to standard output, in pieces to write as they come (the JSON of a
        trace with many processes is long); writes the CSV files when asked to."""
        opts = self.options
        if opts.json:
            yield from render.json_chunks(report)
        elif opts.csv_dir is not None:
            files = write_csv(opts.csv_dir, render.csv_files(report, opts.unit_ns))
            yield "wrote %d CSV files to %s: %s\n" % (
                len(files), opts.csv_dir, " ".join(os.path.basename(f) for f in files))
        else:
            yield render.text(report, opts.unit_ns, opts.top, opts.per_mm_histograms)

    def output(self) -> Iterator[str]:
        """The report in pieces (raises CommandError when a CSV file cannot be written)."""
        return self.render(self.report())

    def finish(self) -> str:
        return "".join(self.output())


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
    return RunMeta(version=__version__, input=path, header=header)


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
