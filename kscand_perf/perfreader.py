"""Read perf.data files and pipe streams of tracepoint samples, without perf.

Standard library only. :class:`PerfReader` reads a recording (file mode, or the pipe
stream of ``perf record -o -``), takes every event's layout from the recording's own
tracing data (offsets, sizes, signedness of the format text) and calls one handler per
tracepoint sample, in the order ``perf script`` delivers them.

A handler is registered per event name (``"kmem:kmem_scan_mm_end"``) with the fields it
wants, and is called as ``handler(time_ns, *values)``. A value is a field of the event's
format (``"mm"``, ``"common_pid"``), or one of the sample's own items: ``"@pid"``,
``"@tid"``, ``"@cpu"`` and ``"@comm"`` (the comm of the sample's thread as perf shows it:
from COMM and FORK records, ``":TID"`` when unknown, ``"swapper"`` for 0). A field the
format does not have is passed as ``None``. Integer fields come out signed when the
format says so; ``char[N]`` and ``__data_loc char[]`` fields as ``str`` (bytes that are
not UTF-8 decoded with replacement).

Order (perf's ordered-events queue, tools/perf/util/ordered-events.c): every record
with a timestamp other than 0 and ~0 is queued; at each FINISHED_ROUND the queue
delivers, in timestamp order (ties in the order they were read), the events whose
timestamp is at most the largest timestamp that was queued at the *previous* round,
then remembers the largest timestamp queued now; at the end everything left goes. A
record without a timestamp is delivered when it is read. COMM and FORK records take
part in the same order, so a sample sees the comm its thread had at that time.

Damage: reading never raises on bad data. It stops at the first record it cannot trust
and :attr:`PerfReader.problem` says at which byte and why; everything delivered before
stays delivered. Sizes are checked against what is there before anything is allocated.
"""

from __future__ import annotations

import bisect
import dataclasses
import gc
import importlib
import os
import re
import shutil
import struct
import tempfile
from typing import (Any, BinaryIO, Callable, Dict, Iterator, List, Mapping, Optional,
                    Sequence, Tuple)

__all__ = ["PerfReader", "FieldFormat", "EventFormat", "Attr", "RunInfo", "ReadStats",
           "Problem", "Handler", "parse_format", "parse_tracing_data", "read_run_info",
           "zstd_available"]

# perf_event_header types (include/uapi/linux/perf_event.h, tools/perf/util/event.h)
REC_LOST = 2
REC_COMM = 3
REC_EXIT = 4
REC_FORK = 7
REC_SAMPLE = 9
REC_LOST_SAMPLES = 13
REC_HEADER_ATTR = 64
REC_HEADER_EVENT_TYPE = 65
REC_HEADER_TRACING_DATA = 66
REC_HEADER_BUILD_ID = 67
REC_FINISHED_ROUND = 68
REC_AUXTRACE = 71
REC_HEADER_FEATURE = 80
REC_COMPRESSED = 81
REC_FINISHED_INIT = 82
_REC_USER_MAX = 100   # above what any perf writes: a damaged header

# sample_type bits
S_IP = 1 << 0
S_TID = 1 << 1
S_TIME = 1 << 2
S_ADDR = 1 << 3
S_READ = 1 << 4
S_CALLCHAIN = 1 << 5
S_ID = 1 << 6
S_CPU = 1 << 7
S_PERIOD = 1 << 8
S_STREAM_ID = 1 << 9
S_RAW = 1 << 10
S_IDENTIFIER = 1 << 16

# read_format bits
R_TOTAL_TIME_ENABLED = 1 << 0
R_TOTAL_TIME_RUNNING = 1 << 1
R_ID = 1 << 2
R_GROUP = 1 << 3
R_LOST = 1 << 4

ATTR_SAMPLE_ID_ALL = 1 << 18
TYPE_TRACEPOINT = 2

# feature bits (tools/perf/util/header.h)
F_TRACING_DATA = 1
F_HOSTNAME = 3
F_OSRELEASE = 4
F_VERSION = 5
F_ARCH = 6
F_NRCPUS = 7
F_CMDLINE = 11
F_EVENT_DESC = 12
F_CLOCK_DATA = 29

NO_TIME = (1 << 64) - 1
FILE_HEADER_SIZE = 104
PIPE_HEADER_SIZE = 16
BLOCK = 1 << 22                 # bytes read at a time
MAX_TRACING_DATA = 1 << 28      # larger than any real one; a bigger size is damage
MAX_FEATURE = 1 << 24
MAX_ATTRS = 1 << 16

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_HEAD = struct.Struct("<I2xHQ")        # type, size, and the next u64 (a sample's identifier)
_PAD = bytes(16)                       # appended to every buffer so _HEAD never reads past it
_INT_CODES = {(1, False): "B", (1, True): "b", (2, False): "H", (2, True): "h",
              (4, False): "I", (4, True): "i", (8, False): "Q", (8, True): "q"}

Handler = Callable[..., Any]


class _HandlerError(Exception):
    """A handler raised and there is no on_error: carried out of the reader as is."""

    def __init__(self, inner: Exception) -> None:
        super().__init__(str(inner))
        self.inner = inner


class _Damage(Exception):
    """Raised inside the reader where data cannot be trusted; becomes a Problem."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Problem:
    """Why reading stopped (or what could not be used), and at which byte of the input."""

    offset: int
    reason: str

    def __str__(self) -> str:
        return "at byte %d: %s" % (self.offset, self.reason)


# -- event formats --------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class FieldFormat:
    """One field of an event's format. ``kind``: "int", "str" (char[N]), "dynstr"
    (__data_loc char[]), "relstr" (__rel_loc char[]), "array" (other arrays: bytes)."""

    name: str
    type: str
    offset: int
    size: int
    signed: bool
    kind: str


@dataclasses.dataclass(frozen=True)
class EventFormat:
    system: str
    name: str
    id: int
    fields: Tuple[FieldFormat, ...]   # the common_* fields first, as in the format text

    @property
    def full_name(self) -> str:
        return "%s:%s" % (self.system, self.name)

    def field(self, name: str) -> Optional[FieldFormat]:
        for f in self.fields:
            if f.name == name:
                return f
        return None


_FIELD_RE = re.compile(r"field:([^;]*);\s*offset:(\d+);\s*size:(\d+);(?:\s*signed:(\d+);)?")
_ID_RE = re.compile(r"^ID:\s*(\d+)\s*$", re.M)
_NAME_RE = re.compile(r"^name:\s*(\S+)\s*$", re.M)


def _field(decl: str, offset: int, size: int, signed: bool) -> Optional[FieldFormat]:
    decl = decl.strip()
    tokens = decl.split()
    if not tokens:
        return None
    last = tokens[-1]
    name = last.split("[", 1)[0]
    if not name:
        return None
    ctype = decl[: len(decl) - len(last)].strip()
    if decl.startswith("__data_loc"):
        kind = "dynstr" if "char" in ctype else "array"
    elif decl.startswith("__rel_loc"):
        kind = "relstr" if "char" in ctype else "array"
    elif "[" in last:
        kind = "str" if "char" in ctype else "array"
    elif size in (1, 2, 4, 8):
        kind = "int"
    else:
        kind = "array"
    return FieldFormat(name, ctype, offset, size, signed, kind)


def parse_format(system: str, text: str) -> Optional[EventFormat]:
    """An event's format from the text of its tracefs ``format`` file (None if unusable)."""
    m_id = _ID_RE.search(text)
    m_name = _NAME_RE.search(text)
    if m_id is None or m_name is None:
        return None
    fields = []
    for m in _FIELD_RE.finditer(text):
        f = _field(m.group(1), int(m.group(2)), int(m.group(3)), m.group(4) == "1")
        if f is not None:
            fields.append(f)
    return EventFormat(system, m_name.group(1), int(m_id.group(1)), tuple(fields))


class _Cursor:
    """Bounded reads over a bytes object; running out raises _Damage."""

    def __init__(self, data: bytes, base: int = 0) -> None:
        self.data = data
        self.pos = 0
        self.base = base

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise _Damage(self.base + self.pos, "needs %d bytes, %d left"
                          % (n, len(self.data) - self.pos))
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u32(self) -> int:
        return int(_U32.unpack(self.take(4))[0])

    def u64(self) -> int:
        return int(_U64.unpack(self.take(8))[0])

    def cstr(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise _Damage(self.base + self.pos, "string without its NUL")
        out = self.data[self.pos:end]
        self.pos = end + 1
        return out.decode("utf-8", "replace")

    def perf_string(self) -> str:
        """perf's header string: u32 length (padded) and the NUL-terminated text."""
        raw = self.take(self.u32())
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def parse_tracing_data(blob: bytes, base: int = 0
                       ) -> Tuple[Dict[int, EventFormat], Optional[Problem]]:
    """The event formats in a HEADER_TRACING_DATA blob, by event ID, and the problem
    that stopped parsing, if any (the formats read before it are kept)."""
    formats: Dict[int, EventFormat] = {}
    c = _Cursor(blob, base)
    try:
        if c.take(10) != b"\x17\x08Dtracing":
            return formats, Problem(base, "the tracing data has no 'tracing' signature")
        c.cstr()                      # version
        if c.u8() != 0:
            return formats, Problem(base + c.pos, "big-endian tracing data is not supported")
        c.u8()                        # long size
        c.u32()                       # page size
        for _ in range(2):            # header_page, header_event
            c.cstr()
            c.take(c.u64())
        for _ in range(c.u32()):      # ftrace formats
            c.take(c.u64())
        for _ in range(c.u32()):
            system = c.cstr()
            for _ in range(c.u32()):
                text = c.take(c.u64()).decode("utf-8", "replace")
                fmt = parse_format(system, text)
                if fmt is not None:
                    formats[fmt.id] = fmt
        # kallsyms, printk formats and saved cmdlines follow: not needed
    except _Damage as e:
        return formats, Problem(e.offset, "tracing data: %s" % e.reason)
    return formats, None


# -- attributes and run metadata ----------------------------------------------------------

@dataclasses.dataclass
class Attr:
    """One perf_event_attr of the recording and the sample ids that name it."""

    type: int
    config: int
    sample_type: int
    read_format: int
    flags: int
    ids: List[int]
    name: str = ""

    @property
    def sample_id_all(self) -> bool:
        return bool(self.flags & ATTR_SAMPLE_ID_ALL)


def _attr_from(data: bytes, ids: List[int]) -> Attr:
    typ, _size, config, _period, sample_type, read_format, flags = struct.unpack_from(
        "<IIQQQQQ", data, 0)
    return Attr(typ, config, sample_type, read_format, flags, ids)


@dataclasses.dataclass
class RunInfo:
    """What the recording says about where it was made (file-mode features, or pipe-mode
    HEADER_FEATURE records): whatever it holds."""

    hostname: Optional[str] = None
    osrelease: Optional[str] = None
    perf_version: Optional[str] = None
    arch: Optional[str] = None
    nrcpus_online: Optional[int] = None
    nrcpus_available: Optional[int] = None
    cmdline: Optional[List[str]] = None
    # HEADER_CLOCK_DATA (perf record -k): wall-clock ns at the recording's reference time
    clock_tod_ns: Optional[int] = None


@dataclasses.dataclass
class ReadStats:
    samples: int = 0            # sample records delivered (to a handler or unhandled)
    delivered: int = 0          # handler calls made
    lost: int = 0               # events lost, summed over LOST records
    lost_records: int = 0
    lost_samples: int = 0       # samples lost, summed over LOST_SAMPLES records
    unknown_ids: int = 0        # samples whose id names no attr (perf skips them too)
    unordered: int = 0          # events queued after a flush had passed their time
    rounds: int = 0
    compressed: int = 0         # COMPRESSED records decoded
    bytes: int = 0              # bytes of input consumed


# -- sample layout ----------------------------------------------------------------------

def _read_size(read_format: int) -> Optional[int]:
    """Bytes of a sample's READ item, None when it varies (group reads)."""
    if read_format & R_GROUP:
        return None
    n = 1 + sum(1 for b in (R_TOTAL_TIME_ENABLED, R_TOTAL_TIME_RUNNING, R_ID, R_LOST)
                if read_format & b)
    return 8 * n


class _Layout:
    """Where a sample's items are for one attr: fixed offsets up to the first item of
    variable size (a group READ, a CALLCHAIN), from where they are computed per sample."""

    def __init__(self, attr: Attr) -> None:
        st = attr.sample_type
        self.sample_type = st
        self.read_format = attr.read_format
        self.off: Dict[str, int] = {}
        pos = 8
        for bit, name in ((S_IDENTIFIER, "identifier"), (S_IP, "ip"), (S_TID, "tid"),
                          (S_TIME, "time"), (S_ADDR, "addr"), (S_ID, "id"),
                          (S_STREAM_ID, "stream_id"), (S_CPU, "cpu"), (S_PERIOD, "period")):
            if st & bit:
                self.off[name] = pos
                pos += 8
        self.after_fixed = pos
        self.read_fixed = _read_size(attr.read_format)
        self.variable = bool(st & S_CALLCHAIN) or (bool(st & S_READ) and self.read_fixed is None)
        self.raw: Optional[int] = None   # offset of the RAW size field when fixed
        if not self.variable and st & S_RAW:
            self.raw = pos + ((self.read_fixed or 0) if st & S_READ else 0)
        # sample_id_all trailer of other records: TID TIME ID STREAM_ID CPU IDENTIFIER
        self.trailer = 8 * sum(1 for b in (S_TID, S_TIME, S_ID, S_STREAM_ID, S_CPU,
                                           S_IDENTIFIER) if st & b)
        self.trailer_tid = 0 if st & S_TID else None
        self.trailer_time = (8 if st & S_TID else 0) if st & S_TIME else None

    def raw_at(self, buf: bytes, pos: int, size: int) -> Tuple[int, int]:
        """(offset of the raw data from pos, its size), checked against the record."""
        st = self.sample_type
        if not st & S_RAW:
            return size, 0
        if self.raw is not None:
            at = self.raw
        else:
            at = self.after_fixed
            if st & S_READ:
                if self.read_fixed is not None:
                    at += self.read_fixed
                else:
                    if at + 8 > size:
                        raise _Damage(pos, "sample too short for its read values")
                    nr = _U64.unpack_from(buf, pos + at)[0]
                    rf = self.read_format
                    per = 8 * (1 + bool(rf & R_ID) + bool(rf & R_LOST))
                    at += 8 + 8 * (bool(rf & R_TOTAL_TIME_ENABLED)
                                   + bool(rf & R_TOTAL_TIME_RUNNING))
                    if nr > size:
                        raise _Damage(pos, "sample with %d read values" % nr)
                    at += per * nr
            if st & S_CALLCHAIN:
                if at + 8 > size:
                    raise _Damage(pos, "sample too short for its callchain")
                nr = _U64.unpack_from(buf, pos + at)[0]
                if nr > size:
                    raise _Damage(pos, "sample with a callchain of %d entries" % nr)
                at += 8 + 8 * nr
        if at + 4 > size:
            raise _Damage(pos, "sample too short for its raw data")
        raw_size = _U32.unpack_from(buf, pos + at)[0]
        if at + 4 + raw_size > size:
            raise _Damage(pos, "raw data of %d bytes in a record of %d" % (raw_size, size))
        return at + 4, raw_size


def _field_value(buf: bytes, raw: int, raw_size: int, f: FieldFormat) -> Any:
    """A field of the raw data at ``raw`` (absolute offset) as perf hands it over."""
    end = raw + raw_size
    at = raw + f.offset
    if f.kind == "int":
        if f.offset + f.size > raw_size:
            return None
        return int.from_bytes(buf[at:at + f.size], "little", signed=f.signed)
    if f.kind in ("str", "array"):
        data = buf[at:min(at + f.size, end)]
    else:
        if f.offset + 4 > raw_size:
            return None
        loc = _U32.unpack_from(buf, at)[0]
        start = raw + (loc & 0xFFFF)
        if f.kind == "relstr":
            start += f.offset + f.size
        data = buf[start:min(start + (loc >> 16), end)]
    if f.kind == "array":
        return bytes(data)
    return bytes(data).split(b"\0", 1)[0].decode("utf-8", "replace")


# -- the reader -----------------------------------------------------------------------------

def _time_of(item: Tuple[Handler, Tuple[Any, ...]]) -> int:
    t: int = item[1][0]
    return t


def zstd_available() -> bool:
    return _zstd_factory() is not None


def _zstd_factory() -> Optional[Callable[[], Any]]:
    """A maker of streaming zstd decompressors: Python 3.14's compression.zstd, or the
    zstandard package (Debian's python3-zstandard); None when neither imports."""
    try:
        stdzstd: Any = importlib.import_module("compression.zstd")
        factory: Callable[[], Any] = stdzstd.ZstdDecompressor
        return factory
    except ImportError:
        pass
    try:
        zstandard: Any = importlib.import_module("zstandard")
    except ImportError:
        return None
    return lambda: zstandard.ZstdDecompressor().decompressobj()


class PerfReader:
    """Read one recording from ``source`` (a binary file object: a perf.data file, or a
    pipe stream, which is recognised by its header) and call the handlers.

    ``handlers`` maps ``"system:event"`` to ``(handler, fields)``; ``unhandled(name)``
    is called for every other tracepoint sample (as ``"system:event"``), and
    ``non_tracepoint(name)`` for samples of other events (cpu-clock, cycles...: by their
    name; without it they go to ``unhandled``); ``on_error(name, exc)`` when a handler
    raises (without it, the exception propagates). Call :meth:`read` once.
    """

    def __init__(self, source: BinaryIO,
                 handlers: Mapping[str, Tuple[Handler, Sequence[str]]],
                 unhandled: Optional[Callable[[str], None]] = None,
                 on_error: Optional[Callable[[str, Exception], None]] = None,
                 non_tracepoint: Optional[Callable[[str], None]] = None,
                 clock: Optional[Callable[[int], None]] = None) -> None:
        self._src = source
        self._handlers = dict(handlers)
        self._unhandled_cb = unhandled
        self._non_tracepoint_cb = non_tracepoint or unhandled
        self._on_error = on_error
        self._clock = clock  # the time of each event handed to unhandled/non_tracepoint
        self.pipe = False
        self.attrs: List[Attr] = []
        self.formats: Dict[int, EventFormat] = {}
        self.info = RunInfo()
        self.stats = ReadStats()
        self.problem: Optional[Problem] = None
        self.warnings: List[Problem] = []     # damage that did not stop the reading
        self._by_id: Dict[int, Attr] = {}
        self._layouts: Dict[int, _Layout] = {}   # id(attr) -> layout
        self._names: Dict[int, str] = {}         # sample id -> name (EVENT_DESC)
        self._decs: Dict[int, Tuple[int, Callable[[Any, int], Tuple[Any, ...]], Handler]] = {}
        # first 16 bytes of a sample record -> (its size, decode, handler): the hot path
        self._hot: Dict[bytes, Tuple[int, Callable[[Any, int], Tuple[Any, ...]], Handler]] = {}
        self._fn_names: Dict[Any, str] = {}
        self._comms: Dict[int, str] = {0: "swapper"}   # tid -> comm (perf's idle thread)
        # one str per distinct comm: a busy machine has millions of tasks and few names
        self._comm_names: Dict[str, str] = {}
        self._pids: Dict[int, int] = {0: 0}            # tid -> pid
        self._items: List[Tuple[Handler, Tuple[Any, ...]]] = []   # read this round
        self._queue: List[Tuple[Handler, Tuple[Any, ...]]] = []   # waiting for a flush
        self._unsorted = False
        self._last = 0
        self._next_flush = 0
        self._last_flush = 0
        self._internal = 0      # COMM and FORK records queued (not samples)
        self._zstd: Optional[Callable[[], Any]] = None
        self._zstd_obj: Any = None
        self._decomp_left = b""

    # -- public -----------------------------------------------------------------------

    def read(self) -> Optional[Problem]:
        """Read everything; return the problem that stopped reading early, or None.

        The garbage collector is paused meanwhile: the hot path makes short-lived tuples
        by the million and no reference cycles, and the collector's passes over them
        would cost as much as the decoding itself."""
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._read_all()
        finally:
            if was_enabled:
                gc.enable()

    def _read_all(self) -> Optional[Problem]:
        try:
            self._read()
        except _HandlerError as e:
            raise e.inner from None
        except _Damage as e:
            self.problem = Problem(e.offset, e.reason)
        except OSError as e:
            self.problem = Problem(self.stats.bytes, "read error: %s" % (e.strerror or e))
        except MemoryError:
            self.problem = Problem(self.stats.bytes, "out of memory")
        except (struct.error, ValueError, OverflowError, IndexError) as e:
            # a size or offset no check above caught: still one line, not a traceback
            self.problem = Problem(self.stats.bytes, "undecodable input: %s" % e)
        try:
            # what is queued was read intact: deliver it, as perf's final flush does
            self._round_end(final=True)
        except _HandlerError as e:
            raise e.inner from None
        finally:
            self.stats.samples = self.stats.delivered - self._internal
        return self.problem

    def event_name(self, attr: Attr) -> str:
        if attr.type == TYPE_TRACEPOINT:
            fmt = self.formats.get(attr.config)
            if fmt is not None:
                return fmt.full_name
            return attr.name or "tracepoint:%d" % attr.config
        return attr.name or "event type %d config %#x" % (attr.type, attr.config)

    # -- reading ----------------------------------------------------------------------

    def _read(self) -> None:
        head = self._src.read(FILE_HEADER_SIZE)
        if len(head) < PIPE_HEADER_SIZE:
            raise _Damage(len(head), "too short for a perf.data header (%d bytes)" % len(head))
        if head[:8] != b"PERFILE2":
            if head[:8] == b"2ELIFREP":
                raise _Damage(0, "a big-endian recording: not supported")
            raise _Damage(0, "not a perf.data file (no PERFILE2 magic)")
        hsize = _U64.unpack_from(head, 8)[0]
        if hsize == PIPE_HEADER_SIZE:
            self.pipe = True
            self._stream(head[PIPE_HEADER_SIZE:], PIPE_HEADER_SIZE, None)
            return
        if hsize != FILE_HEADER_SIZE or len(head) < FILE_HEADER_SIZE:
            raise _Damage(8, "header size %d (perf writes %d or %d)"
                          % (hsize, FILE_HEADER_SIZE, PIPE_HEADER_SIZE))
        self._file(head)

    def _file(self, head: bytes) -> None:
        src = self._src
        try:
            seekable = src.seekable()
        except (OSError, AttributeError, ValueError):
            seekable = False
        if not seekable:
            # a perf.data file on a pipe (cat perf.data | ...): its formats come after its
            # data, so it is copied to a temporary file first (disk, not memory)
            spool = tempfile.TemporaryFile()
            spool.write(head)
            shutil.copyfileobj(src, spool, BLOCK)
            self._src = src = spool   # type: ignore[assignment]
        here = src.tell()
        size = src.seek(0, os.SEEK_END)
        src.seek(here)
        (attr_size, attrs_off, attrs_size, data_off, data_size, _et_off, _et_size
         ) = struct.unpack_from("<7Q", head, 16)
        features = int.from_bytes(head[72:104], "little")
        if attr_size < 80 or attrs_size % attr_size or attrs_size // attr_size > MAX_ATTRS:
            raise _Damage(16, "attr size %d and attrs size %d do not fit"
                          % (attr_size, attrs_size))
        if attrs_off + attrs_size > size:
            raise _Damage(size, "the file ends before its attrs (%d bytes at %d)"
                          % (attrs_size, attrs_off))
        src.seek(attrs_off)
        blob = src.read(attrs_size)
        for i in range(attrs_size // attr_size):
            at = i * attr_size
            own = _U32.unpack_from(blob, at + 4)[0] or 64
            if own < 64 or own + 16 > attr_size:
                raise _Damage(attrs_off + at, "attr of %d bytes in a slot of %d"
                              % (own, attr_size))
            ids_off, ids_size = struct.unpack_from("<QQ", blob, at + own)
            if ids_size % 8 or ids_off + ids_size > size or ids_size > 8 * MAX_ATTRS * 1024:
                raise _Damage(attrs_off + at + own, "attr ids (%d bytes at %d) outside the file"
                              % (ids_size, ids_off))
            src.seek(ids_off)
            raw_ids = src.read(ids_size)
            ids = list(struct.unpack("<%dQ" % (ids_size // 8), raw_ids))
            self._add_attr(_attr_from(blob[at:at + own], ids))
        # features: {offset, size} per set bit, after the data section
        feat_at = data_off + data_size
        nfeat = bin(features).count("1")
        table: List[Tuple[int, int, int]] = []
        if nfeat:
            raw = b""
            if feat_at < size:
                src.seek(feat_at)
                raw = src.read(16 * nfeat)
            if len(raw) < 16 * nfeat:
                self.warnings.append(Problem(min(size, feat_at), "the file ends before its "
                                             "feature sections: no event formats"))
            else:
                bits = [b for b in range(256) if features >> b & 1]
                for i, bit in enumerate(bits):
                    off, fsize = struct.unpack_from("<QQ", raw, 16 * i)
                    table.append((bit, off, fsize))
        for bit, off, fsize in table:
            if off + fsize > size:  # any section, read or not: the file was cut
                self.warnings.append(Problem(off, "feature %d: %d bytes at %d outside the "
                                             "file" % (bit, fsize, off)))
                continue
            if bit not in (F_TRACING_DATA, F_HOSTNAME, F_OSRELEASE, F_VERSION, F_ARCH,
                           F_NRCPUS, F_CMDLINE, F_EVENT_DESC):
                continue
            limit = MAX_TRACING_DATA if bit == F_TRACING_DATA else MAX_FEATURE
            if fsize > limit:
                self.warnings.append(Problem(off, "feature %d: %d bytes, more than the %d "
                                             "this reader takes" % (bit, fsize, limit)))
                continue
            src.seek(off)
            self._feature(bit, src.read(fsize), off)
        self._rebuild()
        # the data section
        if data_off > size or data_size > 1 << 62:
            raise _Damage(size, "the file ends before its data section (at %d)" % data_off)
        src.seek(data_off)
        end = data_off + data_size
        if data_size == 0 and size > data_off:
            self.warnings.append(Problem(data_off, "the header says the data section is empty "
                                         "(an interrupted perf record?)"))
        self._stream(b"", data_off, data_size)
        if end > size:
            raise _Damage(size, "the file ends %d bytes into its data section of %d"
                          % (size - data_off, data_size))

    def _feature(self, bit: int, data: bytes, at: int) -> None:
        c = _Cursor(data, at)
        info = self.info
        try:
            if bit == F_TRACING_DATA:
                formats, problem = parse_tracing_data(data, at)
                self.formats.update(formats)
                if problem is not None:
                    self.warnings.append(problem)
            elif bit == F_HOSTNAME:
                info.hostname = c.perf_string()
            elif bit == F_OSRELEASE:
                info.osrelease = c.perf_string()
            elif bit == F_VERSION:
                info.perf_version = c.perf_string()
            elif bit == F_ARCH:
                info.arch = c.perf_string()
            elif bit == F_NRCPUS:
                info.nrcpus_available = c.u32()
                info.nrcpus_online = c.u32()
            elif bit == F_CMDLINE:
                n = c.u32()
                args: List[str] = []
                for _ in range(min(n, len(data))):
                    args.append(c.perf_string())
                info.cmdline = args
            elif bit == F_CLOCK_DATA:
                c.u32()  # version
                c.u32()  # clockid
                info.clock_tod_ns = c.u64()
            elif bit == F_EVENT_DESC:
                n, attr_size = c.u32(), c.u32()
                for _ in range(min(n, len(data))):
                    c.take(attr_size)
                    nr_ids = c.u32()
                    name = c.perf_string()
                    for _ in range(min(nr_ids, len(data))):
                        self._names[c.u64()] = name
        except _Damage as e:
            self.warnings.append(Problem(e.offset, "feature %d: %s" % (bit, e.reason)))

    def _add_attr(self, attr: Attr) -> None:
        self.attrs.append(attr)
        self._layouts[id(attr)] = _Layout(attr)
        for i in attr.ids:
            self._by_id[i] = attr

    # -- decoders -------------------------------------------------------------------------

    def _rebuild(self) -> None:
        """(Re)make the sample decoders, after attrs or formats arrived."""
        for attr in self.attrs:
            if not attr.name:
                for i in attr.ids:
                    if i in self._names:
                        attr.name = self._names[i]
                        break
        self._decs.clear()
        self._hot.clear()
        if not self.attrs or not all(a.sample_type & S_IDENTIFIER for a in self.attrs):
            return      # samples find their attr the slow way (_sample_slow)
        for attr in self.attrs:
            dec = self._decoder(attr)
            for i in attr.ids:
                self._decs[i] = dec

    def _decoder(self, attr: Attr) -> Tuple[int, Callable[[Any, int], Tuple[Any, ...]], Handler]:
        """(minimum record size, decode(buf, pos) -> (time, *values), handler)."""
        lay = self._layouts[id(attr)]
        name = self.event_name(attr)
        fmt = self.formats.get(attr.config) if attr.type == TYPE_TRACEPOINT else None
        entry = self._handlers.get(name) if fmt is not None else None
        t_off = lay.off.get("time")
        if entry is None:
            cb = (self._unhandled_cb if attr.type == TYPE_TRACEPOINT
                  else self._non_tracepoint_cb)

            clock = self._clock

            def unhandled(t: int) -> None:
                if cb is not None:
                    cb(name)
                if clock is not None and t != NO_TIME:
                    clock(t)
            self._fn_names[unhandled] = name
            dec_time: Callable[[Any, int], Tuple[Any, ...]]
            if t_off is not None:
                dec_time = struct.Struct("<%dxQ" % t_off).unpack_from
                return t_off + 8, dec_time, unhandled
            return 8, lambda buf, pos: (NO_TIME,), unhandled
        assert fmt is not None
        fn, spec = entry
        fields = [fmt.field(n) if not n.startswith("@") else None for n in spec]
        self._fn_names[fn] = name
        fast = self._fast_decoder(lay, spec, fields)
        if fast is not None:
            return fast[0], fast[1], fn
        return self._slow_decoder(lay, spec, fields, fn, name)

    @staticmethod
    def _fast_decoder(lay: _Layout, spec: Sequence[str], fields: Sequence[Optional[FieldFormat]]
                      ) -> Optional[Tuple[int, Callable[[Any, int], Tuple[Any, ...]]]]:
        """One struct that reads the time and every value, when they are integers at fixed
        offsets in increasing order (the usual case: one unpack per sample)."""
        t_off = lay.off.get("time")
        if t_off is None or lay.raw is None:
            return None
        items: List[Tuple[int, int, str]] = [(t_off, 8, "Q")]
        raw = lay.raw + 4
        for n, f in zip(spec, fields):
            if n == "@pid" and "tid" in lay.off:
                items.append((lay.off["tid"], 4, "i"))
            elif n == "@tid" and "tid" in lay.off:
                items.append((lay.off["tid"] + 4, 4, "i"))
            elif n == "@cpu" and "cpu" in lay.off:
                items.append((lay.off["cpu"], 4, "I"))
            elif f is not None and f.kind == "int":
                items.append((raw + f.offset, f.size, _INT_CODES[(f.size, f.signed)]))
            else:
                return None
        codes = ["<"]
        at = 0
        for off, size, code in items:
            if off < at:
                return None
            if off > at:
                codes.append("%dx" % (off - at))
            codes.append(code)
            at = off + size
        return at, struct.Struct("".join(codes)).unpack_from

    def _slow_decoder(self, lay: _Layout, spec: Sequence[str],
                      fields: Sequence[Optional[FieldFormat]], fn: Handler, name: str
                      ) -> Tuple[int, Callable[[Any, int], Tuple[Any, ...]], Handler]:
        """Field by field: strings, missing fields, callchains, comms."""
        t_off = lay.off.get("time")
        tid_off = lay.off.get("tid")
        cpu_off = lay.off.get("cpu")
        comm_at = [i for i, n in enumerate(spec) if n == "@comm"]

        def decode(buf: Any, pos: int) -> Tuple[Any, ...]:
            size = _U16.unpack_from(buf, pos + 6)[0]
            raw, raw_size = lay.raw_at(buf, pos, size)
            t = _U64.unpack_from(buf, pos + t_off)[0] if t_off is not None else NO_TIME
            pid = tid = -1
            if tid_off is not None:
                pid, tid = struct.unpack_from("<ii", buf, pos + tid_off)
            out: List[Any] = [t]
            for n, f in zip(spec, fields):
                if n == "@pid":
                    out.append(pid)
                elif n in ("@tid", "@comm"):
                    out.append(tid)           # the comm is looked up at delivery
                elif n == "@cpu":
                    out.append(_U32.unpack_from(buf, pos + cpu_off)[0]
                               if cpu_off is not None else -1)
                elif f is None:
                    out.append(None)
                else:
                    out.append(_field_value(buf, pos + raw, raw_size, f))
            return tuple(out)

        call = fn
        if comm_at:
            comms = self._comms

            def call(t: int, *values: Any) -> Any:
                v = list(values)
                for i in comm_at:
                    tid = v[i]
                    c = comms.get(tid)
                    v[i] = c if c is not None else ":%d" % tid
                return fn(t, *v)
            self._fn_names[call] = name
        min_size = max(lay.off.values(), default=0) + 8
        return min_size, decode, call

    def _sample_slow(self, buf: Any, pos: int, size: int
                     ) -> Optional[Tuple[int, Callable[[Any, int], Tuple[Any, ...]], Handler]]:
        """The decoder of a sample whose id is not in the table: recordings without
        IDENTIFIER (found by ID or, with one attr, that attr), or an unknown id."""
        if not self.attrs:
            raise _Damage(pos, "a sample before any attr")
        first = self.attrs[0]
        attr: Optional[Attr] = None
        if first.sample_type & S_IDENTIFIER:
            attr = self._by_id.get(_U64.unpack_from(buf, pos + 8)[0])
        elif len(self.attrs) == 1:
            attr = first
        elif first.sample_type & S_ID:
            off = _Layout(first).off["id"]
            if off + 8 <= size:
                attr = self._by_id.get(_U64.unpack_from(buf, pos + off)[0])
        if attr is None:
            self.stats.unknown_ids += 1
            return None
        key = -1 - id(attr)
        dec = self._decs.get(key)
        if dec is None:
            dec = self._decs[key] = self._decoder(attr)
        return dec

    # -- the data stream ----------------------------------------------------------------------

    def _stream(self, pending: bytes, offset: int, length: Optional[int]) -> None:
        """Read records from the source: ``pending`` bytes already read, at input
        ``offset``; ``length`` bytes in all (None: to the end of the stream)."""
        src = self._src
        # read1: what the pipe holds now, not a whole block (a live view through a pipe
        # must see each round when perf record writes it)
        read = getattr(src, "read1", None) or src.read
        buf = pending
        left = None if length is None else max(length - len(pending), 0)
        if length is not None and len(buf) > length:
            buf = buf[:length]
        base = offset          # input offset of buf[0]
        need = 0
        while True:
            chunk = b""
            if left is None or left > 0:
                want = max(BLOCK, need - len(buf))
                if left is not None:
                    want = min(want, left)
                chunk = read(want)
                if left is not None:
                    left -= len(chunk)
            if not chunk and not buf:
                return
            data = b"".join((buf, chunk, _PAD))
            end = len(data) - len(_PAD)
            pos, need = self._scan(data, 0, end, base)
            buf = data[pos:end]
            base += pos
            self.stats.bytes = base
            if not chunk:
                if buf:
                    raise _Damage(base, "the input ends inside a record (%d of %d bytes)"
                                  % (len(buf), max(need, 8)))
                return

    def _scan(self, buf: bytes, pos: int, end: int, base: int) -> Tuple[int, int]:
        """Decode the whole records in buf[pos:end] (buf has _PAD after end); return
        where the first incomplete one starts and how many bytes it needs (0: none).

        The hot path: a sample whose first 16 bytes (type, misc, size, identifier) were
        seen before is decoded by one struct unpack and queued; everything else goes
        through _slow, which also teaches the cache new sample headers."""
        hot_get = self._hot.get
        append = self._items.append
        last = self._last
        unsorted = self._unsorted
        try:
            while pos + 8 <= end:
                hot = hot_get(buf[pos:pos + 16])
                if hot is not None:
                    nxt = pos + hot[0]
                    if nxt <= end:
                        rec = hot[1](buf, pos)
                        t = rec[0]
                        if t > last:
                            last = t
                            append((hot[2], rec))
                        elif t:
                            # an earlier time (the next CPU's buffer) or a tie
                            if t < last:
                                unsorted = True
                            append((hot[2], rec))
                        else:
                            self._last, self._unsorted = last, unsorted
                            self._odd(hot[2], rec)
                        pos = nxt
                        continue
                self._last, self._unsorted = last, unsorted
                nxt = self._slow(buf, pos, end, base)
                last, unsorted = self._last, self._unsorted
                if nxt < 0:
                    return pos, -nxt
                pos = nxt
        except (struct.error, IndexError, ValueError, OverflowError) as e:
            raise _Damage(base + pos, "undecodable record: %s" % e) from None
        finally:
            self._last, self._unsorted = last, unsorted
        return pos, 0

    def _slow(self, buf: bytes, pos: int, end: int, base: int) -> int:
        """One record the hot path did not take: returns where the next one starts, or
        -N when the record needs N bytes from pos and fewer are there."""
        typ: int
        size: int
        ident: int
        typ, size, ident = _HEAD.unpack_from(buf, pos)
        if size < 8:
            raise _Damage(base + pos, "record of %d bytes" % size)
        nxt = pos + size
        if nxt > end:
            return -size
        if typ == REC_SAMPLE:
            dec = self._decs.get(ident)
            if dec is None:
                dec = self._sample_slow(buf, pos, size)
                if dec is None:
                    return nxt
            min_size, unpack, fn = dec
            if size < min_size:
                raise _Damage(base + pos, "sample of %d bytes, its event needs %d"
                              % (size, min_size))
            rec = unpack(buf, pos)
            if len(self._hot) < 4096 and rec[0] != NO_TIME and rec[0]:
                self._hot[bytes(buf[pos:pos + 16])] = (size, unpack, fn)
            self._queue_record(fn, rec)
        elif typ == REC_FINISHED_ROUND:
            self._round_end(final=False)
        else:
            extra = self._record(typ, buf, pos, size, end, base)
            if extra < 0:
                return -(size - extra)
            nxt += extra
        return nxt

    def _odd(self, fn: Handler, rec: Tuple[Any, ...]) -> None:
        """A record whose time is not after the last one: no time (delivered at once,
        as perf does), a tie, or earlier (the round must be sorted)."""
        t = rec[0]
        if t == 0 or t == NO_TIME:
            self._deliver([(fn, rec)])
            return
        if t < self._last:
            self._unsorted = True
        else:
            self._last = t
        self._items.append((fn, rec))

    def _queue_record(self, fn: Handler, rec: Tuple[Any, ...]) -> None:
        if rec[0] > self._last:
            self._last = rec[0]
            self._items.append((fn, rec))
        else:
            self._odd(fn, rec)

    def _trailer_time(self, buf: bytes, pos: int, size: int) -> int:
        """The time of a non-sample record from its sample_id_all trailer (NO_TIME if
        it has none)."""
        if not self.attrs:
            return NO_TIME
        attr = self.attrs[0]
        if attr.sample_type & S_IDENTIFIER and len(self.attrs) > 1 and size >= 16:
            attr = self._by_id.get(_U64.unpack_from(buf, pos + size - 8)[0], attr)
        if not attr.sample_id_all:
            return NO_TIME
        lay = self._layouts[id(attr)]
        if lay.trailer_time is None or lay.trailer > size - 8:
            return NO_TIME
        return int(_U64.unpack_from(buf, pos + size - lay.trailer + lay.trailer_time)[0])

    def _record(self, typ: int, buf: bytes, pos: int, size: int, end: int, base: int) -> int:
        """Every record but samples and rounds. Returns the bytes it takes beyond its
        header's size (pipe-mode tracing data, auxtrace), or -N when N more must be read."""
        stats = self.stats
        if typ == REC_COMM:
            if size < 16:
                raise _Damage(base + pos, "COMM record of %d bytes" % size)
            pid, tid = struct.unpack_from("<ii", buf, pos + 8)
            text = bytes(buf[pos + 16:pos + size]).split(b"\0", 1)[0]
            comm = text.decode("utf-8", "replace")
            self._internal += 1
            self._queue_record(self._do_comm, (self._trailer_time(buf, pos, size), pid, tid,
                                               comm))
        elif typ == REC_FORK:
            if size < 32:
                raise _Damage(base + pos, "FORK record of %d bytes" % size)
            pid, ppid, tid, ptid = struct.unpack_from("<iiii", buf, pos + 8)
            self._internal += 1
            self._queue_record(self._do_fork, (self._trailer_time(buf, pos, size), pid, ppid,
                                               tid, ptid))
        elif typ == REC_LOST:
            if size >= 24:
                stats.lost += _U64.unpack_from(buf, pos + 16)[0]
            stats.lost_records += 1
        elif typ == REC_LOST_SAMPLES:
            if size >= 16:
                stats.lost_samples += _U64.unpack_from(buf, pos + 8)[0]
        elif typ == REC_HEADER_ATTR:
            if size < 8 + 64:
                raise _Damage(base + pos, "HEADER_ATTR record of %d bytes" % size)
            own = _U32.unpack_from(buf, pos + 12)[0] or 64
            if own < 64 or own + 8 > size:
                raise _Damage(base + pos, "HEADER_ATTR with an attr of %d bytes" % own)
            n = (size - 8 - own) // 8
            ids = list(struct.unpack_from("<%dQ" % n, buf, pos + 8 + own))
            self._add_attr(_attr_from(bytes(buf[pos + 8:pos + 8 + own]), ids))
            self._rebuild()
        elif typ == REC_HEADER_TRACING_DATA:
            if size < 16:
                raise _Damage(base + pos, "TRACING_DATA record of %d bytes" % size)
            blob_size: int = _U32.unpack_from(buf, pos + 8)[0]
            if blob_size > MAX_TRACING_DATA:
                raise _Damage(base + pos, "tracing data of %d bytes" % blob_size)
            if pos + size + blob_size > end:
                return -blob_size
            blob = bytes(buf[pos + size:pos + size + blob_size])
            formats, problem = parse_tracing_data(blob, base + pos + size)
            self.formats.update(formats)
            if problem is not None:
                raise _Damage(problem.offset, problem.reason)
            self._rebuild()
            return blob_size
        elif typ == REC_HEADER_FEATURE:
            if size >= 16:
                bit = _U64.unpack_from(buf, pos + 8)[0]
                if bit < 256:
                    self._feature(int(bit), bytes(buf[pos + 16:pos + size]), base + pos + 16)
                    if bit == F_EVENT_DESC:
                        self._rebuild()
        elif typ == REC_AUXTRACE:
            if size >= 16:
                extra: int = _U64.unpack_from(buf, pos + 8)[0]
                if extra > 1 << 32:
                    raise _Damage(base + pos, "AUXTRACE record with %d bytes" % extra)
                if pos + size + extra > end:
                    return -int(extra)
                return int(extra)
        elif typ == REC_COMPRESSED:
            self._decompress(bytes(buf[pos + 8:pos + size]), base + pos)
        elif typ >= _REC_USER_MAX:
            raise _Damage(base + pos, "unknown record type %d" % typ)
        # everything else (MMAP, EXIT, BUILD_ID, FINISHED_INIT, ...) does not matter here
        return 0

    def _decompress(self, data: bytes, at: int) -> None:
        if self._zstd is None:
            self._zstd = _zstd_factory()
            if self._zstd is None:
                from .interpreter import missing  # (names this interpreter and the fix)
                raise _Damage(at, "the recording is compressed (perf record -z): %s, or "
                              "record without -z" % missing(
                                  "reading it", "zstandard", "a zstd module (zstandard, or "
                                  "Python 3.14's compression.zstd)"))
            self._zstd_obj = self._zstd()
        factory = self._zstd
        obj = self._zstd_obj
        out: List[bytes] = []
        try:
            while data:
                out.append(obj.decompress(data))
                if getattr(obj, "eof", False):
                    data = obj.unused_data
                    obj = factory()
                else:
                    data = b""
        except Exception as e:    # zstd raises its own error types
            raise _Damage(at, "compressed record does not decompress: %s" % e) from None
        self._zstd_obj = obj
        self.stats.compressed += 1
        buf = self._decomp_left + b"".join(out)
        pos, _need = self._scan(buf + _PAD, 0, len(buf), at)
        self._decomp_left = buf[pos:]

    # -- perf's threads ---------------------------------------------------------------------

    def _do_comm(self, t: int, pid: int, tid: int, comm: str) -> None:
        self._findnew(pid, tid)
        names = self._comm_names
        if len(names) > 65536:  # a bound, for recordings of ever new names
            names.clear()
        self._comms[tid] = names.setdefault(comm, comm)

    def _findnew(self, pid: int, tid: int) -> None:
        old = self._pids.get(tid)
        if old is None or (old == -1 and pid != -1):
            self._pids[tid] = pid

    def _do_fork(self, t: int, pid: int, ppid: int, tid: int, ptid: int) -> None:
        # machine__process_fork_event: a parent thread with another pid is stale; the
        # child starts anew and inherits the parent's comm when it was set
        self._findnew(ppid, ptid)
        if self._pids.get(ptid) != ppid:
            self._pids[ptid] = ppid
            self._comms.pop(ptid, None)
        self._comms.pop(tid, None)
        self._pids[tid] = pid
        comm = self._comms.get(ptid)
        if comm is not None:
            self._comms[tid] = comm

    # -- perf's ordered-events queue -------------------------------------------------------------

    def _round_end(self, final: bool) -> None:
        items = self._items
        q = self._queue
        if items:
            if self._unsorted or (q and q[-1][1][0] > items[0][1][0]):
                self._unsorted = True
            q.extend(items)
            items.clear()
        if not q:
            return
        self.stats.rounds += 1
        if self._unsorted:
            lf = self._last_flush
            if lf:
                self.stats.unordered += sum(1 for _, a in q if a[0] < lf)
            q.sort(key=_time_of)
            self._unsorted = False
        top = q[-1][1][0]
        limit = NO_TIME if final else self._next_flush
        if limit:
            if top <= limit:
                batch = q[:]
                q.clear()
            else:
                cut = bisect.bisect_right(q, limit, key=_time_of)
                batch = q[:cut]
                del q[:cut]
            if batch:
                self._last_flush = batch[-1][1][0]
                self._deliver(batch)
        if not final:
            self._next_flush = top

    def _deliver(self, batch: List[Tuple[Handler, Tuple[Any, ...]]]) -> None:
        it: Iterator[Tuple[Handler, Tuple[Any, ...]]] = iter(batch)
        self.stats.delivered += len(batch)
        fn: Handler = _noop
        while True:
            try:
                for fn, args in it:
                    fn(*args)
                return
            except Exception as e:
                if self._on_error is None:
                    raise _HandlerError(e) from e
                self._on_error(self._fn_names.get(fn, "?"), e)


def _noop(*args: Any) -> None:
    pass


# -- the header alone -------------------------------------------------------------------

_HEADER_BITS = (F_HOSTNAME, F_OSRELEASE, F_VERSION, F_ARCH, F_NRCPUS, F_CMDLINE, F_CLOCK_DATA)
_HEADER_SCAN_LIMIT = 1 << 26   # pipe streams: header records come first; stop looking here


def read_run_info(path: str) -> Optional[RunInfo]:
    """What the recording at ``path`` says about where it was made (its file-mode
    feature sections, or a saved pipe stream's HEADER_FEATURE records), without reading
    its events; None when ``path`` is no readable perf.data file. Never raises."""
    try:
        with open(path, "rb") as src:
            return _run_info(src)
    except (OSError, ValueError, struct.error, OverflowError):
        return None


def _run_info(src: BinaryIO) -> Optional[RunInfo]:
    head = src.read(FILE_HEADER_SIZE)
    if len(head) < PIPE_HEADER_SIZE or head[:8] != b"PERFILE2":
        return None
    reader = PerfReader(src, {})   # its feature parser, and the RunInfo it fills
    hsize = _U64.unpack_from(head, 8)[0]
    if hsize == PIPE_HEADER_SIZE:
        src.seek(PIPE_HEADER_SIZE)
        at = PIPE_HEADER_SIZE
        while at < _HEADER_SCAN_LIMIT:
            rec = src.read(8)
            if len(rec) < 8:
                break
            typ, size = struct.unpack_from("<I2xH", rec)
            if typ < REC_HEADER_ATTR or typ == REC_FINISHED_INIT or size < 8:
                break   # the events begin: every header record came before
            body = src.read(size - 8)
            if typ == REC_HEADER_FEATURE and len(body) >= 8:
                bit = _U64.unpack_from(body, 0)[0]
                if bit in _HEADER_BITS:
                    reader._feature(int(bit), body[8:], at + 16)
            elif typ == REC_HEADER_TRACING_DATA and len(body) >= 4:
                src.seek(_U32.unpack_from(body, 0)[0], os.SEEK_CUR)  # the blob follows
            at = src.tell()
        return reader.info
    if hsize != FILE_HEADER_SIZE or len(head) < FILE_HEADER_SIZE:
        return None
    data_off, data_size = struct.unpack_from("<QQ", head, 40)
    features = int.from_bytes(head[72:104], "little")
    bits = [b for b in range(256) if features >> b & 1]
    src.seek(data_off + data_size)
    raw = src.read(16 * len(bits))
    if len(raw) < 16 * len(bits):
        return reader.info
    for i, bit in enumerate(bits):
        off, fsize = struct.unpack_from("<QQ", raw, 16 * i)
        if bit in _HEADER_BITS and fsize <= MAX_FEATURE:
            src.seek(off)
            reader._feature(bit, src.read(fsize), off)
    return reader.info
