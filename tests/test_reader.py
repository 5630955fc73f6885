"""kscand_perf.read (the perf.data reader) on its own: formats, values, order, comms, damage.

Expected values come from what the writer was given (kscand_testkit), never from the
reader's own output.
"""

from __future__ import annotations

import io
import json
import os
import random
import struct
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest

from kscand_perf import cli, feed
from kscand_perf.errors import CommandError
from kscand_perf.options import Options
from kscand_perf.read import PerfReader, parse_format, parse_tracing_data
from kscand_perf.session import Session
from kscand_testkit import formats as schema
from kscand_testkit.perfdata import tracing_data, write_trace
from kscand_testkit.stream import Emitted

MM = 0xFF11000003279F80
MM2 = 0xFF11000003279000


def data_of(stream: Sequence[Emitted], pipe: bool = False, **kw: Any) -> bytes:
    out = io.BytesIO()
    write_trace(out, list(stream), pipe=pipe, **kw)
    return out.getvalue()


class Calls:
    """Handlers that record (event, time, values) in the order they are called."""

    def __init__(self) -> None:
        self.calls: List[Tuple[str, int, Tuple[Any, ...]]] = []
        self.unhandled: List[str] = []

    def table(self, spec: Dict[str, Sequence[str]]) -> Dict[str, Any]:
        out = {}
        for name, fields in spec.items():
            def fn(t: int, *values: Any, _name: str = name) -> None:
                self.calls.append((_name, t, values))
            out[name] = (fn, tuple(fields))
        return out


def read(data: bytes, spec: Dict[str, Sequence[str]]) -> Tuple[Calls, PerfReader]:
    calls = Calls()
    reader = PerfReader(io.BytesIO(data), calls.table(spec), unhandled=calls.unhandled.append)
    assert reader.read() is None, reader.problem
    return calls, reader


# -- formats ---------------------------------------------------------------------------

def test_format_text_fields_and_kinds() -> None:
    text = schema.SCHED_PROCESS_EXEC.format_text(77)
    fmt = parse_format("sched", text)
    assert fmt is not None and fmt.id == 77 and fmt.full_name == "sched:sched_process_exec"
    by = {f.name: f for f in fmt.fields}
    for f in schema.SCHED_PROCESS_EXEC.fields:
        assert (by[f.name].offset, by[f.name].size, by[f.name].signed) == (
            f.offset, f.size, f.signed)
    assert by["filename"].kind == "dynstr" and by["pid"].kind == "int"
    assert by["common_pid"].signed and not by["common_type"].signed
    fork = parse_format("sched", schema.SCHED_PROCESS_FORK.format_text(5))
    assert fork is not None and fork.field("child_comm").kind == "str"  # type: ignore


def test_tracing_data_damage_keeps_what_was_read() -> None:
    events = schema.KSCAND_EVENTS
    blob = tracing_data(events, list(range(300, 305)))
    formats, problem = parse_tracing_data(blob)
    assert problem is None and sorted(formats) == list(range(300, 305))
    cut_at = blob.index(b"name: kmem_scan_mm_end")
    formats, problem = parse_tracing_data(blob[:cut_at + 10])
    assert problem is not None and sorted(formats) == [300, 301, 302]


# -- values ------------------------------------------------------------------------------

ALL_FIELDS = {
    "kmem:kmem_scan_mm_end": ("@pid", "@tid", "@cpu", "common_pid", "mm", "start", "total",
                              "scan_period", "scan_size", "target_node"),
    "kmem:kmem_scan_mm_migrate": ("common_pid", "mm", "rc", "target_node", "msuccess",
                                  "mfailed", "no_such_field"),
    "sched:sched_process_exec": ("common_pid", "filename", "pid", "old_pid", "@comm"),
    "sched:sched_process_fork": ("parent_comm", "parent_pid", "child_comm", "child_pid"),
}


@pytest.mark.parametrize("pipe", [False, True], ids=["file", "pipe"])
def test_values_signed_strings_and_missing(pipe: bool) -> None:
    evs = [
        Emitted(1000, 3, 40, "kscand", "kmem_scan_mm_end",
                (MM, 0, 12, 2000, 1 << 30, -1)),
        Emitted(2000, 1, 41, "kmigrated", "kmem_scan_mm_migrate", (MM, -11, 2, 5, 1019)),
        Emitted(3000, 0, 50, "bash", "sched_process_fork", ("bash", 50, "bash", 51)),
        Emitted(4000, 0, 51, "bash", "sched_process_exec", ("/usr/bin/stress-ng", 51, 51)),
    ]
    calls, reader = read(data_of(evs, pipe), ALL_FIELDS)
    assert reader.pipe == pipe
    assert calls.calls == [
        ("kmem:kmem_scan_mm_end", 1000, (40, 40, 3, 40, MM, 0, 12, 2000, 1 << 30, -1)),
        ("kmem:kmem_scan_mm_migrate", 2000, (41, MM, -11, 2, 5, 1019, None)),
        ("sched:sched_process_fork", 3000, ("bash", 50, "bash", 51)),
        # the writer sent a COMM record for pid 51 with the exec's comm before the event
        ("sched:sched_process_exec", 4000, (51, "/usr/bin/stress-ng", 51, 51, "bash")),
    ]


def test_v2_migrate_layout_gives_none_for_the_missing_fields() -> None:
    evs = [Emitted(5, 0, 36, "kmigrated", "kmem_scan_mm_migrate", (MM, -11, -1))]
    data = data_of(evs, events=(schema.MM_ENTER, schema.MIGRATE_V2))
    calls, _ = read(data, ALL_FIELDS)
    want = (36, MM, -11, -1, None, None, None)
    assert calls.calls == [("kmem:kmem_scan_mm_migrate", 5, want)]


def test_comm_unknown_thread_and_fork_inheritance() -> None:
    spec = {"kmem:kmem_mm_exit": ("@comm",)}
    data = data_of([Emitted(10, 0, 7, "worker", "kmem_mm_exit", (MM,))])
    calls, _ = read(data, spec)
    assert calls.calls == [("kmem:kmem_mm_exit", 10, ("worker",))]


def test_unhandled_events_are_named() -> None:
    evs = [Emitted(10, 0, 7, "x", "sched_process_exit", ("x", 7, 120)),
           Emitted(11, 0, 7, "x", "sched_process_exit", ("x", 7, 120))]
    calls, reader = read(data_of(evs), {})
    assert calls.unhandled == ["sched:sched_process_exit"] * 2
    assert reader.stats.samples == 2


# -- order: perf's ordered-events queue --------------------------------------------------

def _starts(times: Sequence[int], cpus: Optional[Sequence[int]] = None) -> List[Emitted]:
    return [Emitted(t, cpus[i] if cpus else 0, 40, "kscand", "kmem_scan_mm_start", (MM + i,))
            for i, t in enumerate(times)]


def _order(events: List[Emitted], round_every: int) -> List[int]:
    data = data_of(events, ordered=False, round_every=round_every)
    calls, _ = read(data, {"kmem:kmem_scan_mm_start": ("mm",)})
    return [c[2][0] - MM for c in calls.calls]


def _model(times: Sequence[int], round_every: int) -> List[int]:
    """perf's queue by its definition (ordered-events.c), written independently of the
    reader: a round flushes what is at or before the largest time queued by the round
    before; ties keep the order they were read in."""
    delivered: List[int] = []
    queue: List[Tuple[int, int]] = []
    limit = 0
    for start in range(0, len(times), round_every):
        queue += [(times[i], i) for i in range(start, min(start + round_every, len(times)))]
        queue.sort(key=lambda x: x[0])
        top = queue[-1][0]
        if limit:
            delivered += [i for t, i in queue if t <= limit]
            queue = [(t, i) for t, i in queue if t > limit]
        limit = top
    return delivered + [i for _, i in sorted(queue, key=lambda x: x[0])]


def test_order_is_perfs_round_by_round() -> None:
    rnd = random.Random(5)
    for trial in range(20):
        n = rnd.randrange(1, 60)
        times = [rnd.randrange(1, 40) * 10 for _ in range(n)]
        every = rnd.randrange(1, 12)
        assert _order(_starts(times), every) == _model(times, every), (times, every)


def test_order_ties_keep_reading_order() -> None:
    assert _order(_starts([50, 50, 20, 50, 20]), 100) == [2, 4, 0, 1, 3]


# -- the command on damage ---------------------------------------------------------------

def _report(data: bytes, pipe: bool) -> Tuple[int, str]:
    """(exit status, report JSON) of the feed on ``data``, as the command does it."""
    session = Session(Options(json=True))
    reader, problem = feed.feed(session, io.BytesIO(data))
    try:
        out = session.finish()
    except CommandError:  # no kscand event read: one line and exit 1, no report (issue 19)
        return 1, ""
    json.loads(out)
    return (1 if problem or reader.warnings else 0), out


def _tiny(pipe: bool) -> bytes:
    evs = [Emitted(1000, 0, 40, "kscand", "kmem_scan_mm_start", (MM,)),
           Emitted(2000, 0, 40, "kscand", "kmem_scan_mm_end", (MM, 0, 3, 2000, 1 << 30, 0)),
           Emitted(2500, 1, 41, "kmigrated", "kmem_scan_mm_migrate", (MM, 0, 0, 1, 0)),
           Emitted(3000, 1, 77, "stress-ng", "kmem_mm_exit", (MM,)),
           Emitted(3500, 0, 40, "kscand", "kmem_scan_mm_start", (MM2,))]
    return data_of(evs, pipe, events=schema.KSCAND_EVENTS, round_every=2)


@pytest.mark.parametrize("pipe", [False, True], ids=["file", "pipe"])
def test_truncation_at_every_offset(pipe: bool) -> None:
    data = _tiny(pipe)
    full_status, full = _report(data, pipe)
    assert full_status == 0
    # a pipe stream cut between two records cannot be told from a shorter recording
    whole = _record_ends(data) if pipe else set()
    for cut in range(len(data)):
        status, out = _report(data[:cut], pipe)
        # a cut before the first kscand sample leaves nothing to report: exit 1 too
        assert status == (0 if cut in whole and out else 1), cut


def _record_ends(data: bytes) -> set:
    """Offsets where a record of a pipe stream ends (walked from the header sizes)."""
    ends = {16}
    pos = 16
    while pos < len(data):
        typ, size = struct.unpack_from("<IxxH", data, pos)
        pos += size
        if typ == 66:   # HEADER_TRACING_DATA: the blob follows the record
            pos += struct.unpack_from("<I", data, pos - size + 8)[0]
        ends.add(pos)
    return ends


def test_truncation_of_a_pipe_keeps_the_events_before() -> None:
    data = _tiny(True)
    cut = data.index(struct.pack("<Q", MM2)) - 40   # inside the last sample
    status, out = _report(data[:cut], True)
    assert status == 1
    events = json.loads(out)["events"]
    assert (events["kmem_scan_mm_start"], events["kmem_scan_mm_end"],
            events["kmem_scan_mm_migrate"], events["kmem_mm_exit"]) == (1, 1, 1, 1)


@pytest.mark.parametrize("pipe", [False, True], ids=["file", "pipe"])
def test_flipped_bytes_never_raise(pipe: bool) -> None:
    data = _tiny(pipe)
    rnd = random.Random(1234 + pipe)
    for _ in range(1500):
        damaged = bytearray(data)
        for _ in range(rnd.randrange(1, 4)):
            damaged[rnd.randrange(len(damaged))] ^= 1 << rnd.randrange(8)
        _report(bytes(damaged), pipe)


@pytest.mark.parametrize("pipe", [False, True], ids=["file", "pipe"])
def test_huge_sizes_never_raise(pipe: bool) -> None:
    data = _tiny(pipe)
    rnd = random.Random(99 + pipe)
    for _ in range(600):
        damaged = bytearray(data)
        at = rnd.randrange(0, len(damaged) - 8) & ~3
        damaged[at:at + 8] = rnd.choice([b"\xff" * 8, struct.pack("<Q", 1 << 40),
                                         struct.pack("<I", 0x7fffffff) * 2])
        _report(bytes(damaged), pipe)


def test_big_file_sampled_truncation(tmp_path: Any) -> None:
    with open(os.path.join(os.path.dirname(__file__), "data", "small.data"), "rb") as f:
        data = f.read()
    rnd = random.Random(7)
    for cut in sorted(rnd.sample(range(len(data)), 60)):
        status, _ = _report(data[:cut], False)
        assert status == 1


def test_the_command_on_damage_prints_one_line(tmp_path: Any, capsys: Any) -> None:
    data = _tiny(False)
    rnd = random.Random(3)
    for i in range(40):
        path = tmp_path / ("d%d.data" % i)
        damaged = bytearray(data[:rnd.randrange(len(data) + 1)])
        if damaged and i % 2:
            damaged[rnd.randrange(len(damaged))] ^= 0xFF
        path.write_bytes(bytes(damaged))
        status = cli.main(["report", "--json", "-i", str(path)])
        out, err = capsys.readouterr()
        assert status in (0, 1)
        if "before its event formats" in err:
            assert status == 1 and out == ""   # nothing decodable: no report of zeros
        if out or not status:  # a report (nothing read: only the one line, issue 19)
            json.loads(out)
        assert err.count("\n") == (1 if status else 0), err
        assert "Traceback" not in err


def test_a_file_cut_before_its_formats_says_so(tmp_path: Any, capsys: Any) -> None:
    """perf writes the formats after the data: a file cut anywhere before them has
    samples that nothing decodes. One line that says so, with the byte; no report that
    blames the recording's events (issue 19, item 8)."""
    data = _tiny(False)
    cut = data.index(b"name: kmem_scan_mm_end")   # inside the tracing data
    path = tmp_path / "cut.data"
    for end in (cut, len(data) // 2, 200):
        path.write_bytes(data[:end])
        for args in (["-i", str(path)], ["--json", "-i", str(path)]):
            status = cli.main(["report"] + args)
            out, err = capsys.readouterr()
            assert status == 1 and out == "", (end, out)
            assert err.count("\n") == 1, err
            assert "cut at byte %s, before its event formats" % format(end, ",") in err, err
            assert ("none of its 5 samples can be decoded" if end > 1528 else
                    "nothing can be decoded") in err and "kmem" not in err, err
    reader = PerfReader(io.BytesIO(data[:cut]), {})
    problem = reader.read()
    assert problem is not None and problem.fatal and problem.offset == cut
    assert reader.warnings == []
    # the formats whole, the file cut after them (in a feature perf writes later): read
    calls = Calls()
    tail = PerfReader(io.BytesIO(data[:len(data) - 200]), calls.table(
        {"kmem:kmem_scan_mm_start": ("mm",)}))
    assert tail.read() is None and tail.warnings
    assert [c[2] for c in calls.calls] == [(MM,), (MM2,)]


# -- compressed records (perf record -z) -------------------------------------------------

class _Identity:
    """A stand-in zstd stream decompressor: the 'compressed' bytes are the records."""

    eof = False
    unused_data = b""

    def decompress(self, data: bytes) -> bytes:
        return data


def _compressed(data: bytes, pieces: int, typ: int = 81) -> bytes:
    """The pipe stream ``data`` with its records after the tracing data wrapped in
    COMPRESSED records (type 81: header and data) or COMPRESSED2 records (83, perf 7.x:
    header, the data's size, the data, zeros to a multiple of 8 bytes), cut at arbitrary
    bytes so records span them."""
    ends = sorted(_record_ends(data))
    head_end = next(e for e in ends if e > 16 and b"Dtracing" in data[16:e])
    body = data[head_end:]
    rnd = random.Random(pieces)
    cuts = sorted(rnd.sample(range(1, len(body)), pieces - 1))
    out = [data[:head_end]]
    for a, b in zip([0] + cuts, cuts + [len(body)]):
        chunk = body[a:b]
        if typ == 81:
            out.append(struct.pack("<IHH", 81, 0, 8 + len(chunk)) + chunk)
        else:
            pad = -len(chunk) % 8
            out.append(struct.pack("<IHHQ", 83, 0, 16 + len(chunk) + pad, len(chunk))
                       + chunk + bytes(pad))
    return b"".join(out)


@pytest.mark.parametrize("typ", [81, 83], ids=["COMPRESSED", "COMPRESSED2"])
def test_compressed_records_decode_like_the_plain_stream(monkeypatch: Any, typ: int) -> None:
    import kscand_perf.read.records as records
    monkeypatch.setattr(records, "_zstd_factory", lambda: _Identity)
    data = _tiny(True)
    spec = {"kmem:kmem_scan_mm_start": ("mm",), "kmem:kmem_mm_exit": ("@comm", "mm"),
            "kmem:kmem_scan_mm_migrate": ("rc", "msuccess")}
    plain, _ = read(data, spec)
    for pieces in (1, 5, 40):
        calls, reader = read(_compressed(data, pieces, typ), spec)
        assert calls.calls == plain.calls and reader.stats.compressed == pieces
        assert reader.warnings == []


def test_compressed2_with_a_size_past_its_record_is_damage(monkeypatch: Any) -> None:
    import kscand_perf.read.records as records
    monkeypatch.setattr(records, "_zstd_factory", lambda: _Identity)
    data = bytearray(_compressed(_tiny(True), 3, 83))
    at = data.index(struct.pack("<IH", 83, 0))
    size = struct.unpack_from("<H", data, at + 6)[0]
    struct.pack_into("<Q", data, at + 8, size - 15)     # one byte more than it holds
    reader = PerfReader(io.BytesIO(bytes(data)), {})
    problem = reader.read()
    assert problem is not None and problem.offset == at and "COMPRESSED2" in problem.reason


def test_compressed_data_cut_inside_a_record_is_damage(monkeypatch: Any) -> None:
    import kscand_perf.read.records as records
    monkeypatch.setattr(records, "_zstd_factory", lambda: _Identity)
    data = _tiny(True)
    body = data[_head_end(data):-5]
    cut = data[:_head_end(data)] + struct.pack("<IHH", 81, 0, 8 + len(body)) + body
    calls = Calls()
    reader = PerfReader(io.BytesIO(cut), calls.table({"kmem:kmem_scan_mm_start": ("mm",)}))
    problem = reader.read()
    assert problem is not None and "compressed data ends inside a record" in problem.reason
    assert [c[2] for c in calls.calls] == [(MM,), (MM2,)]   # what was whole is delivered


def test_a_big_record_in_compressed_data_is_joined_once(monkeypatch: Any) -> None:
    """A record inside the compressed data that spans many compressed records (a claimed
    1 MB) is decoded when whole, not rescanned (and copied) at each compressed record."""
    import kscand_perf.read.records as records
    monkeypatch.setattr(records, "_zstd_factory", lambda: _Identity)
    scans = []
    real = records.PerfReader._scan

    def counting(self: Any, buf: bytes, pos: int, end: int, base: int) -> Any:
        scans.append(base)
        return real(self, buf, pos, end, base)
    monkeypatch.setattr(records.PerfReader, "_scan", counting)
    data = _tiny(True)
    big = struct.pack("<IHH", 71, 0, 16) + struct.pack("<Q", 1 << 20) + bytes(1 << 20)
    inner = big + data[_head_end(data):]     # an AUXTRACE record with 1 MB of data
    pieces = [inner[a:a + 512] for a in range(0, len(inner), 512)]
    stream = data[:_head_end(data)] + b"".join(
        struct.pack("<IHH", 81, 0, 8 + len(p)) + p for p in pieces)
    calls = Calls()
    reader = PerfReader(io.BytesIO(stream), calls.table({"kmem:kmem_scan_mm_start": ("mm",)}))
    assert reader.read() is None and reader.stats.compressed == len(pieces) > 2000
    assert [c[2] for c in calls.calls] == [(MM,), (MM2,)]
    assert len(scans) < 20, len(scans)     # (the stream's own scans among them)


def test_damage_inside_compressed_data_is_told_at_the_compressed_record(
        monkeypatch: Any) -> None:
    import kscand_perf.read.records as records
    monkeypatch.setattr(records, "_zstd_factory", lambda: _Identity)
    data = _tiny(True)
    head = _head_end(data)
    body = data[head:]
    n0 = struct.unpack_from("<H", body, 6)[0]
    assert n0 > 30
    bad = body[:n0] + struct.pack("<IHH", 3, 0, 4) + body[n0:]   # a record of 4 bytes...
    at = head + 8 + 30              # ...decoded in the second compressed record of two
    stream = data[:head] + b"".join(struct.pack("<IHH", 81, 0, 8 + len(p)) + p
                                    for p in (bad[:30], bad[30:]))
    problem = PerfReader(io.BytesIO(stream), {}).read()
    assert problem is not None and problem.offset == at, (problem, at)
    assert problem.reason.startswith("record of 4 bytes (in the data of a compressed record")
    # perf never puts a compressed record inside another
    inner = struct.pack("<IHH", 81, 0, 8 + len(body)) + body
    nested = data[:head] + struct.pack("<IHH", 81, 0, 8 + len(inner)) + inner
    problem = PerfReader(io.BytesIO(nested), {}).read()
    assert problem is not None and "inside compressed data" in problem.reason
    assert problem.offset == head


def _head_end(data: bytes) -> int:
    """Where the records after the tracing data of the pipe stream ``data`` begin."""
    return next(e for e in sorted(_record_ends(data)) if e > 16 and b"Dtracing" in data[16:e])


def _insert_after_header(data: bytes, records: bytes) -> bytes:
    """The pipe stream ``data`` with ``records`` after its tracing data."""
    return data[:_head_end(data)] + records + data[_head_end(data):]


def test_record_types_the_reader_does_not_know_are_counted_and_named(
        tmp_path: Any, capsys: Any) -> None:
    data = _tiny(True)
    spec = {"kmem:kmem_scan_mm_start": ("mm",)}
    plain, _ = read(data, spec)
    unknown = struct.pack("<IHH", 40, 0, 16) + bytes(8)       # no kernel writes type 40
    newer = struct.pack("<IHH", 90, 0, 8)                      # nor perf 90, yet
    known = (struct.pack("<IHH", 84, 0, 24) + bytes(16)        # BPF_METADATA: known, unused
             + struct.pack("<IHH", 22, 0, 16) + bytes(8))      # CALLCHAIN_DEFERRED
    calls, reader = read(_insert_after_header(data, unknown * 3 + newer + known), spec)
    assert calls.calls == plain.calls        # the rest is read as before
    at = _head_end(data)
    assert reader.stats.unknown_records == {40: (3, at), 90: (1, at + 48)}
    assert [str(w) for w in reader.warnings] == [
        "at byte %d: 3 records of type 40, which this reader does not know (a newer "
        "perf's?), skipped" % at,
        "at byte %d: 1 record of type 90, which this reader does not know (a newer "
        "perf's?), skipped" % (at + 48)]
    # the command says so: one warning line, exit 1, and the report has every event
    path = tmp_path / "u.data"
    path.write_bytes(_insert_after_header(data, unknown))
    status = cli.main(["report", "--json", "-i", str(path)])
    out, err = capsys.readouterr()
    assert status == 1 and err.count("\n") == 1 and "1 record of type 40" in err, err
    assert json.loads(out)["events"]["kmem_scan_mm_start"] == 2


def test_many_attrs_cost_one_decoder_each(monkeypatch: Any) -> None:
    """A pipe stream of thousands of HEADER_ATTR records (or attrs between samples) makes
    one decoder per attr, not one per attr for each attr that follows (quadratic)."""
    from kscand_perf.read.samples import Decoders
    made = []
    real = Decoders._decoder

    def counting(self: Any, attr: Any) -> Any:
        made.append(attr)
        return real(self, attr)
    monkeypatch.setattr(Decoders, "_decoder", counting)
    data = _tiny(True)
    first = data[16:16 + struct.unpack_from("<H", data, 22)[0]]    # a HEADER_ATTR record
    assert struct.unpack_from("<I", first)[0] == 64
    nattrs = len(schema.KSCAND_EVENTS)
    spec = {"kmem:kmem_scan_mm_start": ("mm",)}
    plain, _ = read(data, spec)
    assert len(made) == nattrs
    made.clear()
    calls, reader = read(_insert_after_header(data, first * 3000), spec)
    assert calls.calls == plain.calls and len(reader.attrs) == nattrs + 3000
    assert len(made) == nattrs + 3000
    # attrs and samples taking turns: still one decoder per attr
    at = _head_end(data)
    while struct.unpack_from("<I", data, at)[0] != 9:                # the first sample
        at += struct.unpack_from("<H", data, at + 6)[0]
    sample = data[at:at + struct.unpack_from("<H", data, at + 6)[0]]
    made.clear()
    read(_insert_after_header(data, (first + sample) * 500), spec)
    assert len(made) == nattrs + 500


def test_every_record_type_perf_writes_is_known() -> None:
    """The table of record types: the kernel's 1 to 22 and perf's own 64 to 86."""
    from kscand_perf.read.base import RECORD_NAMES
    assert sorted(RECORD_NAMES) == list(range(1, 23)) + list(range(64, 87))
    assert RECORD_NAMES[83] == "COMPRESSED2" and RECORD_NAMES[9] == "SAMPLE"


def test_compressed_without_zstd_is_one_problem(monkeypatch: Any) -> None:
    import kscand_perf.read.records as records
    monkeypatch.setattr(records, "_zstd_factory", lambda: None)
    reader = PerfReader(io.BytesIO(_compressed(_tiny(True), 3)), {})
    problem = reader.read()
    assert problem is not None and "record without -z" in problem.reason


def test_perf_data_file_on_stdin_is_spooled() -> None:
    data = _tiny(False)

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.src = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            chunk = self.src.read(min(len(b), 100))
            b[:len(chunk)] = chunk
            return len(chunk)

    spec = {"kmem:kmem_scan_mm_start": ("mm",)}
    calls = Calls()
    reader = PerfReader(io.BufferedReader(Pipe()), calls.table(spec))
    assert reader.read() is None
    assert [c[2] for c in calls.calls] == [(MM,), (MM2,)]
