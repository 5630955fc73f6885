"""The DuckDB query of docs/report.md runs on the CSV export (scans.csv, intervals.csv)
and gives what the report gives. duckdb comes from PyPI into .cache/duckdb
(`pip install --target`: Debian's Python has no system-wide pip installs and Debian
packages no duckdb); the test skips with the reason where that cannot be had."""

from __future__ import annotations

import json
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


def export(folder: str, *options: str) -> Any:
    session = Session(parse(["--csv", folder] + list(options)))
    session.input = SAMPLE
    with open(SAMPLE, "rb") as f:
        feed.feed(session, f)
    session.finish()
    return session.report()


def test_mm_is_text_and_rates_come_from_the_csv_alone(tmp_path: Any) -> None:
    db = duckdb()
    out = str(tmp_path / "csv")
    report = export(out, "--interval", "1")
    con = db.connect()
    for name in ("scans.csv", "mms.csv", "timelines.csv", "time_to_promotion.csv"):
        types = {r[0]: r[1] for r in con.execute(
            "DESCRIBE SELECT * FROM '%s'" % os.path.join(out, name)).fetchall()}
        assert types["mm"] == "VARCHAR", (name, types["mm"])
    mms = {r[0] for r in con.execute("SELECT '0x' || mm FROM '%s'"
                                     % os.path.join(out, "mms.csv")).fetchall()}
    assert mms == {"0x%x" % m.mm for m in report.mms}   # joins with the JSON's "mm"
    # promotions per second from migrations_by_rc.csv and run.csv, through run_id
    rate = con.execute(
        "SELECT sum(r.count) / any_value(m.span_ns) * 1e9 FROM '%s' r JOIN '%s' m "
        "USING (run_id) WHERE r.rc = 0" % (os.path.join(out, "migrations_by_rc.csv"),
                                           os.path.join(out, "run.csv"))).fetchall()[0][0]
    span = report.last_ns - report.first_ns
    assert abs(rate - report.migrations.succeeded / (span / 1e9)) < 1e-6
    ids = set()
    for name in os.listdir(out):
        ids |= {r[0] for r in con.execute("SELECT DISTINCT run_id FROM '%s'"
                                          % os.path.join(out, name)).fetchall()}
    assert len(ids) == 1
    host, sha, options = con.execute("SELECT hostname, input_sha256, options FROM '%s'"
                                     % os.path.join(out, "run.csv")).fetchall()[0]
    assert host == "(none)" and len(sha) == 64 and json.loads(options)["interval_s"] == 1.0


def test_a_second_run_into_the_folder_leaves_nothing_stale(tmp_path: Any) -> None:
    out = str(tmp_path / "csv")
    export(out, "--interval", "1", "--linear", "100")
    first = set(os.listdir(out))
    assert {"intervals.csv", "timelines.csv", "scan_linear_histogram.csv"} <= first
    with open(os.path.join(out, "notes.txt"), "w") as f:   # not ours: stays
        f.write("mine\n")
    export(out)
    second = set(os.listdir(out))
    assert second == {"run.csv", "events.csv", "scan_durations.csv", "scan_histogram.csv",
                      "target_nodes.csv", "mms.csv", "migrations_by_node.csv",
                      "migrations_by_rc.csv", "scans.csv", "notes.txt", "backlog.csv",
                      "mm_detail.csv", "mm_failures.csv", "cost.csv"}


def test_csv_is_in_ns_and_bytes_whatever_the_display_unit(tmp_path: Any) -> None:
    tables = []
    for unit in ("--ns", "--us", "--ms"):
        out = str(tmp_path / unit[2:])
        export(out, unit, "--interval", "1")
        tables.append({name: open(os.path.join(out, name)).read()
                       for name in sorted(os.listdir(out)) if name != "run.csv"})
    assert tables[0] == tables[1] == tables[2]
    hist = tables[0]["scan_histogram.csv"].splitlines()
    assert hist[0] == "low_ns,high_ns,count,run_id" and hist[1].startswith("131072,262143,1,")
