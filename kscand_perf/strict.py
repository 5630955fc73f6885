"""``--strict``: what a report found that a test pipeline should stop on.

The report is written either way; with --strict a front end then prints each of
:func:`problems` on one line of stderr and exits 2 (docs/report.md). They are:
the kernel's nr_kscand_* counters disagree with the trace (--vmstat), perf lost
events (LOST records, where the front end sees them), migrate events broke the
msuccess+mfailed sequence, perf wrote samples twice, and events the report could not
use (unusable data, tracepoints it has no handler for, samples of other event types).
"""

from __future__ import annotations

from typing import Dict, List, Optional

from .report import Report

EXIT_STRICT = 2


def _counts(counts: Dict[str, int]) -> str:
    return ", ".join("%s %s" % (name, "{:,}".format(n)) for name, n in sorted(counts.items()))


def problems(report: Report, lost_events: Optional[int] = None) -> List[str]:
    """One line for each thing found; empty when there is nothing to stop on."""
    out: List[str] = []
    counters = report.kernel_counters
    if counters is not None and counters.all_agree is False:
        out.append("the kernel's counters disagree with the trace: %s" % ", ".join(
            "%s %s in the kernel, %s in the trace" % (c.name, "{:,}".format(c.delta or 0),
                                                      "{:,}".format(c.trace or 0))
            for c in counters.counters if c.agrees is False))
    if lost_events:
        out.append("perf lost %s events" % "{:,}".format(lost_events))
    breaks = report.migrations.sequence_breaks
    if breaks:
        out.append("%s migrate events broke the msuccess+mfailed sequence"
                   % "{:,}".format(breaks))
    duplicates = dict(report.oddities.duplicates)
    if report.duplicate_exits:
        duplicates["kmem_mm_exit (same lifetime)"] = report.duplicate_exits
    if duplicates:
        total = sum(duplicates.values())
        out.append("%s duplicate samples: %s" % ("{:,}".format(total), _counts(duplicates)))
    unusable = [(what, counts) for what, counts in (
        ("unusable data", report.bad_events), ("no handler", report.unhandled),
        ("not a tracepoint", report.oddities.non_tracepoint)) if counts]
    if unusable:
        out.append("%s events the report could not use: %s" % (
            "{:,}".format(sum(sum(c.values()) for _, c in unusable)),
            "; ".join("%s: %s" % (what, _counts(c)) for what, c in unusable)))
    return out
