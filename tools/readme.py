#!/usr/bin/python3
"""Keep the docs' generated blocks true: `--write` regenerates them, `--check` (the
default; used by tests/test_readme.py) exits 1 naming the blocks that are out of date.

A block sits between `<!-- BEGIN name -->` and `<!-- END name -->` lines and holds a
fenced code block with the output of a real command:
  README.md       excerpt  sections of the report on ../shared/traces/kscand-real-1
                  intervals  its --interval 5 table
  docs/report.md  usage    the report's -h text (COLUMNS=80)
                  demo     `make demo`'s report on the bundled sample trace, through perf
                  real     the report on ../shared/traces/kscand-real-1 with its vmstat
                           snapshots
Blocks made from ../shared are checked only where that folder exists.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Callable, Dict, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
REPORT_DOC = os.path.join(ROOT, "docs", "report.md")
SCRIPT = os.path.join(ROOT, "perf-scripts", "kscand_report.py")
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "traces")
PERF = os.environ.get("PERF", "perf")


def sample_trace() -> str:
    return os.path.join(ROOT, "samples", "kscand-sample.data")


def _perf_report(trace: str, args: List[str]) -> str:
    cmd = [PERF, "script", "-s", SCRIPT, "-i", trace] + (["--"] + args if args else [])
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit("readme: %s failed: %s" % (" ".join(cmd), proc.stderr.decode()[-300:]))
    return proc.stdout.decode()


def usage() -> Optional[str]:
    env = dict(os.environ, COLUMNS="80")
    proc = subprocess.run([sys.executable, "-c", "from kscand_perf.options import usage; "
                           "print(usage(), end='')"], stdout=subprocess.PIPE, cwd=ROOT, env=env)
    return proc.stdout.decode()


def demo() -> Optional[str]:
    trace = sample_trace()
    if not os.path.exists(trace):
        return None
    return "$ make demo\n" + _perf_report(trace, [])


def real() -> Optional[str]:
    trace = os.path.join(SHARED, "kscand-real-1.data")
    if not os.path.exists(trace):
        return None
    before = os.path.join(SHARED, "kscand-real-1.vmstat-before.txt")
    after = os.path.join(SHARED, "kscand-real-1.vmstat-after.txt")
    out = _perf_report(trace, ["--vmstat", before, after, "--top", "5"])
    return ("$ perf script -s perf-scripts/kscand_report.py -i kscand-real-1.data -- \\\n"
            "      --vmstat kscand-real-1.vmstat-before.txt kscand-real-1.vmstat-after.txt "
            "--top 5\n" + out)


EXCERPT_SECTIONS = ("Scan duration histogram (us)", "Migrations")


def excerpt() -> Optional[str]:
    """The report's first line and two of its sections, on the real trace."""
    trace = os.path.join(SHARED, "kscand-real-1.data")
    if not os.path.exists(trace):
        return None
    out = _perf_report(trace, [])
    parts = out.split("\n\n")
    keep = [parts[0]]
    for i, part in enumerate(parts):
        if part.split("\n", 1)[0] in EXCERPT_SECTIONS:
            keep.append(part)
            if part.startswith("Migrations"):
                keep.append(parts[i + 1])  # the rc table
    return ("$ perf script -s perf-scripts/kscand_report.py -i kscand-real-1.data\n"
            + "\n\n".join(keep) + "\n...\n")


def intervals() -> Optional[str]:
    """The interval table of the real trace (--interval 5), up to the report's headline."""
    trace = os.path.join(SHARED, "kscand-real-1.data")
    if not os.path.exists(trace):
        return None
    out = _perf_report(trace, ["--interval", "5"])
    table = out.split("\nkscand report:", 1)[0]
    return ("$ perf script -s perf-scripts/kscand_report.py -i kscand-real-1.data -- "
            "--interval 5\n" + table.rstrip("\n") + "\n...\n")


BLOCKS: Dict[str, Dict[str, Callable[[], Optional[str]]]] = {
    README: {"excerpt": excerpt, "intervals": intervals},
    REPORT_DOC: {"usage": usage, "demo": demo, "real": real},
}


def _pattern(name: str) -> "re.Pattern[str]":
    return re.compile(r"(<!-- BEGIN %s -->\n)(.*?)(<!-- END %s -->)" % (name, name), re.S)


def fenced(body: str) -> str:
    return "```\n" + body.rstrip("\n") + "\n```\n"


def stale(text: str, blocks: Dict[str, Callable[[], Optional[str]]]) -> List[str]:
    """Names of the blocks whose content differs from a fresh run (skipping unavailable ones)."""
    out = []
    for name, make in blocks.items():
        m = _pattern(name).search(text)
        if m is None:
            out.append(name + " (missing)")
            continue
        body = make()
        if body is not None and m.group(2) != fenced(body):
            out.append(name)
    return out


def write(text: str, blocks: Dict[str, Callable[[], Optional[str]]]) -> str:
    for name, make in blocks.items():
        body = make()
        if body is not None:
            text = _pattern(name).sub(lambda m: m.group(1) + fenced(body) + m.group(3), text)
    return text


def main(argv: List[str]) -> int:
    bad = []
    for path, blocks in BLOCKS.items():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if argv[1:] == ["--write"]:
            with open(path, "w", encoding="utf-8") as f:
                f.write(write(text, blocks))
            continue
        bad += ["%s: %s" % (os.path.relpath(path, ROOT), name) for name in stale(text, blocks)]
    if bad:
        print("generated blocks out of date: %s (run: make readme)" % ", ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
