"""Compare a report's JSON with a ground truth (the simulator's, or one derived from it).

Only the keys the truth holds are compared, so a truth may leave out what it
cannot know. Counts, min, max and totals must be equal; means within a
rounding error; percentiles within 2% of the exact nearest-rank value.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List

PERCENTILE_TOLERANCE = 0.02
APPROX_KEYS = {"p50", "p90", "p99"}


def _cmp(path: str, got: Any, want: Any, errors: List[str]) -> None:
    if isinstance(want, dict):
        if not isinstance(got, dict):
            errors.append("%s: expected an object, got %r" % (path, got))
            return
        for key, value in want.items():
            if key not in got:
                errors.append("%s.%s: missing in report" % (path, key))
                continue
            _cmp("%s.%s" % (path, key), got[key], value, errors)
        return
    last = path.rsplit(".", 1)[-1]
    if last in APPROX_KEYS and want is not None and got is not None:
        if abs(got - want) > PERCENTILE_TOLERANCE * abs(want):
            errors.append("%s: %r not within 2%% of %r" % (path, got, want))
        return
    if last == "mean" and isinstance(want, (int, float)) and isinstance(got, (int, float)):
        if abs(got - want) > max(1e-3, 1e-9 * abs(want)):
            errors.append("%s: %r != %r" % (path, got, want))
        return
    if got != want:
        errors.append("%s: %r != %r" % (path, got, want))


def _in_flight_folded(report: Dict[str, Any]) -> Dict[str, Any]:
    """The simulator's truth counts in ``not_due`` every start without an end; the report
    tells apart the starts in flight when the recording ended (``in_flight``, issue 23):
    added back for the comparison."""
    report = copy.deepcopy(report)
    for scans in [report.get("scans")] + [m.get("scans") for m in report.get("mms", [])]:
        if isinstance(scans, dict) and "in_flight" in scans:
            scans["not_due"] += scans.pop("in_flight")
    return report


def compare_report_to_truth(report: Dict[str, Any], truth: Dict[str, Any]) -> None:
    """Raise AssertionError listing every difference (at most 30 shown)."""
    report = _in_flight_folded(report)
    errors: List[str] = []
    for section in ("events", "scans", "migrations"):
        if section in truth:
            _cmp(section, report.get(section), truth[section], errors)
    for name, n in truth.get("other_events", {}).items():
        got = report.get("other_events", {}).get(name, 0)
        if got != n:
            errors.append("other_events.%s: %r != %r" % (name, got, n))
    if "mms" in truth:
        got_mms = {(m["mm"], m["generation"]): m for m in report.get("mms", [])}
        want_mms = {(m["mm"], m["generation"]): m for m in truth["mms"]}
        missing = sorted(set(want_mms) - set(got_mms))
        extra = sorted(set(got_mms) - set(want_mms))
        if missing:
            errors.append("mms missing from report: %s" % missing[:10])
        if extra:
            errors.append("mms in report but not in truth: %s" % extra[:10])
        for key in sorted(set(want_mms) & set(got_mms)):
            want = {k: v for k, v in want_mms[key].items() if k not in ("mm", "generation")}
            _cmp("mms[%s gen %d]" % key, got_mms[key], want, errors)
    if errors:
        shown = errors[:30]
        more = "" if len(errors) <= 30 else "\n... and %d more" % (len(errors) - 30)
        raise AssertionError("report differs from truth:\n" + "\n".join(shown) + more)
