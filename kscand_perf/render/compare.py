"""Renderers of a :class:`~kscand_perf.compare.Comparison`: text and JSON."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

from ..compare import Comparison, Figure
from .format import count, human_ns, size, table

COMPARE_SCHEMA = "kscand-perf-compare/2"


def value(v: Optional[float], unit: str, signed: bool = False) -> str:
    """A figure in its unit; ``signed`` for differences (a + in front of gains)."""
    if v is None:
        return "-"
    sign = "+" if signed and v > 0 else ""
    if unit == "ns":
        return ("-" + human_ns(-v)) if v < 0 else sign + human_ns(v)
    if unit == "s":
        return "%s%.3f s" % (sign, v)
    if unit == "ratio":  # shown as a percentage; a difference of two in percentage points
        return "%s%.1f pp" % (sign, 100.0 * v) if signed else "%.1f%%" % (100.0 * v)
    if unit == "/s":
        return "%s%s/s" % (sign, "{:,.1f}".format(v))
    if unit == "bytes" and float(v).is_integer():
        return ("-" + size(int(-v))) if v < 0 else sign + size(int(v))
    if float(v).is_integer():
        return sign + count(int(v))
    return "%s%.3f" % (sign, v)


def _change(f: Figure) -> str:
    if f.diff == 0:
        return "same"
    if f.within_error:
        return "within error"
    r = f.relative
    if r is None:
        return "-" if f.diff is None else "new"
    return "%+.1f%%" % (100.0 * r)


def _sample(n: Optional[int]) -> str:
    return "-" if n is None else count(n)


SAMPLED = ("duration", "percentile")  # kinds whose sample the text names (n)


def text(c: Comparison) -> str:
    rows = [[f.name, value(f.a, f.unit), value(f.b, f.unit), value(f.diff, f.unit, True),
             _change(f), "%s/%s" % (_sample(f.n_a), _sample(f.n_b)) if f.kind in SAMPLED
             else ""] for f in c.figures]
    head = "A: %s\nB: %s\n\n" % (c.a_name, c.b_name)
    out = head + table(["figure", "A", "B", "B - A", "change", "n A/B"], rows)
    if c.recorded_with:
        out += "\n\n" + table(["recorded with", "A", "B", ""], [
            [name, "-" if a is None else a, "-" if b is None else b,
             "" if a == b else "differs"] for name, a, b in c.recorded_with])
    note = ("\n\n(change: (B - A) / A; pp: percentage points; per second: over the time each\n"
            "report's events cover; n: the scans a duration is read from. Percentiles are\n"
            "within 1% of the exact value in each run: pairs closer than that say 'within\n"
            "error'; every other figure is exact.)")
    return out + note + "\n"


def to_json(c: Comparison) -> Dict[str, Any]:
    return {
        "schema": COMPARE_SCHEMA,
        "a": c.a_name,
        "b": c.b_name,
        "figures": [{"key": f.key, "name": f.name.strip(), "unit": f.unit, "kind": f.kind,
                     "a": f.a, "b": f.b, "diff": f.diff,
                     "relative": None if f.relative is None else round(f.relative, 6),
                     "n_a": f.n_a, "n_b": f.n_b, "within_error": f.within_error}
                    for f in c.figures],
        "recorded_with": [{"name": name, "a": a, "b": b} for name, a, b in c.recorded_with],
    }


def json_text(c: Comparison) -> str:
    return json.dumps(to_json(c), indent=2) + "\n"
