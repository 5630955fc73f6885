"""The oracle's promotions by mechanism and kmigrated's on-CPU time (tests/oracle/mechanisms.py),
on hand-written `perf script --ns` text: the rule of issue 20's contract, call by call."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from oracle import parse_script  # noqa: E402
from oracle.mechanisms import mechanism_of, mechanisms, on_cpu  # noqa: E402


def migrate(comm: str, pid: int, t: str, ok: int, failed: int, reason: str,
            thp: str = "0 0 0", split: bool = True) -> str:
    thp_ok, thp_failed, thp_split = thp.split()
    return ("%s %d/%d [000] %s: migrate:mm_migrate_pages: nr_succeeded=%d nr_failed=%d "
            "nr_thp_succeeded=%s nr_thp_failed=%s nr_thp_split=%s%s mode=MIGRATE_ASYNC "
            "reason=%s" % (comm, pid, pid, t, ok, failed, thp_ok, thp_failed, thp_split,
                           " nr_split=0" if split else "", reason))


def start(comm: str, pid: int, t: str, reason: str = "numa_misplaced") -> str:
    return ("%s %d/%d [000] %s: migrate:mm_migrate_pages_start: mode=MIGRATE_ASYNC reason=%s"
            % (comm, pid, pid, t, reason))


def scan_migrate(t: str, rc: int) -> str:
    return ("kmigrated 36/36 [001] %s: kmem:kmem_scan_mm_migrate: mm=0x1000 rc=%d node=0 "
            "msuccess=1 mfailed=0" % (t, rc))


def switch(t: str, prev: str, prev_pid: int, nxt: str, next_pid: int, cpu: int = 1) -> str:
    return ("%s %d/%d [%03d] %s: sched:sched_switch: prev_comm=%s prev_pid=%d prev_prio=120 "
            "prev_state=%s ==> next_comm=%s next_pid=%d next_prio=120"
            % (prev, prev_pid, prev_pid, cpu, t, prev, prev_pid,
               "S" if prev == "kmigrated" else "R+", nxt, next_pid))


def test_mechanism_rule() -> None:
    assert mechanism_of("kmigrated", "numa_misplaced") == "kscand"
    assert mechanism_of("kscand-workload", "numa_misplaced") == "numa_balancing"
    assert mechanism_of("kmigrated", "demotion") == "demotion"
    assert mechanism_of("kdamond.0", "damon") == "damon"
    assert mechanism_of("kcompactd0", "compaction") == "other"
    assert mechanism_of("x", "7") == "other"       # a reason perf could not name


def test_counts_per_mechanism() -> None:
    text = "\n".join([
        start("kmigrated", 36, "1.000000000"),
        migrate("kmigrated", 36, "1.000000100", 1, 0, "numa_misplaced"),
        scan_migrate("1.000000200", 0),
        start("kmigrated", 36, "1.100000000"),
        migrate("kmigrated", 36, "1.100000100", 0, 1, "numa_misplaced"),
        scan_migrate("1.100000200", -11),
        scan_migrate("1.150000000", 10),           # never reached migrate_pages
        start("wl", 200, "1.200000000"),
        migrate("wl", 200, "1.200000100", 1, 0, "numa_misplaced"),
        start("wl", 200, "1.300000000"),
        migrate("wl", 200, "1.300000100", 512, 0, "numa_misplaced", "1 0 0"),
        migrate("other-wl", 300, "1.310000000", 0, 2, "numa_misplaced", split=False),
        migrate("kswapd0", 50, "1.400000000", 30, 2, "demotion"),
        migrate("wl", 200, "1.410000000", 4, 0, "demotion"),
        migrate("kdamond.0", 60, "1.500000000", 3, 0, "damon"),
        migrate("kcompactd0", 40, "1.600000000", 5, 1, "compaction", "0 0 1"),
        migrate("wl", 200, "1.700000000", 1, 0, "syscall_or_cpuset"),
        start("wl", 200, "1.800000000"),           # no end: the recording stopped
    ])
    got = mechanisms(parse_script(text))
    assert got is not None
    by = got["by_mechanism"]
    assert by["kscand"] == {"calls": 2, "pages_succeeded": 1, "pages_failed": 1,
                            "thp_succeeded": 0, "thp_failed": 0, "thp_split": 0}
    assert by["numa_balancing"] == {"calls": 3, "pages_succeeded": 513, "pages_failed": 2,
                                    "thp_succeeded": 1, "thp_failed": 0, "thp_split": 0}
    assert by["demotion"]["calls"] == 2 and by["demotion"]["pages_succeeded"] == 34
    assert by["damon"]["calls"] == 1 and by["damon"]["pages_succeeded"] == 3
    assert by["other"] == {"calls": 2, "pages_succeeded": 6, "pages_failed": 1,
                           "thp_succeeded": 0, "thp_failed": 0, "thp_split": 1}
    assert sorted(got["other_by_reason"]) == ["compaction", "syscall_or_cpuset"]
    assert got["other_by_reason"]["compaction"]["pages_failed"] == 1
    assert got["demotion_by_context"] == {"kswapd": 1, "direct": 1}
    assert got["numa_balancing_by_process"] == [
        {"pid": 200, "comm": "wl", "calls": 2, "pages_succeeded": 513, "pages_failed": 0},
        {"pid": 300, "comm": "other-wl", "calls": 1, "pages_succeeded": 0, "pages_failed": 2}]
    assert (got["starts"], got["starts_without_end"]) == (5, 1)
    assert got["cross_check"] == {"kmigrated_pages_succeeded": 1, "kscand_rc0_events": 1,
                                  "equal": True}


def test_no_migrate_events_no_mechanisms() -> None:
    assert mechanisms(parse_script(scan_migrate("1.000000000", 0))) is None
    # starts alone are no calls
    assert mechanisms(parse_script(start("kmigrated", 36, "1.000000000"))) is None


def test_a_start_followed_by_another_start_had_no_end() -> None:
    text = "\n".join([start("kmigrated", 36, "1.000000000"), start("kmigrated", 36, "1.100000000"),
                      migrate("kmigrated", 36, "1.200000000", 1, 0, "numa_misplaced")])
    got = mechanisms(parse_script(text))
    assert got is not None and (got["starts"], got["starts_without_end"]) == (2, 1)


def test_cross_check_unequal() -> None:
    text = "\n".join([migrate("kmigrated", 36, "1.000000000", 1, 0, "numa_misplaced"),
                      scan_migrate("1.100000000", 0), scan_migrate("1.200000000", 0)])
    got = mechanisms(parse_script(text))
    assert got is not None
    assert got["cross_check"] == {"kmigrated_pages_succeeded": 1, "kscand_rc0_events": 2,
                                  "equal": False}


def test_kmigrated_on_cpu_time() -> None:
    """Complete stretches only: running when the recording began or at its end adds nothing."""
    text = "\n".join([
        switch("1.000000000", "kmigrated", 36, "swapper/1", 0),        # out, never seen in
        switch("1.100000000", "swapper/1", 0, "kmigrated", 36),        # in
        switch("1.100300000", "kmigrated", 36, "kscand", 35),          # out: 300 us
        switch("1.200000000", "kscand", 35, "kmigrated", 36),          # in
        switch("1.200000500", "kmigrated", 36, "swapper/1", 0),        # out: 500 ns
        switch("1.300000000", "swapper/0", 0, "kmigrated", 37, cpu=0),  # a second kmigrated
        switch("1.400000000", "kworker/1:0 x", 12, "kmigrated", 36),   # in, at the end
    ])
    got = on_cpu(parse_script(text))
    assert got == {"pids": [36, 37], "cpu_ns": 300_500, "stretches": 2, "out_without_in": 1,
                   "running_at_end": 2, "switches": 7}
    assert on_cpu(parse_script(text), "kscand")["cpu_ns"] == 99_700_000
