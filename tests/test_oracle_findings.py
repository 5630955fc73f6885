"""The report's figures the oracle (tests/oracle/) found wrong, each on the smallest events
that show it (docs/report.md, "How the report counts"). The expectations are worked out by
hand from the docs, in the comments beside them."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Sequence, Tuple

from kscand_perf.options import parse
from kscand_perf.session import Session

S = 1000000000
A, B, C = 0xFFFF888000001000, 0xFFFF888000002000, 0xFFFF888000003000
KSCAND, KMIG = 50, 51
GIB = 1 << 30

Event = Tuple[Any, ...]


def run(script: Sequence[Event], argv: Sequence[str] = ()) -> Dict[str, Any]:
    """Feed ("kind", t, ...) events to a session of ``argv`` as the handlers do; the JSON."""
    session = Session(parse(list(argv) + ["--json"]))
    a = session.analyzer
    for ev in script:
        kind, t, rest = ev[0], ev[1], ev[2:]
        s, n = divmod(t, S)
        if kind == "start":  # mm
            a.scan_start(s, n, KSCAND, rest[0])
        elif kind == "end":  # mm, total, target node
            a.scan_end(t, KSCAND, rest[0], 0, rest[1], 2000, GIB, rest[2])
        elif kind == "mig":  # mm, node, msuccess
            a.migrate(s, n, KMIG, rest[0], 0, rest[1], rest[2], 0)
        elif kind == "enter":  # mm, pid, comm
            a.mm_enter(t, rest[1], rest[2], rest[0])
        elif kind == "bad":  # an event whose data the handler could not use
            session.bad(rest[0], ValueError("missing or non-integer field"), t)
        else:
            raise ValueError(kind)
    return json.loads("".join(session.render(session.report())))  # type: ignore[no-any-return]


def order(report: Dict[str, Any]) -> List[Tuple[str, int]]:
    return [(m["mm"], m["generation"]) for m in report["mms"]]


def test_node_lists_no_lifetime_whose_events_it_all_dropped() -> None:
    """--node 1: B's only scan ended targeting node 0, so its start goes with its end and
    nothing of B is kept: `mms` does not list it (it listed B with zeros)."""
    r = run([("start", 1 * S, A), ("end", 1 * S + 10, A, 3, 1),
             ("start", 2 * S, B), ("end", 2 * S + 10, B, 3, 0)], ["--node", "1"])
    assert order(r) == [("0x%x" % A, 0)]
    assert r["oddities"]["unknown_owner"]["lifetimes"] == 1
    assert r["selection"]["kept_events"] == 2 and r["filtered_events"] == 2


def test_node_orders_lifetimes_by_their_first_event_in_the_whole_recording() -> None:
    """mms are in order of first appearance: A's first event (an end --node drops) comes
    before B's, so A is listed first, as without the filter (A was listed after B)."""
    r = run([("end", 1 * S, A, 3, 0), ("start", 2 * S, B), ("end", 2 * S + 10, B, 3, 1),
             ("mig", 3 * S, A, 1, 1)], ["--node", "1"])
    assert order(r) == [("0x%x" % A, 0), ("0x%x" % B, 0)]
    assert order(run([("end", 1 * S, A, 3, 0), ("start", 2 * S, B),
                      ("end", 2 * S + 10, B, 3, 1), ("mig", 3 * S, A, 1, 1)])) == order(r)


def test_node_keeps_generations_of_the_whole_recording() -> None:
    """A migrate --node drops is still A's first appearance: the enter after it starts A's
    generation 1, as in the whole recording."""
    r = run([("mig", 1 * S, A, 0, 1), ("enter", 2 * S, A, 7, "x"), ("start", 3 * S, A)],
            ["--node", "1"])
    assert order(r) == [("0x%x" % A, 1)]


def test_time_last_covers_a_visit_whose_pointer_reentered_outside_the_window() -> None:
    """--time 1,3: A's start at 2 s is a kept not-due visit; A's pointer enters a new
    lifetime at 4 s, outside the window. time_ns.last is that start (it was B's end)."""
    r = run([("start", 1 * S, B), ("end", 1 * S + 10, B, 0, 0), ("start", 2 * S, A),
             ("enter", 4 * S, A, 7, "x")], ["--time", "1,3"])
    assert r["time_ns"] == {"first": 1 * S, "last": 2 * S}
    assert r["scans"]["not_due"] == 1


def test_selection_events_in_counts_bad_kscand_events() -> None:
    """selection.events_in is every kscand event perf handed the report, bad ones
    included (it left out the bad ones once they were named `kmem:...`)."""
    r = run([("start", 1 * S, A), ("bad", 1 * S + 5, "kmem__kmem_scan_mm_migrate"),
             ("bad", 1 * S + 6, "sched__sched_process_fork"), ("end", 2 * S, A, 1, 0)],
            ["--node", "0"])
    assert r["bad_events"] == {"kmem:kmem_scan_mm_migrate": 1,
                               "sched:sched_process_fork": 1}
    assert r["selection"]["events_in"] == 3


def test_a_batch_begun_before_the_time_window_is_no_sequence_break() -> None:
    """--time 3.5,: A's second lifetime (entered at 2 s, outside the window) is in the middle
    of a kmigrated batch when the window opens. Its enter was not kept, so its first kept
    migrate (msuccess 2) is a batch begun before, as for a lifetime entered before the
    recording (it was a sequence break for any generation but 0)."""
    script = [("mig", 1 * S, A, 0, 1), ("enter", 2 * S, A, 7, "x"), ("mig", 3 * S, A, 0, 1),
              ("mig", 4 * S, A, 0, 2), ("mig", 5 * S, A, 0, 3)]
    r = run(script, ["--time", "3.5,"])
    assert order(r) == [("0x%x" % A, 1)]
    mig = r["migrations"]
    assert (mig["sequence_breaks"], mig["batches"], mig["batch_size"]) == (0, 0, None)
    assert r["oddities"]["batches_begun_before_recording"] == 1
    whole = run(script)["migrations"]     # without the window: one batch of 3, no break
    assert (whole["sequence_breaks"], whole["batches"]) == (0, 2)


def test_time_last_covers_a_visit_before_a_scan_node_dropped() -> None:
    """--node 0: A's start at 1 s is a not-due visit (B's start followed it), kept; B's scan
    ended on node 1 and goes with its start. time_ns is A's start alone (last was null)."""
    r = run([("start", 1 * S, A), ("start", 2 * S, B), ("end", 3 * S, B, 1, 1)],
            ["--node", "0"])
    assert r["time_ns"] == {"first": 1 * S, "last": 1 * S}
    assert r["scans"]["not_due"] == 1 and r["events"]["kmem_scan_mm_start"] == 1


def test_detail_visits_leave_out_a_start_in_flight() -> None:
    """kscand_detail's `visits` are "its scan starts, completed or not due" (docs/report.md,
    "Per mm"); a start pending when the recording ended is in flight, "neither a completed
    scan nor an unpaired start" ("How the report counts"): A has 1 completed scan and 1
    start in flight, so 1 visit (the report counted 2)."""
    r = run([("start", 1 * S, A), ("end", 1 * S + 10, A, 0, 0), ("start", 2 * S, A)])
    assert r["scans"]["in_flight"] == 1
    assert r["kscand_detail"]["by_mm"][0]["visits"] == 1


def test_backlog_counts_attempts_no_end_queued_as_unqueued() -> None:
    """Attempts beyond every page queued, that no later scan end takes, "served pages the
    report never saw queued (queued before the recording, ...)": `attempts_unqueued`
    (docs/report.md, "kmigrated's backlog"; under --time "its attempts in the window are
    attempts_unqueued"). A's 2 migrations with no scan end: 2 unqueued (the report: 0)."""
    r = run([("mig", 1 * S, A, 0, 1), ("mig", 1 * S + 10, A, 0, 2)])
    assert r["backlog"]["pages_attempted"] == 2
    assert r["backlog"]["attempts_unqueued"] == 2
