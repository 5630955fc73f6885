"""Issue 12's bad inputs, one test (or a few) per item, each with an expectation worked
out by hand from the tracepoints' rules, or taken from another tool (perf's own output).
Most go straight into the analysis core; the ones about perf itself run perf."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from typing import Any, Dict, List, Sequence, Tuple

import pytest

from kscand_perf.analysis import Analyzer, AnalyzerConfig
from kscand_perf.filtered import make_analyzer
from kscand_perf.errors import UsageError
from kscand_perf.options import parse
from kscand_perf.render import csv_tables, text, to_json
from kscand_perf.report import Report, Selection, build
from kscand_testkit.churn import churn
from kscand_testkit.perfdata import write_trace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")
SMALL = os.path.join(ROOT, "tests", "data", "small.data")
REAL = os.path.join(os.path.dirname(ROOT), "shared", "traces", "kscand-real-1.data")
A, B = 0xFFFF888000001000, 0xFFFF888000002000
S = 1000000000
KSCAND, KSCAND2, KMIG = 50, 52, 51
END = (0, 5, 2000, 1 << 30, 0)  # start, total, scan_period, scan_size, target_node


def run(events: Sequence[Tuple[Any, ...]], config: AnalyzerConfig = AnalyzerConfig(),
        selection: Selection = Selection()) -> Tuple[Analyzer, Report, Dict[str, Any]]:
    a = make_analyzer(config)
    for kind, *args in events:
        getattr(a, kind)(*args)
    report = build(a, selection)
    return a, report, to_json(report)


def perf_report(perf: str, trace: str, args: Sequence[str], **kw: Any) -> Any:
    return subprocess.run([perf, "script", "-s", SCRIPT, "-i", trace, "--"] + list(args),
                          stdout=kw.pop("stdout", subprocess.PIPE), stderr=subprocess.PIPE,
                          timeout=300, **kw)


# 1. --time with nan or inf -----------------------------------------------------------

@pytest.mark.parametrize("window", ["nan,", ",nan", "inf,", "1e400,", "-inf,5"])
def test_1_time_nan_or_inf_is_a_usage_error(window: str) -> None:
    with pytest.raises(UsageError, match="--time"):
        parse(["--time", window])


def test_1_time_nan_through_perf_is_one_line_exit_2(perf: str) -> None:
    proc = perf_report(perf, SMALL, ["--time", "nan,"])
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err
    assert err.count("\n") == 1 and "--time" in err


# 2. writing the report fails -----------------------------------------------------------

def test_2_reader_gone_is_one_line_exit_1(perf: str, tmp_path: Any) -> None:
    trace = str(tmp_path / "churn.data")
    write_trace(trace, churn(3000))  # a JSON of several MB: more than a pipe holds
    r, w = os.pipe()
    os.close(r)  # the reader is gone before perf writes
    try:
        proc = perf_report(perf, trace, ["--json"], stdout=w)
    finally:
        os.close(w)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "cannot write the report" in err
    assert len([ln for ln in err.splitlines() if "kscand_report" in ln]) == 1


def test_2_full_disk_is_one_line_exit_1(perf: str) -> None:
    require_full = os.path.exists("/dev/full")
    if not require_full:
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        proc = perf_report(perf, SMALL, ["--json"], stdout=full)
    err = proc.stderr.decode()
    assert proc.returncode == 1 and "Traceback" not in err
    assert "cannot write the report: No space left on device" in err


# 3. a recording that begins inside a kmigrated batch ------------------------------------

def test_3_batch_begun_before_the_recording_is_not_a_break() -> None:
    # mm A was registered before the recording: its first attempt is number 5 of a batch
    _, report, j = run([("migrate", 1, 0, KMIG, A, 0, 0, 3, 2),
                        ("migrate", 1, 1, KMIG, A, 10, 0, 3, 3),
                        ("migrate", 1, 2, KMIG, A, 0, 0, 1, 0),
                        ("migrate", 1, 3, KMIG, A, 0, 0, 2, 0)])
    m = j["migrations"]
    assert m["sequence_breaks"] == 0
    assert m["batches"] == 1 and m["batch_size"]["count"] == 1 and m["batch_size"]["max"] == 2
    assert j["oddities"]["batches_begun_before_recording"] == 1
    assert any("begun before the recording" in n and "not lost" in n for n in j["notes"])


def test_3_an_mm_entered_during_the_recording_must_begin_at_1() -> None:
    _, _, j = run([("mm_enter", 5, 1000, "bash", A),
                   ("migrate", 1, 0, KMIG, A, 0, 0, 3, 2)])
    assert j["migrations"]["sequence_breaks"] == 1
    assert j["oddities"]["batches_begun_before_recording"] == 0
    assert j["migrations"]["batch_size"] is None and j["migrations"]["batches"] == 0


# 4. time going backwards ---------------------------------------------------------------

def test_4_end_before_its_start_is_no_zero_duration_scan() -> None:
    _, _, j = run([("scan_start", 10, 0, KSCAND, A),
                   ("scan_end", 10 * S - 3500000000, KSCAND, A) + END])
    s = j["scans"]
    assert (s["completed"], s["not_due"], s["orphan_ends"], s["duration_ns"]) == (0, 1, 1, None)
    assert j["oddities"]["ends_before_start"] == 1
    assert any("time went backwards" in n for n in j["notes"])


# 5. two kscand threads interleaving -------------------------------------------------------

def test_5_interleaved_threads_pair_per_thread() -> None:
    _, _, j = run([("scan_start", 1, 0, KSCAND, A),
                   ("scan_start", 1, 100, KSCAND2, B),
                   ("scan_end", S + 300, KSCAND, A) + END,
                   ("scan_end", S + 700, KSCAND2, B) + END])
    s = j["scans"]
    assert (s["completed"], s["not_due"], s["orphan_ends"]) == (2, 0, 0)
    assert (s["duration_ns"]["min"], s["duration_ns"]["max"]) == (300, 600)
    assert j["oddities"]["scan_threads"] == 2
    assert any("2 threads" in n for n in j["notes"])


def test_5_one_thread_still_pairs_with_the_last_start_only() -> None:
    _, _, j = run([("scan_start", 1, 0, KSCAND, A), ("scan_start", 1, 100, KSCAND, B),
                   ("scan_end", S + 300, KSCAND, A) + END])
    s = j["scans"]
    # A's start is a not-due visit, B's in flight at the end (A's end pairs with neither)
    assert (s["completed"], s["not_due"], s["in_flight"], s["orphan_ends"]) == (0, 1, 1, 1)


# 6. perf's duplicated sample ------------------------------------------------------------

def test_6_duplicated_samples_count_once() -> None:
    _, _, j = run([("scan_start", 1, 0, KSCAND, A), ("scan_start", 1, 0, KSCAND, A),
                   ("scan_end", S + 300, KSCAND, A) + END,
                   ("scan_end", S + 300, KSCAND, A) + END,
                   ("migrate", 1, 400, KMIG, A, 0, 0, 1, 0),
                   ("migrate", 1, 400, KMIG, A, 0, 0, 1, 0)])
    s = j["scans"]
    assert (s["completed"], s["not_due"], s["orphan_ends"]) == (1, 0, 0)
    assert j["migrations"]["attempted"] == 1 and j["migrations"]["sequence_breaks"] == 0
    assert j["oddities"]["duplicate_samples"] == {
        "kmem_scan_mm_end": 1, "kmem_scan_mm_migrate": 1, "kmem_scan_mm_start": 1}
    assert j["accounting"]["events_in"] == 6 and j["accounting"]["duplicates"] == 3


# 7. --node: the start of a scan that ended on another node ----------------------------------

def test_7_node_filter_accounts_for_every_event() -> None:
    events = [("scan_start", 1, 0, KSCAND, A), ("scan_end", S + 10, KSCAND, A, 0, 0, 2000,
                                                1 << 30, 1),
              ("scan_start", 1, 20, KSCAND, B), ("scan_end", S + 30, KSCAND, B) + END,
              ("migrate", 1, 40, KMIG, B, 0, 0, 1, 0), ("migrate", 1, 50, KMIG, A, 0, 1, 1, 0)]
    _, report, j = run(events, AnalyzerConfig(node=0))
    acc = j["accounting"]
    # in: 6; kept: B's start, end and migration to node 0; dropped: A's end, its start
    # and the migration to node 1
    assert (acc["events_in"], acc["analysed"], acc["filtered"]) == (6, 3, 3)
    assert j["filtered_events"] == 3


# 8. --time and sched_process_exit; the text says what was dropped ----------------------------

def test_8_time_window_drops_sched_exit_and_the_text_says_so() -> None:
    _, report, j = run([("sched_exit", 1 * S, 300), ("sched_exit", 5 * S, 301),
                        ("scan_start", 5, 0, KSCAND, A)],
                       AnalyzerConfig(time_window_ns=(2 * S, 10 * S)))
    assert j["other_events"] == {"sched:sched_process_exit": 1}
    assert j["filtered_events"] == 1
    out = text(report)
    assert "events in: 3 = 1 analysed + 1 other handled + 1 filtered out" in out
    assert "1 events were dropped by --time" in out


def test_8_time_window_agrees_with_perfs_own(perf: str) -> None:
    if not os.path.exists(REAL):
        pytest.skip("the shared real trace is not here (../shared/traces)")
    proc = perf_report(perf, REAL, ["--json", "--time", "30,50"])
    assert proc.returncode == 0, proc.stderr.decode()
    j = json.loads(proc.stdout)
    # perf's own --time on the same window, counted from its text output
    own = subprocess.run([perf, "script", "-i", REAL, "--time", "30,50", "-F", "event"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=300)
    lines = own.stdout.decode().split()
    assert j["other_events"].get("sched:sched_process_exit", 0) == sum(
        1 for ln in lines if ln.startswith("sched:sched_process_exit"))
    assert sum(j["events"].values()) == sum(1 for ln in lines if ln.startswith("kmem:"))


# 9. negative msuccess --------------------------------------------------------------------

from test_handlers import finish as _finish  # noqa: E402  (perf's calls, simulated)
from test_handlers import load as _load_script  # noqa: E402


def test_9_negative_msuccess_is_a_bad_event_not_a_huge_batch() -> None:
    mod = _load_script(["--json"])
    h = mod.kmem__kmem_scan_mm_migrate
    # perf 6.1 hands msuccess = -5 zero-extended
    h("kmem__kmem_scan_mm_migrate", None, 0, 1, 0, KMIG, "kmigrated", None, A, 0, 0,
      (1 << 32) - 5, 0)
    h("kmem__kmem_scan_mm_migrate", None, 0, 1, 1, KMIG, "kmigrated", None, A, 0, 0, 1, 0)
    j = _finish(mod)
    assert j["bad_events"] == {"kmem:kmem_scan_mm_migrate": 1}
    assert j["oddities"]["bad_reasons"] == {"negative msuccess or mfailed": 1}
    assert j["migrations"]["attempted"] == 1 and j["migrations"]["batch_size"]["max"] == 1
    assert any("negative msuccess" in n for n in j["notes"])


# 10. non-tracepoint samples ----------------------------------------------------------------

def test_10_non_tracepoint_samples_are_counted_by_the_handler() -> None:
    mod = _load_script(["--json"])
    for _ in range(3):
        mod.process_event({"ev_name": "cpu-clock", "sample": {}})
    report = mod._session.report()
    assert report.accounting.non_tracepoint == 3 and report.accounting.events_in == 3
    assert report.oddities.non_tracepoint == {"cpu-clock": 3}
    assert any("no kscand events" in n for n in report.notes)
    # and the script says it in one line and exits 1, printing no report of zeros
    err, out = io.StringIO(), io.StringIO()
    with redirect_stderr(err), redirect_stdout(out), pytest.raises(SystemExit) as e:
        mod.trace_end()
    assert e.value.code == 1 and out.getvalue() == ""
    assert err.getvalue().startswith("kscand_report.py: error: ") and err.getvalue().count(
        "\n") == 1 and "no kscand events among its 3 events (cpu-clock (not a tracepoint) 3)" \
        in err.getvalue()


def test_10_cpu_clock_recording_through_perf(perf: str, tmp_path: Any) -> None:
    data = str(tmp_path / "cc.data")
    rec = subprocess.run([perf, "record", "-q", "-e", "cpu-clock", "-o", data, "--",
                          "sleep", "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=120)
    if rec.returncode != 0 or not os.path.exists(data):
        pytest.skip("perf record -e cpu-clock does not work here: %s"
                    % rec.stderr.decode().strip()[:200])
    own = subprocess.run([perf, "script", "-i", data, "-F", "event"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, timeout=120)
    samples = len(own.stdout.decode().split())
    proc = perf_report(perf, data, ["--json"])
    # nothing to report: one line naming what the recording holds, exit 1 (issue 19)
    assert proc.returncode == 1 and proc.stdout == b"", proc.stderr.decode()
    (line,) = proc.stderr.decode().splitlines()
    assert line.startswith("kscand_report.py: error: %s: no kscand events among its %s events "
                           "(cpu-clock (not a tracepoint) %s)" % (data, samples, samples)), line


# 11. -h without perf.data -------------------------------------------------------------------

def test_11_help_without_perf_data(tmp_path: Any) -> None:
    proc = subprocess.run([sys.executable, SCRIPT, "-h"], cwd=str(tmp_path),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 0 and proc.stdout.decode().startswith("usage: kscand_report.py")


def test_11_usage_errors_point_to_a_help_that_works(perf: str, tmp_path: Any) -> None:
    proc = perf_report(perf, SMALL, ["--top", "x"])
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "(see: python3 " in err
    hint = err.split("(see: ", 1)[1].rsplit(")", 1)[0].split()
    assert hint[-1] == "-h"
    again = subprocess.run([sys.executable] + hint[1:], cwd=str(tmp_path),
                           stdout=subprocess.PIPE, timeout=60)
    assert again.returncode == 0 and b"--top N" in again.stdout


# 12. the --top footer adds up ------------------------------------------------------------------

def test_12_top_footer_adds_up() -> None:
    events: List[Tuple[Any, ...]] = []
    for i, mm in enumerate((A, B, A + 0x10)):  # three scanned lifetimes
        events += [("scan_start", 1, 100 * i, KSCAND, mm),
                   ("scan_end", S + 100 * i + 10 + i, KSCAND, mm) + END]
    events += [("scan_start", 2, 0, KSCAND, A + 0x20), ("scan_start", 2, 1, KSCAND, A + 0x30)]
    _, report, _ = run(events)
    out = text(report, top=1)
    assert ("(1 of 5 mm lifetimes, by total scan time; 2 more had a scan end or a migration "
            "(beyond --top 1); 2 more had no scan end and no migration; --top 0 shows all)"
            in " ".join(out.split()))


# 13. CSV units and column names -------------------------------------------------------------

def test_13_csv_units_and_names() -> None:
    _, report, _ = run([("scan_start", 1, 0, KSCAND, A),
                        ("scan_end", S + 3000000, KSCAND, A) + END],
                       AnalyzerConfig(unit_ns=1000000))
    tables = csv_tables(report, unit_ns=1000000)
    # in ns whatever --ms: 3 ms lies in 2**21..2**22-1 ns; every row names its run
    assert [r.rsplit(",", 1)[0] for r in tables["scan_histogram.csv"].splitlines()] == [
        "low_ns,high_ns,count", "2097152,4194303,1"]
    head = tables["scan_durations.csv"].splitlines()[0].split(",")
    assert head[:3] == ["scope", "count", "min_ns"] and "count_ns" not in head
    mm_head = tables["mms.csv"].splitlines()[0].split(",")
    assert "duration_count" in mm_head and "duration_count_ns" not in mm_head
    assert tables["scan_durations.csv"].splitlines()[1].split(",")[1:3] == ["1", "3000000"]


# 14. empty reports say why -------------------------------------------------------------------

def test_14_no_kscand_events() -> None:
    _, _, j = run([("sched_fork", 5, 1000, 1001, "sh")])
    assert any(n.startswith("no kscand events in this trace") for n in j["notes"])


def test_14_selection_that_matches_nothing() -> None:
    _, _, j = run([("scan_start", 1, 0, KSCAND, A)], selection=Selection(pids=(4242,)))
    assert "the --pid/--comm/--mm selection kept none of the 1 mm lifetimes" in j["notes"]


def test_14_node_no_scan_targeted() -> None:
    _, _, j = run([("scan_start", 1, 0, KSCAND, A), ("scan_end", S + 5, KSCAND, A) + END],
                  AnalyzerConfig(node=3))
    assert any(n.startswith("--node 3: no scan end targeted node 3") and
               n.endswith("nodes in the trace: 0") for n in j["notes"])


def test_14_time_window_before_the_trace() -> None:
    _, report, j = run([("scan_start", 19, 600000000, KSCAND, A),
                        ("mm_exit", 87 * S, 300, "x", A)],
                       AnalyzerConfig(time_window_ns=(0, 10 * S)))
    assert any("the trace runs from 19.600000 to 87.000000 s" in n for n in j["notes"])
    assert any(n.startswith("no kscand event is left: --time dropped all 2") for n in j["notes"])
    assert j["trace_time_ns"] == {"first": 19600000000, "last": 87 * S}
    out = text(report)
    assert out.startswith("kscand report: 0 of 2 kscand events kept by --time\n"
                          "(the trace runs from 19.600000")


# 15. perf's own --pid/--comm --------------------------------------------------------------------

def test_15_perf_task_filter_is_detected(perf: str) -> None:
    proc = subprocess.run([perf, "script", "--pid", "1", "-s", SCRIPT, "-i", SMALL, "--",
                           "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=120)
    # perf's filter left no event: nothing to report, and the one line says why
    assert proc.returncode == 1 and proc.stdout == b"", proc.stderr.decode()
    (line,) = proc.stderr.decode().splitlines()
    assert "no events at all: nothing to report; perf script --pid filtered the samples" in line


def test_15_our_own_pid_option_is_not_perfs() -> None:
    mod = _load_script([])
    f = mod._perf_filters
    assert f(["perf", "script", "-s", "x.py", "--", "--pid", "5"], ["--pid", "5"]) == []
    assert f(["perf", "script", "--comm=bash", "-s", "x.py"], []) == ["--comm"]
    assert f(["perf", "script", "-C0", "-s", "x.py"], []) == ["-C"]


def test_15_enter_exit_only() -> None:
    _, _, j = run([("mm_enter", 5, 1000, "bash", A), ("mm_exit", 6, 1001, "x", A)])
    assert any("filtered by task" in n for n in j["notes"])


# 16. unknown owners explained ----------------------------------------------------------------

def test_16_unknown_owner_rows_are_explained() -> None:
    _, _, j = run([("scan_start", 1, 0, KSCAND, A), ("scan_end", S + 5, KSCAND, A) + END,
                   ("scan_start", 1, 10, KSCAND, B), ("scan_end", S + 15, KSCAND, B) + END,
                   ("mm_exit", 2 * S, 777, "java", B),
                   ("migrate", 2, 1, KMIG, A, 0, 0, 1, 0)])
    # A: owner unknown (never exited, no sched events), 1 end and 1 migration; B: pid 777
    assert j["oddities"]["unknown_owner"] == {"lifetimes": 1, "scan_ends": 1, "migrations": 1}
    assert any(n.startswith("1 of 2 mm lifetimes have no known owner (pid -, comm ?)") and
               "1 of 2 scan ends and 1 of 1 migration attempts" in n for n in j["notes"])


# 17. units --------------------------------------------------------------------------------------

def test_17_units_follow_the_option_and_separators() -> None:
    events: List[Tuple[Any, ...]] = [("scan_start", 1, i, KSCAND, B) for i in range(2000)]
    events += [("scan_start", 2, 0, KSCAND, A), ("scan_end", 2 * S + 5000, KSCAND, A, 0, 3,
                                                 2000, 1 << 30, 0),
               ("migrate", 2, 2006000, KMIG, A, 0, 0, 1, 0),
               ("scan_start", 3, 0, KSCAND, A), ("scan_end", 3 * S + 5000, KSCAND, A) + END]
    _, report, _ = run(events)
    out = text(report, unit_ns=1000000)
    line = [ln for ln in out.splitlines() if ln.startswith("visits per completed scan")][0]
    assert line.split()[-1] == "1,001.0"  # 2,002 starts, 2 completed
    # the queue wait (issue 20: replaces the detection latency), in --ms
    assert re.search(r"scan start to first attempt +1 +2.006 +2.006", out), out
    assert "1 interval:\n  mean 1,000.000 ms, min 1,000.000 ms, max 1,000.000 ms" in out
    assert "full address-space passes (wraps)" in out
    headers = [ln for ln in out.splitlines() if ln.split()[:2] == ["mm", "gen"]]
    assert headers[0].split()[-2:] == ["mean", "max"]  # Processes, durations in --ms
    assert headers[1].split()[-1] == "success" and " ok" not in headers[1]  # by process
