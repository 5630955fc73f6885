"""patch/0002 (kmem_scan_mm_start only when a scan begins): what it changes, and that it
applies in its place in the series (after patch/0001, before V3 15/17 and the 6.12 fixes).
patch/0003 (sched/numa: init_numa_balancing() no longer resets the parent's scan state
at fork): what it changes, that it applies in the series to Debian's linux-source-6.12
and alone to linux-source-7.3 (kernel/sched/fair.c and kernel/fork.c, fetched by
tools/fetch-linux-source), and what the result reads.

The series is in ../shared/kernels/kscand-v3-6.12/series (project machines and CI);
mm/kscand.c is created by the series' first patch, so that file alone can be rebuilt
patch by patch without a kernel tree (include/trace/events/kmem.h cannot: the test
checks its hunk by its lines).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from typing import List

from conftest import ROOT, require

PATCH = glob.glob(os.path.join(ROOT, "patch", "0002-mm-*.patch"))
SERIES = os.path.join(os.path.dirname(ROOT), "shared", "kernels", "kscand-v3-6.12", "series")


def changed_lines(path: str, file: str) -> List[str]:
    """The +/- lines of ``file``'s hunks in the patch at ``path``."""
    out, inside = [], False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line == "-- \n":      # the signature: the patch ends here
                break
            if line.startswith("diff --git "):
                inside = line.split()[2] == "a/" + file
            elif inside and line[:1] in "+-" and not line.startswith(("+++", "---")):
                out.append(line.rstrip("\n"))
    return out


def test_0002_moves_the_call_and_keeps_the_event() -> None:
    assert len(PATCH) == 1, PATCH
    with open(PATCH[0], encoding="utf-8") as f:
        text = f.read()
    assert "Subject: [PATCH] mm/kscand: fire kmem_scan_mm_start only when a scan begins" in text
    assert sorted(changed_lines(PATCH[0], "mm/kscand.c")) == sorted([
        "-\ttrace_kmem_scan_mm_start(mm);", "-", "+\ttrace_kmem_scan_mm_start(mm);", "+"])
    header = changed_lines(PATCH[0], "include/trace/events/kmem.h")
    assert header and all(re.match(r"^[+-] \*( |$)", line) for line in header), header
    assert "Signed-off-by: " in text


def test_0002_applies_after_0001_and_the_series_follows() -> None:
    require(os.path.isdir(SERIES), "the kscand series is not in %s (project machines only)"
            % SERIES)
    require(shutil.which("git") is not None, "git is not installed")
    tmp = os.path.join(ROOT, "build", "kernel-patches")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    subprocess.run(["git", "init", "-q"], cwd=tmp, check=True)
    series = sorted(glob.glob(os.path.join(SERIES, "00*.patch")))
    before = [p for p in series if os.path.basename(p) < "0014"]
    after = [p for p in series if os.path.basename(p) > "0014"]
    ours = sorted(glob.glob(os.path.join(ROOT, "patch", "0001-*.patch"))) + PATCH
    for path in before + ours + after:
        proc = subprocess.run(["git", "apply", "--include=mm/kscand.c", path], cwd=tmp,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.returncode == 0, "%s: %s" % (os.path.basename(path), proc.stdout.decode())
    with open(os.path.join(tmp, "mm", "kscand.c"), encoding="utf-8") as f:
        code = f.read()
    assert code.count("trace_kmem_scan_mm_start(mm);") == 1
    due = code.index("if (mm_slot_next_scan && time_before(now, mm_slot_next_scan))\n"
                     "\t\tgoto outerloop;\n")
    start = code.index("trace_kmem_scan_mm_start(mm);")
    end = code.index("trace_kmem_scan_mm_end(")
    assert due < start < end
    # nothing between the start and the end leaves the scan early
    assert "goto" not in code[start:end] and "return" not in code[start:end]
    shutil.rmtree(tmp, ignore_errors=True)


# --- patch/0003: sched/numa, init_numa_balancing() leaves the parent's mm alone ----------

SCHED = glob.glob(os.path.join(ROOT, "patch", "0003-sched-numa-*.patch"))
FETCH = os.path.join(ROOT, "tools", "fetch-linux-source")
SCHED_FILES = ("kernel/sched/fair.c", "kernel/fork.c")
FIXES = 'Fixes: cbee9f88ec1b ("mm: numa: Add fault driven placement and migration")'


def linux_source(release: str) -> str:
    """Debian's linux-source-RELEASE with the files 0003 touches (tools/fetch-linux-source;
    skip where it cannot be fetched)."""
    proc = subprocess.run([FETCH, "--release", release] + list(SCHED_FILES),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=1800)
    require(proc.returncode != 3, "linux-source-%s cannot be fetched: %s"
            % (release, proc.stderr.decode(errors="replace").strip()))
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout.decode().strip().splitlines()[-1]


def apply_to(tree: str, patches: List[str], name: str) -> str:
    """SCHED_FILES of ``tree`` in a scratch folder with ``patches`` applied in order
    (git apply, no fuzz: each patch's lines of those files only)."""
    tmp = os.path.join(ROOT, "build", name)
    shutil.rmtree(tmp, ignore_errors=True)
    for rel in SCHED_FILES:
        os.makedirs(os.path.dirname(os.path.join(tmp, rel)), exist_ok=True)
        shutil.copyfile(os.path.join(tree, rel), os.path.join(tmp, rel))
    subprocess.run(["git", "init", "-q"], cwd=tmp, check=True)
    include = ["--include=" + rel for rel in SCHED_FILES]
    for path in patches:
        proc = subprocess.run(["git", "apply"] + include + [path], cwd=tmp,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.returncode == 0, "%s: %s" % (os.path.basename(path), proc.stdout.decode())
    return tmp


def function(path: str, head: str) -> str:
    """The text of the C function whose definition starts with ``head``."""
    with open(path, encoding="utf-8") as f:
        code = f.read()
    start = code.index(head)
    return code[start:code.index("\n}\n", start) + 3]


def check_fixed(tmp: str) -> None:
    init = function(os.path.join(tmp, "kernel", "sched", "fair.c"), "void init_numa_balancing(")
    # nothing in init_numa_balancing() writes the mm (p->mm is the parent's at fork)
    assert not re.search(r"\bmm->\w+\s*=", init), init
    assert "p->numa_scan_seq\t\t= mm && (clone_flags & CLONE_VM) ? mm->numa_scan_seq : 0;" \
        in init
    # the thread stagger keeps its mm_users
    assert "current->numa_scan_period * mm_users * NSEC_PER_MSEC" in init
    mm_init = function(os.path.join(tmp, "kernel", "fork.c"), "static struct mm_struct *mm_init(")
    for line in ("mm->numa_next_scan = 0;", "mm->numa_scan_offset = 0;", "mm->numa_scan_seq = 0;"):
        assert "\t" + line + "\n" in mm_init, line


def test_0003_moves_the_reset_from_the_parent_to_the_new_mm() -> None:
    assert len(SCHED) == 1, SCHED
    with open(SCHED[0], encoding="utf-8") as f:
        text = f.read()
    assert "Subject: [PATCH] sched/numa: Do not reset the parent's scan state at fork" in text
    assert FIXES + "\n" in text and "Signed-off-by: " in text
    fair = changed_lines(SCHED[0], "kernel/sched/fair.c")
    assert "-\t\t\tmm->numa_next_scan = jiffies + msecs_to_jiffies(" \
        "sysctl_numa_balancing_scan_delay);" in fair
    assert not [line for line in fair if line.startswith("+") and re.search(r"\bmm->\w+ =", line)]
    fork = changed_lines(SCHED[0], "kernel/fork.c")
    assert all(line.startswith("+") for line in fork), fork
    # the changelog has the reproducer's figures before and after
    assert "  before\n" in text and "  after\n" in text


def test_0003_applies_to_6_12_in_the_series() -> None:
    require(os.path.isdir(SERIES), "the kscand series is not in %s (project machines only)"
            % SERIES)
    require(shutil.which("git") is not None, "git is not installed")
    series = sorted(glob.glob(os.path.join(SERIES, "00*.patch")))
    ours = sorted(glob.glob(os.path.join(ROOT, "patch", "0*.patch")))
    order = ([p for p in series if os.path.basename(p) < "0014"] + ours
             + [p for p in series if os.path.basename(p) > "0014"])
    tmp = apply_to(linux_source("6.12"), order, "sched-patch-6.12")
    check_fixed(tmp)
    shutil.rmtree(tmp, ignore_errors=True)


def test_0003_applies_to_7_3() -> None:
    require(shutil.which("git") is not None, "git is not installed")
    tmp = apply_to(linux_source("7.3"), SCHED, "sched-patch-7.3")
    check_fixed(tmp)
    shutil.rmtree(tmp, ignore_errors=True)
