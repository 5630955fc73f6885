"""The README shows real output: every generated block equals a fresh run of its command."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT, require


def test_readme_blocks_are_current(perf: str) -> None:
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "readme.py"), "--check"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout.decode()


def test_readme_gives_the_two_setup_commands() -> None:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    quick = text.split("## Setting up", 1)[1].split("\n## ", 1)[0]
    commands = [line.strip().split("#")[0].strip() for line in quick.splitlines()
                if line.startswith("    ")]
    assert commands == ["make demo", "make test"]
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as f:
        assert "make test" in f.read()


def test_real_trace_blocks_are_filled() -> None:
    shared = os.path.join(os.path.dirname(ROOT), "shared", "traces", "kscand-real-1.data")
    require(os.path.exists(shared), "../shared/traces/kscand-real-1.data is not here")
    with open(os.path.join(ROOT, "docs", "report.md"), encoding="utf-8") as f:
        text = f.read()
    block = text.split("<!-- BEGIN real -->", 1)[1].split("<!-- END real -->", 1)[0]
    assert "Kernel counters" in block
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    block = text.split("<!-- BEGIN excerpt -->", 1)[1].split("<!-- END excerpt -->", 1)[0]
    assert "KSCAND_NOT_HOT_PAGE" in block and len(block.splitlines()) <= 40


def test_readme_is_short() -> None:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        assert len(f.read().splitlines()) <= 200
