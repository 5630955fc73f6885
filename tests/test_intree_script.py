"""The in-tree script (patch/perf/0002: tools/perf/python/kscand-report.py) on its own.

Its main() runs here with this machine's Python and a stand-in `perf` module (a session
that hands over made-up samples), so that what the review asked of main() is checked
without perf: SIGPIPE ends it quietly, a perf module without the session API and a
missing file give one clear line, Ctrl-C prints what was read, a file without kscand
events gives the record line instead of a table of zeros, -h shows the record line, and
the JSON is in ns whatever --unit says. Also: RC_NAMES mirrors enum kscand_migration_err
of the kscand series, the file-wide pylint disable says why, and the docstring, the
epilog and the changelog give the same record line. Under the real perf 7.3 the script
runs in tests/test_intree.py and in its shell test.
"""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import subprocess
import sys
from typing import Any, Dict, List, Sequence

import pytest

from conftest import ROOT, require
from test_intree import ADD_SCRIPT, SCRIPT, added_text, message

KERNEL_SERIES = os.path.join(os.path.dirname(ROOT), "shared", "kernels", "kscand-v3-6.12",
                             "series")
ENUM_PATCH = "0006-RFC-PATCH-V3-06-17-mm-migration-migrate-accessed-fol.patch"

# A stand-in for perf's module: a session that calls sample() for the samples in
# $FAKE_PERF_SAMPLES (JSON: [event, time, tid, {fields}]), then raises KeyboardInterrupt
# if $FAKE_PERF_INTERRUPT is set.
FAKE_PERF = '''
import json
import os


class _Sample:
    def __init__(self, event, time, tid, fields):
        self.evsel = "evsel(%s)" % event
        self.sample_time, self.sample_tid, self.sample_pid = time, tid, tid
        self.sample_cpu = 0
        for name, value in fields.items():
            setattr(self, name, value)


class data:
    def __init__(self, path):
        self.path = path


class session:
    def __init__(self, data, sample=None):
        self.sample = sample

    def process_events(self):
        for event in json.loads(os.environ.get("FAKE_PERF_SAMPLES", "[]")):
            self.sample(_Sample(*event))
        if os.environ.get("FAKE_PERF_INTERRUPT"):
            raise KeyboardInterrupt
'''

OLD_PERF = "# perf's module before 7.3: no session API\nclass evlist:\n    pass\n"

MM = 0xFFFF888100001000


def scan(start: int, end: int, tid: int = 40) -> List[Any]:
    return [["kmem:kmem_scan_mm_start", start, tid, {"mm": MM}],
            ["kmem:kmem_scan_mm_end", end, tid, {"mm": MM}]]


SAMPLES = scan(1000, 3000) + scan(10_000, 1_510_000) + [
    ["kmem:kmem_scan_mm_migrate", 20_000, 41,
     {"mm": MM, "rc": 4294967285, "target_node": 1}]]


@pytest.fixture(scope="module")
def script(tmp_path_factory: Any) -> str:
    """The script as patch/perf/0002 adds it, with a stand-in perf module beside it."""
    folder = tmp_path_factory.mktemp("intree-script")
    path = folder / "kscand-report.py"
    path.write_text(added_text(ADD_SCRIPT, SCRIPT))
    (folder / "perf.py").write_text(FAKE_PERF)
    (folder / "perf.data").write_bytes(b"")  # the stand-in session does not read it
    return str(path)


def run(script: str, argv: Sequence[str], samples: Any = (), stdout: Any = subprocess.PIPE,
        **env: str) -> subprocess.CompletedProcess:
    environ = dict(os.environ, FAKE_PERF_SAMPLES=json.dumps(list(samples)), **env)
    environ.pop("PYTHONPATH", None)
    return subprocess.run([sys.executable, script] + list(argv), stdout=stdout,
                          stderr=subprocess.PIPE, env=environ, timeout=60,
                          cwd=os.path.dirname(script))


def test_report_and_exit_status(script: str) -> None:
    proc = run(script, [], SAMPLES)
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr
    assert "scans: 2 completed, 0 ends without a start" in out
    assert "   -11 EAGAIN" in out and proc.stderr == b""


def test_a_closed_pipe_ends_it_quietly(script: str) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head` that has already exited
    try:
        proc = run(script, [], SAMPLES, stdout=write_end)
    finally:
        os.close(write_end)
    assert proc.returncode == -signal.SIGPIPE, proc.stderr
    assert b"Traceback" not in proc.stderr and b"BrokenPipeError" not in proc.stderr


def test_a_perf_module_without_the_session_api(script: str, tmp_path: Any) -> None:
    (tmp_path / "perf.py").write_text(OLD_PERF)
    copy = tmp_path / "kscand-report.py"
    copy.write_text(open(script, encoding="utf-8").read())
    (tmp_path / "perf.data").write_bytes(b"")
    proc = run(str(copy), [])
    err = proc.stderr.decode()
    assert proc.returncode == 1 and err.count("\n") == 1, err
    assert "no session API" in err and "7.3" in err and "PYTHONPATH" in err, err


def test_no_perf_module_at_all(script: str, tmp_path: Any) -> None:
    copy = tmp_path / "kscand-report.py"
    copy.write_text(open(script, encoding="utf-8").read())
    environ = dict(os.environ, PYTHONPATH=str(tmp_path))
    proc = subprocess.run([sys.executable, "-S", str(copy)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=environ, timeout=60, cwd=str(tmp_path))
    err = proc.stderr.decode()
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert "cannot import perf's python module" in err and "PYTHONPATH" in err, err


def test_a_missing_file_gives_its_strerror(script: str, tmp_path: Any) -> None:
    missing = str(tmp_path / "nothing.data")
    proc = run(script, ["-i", missing])
    assert proc.returncode == 1
    assert proc.stderr.decode() == "kscand-report: %s: No such file or directory\n" % missing


def test_ctrl_c_prints_what_was_read(script: str) -> None:
    proc = run(script, [], SAMPLES, FAKE_PERF_INTERRUPT="1")
    assert proc.returncode == 130
    assert "scans: 2 completed" in proc.stdout.decode()
    err = proc.stderr.decode()
    assert "interrupted" in err and "Traceback" not in err, err


def record_line(source: str) -> str:
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "RECORD":
            return str(ast.literal_eval(node.value))
    raise AssertionError("no RECORD in the script")


def test_no_kscand_events_gives_the_record_line(script: str) -> None:
    record = record_line(added_text(ADD_SCRIPT, SCRIPT))
    proc = run(script, [], [["cpu-clock", 1, 7, {}]] * 3)
    out = proc.stdout.decode()
    assert proc.returncode == 0
    assert "no kscand events" in out and record in out, out
    assert "kscand events:" not in out and "scans:" not in out, out
    res = json.loads(run(script, ["--json"], [["cpu-clock", 1, 7, {}]]).stdout)
    assert res["scans"]["completed"] == 0 and res["other_events"] == {"cpu-clock": 1}


def test_help_shows_the_record_line(script: str) -> None:
    record = record_line(added_text(ADD_SCRIPT, SCRIPT))
    proc = run(script, ["-h"])
    assert proc.returncode == 0 and record in proc.stdout.decode()


def test_json_stays_in_ns_whatever_the_unit(script: str) -> None:
    runs: Dict[str, Any] = {unit: json.loads(run(script, ["--json", "--unit", unit],
                                                 SAMPLES).stdout)
                            for unit in ("ns", "us", "ms")}
    assert runs["ns"] == runs["us"] == runs["ms"]
    assert [(r["low"], r["high"], r["count"]) for r in runs["us"]["scans"]["log2"]][0] == \
        (1024, 2047, 1)
    assert "     msecs" in run(script, ["--unit", "ms"], SAMPLES).stdout.decode()


def test_record_line_is_the_same_in_docstring_epilog_and_changelog() -> None:
    source = added_text(ADD_SCRIPT, SCRIPT)
    record = record_line(source)
    docstring = ast.get_docstring(ast.parse(source)) or ""
    assert "  " + record in docstring.splitlines()
    assert "-m 16M" in record  # and the docstring says why
    assert re.search(r"-m 16M: ", docstring)
    body = message(ADD_SCRIPT).replace("\\\n", " ")  # a line continued with "\\"
    assert " ".join(record.split()) in " ".join(body.split())


def test_json_keys_are_documented_with_a_version(script: str) -> None:
    res = json.loads(run(script, ["--json"], SAMPLES).stdout)
    docstring = ast.get_docstring(ast.parse(added_text(ADD_SCRIPT, SCRIPT))) or ""
    documented = docstring.split("--json", 1)[1]
    assert res["version"] == 1
    for key in list(res) + list(res["scans"]) + list(res["migrations"]):
        assert re.search(r"\b%s\b" % key, documented), key


def test_the_file_wide_pylint_disable_says_why() -> None:
    lines = added_text(ADD_SCRIPT, SCRIPT).splitlines()
    disables = [i for i, ln in enumerate(lines) if ln.startswith("# pylint: disable=")]
    assert [lines[i] for i in disables] == ["# pylint: disable=invalid-name"]
    assert "dash" in lines[disables[0] - 1] or "dash" in lines[disables[0] - 2]


def test_rc_names_mirror_enum_kscand_migration_err() -> None:
    source = added_text(ADD_SCRIPT, SCRIPT)
    assert "enum\n# kscand_migration_err" in source or \
        "enum kscand_migration_err" in source
    names = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "RC_NAMES":
            names = ast.literal_eval(node.value)
    path = os.path.join(KERNEL_SERIES, ENUM_PATCH)
    require(os.path.isfile(path), "%s is not here (../shared/kernels is only on the "
            "project's own machines)" % path)
    enum = re.search(r"^\+enum kscand_migration_err \{\n(.*?)^\+\};", open(
        path, encoding="utf-8").read(), re.M | re.S)
    assert enum
    members = re.findall(r"^\+\s*(KSCAND_\w+)(?: = (\d+))?,", enum.group(1), re.M)
    assert members[0] == ("KSCAND_NULL_MM", "1")
    assert {n: name for n, name in names.items() if n > 0} == \
        {i: name for i, (name, _) in enumerate(members, 1)}
    assert names[0] == "success" and names[-11] == "EAGAIN"
