"""`make install` / `make uninstall` where perf users look, checked with the real perf.

Everything goes into a temporary tree: DESTDIR=<tmp>/root with PERF_EXEC_PATH=/perf-core,
so the exec path perf is pointed at (--exec-path or PERF_EXEC_PATH) is
<tmp>/root/perf-core, which also holds a symlink to the system's Perf-Trace-Util as a
real exec path would. Nothing of the system's perf is touched. The installed package is
under <tmp>/root/usr/local/lib/python3.X/dist-packages; perf's embedded Python finds it
there through PYTHONPATH (on a real install the folder is on its sys.path already).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any, Dict, List, Optional, Sequence, Set

import pytest

from conftest import ROOT, require, tracefs_root
from kscand_perf import completion, manpage, record
from kscand_testkit.perfdata import write_trace
from kscand_testkit.synth import SynthConfig, scenario

TRACE = os.path.join(os.path.dirname(ROOT), "shared", "traces", "kscand-real-1.data")
SYSTEM_EXEC_PATH = "/usr/lib/perf-core"
TRACE_UTIL = "scripts/python/Perf-Trace-Util"
SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")
KSCAND_EVENTS = ["kmem:kmem_mm_enter", "kmem:kmem_mm_exit", "kmem:kmem_scan_mm_start",
                 "kmem:kmem_scan_mm_end", "kmem:kmem_scan_mm_migrate"]


def run(argv: Sequence[str], cwd: Optional[str] = None, env: Optional[Dict[str, str]] = None,
        stdin: Optional[Any] = None, timeout: int = 300) -> subprocess.CompletedProcess:
    full = dict(os.environ)
    full.pop("PERF_EXEC_PATH", None)
    full.update(env or {})
    return subprocess.run(list(argv), cwd=cwd, env=full, stdin=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def files_under(top: str) -> Set[str]:
    """Every file and symlink under ``top``, relative to it."""
    out = set()
    for folder, dirs, files in os.walk(top):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            out.add(os.path.relpath(os.path.join(folder, name), top))
    return out


def make(*args: str) -> subprocess.CompletedProcess:
    return run(["make", "-s", "-C", ROOT] + list(args))


class Installed:
    """What `make install` put into a temporary DESTDIR."""

    def __init__(self, tmp: str, perf: str) -> None:
        self.tmp = tmp
        self.perf = perf
        self.root = os.path.join(tmp, "root")
        self.exec_path = os.path.join(self.root, "perf-core")
        os.makedirs(os.path.join(self.exec_path, "scripts", "python"))
        system_util = os.path.join(SYSTEM_EXEC_PATH, TRACE_UTIL)
        if os.path.isdir(system_util):
            os.symlink(system_util, os.path.join(self.exec_path, TRACE_UTIL))
        self.before = files_under(self.root)
        self.make_args = ["DESTDIR=" + self.root, "PERF_EXEC_PATH=/perf-core",
                          "PREFIX=/usr/local", "PYTHON=/usr/bin/python3", "PERF=" + perf]
        proc = make("install", *self.make_args)
        assert proc.returncode == 0, proc.stderr.decode()
        # the Python folder make chose: the one now holding the package
        found = [folder for folder, dirs, _ in os.walk(self.root) if "kscand_perf" in dirs]
        assert len(found) == 1, found
        self.site = "/" + os.path.relpath(found[0], self.root)
        self.package = os.path.join(found[0], "kscand_perf")
        self.cwd = os.path.join(tmp, "work")
        os.makedirs(self.cwd)

    def env(self, **extra: str) -> Dict[str, str]:
        env = {"PYTHONPATH": os.path.join(self.root, self.site.lstrip("/"))}
        env.update(extra)
        return env

    def perf_script(self, *args: str, cwd: Optional[str] = None,
                    env: Optional[Dict[str, str]] = None, stdin: Any = None,
                    via_env: bool = False) -> subprocess.CompletedProcess:
        """perf script with the temporary exec path (--exec-path, or PERF_EXEC_PATH)."""
        full = self.env(**(env or {}))
        if via_env:
            full["PERF_EXEC_PATH"] = self.exec_path
            argv = [self.perf, "script"] + list(args)
        else:
            argv = [self.perf, "--exec-path=" + self.exec_path, "script"] + list(args)
        return run(argv, cwd=cwd or self.cwd, env=full, stdin=stdin)


@pytest.fixture(scope="module")
def installed(perf: str, tmp_path_factory: Any) -> Installed:
    tmp = str(tmp_path_factory.mktemp("install"))
    return Installed(tmp, perf)


def direct(perf: str, trace: str, *options: str) -> bytes:
    """The report of the checkout's perf script, run directly with -s."""
    args = [perf, "script", "-s", SCRIPT, "-i", trace]
    if options:
        args += ["--"] + list(options)
    proc = run(args, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def real_trace() -> str:
    require(os.path.isfile(TRACE), "the real kscand trace is not in ../shared/traces/ "
            "(only on project machines)")
    return TRACE


@pytest.fixture(scope="module")
def sim_trace(tmp_path_factory: Any) -> str:
    path = str(tmp_path_factory.mktemp("sim") / "sim.data")
    events, _ = scenario(SynthConfig(seed=11, mms=6, seconds=20))
    write_trace(path, events)
    return path


# -- what was installed ------------------------------------------------------------------

def test_install_puts_each_file_where_perf_and_python_look(installed: Installed) -> None:
    added = files_under(installed.root) - installed.before
    site = installed.site.lstrip("/")
    package = {os.path.join(site, "kscand_perf", os.path.relpath(os.path.join(d, f),
                                                                 os.path.join(ROOT, "kscand_perf")))
               for d, _, files in os.walk(os.path.join(ROOT, "kscand_perf"))
               for f in files if f.endswith((".py", ".schema.json"))}
    expected = {"perf-core/scripts/python/kscand-report.py",
                "perf-core/scripts/python/bin/kscand-report-record",
                "perf-core/scripts/python/bin/kscand-report-report",
                "usr/local/bin/kscand-perf", "usr/local/bin/kscand-record",
                "usr/local/bin/kscand-report",
                "usr/local/share/bash-completion/completions/kscand-perf",
                "usr/local/share/bash-completion/completions/kscand-record"} | package
    expected |= {"usr/local/share/man/man1/%s.1" % page for page in (
        "kscand-perf", "kscand-perf-report", "kscand-perf-record", "kscand-perf-compare",
        "kscand-perf-merge", "kscand-record")}
    assert added == expected
    # the product only: no simulator, perf.data writer or event layouts of the tests
    # (read/formats.py is the reader's own: event formats of a recording)
    testkit = {"synth.py", "synth_cmd.py", "perfdata.py", "stream.py", "formats.py"}
    names = {p.split("/kscand_perf/", 1)[-1] for p in added if "/kscand_perf/" in p}
    assert not names & testkit, sorted(names)
    assert not any("kscand_testkit" in p for p in added)
    assert installed.site.startswith("/usr/local/lib/python3")
    for name in ("bin/kscand-report-record", "bin/kscand-report-report"):
        assert os.access(os.path.join(installed.exec_path, "scripts", "python", name), os.X_OK)
    with open(os.path.join(installed.exec_path, "scripts/python/kscand-report.py")) as f:
        assert f.read() == open(SCRIPT).read()
    with open(os.path.join(installed.root, "usr/local/bin/kscand-record")) as f:
        assert f.readline() == "#!/usr/bin/python3\n"
    # the man pages and the completion, generated from the parsers at install time
    man1 = os.path.join(installed.root, "usr/local/share/man/man1")
    assert manpage.pages("x").keys() == set(os.listdir(man1))
    with open(os.path.join(man1, "kscand-perf-report.1")) as f:
        assert "\\-\\-vmstat" in f.read()
    completions = os.path.join(installed.root, "usr/local/share/bash-completion/completions")
    assert os.readlink(os.path.join(completions, "kscand-record")) == "kscand-perf"
    with open(os.path.join(completions, "kscand-perf")) as f:
        assert f.read() == completion.script()


def test_default_python_folder_is_on_perfs_sys_path(perf: str, tmp_path: Any) -> None:
    """Without PYTHON_SITE, make picks a folder under PREFIX that perf's Python searches."""
    probe = tmp_path / "path.py"
    probe.write_text("import sys\n\ndef trace_begin():\n    print('\\n'.join(sys.path))\n")
    data = tmp_path / "empty.data"
    write_trace(str(data), [])
    proc = run([perf, "script", "-s", str(probe), "-i", str(data)], cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr.decode()
    perf_path = proc.stdout.decode().split()
    for prefix in ("/usr/local", "/usr"):
        chosen = run(["make", "-s", "-C", ROOT, "--no-print-directory", "-n", "install",
                      "PREFIX=" + prefix, "PERF_EXEC_PATH=/x", "DESTDIR=/d"])
        lines = [ln for ln in chosen.stdout.decode().splitlines() if "/kscand_perf/" in ln]
        assert lines, chosen.stdout.decode()
        folder = lines[0].split("'/d")[1].split("/kscand_perf/")[0]
        assert folder in perf_path, (prefix, folder, perf_path)


# -- perf finds it ------------------------------------------------------------------------

def test_perf_script_l_lists_it_with_its_description(installed: Installed) -> None:
    for via_env in (False, True):
        proc = installed.perf_script("-l", via_env=via_env)
        assert proc.returncode == 0, proc.stderr.decode()
        lines = [ln.strip() for ln in proc.stdout.decode().splitlines()]
        ours = [ln for ln in lines if ln.startswith("kscand-report ")]
        assert ours == ["kscand-report [-- --json | --csv DIR | -h] kscand scan durations, "
                        "scan adaptation and page promotions"], lines


def test_report_prints_the_same_report_as_the_script(installed: Installed, perf: str) -> None:
    trace = real_trace()
    proc = installed.perf_script("report", "kscand-report", "-i", trace)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == direct(perf, trace)
    assert proc.stdout.startswith(b"kscand report: 164,218 kscand events")


def test_report_json_equals_the_direct_scripts(installed: Installed, perf: str,
                                               sim_trace: str) -> None:
    traces = [sim_trace] + ([TRACE] if os.path.isfile(TRACE) else [])
    for trace in traces:
        proc = installed.perf_script("report", "kscand-report", "-i", trace, "--", "--json",
                                     via_env=True)
        assert proc.returncode == 0, proc.stderr.decode()
        assert proc.stdout == direct(perf, trace, "--json"), trace
        assert json.loads(proc.stdout)["schema"] == "kscand-perf/1"
    real_trace()  # skip (stated) when the real trace is absent, after the simulated one


def test_report_reads_perf_data_of_the_cwd(installed: Installed, perf: str,
                                           sim_trace: str, tmp_path: Any) -> None:
    shutil.copy(sim_trace, str(tmp_path / "perf.data"))
    proc = installed.perf_script("report", "kscand-report", "--", "--json", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr.decode()
    assert same_but_run(proc.stdout, direct(perf, sim_trace, "--json"))["input"] == "perf.data"


def test_report_reads_a_pipe(installed: Installed, perf: str, sim_trace: str,
                             tmp_path: Any) -> None:
    """The report half of the live mode: `kscand-report-report -i -` on a pipe stream."""
    stream = str(tmp_path / "stream")
    events, _ = scenario(SynthConfig(seed=11, mms=6, seconds=20))
    write_trace(stream, events, pipe=True)
    with open(stream, "rb") as f:
        proc = installed.perf_script("report", "kscand-report", "-i", "-", "--", "--json",
                                     stdin=f)
    assert proc.returncode == 0, proc.stderr.decode()
    run = same_but_run(proc.stdout, direct(perf, sim_trace, "--json"))
    assert (run["input"], run["header"]) == ("-", None)


def same_but_run(ours: bytes, theirs: bytes) -> Any:
    """The two JSON reports are the same but for "run" (which names the input, and
    holds no header for a pipe); ours' "run"."""
    a, b = json.loads(ours), json.loads(theirs)
    run = a.pop("run")
    b.pop("run")
    assert a == b
    return run


def test_installed_script_uses_the_installed_package(installed: Installed,
                                                     sim_trace: str, tmp_path: Any) -> None:
    """No checkout next to the installed script: without the installed package on its
    path, the import fails (unless this machine has kscand_perf installed for real)."""
    elsewhere = run(["/usr/bin/python3", "-c", "import kscand_perf"], cwd=str(tmp_path),
                    env={"PYTHONPATH": ""})
    if elsewhere.returncode == 0:
        pytest.skip("kscand_perf is installed on this machine: cannot show the import fails")
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = installed.perf_script("report", "kscand-report", "-i", sim_trace,
                                 env={"PYTHONPATH": str(empty)})
    assert proc.returncode != 0
    assert "No module named 'kscand_perf'" in proc.stderr.decode()


def test_installed_kscand_record_runs(installed: Installed) -> None:
    proc = run([os.path.join(installed.root, "usr/local/bin/kscand-record"), "-h"],
               cwd=installed.cwd, env=installed.env())
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().startswith("usage: kscand-record")


def test_installed_kscand_perf_runs_from_anywhere_without_the_test_machinery(
        installed: Installed) -> None:
    command = os.path.join(installed.root, "usr/local/bin/kscand-perf")
    proc = run([command, "-h"], cwd=installed.cwd, env=installed.env())
    assert proc.returncode == 0, proc.stderr.decode()
    usage = proc.stdout.decode()
    assert usage.startswith("usage: kscand-perf") and "record" in usage
    assert "synth" not in usage  # the simulator is test machinery, not installed
    proc = run([command, "--version"], cwd=installed.cwd, env=installed.env())
    assert proc.returncode == 0 and proc.stdout.decode().startswith("kscand-perf")
    proc = run([command, "synth"], cwd=installed.cwd, env=installed.env())
    assert proc.returncode == 2
    assert proc.stderr.decode().count("\n") == 1 and "invalid choice" in proc.stderr.decode()


# -- recording ----------------------------------------------------------------------------

def _events_missing_here() -> List[str]:
    return record.missing_in_tracefs(record.EVENTS, tracefs_root())


def _error_text(proc: subprocess.CompletedProcess, prog: str) -> str:
    lines = [ln for ln in proc.stderr.decode().splitlines() if ln.strip()]
    ours = [ln for ln in lines if ln.startswith(prog + ": error: ")]
    assert len(ours) == 1, proc.stderr.decode()
    return ours[0][len(prog + ": error: "):]


def test_record_refuses_with_kscand_records_error(installed: Installed, tmp_path: Any) -> None:
    missing = _events_missing_here()
    if not missing:
        pytest.skip("this kernel has every kscand event: nothing to refuse")
    proc = installed.perf_script("record", "kscand-report", "--", "true")
    assert proc.returncode != 0
    ours = _error_text(proc, "kscand-report-record")
    theirs = _error_text(run([sys.executable, os.path.join(ROOT, "bin", "kscand-record"),
                              "-o", str(tmp_path / "x.data"), "--", "true"],
                             cwd=str(tmp_path)), "kscand-record")
    assert ours == theirs
    for event in missing:
        assert event in ours
    assert not os.path.exists(os.path.join(installed.cwd, "perf.data"))


def test_live_mode(installed: Installed) -> None:
    """`perf script kscand-report CMD`: record -q -o - | report -i -."""
    missing = _events_missing_here()
    proc = installed.perf_script("kscand-report", "true")
    if missing:
        # the refusal reaches the user; the report side then has no input
        assert "kscand-report-record: error: this kernel lacks" in proc.stderr.decode()
        pytest.skip("this kernel lacks %s: the live mode cannot record (the record side "
                    "refuses, as checked); its report side is checked on a pipe stream"
                    % ", ".join(missing))
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.startswith(b"kscand report: ")


def test_record_wrapper_records_kscand_records_events(tmp_path: Any) -> None:
    """On a kernel with the events (a stand-in tracefs bound over the real one in a private
    mount namespace), the wrapper runs perf record with kscand-record's events and
    options and passes its arguments on."""
    unshare = shutil.which("unshare")
    require(unshare is not None and os.geteuid() == 0,
            "needs root and unshare(1) to show the wrapper a tracefs with the kscand events")
    fake_tracefs = tmp_path / "tracefs"
    for event in record.EVENTS:
        (fake_tracefs / "events" / event.split(":")[0] / event.split(":")[1]).mkdir(
            parents=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "log"
    fake_perf = bindir / "perf"
    fake_perf.write_text("#!/bin/sh\nprintf '%%s\\n' \"$@\" > %s\n" % log)
    fake_perf.chmod(0o755)
    wrapper = os.path.join(ROOT, "bin", "kscand-report-record")
    script = ("mount --bind %s /sys/kernel/tracing && exec /bin/sh %s -q -o - -- true"
              % (fake_tracefs, wrapper))
    proc = run([unshare, "-m", "sh", "-c", script],
               env={"PATH": "%s:%s" % (bindir, os.environ.get("PATH", ""))})
    require(proc.returncode == 0 or b"mount" not in proc.stderr,
            "cannot bind-mount in a private mount namespace: %s" % proc.stderr.decode())
    assert proc.returncode == 0, proc.stderr.decode()
    args = log.read_text().splitlines()
    expected = ["record", "-a", "-m", "16M", "--affinity=cpu"]
    for event in record.EVENTS:
        expected += ["-e", event]
    assert args == expected + ["-q", "-o", "-", "--", "true"]
    # the same events and options as kscand-record's own perf command
    theirs = record.perf_command("perf", record.EVENTS, "16M", "-", [])
    assert sorted(theirs[1:]) == sorted(args[:len(expected)] + ["-o", "-", "--"])


# -- uninstall ----------------------------------------------------------------------------

def test_uninstall_removes_exactly_what_was_installed(perf: str, tmp_path: Any) -> None:
    inst = Installed(str(tmp_path), perf)
    # a run of the installed package leaves byte code next to it: that goes too
    proc = run(["/usr/bin/python3", "-c", "import kscand_perf.session"], cwd=inst.cwd,
               env=inst.env())
    assert proc.returncode == 0, proc.stderr.decode()
    proc = make("uninstall", *inst.make_args)
    assert proc.returncode == 0, proc.stderr.decode()
    assert files_under(inst.root) == inst.before
    assert not os.path.exists(inst.package)
