"""One report run, for a front end: options parsed once, the analyzer, the output.

Front ends (the perf script, ``kscand-perf report``, tests) create a
:class:`Session`, feed ``session.analyzer`` and call :meth:`Session.finish`.
This is the I/O edge of the report: it reads the --vmstat files and writes the
CSV files; everything it calls is pure.
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Tuple

from . import render, vmstat
from .analysis import make_analyzer
from .errors import CommandError, UsageError
from .options import Options, parse
from .report import Report, build


class Session:
    def __init__(self, options: Options) -> None:
        """Raises UsageError when a --vmstat file cannot be read (before the trace is)."""
        self.options = options
        self.analyzer = make_analyzer(options.analyzer_config())
        self.unhandled: Dict[str, int] = {}
        self.lost_events: Optional[int] = None  # perf's LOST records, where a front end sees them
        self.snapshots = read_snapshots(*options.vmstat) if options.vmstat else None

    @classmethod
    def from_argv(cls, argv: Sequence[str], prog: str = "kscand_report.py") -> "Session":
        """Raises UsageError on bad options or --vmstat files (one line, for the front
        end to print)."""
        return cls(parse(argv, prog))

    def count_unhandled(self, event_name: str) -> None:
        self.unhandled[event_name] = self.unhandled.get(event_name, 0) + 1

    def report(self) -> Report:
        return build(self.analyzer, self.options.selection(), self.unhandled,
                     self.snapshots, self.lost_events)

    def render(self, report: Report) -> str:
        """What goes to standard output; writes the CSV files when asked to."""
        opts = self.options
        if opts.json:
            return render.json_text(report)
        if opts.csv_dir is not None:
            files = write_csv(opts.csv_dir, render.csv_tables(report))
            return "wrote %d CSV files to %s: %s\n" % (
                len(files), opts.csv_dir, " ".join(os.path.basename(f) for f in files))
        return render.text(report, opts.unit_ns, opts.top, opts.per_mm_histograms)

    def finish(self) -> str:
        return self.render(self.report())


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


def write_csv(folder: str, tables: Dict[str, str]) -> List[str]:
    """Write each table to FOLDER/NAME; raises CommandError when that fails."""
    try:
        os.makedirs(folder, exist_ok=True)
        paths = []
        for name, body in sorted(tables.items()):
            path = os.path.join(folder, name)
            with open(path, "w", encoding="utf-8") as f:
                f.write(body)
            paths.append(path)
        return paths
    except OSError as e:
        raise CommandError("--csv: cannot write to %s: %s" % (folder, e.strerror or e)) from None


__all__: Tuple[str, ...] = ("Session", "read_snapshot", "read_snapshots", "write_csv")
