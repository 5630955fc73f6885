"""checkpatch.pl --no-tree on every patch in patch/ (make checkpatch).

checkpatch.pl comes from Debian's linux-source (tools/fetch-linux-source); where it
cannot be fetched the test skips with the reason, or fails under
KSCAND_PERF_REQUIRE_E2E=1. A patch passes with no error and no warning other than
those e2e/checkpatch.py accepts with a stated reason (see patch/README.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, require

SCRIPT = os.path.join(ROOT, "e2e", "checkpatch.py")
PATCH_DIR = os.path.join(ROOT, "patch")
# the kernel series (patch/) and the perf series (patch/perf/), by path under patch/
PATCHES = sorted(os.path.relpath(os.path.join(d, n), PATCH_DIR)
                 for d in (PATCH_DIR, os.path.join(PATCH_DIR, "perf")) for n in os.listdir(d)
                 if n.endswith(".patch") and not n.startswith("0000-cover-letter"))


@pytest.fixture(scope="module")
def findings():
    proc = subprocess.run([sys.executable, SCRIPT, "--json"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=900, cwd=ROOT)
    if proc.returncode == 3:
        require(False, "checkpatch.pl cannot be fetched: %s"
                % proc.stderr.decode(errors="replace").strip())
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")
    return {os.path.relpath(r["patch"], PATCH_DIR): r for r in json.loads(proc.stdout)}


@pytest.mark.parametrize("patch", PATCHES)
def test_checkpatch_clean(findings, patch):
    r = findings[patch]
    assert r["ok"], "checkpatch on patch/%s:\n%s" % (patch, "\n".join(
        "%s:%s: %s %s" % (f["level"], f["type"], f["message"], f["where"])
        for f in r["failing"]))


def test_tracepoint_patch_has_no_warning_at_all(findings):
    """The tracepoint patch needs no accepted warning either."""
    r = findings[[p for p in PATCHES if p.startswith("0001-")][0]]
    assert r["errors"] == 0 and r["warnings"] == 0, r["findings"]


def test_sched_patch_only_warns_on_its_fixes_id(findings):
    """checkpatch cannot look the Fixes: id up outside a kernel repository; that is the
    only warning 0003 may have, and on that line only."""
    r = findings[[p for p in PATCHES if p.startswith("0003-sched-numa-")][0]]
    assert r["errors"] == 0, r["findings"]
    assert [f["type"] for f in r["findings"]] == ["UNKNOWN_COMMIT_ID"], r["findings"]
    assert "'cbee9f88ec1b'" in r["findings"][0]["message"]
