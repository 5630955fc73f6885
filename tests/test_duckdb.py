"""The DuckDB query of docs/report.md runs on the CSV export (scans.csv, intervals.csv)
and gives what the report gives. duckdb comes from PyPI into .cache/duckdb
(`pip install --target`: Debian's Python has no system-wide pip installs and Debian
packages no duckdb); the test skips with the reason where that cannot be had."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

from conftest import ROOT, require
from kscand_perf import feed
from kscand_perf.options import parse
from kscand_perf.session import Session

SAMPLE = os.path.join(ROOT, "samples", "kscand-sample.data")
TARGET = os.path.join(ROOT, ".cache", "duckdb")


def duckdb() -> Any:
    if not os.path.isdir(os.path.join(TARGET, "duckdb")):
        try:
            proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                                   "--target", TARGET, "duckdb"], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=600)
            ok, why = proc.returncode == 0, proc.stdout.decode(errors="replace")[-300:]
        except (OSError, subprocess.TimeoutExpired) as e:
            ok, why = False, str(e)
        require(ok, "duckdb cannot be installed here (pip install --target): %s" % why)
    if TARGET not in sys.path:
        sys.path.append(TARGET)
    try:
        import duckdb as module  # type: ignore[import]
    except ImportError as e:
        require(False, "duckdb does not import: %s" % e)
    return module


def doc_query() -> str:
    with open(os.path.join(ROOT, "docs", "report.md"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"<!-- duckdb query -->\n```sql\n(.*?)```", text, re.S)
    assert m, "docs/report.md has no DuckDB example"
    return m.group(1)


def test_the_documented_duckdb_query(tmp_path: Any) -> None:
    db = duckdb()
    out = str(tmp_path / "csv")
    session = Session(parse(["--csv", out, "--interval", "0.5"]))
    with open(SAMPLE, "rb") as f:
        feed.feed(session, f)
    session.finish()
    report = session.report()
    con = db.connect()
    cwd = os.getcwd()
    os.chdir(out)  # the query names the files as they are in the CSV folder
    try:
        rows = con.execute(doc_query()).fetchall()
    finally:
        os.chdir(cwd)
    # per owner: scans, pages found and mean duration, as the report's per-process rows
    by_owner = {}
    for m in report.busy_mms:
        key = (m.pid, m.comm)
        scans, pages = by_owner.get(key, (0, 0))
        by_owner[key] = (scans + m.completed, pages + (m.ends.pages_found if m.ends else 0))
    got = {(pid, comm): (scans, pages) for pid, comm, scans, pages, _mean, _max in rows}
    want = {(m.pid, m.comm): by_owner[(m.pid, m.comm)] for m in report.busy_mms
            if m.ends is not None}
    assert got == want
