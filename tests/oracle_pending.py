"""The known disagreements between the report and the oracle (tests/oracle/), in ONE place.

PENDING maps "CASE-GLOB:PATH-GLOB" (or "PATH-GLOB") to the reason: the rules R1-R6 the lead
set for issue 19, which other branches implement, and findings of the oracle that are not
theirs (F1). A test whose only differences are pending is an xfail, not strict: once a fix is
merged its differences go, the test passes, and its entry here must go too (ORACLE_DUMP=FILE
pytest tests/test_oracle.py lists every difference left). Paths name list members by index,
mms by "MM/GENERATION" (their order is the leaf "mms_order").
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from oracle.compare import Diff, compare, exempt, pending

R1 = ("R1: time to promotion counts from the start of the first completed scan that found "
      "pages; successes during that scan are promoted, not 'before'; p50/p90/p99_ns null "
      "(present) when nothing was promoted")
R2 = ("R2: detection latency only for a scan that starts with no backlog; "
      "migrations.not_attempted is new")
R3 = "R3: a rate divides by the time the interval covers, min(end, time_ns.last) - start"
R4 = "R4: trace_time_ns covers every event perf hands the report, any type, before filters"
R5 = ("R5: --time is half-open and takes '+' times relative to the first event; owners, "
      "lifetimes (generations, enter/exit) come from the whole recording")
R6 = ("R6: the top-level 'selection'; the Events table counts the events the filters kept "
      "(issue 19 item 11)")
F1 = ("FOUND (not R1-R6): with --node, the report lists a lifetime all of whose events the "
      "filter dropped (corners: 0xff11000003279f80, whose start was dropped with its end), "
      "and orders lifetimes by their first event only when that event was a start (a "
      "lifetime whose first event is a dropped end without a start moves down); the docs "
      "say mms lists every lifetime the filters keep, in order of first appearance")
PENDING: Dict[str, str] = {
    "*node*:mms_order": F1,
    "corners-node1:mms.0xff11000003279f80/0*": F1,
    "corners-node1:oddities.unknown_owner.lifetimes": F1,
    "over_time.mms.*.time_to_promotion*": R1,
    "migrations.latency_ns*": R2,
    "mms.*.migrations.latency_ns*": R2,
    "migrations.not_attempted": R2,
    "mms.*.migrations.not_attempted": R2,
    "over_time.intervals.*_per_s": R3,
    "trace_time_ns.last": R4,
    "selection": R6,
    "*pid*:events.*": R6,
    "*comm*:events.*": R6,
    "*mm*:events.*": R6,
    # '+' times and an event on the window's end: every figure may move
    "*time-rel*:*": R5,
    "*time-edge*:*": R5,
    # a selection by owner within a window: the owner is learnt outside it
    "*time-pid*:*": R5,
    # other windows: who owns a lifetime and which lifetime an event belongs to
    "*time*:mms*": R5,
    "*time*:over_time.mms*": R5,
    "*time*:oddities.unknown_owner.*": R5,
}

# Keys the report renamed (issue 19's units: scan_size in bytes, target_nodes counting scan
# ends): the oracle's key name -> the report's, at any depth. Empty until that branch lands.
RENAMED: Dict[str, str] = {}


def _renamed(value: Any) -> Any:
    if isinstance(value, dict):
        return {RENAMED.get(k, k): _renamed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v) for v in value]
    return value


def _sorted_mms(value: Any) -> Any:
    """mms lists by identity (mm/generation), so that one missing lifetime shows as one
    difference; the order becomes one leaf of its own."""
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


def check(case: str, got: Dict[str, Any], want: Dict[str, Any]
          ) -> Tuple[List[Diff], List[Tuple[Diff, str]]]:
    """(differences that fail, pending differences with their reasons) of the report's
    JSON ``got`` against the oracle's ``want``; a leaf the oracle does not compute fails
    unless EXEMPT."""
    diffs, unchecked = compare(_sorted_mms(got), _sorted_mms(_renamed(want)))
    diffs += [Diff(p, "<in the report>", "<not computed>") for p in unchecked if not exempt(p)]
    failing, known = [], []
    for d in diffs:
        reason = pending(case, d.path, PENDING)
        if reason is None:
            failing.append(d)
        else:
            known.append((d, reason))
    return failing, known
