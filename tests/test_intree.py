"""patch/0002: kscand-report in the kernel tree (make kernel-patch, make intree-check).

The committed patch must be what tools/mk-kernel-patch.py builds from the package now.
Then, against Debian's linux-source (tools/fetch-linux-source; skipped with the reason
where it cannot be fetched, failed under KSCAND_PERF_REQUIRE_E2E=1): the patch applies
to a copy of its tools/perf, checkpatch has nothing to say but the two findings every
new perf shell test gets, perf lists the script and the shell test, and the in-tree
script, run by the real perf from the patched tree, gives exactly the package's reports.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest

from conftest import ROOT, require
from kscand_testkit import formats as schema
from kscand_testkit.perfdata import write_trace
from kscand_perf.record import find_tracefs, missing_in_tracefs
from kscand_testkit.stream import Emitted
from kscand_testkit.synth import SynthConfig, scenario

PATCH = os.path.join(ROOT, "patch", "0002-perf-scripts-python-add-kscand-report.patch")
GENERATOR = os.path.join(ROOT, "tools", "mk-kernel-patch.py")
FETCH = os.path.join(ROOT, "tools", "fetch-linux-source")
SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")
TRACE = os.path.join(os.path.dirname(ROOT), "shared", "traces", "kscand-real-1.data")
VMSTAT = [TRACE.replace(".data", ".vmstat-%s.txt" % w) for w in ("before", "after")]
SHELL_TEST = "tools/perf/tests/shell/script_kscand_report.sh"
INTREE_SCRIPT = "tools/perf/scripts/python/kscand-report.py"
ADDED = {
    INTREE_SCRIPT: 0o644,
    "tools/perf/scripts/python/bin/kscand-report-record": 0o644,
    "tools/perf/scripts/python/bin/kscand-report-report": 0o644,
    SHELL_TEST: 0o755,
}

# checkpatch findings the patch keeps, each for a reason a perf maintainer accepts:
# (file, line or None, type)
ACCEPTED_FINDINGS = {
    # any patch adding files is asked this; tools/perf/ is covered by the perf entry
    ("tools/perf/scripts/python/bin/kscand-report-record", None, "FILE_PATH_CHANGES"),
    # perf test reads a shell test's description from line 2, so every perf shell test
    # has its SPDX line on line 3 (checkpatch wants it on line 2)
    (SHELL_TEST, 2, "SPDX_LICENSE_TAG"),
    (SHELL_TEST, 3, "SPDX_LICENSE_TAG"),
}


def run(argv: Sequence[str], cwd: Optional[str] = None, env: Optional[Dict[str, str]] = None,
        stdin: Any = None, timeout: int = 900) -> subprocess.CompletedProcess:
    full = dict(os.environ)
    full.pop("PERF_EXEC_PATH", None)
    full.update(env or {})
    return subprocess.run(list(argv), cwd=cwd, env=full, stdin=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


# -- the committed patch is the generated one ------------------------------------------

def test_committed_patch_is_up_to_date(tmp_path: Any) -> None:
    fresh = tmp_path / "0002.patch"
    proc = run([sys.executable, GENERATOR, "--out", str(fresh)])
    assert proc.returncode == 0, proc.stderr.decode()
    with open(PATCH, "rb") as f:
        committed = f.read()
    assert fresh.read_bytes() == committed, (
        "patch/%s is out of date with the package or the perf script: run `make "
        "kernel-patch` and commit it" % os.path.basename(PATCH))


def test_generation_is_deterministic(tmp_path: Any) -> None:
    outs = []
    for name in ("a.patch", "b.patch"):
        proc = run([sys.executable, GENERATOR, "--out", str(tmp_path / name)])
        assert proc.returncode == 0, proc.stderr.decode()
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1]


def test_patch_message_and_files() -> None:
    with open(PATCH, encoding="utf-8") as f:
        text = f.read()
    head, _, diff = text.partition("\n---\n")
    assert "Subject: [PATCH] perf scripts python: Add kscand-report\n" in head
    with open(os.path.join(ROOT, "patch", "0001-mm-kscand-Add-tracepoints-for-scanning-and-"
                           "migration.patch"), encoding="utf-8") as f:
        signoff = [l for l in f.read().splitlines() if l.startswith("Signed-off-by: ")]
    assert signoff and head.rstrip().endswith(signoff[0])
    for phrase in ("perf script record kscand-report", "perf script report kscand-report",
                   "standard library", "tabulate"):
        assert phrase in head, phrase
    for path, mode in ADDED.items():
        assert "diff --git a/%s b/%s\nnew file mode 100%o\n" % (path, path, mode) in diff


def intree_script_text() -> str:
    proc = run([sys.executable, GENERATOR, "--script", "-"])
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def test_intree_script_is_one_file_of_the_packages_code() -> None:
    text = intree_script_text()
    assert "kscand_perf" not in "\n".join(l for l in text.splitlines()
                                          if l.lstrip().startswith(("import", "from")))
    assert text.count("from __future__ import") == 1
    assert "import tabulate" in text or "from tabulate import" in text
    # every function and class of the modules it needs is there, under its name or
    # prefixed with its module's name
    for module in ("events", "histogram", "analysis", "report", "render", "options",
                   "session"):
        with open(os.path.join(ROOT, "kscand_perf", module + ".py")) as f:
            source = f.read()
        for line in source.splitlines():
            for kw in ("def ", "class "):
                if line.startswith(kw):
                    name = line[len(kw):].split("(")[0].split(":")[0]
                    assert (kw + name in text or "%s%s_%s" % (kw, module, name) in text or
                            "%s_%s%s" % (kw, module, name) in text), (module, name)


# -- the kernel tree ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def linux_source() -> str:
    """Debian's linux-source tree (tools/perf and checkpatch), fetched once."""
    proc = run([FETCH])
    if proc.returncode == 3:
        require(False, "Debian's linux-source cannot be fetched here: %s"
                % proc.stderr.decode(errors="replace").strip().splitlines()[-1])
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout.decode().strip().splitlines()[-1]


@pytest.fixture(scope="module")
def patched(linux_source: str, tmp_path_factory: Any) -> str:
    """A copy of the tree's tools/perf with patch/0002 applied; its top folder."""
    top = str(tmp_path_factory.mktemp("linux"))
    shutil.copytree(os.path.join(linux_source, "tools", "perf"),
                    os.path.join(top, "tools", "perf"), symlinks=True)
    check = run(["git", "apply", "--check", "--verbose", PATCH], cwd=top)
    assert check.returncode == 0, check.stderr.decode()
    proc = run(["git", "apply", PATCH], cwd=top)
    assert proc.returncode == 0, proc.stderr.decode()
    return top


def test_patch_applies_with_modes(patched: str) -> None:
    for path, mode in ADDED.items():
        assert os.stat(os.path.join(patched, path)).st_mode & 0o777 == mode, path
    for path in ADDED:
        if "/bin/" in path or path.endswith(".sh"):
            proc = run(["sh", "-n", os.path.join(patched, path)])
            assert proc.returncode == 0, proc.stderr.decode()
    with open(os.path.join(patched, INTREE_SCRIPT)) as f:
        assert f.read() == intree_script_text()


def test_checkpatch_has_no_errors_and_only_the_accepted_warnings(linux_source: str) -> None:
    checkpatch = os.path.join(linux_source, "scripts", "checkpatch.pl")
    with open(PATCH, "rb") as f:
        proc = run(["perl", checkpatch, "--no-tree", "--show-types", "--terse", "--showfile",
                    "--no-color", "-"], stdin=f)
    out = proc.stdout.decode()
    findings: List[Tuple[str, int, str, str]] = []
    for line in out.splitlines():
        parts = line.split(": ", 2)
        if len(parts) == 3 and ":" in parts[1]:
            where, level_type, message = parts
            path, _, lineno = where.rpartition(":")
            level, _, kind = level_type.partition(":")
            findings.append((path, int(lineno), level, kind))
    assert "total: 0 errors" in out, out
    for path, lineno, level, kind in findings:
        assert level == "WARNING", out
        assert (path, lineno, kind) in ACCEPTED_FINDINGS or \
            (path, None, kind) in ACCEPTED_FINDINGS, out
    assert len(findings) <= len(ACCEPTED_FINDINGS), out


def _events_missing_here() -> List[str]:
    root = find_tracefs()
    if root is None:
        return ["(no readable tracefs)"]
    return missing_in_tracefs(["kmem:kmem_scan_mm_start"], root)


def test_perf_test_lists_and_runs_the_shell_test(patched: str, perf: str) -> None:
    # perf 6.1 takes shell tests from ./tools/perf/tests/shell when run from a kernel tree
    env = {"PERF_EXEC_PATH": os.path.join(patched, "tools", "perf")}
    listing = run([perf, "test", "list"], cwd=patched, env=env)
    assert listing.returncode == 0, listing.stderr.decode()
    text = listing.stdout.decode() + listing.stderr.decode()  # perf test writes to stderr
    ours = [l for l in text.splitlines() if "kscand" in l]
    assert len(ours) == 1 and ours[0].split(":", 1)[1].strip() == \
        "perf script kscand-report tests", ours
    number = ours[0].split(":")[0].strip()
    proc = run([perf, "test", number], cwd=patched, env=env)
    result = proc.stdout.decode() + proc.stderr.decode()
    direct = run(["sh", os.path.join(patched, SHELL_TEST)], cwd=patched, env=env)
    if _events_missing_here():
        assert "Skip" in result, result
        assert direct.returncode == 2, direct.stdout.decode() + direct.stderr.decode()
        assert "[Skipped: " in direct.stdout.decode()
    else:
        assert " Ok" in result, result
        assert direct.returncode == 0, direct.stdout.decode() + direct.stderr.decode()


def test_perf_script_l_lists_it_from_the_tree(patched: str, perf: str) -> None:
    proc = run([perf, "--exec-path=" + os.path.join(patched, "tools", "perf"), "script", "-l"],
               cwd=patched)
    assert proc.returncode == 0, proc.stderr.decode()
    lines = [l.strip() for l in proc.stdout.decode().splitlines()]
    assert "kscand-report [-- --json | --csv DIR | -h] kscand scan durations, scan " \
        "adaptation and page promotions" in lines, lines
    assert any(l.startswith("sched-migration ") for l in lines)  # the tree's own scripts


# -- the in-tree script gives the package's reports -----------------------------------------

def _v2(events: List[Emitted]) -> List[Emitted]:
    """The same stream as RFC V1/V2 kernels emit it: migrate without msuccess/mfailed."""
    return [e._replace(values=e.values[:3]) if e.event == "kmem_scan_mm_migrate" else e
            for e in events]


SIMULATED = {
    "default": (SynthConfig(seed=21, mms=8, seconds=30), {}),
    "no-sched": (SynthConfig(seed=22, mms=5, seconds=20, sched=False), {}),
    "reuse": (SynthConfig(seed=23, mms=6, seconds=25, fork_rate=6.0, pointer_reuse_prob=1.0,
                          exit_during_scan_prob=0.3), {}),
    "posted-printk": (SynthConfig(seed=24, mms=4, seconds=15),
                      {"print_fmts": schema.POSTED_V3_PRINT_FMTS}),
    "rfc-v2": (SynthConfig(seed=25, mms=4, seconds=15), {"v2": True}),
}


@pytest.fixture(scope="module")
def traces(tmp_path_factory: Any) -> Dict[str, str]:
    folder = tmp_path_factory.mktemp("traces")
    out = {}
    for name, (config, opts) in SIMULATED.items():
        path = str(folder / (name + ".data"))
        events, _ = scenario(config)
        if opts.get("v2"):
            schema_events = tuple(schema.MIGRATE_V2 if e is schema.MIGRATE else e
                                  for e in schema.ALL_EVENTS)
            write_trace(path, _v2(events), events=schema_events)
        else:
            write_trace(path, events, **opts)
        out[name] = path
    return out


@pytest.fixture(scope="module")
def no_tabulate(tmp_path_factory: Any) -> str:
    """A PYTHONPATH folder where `import tabulate` fails: the plain tables."""
    folder = tmp_path_factory.mktemp("no-tabulate")
    (folder / "tabulate.py").write_text("raise ImportError('hidden for the test')\n")
    return str(folder)


@pytest.fixture(scope="module")
def no_package(tmp_path_factory: Any) -> str:
    """A PYTHONPATH folder whose kscand_perf cannot be imported: the in-tree script must
    not need it."""
    folder = tmp_path_factory.mktemp("no-package")
    (folder / "kscand_perf").mkdir()
    (folder / "kscand_perf" / "__init__.py").write_text(
        "raise ImportError('the in-tree script imported kscand_perf')\n")
    return str(folder)


def package_report(perf: str, trace: str, options: Sequence[str],
                   env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    args = [perf, "script", "-s", SCRIPT, "-i", trace]
    return run(args + (["--"] + list(options) if options else []), cwd=ROOT, env=env)


def intree_report(perf: str, patched: str, trace: str, options: Sequence[str],
                  env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None
                  ) -> subprocess.CompletedProcess:
    """`perf script report kscand-report` with the exec path at the patched tree."""
    full = {"PERF_EXEC_PATH": os.path.join(patched, "tools", "perf")}
    full.update(env or {})
    args = [perf, "script", "report", "kscand-report", "-i", trace]
    return run(args + (["--"] + list(options) if options else []), cwd=cwd or patched,
               env=full)


def _same(a: subprocess.CompletedProcess, b: subprocess.CompletedProcess, what: str) -> None:
    assert a.returncode == 0, a.stderr.decode()
    assert b.returncode == 0, b.stderr.decode()
    assert a.stdout == b.stdout, what


@pytest.mark.parametrize("name", sorted(SIMULATED))
def test_intree_json_equals_the_packages_on_simulated_traces(
        name: str, traces: Dict[str, str], patched: str, perf: str, no_package: str) -> None:
    trace = traces[name]
    ours = package_report(perf, trace, ["--json"])
    theirs = intree_report(perf, patched, trace, ["--json"], env={"PYTHONPATH": no_package})
    _same(ours, theirs, name)
    assert json.loads(theirs.stdout)["schema"] == "kscand-perf/1"


@pytest.mark.parametrize("options", [[], ["--ms", "--per-mm", "--linear", "500", "--top", "0"]])
def test_intree_text_equals_the_packages_with_and_without_tabulate(
        options: List[str], traces: Dict[str, str], patched: str, perf: str,
        no_tabulate: str, no_package: str) -> None:
    trace = traces["default"]
    for hide in (None, no_tabulate):
        path = [p for p in (hide,) if p]
        ours = package_report(perf, trace, options, env={"PYTHONPATH": ":".join(path)})
        theirs = intree_report(perf, patched, trace, options,
                               env={"PYTHONPATH": ":".join(path + [no_package])})
        _same(ours, theirs, "text %s, tabulate %s" % (options, "hidden" if hide else "used"))


def test_intree_csv_equals_the_packages(traces: Dict[str, str], patched: str, perf: str,
                                        tmp_path: Any) -> None:
    trace = traces["reuse"]
    a, b = str(tmp_path / "package"), str(tmp_path / "intree")
    pa = package_report(perf, trace, ["--csv", a])
    pb = intree_report(perf, patched, trace, ["--csv", b])
    assert pa.returncode == 0 and pb.returncode == 0, pa.stderr.decode() + pb.stderr.decode()
    assert sorted(os.listdir(a)) == sorted(os.listdir(b)) and os.listdir(a)
    for name in os.listdir(a):
        with open(os.path.join(a, name), "rb") as fa, open(os.path.join(b, name), "rb") as fb:
            assert fa.read() == fb.read(), name


def test_intree_errors_match_the_packages(traces: Dict[str, str], patched: str,
                                          perf: str) -> None:
    trace = traces["default"]
    for options in (["--top", "x"], ["--comm", "("], ["--vmstat", "/nonexistent", "/x"]):
        ours = package_report(perf, trace, options)
        theirs = intree_report(perf, patched, trace, options)
        assert ours.returncode == theirs.returncode == 2, options
        err = [l for l in theirs.stderr.decode().splitlines() if "error:" in l]
        mine = [l for l in ours.stderr.decode().splitlines() if "error:" in l]
        assert [l.replace("kscand-report.py", "kscand_report.py") for l in err] == mine


def test_intree_json_equals_the_packages_on_the_real_trace(patched: str, perf: str,
                                                           no_package: str) -> None:
    require(os.path.isfile(TRACE), "the real kscand trace is not in ../shared/traces/ "
            "(only on project machines)")
    for options in (["--json"], ["--json", "--vmstat"] + VMSTAT, []):
        ours = package_report(perf, TRACE, options)
        theirs = intree_report(perf, patched, TRACE, options, env={"PYTHONPATH": no_package})
        _same(ours, theirs, "real trace %s" % options)


def test_intree_script_runs_directly_with_s(patched: str, perf: str, traces: Dict[str, str],
                                            no_package: str, tmp_path: Any) -> None:
    """perf script -s kscand-report.py: from the tree by path, and by bare name with the
    exec path set, from a folder holding perf.data."""
    trace = traces["default"]
    expected = package_report(perf, trace, ["--json"]).stdout
    shutil.copy(trace, str(tmp_path / "perf.data"))
    by_path = run([perf, "script", "-s", os.path.join(patched, INTREE_SCRIPT), "--", "--json"],
                  cwd=str(tmp_path), env={"PYTHONPATH": no_package})
    by_name = run([perf, "--exec-path=" + os.path.join(patched, "tools", "perf"), "script",
                   "-s", "kscand-report.py", "--", "--json"], cwd=str(tmp_path),
                  env={"PYTHONPATH": no_package})
    for proc in (by_path, by_name):
        assert proc.returncode == 0, proc.stderr.decode()
        assert proc.stdout == expected


# -- the generator on small made-up packages -------------------------------------------------

def _generator() -> Any:
    import importlib.util
    spec = importlib.util.spec_from_file_location("mk_kernel_patch", GENERATOR)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


MADE_UP_SCRIPT = '''\
# a perf script
import os
import sys

# kscand-perf: package import begin
sys.path.insert(0, os.path.dirname(__file__))
from kscand_perf.b import run, text as btext  # noqa: E402
# kscand-perf: package import end


def trace_end():
    print(run(), btext("x"))
'''


def _made_up(tmp_path: Any, modules: Dict[str, str], script: str = MADE_UP_SCRIPT) -> str:
    root = tmp_path / "proj"
    (root / "kscand_perf").mkdir(parents=True)
    (root / "perf-scripts").mkdir()
    (root / "perf-scripts" / "kscand_report.py").write_text(script)
    (root / "kscand_perf" / "__init__.py").write_text("")
    for name, body in modules.items():
        (root / "kscand_perf" / (name + ".py")).write_text(body)
    return str(root)


def _bundle_runs(root: str) -> Tuple[str, Dict[str, Any]]:
    text = _generator().build_script(root)
    ns: Dict[str, Any] = {"__name__": "__main__"}
    exec(compile(text, "bundle", "exec"), ns)
    return text, ns


def test_generator_prefixes_clashing_globals_and_keeps_locals(tmp_path: Any) -> None:
    root = _made_up(tmp_path, {
        "a": '"""Module a."""\nfrom __future__ import annotations\n\nimport json\n\n\n'
             'def text(v):\n    return "a:" + json.dumps(v)\n\n\n'
             'def shout(text):  # a parameter with the global\'s name\n'
             '    return text.upper()\n\n\nif __name__ == "__main__":\n    raise SystemExit(3)\n',
        "b": 'from __future__ import annotations\n\nfrom typing import TYPE_CHECKING\n\n'
             'from . import a\nfrom .a import shout\n\nif TYPE_CHECKING:\n'
             '    from .c import Later\n\n__all__ = ["run"]\n\n\n'
             'def text(v: "Later"):\n    return "b:" + a.text(v)\n\n\n'
             'def run():\n    from .c import later  # here: c imports b\n'
             '    return shout(later())\n',
        "c": 'from .b import text\n\n\ndef later():\n    return text(1)\n\n\nclass Later:\n'
             '    pass\n',
    })
    text, ns = _bundle_runs(root)
    assert "def a_text(" in text and "def b_text(" in text and "def later(" in text
    assert "return text.upper()" in text  # the parameter, not the global
    assert "__all__" not in text and "TYPE_CHECKING" not in text and "SystemExit" not in text
    assert text.count("from __future__ import") == 1
    assert ns["run"]() == "B:A:1" and ns["b_text"]("x") == "b:a:\"x\""


@pytest.mark.parametrize("body, why", [
    ('from . import c\n\n\ndef text():\n    return 1\n\n\ndef f(c_text):\n'
     '    return c.text() + c_text\n',
     "local name here"),
    ('from . import c\n\n\ndef text():\n    return 1\n\n\ndef f():\n    m = c\n    return m\n',
     "used other than as"),
    ('def text():\n    return 1\n\n\ndef f(x):\n    return f"{text()}"\n', "f-string"),
    ('def text():\n    return 1\n\n\ndef f():\n    global text\n    text = 2\n',
     "declared global"),
])
def test_generator_refuses_rather_than_guess(tmp_path: Any, body: str, why: str) -> None:
    root = _made_up(tmp_path, {
        "a": body,
        "b": 'from . import a\n\n\ndef text(v=None):\n    return 2\n\n\ndef run():\n'
             '    return a.f\n',
        "c": 'def text():\n    return 3\n',
    })
    mk = _generator()
    with pytest.raises(mk.BuildError, match=why):
        mk.build_script(root)


def test_generator_needs_the_marks(tmp_path: Any) -> None:
    root = _made_up(tmp_path, {"b": "def run():\n    return 1\n\n\ndef text(v):\n    return v\n"},
                    script=MADE_UP_SCRIPT.replace("# kscand-perf: package import end\n", ""))
    mk = _generator()
    with pytest.raises(mk.BuildError, match="package import"):
        mk.build_script(root)
