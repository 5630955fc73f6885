"""The fork-pattern note (issue 24): a process that forks faster than NUMA balancing's scan
delay is never scanned by it. Expectations worked out by hand from the rule in
docs/kscand-vs-numa-balancing.md."""

from __future__ import annotations

from kscand_perf.forks import ForkRates, fork_notes, numa_balancing_mode, scan_delay_ms

MS = 1000000


def rates(pid: int, gap_ms: int, n: int) -> ForkRates:
    r = ForkRates()
    for i in range(n):
        r.fork(5000 * MS + i * gap_ms * MS, pid)
    return r


def test_a_fast_forking_process_that_nb_never_promoted_gets_the_note() -> None:
    notes = fork_notes(rates(137, 700, 29).rates(), 2, 1000, [], {137: ("kscand-workload", 7576)})
    assert len(notes) == 1
    assert "kscand-workload (pid 137) forked 29 times, once every 700 ms" in notes[0]
    assert "scan delay (1000 ms)" in notes[0] and "kscand promoted 7,576 pages" in notes[0]
    assert "patch/0003" in notes[0]


def test_no_note_when_nb_is_off_unknown_or_promoted_it() -> None:
    r = rates(137, 700, 29).rates()
    owners = {137: ("w", 10)}
    assert fork_notes(r, 0, 1000, [], owners) == []
    assert fork_notes(r, None, 1000, [], owners) == []
    assert fork_notes(r, 2, 1000, [137], owners) == []


def test_no_note_for_slow_or_few_forks_or_processes_kscand_did_not_promote() -> None:
    owners = {137: ("w", 10)}
    assert fork_notes(rates(137, 5000, 10).rates(), 2, 1000, [], owners) == []
    assert fork_notes(rates(137, 1000, 10).rates(), 2, 1000, [], owners) == []  # not faster
    assert fork_notes(rates(137, 10, 2).rates(), 2, 1000, [], owners) == []  # 2 < 3 forks
    assert fork_notes(rates(138, 10, 50).rates(), 2, 1000, [], owners) == []


def test_the_scan_delay_comes_from_the_knobs_else_the_default() -> None:
    assert scan_delay_ms({"numa_balancing_scan_delay_ms": "500"}) == (500, True)
    assert scan_delay_ms({"numa_balancing_scan_delay_ms": "x"}) == (1000, False)
    assert scan_delay_ms(None) == (1000, False)
    notes = fork_notes(rates(1, 700, 5).rates(), 1, 500, [], {1: ("a", 1)})
    assert notes == []  # 700 ms is slower than a 500 ms delay
    assert numa_balancing_mode({"numa_balancing": "2"}) == 2
    assert numa_balancing_mode({"numa_balancing": "on"}) is None
    assert numa_balancing_mode(None) is None


def test_out_of_order_forks_keep_first_and_last() -> None:
    r = ForkRates()
    for t in (3, 1, 2):
        r.fork(t * 100 * MS, 9)
    (rate,) = r.rates()
    assert (rate.forks, rate.first_ns, rate.last_ns) == (3, 100 * MS, 300 * MS)
    assert rate.mean_gap_ns == 100 * MS


def _session_report(tmp_path, knobs: str, nb_pid=None):  # type: ignore[no-untyped-def]
    """A session fed as the handlers feed it: kscand promotes 3 pages of pid 137 (mm A),
    which forks every 700 ms; kmigrated's own migrate_pages calls; the knobs file."""
    import json

    from kscand_perf.options import parse
    from kscand_perf.session import KNOBS_SUFFIX, Session
    data = tmp_path / "perf.data"
    data.write_bytes(b"")
    (tmp_path / ("perf.data" + KNOBS_SUFFIX)).write_text(knobs)
    s = Session(parse(["--json"]))
    s.input = str(data)
    a, S, A = s.analyzer, 10**9, 0xFFFF888000001000
    a.mm_enter(1 * S, 137, "workload", A)
    a.sched_exec(1 * S, 137, "/usr/bin/workload", 137)  # A is pid 137's
    for i in range(6):  # each child's mm entered in the parent's context, then the fork
        a.mm_enter(1 * S + i * 700 * MS, 137, "workload", A + (i + 1) * 0x1000)
        a.sched_fork(1 * S + i * 700 * MS, 137, 500 + i, "workload")
    a.scan_start(2, 0, 50, A)
    a.scan_end(2 * S + 10, 50, A, 0, 3, 2000, 1 << 30, 0)
    for i in range(3):
        a.migrate(2, 100 + i, 51, A, 0, 0, i + 1, 0)
        s.mechanisms.migrate_pages(2 * S + 100 + i, 51, "kmigrated", 1, 0, reason=5)
    if nb_pid is not None:
        s.mechanisms.migrate_pages(3 * S, nb_pid, "workload", 1, 0, reason=5)
    s.mechanisms.define_symbol("migrate:mm_migrate_pages", "reason", 5, "numa_misplaced")
    return json.loads("".join(s.render(s.report())))


def test_the_report_notes_the_fork_pattern_with_numa_balancing_on(tmp_path) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    r = _session_report(tmp_path, "numa_balancing 2\n")
    found = [n for n in r["notes"] if "forked 6 times" in n]
    assert len(found) == 1 and "workload (pid 137)" in found[0], r["notes"]
    assert "kscand promoted 3 pages" in found[0] and "default" in found[0]


def test_no_fork_note_when_numa_balancing_was_off_or_promoted_there(tmp_path) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    assert not [n for n in _session_report(tmp_path, "numa_balancing 0\n")["notes"]
                if "forked" in n]
    assert not [n for n in _session_report(tmp_path, "numa_balancing 2\n", 137)["notes"]
                if "forked" in n]
