"""One report run: options parsed once, the analyzer, and the output at the end.

Front ends (the perf script, tests, a future standalone reader) create a
:class:`Session`, feed ``session.analyzer`` and call :meth:`Session.finish`.
"""

from __future__ import annotations

import os
from typing import Dict, List, Sequence, Tuple

from . import render, vmstat
from .analysis import make_analyzer
from .options import Options, OptionError, parse
from .report import Report, build
from .vmstat import VmstatError


class OutputError(Exception):
    """The report could not be written (e.g. an unwritable --csv folder)."""


class Session:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.analyzer = make_analyzer(options.analyzer_config())
        self.unhandled: Dict[str, int] = {}
        self.notes: List[str] = []  # what the front end knows about the input (lost events)
        # read now, so a bad --vmstat file fails before the trace is read (VmstatError)
        self.snapshots = vmstat.load_pair(*options.vmstat) if options.vmstat else None

    @classmethod
    def from_argv(cls, argv: Sequence[str], prog: str = "kscand_report.py") -> "Session":
        """Raises OptionError on bad options or --vmstat files (one line, for the front
        end to print)."""
        options = parse(argv, prog)
        try:
            return cls(options)
        except VmstatError as e:
            raise OptionError("--vmstat: %s" % e) from None

    def count_unhandled(self, event_name: str) -> None:
        self.unhandled[event_name] = self.unhandled.get(event_name, 0) + 1

    def note(self, text: str) -> None:
        """A remark of the front end for the report's notes (e.g. events perf lost)."""
        self.notes.append(text)

    def report(self) -> Report:
        report = build(self.analyzer, self.options.selection(), self.unhandled)
        report.notes.extend(self.notes)
        if self.snapshots is not None:
            report.kernel_counters = vmstat.check_run(self.snapshots, report, self.analyzer,
                                                      self.options)
        return report

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


def write_csv(folder: str, tables: Dict[str, str]) -> List[str]:
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
        raise OutputError("--csv: cannot write to %s: %s" % (folder, e.strerror or e)) from None


__all__: Tuple[str, ...] = ("Session", "OptionError", "OutputError", "VmstatError", "write_csv")
