"""Process churn: a lifetime kscand only visited costs a compact row, not an object; the
JSON and CSV are written in pieces and equal the one-object forms to the byte."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any, Dict, List

from eventgen import feed
from kscand_perf.analysis import Analyzer, IdleLifetime, MmState
from kscand_perf.filtered import make_analyzer
from kscand_perf.render import csv_tables, json_chunks, to_json
from kscand_perf.render.machine import _idle_template, _indented, mm_json
from kscand_perf.report import build
from kscand_testkit.churn import churn
from kscand_testkit.synth import SynthConfig, simulate


def analysed(events: Any) -> Analyzer:
    a = make_analyzer()
    feed(a, list(events), {})
    return a


def test_visit_only_lifetimes_are_folded() -> None:
    a = analysed(churn(5000, pointers=64, busy=2))
    a.finish()
    # 64 pointers hold their last lifetime; the 2 busy mms are objects; the rest are rows
    assert len(a.mms) == 64 + 2 and not a.retired
    assert len(a.idle) == 5000 - 64 and a.lifetime_count() == 5002
    report = build(a)
    j = to_json(report)
    assert len(j["mms"]) == 5002 and j["scans"]["not_due"] == 2 * 5000
    assert [m["scans"]["completed"] for m in j["mms"][:2]] == [0, 0]


def _state_bytes(n: int) -> int:
    tracemalloc.start()
    a = analysed(churn(n, pointers=64))
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del a
    return size


def test_memory_per_lifetime_is_a_few_machine_words() -> None:
    per = (_state_bytes(40000) - _state_bytes(20000)) / 20000
    assert per < 120, "%.0f bytes per visit-only lifetime" % per  # 56 in the rows


def test_idle_row_template_is_json_dumps() -> None:
    render, _ = _idle_template()
    rows = [IdleLifetime(0xFFFF888000001000, 3, 42, 'we"ird\\ comm é', 7, None, 99, 12),
            IdleLifetime(0x10, 0, None, None, 0, 5, None, 0),
            IdleLifetime((1 << 64) - 2, 1 << 20, 0, "%s%d", 1 << 62, 1 << 62, 1 << 62, 7)]
    for r in rows:
        assert render(r) == _indented(mm_json(r), "    ")


def test_folded_rows_in_bulk_are_json_dumps() -> None:
    a = analysed(churn(300, pointers=5))
    a.finish()
    idle = a.idle
    odd = MmState(0x20, 2, 9, 5000)  # no enter, no exit, no owner: nulls
    odd.visits = 3
    assert idle.add(odd)
    _, rows = _idle_template()
    want = [_indented(mm_json(idle.row(i)), "    ") for i in range(len(idle))]
    assert "null" in want[-1]
    assert rows(idle, range(len(idle))) == want
    assert rows(idle, range(3, 9)) == want[3:9]


def test_streamed_json_equals_one_object_json() -> None:
    for events in (churn(2000, pointers=7, busy=3),
                   simulate(SynthConfig(seed=4, mms=8, seconds=20, fork_rate=8.0,
                                        pointer_reuse_prob=1.0))):
        report = build(analysed(events))
        pieces: List[str] = list(json_chunks(report))
        assert len(pieces) > 1
        assert "".join(pieces) == json.dumps(to_json(report), indent=2) + "\n"


def test_lifetimes_keep_the_order_of_first_appearance() -> None:
    a = make_analyzer()
    # two pointers appear at the same time: by pointer; reuse: by generation
    a.scan_start(1, 0, 50, 0x2000)
    a.scan_start(1, 0, 50, 0x1000)
    a.mm_enter(2000000000, 9, "sh", 0x1000)
    a.scan_start(0, 5, 50, 0x3000)  # time went backwards: sorted anyway
    order = [(m["mm"], m["generation"]) for m in to_json(build(a))["mms"]]
    assert order == [("0x3000", 0), ("0x1000", 0), ("0x2000", 0), ("0x1000", 1)]


def test_csv_has_a_row_per_lifetime() -> None:
    tables: Dict[str, str] = csv_tables(build(analysed(churn(300, pointers=5))))
    rows = tables["mms.csv"].splitlines()
    assert len(rows) == 1 + 300
    # the last lifetime's 2 starts: 1 not due, the last one in flight at the end
    assert rows[-1].split(",")[:6] == ["%x" % (0xFFFF888100000000 + 0x400 * 4), "59",
                                       "2299", "cc1", "0", "1"]


def test_a_value_that_does_not_fit_a_row_keeps_its_object() -> None:
    a = make_analyzer()
    a.mm_enter(1, 1 << 40, "big", 0x1000)  # a pid no row holds
    a.mm_exit(2, 1 << 40, "big", 0x1000)
    a.mm_enter(3, 5, "sh", 0x1000)
    assert len(a.idle) == 0 and len(a.retired) == 1
    assert [m["pid"] for m in to_json(build(a))["mms"]] == [1 << 40, None]
