"""The perf.data writer, checked with the real perf (never a mock).

Each test writes a small trace whose values sit on the edges of their C types and
checks what perf makes of it: ``perf script`` text, ``perf script -s`` handler
arguments, ``perf script -g python`` handlers, pipe mode through ``perf script -i -``.
The file layout is also read back here by a parser of its own, independent of the
writer, to compare the formats and raw records with the schema.
"""

import ast
import io
import os
import re
import struct
import subprocess
import sys

import pytest

from kscand_testkit import formats as events
from kscand_testkit.formats import ALL_EVENTS, KSCAND_EVENTS, POSTED_V3_PRINT_FMTS
from kscand_testkit.perfdata import PerfDataWriter, SchemaError, write_trace
from kscand_testkit.stream import Emitted as E

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
U64 = 2 ** 64 - 1
MM1 = 0xff11000002843480
MM2 = 0xff11000002843540
MM3 = 0xff11000003279f80
LONG_PATH = "/usr/lib/x86_64-linux-gnu/kscand-perf/tests/a-binary-with-a-long-name"

# Values on the edges: negative ints, -1 nodes, pointers >= 2**63, 0, max unsigned
# long, comms of 15 and more bytes, __data_loc strings of several lengths, an exec
# that changes a pid's comm, two events at one timestamp.
EDGE = [
    E(1_000_000_000, 0, 100, "bash", "kmem_mm_enter", (MM1,)),
    E(1_000_000_100, 0, 100, "bash", "sched_process_fork", ("bash", 100, "bash", 101)),
    E(1_000_001_000, 1, 101, "bash", "kmem_mm_exit", (MM1,)),
    E(1_000_002_000, 1, 101, "true", "sched_process_exec", ("/usr/bin/true", 101, 101)),
    E(1_000_002_000, 1, 101, "true", "kmem_mm_enter", (MM2,)),
    E(1_500_000_000, 0, 35, "kscand", "kmem_scan_mm_start", (0,)),
    E(1_500_000_001, 0, 35, "kscand", "kmem_scan_mm_start", (U64,)),
    E(1_500_000_002, 0, 35, "kscand", "kmem_scan_mm_start", (2 ** 63,)),
    E(1_500_000_003, 0, 35, "kscand", "kmem_scan_mm_end",
      (2 ** 63, 2 ** 63 + 4096, 0, U64, 1 << 30, -1)),
    E(1_500_000_004, 0, 35, "kscand", "kmem_scan_mm_end",
      (MM2, 0, U64, 2000, U64, 2 ** 31 - 1)),
    E(1_600_000_000, 1, 36, "kmigrated", "kmem_scan_mm_migrate", (MM3, -11, -1, 0, 1)),
    E(1_600_000_001, 1, 36, "kmigrated", "kmem_scan_mm_migrate",
      (MM3, 11, 0, 2 ** 31 - 1, -2 ** 31)),
    E(1_600_000_002, 1, 36, "kmigrated", "kmem_scan_mm_migrate", (MM3, 0, 2 ** 31 - 1, 1, 0)),
    E(1_700_000_000, 1, 101, "true", "sched_process_exit", ("true", 101, 120)),
    E(1_700_000_010, 1, 101, "true", "kmem_mm_exit", (MM2,)),
    E(1_800_000_000, 3, 4242, "kworker/u16:3-events_unbound", "sched_process_fork",
      ("exactly15chars!", 4242, "sixteen-chars-xx", 2 ** 31 - 1)),
    E(1_800_000_001, 3, 4242, "kworker/u16:3-events_unbound", "sched_process_exit",
      ("", 4242, -1)),
    E(1_900_000_000, 2, 4243, "sh", "sched_process_exec", (LONG_PATH, 4243, 4243)),
    E(1_900_000_000, 2, 4243, "sh", "sched_process_exec", ("/x", 4243, 0)),
    E(2 ** 50, 2, 2 ** 22, "a", "kmem_scan_mm_start", (1,)),
]

# Literal text perf must print for some of them (libtraceevent's rendering).
LITERALS = [
    "kmem:kmem_mm_enter: mm=0xff11000002843480",
    "kmem:kmem_scan_mm_start: mm=(nil)",
    "kmem:kmem_scan_mm_start: mm=0xffffffffffffffff",
    "kmem:kmem_scan_mm_end: mm=0x8000000000000000 start=0x8000000000001000 total=0 "
    "scan_period=18446744073709551615 scan_size=1073741824 node=-1",
    "node=2147483647",
    "kmem:kmem_scan_mm_migrate: mm=0xff11000003279f80 rc=-11 node=-1 msuccess=0 mfailed=1",
    "rc=11 node=0 msuccess=2147483647 mfailed=-2147483648",
    "sched:sched_process_exec: filename=/usr/bin/true pid=101 old_pid=101",
    "filename=%s pid=4243 old_pid=4243" % LONG_PATH,
    "comm=exactly15chars! pid=4242 child_comm=sixteen-chars-x child_pid=2147483647",
    "sched:sched_process_exit: comm= pid=4242 prio=-1",
]

FIELDS = "trace:comm,pid,tid,cpu,time,event,trace"
LINE = re.compile(r"^\s*(?P<comm>.*?)\s+(?P<pid>\d+)/(?P<tid>\d+)\s+\[(?P<cpu>\d+)\]\s+"
                  r"(?P<secs>\d+)\.(?P<ns>\d{9}):\s+(?P<event>\w+:\w+):\s(?P<trace>.*)$")
COMMON_ARGS = ["event_name", "context", "common_cpu", "common_secs", "common_nsecs",
               "common_pid", "common_comm", "common_callchain"]


# -- helpers --------------------------------------------------------------------------

def run(cmd, stdin=None, cwd=None):
    proc = subprocess.run(cmd, input=stdin, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=300)
    assert proc.returncode == 0, "%s failed (%d): %s" % (
        " ".join(cmd), proc.returncode, proc.stderr.decode(errors="replace")[-2000:])
    return proc.stdout.decode()


def script(perf, path, *args, stdin=None):
    """``perf script -i PATH`` output; PATH "-" reads ``stdin``."""
    return run([perf, "script", "-i", path] + list(args), stdin=stdin)


def script_lines(perf, path, stdin=None):
    return script(perf, path, "--ns", "-F", FIELDS, stdin=stdin).splitlines()


def write(path, evs, **kw):
    with open(path, "wb") as f:
        with PerfDataWriter(f, **kw) as w:
            for e in evs:
                w.add(e)
    return w


def pipe_bytes(evs, **kw):
    buf = io.BytesIO()
    with PerfDataWriter(buf, pipe=True, **kw) as w:
        w.extend(evs)
    return buf.getvalue()


_CONV = re.compile(r"%(p|lx|lu|ld|d|s)")


def render(e, print_fmts=None):
    """The TP_printk text libtraceevent prints for ``e``, computed independently."""
    ev = events.by_name(e.event)
    fmt = (print_fmts or {}).get(ev.name, ev.print_fmt)
    vals = dict(zip(ev.field_names, e.values))
    args = iter(ev.print_args)

    def conv(m):
        name = next(args)
        v, c = vals[name], m.group(1)
        if c == "p":
            return "(nil)" if v == 0 else "0x%x" % v
        if c == "lx":
            return "%x" % v
        if c == "ld":
            return "%d" % (v - 2 ** 64 if v >= 2 ** 63 else v)
        if c == "s":
            if ev.field(name).kind == "str":
                return v.encode()[:15].decode()
            return v
        return "%d" % v
    text = _CONV.sub(conv, fmt)
    assert next(args, None) is None
    return text


def expected_lines(evs, print_fmts=None):
    return [(e.comm.encode()[:15].decode(), e.pid, e.pid, e.cpu, e.time_ns,
             "%s:%s" % (events.by_name(e.event).system, e.event), render(e, print_fmts))
            for e in evs]


def parsed_lines(lines):
    out = []
    for line in lines:
        m = LINE.match(line)
        assert m, "unexpected perf script line: %r" % line
        out.append((m["comm"], int(m["pid"]), int(m["tid"]), int(m["cpu"]),
                    int(m["secs"]) * 10 ** 9 + int(m["ns"]), m["event"], m["trace"]))
    return out


# -- an independent reader of what the writer wrote ------------------------------------

def read_records(data, start, end):
    recs = []
    p = start
    while p < end:
        typ, misc, size = struct.unpack_from("<IHH", data, p)
        assert size >= 8 and size % 8 == 0, "record at %d: size %d" % (p, size)
        recs.append((typ, misc, data[p + 8:p + size]))
        p += size
    assert p == end
    return recs


# Feature bits the writer sets: TRACING_DATA, NRCPUS, EVENT_DESC, PMU_MAPPINGS.
FEATURE_BITS = [1, 7, 12, 16]


def file_features(data):
    """{feature bit: section} of a perf.data file; the sections follow their index."""
    data_at, data_size = struct.unpack_from("<QQ", data, 40)
    bitmap = int.from_bytes(data[72:104], "little")
    bits = [b for b in range(256) if bitmap >> b & 1]
    at = data_at + data_size + 16 * len(bits)
    out = {}
    for i, bit in enumerate(bits):
        offset, size = struct.unpack_from("<QQ", data, data_at + data_size + 16 * i)
        assert offset == at, "feature %d not where the previous one ends" % bit
        out[bit] = data[offset:offset + size]
        at += size
    assert at == len(data)
    return out


def read_file(data):
    """attrs [(config, sample_type, flags, ids)], records, tracing-data blob."""
    magic, hsize, attr_size = struct.unpack_from("<8sQQ", data, 0)
    assert (magic, hsize, attr_size) == (b"PERFILE2", 104, 144)
    attrs_at, attrs_size, data_at, data_size, _, _ = struct.unpack_from("<6Q", data, 24)
    features = file_features(data)
    assert list(features) == FEATURE_BITS
    attrs = []
    for i in range(attrs_size // 144):
        at = attrs_at + 144 * i
        typ, size, config, period, stype, _, flags = struct.unpack_from("<IIQQQQQ", data, at)
        assert (typ, size, period) == (2, 128, 1)
        ids_at, ids_size = struct.unpack_from("<QQ", data, at + 128)
        ids = struct.unpack_from("<%dQ" % (ids_size // 8), data, ids_at)
        attrs.append((config, stype, flags, ids))
    return attrs, read_records(data, data_at, data_at + data_size), features[1]


def read_pipe(data):
    """attrs, records, tracing-data blob, {feature bit: HEADER_FEATURE body} in order."""
    assert data[:16] == b"PERFILE2" + struct.pack("<Q", 16)
    attrs, recs, blob, features = [], [], None, {}
    p = 16
    while p < len(data):
        typ, misc, size = struct.unpack_from("<IHH", data, p)
        if typ == 64:
            _, _, config, _, stype, _, flags = struct.unpack_from("<IIQQQQQ", data, p + 8)
            ids = struct.unpack_from("<%dQ" % ((size - 136) // 8), data, p + 136)
            attrs.append((config, stype, flags, ids))
        elif typ == 80:
            assert blob is None and not recs, "features come before the tracing data"
            bit, = struct.unpack_from("<Q", data, p + 8)
            features[bit] = data[p + 16:p + size]
        elif typ == 66:
            assert size == 16
            blob_size, = struct.unpack_from("<I", data, p + 8)
            assert blob_size % 8 == 0
            blob = data[p + 16:p + 16 + blob_size]
            p += blob_size
        else:
            recs.append((typ, misc, data[p + 8:p + size]))
        p += size
    return attrs, recs, blob, features


def read_blob(blob):
    """{(system, name): format text} in order, from a tracing-data blob."""
    assert blob.startswith(b"\x17\x08Dtracing0.6\0")
    p = 14
    endian, long_size, page = struct.unpack_from("<BBI", blob, p)
    assert (endian, long_size, page) == (0, 8, 4096)
    p += 6

    def cstr():
        nonlocal p
        end = blob.index(b"\0", p)
        s, p = blob[p:end].decode(), end + 1
        return s

    for name in ("header_page", "header_event"):
        assert cstr() == name
        n, = struct.unpack_from("<Q", blob, p)
        p += 8 + n
    n_ftrace, n_sys = struct.unpack_from("<II", blob, p)
    assert n_ftrace == 0
    p += 8
    formats = {}
    for _ in range(n_sys):
        system = cstr()
        count, = struct.unpack_from("<I", blob, p)
        p += 4
        for _ in range(count):
            n, = struct.unpack_from("<Q", blob, p)
            text = blob[p + 8:p + 8 + n].decode()
            name = re.match(r"name: (\w+)\n", text).group(1)
            formats[(system, name)] = text
            p += 8 + n
    kallsyms, printk, cmdlines = struct.unpack_from("<IIQ", blob, p)
    assert (kallsyms, printk, cmdlines) == (0, 0, 0)
    assert blob[p + 16:].strip(b"\0") == b""
    return formats


def decode_sample(body):
    """(id, pid, tid, time, cpu, raw) of a SAMPLE record with the writer's sample_type."""
    ident, ip, pid, tid, t, cpu, res, period, raw_size = struct.unpack_from(
        "<QQIIQIIQI", body, 0)
    assert (ip, res, period) == (0, 0, 1)
    assert (4 + raw_size) % 8 == 0 and len(body) == 52 + raw_size
    return ident, pid, tid, t, cpu, body[52:]


def decode_raw(ev, raw):
    """The field values of ``ev`` in a raw record, read by the format's offsets."""
    vals = []
    for f in ev.fields:
        chunk = raw[f.offset:f.offset + f.size]
        if f.kind == "int":
            vals.append(int.from_bytes(chunk, "little", signed=f.signed))
        elif f.kind == "str":
            assert chunk.endswith(b"\0")
            vals.append(chunk.split(b"\0", 1)[0].decode())
        else:
            loc = int.from_bytes(chunk, "little")
            off, n = loc & 0xffff, loc >> 16
            assert off == ev.record_size and raw[off + n - 1] == 0
            vals.append(raw[off:off + n - 1].decode())
    return tuple(vals)


# -- fixtures -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def edge_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("edge") / "edge.data")
    write(path, EDGE)
    return path


@pytest.fixture(scope="module")
def edge_text(perf, edge_file):
    return script_lines(perf, edge_file)


# -- perf reads the values back -------------------------------------------------------

def test_perf_script_shows_every_value(edge_text):
    assert parsed_lines(edge_text) == expected_lines(EDGE)


def test_perf_script_literal_edges(edge_text):
    text = "\n".join(edge_text)
    for literal in LITERALS:
        assert literal in text


def test_comm_per_sample_follows_exec(edge_text):
    comms = [(m[0], m[1], m[5]) for m in parsed_lines(edge_text) if m[1] == 101]
    assert comms == [("bash", 101, "kmem:kmem_mm_exit"),
                     ("true", 101, "sched:sched_process_exec"),
                     ("true", 101, "kmem:kmem_mm_enter"),
                     ("true", 101, "sched:sched_process_exit"),
                     ("true", 101, "kmem:kmem_mm_exit")]
    assert {m[0] for m in parsed_lines(edge_text) if m[1] == 4242} == {"kworker/u16:3-e"}


def test_default_text_has_every_sample(perf, edge_file):
    lines = script(perf, edge_file).splitlines()
    assert len(lines) == len(EDGE)
    for line, e in zip(lines, EDGE):
        assert line.rstrip().endswith(render(e).rstrip())


HANDLER = '''
NAMES = %r
OUT = []

def _make(name):
    def handler(event_name, context, common_cpu, common_secs, common_nsecs,
                common_pid, common_comm, common_callchain, *fields):
        OUT.append(repr((event_name, common_cpu, common_secs * 10**9 + common_nsecs,
                         common_pid, common_comm, fields)))
    return handler

for _n in NAMES:
    globals()[_n] = _make(_n)

def trace_end():
    print("\\n".join(OUT))
'''


def test_perf_script_s_handlers_get_the_values(perf, edge_file, tmp_path):
    handler_script = tmp_path / "dump.py"
    handler_script.write_text(HANDLER % [ev.handler for ev in ALL_EVENTS])
    out = run([perf, "script", "-i", edge_file, "-s", str(handler_script)])
    got = [ast.literal_eval(line) for line in out.splitlines() if line.startswith("(")]
    assert len(got) == len(EDGE)
    for g, e in zip(got, EDGE):
        ev = events.by_name(e.event)
        want = []
        for f, v in zip(ev.fields, e.values):
            if f.kind == "str":
                v = v.encode()[:15].decode()
            want.append(v)
        fields = list(g[5])
        for i, f in enumerate(ev.fields):
            # perf 6.1 hands signed 4-byte fields over zero-extended (perf-notes.md)
            if f.kind == "int" and f.size == 4 and f.signed and fields[i] >= 2 ** 31:
                fields[i] -= 2 ** 32
        assert g[:5] == (ev.handler, e.cpu, e.time_ns, e.pid, e.comm[:15])
        assert fields == want


# -- the file as written ----------------------------------------------------------------

def test_file_layout_formats_and_records(edge_file):
    with open(edge_file, "rb") as f:
        data = f.read()
    attrs, recs, blob = read_file(data)
    ids = [1000 + i for i in range(len(ALL_EVENTS))]
    assert [a[0] for a in attrs] == ids
    assert [a[3] for a in attrs] == [(i,) for i in ids]
    assert {a[1] for a in attrs} == {0x10587}        # IDENTIFIER|IP|TID|TIME|CPU|PERIOD|RAW
    assert all(a[2] & 1 << 18 for a in attrs)        # sample_id_all
    formats = read_blob(blob)
    assert list(formats) == [(ev.system, ev.name) for ev in ALL_EVENTS]
    for ev, eid in zip(ALL_EVENTS, ids):
        assert formats[(ev.system, ev.name)] == ev.format_text(eid)

    samples = [decode_sample(body) for typ, _, body in recs if typ == 9]
    assert len(samples) == len(EDGE)
    by_id = dict(zip(ids, ALL_EVENTS))
    for (ident, pid, tid, t, cpu, raw), e in zip(samples, EDGE):
        ev = by_id[ident]
        assert ev.name == e.event
        assert struct.unpack_from("<HBBi", raw) == (ident, 0, 0, e.pid)
        assert (pid, tid, t, cpu) == (e.pid, e.pid, e.time_ns, e.cpu)
        want = tuple(v.encode()[:15].decode() if f.kind == "str" else v
                     for f, v in zip(ev.fields, e.values))
        assert decode_raw(ev, raw) == want

    comms = [(struct.unpack_from("<II", body), misc, body[8:].split(b"\0", 1)[0].decode())
             for typ, misc, body in recs if typ == 3]
    want, seen = [], {}
    for e in EDGE:
        if seen.get(e.pid) != e.comm:
            want.append(((e.pid, e.pid), 0x2000 if e.pid in seen else 0, e.comm[:15]))
            seen[e.pid] = e.comm
    assert comms == want
    assert [typ for typ, _, _ in recs][-1] == 68


def perf_string(text):
    """u32 length rounded up to 64 with the NUL, then the NUL-padded text."""
    size = (len(text) + 1 + 63) // 64 * 64
    return struct.pack("<I", size) + text.encode().ljust(size, b"\0")


def test_feature_sections(edge_file):
    with open(edge_file, "rb") as f:
        data = f.read()
    features = file_features(data)
    assert list(features) == FEATURE_BITS
    # NRCPUS: available, online = one more than the highest CPU of EDGE (3)
    assert features[7] == b"\x04\0\0\0\x04\0\0\0"
    # PMU_MAPPINGS: one PMU, type 2, "tracepoint" in a 64-byte perf string
    assert features[16] == (b"\x01\0\0\0\x02\0\0\0\x40\0\0\0tracepoint" + bytes(54))
    # EVENT_DESC: count, attr size, then per event its attr, one id, its name, the id
    attrs_at, = struct.unpack_from("<Q", data, 24)
    want = struct.pack("<II", 8, 128)
    for i, name in enumerate(["kmem:kmem_mm_enter", "kmem:kmem_mm_exit",
                              "kmem:kmem_scan_mm_start", "kmem:kmem_scan_mm_end",
                              "kmem:kmem_scan_mm_migrate", "sched:sched_process_fork",
                              "sched:sched_process_exec", "sched:sched_process_exit"]):
        attr = data[attrs_at + 144 * i:attrs_at + 144 * i + 128]
        want += attr + struct.pack("<I", 1) + perf_string(name) + struct.pack("<Q", 1000 + i)
    assert features[12] == want
    assert perf_string("x" * 63) == b"\x40\0\0\0" + b"x" * 63 + b"\0"
    assert len(perf_string("x" * 64)) == 4 + 128


def test_perf_reads_the_features(perf, edge_file):
    out = run([perf, "report", "--header-only", "-i", edge_file])
    lines = [line.strip() for line in out.splitlines()]
    assert "# nrcpus online : 4" in lines and "# nrcpus avail : 4" in lines
    assert "# pmu mappings: tracepoint = 2" in lines
    names = [line.split(",")[0] for line in lines if line.startswith("# event : ")]
    assert names == ["# event : name = %s:%s" % (ev.system, ev.name) for ev in ALL_EVENTS]


@pytest.mark.parametrize("pipe", [False, True])
def test_nr_cpus(pipe):
    def nrcpus(evs, **kw):
        if pipe:
            return read_pipe(pipe_bytes(evs, **kw))[3][7]
        buf = io.BytesIO()
        with PerfDataWriter(buf, **kw) as w:
            w.extend(evs)
        return file_features(buf.getvalue())[7]

    assert nrcpus(EDGE, nr_cpus=8) == struct.pack("<II", 8, 8)
    assert nrcpus(EDGE, nr_cpus=4) == struct.pack("<II", 4, 4)
    if not pipe:
        assert nrcpus([]) == struct.pack("<II", 1, 1)
        assert nrcpus([START._replace(cpu=4095)]) == struct.pack("<II", 4096, 4096)
    w = PerfDataWriter(io.BytesIO(), pipe=pipe, nr_cpus=4)
    w.add(START._replace(cpu=3))
    for method in ("add", "extend"):
        write_one = w.add if method == "add" else lambda e: w.extend([e])
        with pytest.raises(SchemaError, match=r"start: cpu 4 out of range \(0\.\.3\)"):
            write_one(START._replace(cpu=4))
    for bad in (0, 4097, True, "4"):
        with pytest.raises(ValueError, match="nr_cpus"):
            PerfDataWriter(io.BytesIO(), pipe=pipe, nr_cpus=bad)


def test_formats_with_posted_printk_and_first_id(tmp_path):
    path = str(tmp_path / "v3.data")
    write(path, EDGE[:3], events=KSCAND_EVENTS + (events.SCHED_PROCESS_FORK,),
          first_id=331, print_fmts=POSTED_V3_PRINT_FMTS)
    with open(path, "rb") as f:
        attrs, _, blob = read_file(f.read())
    formats = read_blob(blob)
    for i, ev in enumerate(KSCAND_EVENTS):
        assert attrs[i][0] == 331 + i
        text = formats[("kmem", ev.name)]
        assert text == ev.format_text(331 + i, POSTED_V3_PRINT_FMTS[ev.name])
        assert 'print fmt: "%s"' % POSTED_V3_PRINT_FMTS[ev.name] in text


def test_perf_sees_the_schema_fields(perf, edge_file):
    out = run([perf, "evlist", "-i", edge_file, "--trace-fields"])
    want = ["%s:%s: trace_fields: %s" % (ev.system, ev.name, ",".join(ev.field_names))
            for ev in ALL_EVENTS]
    assert out.splitlines() == want


def test_rounds_and_counters(tmp_path):
    path = str(tmp_path / "r.data")
    w = write(path, EDGE, round_every=3)
    with open(path, "rb") as f:
        data = f.read()
    _, recs, _ = read_file(data)
    types = [typ for typ, _, _ in recs]
    assert types.count(68) == -(-len(EDGE) // 3)
    # a FINISHED_ROUND after every third sample, and one at the end
    n = 0
    for typ in types:
        if typ == 9:
            n += 1
        elif typ == 68:
            assert n % 3 == 0 or n == len(EDGE)
    assert types[-1] == 68
    assert w.events_written == len(EDGE) == types.count(9)
    assert w.bytes_written == len(data)
    assert w.stats.samples == len(EDGE)
    assert w.stats.comms == types.count(3)
    assert w.stats.rounds == types.count(68)


# -- pipe mode ----------------------------------------------------------------------------

def test_pipe_mode_gives_the_same_output(perf, edge_file):
    data = pipe_bytes(EDGE)
    assert script(perf, "-", "--ns", "-F", FIELDS, stdin=data) == \
        script(perf, edge_file, "--ns", "-F", FIELDS)
    assert script(perf, "-", stdin=data) == script(perf, edge_file)


def test_pipe_stream_layout(edge_file):
    attrs, recs, blob, features = read_pipe(pipe_bytes(EDGE, nr_cpus=4))
    with open(edge_file, "rb") as f:
        data = f.read()
    fattrs, frecs, fblob = read_file(data)
    assert attrs == fattrs
    assert blob.rstrip(b"\0") == fblob.rstrip(b"\0")
    assert recs == frecs
    # the file's features but tracing data, as HEADER_FEATURE records, in bit order
    ffeatures = file_features(data)
    del ffeatures[1]
    assert list(features.items()) == list(ffeatures.items())


def test_pipe_mode_states_max_nr_cpus_unless_told():
    _, _, _, features = read_pipe(pipe_bytes(EDGE))
    assert features[7] == struct.pack("<II", 4096, 4096)


def test_pipe_mode_streams_to_a_non_seekable_pipe(perf, tmp_path):
    out_path = tmp_path / "out.txt"
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([perf, "script", "-i", "-", "--ns", "-F", FIELDS],
                                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.PIPE)
        with PerfDataWriter(proc.stdin, pipe=True, round_every=4) as w:
            for e in EDGE:
                w.add(e)
        proc.stdin.close()
        err = proc.stderr.read()
        assert proc.wait(timeout=300) == 0, err
    assert parsed_lines(out_path.read_text().splitlines()) == expected_lines(EDGE)


def test_write_trace_to_stdout_pipes_into_perf(perf):
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from kscand_testkit.perfdata import write_trace\n"
            "from kscand_testkit.stream import Emitted as E\n"
            "write_trace('-', [E(10**9 + i, 0, 35, 'kscand', 'kmem_scan_mm_start', (i,))"
            " for i in range(1000)])\n" % ROOT)
    writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    out = subprocess.run([perf, "script", "-i", "-", "-F", "trace:comm,pid,trace"],
                         stdin=writer.stdout, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=300)
    writer.stdout.close()
    assert writer.wait(timeout=300) == 0
    assert out.returncode == 0, out.stderr
    lines = out.stdout.decode().splitlines()
    assert len(lines) == 1000
    assert lines[0].split() == ["kscand", "35", "mm=(nil)"]
    assert lines[-1].split() == ["kscand", "35", "mm=0x3e7"]


def test_write_trace_to_path_and_file_object(perf, tmp_path):
    path = tmp_path / "w.data"
    stats = write_trace(path, EDGE)
    assert stats.samples == len(EDGE) and stats.bytes == path.stat().st_size
    with open(tmp_path / "f.data", "wb") as f:
        write_trace(f, EDGE)
    assert (tmp_path / "f.data").read_bytes() == path.read_bytes()
    assert parsed_lines(script_lines(perf, str(path))) == expected_lines(EDGE)


# -- perf script -g python ---------------------------------------------------------------

def generated_handlers(perf, path, cwd):
    run([perf, "script", "-g", "python", "-i", path], cwd=str(cwd))
    tree = ast.parse((cwd / "perf-script.py").read_text())
    return {f.name: [a.arg for a in f.args.args] for f in tree.body
            if isinstance(f, ast.FunctionDef) and "__" in f.name}


@pytest.mark.parametrize("which", ["kmem", "all"])
def test_generated_python_handlers(perf, tmp_path, which):
    evs = KSCAND_EVENTS if which == "kmem" else ALL_EVENTS
    trace = [e for e in EDGE if any(ev.name == e.event for ev in evs)]
    path = str(tmp_path / "g.data")
    write(path, trace, events=evs)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    handlers = generated_handlers(perf, path, cwd)
    assert sorted(handlers) == sorted(ev.handler for ev in evs)
    if which == "kmem":
        assert len(handlers) == 5
    for ev in evs:
        args = handlers[ev.handler]
        assert args[:len(COMMON_ARGS)] == COMMON_ARGS
        assert args[len(COMMON_ARGS):] == list(ev.field_names) + ["perf_sample_dict"]


# -- the posted V3 printk ------------------------------------------------------------------

def test_posted_v3_printk_variant(perf, tmp_path):
    trace = [e for e in EDGE if e.event.startswith("kmem_")]
    path = str(tmp_path / "posted.data")
    write(path, trace, events=KSCAND_EVENTS, print_fmts=POSTED_V3_PRINT_FMTS)
    lines = script_lines(perf, path)
    assert parsed_lines(lines) == expected_lines(trace, POSTED_V3_PRINT_FMTS)
    text = "\n".join(lines)
    assert "kmem:kmem_scan_mm_end: mm=0x8000000000000000, start = -9223372036854771712, " \
           "total = 0, scan_period = -1, scan_size = 1073741824 node = -1" in text
    assert "rc = -11 node = -1 msuccess = 0 mfailed = 1 \n" in text + "\n"
    assert "kmem:kmem_mm_enter: mm = 0xff11000002843480" in text


# -- bigger traces --------------------------------------------------------------------------

def test_many_events_exact_count(perf, tmp_path):
    trace, t = [], 10 ** 9
    for i in range(20000):
        t += i % 7
        if i % 10 == 9:
            trace.append(E(t, 1, 36, "kmigrated", "kmem_scan_mm_migrate",
                           (MM3 + i, (0, 10, 3, -11)[i % 4], 0, i % 1024, i % 1000)))
        else:
            trace.append(E(t, 0, 35, "kscand", "kmem_scan_mm_start", (MM1 + 64 * (i % 50),)))
    path = str(tmp_path / "big.data")
    write_trace(path, trace, events=KSCAND_EVENTS, round_every=4096)
    out = script(perf, path, "-F", "trace:comm,event").split()
    assert out.count("kmem:kmem_scan_mm_start:") == 18000
    assert out.count("kmem:kmem_scan_mm_migrate:") == 2000
    assert out.count("kscand") == 18000 and out.count("kmigrated") == 2000
    assert script_lines(perf, path)[-1].endswith(render(trace[-1]))


def test_empty_trace(perf, tmp_path):
    path = str(tmp_path / "empty.data")
    w = write(path, [])
    assert w.events_written == 0
    assert script(perf, path) == ""
    assert script(perf, "-", stdin=pipe_bytes([])) == ""


# -- rejected events --------------------------------------------------------------------------

START = E(10, 0, 35, "kscand", "kmem_scan_mm_start", (MM1,))

BAD = {
    "unknown event": (START._replace(event="kmem_scan_mm_stop"),
                      ["unknown event", "kmem_scan_mm_stop"]),
    "system prefix": (START._replace(event="kmem:kmem_scan_mm_start"), ["unknown event"]),
    "missing field": (E(10, 0, 35, "kscand", "kmem_scan_mm_end", (MM1, 0, 0, 2000, 1 << 30)),
                      ["kmem_scan_mm_end", "expected 6 values", "missing target_node"]),
    "extra value": (START._replace(values=(MM1, 1)), ["kmem_scan_mm_start", "1 extra"]),
    "str for int": (START._replace(values=("0x1234",)),
                    ["kmem_scan_mm_start.mm", "expected an int", "str"]),
    "float for int": (E(10, 0, 36, "kmigrated", "kmem_scan_mm_migrate", (MM1, 0.0, 0, 1, 0)),
                      ["kmem_scan_mm_migrate.rc", "expected an int", "float"]),
    "int for char[16]": (E(10, 0, 1, "sh", "sched_process_exit", (7, 1, 120)),
                         ["sched_process_exit.comm", "expected a str"]),
    "int for __data_loc": (E(10, 0, 1, "sh", "sched_process_exec", (7, 1, 1)),
                           ["sched_process_exec.filename", "expected a str"]),
    "negative unsigned": (E(10, 0, 35, "kscand", "kmem_scan_mm_end",
                            (MM1, -1, 0, 2000, 1 << 30, 0)),
                          ["kmem_scan_mm_end.start", "unsigned long", "out of range"]),
    "u64 overflow": (START._replace(values=(2 ** 64,)), ["kmem_scan_mm_start.mm", "out of range"]),
    "int overflow": (E(10, 0, 36, "kmigrated", "kmem_scan_mm_migrate", (MM1, 0, 2 ** 31, 1, 0)),
                     ["kmem_scan_mm_migrate.target_node", "(int)", "out of range"]),
    "int underflow": (E(10, 0, 36, "kmigrated", "kmem_scan_mm_migrate",
                        (MM1, -2 ** 31 - 1, 0, 1, 0)), ["kmem_scan_mm_migrate.rc", "out of range"]),
    "time backwards": (START._replace(time_ns=4), ["kmem_scan_mm_start", "backwards", "4 ns"]),
    "negative time": (START._replace(time_ns=-1), ["time_ns", "out of range"]),
    "negative cpu": (START._replace(cpu=-1), ["cpu", "out of range"]),
    "cpu at perf's bound": (START._replace(cpu=4096), ["cpu 4096", "out of range (0..4095)"]),
    "pid too big": (START._replace(pid=2 ** 31), ["pid", "out of range"]),
    "comm not str": (START._replace(comm=b"kscand"), ["comm must be a str"]),
    "NUL in filename": (E(10, 0, 1, "sh", "sched_process_exec", ("/a\0b", 1, 1)),
                        ["sched_process_exec.filename", "NUL"]),
    "values not a tuple": (START._replace(values=None), ["kmem_scan_mm_start", "values"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
@pytest.mark.parametrize("method", ["add", "extend"])
def test_rejects(case, method):
    bad, words = BAD[case]
    buf = io.BytesIO()
    w = PerfDataWriter(buf)
    w.add(START._replace(time_ns=5))
    before = (w.events_written, list(w._chunks))
    with pytest.raises(SchemaError) as info:
        if method == "add":
            w.add(bad)
        else:
            w.extend([START._replace(time_ns=6), bad])
    msg = str(info.value)
    assert "\n" not in msg
    for word in words:
        assert word in msg
    if method == "add":
        assert (w.events_written, list(w._chunks)) == before, "nothing written for a bad event"
    else:
        assert w.events_written == 2


def test_writer_goes_on_after_a_rejected_event(perf, tmp_path):
    path = str(tmp_path / "after.data")
    good = EDGE[:6]
    with open(path, "wb") as f:
        with PerfDataWriter(f) as w:
            for i, e in enumerate(good):
                w.add(e)
                if i != 2:
                    continue
                for case, (bad, _) in sorted(BAD.items()):
                    if case not in ("time backwards", "negative time"):
                        bad = bad._replace(time_ns=e.time_ns)
                    with pytest.raises(SchemaError):
                        w.add(bad)
            assert w.events_written == len(good)
    assert parsed_lines(script_lines(perf, path)) == expected_lines(good)


def test_constructor_checks():
    with pytest.raises(ValueError, match="seekable"):
        PerfDataWriter(_Unseekable(), pipe=False)
    with pytest.raises(SchemaError, match="unsigned short"):
        PerfDataWriter(io.BytesIO(), first_id=65535)
    with pytest.raises(SchemaError, match="unknown events: kmem_nope"):
        PerfDataWriter(io.BytesIO(), print_fmts={"kmem_nope": "x"})
    with pytest.raises(SchemaError, match="3 print args"):
        PerfDataWriter(io.BytesIO(), events=(events.MIGRATE_V2,),
                       print_fmts=POSTED_V3_PRINT_FMTS)
    PerfDataWriter(io.BytesIO(), events=(events.SCAN_START,), print_fmts=POSTED_V3_PRINT_FMTS)
    with pytest.raises(SchemaError, match="duplicate"):
        PerfDataWriter(io.BytesIO(), events=(events.MIGRATE, events.MIGRATE_V2))
    w = PerfDataWriter(io.BytesIO())
    w.close()
    w.close()
    with pytest.raises(ValueError, match="closed"):
        w.add(START)
    with pytest.raises(ValueError, match="closed"):
        w.extend([START])


class _Unseekable(io.RawIOBase):
    def writable(self):
        return True

    def write(self, b):
        return len(b)


def test_v2_migrate_layout_is_readable(perf, tmp_path):
    path = str(tmp_path / "v2.data")
    evs = (events.MM_ENTER, events.MIGRATE_V2)
    write(path, [E(5, 0, 36, "kmigrated", "kmem_scan_mm_migrate", (MM3, -11, -1))], events=evs)
    assert script_lines(perf, path)[0].endswith(
        "kmem:kmem_scan_mm_migrate: mm = 0xff11000003279f80 rc = -11 node = -1")


def test_require_skips_or_fails(monkeypatch):
    import conftest
    monkeypatch.setattr(conftest, "REQUIRE_E2E", False)
    conftest.require(True, "never raised")
    with pytest.raises(pytest.skip.Exception, match="no perf here"):
        conftest.require(False, "no perf here")
    monkeypatch.setattr(conftest, "REQUIRE_E2E", True)
    with pytest.raises(pytest.fail.Exception, match="KSCAND_PERF_REQUIRE_E2E=1 but: no perf"):
        conftest.require(False, "no perf here")
