"""Cost (issue 20, item 3): kscand's and kmigrated's CPU time from sched:sched_switch,
against the simulator's truth (its own on-CPU intervals), in every front end; the cut,
null and filter rules of docs/report.md ("Cost"); handlers that never raise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Dict, List, Tuple

import pytest

from kscand_perf.analysis import AnalyzerConfig
from kscand_perf.cost import sched_switch
from kscand_perf.report import Selection, build
from kscand_perf.render.machine import to_json
from kscand_perf.timeline import make_analyzer
from kscand_testkit.formats import ALL_EVENTS, SCHED_SWITCH
from kscand_testkit.perfdata import PerfDataWriter
from kscand_testkit.synth import SynthConfig, simulate

from test_handlers import call, finish, load

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")
MM = 0xFFFF888000001000


def simulated(tmp_path: Any, seed: int = 5, seconds: float = 6) -> Tuple[str, Dict[str, Any]]:
    cfg = SynthConfig(mms=6, seconds=seconds, seed=seed, switches=True)
    sim = simulate(cfg)
    path = str(tmp_path / ("sw%d.data" % seed))
    with open(path, "wb") as f:
        w = PerfDataWriter(f, ALL_EVENTS + (SCHED_SWITCH,), nr_cpus=cfg.cpus)
        w.extend(iter(sim))
        w.close()
    return path, sim.truth()


def report(path: str, *argv: str) -> Dict[str, Any]:
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "kscand-perf"), "report",
                           "-i", path, "--json"] + list(argv),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("seed", [5, 11])
def test_cpu_time_equals_the_simulators_truth(tmp_path: Any, seed: int) -> None:
    path, truth = simulated(tmp_path, seed)
    cpu = truth["cpu"]
    c = report(path)["cost"]
    assert c["kmigrated_cpu_ns"] == cpu["kmigrated_on_cpu_ns"]
    assert c["kscand_cpu_ns_switch"] == cpu["kscand_on_cpu_ns"]
    assert c["kmigrated_pids"] == [cpu["kmigrated_pid"]]
    assert c["promoted_pages"] == truth["migrations"]["succeeded"]
    # kscand's first interval began before the trace: one cut interval, said in a note
    assert any("cut by the start or end" in n and n.endswith(": 1") for n in c["notes"])
    pages = truth["migrations"]["succeeded"]
    assert c["cpu_us_per_promoted_page"]["kmigrated"] == round(
        cpu["kmigrated_on_cpu_ns"] / 1000 / pages, 3)
    assert c["cpu_us_per_promoted_page"]["total"] == round(
        (cpu["kmigrated_on_cpu_ns"] + c["kscand_scan_cpu_ns"]) / 1000 / pages, 3)
    # a second measure of kscand: on a CPU at least while it scans
    assert c["kscand_cpu_ns_switch"] >= c["kscand_scan_cpu_ns"]


def test_the_perf_script_gives_the_same_cost(perf: str, tmp_path: Any) -> None:
    """perf 6.1 hands sched_switch's seven fields positionally (checked with the host's
    perf: no perf_sample_dict for a handler with *args)."""
    path, truth = simulated(tmp_path)
    proc = subprocess.run([perf, "script", "-s", SCRIPT, "-i", path, "--", "--json"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()
    got = json.loads(proc.stdout)
    assert got["cost"] == report(path)["cost"]
    assert got["cost"]["kmigrated_cpu_ns"] == truth["cpu"]["kmigrated_on_cpu_ns"]
    assert got["other_events"]["sched:sched_switch"] == truth["other_events"][
        "sched:sched_switch"]


def test_parts_split_by_time_add_up_to_the_whole(tmp_path: Any) -> None:
    path, _ = simulated(tmp_path)
    whole = report(path)["cost"]
    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    a.write_text(json.dumps(report(path, "--time", "+0,+2.5")))
    b.write_text(json.dumps(report(path, "--time", "+2.5,+100")))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "kscand-perf"), "merge",
                           str(a), str(b), "--json"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()
    merged = json.loads(proc.stdout)["cost"]
    for key in ("kmigrated_cpu_ns", "kscand_cpu_ns_switch", "promoted_pages",
                "kmigrated_pids"):
        assert merged[key] == whole[key], key
    text = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "kscand-perf"), "merge",
                           str(a), str(b)], stdout=subprocess.PIPE, timeout=600).stdout.decode()
    assert "\nCost\n====\n" in text and "kmigrated {:,.0f}".format(
        whole["kmigrated_cpu_ns"] / 1e3) in text
    cost = text.split("\nCost\n====\n")[1].split("\n\n")[0]
    assert max(len(line) for line in cost.splitlines()) <= 100


def feed(switches: List[Tuple[int, str, int, str, int]], config: AnalyzerConfig =
         AnalyzerConfig(), selection: Selection = Selection()) -> Dict[str, Any]:
    a = make_analyzer(config)
    a.scan_start(0, 100, 50, MM)
    a.scan_end(400, 50, MM, 0x1000, 2, 2000, 1 << 30, 0)
    a.migrate(0, 500, 51, MM, 0, 0, 1, 0)
    a.migrate(0, 600, 51, MM, 0, 0, 2, 0)
    for t, pc, pp, nc, np_ in switches:
        sched_switch(a, t, pc, pp, nc, np_)
    return to_json(build(a, selection))


def test_cut_intervals_count_from_the_first_and_up_to_the_last_event() -> None:
    c = feed([(250, "kscand", 50, "swapper/0", 0),  # on since the trace began (t 100)
              (450, "swapper/1", 0, "kmigrated", 51),
              (650, "kmigrated", 51, "swapper/1", 0),
              (700, "swapper/0", 0, "kscand", 50)])  # on until the last event (t 700)
    cost = c["cost"]
    assert cost["kmigrated_cpu_ns"] == 200
    assert cost["kscand_cpu_ns_switch"] == (250 - 100) + 0
    assert cost["kmigrated_pids"] == [51]
    assert cost["kscand_scan_cpu_ns"] == 300
    assert cost["cpu_us_per_promoted_page"] == {"kscand_scan": 0.15, "kmigrated": 0.1,
                                                "total": 0.25}
    assert any("on-CPU intervals cut by the start or end" in n and n.endswith(": 2")
               for n in cost["notes"])
    assert c["other_events"]["sched:sched_switch"] == 4


def test_unpaired_switches_are_counted_not_timed() -> None:
    cost = feed([(450, "swapper/1", 0, "kmigrated", 51),
                 (460, "swapper/1", 0, "kmigrated", 51),  # again: a lost switch-out
                 (560, "kmigrated", 51, "swapper/1", 0),
                 (600, "kmigrated", 51, "swapper/1", 0)])["cost"]  # off already
    assert cost["kmigrated_cpu_ns"] == 100
    assert any("did not pair" in n and n.endswith(": 2") for n in cost["notes"])


def test_without_switch_events_the_figures_are_null_with_a_reason() -> None:
    cost = feed([])["cost"]
    assert (cost["kmigrated_cpu_ns"], cost["kscand_cpu_ns_switch"]) == (None, None)
    assert cost["kmigrated_pids"] == []
    assert cost["cpu_us_per_promoted_page"]["kmigrated"] is None
    assert cost["cpu_us_per_promoted_page"]["kscand_scan"] == 0.15
    assert any("no sched:sched_switch events" in n for n in cost["notes"])
    only_kscand = feed([(450, "swapper/0", 0, "kscand", 50),
                        (460, "kscand", 50, "swapper/0", 0)])["cost"]
    assert only_kscand["kmigrated_cpu_ns"] is None
    assert any("names kmigrated" in n for n in only_kscand["notes"])


def test_a_selection_gives_no_per_page_figure() -> None:
    sw = [(450, "swapper/1", 0, "kmigrated", 51), (650, "kmigrated", 51, "swapper/1", 0)]
    cost = feed(sw, selection=Selection(pids=[7]))["cost"]
    assert cost["kmigrated_cpu_ns"] == 200
    assert cost["cpu_us_per_promoted_page"] == {"kscand_scan": None, "kmigrated": None,
                                                "total": None}
    assert any("not per mm" in n for n in cost["notes"])
    cost = feed(sw, config=AnalyzerConfig(node=0))["cost"]
    assert any("not per node" in n for n in cost["notes"])


def test_time_window_clips_the_intervals() -> None:
    sw = [(450, "swapper/1", 0, "kmigrated", 51), (650, "kmigrated", 51, "swapper/1", 0)]
    cost = feed(sw, config=AnalyzerConfig(time_window_ns=(500, 10000)))["cost"]
    assert cost["kmigrated_cpu_ns"] == 150  # from the window's start


def test_the_handler_never_raises_on_bad_fields() -> None:
    mod = load(["--json"])
    call(mod, "kmem__kmem_scan_mm_start", 1, 0, 50, "kscand", MM)
    call(mod, "sched__sched_switch", 1, 10, 0, "swapper/0", "swapper/0", 0, 120, 0,
         "kscand", "50", 120)  # a pid as a string
    call(mod, "sched__sched_switch", 1, 20, 0, "swapper/0", None, 0, 120, 0, "kscand", 50,
         120)  # no prev_comm
    call(mod, "sched__sched_switch", 1, 30, 0, "swapper/0")  # no fields at all
    mod.sched__sched_switch("sched__sched_switch", "ctx", 0, None, 5, 0, "x", None)
    call(mod, "sched__sched_switch", 1, 40, 0, "swapper/0", "swapper/0", 0, 120, 0,
         "kmigrated", 51, 120, {"extra": 1})  # a trailing perf_sample_dict
    r = finish(mod)
    assert r["bad_events"] == {"sched:sched_switch": 4}
    assert r["other_events"] == {"sched:sched_switch": 1}
    assert r["cost"]["kmigrated_pids"] == [51]


def test_time_window_equals_the_intervals_clipped_to_it(tmp_path: Any) -> None:
    """--time +1,+5 against the simulator's switches clipped to the window by hand."""
    cfg = SynthConfig(mms=6, seconds=6, seed=5, switches=True)
    events = list(simulate(cfg))
    path, _ = simulated(tmp_path)  # the same run
    first, last = events[0].time_ns, events[-1].time_ns
    lo, hi = first + 10 ** 9, first + 5 * 10 ** 9
    want = {}
    for who in ("kmigrated", "kscand"):
        on = first if who == "kscand" else None  # kscand runs when the trace begins
        total = 0
        for e in events:
            if e.event != "sched_switch":
                continue
            if e.values[4] == who:
                on = e.time_ns
            elif e.values[0] == who and on is not None:
                total += max(0, min(e.time_ns, hi) - max(on, lo))
                on = None
        if on is not None:
            total += max(0, min(last, hi) - max(on, lo))
        want[who] = total
    c = report(path, "--time", "+1,+5")["cost"]
    assert c["kmigrated_cpu_ns"] == want["kmigrated"]
    assert c["kscand_cpu_ns_switch"] == want["kscand"]


def test_csv_tables_hold_the_json_figures(tmp_path: Any) -> None:
    import csv
    path, _ = simulated(tmp_path)
    js = report(path, "--interval", "1")
    out = tmp_path / "csv"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "kscand-perf"), "report",
                           "-i", path, "--interval", "1", "--csv", str(out)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()

    def rows(name: str) -> List[Dict[str, str]]:
        with open(out / name) as f:
            return list(csv.DictReader(f))
    (cost,) = rows("cost.csv")
    c = js["cost"]
    assert int(cost["kmigrated_cpu_ns"]) == c["kmigrated_cpu_ns"]
    assert float(cost["total_us_per_page"]) == c["cpu_us_per_promoted_page"]["total"]
    backlog = {("0x" + r["mm"], int(r["generation"])): r for r in rows("backlog.csv")}
    for m in js["backlog"]["by_mm"]:
        r = backlog[(m["mm"], m["generation"])]
        assert int(r["pages_queued"]) == m["pages_queued"]
        assert int(r["never_attempted"]) == m["never_attempted"]
        w = m["drain_wait_ns"]
        assert r["drain_wait_max_ns"] == ("" if w is None else str(w["max"]))
    fails = rows("mm_failures.csv")
    assert sum(int(r["count"]) for r in fails) == js["migrations"]["failed"]
    assert [int(r["backlog_pages"]) for r in rows("intervals.csv")] == [
        i["backlog_pages"] for i in js["over_time"]["intervals"]]
