"""Promotions by mechanism (issue 20): the kernel's migrate:mm_migrate_pages(_start) events,
written by the simulator with the layouts and print fmts of 6.12 and 6.1, read by every front
end (our reader, the real `perf script -s`, perf's module fed made-up samples), against the
simulator's ground truth."""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stdout
from typing import Any, Dict, List, Optional, Tuple

import pytest

from kscand_perf import mechanisms, perfmodule, schema
from kscand_perf.filtered import make_analyzer
from kscand_perf.feed import feed
from kscand_perf.options import Options
from kscand_perf.read.formats import parse_format, parse_symbols
from kscand_perf.session import Session
from kscand_testkit.formats import ALL_EVENTS, MIGRATE_PAGES, MIGRATE_PAGES_6_1
from kscand_testkit.mechanisms import MechConfig, with_migrate_events
from kscand_testkit.perfdata import write_trace
from kscand_testkit.stream import Emitted
from kscand_testkit.synth import SynthConfig, simulate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")

Trace = Tuple[str, List[Emitted], Dict[str, Any]]


def make_trace(tmp: str, mech: MechConfig, seed: int = 1, pipe: bool = False) -> Trace:
    path = os.path.join(tmp, "mech-%d-%s%s.data" % (seed, mech.kernel, "-pipe" if pipe else ""))
    events, truth = with_migrate_events(simulate(SynthConfig(seed=seed)), mech)
    write_trace(path, events, events=ALL_EVENTS + mech.events, pipe=pipe)
    return path, events, truth


def reader_output(path: str, args: Tuple[str, ...] = ("--json",)) -> str:
    session = Session.from_argv(list(args))
    session.input = path
    with open(path, "rb") as f:
        _, problem = feed(session, f)
    assert problem is None
    return session.finish()


def without_rates(m: Dict[str, Any]) -> Dict[str, Any]:
    m = copy.deepcopy(m)
    for group in ("by_mechanism", "other_by_reason"):
        for fig in m[group].values():
            assert fig.pop("pages_succeeded_per_second") is not None
    return m


def perf_script(perf: str, path: str, args: List[str]) -> str:
    proc = subprocess.run([perf, "script", "-s", SCRIPT, "-i", path, "--"] + args,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


@pytest.mark.parametrize("kernel", ["6.12", "6.1"])
def test_reader_equals_truth(tmp_path: Any, kernel: str) -> None:
    path, _, truth = make_trace(str(tmp_path), MechConfig(kernel=kernel, damon_per_s=1.0))
    report = json.loads(reader_output(path))
    assert schema.problem(report) is None
    assert without_rates(report["mechanisms"]) == truth
    m = report["mechanisms"]
    assert m["by_mechanism"]["kscand"]["calls"] > 0 and m["by_mechanism"]["demotion"]["calls"]
    assert m["by_mechanism"]["damon"]["calls"] == (0 if kernel == "6.1" else
                                                   truth["by_mechanism"]["damon"]["calls"])
    # the cross-check: kmigrated's successes are kscand's rc-0 events
    assert m["cross_check"]["equal"]
    assert m["cross_check"]["kscand_rc0_events"] == report["migrations"]["by_rc"]["0"]["count"]
    assert report["other_events"]["migrate:mm_migrate_pages"] == truth["starts"]
    assert report["accounting"]["bad"] == 0


@pytest.mark.parametrize("kernel", ["6.12", "6.1"])
def test_perf_script_gives_the_readers_json_and_text(perf: str, tmp_path: Any,
                                                     kernel: str) -> None:
    path, _, truth = make_trace(str(tmp_path), MechConfig(kernel=kernel, unknown_reason=42))
    ours = json.loads(reader_output(path))
    theirs = json.loads(perf_script(perf, path, ["--json"]))
    assert without_rates(theirs["mechanisms"]) == truth
    for r in (ours, theirs):
        r.pop("run")
    assert theirs == ours
    text = perf_script(perf, path, [])
    assert text == reader_output(path, ())
    assert "Promotions by mechanism" in text
    assert "other: 0x2a" in text  # a reason value the print fmt does not name: as perf
    assert "cross-check: kmigrated's pages succeeded" in text


def test_unknown_reason_is_its_number(tmp_path: Any) -> None:
    path, _, truth = make_trace(str(tmp_path), MechConfig(unknown_reason=-3))
    m = json.loads(reader_output(path))["mechanisms"]
    assert "0xfffffffd" in m["other_by_reason"]  # -3, as perf script prints it
    assert without_rates(m) == truth


def test_pipe_stream_and_interval_rows(tmp_path: Any) -> None:
    path, _, truth = make_trace(str(tmp_path), MechConfig(), pipe=True)
    report = json.loads(reader_output(path, ("--json", "--interval", "1")))
    assert schema.problem(report) is None
    assert without_rates(report["mechanisms"]) == truth
    rows = report["over_time"]["intervals"]
    kscand = sum(r["mechanisms_pages_succeeded"]["kscand"] for r in rows)
    # every kscand call is in a row (its migrate event opened or followed the first one)
    assert kscand == truth["by_mechanism"]["kscand"]["pages_succeeded"]
    total = sum(sum(r["mechanisms_pages_succeeded"].values()) for r in rows)
    assert 0 < total <= sum(f["pages_succeeded"] for f in truth["by_mechanism"].values())


def test_csv_has_mechanisms_table(tmp_path: Any) -> None:
    path, _, truth = make_trace(str(tmp_path), MechConfig())
    out = str(tmp_path / "csv")
    reader_output(path, ("--csv", out, "--interval", "1"))
    with open(os.path.join(out, "mechanisms.csv")) as f:
        lines = f.read().splitlines()
    assert lines[0].startswith("group,name,pid,calls,pages_succeeded")
    kscand = [line for line in lines if line.startswith("mechanism,kscand,")]
    assert kscand and kscand[0].split(",")[4] == str(
        truth["by_mechanism"]["kscand"]["pages_succeeded"])
    with open(os.path.join(out, "intervals.csv")) as f:
        head = f.readline()
    assert "kscand_pages_succeeded" in head


def test_no_events_no_section(tmp_path: Any) -> None:
    path = str(tmp_path / "plain.data")
    write_trace(path, simulate(SynthConfig(seed=1)))
    assert json.loads(reader_output(path))["mechanisms"] is None
    assert "Promotions by mechanism" not in reader_output(path, ())


def test_filters(tmp_path: Any) -> None:
    path, events, truth = make_trace(str(tmp_path), MechConfig())
    top = truth["numa_balancing_by_process"][0]
    r = json.loads(reader_output(path, ("--json", "--pid", str(top["pid"]))))
    m = r["mechanisms"]
    # --pid selects the faulting tasks listed; the totals stay the whole system's
    assert m["numa_balancing_by_process"] == [top]
    assert without_rates(m)["by_mechanism"] == truth["by_mechanism"]
    # --time applies: the events of the window only
    # a boundary in a gap of the events (the option's seconds are rounded to the us)
    times = [e.time_ns for e in events]
    i = len(times) // 2
    while times[i + 1] - times[i] < 20000:
        i += 1
    mid = (times[i] + 10000) // 1000 * 1000
    r = json.loads(reader_output(path, ("--json", "--time", "%d.%06d," % (
        mid // 10**9, mid % 10**9 // 1000))))
    kept = sum(1 for e in events if e.event == "mm_migrate_pages" and e.time_ns >= mid)
    assert sum(f["calls"] for f in r["mechanisms"]["by_mechanism"].values()) == kept
    assert r["mechanisms"]["cross_check"]["equal"]


def test_print_fmt_symbols() -> None:
    text = MIGRATE_PAGES.format_text(713)
    tables = parse_symbols(text)
    assert tables["reason"][5] == "numa_misplaced" and tables["reason"][9] == "damon"
    assert tables["mode"] == {0: "MIGRATE_ASYNC", 1: "MIGRATE_SYNC_LIGHT", 2: "MIGRATE_SYNC"}
    fmt = parse_format("migrate", MIGRATE_PAGES_6_1.format_text(700))
    assert fmt is not None and fmt.field("large_folio_split") is None
    assert 9 not in fmt.symbols["reason"]


def test_classification() -> None:
    assert mechanisms.classify("numa_misplaced", "kmigrated") == "kscand"
    assert mechanisms.classify("numa_misplaced", "app") == "numa_balancing"
    assert mechanisms.classify("damon", "kdamond.0") == "damon"
    assert mechanisms.classify("demotion", "kswapd0") == "demotion"
    assert mechanisms.classify("compaction", "kcompactd0") == "other"
    assert mechanisms.classify("0x5", "kmigrated") == "other"  # no name: no mechanism


def test_bad_fields_are_counted_not_raised() -> None:
    spec = importlib.util.spec_from_file_location("kscand_report_mech", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    old = sys.argv
    sys.argv = ["kscand_report.py", "--json"]
    try:
        mod.trace_begin()
    finally:
        sys.argv = old
    good = {"common_s": 1, "common_ns": 0, "common_pid": 7, "common_comm": "app",
            "succeeded": 1, "failed": 0, "thp_succeeded": 0, "thp_failed": 0,
            "thp_split": 0, "mode": 0, "reason": 5}
    mod.define_symbolic_field("migrate__mm_migrate_pages", "reason")
    mod.define_symbolic_value("migrate__mm_migrate_pages", "reason", 5, "numa_misplaced")
    mod.define_symbolic_value("migrate__mm_migrate_pages", "reason", "x", None)  # ignored
    mod.trace_unhandled("migrate__mm_migrate_pages", None, dict(good))
    # (the report needs a kscand event)
    mod.kmem__kmem_mm_enter("kmem__kmem_mm_enter", None, 0, 1, 5, 7, "app", None, 1)
    bad: List[Dict[str, Any]] = [
        dict(good, succeeded="1"), dict(good, failed=-1), dict(good, reason=None),
        {k: v for k, v in good.items() if k != "common_pid"}, dict(good, common_s=None),
        dict(good, mode="async"), dict(good, common_comm=None)]
    for d in bad:
        mod.trace_unhandled("migrate__mm_migrate_pages", None, d)
    mod.trace_unhandled("migrate__mm_migrate_pages_start", None, dict(good, common_pid=None))
    mod.trace_unhandled("migrate__mm_migrate_pages", None, dict(good))
    mod.trace_unhandled("migrate__mm_migrate_pages_start", None, dict(good))
    buf = io.StringIO()
    with redirect_stdout(buf):
        mod.trace_end()
    r = json.loads(buf.getvalue())
    assert r["bad_events"] == {"migrate:mm_migrate_pages": len(bad),
                               "migrate:mm_migrate_pages_start": 1}
    m = r["mechanisms"]
    assert m["by_mechanism"]["numa_balancing"]["calls"] == 2
    assert m["numa_balancing_by_process"] == [{"pid": 7, "comm": "app", "calls": 2,
                                               "pages_succeeded": 2, "pages_failed": 0}]
    assert (m["starts"], m["starts_without_end"]) == (1, 1)


def test_zero_extended_reason() -> None:
    c = mechanisms.Collector(make_analyzer())
    c.define_symbol("migrate:mm_migrate_pages", "reason", -1, "minus")
    c.migrate_pages(1, 1, "app", 1, 0, reason=(1 << 32) - 1)
    res = c.result(0, None)
    assert res is not None and "minus" in res.other_by_reason


class _Sample:
    def __init__(self, e: Emitted, names: Tuple[str, ...]) -> None:
        self.evsel = "evsel(%s:%s)" % ("migrate" if e.event.startswith("mm_") else
                                       "sched" if e.event.startswith("sched") else "kmem",
                                       e.event)
        self.sample_time = e.time_ns
        self.sample_pid = e.pid  # (the simulator's tasks are single-threaded: pid = tid)
        self.sample_tid = e.pid
        for k, v in zip(names, e.values):
            setattr(self, k, v)


class _FakePerf:
    def __init__(self, events: List[Emitted], names: Dict[str, Tuple[str, ...]]) -> None:
        self.events = events
        self.names = names
        self.comms: Dict[int, str] = {}

    def data(self, path: str) -> str:
        return path

    def session(self, data: str, sample: Optional[Any] = None) -> Any:
        outer = self

        class Thread:
            def __init__(self, comm: str) -> None:
                self._comm = comm

            def comm(self) -> str:
                return self._comm

        class S:
            def find_thread(self, pid: int) -> Any:
                return Thread(outer.comms[pid])

            def process_events(self) -> None:
                assert sample is not None
                for e in outer.events:
                    outer.comms[e.pid] = e.comm
                    sample(_Sample(e, outer.names[e.event]))
        return S()


def test_perf_module_front_end(tmp_path: Any) -> None:
    mech = MechConfig(kernel="6.1")
    path, events, truth = make_trace(str(tmp_path), mech)
    names = {ev.name: ev.field_names for ev in ALL_EVENTS + mech.events}
    session = Session(Options(json=True))
    perfmodule.feed(session, path, _FakePerf(events, names))
    report = json.loads(session.finish())
    assert without_rates(report["mechanisms"]) == truth
    assert report["mechanisms"] == json.loads(reader_output(path))["mechanisms"]


def test_merge_sums_and_compare_sides(tmp_path: Any) -> None:
    from kscand_perf.compare import compare
    from kscand_perf.merge import merge
    a_path, _, a_truth = make_trace(str(tmp_path), MechConfig(), seed=1)
    b_path, _, b_truth = make_trace(str(tmp_path), MechConfig(unknown_reason=42), seed=2)
    a, b = json.loads(reader_output(a_path)), json.loads(reader_output(b_path))
    merged = merge([("a", a), ("b", b)], "test", allow_overlap=True)
    assert schema.problem(merged) is None
    m = merged["mechanisms"]
    for mech in mechanisms.MECHANISMS:
        assert m["by_mechanism"][mech]["pages_succeeded"] == (
            a_truth["by_mechanism"][mech]["pages_succeeded"]
            + b_truth["by_mechanism"][mech]["pages_succeeded"])
    assert m["cross_check"]["equal"] and "0x2a" in m["other_by_reason"]
    figures = {f.key: f for f in compare(a, b).figures}
    f = figures["mechanisms.other.calls"]
    assert (f.a, f.b) == (a_truth["by_mechanism"]["other"]["calls"],
                          b_truth["by_mechanism"]["other"]["calls"])
    assert "mechanisms.kscand.pages_succeeded_per_second" in figures


def test_vmstat_stock_counters(tmp_path: Any) -> None:
    path, _, truth = make_trace(str(tmp_path), MechConfig())
    by = truth["by_mechanism"]
    promoted = by["kscand"]["pages_succeeded"] + by["numa_balancing"]["pages_succeeded"]
    before = tmp_path / "before"
    after = tmp_path / "after"
    before.write_text("nr_kscand_migrated 0\nnuma_pages_migrated 5\npgmigrate_success 0\n"
                      "pgmigrate_fail 0\nnuma_hint_faults 0\npgpromote_success 0\n")
    after.write_text("nr_kscand_migrated 1\nnuma_pages_migrated %d\npgmigrate_success %d\n"
                     "pgmigrate_fail %d\nnuma_hint_faults 99\npgpromote_success 0\n" % (
                         promoted + 5, sum(f["pages_succeeded"] for f in by.values()),
                         sum(f["pages_failed"] for f in by.values()) + 1))
    r = json.loads(reader_output(path, ("--json", "--vmstat", str(before), str(after))))
    assert schema.problem(r) is None
    stock = {c["name"]: c for c in r["kernel_counters"]["stock_counters"]}
    assert stock["numa_pages_migrated"]["agrees"] is True
    assert stock["pgmigrate_success"]["agrees"] is True
    assert stock["pgmigrate_fail"]["agrees"] is False
    assert stock["numa_hint_faults"]["trace"] is None  # no trace figure: the delta only
    assert stock["pgpromote_success"]["agrees"] is None  # numa_balancing's mode unknown
    # --time leaves migrate events out: no trace figures
    r = json.loads(reader_output(path, ("--json", "--time", "0,", "--vmstat", str(before),
                                        str(after))))
    assert all(c["trace"] is None for c in r["kernel_counters"]["stock_counters"])


def test_plot_of_mechanisms(tmp_path: Any) -> None:
    pytest.importorskip("matplotlib")
    path, _, truth = make_trace(str(tmp_path), MechConfig())
    out = tmp_path / "plots"
    reader_output(path, ("--plot", str(out)))
    assert (out / "mechanisms.png").exists() and (out / "mechanisms.svg").exists()
    plain = tmp_path / "plain.data"
    write_trace(str(plain), simulate(SynthConfig(seed=1)))
    reader_output(str(plain), ("--plot", str(tmp_path / "p2")))
    assert not (tmp_path / "p2" / "mechanisms.png").exists()


def _text_counts(text: str) -> Dict[str, Dict[str, int]]:
    """Per mechanism, the calls and pages of perf script's own text of mm_migrate_pages."""
    out = {m: {"calls": 0, "pages_succeeded": 0, "pages_failed": 0}
           for m in mechanisms.MECHANISMS}
    for line in text.splitlines():
        if "migrate:mm_migrate_pages:" not in line:
            continue
        head, _, tail = line.partition("migrate:mm_migrate_pages:")
        comm = head.split()[0]  # (names of the recorded tasks have no blanks here)
        fields = dict(kv.split("=", 1) for kv in tail.split())
        c = out[mechanisms.classify(fields["reason"], comm)]
        c["calls"] += 1
        c["pages_succeeded"] += int(fields["nr_succeeded"])
        c["pages_failed"] += int(fields["nr_failed"])
    return out


def test_real_kernel_events(perf: str, tmp_path: Any) -> None:
    """The host kernel's real migrate events (compaction), recorded by the real perf: our
    reader and `perf script -s` give the same report, whose figures are perf's own text's."""
    from conftest import require, tracefs_root
    require(os.geteuid() == 0, "recording kernel events needs root")
    root = tracefs_root()
    require(os.path.isdir(os.path.join(root, "events", "migrate", "mm_migrate_pages")),
            "this kernel has no migrate:mm_migrate_pages event")
    data = str(tmp_path / "real.data")
    proc = subprocess.run(
        [perf, "record", "-q", "-o", data, "-e", "migrate:mm_migrate_pages",
         "-e", "migrate:mm_migrate_pages_start", "-a", "--", "sh", "-c",
         "echo 1 > /proc/sys/vm/compact_memory; echo 1 > /proc/sys/vm/compact_memory"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    text = subprocess.run([perf, "script", "-i", data], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=300).stdout.decode()
    counts = _text_counts(text)
    require(sum(c["calls"] for c in counts.values()) > 0,
            "compaction moved no page on this machine (no mm_migrate_pages event)")
    ours = json.loads(reader_output(data))
    theirs = json.loads(perf_script(perf, data, ["--json"]))
    for r in (ours, theirs):
        r.pop("run")
    assert theirs == ours
    for m, c in counts.items():
        got = ours["mechanisms"]["by_mechanism"][m]
        assert {k: got[k] for k in c} == c, m
    assert perf_script(perf, data, []) == reader_output(data, ())


def test_synth_command_writes_the_truth(tmp_path: Any) -> None:
    data, truth_path = str(tmp_path / "s.data"), str(tmp_path / "s.json")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "kscand-perf"), "synth",
                           "-o", data, "--truth", truth_path, "--mechanisms", "6.1",
                           "--seconds", "20"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()
    with open(truth_path) as f:
        truth = json.load(f)
    report = json.loads(reader_output(data))
    assert without_rates(report["mechanisms"]) == truth["mechanisms"]
    assert report["other_events"] == truth["other_events"]


@pytest.mark.parametrize("reader", ["6.12", "7.3", "7.3-module"])
def test_other_perfs_give_the_same_json(tmp_path: Any, reader: str) -> None:
    """perf 6.12's and 7.3's `perf script -s`, and the script on its own with perf 7.3's
    module, in their chroots (tools/perf-chroot, as tests/test_perf_versions.py runs them)."""
    from conftest import require
    require(os.geteuid() == 0, "the perf chroots need root")
    chroot = os.path.join(ROOT, "tools", "perf-chroot")
    version = reader.split("-")[0]
    built = subprocess.run([chroot, version], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=3600)
    require(built.returncode != 3, "no perf %s chroot here: %s" % (
        version, built.stderr.decode(errors="replace").strip()))
    assert built.returncode == 0, built.stderr.decode()
    path, _, truth = make_trace(str(tmp_path), MechConfig(kernel="6.1", unknown_reason=42))
    if reader.endswith("-module"):
        cmd = [chroot, "python", version, "--bind", str(tmp_path), "--", SCRIPT, "-i", path,
               "--json"]
    else:
        cmd = [chroot, "run", version, "--bind", str(tmp_path), "--", "script", "-s", SCRIPT,
               "-i", path, "--", "--json"]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr.decode()
    theirs = json.loads(proc.stdout)
    ours = json.loads(reader_output(path))
    assert without_rates(theirs["mechanisms"]) == truth
    for r in (ours, theirs):
        r.pop("run")
    assert theirs == ours
