"""kscand-record (kscand_perf/record.py, bin/kscand-record, python3 -m kscand_perf record).

The flow is tested with a stand-in perf (a shell script that logs its
arguments) and a stand-in tracefs, so the exact perf command line is checked
on any machine; then against the real perf and this machine's kernel, which
has no kscand events: the clear refusal, and a real recording of an event it
does have.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import struct
import subprocess
import sys
from typing import Any, Dict, List, Optional, Sequence

import pytest

from conftest import ROOT, require, tracefs_root
from kscand_perf import record
from kscand_perf.errors import CommandError
from kscand_testkit.perfdata import write_trace
from kscand_testkit.synth import SynthConfig, scenario

BIN = os.path.join(ROOT, "bin", "kscand-record")
SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")
KMEM = ["kmem:kmem_mm_enter", "kmem:kmem_mm_exit", "kmem:kmem_scan_mm_start",
        "kmem:kmem_scan_mm_end", "kmem:kmem_scan_mm_migrate"]
SCHED = ["sched:sched_process_fork", "sched:sched_process_exec", "sched:sched_process_exit"]
# recorded as well when the kernel has them (issue 20), with sched_switch's filter
EXTRA = ["migrate:mm_migrate_pages", "migrate:mm_migrate_pages_start", "sched:sched_switch"]
SWITCH_FILTER = ('prev_comm == "kscand" || prev_comm == "kmigrated" || '
                 'next_comm == "kscand" || next_comm == "kmigrated"')

FAKE_PERF = """#!/bin/sh
# a stand-in perf: logs its arguments, writes the -o file unless told not to
printf '%s\\n' "$@" > "$FAKE_PERF_LOG"
out=perf.data
while [ $# -gt 0 ]; do
    case "$1" in
        -o) out="$2"; shift;;
        --) break;;
    esac
    shift
done
[ -n "$FAKE_PERF_NO_OUTPUT" ] || echo fake > "$out"
[ -z "$FAKE_PERF_RUN" ] || sh -c "$FAKE_PERF_RUN"
exit "${FAKE_PERF_STATUS:-0}"
"""


def run(argv: Sequence[str], cwd: Optional[str] = None, env: Optional[Dict[str, str]] = None,
        command: Optional[List[str]] = None, timeout: int = 120) -> subprocess.CompletedProcess:
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run((command or [sys.executable, BIN]) + list(argv), cwd=cwd, env=full,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)


def one_error_line(proc: subprocess.CompletedProcess, prefix: str = "kscand-record") -> str:
    err = proc.stderr.decode()
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith(prefix + ": error: "), err
    return lines[0]


@pytest.fixture
def fake(tmp_path: Any) -> Dict[str, str]:
    """A stand-in perf and a tracefs that has every event kscand-record records (the
    kscand kernel's), and a stand-in kernel.numa_balancing file at 0 (outside ``dir``)."""
    perf = tmp_path / "fakeperf"
    perf.write_text(FAKE_PERF)
    perf.chmod(perf.stat().st_mode | stat.S_IXUSR)
    tracefs = tmp_path / "tracefs"
    for event in KMEM + SCHED + EXTRA:
        (tracefs / "events" / event.replace(":", os.sep)).mkdir(parents=True)
    numa = tmp_path.parent / ("%s-numa_balancing" % tmp_path.name)
    numa.write_text("0\n")
    return {"perf": str(perf), "tracefs": str(tracefs), "log": str(tmp_path / "perf.log"),
            "out": str(tmp_path / "run.data"), "dir": str(tmp_path), "numa": str(numa)}


@pytest.fixture
def sysfs(tmp_path: Any) -> str:
    """A stand-in /sys/kernel/mm/kscand with the kernel's default knobs."""
    folder = tmp_path / "kscand"
    folder.mkdir()
    for name, value in (("mms_to_scan", 4096), ("scan_sleep_ms", 20),
                        ("mm_scan_period_ms", 2000), ("scan_enabled", 1), ("target_node", 0)):
        (folder / name).write_text("%d\n" % value)
    return str(folder)


def knob(sysfs: str, name: str) -> str:
    with open(os.path.join(sysfs, name), encoding="ascii") as f:
        return f.read().strip()


def fake_args(fake: Dict[str, str], *extra: str) -> List[str]:
    return ["--perf", fake["perf"], "--tracefs", fake["tracefs"], "--numa-balancing-file",
            fake["numa"], "-o", fake["out"]] + list(extra)


def logged(fake: Dict[str, str]) -> List[str]:
    with open(fake["log"], encoding="utf-8") as f:
        return f.read().splitlines()


def expected_perf_args(events: Sequence[str], out: str, workload: Sequence[str],
                       mmap: str = "16M") -> List[str]:
    args = ["record"]
    for e in events:
        args += ["-e", e]
        if e == "sched:sched_switch":
            args += ["--filter", SWITCH_FILTER]
    return args + ["-a", "-m", mmap, "--affinity=cpu", "-o", out, "--"] + list(workload)


def hint(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stdout.decode().splitlines()
    assert lines[-2] == "report with:", lines
    return lines[-1].strip()


def snapshot_lines(path: str) -> List[str]:
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert lines[0].startswith("# nr_kscand_* lines (and NUMA balancing's, promotion's and "
                               "migration's) of ")
    return [line for line in lines if not line.startswith("#")]


def kscand_lines_here() -> List[str]:
    with open("/proc/vmstat", encoding="utf-8") as f:
        return [line for line in f.read().splitlines()
                if line.startswith(record.SNAPSHOT_PREFIXES)]


# -- arguments -----------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    ([], "nothing to record: give a WORKLOAD after -- or --duration SECONDS"),
    (["--duration", "1", "--", "true"], "either --duration or a WORKLOAD"),
    (["--duration", "0"], "--duration: must be a positive number"),
    (["--duration", "soon"], "--duration: not a number of seconds: 'soon'"),
    (["-o", "-", "--duration", "1"], "-o -: kscand-record writes a file"),
    (["-o", "/nonexistent-dir/x.data", "--duration", "1"], "no such directory /nonexistent-dir"),
    (["--bogus", "--duration", "1"], "unrecognized arguments: --bogus"),
    (["--events", "kmem_scan_mm_end", "--duration", "1"], "--events: not SYSTEM:EVENT"),
    (["--perf", "/nonexistent/perf", "--duration", "1"], "--perf: no such program"),
    (["-m", "", "--duration", "1"], "-m: empty buffer size"),
])
def test_bad_arguments_one_line_exit_2(tmp_path: Any, argv: List[str], message: str) -> None:
    proc = run(argv, cwd=str(tmp_path))
    assert proc.returncode == 2, proc.stderr.decode()
    assert message in one_error_line(proc)
    assert os.listdir(str(tmp_path)) == []


def test_help_names_the_options() -> None:
    proc = run(["-h"])
    assert proc.returncode == 0
    out = proc.stdout.decode()
    for option in ("--output", "--duration", "--mmap-pages", "--light", "--perf", "-- WORKLOAD"):
        assert option in out
    assert "--events" not in out and "--tracefs" not in out  # testing only


# -- the flow, with a stand-in perf and tracefs ----------------------------------------

def test_records_every_event_with_the_exact_command(fake: Dict[str, str]) -> None:
    proc = run(fake_args(fake, "--", "sh", "-c", "exit 0"), cwd=fake["dir"],
               env={"FAKE_PERF_LOG": fake["log"]})
    assert proc.returncode == 0, proc.stderr.decode()
    out = fake["out"]
    assert logged(fake) == expected_perf_args(KMEM + SCHED + EXTRA, out,
                                              ["sh", "-c", "exit 0"])
    before, after = out + ".vmstat-before.txt", out + ".vmstat-after.txt"
    assert os.path.isfile(out) and os.path.isfile(before) and os.path.isfile(after)
    for path in (before, after):
        assert all(line.startswith(record.SNAPSHOT_PREFIXES) for line in snapshot_lines(path))
    assert hint(proc) == "perf script -s %s -i %s -- --vmstat %s %s" % (
        SCRIPT, out, before, after)
    err = proc.stderr.decode()
    assert "record -e kmem:kmem_mm_enter" in err  # the perf command is shown


def test_duration_mmap_and_light(fake: Dict[str, str]) -> None:
    proc = run(fake_args(fake, "--duration", "2.5", "-m", "64M", "--light"),
               env={"FAKE_PERF_LOG": fake["log"]})
    assert proc.returncode == 0, proc.stderr.decode()
    events = [e for e in KMEM + SCHED if e != "kmem:kmem_scan_mm_start"]
    assert logged(fake) == expected_perf_args(events, fake["out"], ["sleep", "2.5"], "64M")
    out = proc.stdout.decode()
    assert "without kmem:kmem_scan_mm_start" in out
    assert "scan durations are unknown" in out
    assert ("note: --light also leaves out migrate:mm_migrate_pages, "
            "migrate:mm_migrate_pages_start, sched:sched_switch: no promotions by mechanism, "
            "no kmigrated CPU time") in out


def test_migrate_and_switch_events_only_when_the_kernel_has_them(fake: Dict[str, str]) -> None:
    """A kernel without the migrate events (or sched_switch) records the rest and says so;
    the kscand events stay required."""
    for event in ("migrate", os.path.join("sched", "sched_switch")):
        shutil.rmtree(os.path.join(fake["tracefs"], "events", event))
    proc = run(fake_args(fake, "--", "true"), env={"FAKE_PERF_LOG": fake["log"]})
    assert proc.returncode == 0, proc.stderr.decode()
    assert logged(fake) == expected_perf_args(KMEM + SCHED, fake["out"], ["true"])
    assert ("note: this kernel has no migrate:mm_migrate_pages, migrate:mm_migrate_pages_start, "
            "sched:sched_switch: recorded without them") in proc.stdout.decode().splitlines()


def test_missing_events_fail_at_once_naming_them(fake: Dict[str, str]) -> None:
    shutil.rmtree(os.path.join(fake["tracefs"], "events", "kmem"))
    os.makedirs(os.path.join(fake["tracefs"], "events", "kmem", "kmem_mm_enter"))
    proc = run(fake_args(fake, "--duration", "1"), env={"FAKE_PERF_LOG": fake["log"]})
    assert proc.returncode == 1
    line = one_error_line(proc)
    assert "kmem:kmem_mm_exit, kmem:kmem_scan_mm_start, kmem:kmem_scan_mm_end, " \
           "kmem:kmem_scan_mm_migrate" in line
    assert "kmem:kmem_mm_enter" not in line and "CONFIG_KSCAND" in line
    assert "nothing recorded" in line
    assert not os.path.exists(fake["log"])  # perf never ran
    assert sorted(os.listdir(fake["dir"])) == ["fakeperf", "tracefs"]


def test_workload_failure_keeps_the_recording(fake: Dict[str, str]) -> None:
    proc = run(fake_args(fake, "--", "false"),
               env={"FAKE_PERF_LOG": fake["log"], "FAKE_PERF_STATUS": "3"})
    assert proc.returncode == 3
    assert "perf record exited with status 3" in proc.stdout.decode()
    assert hint(proc).startswith("perf script -s ")
    assert os.path.isfile(fake["out"] + ".vmstat-after.txt")


def test_perf_failure_leaves_nothing(fake: Dict[str, str]) -> None:
    proc = run(fake_args(fake, "--", "true"),
               env={"FAKE_PERF_LOG": fake["log"], "FAKE_PERF_STATUS": "129",
                    "FAKE_PERF_NO_OUTPUT": "1"})
    assert proc.returncode == 1
    last = proc.stderr.decode().splitlines()[-1]  # after the perf command and its messages
    assert last.startswith("kscand-record: error: perf record failed (exit status 129")
    assert "nothing recorded" in last
    assert sorted(os.listdir(fake["dir"])) == ["fakeperf", "perf.log", "tracefs"]


def test_snapshot_keeps_only_kscand_lines(tmp_path: Any) -> None:
    src = tmp_path / "vmstat"
    src.write_text("nr_free_pages 5\nnr_kscand_mm_scans 46\npgfault 1\nnr_kscand_hotpage 9\n"
                   "numa_hit 3\nnuma_pte_updates 7\nnuma_hint_faults 4\n"
                   "numa_hint_faults_local 1\nnuma_pages_migrated 2\npgpromote_success 2\n"
                   "pgdemote_kswapd 0\npgmigrate_success 2\npgmigrate_fail 0\n"
                   "compact_migrate_scanned 9\nthp_migration_success 0\n")
    dst = str(tmp_path / "snap.txt")
    assert record.snapshot(dst, "before", str(src)) == 2
    assert snapshot_lines(dst) == [
        "nr_kscand_mm_scans 46", "nr_kscand_hotpage 9", "numa_pte_updates 7",
        "numa_hint_faults 4", "numa_hint_faults_local 1", "numa_pages_migrated 2",
        "pgpromote_success 2", "pgdemote_kswapd 0", "pgmigrate_success 2", "pgmigrate_fail 0",
        "thp_migration_success 0"]
    src.write_text("nr_free_pages 5\n")
    assert record.snapshot(dst, "after", str(src)) == 0
    with open(dst, encoding="utf-8") as f:
        assert "no nr_kscand_* counters" in f.read()
    with pytest.raises(CommandError, match="cannot read"):
        record.snapshot(dst, "after", str(tmp_path / "absent"))


def test_report_command_quotes_paths() -> None:
    assert record.report_command("my run.data", "/x/kscand_report.py") == (
        "perf script -s /x/kscand_report.py -i 'my run.data' -- --vmstat "
        "'my run.data.vmstat-before.txt' 'my run.data.vmstat-after.txt'")


# -- wrappers: installed copy, symlink, python3 -m kscand_perf record -------------------

def test_wrapper_works_through_a_symlink_and_installed(fake: Dict[str, str],
                                                       tmp_path: Any) -> None:
    link = tmp_path / "linked-kscand-record"
    link.symlink_to(BIN)
    proc = run(fake_args(fake, "--duration", "1"), command=[str(link)],
               env={"FAKE_PERF_LOG": fake["log"]})
    assert proc.returncode == 0, proc.stderr.decode()

    installed = tmp_path / "installed" / "kscand-record"
    installed.parent.mkdir()
    shutil.copy(BIN, str(installed))
    env = {"FAKE_PERF_LOG": fake["log"], "PYTHONPATH": ROOT}
    proc = run(fake_args(fake, "--duration", "1"), command=[sys.executable, str(installed)],
               env=env)
    assert proc.returncode == 0, proc.stderr.decode()

    alone = dict(os.environ)
    alone.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, "-S", str(installed), "--duration", "1"],
                          env=alone, cwd=str(tmp_path), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 1
    assert "cannot import the kscand_perf package" in one_error_line(proc)


def test_python_m_kscand_perf_record(fake: Dict[str, str]) -> None:
    command = [sys.executable, "-m", "kscand_perf", "record"]
    proc = run(fake_args(fake, "--", "true"), command=command, cwd=ROOT,
               env={"FAKE_PERF_LOG": fake["log"]})
    assert proc.returncode == 0, proc.stderr.decode()
    assert logged(fake) == expected_perf_args(KMEM + SCHED + EXTRA, fake["out"], ["true"])
    proc = run([], command=command, cwd=ROOT)
    assert proc.returncode == 2
    assert "nothing to record" in one_error_line(proc, "kscand-perf record")


# -- the report of a --light recording --------------------------------------------------

def test_light_recording_report_says_durations_are_unknown(perf: str, tmp_path: Any) -> None:
    events, truth = scenario(SynthConfig(mms=4, seconds=20.0, seed=3))
    trace = str(tmp_path / "light.data")
    write_trace(trace, [e for e in events if e.event != "kmem_scan_mm_start"])
    proc = subprocess.run([perf, "script", "-s", SCRIPT, "-i", trace, "--", "--json"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    js = json.loads(proc.stdout)
    assert js["events"]["kmem_scan_mm_end"] == truth["events"]["kmem_scan_mm_end"] > 0
    assert js["scans"]["duration_ns"] is None
    assert any("scan durations are unknown" in n and "--light" in n for n in js["notes"])


# -- the real perf on this machine's kernel ---------------------------------------------

def test_real_kernel_without_kscand_events_refuses(perf: str, tmp_path: Any) -> None:
    root = tracefs_root()
    if os.path.isdir(os.path.join(root, "events", "kmem", "kmem_scan_mm_end")):
        pytest.skip("this kernel has the kscand events: nothing to refuse")
    out = str(tmp_path / "k.data")
    proc = run(["--perf", perf, "-o", out, "--duration", "1"], cwd=str(tmp_path))
    assert proc.returncode == 1
    line = one_error_line(proc)
    for event in KMEM:
        assert event in line
    assert "nothing recorded" in line
    assert os.listdir(str(tmp_path)) == []


def _perf_can_record(perf: str, tmp_path: Any) -> str:
    """'' when perf records sched:sched_process_exec system-wide here, else why not."""
    probe = str(tmp_path / "probe.data")
    try:
        proc = subprocess.run([perf, "record", "-e", "sched:sched_process_exec", "-a",
                               "-o", probe, "--", "true"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "perf record does not run: %s" % e
    if proc.returncode != 0 or not os.path.isfile(probe):
        last = (proc.stderr.decode(errors="replace").strip().splitlines() or ["?"])[-1]
        return "perf cannot record here (needs root and tracefs): %s" % last
    os.unlink(probe)
    return ""


def test_real_recording_of_an_event_this_kernel_has(perf: str, tmp_path: Any) -> None:
    why = _perf_can_record(perf, tmp_path)
    require(not why, why)
    out = str(tmp_path / "real.data")
    proc = run(["--perf", perf, "--events", "sched:sched_process_exec", "-o", out,
                "--", "true"], cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr.decode()
    before, after = out + ".vmstat-before.txt", out + ".vmstat-after.txt"
    assert os.path.getsize(out) > 0
    here = kscand_lines_here()
    for path in (before, after):
        kept = snapshot_lines(path)
        assert [line.split()[0] for line in kept] == [line.split()[0] for line in here]
    command = hint(proc)
    assert command == "perf script -s %s -i %s -- --vmstat %s %s" % (SCRIPT, out, before, after)

    argv = shlex.split(command)
    assert argv[0] == "perf"
    rep = subprocess.run([perf] + argv[1:] + ["--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=120, cwd=str(tmp_path))
    # the command runs; with no kscand event in the recording it has nothing to report:
    # one line that says what the recording holds, no table of zeros (issue 19)
    assert rep.returncode == 1 and rep.stdout == b"", rep.stderr.decode()
    line = rep.stderr.decode().strip()
    assert "\n" not in line and "no kscand events among its" in line, line
    assert "sched:sched_process_exec" in line
    if not [line for line in here if line.startswith("nr_kscand_")]:
        assert "note: this kernel has no nr_kscand_* counters" in proc.stdout.decode()


# -- kscand's knobs: the flood warning and --mms-to-scan ------------------------------

@pytest.mark.parametrize("mms, sleep_ms, rate", [
    (4096, 20, 204800.0), (32, 20, 1600.0), (1, 1000, 1.0), (100, 0, None)])
def test_start_rate(mms: int, sleep_ms: int, rate: Optional[float]) -> None:
    assert record.start_rate(mms, sleep_ms) == rate


def test_flood_warning_text() -> None:
    warning = record.flood_warning(4096, 20)
    assert warning == (
        "kmem_scan_mm_start may fire up to about 204,800 times a second (mms_to_scan 4096 "
        "visits per kscand cycle, a cycle every scan_sleep_ms 20 ms): about 933 MB of "
        "perf.data a minute; record with --light to leave that event out (no scan durations "
        "then), or with a lower mms_to_scan (--mms-to-scan 32)")
    assert record.flood_warning(32, 20) is None          # 1,600 a second
    assert record.flood_warning(100, 20) is None         # 5,000: the limit itself
    assert record.flood_warning(101, 20) is not None
    assert record.flood_warning(None, 20) is None        # no kscand knobs: nothing to say
    assert "scan_sleep_ms is 0" in (record.flood_warning(8, 0) or "")
    assert "--mms-to-scan 8" in (record.flood_warning(8, 0) or "")


def test_warns_before_recording_at_the_default_knobs(fake: Dict[str, str], sysfs: str) -> None:
    proc = run(fake_args(fake, "--kscand-sysfs", sysfs, "--duration", "1"),
               env={"FAKE_PERF_LOG": fake["log"]})
    assert proc.returncode == 0, proc.stderr.decode()
    err = proc.stderr.decode().splitlines()
    assert err[0].startswith("kscand-record: warning: kmem_scan_mm_start may fire up to "
                             "about 204,800 times a second"), err
    assert "--light" in err[0] and "--mms-to-scan 32" in err[0]
    assert "record -e" in err[1]          # the warning comes before perf starts


@pytest.mark.parametrize("extra", [["--light"], ["--mms-to-scan", "32"]])
def test_no_warning_when_the_start_event_stays_small(fake: Dict[str, str], sysfs: str,
                                                     extra: List[str]) -> None:
    proc = run(fake_args(fake, "--kscand-sysfs", sysfs, "--duration", "1", *extra),
               env={"FAKE_PERF_LOG": fake["log"]})
    assert proc.returncode == 0, proc.stderr.decode()
    assert "kscand-record: warning" not in proc.stderr.decode()


def test_mms_to_scan_is_set_for_the_recording_and_put_back(
        fake: Dict[str, str], sysfs: str) -> None:
    seen = os.path.join(fake["dir"], "seen")
    proc = run(fake_args(fake, "--kscand-sysfs", sysfs, "--mms-to-scan", "16", "--",
                         "true"),
               env={"FAKE_PERF_LOG": fake["log"],
                    "FAKE_PERF_RUN": "cat %s/mms_to_scan > %s" % (sysfs, seen)})
    assert proc.returncode == 0, proc.stderr.decode()
    with open(seen, encoding="ascii") as f:
        assert f.read().strip() == "16"           # while perf ran
    assert knob(sysfs, "mms_to_scan") == "4096"   # afterwards
    lines = proc.stdout.decode().splitlines()
    assert lines[1] == "mms_to_scan was 16 for the recording, now 4096 again"


def test_mms_to_scan_is_put_back_when_perf_fails(fake: Dict[str, str], sysfs: str) -> None:
    proc = run(fake_args(fake, "--kscand-sysfs", sysfs, "--mms-to-scan", "16", "--duration",
                         "1"),
               env={"FAKE_PERF_LOG": fake["log"], "FAKE_PERF_NO_OUTPUT": "1",
                    "FAKE_PERF_STATUS": "1"})
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines()[-1] == (
        "kscand-record: error: perf record failed (exit status 1, see its messages above): "
        "nothing recorded")
    assert knob(sysfs, "mms_to_scan") == "4096"


def test_mms_to_scan_is_put_back_on_ctrl_c(fake: Dict[str, str], sysfs: str,
                                           monkeypatch: Any) -> None:
    seen: List[str] = []

    def interrupted(*_args: Any) -> Any:
        seen.append(knob(sysfs, "mms_to_scan"))
        raise KeyboardInterrupt

    monkeypatch.setattr(record, "_record", interrupted)
    parser = record.argparse.ArgumentParser()
    record.set_argparser(parser)
    args = parser.parse_args(fake_args(fake, "--kscand-sysfs", sysfs, "--mms-to-scan", "8",
                                       "--duration", "1"))
    with pytest.raises(KeyboardInterrupt):
        record.run(args)
    assert seen == ["8"]
    assert knob(sysfs, "mms_to_scan") == "4096"


@pytest.mark.parametrize("value, message", [
    ("0", "--mms-to-scan: must be at least 1, not 0"),
    ("-3", "--mms-to-scan: must be at least 1, not -3"),
    ("many", "--mms-to-scan: not a whole number: 'many'"),
])
def test_bad_mms_to_scan(fake: Dict[str, str], sysfs: str, value: str, message: str) -> None:
    proc = run(fake_args(fake, "--kscand-sysfs", sysfs, "--mms-to-scan", value, "--duration",
                         "1"), env={"FAKE_PERF_LOG": fake["log"]})
    assert proc.returncode == 2
    assert message in one_error_line(proc)
    assert not os.path.exists(fake["log"])        # perf never ran
    assert knob(sysfs, "mms_to_scan") == "4096"


def test_mms_to_scan_without_kscand_knobs(fake: Dict[str, str], tmp_path: Any) -> None:
    proc = run(fake_args(fake, "--kscand-sysfs", str(tmp_path / "none"), "--mms-to-scan",
                         "16", "--duration", "1"), env={"FAKE_PERF_LOG": fake["log"]})
    assert proc.returncode == 1
    assert "this kernel has no kscand knobs" in one_error_line(proc)
    assert not os.path.exists(fake["log"])


# -- what perf wrote ---------------------------------------------------------------------

def _append_records(path: str, records: bytes) -> None:
    """Append raw records to the data section of a perf.data file (data comes last but for
    the feature sections, which are moved along)."""
    with open(path, "rb") as f:
        blob = bytearray(f.read())
    offset, size = struct.unpack_from("<QQ", blob, 40)
    end = offset + size
    blob[end:end] = records
    struct.pack_into("<Q", blob, 48, size + len(records))
    # feature section headers follow the data: shift their offsets
    feat_at = end + len(records)
    nfeat = bin(int.from_bytes(bytes(blob[72:104]), "little")).count("1")
    for i in range(nfeat):
        off, = struct.unpack_from("<Q", blob, feat_at + 16 * i)
        struct.pack_into("<Q", blob, feat_at + 16 * i, off + len(records))
    with open(path, "wb") as f:
        f.write(bytes(blob))


def test_count_records(tmp_path: Any) -> None:
    events, _ = scenario(SynthConfig(mms=3, seconds=5.0, seed=5))
    path = str(tmp_path / "t.data")
    write_trace(path, events)
    assert record.count_records(path) == record.Written(len(events), 0, 0)
    # a LOST record (id, lost) and a LOST_SAMPLES record (lost), as perf writes them
    lost = struct.pack("<IHHQQ", 2, 0, 24, 7, 120) + struct.pack("<IHHQ", 13, 0, 16, 5)
    _append_records(path, lost)
    assert record.count_records(path) == record.Written(len(events), 2, 125)


def test_count_records_cannot_tell(tmp_path: Any) -> None:
    not_perf = tmp_path / "x.data"
    not_perf.write_bytes(b"fake\n")
    assert record.count_records(str(not_perf)) is None
    assert record.count_records(str(tmp_path / "missing.data")) is None
    pipe = tmp_path / "pipe.data"
    events, _ = scenario(SynthConfig(mms=2, seconds=2.0, seed=5))
    with open(pipe, "wb") as f:
        write_trace(f, events, pipe=True)
    assert record.count_records(str(pipe)) is None


def test_recorded_line_says_event_types_and_samples(fake: Dict[str, str], tmp_path: Any) -> None:
    events, _ = scenario(SynthConfig(mms=3, seconds=5.0, seed=5))
    trace = str(tmp_path / "made.data")
    write_trace(trace, events)
    proc = run(fake_args(fake, "--duration", "1"),
               env={"FAKE_PERF_LOG": fake["log"], "FAKE_PERF_RUN": "cp %s %s" % (
                   trace, fake["out"])})
    assert proc.returncode == 0, proc.stderr.decode()
    first = proc.stdout.decode().splitlines()[0]
    assert first == ("recorded %s (11 event types, %s samples), the kernel's counters in "
                     "%s.vmstat-before.txt and %s.vmstat-after.txt, and kscand's knobs in "
                     "%s.kscand.txt" % (fake["out"], "{:,}".format(len(events)), fake["out"],
                                        fake["out"], fake["out"]))
    # a file it cannot read: only the event types
    proc = run(fake_args(fake, "--duration", "1"), env={"FAKE_PERF_LOG": fake["log"]})
    assert proc.stdout.decode().splitlines()[0].startswith(
        "recorded %s (11 event types), the" % fake["out"])


def test_recorded_line_warns_about_lost_records(fake: Dict[str, str], tmp_path: Any) -> None:
    events, _ = scenario(SynthConfig(mms=3, seconds=5.0, seed=5))
    trace = str(tmp_path / "made.data")
    write_trace(trace, events)
    _append_records(trace, struct.pack("<IHHQQ", 2, 0, 24, 7, 1234))
    proc = run(fake_args(fake, "--duration", "1"),
               env={"FAKE_PERF_LOG": fake["log"], "FAKE_PERF_RUN": "cp %s %s" % (
                   trace, fake["out"])})
    lines = proc.stdout.decode().splitlines()
    assert ", 1 LOST record)" in lines[0]
    assert lines[1].startswith("warning: perf lost 1,234 events")


# -- kscand's knobs beside the recording, and the report that shows them ----------------

def test_knobs_are_saved_beside_the_recording_as_they_were_for_it(
        fake: Dict[str, str], sysfs: str) -> None:
    proc = run(fake_args(fake, "--kscand-sysfs", sysfs, "--mms-to-scan", "16", "--",
                         "true"), env={"FAKE_PERF_LOG": fake["log"]})
    assert proc.returncode == 0, proc.stderr.decode()
    with open(fake["out"] + ".kscand.txt", encoding="utf-8") as f:
        lines = [ln for ln in f.read().splitlines() if not ln.startswith("#")]
    assert lines == ["kernel_release %s" % os.uname().release, "numa_balancing 0",
                     "mm_scan_period_ms 2000",
                     "mms_to_scan 16", "scan_enabled 1", "scan_sleep_ms 20", "target_node 0"]


def test_the_report_shows_the_saved_knobs(tmp_path: Any) -> None:
    from kscand_perf.options import Options
    from kscand_perf.session import Session
    trace = str(tmp_path / "run.data")
    write_trace(trace, [])  # the knobs do not depend on what the recording holds
    with open(trace + ".kscand.txt", "w", encoding="utf-8") as f:
        f.write("# saved\nkernel_release 6.12.117-kscand\nmms_to_scan 32\nnot-a-line\n")

    def session_of(options: Options, path: str) -> Session:
        """A session on ``path`` that saw one kscand event (an empty one has nothing to
        report)."""
        session = Session(options)
        session.input = path
        session.analyzer.scan_start(0, 1000, 40, 0x1000)
        return session
    js = json.loads(session_of(Options(json=True), trace).finish())
    assert js["run"]["knobs"] == {"kernel_release": "6.12.117-kscand", "mms_to_scan": "32"}
    out = session_of(Options(), trace).finish()
    block = out.split("Recorded with\n=============\n", 1)[1].split("\n\n", 1)[0]
    assert block.splitlines()[2:] == ["kernel_release  6.12.117-kscand",
                                      "mms_to_scan     32",
                                      "(as kscand-record read them when the recording began)"]
    session = session_of(Options(json=True), str(tmp_path / "none.data"))
    assert json.loads(session.finish())["run"]["knobs"] is None


# -- kernel.numa_balancing for the recording (issue 20) -----------------------------------

def numa(fake: Dict[str, str]) -> str:
    with open(fake["numa"], encoding="ascii") as f:
        return f.read().strip()


@pytest.mark.parametrize("mode, value", [("2", 2), ("tiering", 2), ("off", 0), ("Both", 3),
                                         ("normal", 1)])
def test_numa_balancing_is_set_for_the_recording_and_put_back(
        fake: Dict[str, str], mode: str, value: int) -> None:
    seen = os.path.join(fake["dir"], "seen")
    with open(fake["numa"], "w", encoding="ascii") as f:
        f.write("1\n")
    proc = run(fake_args(fake, "--numa-balancing", mode, "--", "true"),
               env={"FAKE_PERF_LOG": fake["log"],
                    "FAKE_PERF_RUN": "cat %s > %s" % (fake["numa"], seen)})
    assert proc.returncode == 0, proc.stderr.decode()
    with open(seen, encoding="ascii") as f:
        assert f.read().strip() == str(value)    # while perf ran
    assert numa(fake) == "1"                     # afterwards
    lines = proc.stdout.decode().splitlines()
    assert lines[1] == "numa_balancing was %d for the recording, now 1 again" % value
    with open(fake["out"] + ".kscand.txt", encoding="utf-8") as f:
        assert "numa_balancing %d" % value in f.read().splitlines()


def test_numa_balancing_and_mms_to_scan_together(fake: Dict[str, str], sysfs: str) -> None:
    proc = run(fake_args(fake, "--kscand-sysfs", sysfs, "--mms-to-scan", "8",
                         "--numa-balancing", "2", "--", "true"),
               env={"FAKE_PERF_LOG": fake["log"]})
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().splitlines()[1:3] == [
        "mms_to_scan was 8 for the recording, now 4096 again",
        "numa_balancing was 2 for the recording, now 0 again"]
    assert numa(fake) == "0" and knob(sysfs, "mms_to_scan") == "4096"


def test_numa_balancing_is_put_back_when_perf_fails(fake: Dict[str, str]) -> None:
    proc = run(fake_args(fake, "--numa-balancing", "tiering", "--duration", "1"),
               env={"FAKE_PERF_LOG": fake["log"], "FAKE_PERF_NO_OUTPUT": "1",
                    "FAKE_PERF_STATUS": "1"})
    assert proc.returncode == 1
    assert "perf record failed" in proc.stderr.decode().splitlines()[-1]
    assert numa(fake) == "0"


def test_numa_balancing_is_put_back_on_ctrl_c(fake: Dict[str, str], sysfs: str,
                                              monkeypatch: Any) -> None:
    seen: List[str] = []

    def interrupted(*_args: Any) -> Any:
        seen.append(numa(fake) + " " + knob(sysfs, "mms_to_scan"))
        raise KeyboardInterrupt

    monkeypatch.setattr(record, "_record", interrupted)
    parser = record.argparse.ArgumentParser()
    record.set_argparser(parser)
    args = parser.parse_args(fake_args(fake, "--kscand-sysfs", sysfs, "--mms-to-scan", "8",
                                       "--numa-balancing", "3", "--duration", "1"))
    with pytest.raises(KeyboardInterrupt):
        record.run(args)
    assert seen == ["3 8"]
    assert numa(fake) == "0" and knob(sysfs, "mms_to_scan") == "4096"


def test_mms_to_scan_is_put_back_when_numa_balancing_cannot_be_set(
        fake: Dict[str, str], sysfs: str) -> None:
    os.unlink(fake["numa"])
    proc = run(fake_args(fake, "--kscand-sysfs", sysfs, "--mms-to-scan", "8",
                         "--numa-balancing", "2", "--duration", "1"),
               env={"FAKE_PERF_LOG": fake["log"]})
    assert proc.returncode == 1
    line = one_error_line(proc)
    assert "--numa-balancing: cannot read" in line and "no NUMA balancing" in line, line
    assert knob(sysfs, "mms_to_scan") == "4096"
    assert not os.path.exists(fake["log"])        # perf never ran


@pytest.mark.parametrize("mode", ["4", "-1", "tier", ""])
def test_bad_numa_balancing(fake: Dict[str, str], mode: str) -> None:
    proc = run(fake_args(fake, "--numa-balancing=" + mode, "--duration", "1"),
               env={"FAKE_PERF_LOG": fake["log"]})
    assert proc.returncode == 2
    assert "--numa-balancing: not a mode: %r" % mode in one_error_line(proc)
    assert not os.path.exists(fake["log"]) and numa(fake) == "0"
