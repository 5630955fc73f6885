"""The perf-version matrix: every trace the suite holds, every reader, the same report.

Readers (COLUMNS): the host's perf (6.1, the reference), perf 6.12 and perf 7.3 from
Debian's registry in chroots (tools/perf-chroot, cached under .cache/perf-chroots/),
and our own reader once it exists (kscand_perf.cmd_report). Each runs
``perf script -s perf-scripts/kscand_report.py`` (ours: ``python3 -m kscand_perf
report``) on each trace in TRACES, file mode from the path and pipe mode from
standard input; the
``--json`` output and the text output of each must equal the reference's byte for
byte. A reader that cannot run here skips with the reason (the chroots need root and
Debian's registry); KSCAND_PERF_REQUIRE_E2E=1 (CI, ``make perf-versions``) turns those
skips into failures. Our reader skips until its module is there.

Adding a reader is one line in COLUMNS; adding a trace is one line in TRACES.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import pytest

from conftest import ROOT, require
from kscand_testkit import formats as schema
from kscand_testkit.perfdata import write_trace
from kscand_testkit.stream import Emitted as E
from kscand_testkit.synth import SynthConfig, scenario

SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")
PERF_CHROOT = os.path.join(ROOT, "tools", "perf-chroot")
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "traces")
REAL = os.path.join(SHARED, "kscand-real-1.data")
TIMEOUT = 600
BUILD_TIMEOUT = 1800

# Options of the outputs compared (the text with --interval streams its rows).
OUTPUTS = {"json": ["--json"], "text": [], "interval": ["--interval", "1"]}


# -- traces --------------------------------------------------------------------------------

class Trace(NamedTuple):
    path: str
    pipe: bool   # a pipe stream, read from standard input


MM1, MM2, MM3 = 0xff11000002843480, 0xff11000002843540, 0xff11000003279f80

# Edge cases for the report: negative rc, node -1 in scan ends and migrations, a scan
# end without its start, a scan still open at the end, an mm exiting during its scan,
# an exec changing a pid's comm, a comm longer than TASK_COMM_LEN, a UTF-8 comm,
# int fields at their limits, two events at one timestamp.
EDGE = [
    E(1_000_000_000, 0, 35, "kscand", "kmem_scan_mm_end",
      (MM3, 0x7f0000000000, 12, 2000, 1 << 30, -1)),                 # orphan end
    E(1_000_000_100, 0, 100, "bash", "kmem_mm_enter", (MM1,)),
    E(1_000_000_200, 0, 100, "bash", "sched_process_fork", ("bash", 100, "bash", 101)),
    E(1_000_001_000, 1, 101, "bash", "kmem_mm_enter", (MM2,)),
    E(1_000_002_000, 1, 101, "höhlenbär-λ", "sched_process_exec",
      ("/usr/bin/höhlenbär-λ", 101, 101)),
    E(1_500_000_000, 0, 35, "kscand", "kmem_scan_mm_start", (MM1,)),
    E(1_500_000_000, 0, 35, "kscand", "kmem_scan_mm_end",
      (MM1, 0x7f0000001000, 0, 2000, 1 << 30, -1)),
    E(1_500_000_010, 0, 35, "kscand", "kmem_scan_mm_start", (MM2,)),
    E(1_520_000_000, 0, 35, "kscand", "kmem_scan_mm_end",
      (MM2, 0x7f0000002000, 2 ** 64 - 1, 2 ** 63, 2 ** 64 - 1, 2 ** 31 - 1)),
    E(1_600_000_000, 1, 36, "kmigrated", "kmem_scan_mm_migrate", (MM2, -11, -1, 0, 1)),
    E(1_600_000_001, 1, 36, "kmigrated", "kmem_scan_mm_migrate",
      (MM2, -2 ** 31, 1, 2 ** 31 - 1, -2 ** 31)),
    E(1_600_000_002, 1, 36, "kmigrated", "kmem_scan_mm_migrate", (MM2, 0, 0, 512, 0)),
    E(1_700_000_000, 0, 35, "kscand", "kmem_scan_mm_start", (MM2,)),
    E(1_700_000_500, 1, 101, "höhlenbär-λ", "kmem_mm_exit", (MM2,)),  # exit during scan
    E(1_700_000_600, 1, 101, "höhlenbär-λ", "sched_process_exit", ("höhlenbär-λ", 101, 120)),
    E(1_800_000_000, 3, 4242, "kworker/u16:3-events_unbound", "sched_process_fork",
      ("kworker/u16:3-events_unbound", 4242, "kworker/u16:3-events_unbound", 4243)),
    E(1_900_000_000, 0, 35, "kscand", "kmem_scan_mm_start", (MM1,)),  # open at the end
]

# name: (SynthConfig, options): small simulations, a few thousand events each.
SIMULATED = {
    "sim": (SynthConfig(seed=31, mms=6, seconds=20), {}),
    "sim-pipe": (SynthConfig(seed=31, mms=6, seconds=20), {"pipe": True}),
    "sim-no-sched": (SynthConfig(seed=32, mms=5, seconds=15, sched=False), {}),
    "sim-no-sched-pipe": (SynthConfig(seed=32, mms=5, seconds=15, sched=False),
                          {"pipe": True}),
    "sim-reuse": (SynthConfig(seed=33, mms=6, seconds=15, fork_rate=6.0,
                              pointer_reuse_prob=1.0, exit_during_scan_prob=0.3), {}),
    "sim-posted-printk": (SynthConfig(seed=34, mms=4, seconds=12),
                          {"print_fmts": schema.POSTED_V3_PRINT_FMTS}),
    "sim-rfc-v2": (SynthConfig(seed=35, mms=4, seconds=12), {"v2": True}),
    "sim-rfc-v2-pipe": (SynthConfig(seed=35, mms=4, seconds=12), {"v2": True, "pipe": True}),
}

EDGES = {"edge": {}, "edge-pipe": {"pipe": True}}

# Traces in the checkout (file mode), by name.
COMMITTED = {
    "sample": os.path.join(ROOT, "samples", "kscand-sample.data"),
    "small": os.path.join(ROOT, "tests", "data", "small.data"),
    "real": REAL,
}

TRACES = sorted(COMMITTED) + sorted(SIMULATED) + sorted(EDGES)


def _v2(events: Sequence[E]) -> List[E]:
    """The stream as RFC V1/V2 kernels emit it: migrate without msuccess/mfailed."""
    return [e._replace(values=e.values[:3]) if e.event == "kmem_scan_mm_migrate" else e
            for e in events]


V2_EVENTS = tuple(schema.MIGRATE_V2 if e is schema.MIGRATE else e for e in schema.ALL_EVENTS)


@pytest.fixture(scope="session")
def traces(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Trace]:
    """name -> Trace; simulator traces are written on first use."""
    folder = tmp_path_factory.mktemp("perf-versions")

    @functools.lru_cache(maxsize=None)
    def get(name: str) -> Trace:
        if name in COMMITTED:
            path = COMMITTED[name]
            require(os.path.exists(path), "%s is not here (../shared/traces: only the "
                    "project's own machines have it)" % path)
            return Trace(path, False)
        opts = dict(SIMULATED[name][1] if name in SIMULATED else EDGES[name])
        pipe = opts.pop("pipe", False)
        path = str(folder / (name + ".data"))
        if name in EDGES:
            write_trace(path, EDGE, pipe=pipe)
        else:
            events, _ = scenario(SIMULATED[name][0])
            if opts.pop("v2", False):
                write_trace(path, _v2(events), events=V2_EVENTS, pipe=pipe)
            else:
                write_trace(path, events, pipe=pipe, **opts)
        return Trace(path, pipe)

    return get


# -- readers -------------------------------------------------------------------------------

def _env() -> Dict[str, str]:
    env = dict(os.environ)
    env.pop("PERF_EXEC_PATH", None)
    env["LC_ALL"] = "C.UTF-8"
    return env


def _run(cmd: List[str], trace: Trace) -> subprocess.CompletedProcess:
    if trace.pipe:
        with open(trace.path, "rb") as stdin:
            return subprocess.run(cmd, stdin=stdin, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, cwd=ROOT, env=_env(),
                                  timeout=TIMEOUT)
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, cwd=ROOT, env=_env(), timeout=TIMEOUT)


def _script_args(trace: Trace, options: List[str]) -> List[str]:
    args = ["script", "-s", SCRIPT, "-i", "-" if trace.pipe else trace.path]
    return args + (["--"] + options if options else [])


class Reader:
    """One column: ``prepare()`` returns None when it can run here, else the reason;
    ``command(trace, options)`` is the argv that prints the report."""

    name = ""

    def prepare(self) -> Optional[str]:
        return None

    def command(self, trace: Trace, options: List[str]) -> List[str]:
        raise NotImplementedError


class HostPerf(Reader):
    name = "perf 6.1 (host)"

    def prepare(self) -> Optional[str]:
        self.perf = shutil.which(os.environ.get("PERF", "perf"))
        if self.perf is None:
            return "perf is not installed (apt-get install linux-perf)"
        return None

    def command(self, trace: Trace, options: List[str]) -> List[str]:
        return [self.perf] + _script_args(trace, options)


class ChrootPerf(Reader):
    def __init__(self, version: str) -> None:
        self.version = version
        self.name = "perf %s (chroot)" % version

    def prepare(self) -> Optional[str]:
        """Build the chroot (first time) or find it in the cache."""
        if os.geteuid() != 0:
            return "the perf %s chroot needs root (mmdebstrap, chroot, mounts)" % self.version
        try:
            proc = subprocess.run([PERF_CHROOT, self.version], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=BUILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            return "building the perf %s chroot took over %d s" % (self.version, BUILD_TIMEOUT)
        err = proc.stderr.decode(errors="replace").strip()
        if proc.returncode == 3:
            return "no perf %s chroot here: %s" % (self.version, err.splitlines()[-1])
        assert proc.returncode == 0, "tools/perf-chroot %s failed: %s" % (self.version, err)
        return None

    def command(self, trace: Trace, options: List[str]) -> List[str]:
        return [PERF_CHROOT, "run", self.version, "--bind", os.path.dirname(trace.path),
                "--"] + _script_args(trace, options)


class OurReader(Reader):
    name = "kscand-perf report"

    def prepare(self) -> Optional[str]:
        if importlib.util.find_spec("kscand_perf.cmd_report") is None:
            return "our perf.data reader (kscand_perf/cmd_report.py) is not written yet"
        return None

    def command(self, trace: Trace, options: List[str]) -> List[str]:
        return [sys.executable, "-m", "kscand_perf", "report",
                "-i", "-" if trace.pipe else trace.path] + options


class Standalone(Reader):
    """perf-scripts/kscand_report.py run on its own in the perf 7.3 chroot: perf's Python
    module (its session API) reads perf.data files, our reader pipe streams."""

    name = "python3 kscand_report.py (perf 7.3's module)"

    def prepare(self) -> Optional[str]:
        return ChrootPerf("7.3").prepare()

    def command(self, trace: Trace, options: List[str]) -> List[str]:
        return [PERF_CHROOT, "python", "7.3", "--bind", os.path.dirname(trace.path), "--",
                SCRIPT, "-i", "-" if trace.pipe else trace.path] + options


REFERENCE = "6.1"
COLUMNS: Dict[str, Reader] = {
    "6.1": HostPerf(),
    "6.12": ChrootPerf("6.12"),
    "7.3": ChrootPerf("7.3"),
    "7.3-module": Standalone(),
    "ours": OurReader(),
}


@pytest.fixture(scope="session")
def readers() -> Callable[[str], Reader]:
    """column -> its Reader, prepared once (the chroots are built here on first use);
    a reader that cannot run skips, or fails under KSCAND_PERF_REQUIRE_E2E=1."""
    prepared: Dict[str, Optional[str]] = {}

    def get(column: str) -> Reader:
        reader = COLUMNS[column]
        if column not in prepared:
            prepared[column] = reader.prepare()
        why = prepared[column]
        if column == "ours" and why is not None:
            pytest.skip(why)   # not written yet: a skip even in CI
        require(why is None, "%s: %s" % (reader.name, why))
        return reader

    return get


@pytest.fixture(scope="session")
def outputs(readers: Callable[[str], Reader],
            traces: Callable[[str], Trace]) -> Callable[[str, str, str], bytes]:
    """(column, trace, output) -> stdout of that reader's report, run once."""
    cache: Dict[Tuple[str, str, str], bytes] = {}

    def get(column: str, name: str, output: str) -> bytes:
        key = (column, name, output)
        if key not in cache:
            reader = readers(column)
            trace = traces(name)
            cmd = reader.command(trace, OUTPUTS[output])
            proc = _run(cmd, trace)
            assert proc.returncode == 0, "%s on %s (%s): exit %d\n%s" % (
                reader.name, name, output, proc.returncode,
                proc.stderr.decode(errors="replace")[-3000:])
            assert proc.stdout, "%s printed nothing on %s" % (reader.name, name)
            cache[key] = proc.stdout
        return cache[key]

    return get


def _first_difference(a: bytes, b: bytes) -> str:
    la, lb = a.decode(errors="replace").splitlines(), b.decode(errors="replace").splitlines()
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return "line %d:\n  reference: %r\n  this:      %r" % (i + 1, x, y)
    return "lengths differ: %d lines in the reference, %d here" % (len(la), len(lb))


# -- the matrix ----------------------------------------------------------------------------

# Cells known to differ, with the reason; strict: once fixed, the cell fails until its
# entry here is removed. (perf >= 6.12 names a task ':PID' once it has seen the task's EXIT
# record, which in a real recording comes before the task's kmem_mm_exit: the analysis
# keeps the name it last saw, so the real trace no longer differs.)
KNOWN_DIFFERENCES: Dict[Tuple[str, str], str] = {}


def _cells() -> List[object]:
    cells: List[object] = []
    for column in COLUMNS:
        if column == REFERENCE:
            continue
        for name in TRACES:
            for output in sorted(OUTPUTS):
                why = KNOWN_DIFFERENCES.get((column, name))
                marks = [pytest.mark.xfail(reason=why, strict=True)] if why else []
                cells.append(pytest.param(column, name, output, marks=marks,
                                          id="%s-%s-%s" % (column, name, output)))
    return cells


@pytest.mark.parametrize("column, name, output", _cells())
def test_same_report_as_the_reference(column: str, name: str, output: str,
                                      outputs: Callable[[str, str, str], bytes]) -> None:
    ours = outputs(column, name, output)
    want = outputs(REFERENCE, name, output)
    if output == "json":
        assert json.loads(want)["schema"] == "kscand-perf/1"
    assert ours == want, "%s differs from perf %s on %s (%s): %s" % (
        COLUMNS[column].name, REFERENCE, name, output, _first_difference(want, ours))


def test_the_traces_hold_what_they_should(outputs: Callable[[str, str, str], bytes]) -> None:
    """The matrix compares real reports: the edge trace's report sees its edges."""
    report = json.loads(outputs(REFERENCE, "edge", "json"))
    text = json.dumps(report)
    assert report["schema"] == "kscand-perf/1"
    assert "-11" in text or "EAGAIN" in text, "the negative rc does not reach the report"
    sim = json.loads(outputs(REFERENCE, "sim-pipe", "json"))
    sim_file = json.loads(outputs(REFERENCE, "sim", "json"))
    # "run" names the input: "-" and no header for a pipe, the file and its header else
    assert sim.pop("run")["input"] == "-" and sim_file.pop("run")["input"].endswith(".data")
    assert sim == sim_file, "pipe and file mode differ"


@pytest.mark.parametrize("column", [c for c, r in COLUMNS.items()
                                    if isinstance(r, (HostPerf, ChrootPerf))])
@pytest.mark.parametrize("name", ["edge", "edge-pipe"])
def test_writer_files_read_without_warnings(column: str, name: str,
                                            readers: Callable[[str], Reader],
                                            traces: Callable[[str], Trace]) -> None:
    """Every perf reads the writer's files as they are: no warning, every sample on its
    own CPU. (perf 7.3 clamps samples of a CPU at or above the count it believes to
    CPU 0: the host's count when a pipe stream states none.)"""
    reader = readers(column)
    trace = traces(name)
    cmd = reader.command(trace, [])
    cmd = cmd[:cmd.index("-s")] + ["-F", "cpu,event"] + cmd[cmd.index("-s") + 2:]
    proc = _run(cmd, trace)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert proc.stderr.decode(errors="replace").strip() == ""
    cpus = [int(line.split("]")[0].split("[")[1]) for line in proc.stdout.decode().splitlines()]
    assert cpus == [e.cpu for e in EDGE]


# -- the chroots themselves ----------------------------------------------------------------

@pytest.mark.parametrize("version", ["6.12", "7.3"])
def test_chroot_perf_is_the_version_it_says(version: str,
                                            readers: Callable[[str], Reader]) -> None:
    readers(version)
    proc = subprocess.run([PERF_CHROOT, "run", version, "--", "version"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().startswith("perf version %s." % version), proc.stdout


def test_chroot_python_has_perfs_module(readers: Callable[[str], Reader]) -> None:
    """perf 7.3's Python module, for standalone scripts, through `perf-chroot python`."""
    readers("7.3")
    code = "import perf, sys; print(sys.version_info[:2] >= (3, 9), hasattr(perf, 'session'))"
    proc = subprocess.run([PERF_CHROOT, "python", "7.3", "--", "-c", code],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().split() == ["True", "True"]


def test_chroot_run_passes_status_and_leaves_no_mounts(
        readers: Callable[[str], Reader], tmp_path: "os.PathLike[str]") -> None:
    readers("6.12")
    folder = os.path.join(str(tmp_path), "a folder")
    os.mkdir(folder)
    with open(os.path.join(folder, "in.txt"), "w") as f:
        f.write("seen inside\n")
    proc = subprocess.run([PERF_CHROOT, "exec", "6.12", "--bind", folder, "--", "sh", "-c",
                           'cat "$1"; pwd; exit 7', "sh", os.path.join(folder, "in.txt")],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT,
                          cwd=folder)
    assert proc.returncode == 7, proc.stderr.decode()
    assert proc.stdout.decode().splitlines() == ["seen inside", folder]
    cache = os.path.join(ROOT, ".cache", "perf-chroots")
    with open("/proc/self/mounts") as mounts:
        assert [m for m in mounts.read().splitlines() if cache in m] == []


def _fake_mmdebstrap(folder: str, body: str) -> Dict[str, str]:
    path = os.path.join(folder, "mmdebstrap")
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, 0o755)
    env = dict(os.environ)
    env["PATH"] = folder + os.pathsep + env["PATH"]
    env["KSCAND_PERF_CACHE"] = os.path.join(folder, "cache")
    return env


def test_a_failed_or_interrupted_build_never_looks_complete(tmp_path: "os.PathLike[str]"
                                                            ) -> None:
    """With a stand-in mmdebstrap: a failing build exits 3 and leaves nothing; one
    killed while building leaves no chroot folder, so the next call builds again."""
    require(os.geteuid() == 0, "tools/perf-chroot builds only as root")
    folder = str(tmp_path)
    chroots = os.path.join(folder, "cache", "perf-chroots")
    env = _fake_mmdebstrap(folder, 'mkdir -p "$(eval echo \\${$(($#-1))})/usr/bin"; exit 1')
    proc = subprocess.run([PERF_CHROOT, "7.3"], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 3, proc.stderr.decode()
    assert "mmdebstrap could not build" in proc.stderr.decode()
    assert sorted(os.listdir(chroots)) == [".7.3.lock"]

    env = _fake_mmdebstrap(folder, 'touch "$(dirname "$0")/started"; exec sleep 60')
    # Its own process group, as a shell's job: ^C reaches mmdebstrap and the tool alike.
    build = subprocess.Popen([PERF_CHROOT, "7.3"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
    started = os.path.join(folder, "started")
    deadline = time.monotonic() + 30
    while not os.path.exists(started) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.path.exists(started)
    assert [d for d in os.listdir(chroots) if d.startswith(".7.3.tmp.")], "builds in a temp dir"
    assert not os.path.exists(os.path.join(chroots, "7.3"))
    os.killpg(build.pid, signal.SIGTERM)
    build.wait(timeout=30)
    assert build.returncode != 0
    assert not os.path.exists(os.path.join(chroots, "7.3"))
    assert [d for d in os.listdir(chroots) if ".tmp." in d] == [], "the temp dir is removed"
