"""The perf handlers never raise: wrong types, missing fields, other versions.

The script is loaded as perf loads it (a module whose functions perf calls by
name) and its handlers are called directly with the arguments perf passes.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
from contextlib import redirect_stdout
from types import ModuleType
from typing import Any, Dict, List

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")
COMMON = ("ctx", 0)  # context, common_cpu
MM = 0xFFFF888000001000


def load(argv: List[str]) -> ModuleType:
    spec = importlib.util.spec_from_file_location("kscand_report_under_test", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    old = sys.argv
    sys.argv = ["kscand_report.py"] + argv
    try:
        mod.trace_begin()
    finally:
        sys.argv = old
    return mod


def finish(mod: ModuleType) -> Dict[str, Any]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        mod.trace_end()
    return json.loads(buf.getvalue())


def call(mod: ModuleType, handler: str, secs: int, nsecs: int, pid: int, comm: str,
         *fields: Any) -> None:
    name = handler.split("__", 1)[1]
    getattr(mod, handler)(handler, "ctx", 0, secs, nsecs, pid, comm, None, *fields)
    del name


def test_zero_extended_ints_are_made_signed() -> None:
    mod = load(["--json"])
    call(mod, "kmem__kmem_scan_mm_migrate", 1, 0, 51, "kmigrated", MM, 4294967285,
         4294967295, 1, 0)
    call(mod, "kmem__kmem_scan_mm_migrate", 1, 5, 51, "kmigrated", MM, 11, 0, 1, 1)
    r = finish(mod)
    assert r["migrations"]["by_rc"] == {"-11": {"name": "EAGAIN", "count": 1},
                                        "11": {"name": "KSCAND_LRU_ISOLATION_ERR", "count": 1}}
    assert r["migrations"]["by_node"]["-1"]["attempted"] == 1


def test_bad_data_is_counted_never_raised() -> None:
    mod = load(["--json"])
    call(mod, "kmem__kmem_scan_mm_start", 1, 0, 50, "kscand", MM)
    call(mod, "kmem__kmem_scan_mm_end", 1, 100, 50, "kscand", MM, "oops", 0, 2000, 1 << 30, 0)
    call(mod, "kmem__kmem_scan_mm_end", 1, 200, 50, "kscand", MM, 0, None, 2000, 1 << 30, "x")
    call(mod, "kmem__kmem_scan_mm_migrate", 1, 300, 51, "kmigrated", MM, "rc", 0, 1, 0)
    call(mod, "kmem__kmem_scan_mm_migrate", 1, 400, 51, "kmigrated", MM, 0, 0, "1", 0)
    call(mod, "kmem__kmem_mm_enter", 1, 500, 9, "bash", [MM])
    mod.trace_unhandled("sched__sched_switch", "ctx", {"prev_pid": 1})
    mod.trace_unhandled("sched__sched_switch", "ctx", {"prev_pid": 2})
    r = finish(mod)
    assert r["bad_events"] == {"kmem:kmem_scan_mm_end": 2, "kmem:kmem_scan_mm_migrate": 2,
                               "kmem:kmem_mm_enter": 1}
    # the start stays pending, in flight at the end; nothing bad reached the report
    assert (r["scans"]["in_flight"], r["scans"]["completed"], r["migrations"]["attempted"]) == (
        1, 0, 0)
    assert r["unhandled_events"] == {"sched:sched_switch": 2}  # named as other_events are
    assert any("unusable data" in n for n in r["notes"])
    assert any("not analysed" in n for n in r["notes"])


def test_v1_v2_migrate_and_extra_fields() -> None:
    mod = load(["--json"])
    # RFC V1/V2: three fields, no msuccess/mfailed
    mod.kmem__kmem_scan_mm_migrate("kmem__kmem_scan_mm_migrate", "ctx", 0, 2, 0, 51,
                                   "kmigrated", None, MM, 0, 0)
    mod.kmem__kmem_scan_mm_migrate("kmem__kmem_scan_mm_migrate", "ctx", 0, 2, 1, 51,
                                   "kmigrated", None, MM, 4294967285, 1)
    # a later kernel adding a field: accepted and ignored
    call(mod, "kmem__kmem_scan_mm_start", 2, 5, 50, "kscand", MM, 123)
    call(mod, "kmem__kmem_scan_mm_end", 2, 9, 50, "kscand", MM, 0, 1, 2000, 1 << 30, 0, 7)
    r = finish(mod)
    m = r["migrations"]
    assert (m["attempted"], m["succeeded"], m["failed"]) == (2, 1, 1)
    assert m["by_rc"]["-11"]["count"] == 1
    assert r["scans"]["completed"] == 1 and r["scans"]["duration_ns"]["total"] == 4
    assert any("V1/V2" in n for n in r["notes"])


def test_unknown_rc_is_shown_as_a_number() -> None:
    mod = load(["--json"])
    call(mod, "kmem__kmem_scan_mm_migrate", 3, 0, 51, "kmigrated", MM, 77, 0, 0, 1)
    call(mod, "kmem__kmem_scan_mm_migrate", 3, 1, 51, "kmigrated", MM, 4294967196, 0, 0, 2)
    r = finish(mod)
    assert r["migrations"]["by_rc"] == {"-100": {"name": "-100", "count": 1},
                                        "77": {"name": "77", "count": 1}}


def test_handlers_before_trace_begin_do_not_raise() -> None:
    spec = importlib.util.spec_from_file_location("kscand_report_bare", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    call(mod, "kmem__kmem_scan_mm_start", 1, 0, 50, "kscand", MM)
    mod.trace_unhandled("x__y", "ctx", {})


@pytest.mark.parametrize("argv,message", [
    (["--top", "-1"], "--top"),
    (["--pid", "abc"], "--pid"),
    (["--comm", "("], "--comm"),
    (["--time", "5"], "--time"),
    (["--time", "9,3"], "--time"),
    (["--linear", "0"], "--linear"),
    (["--json", "--csv", "x"], "not allowed"),
    (["--bogus"], "unrecognized"),
])
def test_bad_options_exit_2_with_one_line(argv: List[str], message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        load(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith("kscand_report.py: error:")


def test_missing_fields_are_counted() -> None:
    mod = load(["--json"])
    mod.kmem__kmem_scan_mm_end("kmem__kmem_scan_mm_end", "ctx", 0, 1, 0, 50, "kscand", None,
                               MM, 0, 1)
    mod.kmem__kmem_scan_mm_migrate("kmem__kmem_scan_mm_migrate", "ctx", 0, 1, 1, 51,
                                   "kmigrated", None, MM)
    mod.kmem__kmem_mm_exit("kmem__kmem_mm_exit", "ctx", 0, 1, 2, 9, "sh", None)
    mod.sched__sched_process_fork("sched__sched_process_fork", "ctx", 0, 1, 3, 9, "sh", None)
    r = finish(mod)
    assert r["bad_events"] == {"kmem:kmem_scan_mm_end": 1, "kmem:kmem_scan_mm_migrate": 1,
                               "kmem:kmem_mm_exit": 1, "sched:sched_process_fork": 1}
    assert r["migrations"]["attempted"] == 0 and r["scans"]["orphan_ends"] == 0


@pytest.mark.parametrize("handler,fields", [
    ("kmem__kmem_mm_enter", (MM,)), ("kmem__kmem_mm_exit", (MM,)),
    ("kmem__kmem_scan_mm_start", (MM,)),
    ("kmem__kmem_scan_mm_end", (MM, 0, 1, 2000, 1 << 30, 0)),
    ("kmem__kmem_scan_mm_migrate", (MM, 0, 0, 1, 0))])
def test_a_bug_of_the_analysis_raises_instead_of_counting_a_bad_event(
        handler: str, fields: Any) -> None:
    """Only the field reads and conversions, and the data errors the core raises for what it
    refuses, become bad events: any other exception of the analysis is a bug, and raises
    (issue 23: the try/except hid bugs as "bad events")."""
    mod = load(["--json"])

    def broken(*args: Any) -> None:
        raise KeyError("a bug")

    class Broken:
        mm_enter = mm_exit = scan_end = staticmethod(broken)

    mod._core = Broken()
    mod._scan_start = mod._migrate = broken
    with pytest.raises(KeyError):
        call(mod, handler, 1, 0, 50, "kscand", *fields)
    assert mod._session.analyzer.bad_events == {}


def test_zero_extended_and_signed_values_give_the_same_report() -> None:
    """perf up to 7.3 hands rc -11 as 4294967285, a fixed perf (patch/perf/0001) as -11:
    the handlers' conversion gives -11 either way."""
    reports = []
    for rc, node in ((4294967285, 4294967295), (-11, -1)):
        mod = load(["--json"])
        call(mod, "kmem__kmem_scan_mm_migrate", 1, 0, 51, "kmigrated", MM, rc, 0, 0, 1)
        call(mod, "kmem__kmem_scan_mm_end", 1, 5, 50, "kscand", MM, 0, 1, 2000, 1 << 30, node)
        reports.append(finish(mod))
    assert reports[0]["migrations"]["by_rc"] == {"-11": {"name": "EAGAIN", "count": 1}}
    assert reports[0]["scans"]["ends_by_target_node"] == {"-1": 1}
    assert reports[0]["migrations"] == reports[1]["migrations"]
    assert reports[0]["scans"] == reports[1]["scans"]


@pytest.mark.parametrize("seed", range(6))
def test_the_start_handlers_fast_path_gives_the_generic_handlers_report(seed: int) -> None:
    """trace_begin puts the core's start handler (Analyzer.start_handler: the usual start
    in line) in place of the script's: random starts (known and new mms, two kscand
    threads, repeated samples, bad values), ends, enters and exits give the same report
    through either."""
    import random
    rng = random.Random(seed)
    events = []
    t = 1000
    for _ in range(400):
        t += rng.choice((0, 1, 7, 1000))
        mm = MM + 64 * rng.randrange(6)
        pid = rng.choice((50, 50, 50, 51))
        kind = rng.random()
        if kind < 0.6:
            events.append(("kmem__kmem_scan_mm_start", pid, "kscand",
                           rng.choice((mm, mm, mm, None, "x", [1]))))
        elif kind < 0.8:
            events.append(("kmem__kmem_scan_mm_end", pid, "kscand", mm, rng.randrange(2),
                           rng.randrange(3), 2000, 1 << 20, 0))
        else:
            events.append((rng.choice(("kmem__kmem_mm_enter", "kmem__kmem_mm_exit")),
                           rng.randrange(100, 110), "w", mm))
        events[-1] = (events[-1][0], t // 1000000000, t % 1000000000) + events[-1][1:]
        if rng.random() < 0.1:  # perf 6.1's duplicated sample
            events.append(events[-1])
    reports = []
    for fast in (True, False):
        mod = load(["--json"])
        assert mod.kmem__kmem_scan_mm_start is not mod._scan_start_handler
        handlers = dict(vars(mod))
        if not fast:
            handlers["kmem__kmem_scan_mm_start"] = mod._scan_start_handler
        for name, secs, nsecs, *rest in events:
            handlers[name](name, "ctx", 0, secs, nsecs, *rest[:2], None, *rest[2:])
        reports.append(finish(mod))
    reports[0].pop("run", None)
    reports[1].pop("run", None)
    assert reports[0] == reports[1]
