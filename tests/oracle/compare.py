"""The report's JSON against the oracle's, leaf by leaf.

Exact, except: percentiles read from log-linear buckets (p50/p90/p99, *_ns of time to
promotion) within 1% of the exact nearest-rank value; means within 0.001 (rounded to
0.001); rates (*_per_s) within 0.001; success ratios within 0.0001 (the report rounds means
and rates to 3 decimals, ratios to 4: the oracle keeps the exact value).
"""

from __future__ import annotations

import fnmatch
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple

PERCENTILES = {"p50", "p90", "p99", "p50_ns", "p90_ns", "p99_ns"}
MISSING = "<missing>"

# Leaves the oracle does not compute, each with its reason (only `run` metadata).
EXEMPT: Dict[str, str] = {
    "run.version": "the package's version string: nothing in the recording says it",
    "run.header.*": "perf's header features (host, kernel, perf version, cmdline, mtime): "
                    "metadata read from perf.data itself, not a figure of the events",
    "run.knobs": "kscand's sysfs files saved beside the recording by kscand-record: "
                 "metadata, not a figure of the events",
    "run.knobs.*": "as run.knobs",
    "run.options.*": "the report's options as parsed: an echo of its command line, not a "
                     "figure of the events (what the filters select is `selection`, checked)",
}


class Prose:
    """A list of sentences (notes, causes): checked to be strings, and empty or not."""

    def __init__(self, nonempty: Optional[bool] = None) -> None:
        self.nonempty = nonempty

    def check(self, got: Any) -> bool:
        if not isinstance(got, list) or not all(isinstance(s, str) for s in got):
            return False
        return self.nonempty is None or bool(got) == self.nonempty

    def __repr__(self) -> str:
        return "Prose(nonempty=%r)" % self.nonempty


class Sentence:
    """One sentence for people (a counter's ``includes``, a note): checked to be a
    non-empty string, or null where the rules say there is none."""

    def __init__(self, present: bool = True) -> None:
        self.present = present

    def check(self, got: Any) -> bool:
        return isinstance(got, str) and bool(got) if self.present else got is None

    def __repr__(self) -> str:
        return "Sentence(present=%r)" % self.present


class Diff(NamedTuple):
    path: str
    got: Any
    want: Any

    def __str__(self) -> str:
        return "%s: report %s, oracle %s" % (self.path, _short(self.got), _short(self.want))


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) < 200 else text[:200] + "..."


def leaves(value: Any, path: str = "") -> Iterator[str]:
    """Every leaf path of a JSON value: objects and lists of objects are walked; lists of
    scalars or lists (rows) are leaves."""
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from leaves(v, "%s.%s" % (path, k) if path else k)
    elif isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        for i, v in enumerate(value):
            yield from leaves(v, "%s.%d" % (path, i))
    else:
        yield path


def _close(key: str, got: Any, want: Any) -> bool:
    if isinstance(want, (Prose, Sentence)):
        return want.check(got)
    num = (int, float)
    if isinstance(got, bool) or isinstance(want, bool) or not (
            isinstance(got, num) and isinstance(want, num)):
        return bool(got == want and type(got) is type(want) or
                    (isinstance(got, num) and isinstance(want, num) and got == want))
    if key in PERCENTILES:
        return abs(got - want) <= 0.01 * abs(want)
    if key == "mean":
        return abs(got - want) <= 0.001 + 1e-12 * abs(want)
    if key.endswith("_per_s"):
        return abs(got - want) <= 0.001 + 1e-9 * abs(want)
    if key == "success":
        return abs(got - want) <= 1e-4
    return got == want and isinstance(got, int) == isinstance(want, int)


def compare(got: Any, want: Any, path: str = "") -> Tuple[List[Diff], List[str]]:
    """(differences, report leaves the oracle does not compute)."""
    diffs: List[Diff] = []
    unchecked: List[str] = []
    _walk(got, want, path, diffs, unchecked)
    return diffs, unchecked


def _walk(got: Any, want: Any, path: str, diffs: List[Diff], unchecked: List[str]) -> None:
    key = path.rsplit(".", 1)[-1]
    if isinstance(want, dict) and isinstance(got, dict):
        for k in list(want) + [k for k in got if k not in want]:
            sub = "%s.%s" % (path, k) if path else k
            if k not in got:
                diffs.append(Diff(sub, MISSING, want[k]))
            elif k not in want:
                unchecked.extend(leaves(got[k], sub))
            else:
                _walk(got[k], want[k], sub, diffs, unchecked)
        return
    if (isinstance(want, list) and isinstance(got, list) and want and got
            and all(isinstance(x, dict) for x in want + got)):
        if len(got) != len(want):
            diffs.append(Diff(path + ".length", len(got), len(want)))
        for i, (g, w) in enumerate(zip(got, want)):
            _walk(g, w, "%s.%d" % (path, i), diffs, unchecked)
        return
    if not _close(key, got, want):
        diffs.append(Diff(path, got, want))


def exempt(path: str) -> Optional[str]:
    for pattern, reason in EXEMPT.items():
        if fnmatch.fnmatchcase(path, pattern):
            return reason
    return None
