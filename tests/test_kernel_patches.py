"""patch/0002 (kmem_scan_mm_start only when a scan begins): what it changes, and that it
applies in its place in the series (after patch/0001, before V3 15/17 and the 6.12 fixes).

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
