"""Renderers of a :class:`~kscand_perf.compare.Comparison`: text and JSON."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

from ..compare import Comparison, Figure
from .format import count, human_ns, table

COMPARE_SCHEMA = "kscand-perf-compare/1"


def value(v: Optional[float], unit: str, signed: bool = False) -> str:
    """A figure in its unit; ``signed`` for differences (a + in front of gains)."""
    if v is None:
        return "-"
    sign = "+" if signed and v > 0 else ""
    if unit == "ns":
        return ("-" + human_ns(-v)) if v < 0 else sign + human_ns(v)
    if unit == "s":
        return "%s%.3f s" % (sign, v)
    if unit == "%":  # a difference of two ratios is in percentage points
        return "%s%.1f %s" % (sign, v, "pp" if signed else "%") if signed else "%.1f%%" % v
    if unit == "/s":
        return "%s%.1f/s" % (sign, v)
    if float(v).is_integer():
        return sign + count(int(v))
    return "%s%.3f" % (sign, v)


def _change(f: Figure) -> str:
    if f.within_error:
        return "within error"
    r = f.relative
    if r is None:
        return "-" if f.diff is None or f.diff == 0 else "new"
    return "%+.1f%%" % (100.0 * r)


def text(c: Comparison) -> str:
    rows = [[f.name, value(f.a, f.unit), value(f.b, f.unit), value(f.diff, f.unit, True),
             _change(f)] for f in c.figures]
    head = "A: %s\nB: %s\n\n" % (c.a_name, c.b_name)
    note = ("\n\n(change: (B - A) / A; pp: percentage points. Percentiles are within 1% of\n"
            "the exact value in each run: pairs closer than that say 'within error'.)")
    return head + table(["figure", "A", "B", "B - A", "change"], rows) + note + "\n"


def to_json(c: Comparison) -> Dict[str, Any]:
    return {
        "schema": COMPARE_SCHEMA,
        "a": c.a_name,
        "b": c.b_name,
        "figures": [{"name": f.name, "unit": f.unit, "a": f.a, "b": f.b, "diff": f.diff,
                     "relative": None if f.relative is None else round(f.relative, 6),
                     "within_error": f.within_error} for f in c.figures],
    }


def json_text(c: Comparison) -> str:
    return json.dumps(to_json(c), indent=2) + "\n"
