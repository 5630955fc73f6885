"""`kscand-perf report` (our perf.data reader) against `perf script -s kscand_report.py`:
the same bytes of JSON and of text on every trace the suite holds, file and pipe mode.

perf's output is the reference: both run in the test, nothing is copied from either.
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
from typing import Any, Dict, List, Sequence

import pytest

from conftest import ROOT, require
from kscand_testkit import formats as schema
from kscand_testkit.perfdata import PerfDataWriter, write_trace
from kscand_testkit.stream import Emitted
from kscand_testkit.synth import SynthConfig, scenario

SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")
KSCAND_PERF = os.path.join(ROOT, "bin", "kscand-perf")
KSCAND_REPORT = os.path.join(ROOT, "bin", "kscand-report")
SAMPLE = os.path.join(ROOT, "samples", "kscand-sample.data")
SMALL = os.path.join(ROOT, "tests", "data", "small.data")
REAL = os.path.join(os.path.dirname(ROOT), "shared", "traces", "kscand-real-1.data")
PYTHON = sys.executable


def ours(trace: str, args: Sequence[str] = (), pipe: bool = False,
         prog: str = KSCAND_PERF) -> subprocess.CompletedProcess:
    cmd = [PYTHON, prog] + (["report"] if prog == KSCAND_PERF else [])
    cmd += ["-i", "-" if pipe else trace] + list(args)
    return _run(cmd, trace, pipe)


def _run(cmd: List[str], trace: str, pipe: bool) -> subprocess.CompletedProcess:
    """``cmd``'s output; the trace on its stdin when ``pipe``."""
    stdin = open(trace, "rb") if pipe else None
    try:
        return subprocess.run(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=600)
    finally:
        if stdin is not None:
            stdin.close()


def perfs(perf: str, trace: str, args: Sequence[str] = (),
          pipe: bool = False) -> subprocess.CompletedProcess:
    cmd = [perf, "script", "-s", SCRIPT, "-i", "-" if pipe else trace]
    if args:
        cmd += ["--"] + list(args)
    return _run(cmd, trace, pipe)


def same_output(perf: str, trace: str, args: Sequence[str] = ("--json",),
                pipe: bool = False) -> bytes:
    theirs = perfs(perf, trace, args, pipe)
    assert theirs.returncode == 0, theirs.stderr.decode(errors="replace")
    mine = ours(trace, args, pipe)
    assert mine.returncode == 0, mine.stderr.decode(errors="replace")
    assert mine.stderr == b""
    assert mine.stdout == theirs.stdout
    return mine.stdout


def v2(events: List[Emitted]) -> List[Emitted]:
    """The stream as RFC V1/V2 kernels emit it: migrate without msuccess/mfailed."""
    return [e._replace(values=e.values[:3]) if e.event == "kmem_scan_mm_migrate" else e
            for e in events]


V2_EVENTS = tuple(schema.MIGRATE_V2 if e is schema.MIGRATE else e for e in schema.ALL_EVENTS)


def shuffled(events: List[Emitted], seed: int, window: int = 300) -> List[Emitted]:
    """Events out of time order within windows, as perf record writes one CPU's buffer
    after the other: readers must restore perf's order."""
    rnd = random.Random(seed)
    out: List[Emitted] = []
    for i in range(0, len(events), window):
        chunk = events[i:i + window]
        by_cpu: Dict[int, List[Emitted]] = {}
        for e in chunk:
            by_cpu.setdefault(e.cpu, []).append(e)
        cpus = list(by_cpu)
        rnd.shuffle(cpus)
        for c in cpus:
            out.extend(by_cpu[c])
    return out


SIM = {
    "default": (SynthConfig(seed=31, mms=8, seconds=30), {}),
    "no-sched": (SynthConfig(seed=32, mms=5, seconds=20, sched=False), {}),
    "reuse": (SynthConfig(seed=33, mms=6, seconds=25, fork_rate=6.0, pointer_reuse_prob=1.0,
                          exit_during_scan_prob=0.3), {}),
    "posted-printk": (SynthConfig(seed=34, mms=4, seconds=15),
                      {"print_fmts": schema.POSTED_V3_PRINT_FMTS}),
    "rfc-v2": (SynthConfig(seed=35, mms=4, seconds=15), {"v2": True}),
    "per-cpu-order": (SynthConfig(seed=36, mms=6, seconds=20), {"shuffle": True}),
    "small-rounds": (SynthConfig(seed=37, mms=5, seconds=10), {"round_every": 7,
                                                               "shuffle": True}),
}


def write_sim(folder: str, name: str, pipe: bool) -> str:
    config, opts = SIM[name]
    events, _ = scenario(config)
    path = os.path.join(folder, "%s%s.data" % (name, "-pipe" if pipe else ""))
    kw: Dict[str, Any] = {"pipe": pipe}
    if opts.get("v2"):
        events, kw["events"] = v2(events), V2_EVENTS
    if opts.get("print_fmts"):
        kw["print_fmts"] = opts["print_fmts"]
    if opts.get("round_every"):
        kw["round_every"] = opts["round_every"]
    if opts.get("shuffle"):
        events = shuffled(events, config.seed)
        kw["ordered"] = False
    write_trace(path, events, **kw)
    return path


@pytest.fixture(scope="module")
def sims(tmp_path_factory: Any) -> str:
    return str(tmp_path_factory.mktemp("sims"))


# -- the same bytes as perf --------------------------------------------------------------

@pytest.mark.parametrize("trace", [SAMPLE, SMALL], ids=["sample", "small"])
def test_committed_traces_json(perf: str, trace: str) -> None:
    report = json.loads(same_output(perf, trace))
    assert report["events"]["kmem_scan_mm_start"] > 0


def test_real_trace_json_and_text(perf: str) -> None:
    require(os.path.exists(REAL), "the shared real trace %s is not here" % REAL)
    report = json.loads(same_output(perf, REAL))
    # the recording's notes (../shared/traces/kscand-real-1.notes.md): 39 scan ends
    assert report["events"]["kmem_scan_mm_end"] == 39
    same_output(perf, REAL, ())


@pytest.mark.parametrize("pipe", [False, True], ids=["file", "pipe"])
@pytest.mark.parametrize("name", sorted(SIM))
def test_simulated_traces_json(perf: str, sims: str, name: str, pipe: bool) -> None:
    trace = write_sim(sims, name, pipe)
    same_output(perf, trace, ("--json",), pipe)


@pytest.mark.parametrize("trace", [SAMPLE, SMALL], ids=["sample", "small"])
def test_text_output(perf: str, trace: str) -> None:
    text = same_output(perf, trace, ())
    assert b"kmem_scan_mm_start" in text


def test_options_pass_through(perf: str, sims: str) -> None:
    trace = write_sim(sims, "reuse", False)
    for args in (("--ms", "--top", "3", "--per-mm", "--linear", "50"),
                 ("--json", "--time", "5,15", "--node", "0"),
                 ("--json", "--comm", "^w", "--top", "0"),
                 ("--interval", "1", "--ms"),
                 ("--json", "--interval", "0.5", "--time", "5,15"),
                 ("--interval", "2", "--node", "0", "--pid", "1,2,3")):
        same_output(perf, trace, args)
    same_output(perf, write_sim(sims, "reuse", True), ("--interval", "1"), True)


def test_empty_trace(perf: str, tmp_path: Any) -> None:
    for pipe in (False, True):
        path = str(tmp_path / ("empty%d.data" % pipe))
        write_trace(path, [], pipe=pipe)
        # nothing to report: the same one line from both front ends, exit 1 (issue 19)
        theirs, mine = perfs(perf, path, ("--json",), pipe), ours(path, ["--json"], pipe)
        assert theirs.returncode == mine.returncode == 1
        assert theirs.stdout == mine.stdout == b""
        where = "the recording" if pipe else path
        want = "error: %s: no events at all: nothing to report; record the kscand" % where
        assert theirs.stderr.decode().startswith("kscand_report.py: " + want), theirs.stderr
        assert mine.stderr.decode().startswith("kscand-perf report: " + want), mine.stderr
        assert theirs.stderr.decode().split(": ", 1)[1] == mine.stderr.decode().split(": ", 1)[1]


def test_kscand_report_program_and_csv(tmp_path: Any) -> None:
    out = tmp_path / "csv"
    proc = ours(SMALL, ["--csv", str(out)], prog=KSCAND_REPORT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"wrote ")
    assert any(name.endswith(".csv") for name in os.listdir(out))


def test_the_process_writes_what_the_command_writes(tmp_path: Any, capsysbinary: Any) -> None:
    """The command-line process freezes what is left before it exits (cli.at_process_end:
    its teardown then skips them): its output and files are still whole, the same as
    the command's run in this process, which does not freeze (stdout with --json; the
    CSV files of --csv, with --interval for the timeline's)."""
    from kscand_perf import cli
    for args in (["--json"], ["--interval", "1", "--csv", "CSV"]):
        mine = tmp_path / ("mine-%d" % len(args))
        here = tmp_path / ("here-%d" % len(args))
        proc = ours(SAMPLE, [str(mine) if a == "CSV" else a for a in args])
        assert proc.returncode == 0, proc.stderr
        capsysbinary.readouterr()
        argv = ["report", "-i", SAMPLE] + [str(here) if a == "CSV" else a for a in args]
        assert cli.main(argv) == 0
        want = capsysbinary.readouterr().out
        assert proc.stdout.replace(str(mine).encode(), b"") == want.replace(
            str(here).encode(), b"")
        if "CSV" in args:
            names = sorted(os.listdir(here))
            assert names and sorted(os.listdir(mine)) == names
            for name in names:
                with open(os.path.join(mine, name), "rb") as a, \
                        open(os.path.join(here, name), "rb") as b:
                    assert a.read() == b.read(), name


# -- what perf cannot do -----------------------------------------------------------------

MM = 0xFF11000003279F80


def _exit_events(comm: str) -> List[Emitted]:
    return [Emitted(1000, 0, 40, "kscand", "kmem_scan_mm_start", (MM,)),
            Emitted(2000, 1, 77, comm, "kmem_mm_exit", (MM,))]


def test_non_utf8_comm_is_replaced(tmp_path: Any) -> None:
    # seven 2-byte letters and one more: the kernel's 15-byte cut leaves half a letter
    path = str(tmp_path / "utf8.data")
    write_trace(path, _exit_events("é" * 8))
    proc = ours(path, ["--json"])
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    expected = (b"\xc3\xa9" * 7 + b"\xc3").decode("utf-8", "replace")
    assert [m["comm"] for m in report["mms"]] == [expected]
    assert [m["pid"] for m in report["mms"]] == [77]


def test_lost_records_are_reported(tmp_path: Any) -> None:
    path = str(tmp_path / "lost.data")
    with open(path, "wb") as f:
        w = PerfDataWriter(f)
        w.extend(_exit_events("worker"))
        w.lost(1500, 0, 123)
        w.lost(1600, 1, 7)
        w.close()
    proc = ours(path, ["--json"])
    assert proc.returncode == 0, proc.stderr
    notes = json.loads(proc.stdout)["notes"]
    assert any("lost 130 events (2 LOST records)" in n for n in notes), notes
    text = ours(path).stdout.decode()
    assert "lost 130 events" in text


def test_help_without_perf_data(tmp_path: Any) -> None:
    for prog in (KSCAND_PERF, KSCAND_REPORT):
        cmd = [PYTHON, prog] + (["report"] if prog == KSCAND_PERF else []) + ["-h"]
        proc = subprocess.run(cmd, cwd=str(tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60)
        assert proc.returncode == 0 and proc.stderr == b""
        assert b"-i FILE|-" in proc.stdout and b"--vmstat" in proc.stdout


def test_errors_are_one_line(tmp_path: Any) -> None:
    missing = ours(str(tmp_path / "nothing.data"))
    assert missing.returncode == 2
    assert missing.stderr.decode().count("\n") == 1 and b"cannot read" in missing.stderr
    bad = ours(SMALL, ["--top", "-1"])
    assert bad.returncode == 2 and bad.stderr.decode().count("\n") == 1


def test_a_pipe_without_dash_i_is_named_in_the_error(tmp_path: Any) -> None:
    """`perf record -o - | kscand-perf report` (no -i -) where there is no perf.data: the
    one line says that standard input is a pipe and that -i - reads it; not where stdin
    is no pipe, nor where the recording was named."""
    with open(SAMPLE, "rb") as f:
        data = f.read(4096)
    hint = b"(standard input is a pipe: -i - reads it)"
    for args, piped, want in (([], True, True), ([], False, False),
                              (["-i", "nothing.data"], True, False)):
        stdin: Dict[str, Any] = {"input": data} if piped else {"stdin": subprocess.DEVNULL}
        proc = subprocess.run([PYTHON, KSCAND_PERF, "report"] + args, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd=str(tmp_path), timeout=120, **stdin)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.count(b"\n") == 1 and b"cannot read" in proc.stderr
        assert (hint in proc.stderr) == want, (args, piped, proc.stderr)


def test_truncated_file_reports_what_was_read(tmp_path: Any) -> None:
    """A pipe stream carries its event formats first: cut in half, what was read is
    reported, with a warning; so is a perf.data file with a damaged record half-way. A
    perf.data file carries its formats at its end: cut in half, nothing can be decoded,
    and the one line says so, with the byte (issue 19)."""
    path = tmp_path / "cut.data"
    with open(write_sim(str(tmp_path), "no-sched", pipe=True), "rb") as f:
        data = f.read()
    path.write_bytes(data[:len(data) // 2])
    with open(SMALL, "rb") as f:
        small = f.read()
    at = _record_start(small, len(small) // 2)  # a record of 0 bytes half-way
    for damaged in (data[:len(data) // 2], small[:at + 6] + b"\0\0" + small[at + 8:]):
        path.write_bytes(damaged)
        proc = ours(str(path), ["--json"])
        assert proc.returncode == 1
        lines = proc.stderr.decode().splitlines()
        assert len(lines) == 1 and "warning" in lines[0] and "byte" in lines[0], lines
        report = json.loads(proc.stdout)
        assert any("damaged" in n for n in report["notes"])
    path.write_bytes(small[:len(small) // 2])
    proc = ours(str(path), ["--json"])
    assert proc.returncode == 1 and proc.stdout == b""
    (line,) = proc.stderr.decode().splitlines()
    assert line.startswith("kscand-perf report: error: %s: the recording is cut at byte "
                           % path), line
    assert "before its event formats" in line


def _record_start(data: bytes, near: int) -> int:
    """The offset of the first record of a perf.data file's data section at or after
    ``near`` (walked from the header's data offset)."""
    pos = struct.unpack_from("<Q", data, 40)[0]
    while pos < near:
        pos += max(8, struct.unpack_from("<H", data, pos + 6)[0])  # 0: never loop forever
    return pos


def test_compressed_without_zstd_says_how(tmp_path: Any) -> None:
    from kscand_perf.perfreader import zstd_available
    if zstd_available():
        pytest.skip("a zstd module is installed: the no-zstd message cannot show")
    with open(str(tmp_path / "p.data"), "wb") as f:
        w = PerfDataWriter(f, pipe=True)
        w.close()
    data = (tmp_path / "p.data").read_bytes()
    # a COMPRESSED record (type 81) after the header records
    rec = (81).to_bytes(4, "little") + (0).to_bytes(2, "little") + (24).to_bytes(2, "little")
    (tmp_path / "z.data").write_bytes(data + rec + bytes(16))
    proc = ours(str(tmp_path / "z.data"), ["--json"])
    assert proc.returncode == 1
    line = proc.stderr.decode()
    assert line.count("\n") == 1 and "without -z" in line


def test_csv_over_time_same_files(perf: str, sims: str, tmp_path: Any) -> None:
    """--csv with --interval: the same files, scans.csv and intervals.csv included, from
    perf and from our reader."""
    trace = write_sim(sims, "reuse", False)
    folders = {}
    for name, run in (("perf", perfs), ("ours", ours)):
        folder = str(tmp_path / name)
        proc = run(perf, trace, ["--csv", folder, "--interval", "1"]) if name == "perf" \
            else run(trace, ["--csv", folder, "--interval", "1"])
        assert proc.returncode == 0, proc.stderr
        folders[name] = folder
    names = sorted(os.listdir(folders["perf"]))
    assert names == sorted(os.listdir(folders["ours"]))
    assert {"scans.csv", "intervals.csv", "timelines.csv", "time_to_promotion.csv"} <= set(names)
    for n in names:
        with open(os.path.join(folders["perf"], n), "rb") as a, \
                open(os.path.join(folders["ours"], n), "rb") as b:
            assert a.read() == b.read(), n
