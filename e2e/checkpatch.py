#!/usr/bin/python3
"""Run the kernel's checkpatch.pl --no-tree on every patch in patch/.

    e2e/checkpatch.py [--json] [PATCH...]

checkpatch.pl, spelling.txt and const_structs.checkpatch come from Debian's
linux-source package, fetched once into .cache/ by tools/fetch-linux-source.

The patches are fed on standard input: given a path, checkpatch checks a file
that git tracks as a source file, not as a patch (patch/*.patch are tracked).

A patch passes when checkpatch reports no error and no warning other than the
accepted ones below (each with the reason a reviewer would not ask for a
change). Exit status: 0 every patch passes; 1 one does not; 3 checkpatch
cannot be fetched here (the tests skip with the printed reason).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FETCH = os.path.join(ROOT, "tools", "fetch-linux-source")
EXIT_UNAVAILABLE = 3

# Warnings a reviewer would not ask to fix: (type, file prefix or "" for any, reason).
ACCEPTED: Tuple[Tuple[str, str, str], ...] = (
    ("FILE_PATH_CHANGES", "",
     "checkpatch asks about MAINTAINERS whenever a patch adds a file; files added under "
     "tools/perf/ are covered by the perf tools entry's F: tools/perf/ pattern"),
    ("SPDX_LICENSE_TAG", "tools/perf/tests/shell/",
     "perf test reads a shell test's description from line 2, so every perf shell test "
     "has its SPDX tag on line 3"),
    ("UNKNOWN_COMMIT_ID", "",
     "checkpatch looks a Fixes: id up with git log where it runs: with --no-tree outside "
     "a kernel repository it warns on every id; the Fixes: id of 0003 was checked by hand "
     "(patch/README.md) and tests/test_checkpatch.py pins the tag"),
)

_FINDING = re.compile(r"^(ERROR|WARNING|CHECK):([A-Z0-9_]+): (.*)$")
_FILE = re.compile(r"FILE: ([^:]+):")


def accepted(finding: Dict[str, str]) -> Optional[str]:
    """The reason a warning is accepted, or None."""
    if finding["level"] != "WARNING":
        return None
    m = _FILE.search(finding["where"])
    path = m.group(1) if m else ""
    for kind, prefix, reason in ACCEPTED:
        if finding["type"] == kind and path.startswith(prefix):
            return reason
    return None


class Unavailable(Exception):
    """checkpatch.pl cannot be fetched on this machine."""


def checkpatch_script() -> str:
    """The path of checkpatch.pl from Debian's linux-source (fetched once)."""
    if not os.access(FETCH, os.X_OK):
        raise Unavailable("%s is missing" % FETCH)
    proc = subprocess.run([FETCH], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode == 3:
        raise Unavailable(proc.stderr.decode(errors="replace").strip())
    if proc.returncode != 0:
        raise RuntimeError("tools/fetch-linux-source failed: %s"
                           % proc.stderr.decode(errors="replace"))
    tree = proc.stdout.decode().strip().splitlines()[-1]
    return os.path.join(tree, "scripts", "checkpatch.pl")


def check(script: str, patch: str) -> Dict[str, Any]:
    """checkpatch's findings for one patch file."""
    with open(patch, "rb") as f:
        proc = subprocess.run(["perl", script, "--no-tree", "--show-types", "--no-color",
                               "-"], stdin=f, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    text = proc.stdout.decode(errors="replace")
    findings = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _FINDING.match(line)
        if m:
            where = lines[i + 1] if i + 1 < len(lines) else ""
            findings.append({"level": m.group(1), "type": m.group(2),
                             "message": m.group(3), "where": where.strip()})
    failing = [f for f in findings
               if f["level"] == "ERROR" or f["level"] == "WARNING" and not accepted(f)]
    return {
        "patch": os.path.relpath(patch, ROOT),
        "exit": proc.returncode,
        "errors": sum(f["level"] == "ERROR" for f in findings),
        "warnings": sum(f["level"] == "WARNING" for f in findings),
        "findings": findings,
        "failing": failing,
        "ok": not failing and (proc.returncode == 0 or bool(findings)),
        "output": text,
    }


def patches() -> List[str]:
    """patch/*.patch (the kernel series) and patch/perf/*.patch (the perf series) but
    the cover letter, which has no diff to check."""
    out = []
    for pdir in (os.path.join(ROOT, "patch"), os.path.join(ROOT, "patch", "perf")):
        out += sorted(os.path.join(pdir, n) for n in os.listdir(pdir)
                      if n.endswith(".patch") and not n.startswith("0000-cover-letter"))
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="e2e/checkpatch.py", description=__doc__.split("\n")[1])
    ap.add_argument("--json", action="store_true", help="print the findings as JSON")
    ap.add_argument("patch", nargs="*",
                    help="patch files (default: patch/*.patch, patch/perf/*.patch)")
    args = ap.parse_args(argv)
    try:
        script = checkpatch_script()
    except Unavailable as e:
        sys.stderr.write("checkpatch: unavailable: %s\n" % e)
        return EXIT_UNAVAILABLE
    results = [check(script, p) for p in (args.patch or patches())]
    if args.json:
        print(json.dumps([{k: v for k, v in r.items() if k != "output"} for r in results],
                         indent=1))
    else:
        for r in results:
            print("== %s: %d errors, %d warnings%s" % (
                r["patch"], r["errors"], r["warnings"], "" if r["ok"] else " -- FAILS"))
            for f in r["findings"]:
                reason = accepted(f)
                note = "  [accepted: %s]" % reason if reason else ""
                print("   %s:%s: %s %s%s" % (f["level"], f["type"], f["message"],
                                             f["where"], note))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
