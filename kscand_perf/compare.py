"""Two runs side by side: the headline figures of two JSON reports and their differences.

Pure: JSON documents (as ``--json`` writes them, checked against the published schema)
in, a :class:`Comparison` out. Recordings of different lengths are compared by rates
(per second of the span each report covers) and shares beside the raw counts; each
figure read from a sample says how large the sample is. Only a percentile is read from
log-linear buckets (within 1% of the exact value, docs/report.md), so only two runs'
percentiles that differ by less than the sum of their errors are flagged "within
error"; every other figure is exact.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import schema
from .mechanisms import MECHANISMS

SCHEMA = "kscand-perf/1"
PERCENTILE_ERROR = 0.01  # relative error of one percentile (docs/report.md)

Doc = Dict[str, Any]


class CompareError(ValueError):
    """A document that is not a kscand-perf JSON report (one line, for the user)."""


@dataclasses.dataclass(frozen=True)
class Figure:
    """One headline figure of both runs. ``a``/``b`` are None where a run has no data.
    ``key``: a stable machine name (the JSON's path of the figure, or of what it is
    computed from); ``kind``: count, rate, share, ratio, duration, percentile, value or
    span; ``n_a``/``n_b``: the size of the sample the figure is read from."""

    key: str
    name: str
    unit: str
    a: Optional[float]
    b: Optional[float]
    kind: str = "count"
    n_a: Optional[int] = None
    n_b: Optional[int] = None
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
    """Two reports side by side: the figures and what differs."""
    a_name: str
    b_name: str
    figures: Tuple[Figure, ...]
    # how each run was recorded: (name, A's, B's), from run.header and run.knobs
    recorded_with: Tuple[Tuple[str, Optional[str], Optional[str]], ...] = ()


def _get(doc: Doc, path: Sequence[str]) -> Optional[float]:
    node: Any = doc
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        return None
    return node


def _count(doc: Doc, path: Sequence[str]) -> Optional[int]:
    v = _get(doc, path)
    return None if v is None else int(v)


def span_s(doc: Doc) -> Optional[float]:
    """The time the report's kept events cover, in seconds (None: no events, or a merged
    report of several machines, which has no span)."""
    first, last = _get(doc, ("time_ns", "first")), _get(doc, ("time_ns", "last"))
    return None if first is None or last is None else (last - first) / 1e9


def _ratio(part: Optional[float], whole: Optional[float]) -> Optional[float]:
    return None if part is None or not whole else part / whole


Reader = Callable[[Doc], Optional[float]]


def _at(path: Sequence[str]) -> Reader:
    return lambda d: _get(d, path)


def _rate_at(path: Sequence[str]) -> Reader:
    return lambda d: _ratio(_get(d, path), span_s(d))


# (key, name, JSON path): counts, each followed by its rate per second
COUNTS: Tuple[Tuple[str, str, Tuple[str, ...]], ...] = (
    ("events.kmem_scan_mm_start", "kmem_scan_mm_start events",
     ("events", "kmem_scan_mm_start")),
    ("scans.completed", "completed scans", ("scans", "completed")),
    ("scans.not_due", "unpaired starts", ("scans", "not_due")),
    ("scans.full_passes", "full address-space passes", ("scans", "full_passes")),
    ("scans.pages_found", "pages found", ("scans", "pages_found")),
    ("migrations.attempted", "promotions attempted", ("migrations", "attempted")),
    ("migrations.succeeded", "promotions succeeded", ("migrations", "succeeded")),
    ("migrations.failed", "promotions failed", ("migrations", "failed")),
)
# (key, name, statistic, kind) of the scan durations (n: the completed scans measured)
DURATIONS: Tuple[Tuple[str, str, str], ...] = (
    ("mean", "scan duration mean", "duration"),
    ("p50", "scan duration p50", "percentile"),
    ("p90", "scan duration p90", "percentile"),
    ("p99", "scan duration p99", "percentile"),
    ("max", "scan duration max", "duration"),
    ("total", "scan duration total", "duration"),
)
VALUES: Tuple[Tuple[str, str, Tuple[str, ...]], ...] = (
    ("scans.scan_period_ms.last", "scan period, last (ms)", ("scans", "scan_period_ms", "last")),
    ("scans.scan_period_ms.max", "scan period, max (ms)", ("scans", "scan_period_ms", "max")),
    ("scans.scan_size_bytes.last", "scan size, last",
     ("scans", "scan_size_bytes", "last")),
)


def check(doc: Any, name: str) -> Doc:
    """``doc`` if it is a kscand-perf JSON report that fits the published schema; else
    CompareError naming ``name`` and what does not fit, in one line."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        found = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise CompareError("%s: not a kscand-perf JSON report (schema %r, expected %r; "
                           "make one with --json)" % (name, found, SCHEMA))
    why = schema.problem(doc)
    if why is not None:
        raise CompareError("%s: does not fit the report's schema (report.schema.json): %s; "
                           "report the recording again with --json" % (name, why))
    return doc


def _pair(key: str, name: str, unit: str, a: Doc, b: Doc, read: Reader, kind: str,
          sample: Optional[Callable[[Doc], Optional[int]]] = None) -> Figure:
    va, vb = read(a), read(b)
    within = False
    if kind == "percentile" and va is not None and vb is not None and va != vb:
        within = abs(vb - va) <= PERCENTILE_ERROR * (abs(va) + abs(vb))
    return Figure(key, name, unit, va, vb, kind,
                  None if sample is None else sample(a), None if sample is None else sample(b),
                  within)


def _counts(a: Doc, b: Doc) -> List[Figure]:
    out = []
    for key, name, path in COUNTS:
        out.append(_pair(key, name, "", a, b, _at(path), "count"))
        out.append(_pair(key + "_per_s", name + ", per second", "/s", a, b,
                         _rate_at(path), "rate"))
    return out


def _durations(a: Doc, b: Doc) -> List[Figure]:
    def n(d: Doc) -> Optional[int]:
        return _count(d, ("scans", "duration_ns", "count"))
    return [_pair("scans.duration_ns." + stat, name, "ns", a, b,
                  _at(("scans", "duration_ns", stat)), kind, n)
            for stat, name, kind in DURATIONS]


def _rc_figures(a: Doc, b: Doc) -> List[Figure]:
    """One row per promotion outcome seen in either run, by count, with its share of the
    attempts."""
    def by_rc(doc: Doc) -> Dict[str, Tuple[str, int]]:
        rcs = doc["migrations"]["by_rc"]
        return {rc: (str(v["name"]), int(v["count"])) for rc, v in rcs.items()}
    ra, rb = by_rc(a), by_rc(b)
    keys = sorted(set(ra) | set(rb), key=lambda rc: (-(ra.get(rc, ("", 0))[1]
                                                       + rb.get(rc, ("", 0))[1]), int(rc)))

    def attempted(d: Doc) -> Optional[int]:
        return _count(d, ("migrations", "attempted"))
    out = []
    for rc in keys:
        name = (ra.get(rc) or rb[rc])[0]
        ca, cb = float(ra.get(rc, ("", 0))[1]), float(rb.get(rc, ("", 0))[1])
        out.append(Figure("migrations.by_rc.%s.count" % rc, "rc %s %s" % (rc, name), "",
                          ca, cb))
        out.append(Figure("migrations.by_rc.%s.share" % rc, "rc %s, share of attempts" % rc,
                          "ratio",
                          _ratio(ca, attempted(a)), _ratio(cb, attempted(b)), "share",
                          attempted(a), attempted(b)))
    return out


# options that change how a report is shown, not its figures
OUTPUT_OPTIONS = ("json", "csv_dir", "plot_dir", "top", "per_mm_histograms", "unit")


def _file_names(v: Any) -> Any:
    """An option's value with its paths cut to their file names (--vmstat's snapshots: the
    folders differ between runs and make the line hundreds of characters wide)."""
    if isinstance(v, str) and "/" in v:
        return v.rsplit("/", 1)[-1]
    if isinstance(v, list):
        return [_file_names(x) for x in v]
    return v


def _recorded_with(a: Doc, b: Doc) -> Tuple[Tuple[str, Optional[str], Optional[str]], ...]:
    """The machine, kernel, perf and kscand's knobs of each run, side by side."""
    def facts(doc: Doc) -> Dict[str, str]:
        run = doc.get("run") or {}
        header = run.get("header") or {}
        out = {k: str(header[k]) for k in ("hostname", "osrelease", "perf_version",
                                           "nrcpus_online") if header.get(k) is not None}
        sources = run.get("merged_from") or []
        if sources:
            out["merged reports"] = str(len(sources))
        for k, v in sorted((run.get("knobs") or {}).items()):
            out["knob " + k] = str(v)
        for k, v in (run.get("options") or {}).items():  # what changes the figures
            if k not in OUTPUT_OPTIONS and v is not None and v is not False:
                out["option " + k] = json.dumps(_file_names(v))
        return out
    fa, fb = facts(a), facts(b)
    order = [k for k in fa] + [k for k in fb if k not in fa]
    return tuple((k, fa.get(k), fb.get(k)) for k in order)


MECHANISM_NAMES = {"kscand": "kscand", "numa_balancing": "NUMA balancing", "damon": "DAMON",
                   "demotion": "demotion", "other": "other reasons"}


def _mechanism_figures(a: Doc, b: Doc) -> List[Figure]:
    """Promotions by mechanism side by side (when either report has the kernel's migrate
    events): calls, pages moved and failed, pages moved per second."""
    if not any(isinstance(d.get("mechanisms"), dict) for d in (a, b)):
        return []
    out = []
    for m in MECHANISMS:
        path = ("mechanisms", "by_mechanism", m)
        name = MECHANISM_NAMES[m]
        for field, what in (("calls", "migrate_pages calls"), ("pages_succeeded", "pages moved"),
                            ("pages_failed", "pages failed")):
            out.append(_pair("mechanisms.%s.%s" % (m, field), "%s: %s" % (name, what), "",
                             a, b, _at(path + (field,)), "count"))
        out.append(_pair("mechanisms.%s.pages_succeeded_per_second" % m,
                         "%s: pages moved, per second" % name, "/s", a, b,
                         _at(path + ("pages_succeeded_per_second",)), "rate"))
    return out


def _promotion_rows(doc: Doc) -> Dict[str, Dict[str, Any]]:
    """promotion_time's processes by comm, those whose comm no other row has."""
    p = doc.get("promotion_time")
    rows = p.get("processes") if isinstance(p, dict) else None
    if not isinstance(rows, list):
        return {}
    comms = [r.get("comm") for r in rows if isinstance(r, dict)]
    return {r["comm"]: r for r in rows
            if isinstance(r, dict) and isinstance(r.get("comm"), str)
            and comms.count(r["comm"]) == 1}


def _promotion_figures(a: Doc, b: Doc) -> List[Figure]:
    """Time to promotion of the processes both reports name (by comm: pids differ between
    runs): pages promoted by kscand and NUMA balancing, the time to 50/90/99%."""
    ra, rb = _promotion_rows(a), _promotion_rows(b)
    out = []
    for comm in [c for c in ra if c in rb]:
        def at(key: str, c: str = comm) -> Reader:
            return lambda d: _get(_promotion_rows(d).get(c, {}), (key,))

        def pages(d: Doc, c: str = comm) -> Optional[int]:
            return _total_pages(_promotion_rows(d).get(c))
        for key, what in (("kscand_pages", "pages promoted by kscand"),
                          ("numa_balancing_pages", "pages promoted by NUMA balancing")):
            out.append(_pair("promotion_time.%s.%s" % (comm, key), "%s: %s" % (comm, what),
                             "", a, b, at(key), "count"))
        for p in ("p50", "p90", "p99"):
            out.append(_pair("promotion_time.%s.%s_ns" % (comm, p),
                             "%s: time to %s%% promoted" % (comm, p[1:]), "ns", a, b,
                             at(p + "_ns"), "percentile", pages))
    return out


def _total_pages(row: Optional[Dict[str, Any]]) -> Optional[int]:
    if not row:
        return None
    return int(row.get("kscand_pages") or 0) + int(row.get("numa_balancing_pages") or 0)


def compare(a: Doc, b: Doc, a_name: str = "A", b_name: str = "B") -> Comparison:
    """The headline figures of reports ``a`` and ``b`` (checked with :func:`check`)."""
    check(a, a_name)
    check(b, b_name)

    def attempted(d: Doc) -> Optional[int]:
        return _count(d, ("migrations", "attempted"))

    def waits(d: Doc) -> Optional[int]:
        return _count(d, ("backlog", "drain_wait_ns", "count"))
    figures = [_pair("time_ns.span_s", "recording span", "s", a, b, span_s, "span")]
    figures += _counts(a, b)
    figures += _durations(a, b)
    figures += [_pair(key, name, "bytes" if key.endswith("bytes.last") else "", a, b,
                      _at(path), "value") for key, name, path in VALUES]
    figures.append(_pair("migrations.success_ratio", "success ratio", "ratio", a, b,
                         lambda d: _ratio(_get(d, ("migrations", "succeeded")), attempted(d)),
                         "ratio", attempted))
    figures += [_pair("backlog.drain_wait_ns." + p, "queue wait to drained, " + p, "ns", a, b,
                      _at(("backlog", "drain_wait_ns", p)), "percentile", waits)
                for p in ("p50", "p90")]
    figures += [_pair("cost.cpu_us_per_promoted_page." + k, "CPU us per promoted page, " + k,
                      "us", a, b, _at(("cost", "cpu_us_per_promoted_page", k)), "value")
                for k in ("kscand_scan", "kmigrated", "total")]
    figures += _rc_figures(a, b)
    figures += _mechanism_figures(a, b)
    figures += _promotion_figures(a, b)
    return Comparison(a_name, b_name, tuple(figures), _recorded_with(a, b))


__all__ = ["CompareError", "Comparison", "Figure", "PERCENTILE_ERROR", "check", "compare",
           "span_s"]
