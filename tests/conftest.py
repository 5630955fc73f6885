"""Shared test helpers.

Tests that need something from the machine (perf, a real trace) call ``require``:
it skips with the stated reason, or fails when KSCAND_PERF_REQUIRE_E2E=1 (CI sets it
where perf is installed, so a broken perf cannot turn the end-to-end tests into skips).
"""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

REQUIRE_E2E = os.environ.get("KSCAND_PERF_REQUIRE_E2E") == "1"


def require(condition, reason):
    """Skip the calling test with ``reason`` unless ``condition``; fail instead under
    KSCAND_PERF_REQUIRE_E2E=1."""
    if condition:
        return
    if REQUIRE_E2E:
        pytest.fail("KSCAND_PERF_REQUIRE_E2E=1 but: %s" % reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def perf():
    """The path of a working perf (``$PERF`` or ``perf`` on PATH)."""
    path = shutil.which(os.environ.get("PERF", "perf"))
    require(path is not None, "perf is not installed (apt-get install linux-perf)")
    try:
        proc = subprocess.run([path, "version"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=60)
        ok, why = proc.returncode == 0, proc.stdout.decode(errors="replace").strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        ok, why = False, str(exc)
    require(ok, "perf at %s does not run: %s" % (path, why))
    return path


def tracefs_root():
    """tracefs's root, got as kscand-record gets it: found where it is mounted, else mounted
    on /sys/kernel/tracing when we are root. A fresh machine boots without it mounted, so a
    test must not depend on an earlier run having mounted it."""
    from kscand_perf import record
    root = record.find_tracefs() or record.mount_tracefs()
    require(root is not None,
            "no readable tracefs: it is not mounted and mounting it needs root")
    return root
