"""Fuzzing the perf.data reader: mutated recordings never end in a traceback.

Small recordings (file mode, pipe streams, pipe streams of COMPRESSED and COMPRESSED2
records) are mutated: bits flipped, 2-, 4- and 8-byte words overwritten with huge or
odd values (record sizes, section offsets and sizes, blob sizes), records dropped,
duplicated, swapped, inserted (copies, or made up of a random type and size) and the
input cut. In file mode, records dropped or inserted move the feature sections, and the
header's data size and feature offsets are moved with them, so that damage reaches the
records and not only the header; compressed recordings are mutated as they are, or
before compression (damaged records inside the compressed ones). One input in eight
comes through a pipe (not seekable, short reads: a file-mode recording is spooled).
Each input is fed to the reader and the report made, as the command does; it must end
with a report (the damage in its notes) or the reader's own problem, never an
exception, and allocate at most MEMORY_LIMIT bytes (tracemalloc's peak) whatever sizes
it claims.

Deterministic: input i of a run is made by random.Random(SEED + i). N inputs (2,000 by
default) in the test run; ``make fuzz N=20000 SEED=...`` for more. A failure names
the seed, and ``KSCAND_PERF_FUZZ_SEED=<seed> KSCAND_PERF_FUZZ_N=1`` replays it.
"""

from __future__ import annotations

import io
import json
import os
import random
import struct
import tracemalloc
from typing import Any, Callable, Dict, List, Tuple

import pytest

from kscand_perf import cli, feed
from kscand_perf.errors import CommandError
from kscand_perf.options import Options
from kscand_perf.read import zstd_available
from kscand_perf.session import Session
from kscand_testkit import formats as schema
from kscand_testkit.perfdata import write_trace
from kscand_testkit.stream import Emitted

N = int(os.environ.get("KSCAND_PERF_FUZZ_N", "2000"))
SEED = int(os.environ.get("KSCAND_PERF_FUZZ_SEED", "0"))
MEMORY_LIMIT = 64 << 20


def _columnar() -> bool:
    """Whether the columnar reader is here (numpy); its bulk path then takes every batch,
    however small (bulk_starts.SMALL)."""
    try:
        from kscand_perf.read import columnar
        if not columnar.available():
            return False
        from kscand_perf import bulk_starts
    except ImportError:
        return False
    bulk_starts.SMALL = 1
    return True


COLUMNAR = _columnar()

MM, MM2 = 0xFF11000003279F80, 0xFF11000003279000
HUGE = [b"\xff" * 8, struct.pack("<Q", 1 << 40), struct.pack("<Q", 1 << 62),
        struct.pack("<Q", (1 << 63) - 1), struct.pack("<I", 0x7FFFFFFF) * 2,
        struct.pack("<Q", 1 << 32), bytes(8)]


# -- the recordings ------------------------------------------------------------------------

def _events() -> List[Emitted]:
    evs = [Emitted(900, 2, 77, "bash", "kmem_mm_enter", (MM,)),
           Emitted(950, 2, 77, "bash", "sched_process_fork", ("bash", 77, "bash", 78)),
           Emitted(960, 3, 78, "stress-ng", "sched_process_exec", ("/bin/stress-ng", 78, 78))]
    t = 1000
    for i in range(6):
        mm = MM if i % 2 == 0 else MM2
        evs += [Emitted(t, 0, 40, "kscand", "kmem_scan_mm_start", (mm,)),
                Emitted(t + 300, 0, 40, "kscand", "kmem_scan_mm_end",
                        (mm, 0x7f0000000000 + i, 3 + i, 2000, 1 << 30, i % 2)),
                Emitted(t + 500, 1, 41, "kmigrated", "kmem_scan_mm_migrate",
                        (mm, 0 if i % 3 else -11, 1, 1 + i, i % 2))]
        t += 1000
    evs += [Emitted(t, 1, 77, "bash", "kmem_mm_exit", (MM,)),
            Emitted(t + 10, 1, 77, "bash", "sched_process_exit", ("bash", 77, 120))]
    return evs


def _write(pipe: bool) -> bytes:
    out = io.BytesIO()
    write_trace(out, _events(), pipe=pipe, events=schema.ALL_EVENTS, round_every=4)
    return out.getvalue()


def _walk(data: bytes, pos: int, end: int) -> List[Tuple[int, int]]:
    """(start, end) of each record of data[pos:end] (a pipe-mode tracing data record
    with the blob that follows it)."""
    out = []
    end = min(end, len(data))
    while pos + 8 <= end:
        typ, size = struct.unpack_from("<I2xH", data, pos)
        if size < 8:
            break
        nxt = pos + size
        if typ == 66 and pos + 12 <= end:
            nxt += struct.unpack_from("<I", data, pos + 8)[0]
        out.append((pos, min(nxt, end)))
        pos = nxt
    return out


def _compress(pipe_stream: bytes, typ: int, pieces: int) -> bytes:
    """The pipe stream with its records after the tracing data in compressed records of
    ``typ`` (81 or 83), each an independent zstd frame, cut across records."""
    import zstandard
    recs = _walk(pipe_stream, 16, len(pipe_stream))
    head_end = next(e for s, e in recs if b"Dtracing" in pipe_stream[s:e])
    body = pipe_stream[head_end:]
    step = max(-(-len(body) // pieces), 1)
    out = [pipe_stream[:head_end]]
    for a in range(0, len(body), step):
        z = zstandard.ZstdCompressor().compress(body[a:a + step])
        if typ == 81:
            out.append(struct.pack("<IHH", 81, 0, 8 + len(z)) + z)
        else:
            pad = -len(z) % 8
            out.append(struct.pack("<IHHQ", 83, 0, 16 + len(z) + pad, len(z)) + z + bytes(pad))
    return b"".join(out)


def recordings() -> Dict[str, bytes]:
    out = {"file": _write(False), "pipe": _write(True)}
    if zstd_available():
        try:
            out["pipe-z81"] = _compress(out["pipe"], 81, 3)
            out["pipe-z83"] = _compress(out["pipe"], 83, 3)
        except ImportError:   # compression.zstd (Python 3.14) only: no compressor here
            pass
    return out


# -- mutations -----------------------------------------------------------------------------

def _data_section(data: bytes) -> Tuple[int, int]:
    if len(data) < 104 or struct.unpack_from("<Q", data, 8)[0] == 16:
        return 16, len(data)
    off, size = struct.unpack_from("<QQ", data, 40)
    return off, min(off + size, len(data))


def _moved(data: bytes, at: int, delta: int) -> bytes:
    """A file-mode recording whose data section grew by ``delta`` bytes at ``at``:
    the header's data size and the feature offsets follow (pipe streams: as is)."""
    if len(data) < 104 or struct.unpack_from("<Q", data, 8)[0] == 16:
        return data
    out = bytearray(data)
    off, size = struct.unpack_from("<QQ", data, 40)
    struct.pack_into("<Q", out, 48, (size + delta) % (1 << 64))   # (sizes may be damaged)
    table = off + size + delta
    nfeat = bin(int.from_bytes(data[72:104], "little")).count("1")
    for i in range(nfeat):
        if 0 <= table + 16 * i <= len(out) - 8:
            foff = struct.unpack_from("<Q", out, table + 16 * i)[0]
            if foff >= at:
                struct.pack_into("<Q", out, table + 16 * i, (foff + delta) % (1 << 64))
    return bytes(out)


def _flip(rnd: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rnd.randrange(1, 5)):
        out[rnd.randrange(len(out))] ^= 1 << rnd.randrange(8)
    return bytes(out)


def _huge(rnd: random.Random, data: bytes) -> bytes:
    """A word overwritten with a huge or odd value: at a record's size, its first u64
    after the header, or anywhere (the file header's offsets and sizes among them)."""
    out = bytearray(data)
    start, end = _data_section(data)
    recs = _walk(data, start, end)
    where = rnd.random()
    if recs and where < 0.4:
        s, _ = rnd.choice(recs)
        if rnd.random() < 0.5:
            struct.pack_into("<H", out, s + 6, rnd.choice([0, 1, 7, 8, 9, 0xFFFF, 0xFFF8]))
            return bytes(out)
        at = s + 8
    elif where < 0.6:
        at = rnd.randrange(8, 104, 8)   # the file header's words
    else:
        at = rnd.randrange(0, max(len(out) - 8, 1))
    value = rnd.choice(HUGE)
    if rnd.random() < 0.3:
        value = value[:4]
    out[at:at + len(value)] = value
    return bytes(out[:len(data)])


def _records(rnd: random.Random, data: bytes) -> bytes:
    """Records dropped, duplicated, moved or made up."""
    start, end = _data_section(data)
    recs = _walk(data, start, end)
    if not recs:
        return _flip(rnd, data)
    s, e = rnd.choice(recs)
    op = rnd.randrange(4)
    if op == 0:                                   # dropped
        return _moved(data[:s] + data[e:], s, -(e - s))
    if op == 1:                                   # duplicated, here or elsewhere
        at = rnd.choice(recs)[0]
        return _moved(data[:at] + data[s:e] + data[at:], at, e - s)
    if op == 2:                                   # made up: any type, any size
        size = rnd.choice([8, 16, 24, 64, 0xFFF8, rnd.randrange(8, 200)])
        typ = rnd.choice([rnd.randrange(0, 120), 9, 66, 71, 81, 83, 64, 80])
        body = bytes(rnd.randrange(256) for _ in range(min(size, 64) - 8))
        rec = struct.pack("<IHH", typ, 0, size) + body
        return _moved(data[:s] + rec + data[s:], s, len(rec))
    s2, e2 = rnd.choice(recs)                     # two records swapped
    if s2 < s:
        s, e, s2, e2 = s2, e2, s, e
    if e > s2:
        return data
    return data[:s] + data[s2:e2] + data[e:s2] + data[s:e] + data[e2:]


def _cut(rnd: random.Random, data: bytes) -> bytes:
    return data[:rnd.randrange(len(data) + 1)]


MUTATIONS: List[Callable[[random.Random, bytes], bytes]] = [_flip, _huge, _records, _cut]


def mutant(seed: int, originals: Dict[str, bytes]) -> Tuple[str, bytes, bool]:
    """(name of the recording, the mutated input, whether it comes through a pipe) of
    ``seed``: one to three mutations. A compressed recording is mutated either as it is
    or, half the time, before compression (damage inside the compressed records)."""
    rnd = random.Random(seed)
    name = rnd.choice(sorted(originals))
    data = originals[name]
    recompress = name.startswith("pipe-z") and rnd.random() < 0.5
    if recompress:
        data = originals["pipe"]
    for _ in range(rnd.choice([1, 1, 1, 2, 3])):
        if data:
            data = rnd.choice(MUTATIONS)(rnd, data)
    if recompress:
        try:
            data = _compress(data, int(name[-2:]), rnd.randrange(1, 5))
        except StopIteration:   # no tracing data left to find: as it is, uncompressed
            pass
    return name, data, rnd.random() < 0.125


class _Pipe(io.RawIOBase):
    """``data`` through a pipe: not seekable, a few hundred bytes per read."""

    def __init__(self, data: bytes) -> None:
        self._src = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        chunk = self._src.read(min(len(b), 300))
        b[:len(chunk)] = chunk
        return len(chunk)


# -- the run -------------------------------------------------------------------------------

REFUSED = "refused: "


def report_of(data: bytes, pipe: bool = False, kind: str = "stdlib") -> Tuple[str, int, bool]:
    """What the command does with the input: read it into a session and make the JSON
    report (the problem and warnings in its notes). Returns the report (REFUSED and the
    line where the command refuses: nothing decodable, or no kscand event), the peak of
    memory allocated while reading (tracemalloc: the reader's part, where the input's sizes
    matter), and whether the reader found damage. ``kind``: the reader (stdlib, or
    columnar: numpy's allocations are traced too)."""
    session = Session(Options(json=True))
    tracemalloc.start()
    try:
        source = io.BufferedReader(_Pipe(data)) if pipe else io.BytesIO(data)
        reader, problem = feed.feed(session, source, kind)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    if problem is not None and problem.fatal:
        return REFUSED + str(problem), peak, True
    damage = ["%s" % w for w in reader.warnings]
    if problem is not None:
        damage.insert(0, str(problem))
    if damage:
        session.note("the recording is damaged: %s" % "; ".join(damage))
    try:
        return session.finish(), peak, bool(damage)
    except CommandError as e:   # nothing to report (no kscand event): one line, no zeros
        return REFUSED + str(e), peak, bool(damage)


def run(seeds: range) -> Dict[str, int]:
    """Feed the mutants of ``seeds``; fail on the first exception or memory overrun,
    naming the seed. Returns how many ended in a report, with damage, and refused."""
    originals = recordings()
    for name, data in originals.items():    # the originals read whole, without warning
        session = Session(Options(json=True))
        reader, problem = feed.feed(session, io.BytesIO(data))
        assert problem is None and reader.warnings == [], (name, problem, reader.warnings)
        assert reader.stats.samples == len(_events()), name
    counts = {"clean": 0, "damaged": 0, "refused": 0}
    for seed in seeds:
        name, data, pipe = mutant(seed, originals)
        try:
            out, peak, damaged = report_of(data, pipe)
        except Exception as e:   # the point: nothing may escape
            raise AssertionError("seed %d (%s, %d bytes): %s: %s"
                                 % (seed, name, len(data), type(e).__name__, e)) from e
        assert peak <= MEMORY_LIMIT, "seed %d (%s): %d bytes allocated" % (seed, name, peak)
        if COLUMNAR:   # the columnar reader: the same report, or the same refusal
            try:
                col, col_peak, col_damaged = report_of(data, pipe, "columnar")
            except Exception as e:
                raise AssertionError("seed %d (%s, columnar): %s: %s"
                                     % (seed, name, type(e).__name__, e)) from e
            assert (col, col_damaged) == (out, damaged), "seed %d (%s): the columnar " \
                "reader disagrees" % (seed, name)
            assert col_peak <= MEMORY_LIMIT, "seed %d (%s, columnar): %d bytes allocated" % (
                seed, name, col_peak)
        if damaged:
            counts["damaged"] += 1
        elif out.startswith(REFUSED):
            counts["refused"] += 1
        else:
            counts["clean"] += 1
        if not out.startswith(REFUSED) and seed % 50 == 0:
            json.loads(out)
    return counts


def test_mutants_are_deterministic() -> None:
    originals = recordings()
    first = [mutant(s, originals) for s in range(20)]
    assert first == [mutant(s, originals) for s in range(20)]
    assert len({mutant(s, originals)[1] for s in range(20)}) > 15


def test_every_mutation_reaches_the_records() -> None:
    """The mutations are not all caught at the header: many inputs are read (in part)."""
    counts = run(range(SEED + 10_000, SEED + 10_200))
    assert counts["damaged"] > 50 and counts["clean"] > 5, counts


def test_the_reader_survives_every_mutant(request: Any) -> None:
    counts = run(range(SEED, SEED + N))
    request.node.user_properties.append(("fuzz", counts))
    assert sum(counts.values()) == N


def test_the_command_on_mutants(tmp_path: Any, capsys: Any) -> None:
    """Through the command itself (kscand-perf report --json -i FILE): a report and at
    most one warning line (exit 1 with it), or one error line and no report."""
    originals = recordings()
    path = os.path.join(str(tmp_path), "m.data")
    for seed in range(SEED + 20_000, SEED + 20_000 + 150):
        _name, data, _pipe = mutant(seed, originals)
        with open(path, "wb") as f:
            f.write(data)
        status = cli.main(["report", "--json", "-i", path])
        out, err = capsys.readouterr()
        assert "Traceback" not in err and err.count("\n") == (1 if status else 0), (seed, err)
        assert status in (0, 1), (seed, status, err)
        if out:
            json.loads(out)
        else:
            assert status == 1 and "error" in err, (seed, err)


def test_a_huge_claimed_size_allocates_nothing_of_it() -> None:
    """Sizes the input claims are checked against what is there before anything is
    allocated: a data section, an attrs table and a tracing data blob of 2**62 bytes."""
    data = bytearray(_write(False))
    for at in (48, 32, 24):        # data size, attrs size, attr size
        bad = bytearray(data)
        struct.pack_into("<Q", bad, at, 1 << 62)
        out, peak, _ = report_of(bytes(bad))
        assert peak <= MEMORY_LIMIT, (at, peak)
    pipe = _write(True)
    at = pipe.index(b"\x17\x08Dtracing") - 8         # the tracing data record's blob size
    bad = bytearray(pipe)
    struct.pack_into("<I", bad, at, (1 << 28) - 8)
    head = next(e for s, e in _walk(pipe, 16, len(pipe)) if b"Dtracing" in pipe[s:e])
    # an AUXTRACE record: 4 GB of trace data said to follow it
    aux = pipe[:head] + struct.pack("<IHHQ", 71, 0, 48, 1 << 32) + bytes(32) + pipe[head:]
    for data in (bytes(bad), aux):
        for through_a_pipe in (False, True):   # read1(n) of a pipe allocates n bytes
            out, peak, _ = report_of(data, through_a_pipe)
            assert out and peak <= MEMORY_LIMIT, (through_a_pipe, peak)


@pytest.mark.skipif(not zstd_available(), reason="no zstd module (python3-zstandard)")
def test_a_zstd_bomb_is_stopped_early() -> None:
    """A compressed record of a few KB that inflates to 256 MB (zeros) stops the reading
    with its byte, after a bounded amount of memory."""
    zstandard = pytest.importorskip("zstandard")
    pipe = _write(True)
    head = next(e for s, e in _walk(pipe, 16, len(pipe)) if b"Dtracing" in pipe[s:e])
    comp = zstandard.ZstdCompressor().compressobj()
    z = b"".join(comp.compress(bytes(1 << 20)) for _ in range(256)) + comp.flush()
    assert len(z) < 60000
    pad = -len(z) % 8
    bomb = struct.pack("<IHHQ", 83, 0, 16 + len(z) + pad, len(z)) + z + bytes(pad)
    out, peak, _ = report_of(pipe[:head] + bomb + pipe[head:])
    assert "inflates to more than" in out and "at byte %d" % head in out
    assert peak <= MEMORY_LIMIT, peak


@pytest.mark.skipif(not zstd_available(), reason="no zstd module (python3-zstandard)")
def test_compressed_recordings_are_in_the_mix() -> None:
    assert {"pipe-z81", "pipe-z83"} <= set(recordings())
