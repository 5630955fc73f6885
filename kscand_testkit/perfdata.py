"""Write perf.data files of trace events, as ``perf record -e SYSTEM:EVENT`` would.

Tests and benchmarks need perf.data files that perf 6.1 reads with ``perf script``,
``perf script -s`` and ``perf script -g python``, without a kernel running kscand.
:class:`PerfDataWriter` turns a time-ordered stream of :class:`~kscand_perf.stream.Emitted`
events into such a file, laid out per the one schema in :mod:`kscand_perf.events`.

What is written (the layout of a real ``perf record -e kmem:... -a`` recording, minus what
perf does not need to read tracepoints back):

File mode (``pipe=False``, needs a seekable output)::

    header        "PERFILE2", header size 104, attr size 144, {attrs}, {data},
                  {event_types: empty}, feature bitmap with HEADER_TRACING_DATA only
    ids           one u64 sample id per event (the event's ID)
    attrs         one perf_file_attr per event: perf_event_attr (128 bytes, type 2 =
                  tracepoint, config = the event's ID) + {offset, size} of its ids
    data          COMM, SAMPLE and FINISHED_ROUND records
    features      {offset, size} of the tracing data, then the tracing data blob

Pipe mode (``pipe=True``, streams; works on stdout)::

    "PERFILE2" + u64 16, one HEADER_ATTR record per event, a HEADER_TRACING_DATA record
    followed by the blob padded to 8 bytes, then the data records.

The event IDs (format ``ID:`` = attr ``config`` = ``common_type`` in the raw data) are
``first_id``, ``first_id + 1``, ... in the order of ``events``; the sample id that perf
uses to find an event's attr is the same number.

Every sample has sample_type IDENTIFIER|IP|TID|TIME|CPU|PERIOD|RAW; the raw data is the
event record of the schema (common fields, then the event's fields at their offsets,
then ``__data_loc`` strings) padded so that ``4 + raw_size`` is a multiple of 8. A COMM
record precedes the first sample of a pid and every sample whose comm differs from the
pid's previous one (an exec), so perf resolves ``common_comm`` to the event's comm.
Task comms and ``char[16]`` fields are cut to 15 bytes, as the kernel's TASK_COMM_LEN
does. Integer values may be any ``int`` (``bool`` included, as 0/1); their range is
checked against the field's C type.
"""

from __future__ import annotations

import os
import re
import struct
import sys
from typing import (IO, Any, BinaryIO, Callable, Dict, Iterable, List, Mapping, NamedTuple,
                    Optional, Sequence, Tuple, Union)

from .formats import ALL_EVENTS, EventDef, Field
from .stream import Emitted

__all__ = ["SchemaError", "PerfDataWriter", "WriterStats", "write_trace",
           "tracing_data", "SAMPLE_TYPE"]


class SchemaError(ValueError):
    """An event that does not fit the schema, or events out of time order."""


# perf_event_header types.
PERF_RECORD_COMM = 3
PERF_RECORD_SAMPLE = 9
PERF_RECORD_HEADER_ATTR = 64
PERF_RECORD_HEADER_TRACING_DATA = 66
PERF_RECORD_FINISHED_ROUND = 68

PERF_RECORD_MISC_KERNEL = 1
PERF_RECORD_MISC_COMM_EXEC = 1 << 13

PERF_TYPE_TRACEPOINT = 2

# sample_type bits.
PERF_SAMPLE_IP = 1 << 0
PERF_SAMPLE_TID = 1 << 1
PERF_SAMPLE_TIME = 1 << 2
PERF_SAMPLE_CPU = 1 << 7
PERF_SAMPLE_PERIOD = 1 << 8
PERF_SAMPLE_RAW = 1 << 10
PERF_SAMPLE_IDENTIFIER = 1 << 16
SAMPLE_TYPE = (PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME
               | PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD | PERF_SAMPLE_RAW)

PERF_FORMAT_ID = 1 << 2

# perf_event_attr flag bits: what perf record sets for a system-wide tracepoint.
_ATTR_DISABLED = 1 << 0
_ATTR_INHERIT = 1 << 1
_ATTR_SAMPLE_ID_ALL = 1 << 18
_ATTR_EXCLUDE_GUEST = 1 << 20
_ATTR_FLAGS = _ATTR_DISABLED | _ATTR_INHERIT | _ATTR_SAMPLE_ID_ALL | _ATTR_EXCLUDE_GUEST

ATTR_SIZE = 128          # PERF_ATTR_SIZE_VER7, what perf 6.1 writes
FILE_ATTR_SIZE = ATTR_SIZE + 16
FILE_HEADER_SIZE = 104
PIPE_HEADER_SIZE = 16
HEADER_TRACING_DATA = 1  # feature bit

_MAGIC = b"PERFILE2"
_TASK_COMM_LEN = 16

# Kernel facts copied into the tracing data: the ring buffer page header and the
# compressed entry header, as /sys/kernel/tracing/events/header_{page,event} print them
# on x86_64. perf parses them but tracepoint decoding does not depend on them.
_HEADER_PAGE = (
    "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
    "\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
    "\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n"
    "\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n")
_HEADER_EVENT = (
    "# compressed entry header\n"
    "\ttype_len    :    5 bits\n"
    "\ttime_delta  :   27 bits\n"
    "\tarray       :   32 bits\n"
    "\n"
    "\tpadding     : type == 29\n"
    "\ttime_extend : type == 30\n"
    "\ttime_stamp : type == 31\n"
    "\tdata max type_len  == 28\n")

# struct format characters for integer fields by (size, signed).
_INT_CODES = {(1, False): "B", (1, True): "b", (2, False): "H", (2, True): "h",
              (4, False): "I", (4, True): "i", (8, False): "Q", (8, True): "q"}

# The sample header up to the raw data: type/misc/size, identifier, ip, pid, tid,
# time, cpu, res, period, raw_size.
#   16s  perf_event_header (type, misc, size) and identifier: one constant string
#   8x   ip (0)
#   II   pid, tid
#   Q    time
#   I4x  cpu, res
#   16s  period (1), raw_size, common_type, common_flags (0), common_preempt_count (0):
#        one constant string
#   i    common_pid
_SAMPLE_HEAD = "<16s8xIIQI4x16si"
_SAMPLE_HEAD_SIZE = struct.calcsize(_SAMPLE_HEAD)   # 64 = 8 + 48 + 4 + 8 (common fields)
_COMMON_SIZE = 8

_FINISHED_ROUND = struct.pack("<IHH", PERF_RECORD_FINISHED_ROUND, 0, 8)

# COMM record: header, pid, tid, comm (NUL-terminated, padded to 8), then the
# sample_id of sample_id_all for our sample_type: pid, tid, time, cpu, res, identifier.
_COMM_ID = struct.Struct("<IIQI4xQ")


# What a malformed event can raise while being encoded; turned into a SchemaError.
_ERRORS = (struct.error, TypeError, ValueError, AttributeError, OverflowError, KeyError)


class WriterStats(NamedTuple):
    """What a writer wrote: samples, COMM records, FINISHED_ROUND records, bytes."""

    samples: int
    comms: int
    rounds: int
    bytes: int


_Encoder = Tuple[Callable[..., bytes], bytes, bytes, Optional[Callable[..., bytes]]]


_CONVERSION = re.compile(r"%(?:%|[-+ #0]*\d*(?:\.\d+)?[hlLzjt]*[a-zA-Z])")


def _conversions(fmt: str) -> int:
    """The number of printf conversions in ``fmt`` ("%%" not counted)."""
    return sum(1 for c in _CONVERSION.findall(fmt) if c != "%%")


def _align8(n: int) -> int:
    return (n + 7) & ~7


def tracing_data(events: Sequence[EventDef], ids: Sequence[int],
                 print_fmts: Optional[Mapping[str, str]] = None) -> bytes:
    """The tracing-data blob (HEADER_TRACING_DATA) describing ``events`` with ``ids``."""
    fmts = print_fmts or {}
    out = [b"\x17\x08Dtracing", b"0.6\0",
           struct.pack("<BBI", 0, 8, 4096)]   # little endian, long size, page size
    for name, text in (("header_page", _HEADER_PAGE), ("header_event", _HEADER_EVENT)):
        raw = text.encode()
        out.append(name.encode() + b"\0" + struct.pack("<Q", len(raw)) + raw)
    out.append(struct.pack("<I", 0))           # ftrace formats
    systems: Dict[str, List[bytes]] = {}
    for ev, eid in zip(events, ids):
        fmt = ev.format_text(eid, fmts.get(ev.name)).encode()
        systems.setdefault(ev.system, []).append(struct.pack("<Q", len(fmt)) + fmt)
    out.append(struct.pack("<I", len(systems)))
    for system, formats in systems.items():
        out.append(system.encode() + b"\0" + struct.pack("<I", len(formats)))
        out.extend(formats)
    out.append(struct.pack("<IIQ", 0, 0, 0))   # kallsyms, printk formats, cmdlines
    return b"".join(out)


def _attr(event_id: int) -> bytes:
    """perf_event_attr of a tracepoint sampled on every hit, as perf record sets it."""
    head = struct.pack("<IIQQQQQ", PERF_TYPE_TRACEPOINT, ATTR_SIZE, event_id, 1,
                       SAMPLE_TYPE, PERF_FORMAT_ID, _ATTR_FLAGS)
    return head + bytes(ATTR_SIZE - len(head))


def _int_range(f: Field) -> Tuple[int, int]:
    bits = f.size * 8
    if f.signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _describe(v: Any) -> str:
    text = repr(v)
    if len(text) > 40:
        text = text[:37] + "..."
    return "%s %s" % (type(v).__name__, text)


class PerfDataWriter:
    """Write :class:`Emitted` events to ``out`` as a perf.data file or pipe stream.

    Use as a context manager or call :meth:`close`; in file mode the header is
    patched at close, so ``out`` must be seekable and start at the file's start.
    """

    def __init__(self, out: BinaryIO, events: Sequence[EventDef] = ALL_EVENTS, *,
                 pipe: bool = False, first_id: int = 1000,
                 print_fmts: Optional[Mapping[str, str]] = None,
                 round_every: int = 4096) -> None:
        events = tuple(events)
        if not events:
            raise SchemaError("no events to write")
        names = [ev.name for ev in events]
        if len(set(names)) != len(names):
            raise SchemaError("duplicate event names in %s" % ", ".join(names))
        if print_fmts:
            # A mapping for all five events (POSTED_V3_PRINT_FMTS) may serve a writer of
            # some of them; a name no schema knows is a mistake.
            known = set(names) | {ev.name for ev in ALL_EVENTS}
            unknown = sorted(set(print_fmts) - known)
            if unknown:
                raise SchemaError("print_fmts names unknown events: %s" % ", ".join(unknown))
            for ev in events:
                fmt = print_fmts.get(ev.name)
                if fmt is not None and _conversions(fmt) != len(ev.print_args):
                    raise SchemaError("%s: print fmt %r has %d conversions for %d print args"
                                      % (ev.name, fmt, _conversions(fmt), len(ev.print_args)))
        if first_id < 1 or first_id + len(events) - 1 > 0xFFFF:
            raise SchemaError("event IDs %d..%d do not fit common_type (unsigned short)"
                              % (first_id, first_id + len(events) - 1))
        if round_every < 1:
            raise ValueError("round_every must be at least 1")
        if not pipe:
            seekable = getattr(out, "seekable", None)
            if seekable is None or not seekable():
                raise ValueError("file mode needs a seekable output; use pipe=True to stream")

        self._out = out
        self._write = out.write
        self.pipe = pipe
        self.events = events
        self.ids = tuple(range(first_id, first_id + len(events)))
        self.round_every = round_every
        self._blob = tracing_data(events, self.ids, print_fmts)

        self._encoders: Dict[str, _Encoder] = {}
        self._defs: Dict[str, EventDef] = {}
        self._id_of: Dict[str, int] = {}
        for ev, eid in zip(events, self.ids):
            self._encoders[ev.name] = self._encoder(ev, eid)
            self._defs[ev.name] = ev
            self._id_of[ev.name] = eid

        self._comms: Dict[int, str] = {}   # pid -> comm of its last sample
        self._chunks: List[bytes] = []     # records of the current round
        self._last_time = 0
        self._samples = 0
        self._comm_records = 0
        self._rounds = 0
        self._next_round = round_every
        self._bytes = 0
        self._closed = False

        if pipe:
            self._emit(self._pipe_header())
            self._data_offset = 0
        else:
            self._base = out.tell()
            head = self._file_prologue()
            self._data_offset = len(head)
            self._emit(head)

    # -- layout ----------------------------------------------------------------------

    def _file_prologue(self) -> bytes:
        """Header (data size still 0), id arrays and attrs: everything before the data."""
        n = len(self.events)
        ids_at = FILE_HEADER_SIZE
        attrs_at = ids_at + 8 * n
        data_at = attrs_at + FILE_ATTR_SIZE * n
        ids = struct.pack("<%dQ" % n, *self.ids)
        attrs = b"".join(_attr(eid) + struct.pack("<QQ", ids_at + 8 * i, 8)
                         for i, eid in enumerate(self.ids))
        return self._file_header(attrs_at, FILE_ATTR_SIZE * n, data_at, 0) + ids + attrs

    @staticmethod
    def _file_header(attrs_at: int, attrs_size: int, data_at: int, data_size: int) -> bytes:
        features = (1 << HEADER_TRACING_DATA).to_bytes(32, "little")
        return (_MAGIC + struct.pack("<QQQQQQQQ", FILE_HEADER_SIZE, FILE_ATTR_SIZE,
                                     attrs_at, attrs_size, data_at, data_size, 0, 0)
                + features)

    def _pipe_header(self) -> bytes:
        out = [_MAGIC + struct.pack("<Q", PIPE_HEADER_SIZE)]
        for eid in self.ids:
            size = 8 + ATTR_SIZE + 8
            out.append(struct.pack("<IHH", PERF_RECORD_HEADER_ATTR, 0, size)
                       + _attr(eid) + struct.pack("<Q", eid))
        padded = _align8(len(self._blob))
        out.append(struct.pack("<IHHII", PERF_RECORD_HEADER_TRACING_DATA, 0, 16, padded, 0))
        out.append(self._blob + bytes(padded - len(self._blob)))
        return b"".join(out)

    @staticmethod
    def _encoder(ev: EventDef, eid: int) -> _Encoder:
        """(pack, head, mid, special) for one event.

        ``pack(head, pid, tid, time, cpu, mid, common_pid, *values)`` gives the whole
        SAMPLE record of an event without strings; ``special``, when set, encodes the
        values of an event with char[] or __data_loc fields itself.
        """
        codes = [_SAMPLE_HEAD]
        offset = _COMMON_SIZE
        has_str = has_dyn = False
        for f in ev.fields:
            if f.offset > offset:
                codes.append("%dx" % (f.offset - offset))
            if f.kind == "int":
                codes.append(_INT_CODES[(f.size, f.signed)])
            elif f.kind == "str":
                codes.append("%ds" % f.size)
                has_str = True
            else:   # __data_loc: u32 (len << 16 | offset)
                codes.append("I")
                has_dyn = True
            offset = f.offset + f.size
        if ev.record_size > offset:
            codes.append("%dx" % (ev.record_size - offset))
        fixed = ev.record_size
        if not has_dyn:
            raw = fixed + (-(4 + fixed) % 8)
            if raw > fixed:
                codes.append("%dx" % (raw - fixed))
        pack = struct.Struct("".join(codes)).pack

        def head_mid(raw_size: int) -> Tuple[bytes, bytes]:
            size = _SAMPLE_HEAD_SIZE - _COMMON_SIZE + raw_size
            if size > 0xFFFF:
                raise SchemaError("%s: record of %d bytes is too large for perf"
                                  % (ev.name, size))
            head = struct.pack("<IHHQ", PERF_RECORD_SAMPLE, PERF_RECORD_MISC_KERNEL, size, eid)
            mid = struct.pack("<QIH2x", 1, raw_size, eid)
            return head, mid

        if not has_dyn:
            head, mid = head_mid(raw)
        else:
            head, mid = b"", b""
        if not (has_str or has_dyn):
            return pack, head, mid, None

        kinds = tuple(f.kind for f in ev.fields)

        def special(t: int, cpu: int, pid: int, values: Sequence[Any]) -> bytes:
            if len(values) != len(kinds):
                raise SchemaError("wrong number of values")   # explained by the caller
            fixed_vals: List[Any] = []
            tail: List[bytes] = []
            dyn_at = fixed
            for kind, v in zip(kinds, values):
                if kind == "int":
                    fixed_vals.append(v)
                elif kind == "str":
                    fixed_vals.append(v.encode("utf-8", "replace")[:_TASK_COMM_LEN - 1])
                else:
                    data = v.encode("utf-8", "replace")
                    if b"\0" in data:
                        raise SchemaError("NUL in string")
                    data += b"\0"
                    if dyn_at + len(data) > 0xFFFF:
                        raise SchemaError("string too long")
                    fixed_vals.append(len(data) << 16 | dyn_at)
                    tail.append(data)
                    dyn_at += len(data)
            if not has_dyn:
                return pack(head, pid, pid, t, cpu, mid, pid, *fixed_vals)
            pad = -(4 + dyn_at) % 8
            h, m = head_mid(dyn_at + pad)
            return b"".join([pack(h, pid, pid, t, cpu, m, pid, *fixed_vals)] + tail
                            + [bytes(pad)])

        return pack, head, mid, special

    # -- records ---------------------------------------------------------------------

    def _emit(self, data: bytes) -> None:
        self._write(data)
        self._bytes += len(data)

    def _comm_record(self, t: int, cpu: int, pid: int, comm: str, event: str) -> bytes:
        name = comm.encode("utf-8", "replace")[:_TASK_COMM_LEN - 1]
        if b"\0" in name:
            raise SchemaError("NUL in comm")
        name += bytes(_align8(len(name) + 1) - len(name))
        size = 8 + 8 + len(name) + _COMM_ID.size
        misc = PERF_RECORD_MISC_COMM_EXEC if pid in self._comms else 0
        return (struct.pack("<IHHII", PERF_RECORD_COMM, misc, size, pid, pid) + name
                + _COMM_ID.pack(pid, pid, t, cpu, self._id_of[event]))

    def _flush_round(self) -> None:
        chunks = self._chunks
        chunks.append(_FINISHED_ROUND)
        self._rounds += 1
        self._emit(b"".join(chunks))
        chunks.clear()
        self._next_round = self._samples + self.round_every

    def add(self, e: Emitted) -> None:
        """Write one event; raise SchemaError (writing nothing) if it does not fit."""
        try:
            t, cpu, pid, comm, event, values = e
            pack, head, mid, special = self._encoders[event]
            if t < self._last_time:
                raise SchemaError("time goes backwards")
            if special is None:
                rec = pack(head, pid, pid, t, cpu, mid, pid, *values)
            else:
                rec = special(t, cpu, pid, values)
            if self._comms.get(pid) != comm:
                self._chunks.append(self._comm_record(t, cpu, pid, comm, event))
                self._comms[pid] = comm
                self._comm_records += 1
        except _ERRORS as exc:
            self._reject(e, exc)
        self._chunks.append(rec)
        self._last_time = t
        self._samples += 1
        if self._samples >= self._next_round:
            self._flush_round()

    def extend(self, events: Iterable[Emitted]) -> None:
        """Write many events; the same as calling :meth:`add` on each, only faster."""
        if self._closed:
            raise ValueError("writer is closed")
        encoders = self._encoders
        comms = self._comms
        comms_get = comms.get
        append = self._chunks.append
        comm_record = self._comm_record
        last = self._last_time
        n = self._samples
        next_round = self._next_round
        try:
            for e in events:
                try:
                    t, cpu, pid, comm, event, values = e
                    pack, head, mid, special = encoders[event]
                    if t < last:
                        raise SchemaError("time goes backwards")
                    if special is None:
                        rec = pack(head, pid, pid, t, cpu, mid, pid, *values)
                    else:
                        rec = special(t, cpu, pid, values)
                    if comms_get(pid) != comm:
                        append(comm_record(t, cpu, pid, comm, event))
                        comms[pid] = comm
                        self._comm_records += 1
                except _ERRORS as exc:
                    self._last_time = last
                    self._samples = n
                    self._reject(e, exc)
                append(rec)
                last = t
                n += 1
                if n >= next_round:
                    self._samples = n
                    self._flush_round()
                    next_round = self._next_round
        finally:
            self._last_time = last
            self._samples = n

    def _reject(self, e: Any, exc: Optional[BaseException] = None) -> None:
        """Raise SchemaError with one line saying what is wrong with ``e``."""
        if self._closed:
            raise ValueError("writer is closed")
        try:
            t, cpu, pid, comm, event, values = e
        except (TypeError, ValueError):
            raise SchemaError("not an Emitted event: %s" % _describe(e)) from None
        ev = self._defs.get(event) if isinstance(event, str) else None
        if ev is None:
            raise SchemaError("unknown event %s (this writer knows %s)"
                              % (_describe(event), ", ".join(self._defs))) from None
        name = ev.name
        if not isinstance(t, int):
            raise SchemaError("%s: time_ns must be an int, got %s" % (name, _describe(t)))
        if not 0 <= t < 1 << 64:
            raise SchemaError("%s: time_ns %d out of range (0..2**64-1)" % (name, t))
        if t < self._last_time:
            raise SchemaError("%s: time goes backwards: %d ns after %d ns (events must be "
                              "in non-decreasing time order)" % (name, t, self._last_time))
        for what, v, hi in (("cpu", cpu, (1 << 32) - 1), ("pid", pid, (1 << 31) - 1)):
            if not isinstance(v, int):
                raise SchemaError("%s: %s must be an int, got %s" % (name, what, _describe(v)))
            if not 0 <= v <= hi:
                raise SchemaError("%s: %s %d out of range (0..%d)" % (name, what, v, hi))
        if not isinstance(comm, str):
            raise SchemaError("%s: comm must be a str, got %s" % (name, _describe(comm)))
        if "\0" in comm:
            raise SchemaError("%s: comm %r contains a NUL" % (name, comm))
        try:
            n = len(values)
        except TypeError:
            raise SchemaError("%s: values must be a tuple, got %s"
                              % (name, _describe(values))) from None
        if n != len(ev.fields):
            given = ("missing %s" % ", ".join(ev.field_names[n:]) if n < len(ev.fields)
                     else "%d extra" % (n - len(ev.fields)))
            raise SchemaError("%s: expected %d values (%s), got %d: %s"
                              % (name, len(ev.fields), ", ".join(ev.field_names), n, given))
        for f, v in zip(ev.fields, values):
            where = "%s.%s (%s)" % (name, f.name, f.ctype)
            if f.kind == "int":
                if not isinstance(v, int):
                    raise SchemaError("%s: expected an int, got %s" % (where, _describe(v)))
                lo, hi = _int_range(f)
                if not lo <= v <= hi:
                    raise SchemaError("%s: value %d out of range (%d..%d)" % (where, v, lo, hi))
            else:
                if not isinstance(v, str):
                    raise SchemaError("%s: expected a str, got %s" % (where, _describe(v)))
                if f.kind == "dynstr" and "\0" in v:
                    raise SchemaError("%s: string contains a NUL" % where)
        detail = str(exc).splitlines()[0] if exc is not None and str(exc) else "invalid"
        raise SchemaError("%s: cannot encode event: %s" % (name, detail))

    # -- end -------------------------------------------------------------------------

    @property
    def events_written(self) -> int:
        """Samples written so far (COMM and FINISHED_ROUND records not counted)."""
        return self._samples

    @property
    def bytes_written(self) -> int:
        """Bytes handed to ``out`` so far; after close, the size of the whole file."""
        return self._bytes

    @property
    def stats(self) -> WriterStats:
        return WriterStats(self._samples, self._comm_records, self._rounds, self._bytes)

    def close(self) -> None:
        """Write the last round and, in file mode, the features and the final header."""
        if self._closed:
            return
        self._closed = True
        self._encoders = {}   # from now on every add() ends in _reject: "writer is closed"
        if self._chunks or self._samples % self.round_every or not self._rounds:
            self._flush_round()
        if not self.pipe:
            data_size = self._bytes - self._data_offset
            feat_at = self._data_offset + data_size
            self._emit(struct.pack("<QQ", feat_at + 16, len(self._blob)) + self._blob)
            n = len(self.events)
            header = self._file_header(FILE_HEADER_SIZE + 8 * n, FILE_ATTR_SIZE * n,
                                       self._data_offset, data_size)
            end = self._out.tell()
            self._out.seek(self._base)
            self._out.write(header)
            self._out.seek(end)
        flush = getattr(self._out, "flush", None)
        if flush is not None:
            flush()

    def __enter__(self) -> "PerfDataWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


PathOrFile = Union[str, "os.PathLike[str]", IO[bytes]]


def write_trace(out: PathOrFile, events: Iterable[Emitted], /, **kw: Any) -> WriterStats:
    """Write ``events`` to ``out`` and return the writer's stats.

    ``out`` is a path, ``"-"`` for stdout (pipe mode, which is then the default), or a
    binary file object. Keyword arguments go to :class:`PerfDataWriter`, including its
    own ``events`` (the schema), hence ``out`` and ``events`` are positional only.
    """
    if isinstance(out, (str, os.PathLike)):
        if os.fspath(out) == "-":
            kw.setdefault("pipe", True)
            writer = PerfDataWriter(sys.stdout.buffer, **kw)
            with writer:
                writer.extend(events)
            return writer.stats
        with open(out, "wb") as f:
            with PerfDataWriter(f, **kw) as writer:
                writer.extend(events)
            return writer.stats
    with PerfDataWriter(out, **kw) as writer:   # type: ignore[arg-type]
        writer.extend(events)
    return writer.stats
