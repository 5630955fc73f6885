"""The simulator (kscand_testkit.synth) and its command (python3 -m kscand_perf synth).

Every check of the truth counts the emitted stream independently, with the
simplest code that can count it; nothing here reuses the simulator's bookkeeping.
"""

import collections
import importlib.util
import io
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, require
from kscand_perf import cli
from kscand_testkit import synth_cmd
from kscand_perf.events import (
    MIGRATE_PASS_LIMIT, RC_NAMES_V3, SCAN_PERIOD_FIRST_MS, SCAN_PERIOD_MIN_MS, SCAN_SIZE_DEFAULT,
    SCAN_SIZE_MAX, SCAN_SIZE_MIN, rc_name)
from kscand_testkit.formats import by_name
from kscand_testkit.stream import Emitted
from kscand_testkit.synth import SynthConfig, TRUTH_SCHEMA, scenario, simulate

KSCAND = ("kmem_mm_enter", "kmem_mm_exit", "kmem_scan_mm_start", "kmem_scan_mm_end",
          "kmem_scan_mm_migrate")
HAVE_WRITER = importlib.util.find_spec("kscand_testkit.perfdata") is not None


def run(config):
    sim = simulate(config)
    events = list(sim)
    return sim, events, sim.truth()


@pytest.fixture(scope="module")
def default_run():
    """The default 60 s run: (Simulation, events, truth)."""
    return run(SynthConfig())


@pytest.fixture(scope="module")
def variants():
    """Smaller runs that stress other corners (no sched, no orphan, many exits in scans)."""
    return [run(SynthConfig(seed=2, seconds=20, sched=False)),
            run(SynthConfig(seed=3, seconds=20, orphan_end=False, mms=40)),
            run(SynthConfig(seed=4, seconds=15, exit_during_scan_prob=1.0, fork_rate=20)),
            run(SynthConfig(seed=5, seconds=3, mms=1))]


def all_runs(default_run, variants):
    return [default_run] + variants


# --------------------------------------------------------------------- the stream

def test_deterministic_by_seed():
    a = list(simulate(SynthConfig(seconds=20)))
    b = list(simulate(SynthConfig(seconds=20)))
    c = list(simulate(SynthConfig(seconds=20, seed=2)))
    assert a == b
    assert a != c
    assert all(isinstance(e, Emitted) for e in a)


def test_does_not_touch_global_random():
    import random
    random.seed(12345)
    expected = random.random()
    random.seed(12345)
    list(simulate(SynthConfig(seconds=5)))
    assert random.random() == expected


def test_time_order(default_run, variants):
    for _, events, _ in all_runs(default_run, variants):
        times = [e.time_ns for e in events]
        assert times == sorted(times)
        assert times[0] > 0


def _fits(field, value):
    if field.kind == "int":
        bits = field.size * 8
        lo, hi = ((-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if field.signed
                  else (0, (1 << bits) - 1))
        return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
    if field.kind == "str":   # char[16]: 15 characters and the NUL
        return isinstance(value, str) and len(value.encode()) <= field.size - 1 \
            and "\0" not in value
    return isinstance(value, str) and "\0" not in value


def test_values_fit_their_c_types(default_run, variants):
    for _, events, _ in all_runs(default_run, variants):
        for e in events:
            ev = by_name(e.event)
            assert len(e.values) == len(ev.fields), e
            for field, value in zip(ev.fields, e.values):
                assert _fits(field, value), (e, field.name)
            assert 0 < e.pid < 1 << 22 and 0 <= e.cpu < 4096
            assert 0 < len(e.comm.encode()) <= 15 and "\0" not in e.comm


def test_mm_pointers_look_like_kernel_addresses(default_run):
    _, events, _ = default_run
    for e in events:
        if e.event.startswith("kmem_"):
            mm = e.values[0]
            assert mm >= 1 << 63 and mm % 64 == 0


def test_threads_and_contexts(default_run):
    """kscand and kmigrated are kthreads on their own cpus; process events come from tasks."""
    _, events, _ = default_run
    who = collections.defaultdict(set)
    for e in events:
        who[e.event].add((e.pid, e.comm, e.cpu) if e.event.startswith("kmem_scan") else e.comm)
    (ks,) = who["kmem_scan_mm_start"] | who["kmem_scan_mm_end"]
    (km,) = who["kmem_scan_mm_migrate"]
    assert ks[1] == "kscand" and km[1] == "kmigrated"
    assert ks[0] != km[0] and ks[2] != km[2]
    assert "bash" in who["kmem_mm_enter"] and "kscand" not in who["kmem_mm_exit"]


def test_process_lifecycle_sequences(default_run):
    """fork: enter (parent) then sched_process_fork; exec: enter, exit (old comm), exec;
    exit: kmem_mm_exit then sched_process_exit, each from the same task."""
    _, events, _ = default_run
    by_pid = collections.defaultdict(list)
    for e in events:
        if e.pid and not e.event.startswith("kmem_scan"):
            by_pid[e.pid].append(e)
    forks = execs = 0
    for pid, seq in by_pid.items():
        for i, e in enumerate(seq):
            if e.event == "sched_process_fork":
                forks += 1
                prev = seq[i - 1]
                assert prev.event == "kmem_mm_enter"
                assert e.values[0] == e.comm and e.values[1] == pid
                assert e.values[2] == e.comm            # the child has the parent's comm
            elif e.event == "sched_process_exec":
                execs += 1
                enter, old_exit = seq[i - 2], seq[i - 1]
                assert (enter.event, old_exit.event) == ("kmem_mm_enter", "kmem_mm_exit")
                assert enter.comm == old_exit.comm      # both under the old comm
                name = e.values[0].rsplit("/", 1)[1]
                assert e.values[0].startswith("/usr/bin/")
                assert e.values[1:] == (pid, pid)
                assert e.comm == name[:15]
            elif e.event == "sched_process_exit":
                prev = seq[i - 1]
                assert prev.event == "kmem_mm_exit" and prev.comm == e.comm
                assert e.values == (e.comm, pid, 120)
    assert forks > 50 and execs > 50
    assert any(len(e.values[0].rsplit("/", 1)[1]) > 15 for e in events
               if e.event == "sched_process_exec")


def test_no_sched_config_emits_kmem_only(variants):
    _, events, truth = variants[0]
    assert {e.event for e in events} <= set(KSCAND)
    assert truth["other_events"] == {}


def test_mix_is_dominated_by_starts(default_run):
    _, _, truth = default_run
    n = truth["events"]
    assert n["kmem_scan_mm_start"] > 20 * n["kmem_scan_mm_end"]
    assert n["kmem_scan_mm_start"] > n["kmem_scan_mm_migrate"]
    assert n["kmem_scan_mm_start"] > 0.5 * sum(n.values())


# --------------------------------------------------- the truth against the stream

def test_truth_event_counts(default_run, variants):
    for _, events, truth in all_runs(default_run, variants):
        counts = collections.Counter(e.event for e in events)
        assert truth["events"] == {name: counts.get(name, 0) for name in KSCAND}
        others = {"sched:" + k: v for k, v in counts.items() if k not in KSCAND}
        assert truth["other_events"] == others


def _ends(events):
    return [e for e in events if e.event == "kmem_scan_mm_end"]


def test_truth_scan_counts(default_run, variants):
    for sim, events, truth in all_runs(default_run, variants):
        scans = truth["scans"]
        ends = _ends(events)
        starts = sum(1 for e in events if e.event == "kmem_scan_mm_start")
        assert scans["completed"] + scans["orphan_ends"] == len(ends)
        assert scans["completed"] + scans["not_due"] == starts
        assert scans["completed"] == len(sim.scan_pairs)
        assert scans["pages_found"] == sum(e.values[2] for e in ends)
        assert scans["full_passes"] == sum(1 for e in ends if e.values[1] == 0)
        nodes = collections.Counter(str(e.values[5]) for e in ends)
        assert scans["ends_by_target_node"] == dict(nodes)
        if ends:
            periods = [e.values[3] for e in ends]
            sizes = [e.values[4] for e in ends]
            for key, vals in (("scan_period_ms", periods), ("scan_size_bytes", sizes)):
                st = scans[key]
                assert (st["first"], st["last"], st["min"], st["max"]) == \
                    (vals[0], vals[-1], min(vals), max(vals))


def _simple_pairs(events):
    """The documented pairing rule, done the plain way: a start pairs with the next end of
    the same mm on the same thread when no start came between them."""
    pairs, pending = [], None
    for i, e in enumerate(events):
        if e.event == "kmem_scan_mm_start":
            pending = (i, e.values[0], e.pid)
        elif e.event == "kmem_scan_mm_end":
            if pending is not None and pending[1:] == (e.values[0], e.pid):
                pairs.append((pending[0], i))
            pending = None
    return pairs


def test_scan_pairs_are_what_the_pairing_rule_finds(default_run, variants):
    for sim, events, _ in all_runs(default_run, variants):
        assert sim.scan_pairs == _simple_pairs(events)
        for s, e in sim.scan_pairs:
            assert events[s].values[0] == events[e].values[0]
            # nothing else from kscand comes between a due scan's start and end
            assert not any(x.pid == events[s].pid for x in events[s + 1:e])


def _nearest_rank(ordered, p):
    import math
    return ordered[math.ceil(p / 100 * len(ordered)) - 1]


def _duration_stats(durations):
    d = sorted(durations)
    return {"min": d[0], "mean": sum(d) / len(d), "max": d[-1], "total": sum(d),
            "p50": _nearest_rank(d, 50), "p90": _nearest_rank(d, 90),
            "p99": _nearest_rank(d, 99)}


def test_truth_durations(default_run):
    sim, events, truth = default_run
    durations = [events[e].time_ns - events[s].time_ns for s, e in sim.scan_pairs]
    assert truth["scans"]["duration_ns"] == _duration_stats(durations)
    # tens of microseconds to tens of milliseconds, skewed to the short end
    d = truth["scans"]["duration_ns"]
    assert 10000 <= d["min"] < 500000 and 5000000 < d["max"] < 200000000
    assert d["p50"] < d["mean"]


def test_truth_with_other_times(default_run):
    """Substituting recorded timestamps recomputes every time-derived number."""
    sim, events, truth = default_run
    assert sim.truth_with_times([e.time_ns for e in events]) == truth
    stretched = [e.time_ns * 2 + i for i, e in enumerate(events)]
    other = sim.truth_with_times(stretched)
    durations = [stretched[e] - stretched[s] for s, e in sim.scan_pairs]
    assert other["scans"]["duration_ns"] == _duration_stats(durations)
    per_mm = [m["scans"]["duration_ns"]["total"] for m in other["mms"]
              if m["scans"]["duration_ns"] is not None]
    assert sum(per_mm) == sum(durations)
    without = dict(other, scans=dict(other["scans"], duration_ns=None),
                   mms=[dict(m, scans=dict(m["scans"], duration_ns=None)) for m in other["mms"]])
    same = dict(truth, scans=dict(truth["scans"], duration_ns=None),
                mms=[dict(m, scans=dict(m["scans"], duration_ns=None)) for m in truth["mms"]])
    assert without == same
    with pytest.raises(ValueError):
        sim.truth_with_times(stretched[:-1])


def test_truth_migrations(default_run, variants):
    for _, events, truth in all_runs(default_run, variants):
        migs = [e for e in events if e.event == "kmem_scan_mm_migrate"]
        want = truth["migrations"]
        assert want["attempted"] == len(migs)
        assert want["succeeded"] == sum(1 for e in migs if e.values[1] == 0)
        assert want["failed"] == sum(1 for e in migs if e.values[1] != 0)
        by_rc = collections.Counter(e.values[1] for e in migs)
        assert want["by_rc"] == {str(rc): {"name": rc_name(rc), "count": n}
                                 for rc, n in by_rc.items()}
        by_node = collections.defaultdict(lambda: [0, 0])
        for e in migs:
            by_node[e.values[2]][0] += 1
            by_node[e.values[2]][1] += e.values[1] == 0
        assert want["by_node"] == {str(k): {"attempted": a, "succeeded": s, "failed": a - s}
                                   for k, (a, s) in by_node.items()}
        assert want["batches"] == sum(1 for e in migs if e.values[3] + e.values[4] == 1)


def test_every_v3_rc_appears_in_the_default_run(default_run):
    _, events, truth = default_run
    seen = {e.values[1] for e in events if e.event == "kmem_scan_mm_migrate"}
    assert seen == set(RC_NAMES_V3)
    assert {int(k) for k in truth["migrations"]["by_rc"]} == set(RC_NAMES_V3)
    counts = collections.Counter(e.values[1] for e in events if e.event == "kmem_scan_mm_migrate")
    # 0 the most common, then KSCAND_NOT_HOT_PAGE
    assert [rc for rc, _ in counts.most_common(2)] in ([0, 10], [10, 0])


def test_msuccess_mfailed_run_one_to_1024_with_resets(default_run, variants):
    resets_at_limit = 0
    for _, events, _ in all_runs(default_run, variants):
        last = {}
        for e in events:
            if e.event != "kmem_scan_mm_migrate":
                continue
            mm, rc, _, ms, mf = e.values
            n = ms + mf
            assert 1 <= n <= MIGRATE_PASS_LIMIT and ms >= 0 and mf >= 0
            prev = last.get(mm)
            if n == 1:
                assert (ms, mf) == ((1, 0) if rc == 0 else (0, 1))
                if prev == MIGRATE_PASS_LIMIT:
                    resets_at_limit += 1
            else:
                assert prev is not None and n == prev + 1, e
            last[mm] = n
    assert resets_at_limit >= 1


def test_migrations_begin_before_the_scan_end(default_run):
    sim, events, _ = default_run
    early = 0
    for s, e in sim.scan_pairs:
        mm = events[s].values[0]
        early += any(x.event == "kmem_scan_mm_migrate" and x.values[0] == mm
                     for x in events[s + 1:e])
    assert early >= 1


def _generations(events):
    """(pointer, generation) of every kmem event, the documented way."""
    gen, keys = {}, []
    for e in events:
        if not e.event.startswith("kmem_"):
            keys.append(None)
            continue
        mm = e.values[0]
        if mm not in gen:
            gen[mm] = 0
        elif e.event == "kmem_mm_enter":
            gen[mm] += 1
        keys.append((mm, gen[mm]))
    return keys


def test_pointer_reuse(default_run):
    _, events, truth = default_run
    exited = set()
    reused = 0
    for e in events:
        if e.event == "kmem_mm_exit":
            exited.add(e.values[0])
        elif e.event == "kmem_mm_enter" and e.values[0] in exited:
            reused += 1
            exited.discard(e.values[0])
    assert reused >= 5
    assert max(m["generation"] for m in truth["mms"]) >= 2


def test_exit_during_a_scan(default_run, variants):
    for sim, events, truth in all_runs(default_run, variants):
        n = 0
        for s, e in sim.scan_pairs:
            mm = events[s].values[0]
            n += any(x.event == "kmem_mm_exit" and x.values[0] == mm for x in events[s + 1:e])
        assert truth["scans"]["exited_during_scan"] == n
    assert default_run[2]["scans"]["exited_during_scan"] >= 1
    assert variants[2][2]["scans"]["exited_during_scan"] >= 3


def _migrates_after_exit(events):
    exited, n = set(), 0
    for e in events:
        if e.event == "kmem_mm_exit":
            exited.add(e.values[0])
        elif e.event == "kmem_mm_enter":
            exited.discard(e.values[0])
        elif e.event == "kmem_scan_mm_migrate" and e.values[0] in exited:
            n += 1
    return n


def test_migrate_after_exit(default_run):
    """Attempts in flight at the exit come after it (under the old generation)."""
    assert _migrates_after_exit(default_run[1]) >= 1
    _, events, _ = run(SynthConfig(seconds=10, inflight_after_exit_prob=0.0))
    assert _migrates_after_exit(events) == 0


def test_orphan_end_and_mms_from_before_the_trace(default_run, variants):
    _, events, truth = default_run
    kscand_pid = next(e.pid for e in events if e.event == "kmem_scan_mm_start")
    first = next(e for e in events if e.pid == kscand_pid)
    assert first.event == "kmem_scan_mm_end"
    assert truth["scans"]["orphan_ends"] == 1
    seen = set()
    before = set()
    for e in events:
        if e.event.startswith("kmem_") and e.values[0] not in seen:
            seen.add(e.values[0])
            if e.event != "kmem_mm_enter":
                before.add(e.values[0])
    assert len(before) >= 10
    # and some of them exit during the trace, some do not
    exits = {e.values[0] for e in events if e.event == "kmem_mm_exit"}
    assert before & exits and before - exits
    # without orphan_end the first kscand event is a start
    _, events2, truth2 = variants[1]
    assert truth2["scans"]["orphan_ends"] == 0
    assert next(e for e in events2 if e.comm == "kscand").event == "kmem_scan_mm_start"


def test_scan_period_and_size_ranges(default_run, variants):
    for sim, events, truth in all_runs(default_run, variants):
        top = sim.config.max_scan_period_ms()
        entered = set()
        first_end = {}
        for e in events:
            if e.event == "kmem_mm_enter":
                entered.add(e.values[0])
                first_end.pop(e.values[0], None)
            elif e.event == "kmem_scan_mm_end":
                mm, start, total, period, size, node = e.values
                assert SCAN_PERIOD_MIN_MS <= period <= top
                assert SCAN_SIZE_MIN <= size <= SCAN_SIZE_MAX
                assert node in (0, 1)
                assert start == 0 or (start % 4096 == 0 and start < 1 << 47)
                if mm in entered and mm not in first_end:
                    first_end[mm] = (period, size)
        # the first scan of an mm entered in the trace reports the defaults
        for period, size in first_end.values():
            assert (period, size) == (SCAN_PERIOD_FIRST_MS, SCAN_SIZE_DEFAULT)
    periods = [e.values[3] for e in default_run[1] if e.event == "kmem_scan_mm_end"]
    assert max(periods) > 5000   # the scan scale and the failure ratio stretch it
    starts = [e.values[1] for e in default_run[1] if e.event == "kmem_scan_mm_end"]
    assert 0 in starts and any(starts)   # full passes and partial ones


def _attribution(events, sched):
    """The documented owner rule, done the plain way, per (mm, generation)."""
    keys = _generations(events)
    exit_of, enter_of, sched_of = {}, {}, {}
    waiting = {}   # pid -> key of its last kmem_mm_enter
    for e, key in zip(events, keys):
        if e.event == "kmem_mm_exit":
            exit_of.setdefault(key, (e.pid, e.comm))
        elif e.event == "kmem_mm_enter":
            enter_of[key] = e.pid
            waiting[e.pid] = key
        elif e.event == "sched_process_fork" and e.pid in waiting:
            sched_of[waiting.pop(e.pid)] = (e.values[3], e.values[2])
        elif e.event == "sched_process_exec" and e.pid in waiting:
            sched_of[waiting.pop(e.pid)] = (e.values[1], e.values[0].rsplit("/", 1)[1][:15])
    out = {}
    for key in dict.fromkeys(k for k in keys if k is not None):
        if key in exit_of:
            out[key] = exit_of[key]
        elif sched and key in enter_of and key in sched_of:
            out[key] = sched_of[key]
        else:
            out[key] = (None, None)
    return out


def test_truth_per_mm(default_run, variants):
    for sim, events, truth in all_runs(default_run, variants):
        owners = _attribution(events, sim.config.sched)
        got = {(int(m["mm"], 16), m["generation"]): m for m in truth["mms"]}
        assert list(got) == list(owners)      # every mm with an event, in order of appearance
        for m in truth["mms"]:
            assert m["mm"] == "0x%x" % int(m["mm"], 16)
            assert (m["pid"], m["comm"]) == owners[(int(m["mm"], 16), m["generation"])]
        # per-mm numbers add up to the totals
        for key in ("completed", "not_due", "orphan_ends", "exited_during_scan", "full_passes",
                    "pages_found"):
            assert sum(m["scans"][key] for m in truth["mms"]) == truth["scans"][key]
        for key in ("attempted", "succeeded", "failed", "batches"):
            assert sum(m["migrations"][key] for m in truth["mms"]) == truth["migrations"][key]
        changes = sum(m["scans"]["scan_period_ms"]["changes"] for m in truth["mms"]
                      if m["scans"]["scan_period_ms"])
        if truth["scans"]["scan_period_ms"]:
            assert truth["scans"]["scan_period_ms"]["changes"] == changes
        # counted per (mm, generation) from the stream
        keys = _generations(events)
        per = collections.defaultdict(collections.Counter)
        last_period = {}
        for e, key in zip(events, keys):
            if key is None:
                continue
            if e.event == "kmem_scan_mm_end":
                per[key]["ends"] += 1
                per[key]["pages"] += e.values[2]
                if key in last_period and last_period[key] != e.values[3]:
                    per[key]["period_changes"] += 1
                last_period[key] = e.values[3]
            elif e.event == "kmem_scan_mm_migrate":
                per[key]["migs"] += 1
        for key, m in got.items():
            assert m["scans"]["completed"] + m["scans"]["orphan_ends"] == per[key]["ends"]
            assert m["scans"]["pages_found"] == per[key]["pages"]
            assert m["migrations"]["attempted"] == per[key]["migs"]
            sp = m["scans"]["scan_period_ms"]
            assert (sp["changes"] if sp else 0) == per[key]["period_changes"]


def test_truth_shape_and_json(default_run):
    _, _, truth = default_run
    assert truth["schema"] == TRUTH_SCHEMA and truth["seed"] == 1
    assert truth["config"]["mms"] == 16 and truth["config"]["seconds"] == 60
    assert json.loads(json.dumps(truth)) == truth
    for m in truth["mms"]:
        assert set(m) == {"mm", "generation", "pid", "comm", "scans", "migrations"}
    assert set(truth["scans"]) == {"completed", "not_due", "orphan_ends", "exited_during_scan",
                                   "full_passes", "pages_found", "duration_ns",
                                   "ends_by_target_node", "scan_period_ms", "scan_size_bytes"}
    assert set(truth["migrations"]) == {"attempted", "succeeded", "failed", "by_node", "by_rc",
                                        "batches"}


def test_null_stats_without_scans():
    # one mm, a fraction of a second: no completed scan, only the orphan end
    _, events, truth = run(SynthConfig(seconds=0.05, mms=1, fork_rate=0))
    assert truth["scans"]["duration_ns"] is None
    assert truth["scans"]["scan_period_ms"] is not None
    # and without the orphan end, no end at all for some seeds
    without = 0
    for seed in range(1, 6):
        _, events, truth = run(SynthConfig(seed=seed, seconds=0.05, mms=1, fork_rate=0,
                                           orphan_end=False))
        no_end = not any(e.event == "kmem_scan_mm_end" for e in events)
        assert (truth["scans"]["scan_period_ms"] is None) == no_end
        assert (truth["scans"]["scan_size_bytes"] is None) == no_end
        without += no_end
    assert without >= 1


# ----------------------------------------------------------------------- the API

def test_api_contract():
    sim = simulate(SynthConfig(seconds=2))
    with pytest.raises(RuntimeError):
        sim.truth()
    it = iter(sim)
    next(it)
    with pytest.raises(RuntimeError):
        iter(sim)
    with pytest.raises(RuntimeError):
        sim.truth()
    list(it)
    assert sim.truth()["events"]
    events, truth = scenario(SynthConfig(seconds=2))
    assert len(events) == sum(truth["events"].values()) + sum(truth["other_events"].values())


def test_streams_without_holding_the_trace():
    """A big run produces its first events at once, having simulated almost nothing."""
    sim = simulate(SynthConfig(mms=4096, seconds=3600))
    it = iter(sim)
    head = [next(it) for _ in range(1000)]
    assert len(head) == 1000
    assert sim.event_count < 50000


@pytest.mark.parametrize("bad", [dict(mms=0), dict(mms=-1), dict(seconds=0),
                                 dict(seconds=-5), dict(seconds=float("nan")),
                                 dict(exec_prob=1.5), dict(cpus=1), dict(seed="x")])
def test_bad_config(bad):
    with pytest.raises(ValueError):
        simulate(SynthConfig(**bad))


# ----------------------------------------------------------------------- the CLI

def _cli(args, **kw):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "kscand_perf"] + args, cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300, **kw)


def _perf_script_counts(perf, data_path=None, stdin=None):
    args = [perf, "script", "-i", data_path or "-"]
    proc = subprocess.run(args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    counts = collections.Counter()
    for line in proc.stdout.decode().splitlines():
        for word in line.split():
            if word.startswith(("kmem:", "sched:")) and word.endswith(":"):
                counts[word[:-1].split(":", 1)[1]] += 1
                break
    return counts


def _want(truth):
    want = collections.Counter({k: v for k, v in truth["events"].items() if v})
    for k, v in truth["other_events"].items():
        want[k.split(":", 1)[1]] = v
    return want


def test_cli_writes_a_trace_perf_reads(tmp_path, perf):
    require(HAVE_WRITER, "kscand_testkit/perfdata.py (the perf.data writer) is missing")
    data, truth_path = tmp_path / "t.data", tmp_path / "truth.json"
    proc = _cli(["synth", "-o", str(data), "--seconds", "10", "--seed", "7",
                 "--truth", str(truth_path)])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("synth: ") and "events" in lines[0]
    truth = json.loads(truth_path.read_text())
    assert truth == scenario(SynthConfig(seconds=10, seed=7))[1]
    assert _perf_script_counts(perf, str(data)) == _want(truth)


def test_cli_pipe_to_stdout_no_sched_posted_printk(tmp_path, perf):
    require(HAVE_WRITER, "kscand_testkit/perfdata.py (the perf.data writer) is missing")
    truth_path = tmp_path / "truth.json"
    proc = _cli(["synth", "-o", "-", "--seconds", "5", "--no-sched", "--posted-printk",
                 "--truth", str(truth_path)])
    assert proc.returncode == 0, proc.stderr
    truth = json.loads(truth_path.read_text())
    assert truth["other_events"] == {} and truth["config"]["sched"] is False
    counts = _perf_script_counts(perf, stdin=proc.stdout)
    assert counts == _want(truth)
    text = subprocess.run([perf, "script", "-i", "-"], input=proc.stdout,
                          stdout=subprocess.PIPE, timeout=300).stdout.decode()
    assert "scan_period = " in text           # the posted patch's TP_printk


def test_cli_pipe_mode_to_a_file(tmp_path, perf):
    require(HAVE_WRITER, "kscand_testkit/perfdata.py (the perf.data writer) is missing")
    data = tmp_path / "p.data"
    proc = _cli(["synth", "-o", str(data), "--pipe", "--seconds", "3", "--mms", "3"])
    assert proc.returncode == 0, proc.stderr
    truth = scenario(SynthConfig(seconds=3, mms=3))[1]
    with open(data, "rb") as f:
        assert _perf_script_counts(perf, stdin=f.read()) == _want(truth)


@pytest.mark.parametrize("args, expect", [
    (["synth", "-o", "X", "--mms", "0"], "--mms"),
    (["synth", "-o", "X", "--mms", "-4"], "--mms"),
    (["synth", "-o", "X", "--seconds", "-1"], "--seconds"),
    (["synth", "-o", "X", "--seconds", "0"], "--seconds"),
    (["synth", "-o", "X", "--seconds", "inf"], "--seconds"),
    (["synth", "-o", "X", "--seed", "one"], "--seed"),
    (["synth", "-o", "X", "--bogus"], "--bogus"),
    (["synth"], "-o"),
    (["synth", "-o", "/nonexistent-dir/t.data"], "/nonexistent-dir"),
    (["synth", "-o", "DIR"], "directory"),
    (["synth", "-o", "X", "--truth", "/nonexistent-dir/t.json"], "/nonexistent-dir"),
    (["synth", "-o", "X", "--truth", "X"], "same file"),
    (["frobnicate"], "frobnicate"),
])  # no arguments at all: the usage, then the error line (tests/test_ux.py)
def test_cli_bad_arguments(tmp_path, capsys, args, expect):
    args = [str(tmp_path / "out.data") if a == "X" else str(tmp_path) if a == "DIR" else a
            for a in args]
    assert cli.main(args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kscand-perf") and ": error: " in lines[0]
    assert expect in lines[0]
    assert "Traceback" not in err
    assert not os.path.exists(tmp_path / "out.data")


def test_cli_bad_arguments_in_a_subprocess(tmp_path):
    proc = _cli(["synth", "-o", str(tmp_path / "x.data"), "--mms", "-1"])
    assert proc.returncode == 2 and proc.stdout == b""
    assert len(proc.stderr.decode().splitlines()) == 1


def test_cli_help_exits_zero(capsys):
    assert cli.main(["synth", "--help"]) == 0
    assert "--truth" in capsys.readouterr().out


def test_progress_lines():
    sim = simulate(SynthConfig(seconds=10))
    stream = io.StringIO()
    progress = synth_cmd._Progress(stream, sim)
    progress.update(65536, sim.base_ns)          # small: nothing
    assert stream.getvalue() == ""
    progress.update(1000000, (sim.base_ns + sim.horizon_ns) // 2)
    progress.update(1100000, sim.horizon_ns)     # not another million yet
    progress.update(2000000, sim.horizon_ns)
    assert stream.getvalue() == ("synth: 1000000 events, 50% of the simulated time\n"
                                 "synth: 2000000 events, 100% of the simulated time\n")
