"""The report's JSON against the oracle's (tests/oracle/), as one list of differences.

The oracle writes some members under the names docs/report.md used before issue 19 gave
every key its unit (RENAMED maps them to the report's names, at any depth). Paths name list
members by index, and mms by "MM/GENERATION" (their order is the leaf "mms_order"), so that
one missing lifetime shows as one difference.
"""

from __future__ import annotations

from typing import Any, Dict, List

from oracle.compare import Diff, compare, exempt

# issue 19's units and meanings: scan ends per target node, sizes in bytes, the bit length
# of a duration in ns (whatever --ns/--us/--ms)
RENAMED: Dict[str, str] = {"target_nodes": "ends_by_target_node",
                           "scan_size": "scan_size_bytes",
                           "duration_log2": "duration_log2_ns"}


def renamed(value: Any) -> Any:
    if isinstance(value, dict):
        return {RENAMED.get(k, k): renamed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [renamed(v) for v in value]
    return value


def _sorted_mms(value: Any) -> Any:
    """mms lists by identity (mm/generation); the order becomes one leaf of its own."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "mms" and isinstance(v, list) and all(isinstance(m, dict) and "mm" in m
                                                          for m in v):
                out[k] = {"%s/%s" % (m["mm"], m["generation"]): _sorted_mms(m) for m in v}
                out["mms_order"] = ["%s/%s" % (m["mm"], m["generation"]) for m in v]
            else:
                out[k] = _sorted_mms(v)
        return out
    return value


def check(got: Dict[str, Any], want: Dict[str, Any]) -> List[Diff]:
    """Every difference of the report's JSON ``got`` from the oracle's ``want``; a leaf the
    oracle does not compute is one too, unless EXEMPT (tests/oracle/compare.py)."""
    diffs, unchecked = compare(_sorted_mms(got), _sorted_mms(renamed(want)))
    return diffs + [Diff(p, "<in the report>", "<not computed>") for p in unchecked
                    if not exempt(p)]
