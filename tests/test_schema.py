"""The published JSON Schema of the report (kscand_perf/report.schema.json): it is valid
JSON Schema (draft 2020-12, checked with Debian's python3-jsonschema), it describes every
member the report writes (every report of the suite's traces fits it, with and without
--interval, --vmstat, --linear and the filters, and merged), and our own small validator
(kscand_perf.schema, what merge and compare use) accepts and rejects what
python3-jsonschema does."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple

import pytest

from conftest import ROOT, require
from kscand_perf import feed, render, schema
from kscand_perf.merge import merge
from kscand_perf.options import parse
from kscand_perf.session import Session
from kscand_testkit.perfdata import write_trace
from kscand_testkit.synth import SynthConfig, scenario

SAMPLE = os.path.join(ROOT, "samples", "kscand-sample.data")
SMALL = os.path.join(ROOT, "tests", "data", "small.data")
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "traces")
REAL = os.path.join(SHARED, "kscand-real-1.data")
VMSTAT = (os.path.join(SHARED, "kscand-real-1.vmstat-before.txt"),
          os.path.join(SHARED, "kscand-real-1.vmstat-after.txt"))
Doc = Dict[str, Any]


def jsonschema() -> Any:
    """Debian's python3-jsonschema, installed the way the project installs Debian packages
    (tools/apt-ensure); the test skips with the reason where that cannot be had."""
    try:
        import jsonschema as module
        return module
    except ImportError:
        pass
    try:
        proc = subprocess.run([os.path.join(ROOT, "tools", "apt-ensure"), "python3-jsonschema"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
        why = proc.stdout.decode(errors="replace")[-300:]
    except (OSError, subprocess.TimeoutExpired) as e:
        why = str(e)
    try:
        import jsonschema as module
        return module
    except ImportError:
        require(False, "python3-jsonschema cannot be installed here: %s" % why)


def report(path: str, *options: str) -> Doc:
    """The --json report of ``path`` with ``options``, made in this process."""
    session = Session(parse(["--json"] + list(options)))
    session.input = path
    with open(path, "rb") as f:
        feed.feed(session, f)
    doc: Doc = json.loads(render.json_text(session.report()))
    return doc


@pytest.fixture(scope="module")
def sim_trace(tmp_path_factory: Any) -> str:
    path = str(tmp_path_factory.mktemp("sim") / "sim.data")
    events, _ = scenario(SynthConfig(seed=5, mms=5, seconds=12))
    write_trace(path, events)
    return path


def _reports(sim: str) -> Iterator[Tuple[str, Doc]]:
    yield "sample", report(SAMPLE)
    yield "sample --interval 0.5 --linear 100 --ms", report(SAMPLE, "--interval", "0.5",
                                                            "--linear", "100", "--ms")
    yield "sample --pid 1789 --time 11,", report(SAMPLE, "--pid", "1789", "--time", "11,")
    yield "sample --node 0 --comm mem", report(SAMPLE, "--node", "0", "--comm", "mem")
    yield "small", report(SMALL, "--interval", "1")
    yield "sim --ns", report(sim, "--ns", "--interval", "2")
    if os.path.exists(REAL):
        yield "real --vmstat", report(REAL, "--vmstat", *VMSTAT)
        yield "real --interval 5 --time 50,", report(REAL, "--interval", "5", "--time", "50,")


@pytest.fixture(scope="module")
def reports(sim_trace: str) -> List[Tuple[str, Doc]]:
    out = list(_reports(sim_trace))
    first = report(sim_trace, "--time", ",1630")
    second = report(sim_trace, "--time", "1630,")
    out.append(("merged parts", merge([("2.json", second), ("1.json", first)], "x")))
    other = copy.deepcopy(out[0][1])
    assert other["run"]["header"] is not None
    other["run"]["header"]["hostname"] = "elsewhere"
    other["run"]["input_sha256"] = "0" * 64
    out.append(("merged machines", merge([("s.json", out[0][1]), ("o.json", other)], "x")))
    out.append(("merged again", merge([("m.json", out[-2][1]), ("s.json", out[0][1])], "x")))
    return out


def _schemas(node: Any) -> Iterator[Dict[str, Any]]:
    """Every (sub)schema of the file."""
    if not isinstance(node, dict):
        return
    yield node
    for key in ("properties", "$defs"):
        for sub in (node.get(key) or {}).values():
            yield from _schemas(sub)
    for key in ("items", "additionalProperties", "propertyNames"):
        if isinstance(node.get(key), dict):
            yield from _schemas(node[key])


def test_the_schema_is_json_schema_2020_12() -> None:
    js = jsonschema()
    doc = schema.load()
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    js.Draft202012Validator.check_schema(doc)
    # our validator knows every keyword the file uses
    for sub in _schemas(doc):
        assert set(sub) <= schema.KEYWORDS, sorted(set(sub) - schema.KEYWORDS)


def test_the_schema_is_in_the_package_and_in_the_docs() -> None:
    assert os.path.dirname(schema.SCHEMA_PATH) == os.path.join(ROOT, "kscand_perf")
    with open(os.path.join(ROOT, "docs", "report.md"), encoding="utf-8") as f:
        assert "kscand_perf/report.schema.json" in f.read()


def test_every_report_fits_for_both_validators(reports: List[Tuple[str, Doc]]) -> None:
    js = jsonschema()
    validator = js.Draft202012Validator(schema.load())
    for name, doc in reports:
        assert schema.problem(doc) is None, (name, schema.problem(doc))
        errors = [e.message for e in validator.iter_errors(doc)]
        assert not errors, (name, errors[:3])
    names = [n for n, _ in reports]
    assert any("--interval" in n for n in names) and any("--linear" in n for n in names)


def test_every_member_written_is_described(reports: List[Tuple[str, Doc]]) -> None:
    """The schema lists the members of every object it describes (additionalProperties
    false): a member the report writes that the schema does not name is refused, so the
    reports above fitting it means every member they write is described. And the other
    way: each member the schema names for the plain report appears in some report."""
    seen = set()

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                key = "N" if k.lstrip("-").isdigit() else k
                seen.add(path + "." + key)
                walk(v, path + "." + key)
        elif isinstance(node, list):
            for v in node:
                walk(v, path + "[]")
    for _, doc in reports:
        walk(doc, "")
    # members added by other branches (selection, not_attempted), or only in cases the
    # suite's traces lack, may be missing; the core ones may not
    for path in (".run.input_sha256", ".run.options", ".run.header.captured_on_source",
                 ".scans.ends_by_target_node", ".scans.scan_size_bytes",
                 ".over_time.intervals[].duration_log2_ns", ".kernel_counters.counters[].trace",
                 ".histograms.scan_duration_ns.linear.width_ns", ".mms[].source",
                 ".run.merged_from[].input_sha256", ".over_time.mms[].time_to_promotion"):
        assert path in seen, path


Mutation = Callable[[Doc], None]


def _drop(*path: str) -> Mutation:
    def f(doc: Doc) -> None:
        node = doc
        for k in path[:-1]:
            node = node[k]
        del node[path[-1]]
    return f


def _set(value: Any, *path: str) -> Mutation:
    def f(doc: Doc) -> None:
        node = doc
        for k in path[:-1]:
            node = node[k] if not k.isdigit() else node[int(k)]
        node[path[-1]] = value
    return f


BROKEN: Sequence[Tuple[str, Mutation]] = (
    ("no scans.pages_found", _drop("scans", "pages_found")),
    ("renamed migrations.succeeded", lambda d: d["migrations"].update(
        ok=d["migrations"].pop("succeeded"))),
    ("an unknown top-level member", _set(1, "extra")),
    ("an unknown member in a row", _set(1, "mms", "0", "extra")),
    ("a count below 0", _set(-1, "events", "kmem_mm_enter")),
    ("a string for a count", _set("5", "scans", "completed")),
    ("a boolean for a count", _set(True, "filtered_events")),
    ("a float for a count", _set(1.5, "scans", "not_due")),
    ("another schema", _set("kscand-perf/2", "schema")),
    ("log2 rows in us", _set(1000, "histograms", "scan_duration_ns", "log2", "unit_ns")),
    ("a bucket row of two", _set([[1, 2]], "histograms", "scan_duration_ns", "log_linear")),
    ("a node that is no number", _set({"x": 1}, "scans", "ends_by_target_node")),
    ("an mm pointer not in hex", _set("ffff", "mms", "0", "mm")),
    ("a success ratio above 1", _set(1.5, "over_time", "intervals", "0", "success")),
    ("the old duration_log2", lambda d: d["over_time"]["intervals"][0].update(
        duration_log2={})),
    ("no run", _drop("run")),
    ("a sha256 not in hex", _set("x" * 64, "run", "input_sha256")),
    ("captured_on from nowhere", _set("somewhere", "run", "header", "captured_on_source")),
    ("a document that is a list", lambda d: None),
)


@pytest.mark.parametrize("what, mutate", BROKEN, ids=[b[0] for b in BROKEN])
def test_both_validators_reject_the_same_broken_documents(what: str, mutate: Mutation) -> None:
    js = jsonschema()
    doc = report(SAMPLE, "--interval", "1")
    mutate(doc)
    if what == "a document that is a list":
        doc = [doc]  # type: ignore[assignment]
    why = schema.problem(doc)
    assert why is not None and "\n" not in why
    assert list(js.Draft202012Validator(schema.load()).iter_errors(doc)), what


def test_compare_a_report_with_itself(reports: List[Tuple[str, Doc]]) -> None:
    from kscand_perf.compare import compare
    for name, doc in reports:
        c = compare(doc, doc)
        assert all(f.diff in (0, None) and not f.within_error for f in c.figures), name


def test_units_do_not_change_machine_output() -> None:
    """--ns/--us/--ms change the text, never the JSON's figures."""
    docs = [report(SAMPLE, unit, "--interval", "1", "--linear", str(width))
            for unit, width in (("--ns", 1000000), ("--us", 1000), ("--ms", 1))]
    for d in docs:
        d["run"]["options"].pop("unit")
    assert docs[0] == docs[1] == docs[2]


def test_command_line_reports_fit(tmp_path: Any) -> None:
    """What `kscand-perf report --json` prints (the run member from the command line)."""
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "kscand-perf"), "report",
                           "-i", SAMPLE, "--json", "--interval", "1"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    assert schema.problem(doc) is None
    run = doc["run"]
    assert run["options"]["interval_s"] == 1.0 and run["options"]["pids"] is None
    assert run["options"]["linear_width_ns"] is None and "linear" not in run["options"]
    assert len(run["input_sha256"]) == 64
    assert run["header"]["captured_on_source"] == "file_mtime"


def with_clock_data(src: str, dst: str, tod_ns: int) -> None:
    """A copy of the file-mode recording ``src`` with a HEADER_CLOCK_DATA feature (bit 29,
    what `perf record -k CLOCK` writes): version, clockid, wall-clock ns, clock ns."""
    import struct
    with open(src, "rb") as f:
        data = f.read()
    data_off, data_size = struct.unpack_from("<QQ", data, 40)
    features = int.from_bytes(data[72:104], "little")
    bits = [b for b in range(256) if features >> b & 1]
    at = data_off + data_size
    sections = {}
    for i, bit in enumerate(bits):
        off, size = struct.unpack_from("<QQ", data, at + 16 * i)
        sections[bit] = data[off:off + size]
    sections[29] = struct.pack("<IIQQ", 1, 1, tod_ns, 5 * 10 ** 9)
    bits = sorted(sections)
    index, body = [], b""
    start = at + 16 * len(bits)
    for bit in bits:
        index.append(struct.pack("<QQ", start + len(body), len(sections[bit])))
        body += sections[bit]
    head = bytearray(data[:104])
    head[72:104] = sum(1 << b for b in bits).to_bytes(32, "little")
    with open(dst, "wb") as f:
        f.write(bytes(head) + data[104:at] + b"".join(index) + body)


def test_captured_on_comes_from_the_recording_where_perf_wrote_its_time(tmp_path: Any) -> None:
    path = str(tmp_path / "clock.data")
    with_clock_data(SMALL, path, 1764088689 * 10 ** 9)   # 2025-11-25T16:38:09Z
    doc = report(path)
    header = doc["run"]["header"]
    assert (header["captured_on"], header["captured_on_source"]) == (
        "2025-11-25T16:38:09Z", "recording")
    assert "clock_tod_ns" not in header and schema.problem(doc) is None
    plain = report(SMALL)["run"]["header"]
    assert plain["captured_on_source"] == "file_mtime"
    # the same events, read the same: only the header's time differs
    assert report(path)["scans"] == report(SMALL)["scans"]


def test_reports_in_any_display_unit_merge() -> None:
    """Machine output does not depend on --ns/--us/--ms, so neither does merge."""
    first = report(SAMPLE, "--ms", "--time", ",11.5")
    second = report(SAMPLE, "--ns", "--time", "11.5,")
    whole = report(SAMPLE)
    m = merge([("2", second), ("1", first)], "x")
    assert m["histograms"]["scan_duration_ns"]["log2"] == \
        whole["histograms"]["scan_duration_ns"]["log2"]
    assert m["scans"]["duration_ns"] == whole["scans"]["duration_ns"]


def test_members_of_issue_19_fit(reports: List[Tuple[str, Doc]]) -> None:
    """Issue 19 added a top-level `selection`, `migrations.not_attempted` (overall and per
    mm) and null time-to-promotion percentiles: the schema takes them in their documented
    shapes, and still refuses other shapes."""
    js = jsonschema()
    validator = js.Draft202012Validator(schema.load())
    doc = copy.deepcopy(dict(reports)["sample --interval 0.5 --linear 100 --ms"])
    doc["selection"] = {"time_ns": [11000000000, None], "pids": [1789], "comms": None,
                        "mms": ["0xffff8881239f7fc0"], "nodes": None, "kept_events": 10,
                        "events_in": 3852}
    doc["migrations"]["not_attempted"] = 0
    for m in doc["mms"]:
        m["migrations"]["not_attempted"] = 0
    for m in doc["over_time"]["mms"]:
        if m["time_to_promotion"] is not None:
            m["time_to_promotion"].update(p50_ns=None, p90_ns=None, p99_ns=None)
    assert schema.problem(doc) is None and not list(validator.iter_errors(doc))
    unfiltered = dict(doc, selection=None)
    assert schema.problem(unfiltered) is None
    for bad in ({"time_ns": [1, 2, 3]}, {"kept": 1}, {"pids": ["x"]}):
        wrong = dict(doc, selection=bad)
        assert schema.problem(wrong) is not None and list(validator.iter_errors(wrong)), bad
    # and merge combines selections: the windows' span, lists united, kept events added
    parts = []
    for i, window in enumerate(([None, 11000000000], [11000000000, None])):
        part = copy.deepcopy(report(SAMPLE, "--time", ",11" if i == 0 else "11,"))
        part["selection"] = {"time_ns": window, "pids": None, "comms": None, "mms": None,
                             "nodes": None, "kept_events": 5 + i, "events_in": 3852}
        parts.append(("%d.json" % i, part))
    m = merge(parts, "x")
    assert m["selection"] == {"time_ns": [None, None], "pids": None, "comms": None,
                              "mms": None, "nodes": None, "kept_events": 11, "events_in": 3852}
    assert [s["selection"]["kept_events"] for s in m["run"]["merged_from"]] == [5, 6]
