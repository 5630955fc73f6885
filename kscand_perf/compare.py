"""Two runs side by side: the headline figures of two JSON reports and their differences.

Pure: JSON documents (as ``--json`` writes them) in, a :class:`Comparison` out.
A percentile is read from log-linear buckets within 1% of the exact value
(docs/report.md), so two runs' percentiles that differ by less than the sum of
their errors are flagged "within error" rather than reported as a change.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

SCHEMA = "kscand-perf/1"
PERCENTILE_ERROR = 0.01  # relative error of one percentile (docs/report.md)

Doc = Dict[str, Any]


class CompareError(ValueError):
    """A document that is not a kscand-perf JSON report (one line, for the user)."""


@dataclasses.dataclass(frozen=True)
class Figure:
    """One headline figure of both runs. ``a``/``b`` are None where a run has no data."""

    name: str
    unit: str
    a: Optional[float]
    b: Optional[float]
    within_error: bool = False  # a percentile pair closer than their combined error

    @property
    def diff(self) -> Optional[float]:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def relative(self) -> Optional[float]:
        """(B - A) / A; None when A is 0 or missing."""
        d = self.diff
        return None if d is None or not self.a else d / self.a


@dataclasses.dataclass(frozen=True)
class Comparison:
    a_name: str
    b_name: str
    figures: Tuple[Figure, ...]


def _get(doc: Doc, path: Sequence[str]) -> Optional[float]:
    node: Any = doc
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        return None
    return node


def _span_s(doc: Doc) -> Optional[float]:
    first, last = _get(doc, ("time_ns", "first")), _get(doc, ("time_ns", "last"))
    return None if first is None or last is None else (last - first) / 1e9


def _ratio(part: Optional[float], whole: Optional[float], scale: float = 1.0
           ) -> Optional[float]:
    return None if part is None or not whole else scale * part / whole


def _rate(doc: Doc, path: Sequence[str]) -> Optional[float]:
    return _ratio(_get(doc, path), _span_s(doc))


# (name, unit, how to read it); "ns" figures are shown in the text as durations.
HEADLINES: Tuple[Tuple[str, str, Callable[[Doc], Optional[float]]], ...] = (
    ("recording span", "s", _span_s),
    ("kmem_scan_mm_start events", "", lambda d: _get(d, ("events", "kmem_scan_mm_start"))),
    ("completed scans", "", lambda d: _get(d, ("scans", "completed"))),
    ("not-due visits", "", lambda d: _get(d, ("scans", "not_due"))),
    ("full address-space passes", "", lambda d: _get(d, ("scans", "full_passes"))),
    ("pages found", "", lambda d: _get(d, ("scans", "pages_found"))),
    ("scan duration mean", "ns", lambda d: _get(d, ("scans", "duration_ns", "mean"))),
    ("scan duration p50", "ns", lambda d: _get(d, ("scans", "duration_ns", "p50"))),
    ("scan duration p90", "ns", lambda d: _get(d, ("scans", "duration_ns", "p90"))),
    ("scan duration p99", "ns", lambda d: _get(d, ("scans", "duration_ns", "p99"))),
    ("scan duration max", "ns", lambda d: _get(d, ("scans", "duration_ns", "max"))),
    ("scan duration total", "ns", lambda d: _get(d, ("scans", "duration_ns", "total"))),
    ("scan period, last (ms)", "", lambda d: _get(d, ("scans", "scan_period_ms", "last"))),
    ("scan period, max (ms)", "", lambda d: _get(d, ("scans", "scan_period_ms", "max"))),
    ("scan size, last (bytes)", "", lambda d: _get(d, ("scans", "scan_size", "last"))),
    ("promotions attempted", "", lambda d: _get(d, ("migrations", "attempted"))),
    ("promotions succeeded", "", lambda d: _get(d, ("migrations", "succeeded"))),
    ("promotions failed", "", lambda d: _get(d, ("migrations", "failed"))),
    ("success ratio", "%", lambda d: _ratio(_get(d, ("migrations", "succeeded")),
                                            _get(d, ("migrations", "attempted")), 100.0)),
    ("promotions succeeded per second", "/s",
     lambda d: _rate(d, ("migrations", "succeeded"))),
    ("detection to first attempt, mean", "ns",
     lambda d: _get(d, ("migrations", "latency_ns", "mean"))),
)


def check(doc: Any, name: str) -> Doc:
    """``doc`` if it is a kscand-perf JSON report; else raise CompareError naming ``name``."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        found = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise CompareError("%s: not a kscand-perf JSON report (schema %r, expected %r; "
                           "make one with --json)" % (name, found, SCHEMA))
    return doc


def _rc_figures(a: Doc, b: Doc) -> List[Figure]:
    """One row per promotion outcome seen in either run, by count."""
    def by_rc(doc: Doc) -> Dict[str, Tuple[str, int]]:
        rcs = doc.get("migrations", {}).get("by_rc", {})
        return {rc: (str(v.get("name", rc)), int(v.get("count", 0)))
                for rc, v in rcs.items() if isinstance(v, dict)}
    ra, rb = by_rc(a), by_rc(b)
    keys = sorted(set(ra) | set(rb), key=lambda rc: (-(ra.get(rc, ("", 0))[1]
                                                       + rb.get(rc, ("", 0))[1]), int(rc)))
    out = []
    for rc in keys:
        name = (ra.get(rc) or rb[rc])[0]
        out.append(Figure("rc %s %s" % (rc, name), "", float(ra.get(rc, ("", 0))[1]),
                          float(rb.get(rc, ("", 0))[1])))
    return out


def compare(a: Doc, b: Doc, a_name: str = "A", b_name: str = "B") -> Comparison:
    """The headline figures of reports ``a`` and ``b`` (checked with :func:`check`)."""
    check(a, a_name)
    check(b, b_name)
    figures = []
    for name, unit, read in HEADLINES:
        va, vb = read(a), read(b)
        within = False
        if " p" in name and va is not None and vb is not None:
            within = abs(vb - va) <= PERCENTILE_ERROR * (abs(va) + abs(vb))
        figures.append(Figure(name, unit, va, vb, within))
    return Comparison(a_name, b_name, tuple(figures + _rc_figures(a, b)))


__all__ = ["CompareError", "Comparison", "Figure", "HEADLINES", "PERCENTILE_ERROR", "check",
           "compare"]
