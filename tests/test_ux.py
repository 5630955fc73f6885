"""What a new user meets first (issue 19): every check here is a defect found by trying the
tool, in both front ends where both are concerned (`kscand-perf report` and `perf script
-s`): no report of zeros for a recording without kscand events, examples that record only
what the report reads, tables within 100 columns, notes that read as the tables do, no
file of ours left in a user's folder after any exit, errors as one plain line."""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
from typing import Any, Dict, List, Sequence, Tuple

import pytest

from conftest import ROOT, require
from kscand_perf import cli, errors
from kscand_perf import feed as reader_feed
from kscand_perf import session as session_mod
from kscand_perf.events import KSCAND_EVENTS
from kscand_perf.options import parse
from kscand_perf.render.format import percent, table
from kscand_perf.render.text import fill
from kscand_perf.session import Session
from kscand_testkit import formats as schema
from kscand_testkit.perfdata import write_trace
from kscand_testkit.stream import Emitted

PYTHON = sys.executable
KSCAND_PERF = os.path.join(ROOT, "bin", "kscand-perf")
SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")
SAMPLE = os.path.join(ROOT, "samples", "kscand-sample.data")
SMALL = os.path.join(ROOT, "tests", "data", "small.data")
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "traces")
REAL = os.path.join(SHARED, "kscand-real-1.data")
VMSTAT = [os.path.join(SHARED, "kscand-real-1.vmstat-%s.txt" % w) for w in ("before", "after")]
EVENT_NAMES = [e.name for e in KSCAND_EVENTS]

# A scheduler event the report does not read (a layout of our own: only its name matters).
SWITCH = schema._event("sched", "sched_switch", (("prev_pid", "pid_t"), ("next_pid", "pid_t")),
                       "prev_pid=%d next_pid=%d")


def run(argv: Sequence[str], cwd: str = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          cwd=cwd, timeout=600)


def ours(trace: str, *args: str) -> subprocess.CompletedProcess:
    return run([PYTHON, KSCAND_PERF, "report", "-i", trace] + list(args))


def perfs(perf: str, trace: str, *args: str) -> subprocess.CompletedProcess:
    return run([perf, "script", "-s", SCRIPT, "-i", trace] + (
        ["--"] + list(args) if args else []))


def one_line(proc: subprocess.CompletedProcess, prefix: str) -> str:
    """The one stderr line of a failed run, after ``prefix: error: ``."""
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(prefix + ": error: "), lines
    return lines[0][len(prefix + ": error: "):]


def switch_only(path: str) -> str:
    write_trace(path, [Emitted(10**9 + i, 0, 1, "swapper", "sched_switch", (0, i))
                       for i in range(3)], events=(SWITCH,))
    return path


def files_under(folder: str) -> List[str]:
    return sorted(os.path.relpath(os.path.join(d, f), folder)
                  for d, _, files in os.walk(folder) for f in files)


# -- item 10: nothing to report is one line, exit 1, in both front ends -------------------

def test_recording_without_kscand_events_is_one_line(perf: str, tmp_path: Any) -> None:
    trace = switch_only(str(tmp_path / "switch.data"))
    out = tmp_path / "csv"
    for args in ((), ("--json",), ("--interval", "1"), ("--csv", str(out))):
        theirs, mine = perfs(perf, trace, *args), ours(trace, *args)
        assert theirs.returncode == mine.returncode == 1, (args, theirs.stderr, mine.stderr)
        assert theirs.stdout == mine.stdout == b"", args  # no table of zeros, no rows
        line = one_line(mine, "kscand-perf report")
        assert line == one_line(theirs, "kscand_report.py")
        assert line.startswith("%s: no kscand events among its 3 events (sched:sched_switch "
                               "3): nothing to report; record the kscand events (-e "
                               "'kmem:kmem_scan_mm_*' -e 'kmem:kmem_mm_*'" % trace), line
        assert not out.exists()  # --csv wrote nothing, not even the folder


def forks(seconds: int) -> List[Emitted]:
    return [Emitted(10**9 * i, 0, 100 + i, "bash", "sched_process_fork",
                    ("bash", 100 + i, "bash", 200 + i)) for i in range(1, seconds + 1)]


def test_live_rows_wait_for_the_first_kscand_event(perf: str, tmp_path: Any) -> None:
    """Without any kscand event no row may go out before the one line; with kscand events
    after a quiet start (sched events only), the intervals start at the first kscand event
    and the text equals the report's without streaming."""
    only = str(tmp_path / "forks.data")
    write_trace(only, forks(5))
    for proc, prefix in ((ours(only, "--interval", "1"), "kscand-perf report"),
                         (perfs(perf, only, "--interval", "1"), "kscand_report.py")):
        assert proc.returncode == 1 and proc.stdout == b""
        assert "no kscand events among its 5 events (sched:sched_process_fork 5)" in one_line(
            proc, prefix)
    later = str(tmp_path / "later.data")
    write_trace(later, forks(3) + [
        Emitted(4 * 10**9, 0, 40, "kscand", "kmem_scan_mm_start", (0x1000,)),
        Emitted(4 * 10**9 + 5000, 0, 40, "kscand", "kmem_scan_mm_end",
                (0x1000, 0, 3, 2000, 1 << 30, 0)),
        Emitted(6 * 10**9, 0, 40, "kscand", "kmem_scan_mm_start", (0x1000,))])
    streamed = ours(later, "--interval", "1")
    assert streamed.returncode == 0, streamed.stderr
    assert streamed.stdout == perfs(perf, later, "--interval", "1").stdout
    assert streamed.stdout.decode() == report_text(later, ["--interval", "1"])
    assert "\n     0.000      1  " in streamed.stdout.decode()  # from the first kscand event


def test_a_file_that_is_no_recording(perf: str, tmp_path: Any) -> None:
    path = str(tmp_path / "notes.txt")
    with open(path, "w") as f:
        f.write("not a recording\n" * 100)
    mine = ours(path)
    assert mine.returncode == 1 and mine.stdout == b""
    assert one_line(mine, "kscand-perf report") == (
        "%s: reading stopped at byte 0: not a perf.data file (no PERFILE2 magic)" % path)
    # perf 6.1 refuses the file itself before the script runs (its own message, exit 255):
    # the script prints nothing (docs/report.md says so)
    theirs = perfs(perf, path)
    assert theirs.returncode != 0 and theirs.stdout == b""
    assert b"kscand" not in theirs.stderr


# -- item 9: every example records exactly the events the report reads ---------------------

BAD_RECORDING = re.compile(r"kmem:(kmem_(scan_)?)?\*")
SHELL_CASE = re.compile(r"\*kmem:(kmem_)?\*\)")
KMEM_GLOB = re.compile(r"kmem:[A-Za-z0-9_*]+")
# kmem events of any kernel (a flood when recorded): a glob of an example must match none
OTHER_KMEM = ("kmalloc", "kfree", "kmem_cache_alloc", "kmem_cache_free", "mm_page_alloc",
              "mm_page_free", "mm_page_free_batched", "mm_page_alloc_zone_locked",
              "mm_page_pcpu_drain", "mm_page_alloc_extfrag", "rss_stat", "kmem_cache_alloc_node",
              "kmalloc_node", "mm_alloc_contig_migrate_range_info")


def tracked_text_files() -> List[str]:
    proc = run(["git", "ls-files"])
    require(proc.returncode == 0, "not a git checkout: %s" % proc.stderr.decode()[:200])
    files = []
    for name in proc.stdout.decode().splitlines():
        path = os.path.join(ROOT, name)
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            head = f.read(8192)
        if b"\0" not in head:
            files.append(name)
    return files


def test_no_example_records_all_kmem_events() -> None:
    bad = []
    for name in tracked_text_files():
        if name == "tests/test_ux.py":
            continue
        with open(os.path.join(ROOT, name), encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                # a shell `case` pattern (`*kmem:*)`, `*kmem:kmem_*)`) is no example
                if BAD_RECORDING.search(line) and not SHELL_CASE.search(line):
                    bad.append("%s:%d: %s" % (name, number, line.strip()))
    assert not bad, "record -e 'kmem:kmem_scan_mm_*' -e 'kmem:kmem_mm_*':\n" + "\n".join(bad)


def test_every_kmem_glob_of_an_example_matches_only_kscand_events() -> None:
    others = set(OTHER_KMEM)
    tracefs = "/sys/kernel/tracing/events/kmem"
    if os.path.isdir(tracefs):  # this kernel's own kmem events, where they can be listed
        others |= {e for e in os.listdir(tracefs) if e not in EVENT_NAMES}
    globs = set()
    for name in tracked_text_files():
        with open(os.path.join(ROOT, name), encoding="utf-8", errors="replace") as f:
            for line in f:
                if "perf record" in line or "-e " in line:
                    globs |= {g for g in KMEM_GLOB.findall(line) if "*" in g}
    assert "kmem:kmem_scan_mm_*" in globs and "kmem:kmem_mm_*" in globs
    for g in globs:
        pattern = g.split(":", 1)[1]
        assert not [e for e in others if fnmatch.fnmatchcase(e, pattern)], g
        assert [e for e in EVENT_NAMES if e.startswith("kmem") and fnmatch.fnmatchcase(e, pattern)]


def test_help_recommends_exactly_the_events() -> None:
    proc = run([PYTHON, KSCAND_PERF, "report", "-h"])
    assert proc.returncode == 0
    text = proc.stdout.decode()
    assert "-e 'kmem:kmem_scan_mm_*' -e 'kmem:kmem_mm_*'" in text
    assert not BAD_RECORDING.search(text)


# -- tables within 100 columns, in every report of the suite's traces --------------------

def report_text(trace: str, argv: Sequence[str]) -> str:
    session = Session(parse(list(argv)))
    with open(trace, "rb") as f:
        reader_feed.feed(session, f)
    return session.finish()


def traces() -> List[str]:
    return [SAMPLE, SMALL] + ([REAL] if os.path.isfile(REAL) else [])


OPTION_SETS: Tuple[Tuple[str, ...], ...] = (
    (), ("--interval", "1"), ("--interval", "0.2", "--top", "0"), ("--ns", "--per-mm"),
    ("--ms", "--linear", "50", "--interval", "5"), ("--time", "20,")
)


@pytest.mark.parametrize("argv", OPTION_SETS, ids=lambda a: " ".join(a) or "default")
def test_every_line_fits_100_columns(argv: Tuple[str, ...]) -> None:
    for trace in traces():
        extra: Tuple[str, ...] = ()
        if trace == REAL and os.path.isfile(VMSTAT[0]):
            extra = ("--vmstat", VMSTAT[0], VMSTAT[1])
        for args in (argv, argv + extra):
            out = report_text(trace, args)
            wide = [ln for ln in out.splitlines() if len(ln) > 100]
            assert not wide, "%s %s: %s" % (trace, " ".join(args), wide)


def test_the_real_trace_is_checked_too() -> None:
    require(os.path.isfile(REAL), "the real kscand trace is not in ../shared/traces/ "
            "(only on project machines)")
    out = report_text(REAL, ["--interval", "5"])
    assert "Intervals" in out and "by process" in out and "Time to promotion" in out


# -- notes ---------------------------------------------------------------------------------

def test_counts_in_notes_have_separators_and_time_reads_well() -> None:
    out = report_text(SAMPLE, ["--time", "10.5,"])
    notes = out[out.index("\nNotes\n"):]
    assert "--time kept the events at t >= 10.500000 s;" in notes
    assert "to the end s" not in notes and "--node" not in notes  # only --time was used
    flat = " ".join(notes.split())
    assert re.search(r"^- [\d,]+ events were dropped by --time$", flat.replace(" - ", "\n- "),
                     re.M), flat
    # no count of 1,000 or more without its separators (times and pointers aside)
    bare = [m for m in re.findall(r"(?<![\d.,x])\d{4,}(?![\d.])", flat)]
    assert not bare, flat
    both = report_text(SAMPLE, ["--time", "10.5,12", "--node", "0"])
    assert "when --node drops that end" in both


def test_no_line_ends_between_perfs_double_dash_and_the_option() -> None:
    for pad in range(60, 100):
        text = "x" * pad + " filter with -- --pid/--comm, which select by owner"
        lines = fill(text, "- ", "  ").splitlines()
        assert not any(ln.rstrip().endswith(" --") for ln in lines), lines
        assert " ".join(" ".join(lines).split()) == "- " + text
        # nor between an option and its number, or a number and its unit
        text = "x" * pad + " beyond --top 2; the trace runs to 12.880752 s, or 5 ms"
        lines = fill(text).splitlines()
        assert not any(ln.endswith(("--top", "12.880752", " 5")) for ln in lines), lines
        assert not any(ln.startswith(("2;", "s,", "ms")) for ln in lines), lines
        assert " ".join(lines) == text


def test_one_naming_for_events_in_both_front_ends() -> None:
    s = Session(parse([]))
    s.count_unhandled("sched__sched_switch")   # perf's handler name
    s.count_unhandled("sched:sched_switch")    # as a reader would name it
    s.count_unhandled("kmem__kmem_cache_free")
    assert s.unhandled == {"sched:sched_switch": 2, "kmem:kmem_cache_free": 1}


def test_shares_never_round_to_none_or_all() -> None:
    assert percent(1, 65740) == "<0.1%"
    assert percent(65739, 65740) == ">99.9%"
    assert (percent(0, 5), percent(5, 5), percent(1, 3), percent(0, 0)) == (
        "0.0%", "100.0%", "33.3%", "-")
    # still a number column: right-aligned
    assert table(["share"], [["<0.1%"], ["70.1%"]]).splitlines()[2] == "  <0.1%"


# -- usage and plain errors ---------------------------------------------------------------

def test_no_command_prints_usage() -> None:
    proc = run([PYTHON, KSCAND_PERF])
    assert proc.returncode == 2 and proc.stdout == b""
    err = proc.stderr.decode()
    assert err.startswith("usage: kscand-perf ") and "report" in err and "merge" in err
    assert err.splitlines()[-1] == ("kscand-perf: error: a COMMAND is needed (kscand-perf "
                                    "COMMAND -h shows its options)")


def test_csv_folder_errors_are_plain(perf: str, tmp_path: Any) -> None:
    readme = os.path.join(ROOT, "README.md")
    for front, prefix in ((lambda *a: ours(SAMPLE, *a), "kscand-perf report"),
                          (lambda *a: perfs(perf, SAMPLE, *a), "kscand_report.py")):
        proc = front("--csv", readme)
        assert proc.returncode == 2 and proc.stdout == b""
        assert one_line(proc, prefix).startswith("--csv: %s is not a directory" % readme)
        proc = front("--plot", readme)
        assert proc.returncode == 2
        assert one_line(proc, prefix).startswith("--plot: %s is not a directory" % readme)
        proc = front("--csv", "/proc/kscand-perf-test/out")
        assert proc.returncode == 1 and proc.stdout == b""
        line = one_line(proc, prefix)
        assert line == ("--csv: cannot create the folder /proc/kscand-perf-test/out: "
                        "No such file or directory"), line
        assert "Error" not in line


def test_interval_is_bounded() -> None:
    for value in ("1e12", "604801", "0.0001", "nan", "inf"):
        proc = ours(SAMPLE, "--interval", value)
        assert proc.returncode == 2 and proc.stdout == b""
        assert one_line(proc, "kscand-perf report").startswith(
            "--interval: must be a number of seconds from 0.001 to 604800 (a week)")
    assert ours(SAMPLE, "--interval", "604800", "--json").returncode == 0


# -- nothing of ours stays in a user's folder -----------------------------------------------

def test_scan_rows_never_sit_in_the_csv_folder(tmp_path: Any) -> None:
    """scans.csv's rows wait in an unnamed temporary file: a run that dies while reading
    (perf aborted, KeyboardInterrupt, SIGKILL) leaves nothing in the folder."""
    out = tmp_path / "out"
    session = Session(parse(["--csv", str(out)]))
    with open(SAMPLE, "rb") as f:
        reader_feed.feed(session, f)
    part = session._scans_part
    assert part is not None and part.tell() > 0  # rows were written while reading
    assert not out.exists()  # ... and none of them into the folder
    assert not os.path.exists(os.path.join(str(tmp_path), ".scans.csv.part"))
    # 9 tables, and since issue 20 backlog.csv, mm_detail.csv, mm_failures.csv and cost.csv
    assert "".join(session.output()).startswith("wrote 13 CSV files")
    assert ".scans.csv.part" not in os.listdir(str(out)) and "scans.csv" in os.listdir(str(out))


def test_interrupted_report_leaves_nothing(tmp_path: Any, monkeypatch: Any) -> None:
    out = tmp_path / "deep" / "out"

    def interrupted(self: Session, report: Any) -> Any:
        raise KeyboardInterrupt
    monkeypatch.setattr(Session, "render", interrupted)
    status = cli.main(["report", "-i", SAMPLE, "--csv", str(out)])
    assert status == errors.EXIT_INTERRUPTED
    assert files_under(str(tmp_path)) == [] and not (tmp_path / "deep").exists()


def test_failed_write_removes_what_it_wrote(tmp_path: Any) -> None:
    out = tmp_path / "new" / "out"

    def failing() -> Any:
        yield "a,b\n"
        raise OSError(28, "No space left on device")
    tables: Dict[str, Any] = {"a.csv": "x\n", "b.csv": failing(), "c.csv": "y\n"}
    with pytest.raises(errors.CommandError) as e:
        session_mod.write_csv(str(out), tables)
    assert str(e.value) == "--csv: cannot write to %s: No space left on device" % out
    assert not (tmp_path / "new").exists()
    # in a folder that was there before, only our files go
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "mine.txt").write_text("the user's")
    tables["b.csv"] = failing()
    with pytest.raises(errors.CommandError):
        session_mod.write_csv(str(keep), tables)
    assert files_under(str(keep)) == ["mine.txt"]


def test_perf_aborting_on_damage_leaves_only_the_report(perf: str, tmp_path: Any) -> None:
    """perf 6.1 stops at a damaged record (\"failed to process type\") and still ends the
    script: the CSV files of what was read, and nothing hidden beside them."""
    with open(SMALL, "rb") as f:
        data = bytearray(f.read())
    middle = len(data) // 3
    data[middle:middle + 64] = b"\xff" * 64
    damaged = tmp_path / "damaged.data"
    damaged.write_bytes(bytes(data))
    out = tmp_path / "out"
    proc = perfs(perf, str(damaged), "--csv", str(out))
    listed = files_under(str(out)) if out.exists() else []
    assert not [n for n in listed if n.startswith(".") or not n.endswith(".csv")], listed
    assert files_under(str(tmp_path)) == sorted(["damaged.data"] + [
        os.path.join("out", n) for n in listed]), proc.stderr.decode()


# -- docs/install.md counts what make install installs ----------------------------------

def test_install_doc_counts_the_installed_files(tmp_path: Any) -> None:
    root = str(tmp_path / "root")
    proc = run(["make", "-s", "install", "DESTDIR=" + root, "PERF_EXEC_PATH=/perf-core",
                "PREFIX=/usr/local", "PYTHON_SITE=/site", "PERF=true"])
    require(proc.returncode == 0 or b"make: not found" not in proc.stderr,
            "make is not installed")
    assert proc.returncode == 0, proc.stderr.decode()
    files = [f for f in files_under(root) if not f.startswith("site/")
             and "/man/" not in f and "bash-completion" not in f]  # rows of their own
    with open(os.path.join(ROOT, "docs", "install.md"), encoding="utf-8") as f:
        doc = f.read()
    install = doc[doc.index("## Install"):doc.index("## Use")]
    assert "| man pages |" in install and "| bash completion" in install
    for path in files:
        assert "`%s`" % os.path.basename(path) in install or path.endswith(
            "kscand-report.py"), path
