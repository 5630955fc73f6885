"""Starts in flight at the end of the recording, apart from the unpaired starts (issue 23):
`scans.not_due` counts the starts no end followed (not-due visits, or ends not recorded),
`scans.in_flight` the starts still pending on a kscand thread when the recording ended."""

from __future__ import annotations

from test_oracle_findings import A, B, S, run


def test_the_last_start_is_in_flight_not_a_not_due_visit() -> None:
    r = run([("start", 1 * S, A), ("start", 2 * S, B), ("end", 2 * S + 10, B, 1, 0),
             ("start", 3 * S, A)], ["--interval", "1"])
    s = r["scans"]
    assert (s["completed"], s["not_due"], s["in_flight"]) == (1, 1, 1)
    assert r["events"]["kmem_scan_mm_start"] == 3
    rows = {m["mm"]: m["scans"] for m in r["mms"]}
    assert (rows["0x%x" % A]["not_due"], rows["0x%x" % A]["in_flight"]) == (1, 1)
    # an interval counts unpaired starts only: the one at 1 s, not the one in flight at 3 s
    assert [i["not_due"] for i in r["over_time"]["intervals"]] == [1, 0, 0]


def test_a_start_a_time_window_cuts_is_unpaired_unless_its_thread_stopped() -> None:
    """--time 0,2.5: A's start at 2 s is pending when the window closes. Its thread starts
    again at 3 s (outside the window), so it was no start in flight at the recording's end:
    an unpaired start. Without that later start it is in flight."""
    script = [("start", 1 * S, B), ("end", 1 * S + 10, B, 1, 0), ("start", 2 * S, A)]
    s = run(script + [("start", 3 * S, A)], ["--time", "0,2.5"])["scans"]
    assert (s["not_due"], s["in_flight"]) == (1, 0)
    s = run(script, ["--time", "0,2.5"])["scans"]
    assert (s["not_due"], s["in_flight"]) == (0, 1)


def test_a_pointer_entered_again_leaves_no_start_in_flight() -> None:
    r = run([("start", 1 * S, A), ("enter", 2 * S, A, 7, "x")])
    assert (r["scans"]["not_due"], r["scans"]["in_flight"]) == (1, 0)
