"""The reader: the records of a perf.data file's data section or of a pipe stream, in
blocks, with a hot path for the samples of known shape; every other record type is
taken here (threads, losses, pipe-mode header records, compressed records)."""

from __future__ import annotations

import gc
import importlib
import io
import os
import stat
import struct
from typing import Any, BinaryIO, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .base import (BLOCK, FILE_HEADER_SIZE, MAX_ATTRS, MAX_INFLATED, MAX_TRACING_DATA,
                   NO_TIME, PIPE_HEADER_SIZE, REC_AUXTRACE, REC_COMM, REC_COMPRESSED,
                   REC_COMPRESSED2, RECORD_NAMES, REC_FINISHED_ROUND, REC_FORK,
                   REC_HEADER_ATTR, REC_HEADER_FEATURE, REC_HEADER_TRACING_DATA, REC_LOST,
                   REC_LOST_SAMPLES, REC_SAMPLE, REC_USER_MAX, TYPE_TRACEPOINT, U32, U64,
                   Damage, Handler, HandlerError, Problem, ReadStats)
from .formats import EventFormat, parse_tracing_data
from .header import Attr, RunInfo, attr_from, file_header, read_feature, read_file_features
from .rounds import OrderedEvents, Threads
from .samples import Decoders

_HEAD = struct.Struct("<I2xHQ")        # type, size, and the next u64 (a sample's identifier)
_PAD = bytes(16)                       # appended to every buffer so _HEAD never reads past it
_ZSTD_SLICE = 1 << 8      # compressed bytes per call: at most 8 MB out (zstd's RLE blocks)


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
        self.pipe = False
        self.info = RunInfo()
        self.stats = ReadStats()
        self.problem: Optional[Problem] = None
        self.warnings: List[Problem] = []     # damage that did not stop the reading
        fn_names: dict[Any, str] = {}         # handler -> event name, for on_error
        self._threads = Threads()
        self._dec = Decoders(handlers, unhandled, non_tracepoint, self._threads.comms,
                             fn_names, self.stats, clock)
        self._q = OrderedEvents(self.stats, fn_names, on_error)
        self.attrs: List[Attr] = self._dec.attrs
        self.formats = self._dec.formats
        self._internal = 0      # COMM and FORK records queued (not samples)
        self._zstd: Optional[Callable[[], Any]] = None
        self._zstd_obj: Any = None
        # decompressed bytes not decoded yet (an incomplete record), and what it needs
        self._decomp_left: List[bytes] = []
        self._decomp_have = 0
        self._decomp_need = 0
        self._decomp_off = 0     # offset in the decompressed stream of what is left
        self._inflating: Optional[int] = None   # the compressed record being decoded
        self._cut_formats: Optional[Tuple[int, int]] = None   # (file size, formats' end)

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

    def event_name(self, attr: Attr) -> str:
        return self._dec.event_name(attr)

    def _read_all(self) -> Optional[Problem]:
        try:
            self._read()
            self._dec.settle()   # (names, for attrs that arrived after the last sample)
            if self._decomp_have:
                raise Damage(self.stats.bytes, "the compressed data ends inside a record "
                             "(%d bytes of it)" % self._decomp_have)
        except HandlerError as e:
            raise e.inner from None
        except Damage as e:
            self.problem = Problem(e.offset, e.reason, e.fatal)
        except OSError as e:
            self.problem = Problem(self.stats.bytes, "read error: %s" % (e.strerror or e))
        except MemoryError:
            self.problem = Problem(self.stats.bytes, "out of memory")
        except RecursionError:   # (no record nests today: a safety net, not a path)
            self.problem = Problem(self.stats.bytes, "records nested too deep")
        except (struct.error, ValueError, OverflowError, IndexError) as e:
            # a size or offset no check above caught: still one line, not a traceback
            self.problem = Problem(self.stats.bytes, "undecodable input: %s" % e)
        try:
            # what is queued was read intact: deliver it, as perf's final flush does
            self._q.round_end(final=True)
        except HandlerError as e:
            raise e.inner from None
        finally:
            self.stats.samples = self.stats.delivered - self._internal
        for typ, (n, first) in sorted(self.stats.unknown_records.items()):
            self.warnings.append(Problem(first, "%d record%s of type %d, which this reader "
                                         "does not know (a newer perf's?), skipped"
                                         % (n, "s" if n > 1 else "", typ)))
        if self._cut_formats is not None:
            size, data_end = self._cut_formats
            n = self.stats.samples
            self.problem = Problem(size, "the recording is cut at byte %s, before its event "
                                   "formats (perf writes them after the data, which ends at "
                                   "byte %s): %s (perf record interrupted, or the file "
                                   "copied in part?)" % (
                                       "{:,}".format(size), "{:,}".format(data_end),
                                       "none of its {:,} samples can be decoded".format(n)
                                       if n else "nothing can be decoded"), fatal=True)
        return self.problem

    # -- the header -------------------------------------------------------------------

    def _read(self) -> None:
        head = self._src.read(FILE_HEADER_SIZE)
        if len(head) < PIPE_HEADER_SIZE:
            raise Damage(len(head), "too short for a perf.data header (%d bytes)" % len(head))
        if head[:8] != b"PERFILE2":
            if head[:8] == b"2ELIFREP":
                raise Damage(0, "a big-endian recording: not supported")
            raise Damage(0, "not a perf.data file (no PERFILE2 magic)")
        hsize = U64.unpack_from(head, 8)[0]
        if hsize == PIPE_HEADER_SIZE:
            self.pipe = True
            self._stream(head[PIPE_HEADER_SIZE:], PIPE_HEADER_SIZE, None)
            return
        if hsize != FILE_HEADER_SIZE or len(head) < FILE_HEADER_SIZE:
            raise Damage(8, "header size %d (perf writes %d or %d)"
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
            import shutil   # (here: start-up time)
            import tempfile
            spool = tempfile.TemporaryFile()
            spool.write(head)
            shutil.copyfileobj(src, spool, BLOCK)
            self._src = src = spool   # type: ignore[assignment]
        here = src.tell()
        size = src.seek(0, os.SEEK_END)
        src.seek(here)
        data_end = sum(struct.unpack_from("<QQ", head, 40))
        try:
            header = file_header(src, head, size, self.warnings)
        except Damage:
            if size < data_end:   # cut before its attrs: the formats are gone as well
                self._cut_formats = (size, data_end)
            raise
        for attr in header.attrs:
            self._dec.add_attr(attr)
        formats: Dict[int, EventFormat] = {}
        names: Dict[int, str] = {}
        read_file_features(src, header.features, size, self.info, formats, names,
                           self.warnings)
        self._dec.formats_arrived(formats)
        self._dec.names_arrived(names)
        self._dec.settle()
        tracepoints = [a for a in header.attrs if a.type == TYPE_TRACEPOINT]
        if (size < header.formats_end and tracepoints
                and not any(a.config in self._dec.formats for a in tracepoints)):
            # perf writes the formats last: a file cut anywhere before has samples that
            # nothing can decode (read on, to count them); one problem at the end says
            # so, instead of the warnings on missing features
            self._cut_formats = (size, data_end)
            self.warnings.clear()
        # the data section
        data_off, data_size = header.data_off, header.data_size
        if data_off > size or data_size > 1 << 62:
            raise Damage(size, "the file ends before its data section (at %d)" % data_off)
        src.seek(data_off)
        end = data_off + data_size
        if data_size == 0 and size > data_off:
            self.warnings.append(Problem(data_off, "the header says the data section is empty "
                                         "(an interrupted perf record?)"))
        self._stream(b"", data_off, data_size)
        if end > size:
            raise Damage(size, "the file ends %d bytes into its data section of %d"
                         % (size - data_off, data_size))

    # -- the data stream ----------------------------------------------------------------------

    def _stream(self, pending: bytes, offset: int, length: Optional[int]) -> None:
        """Read records from the source: ``pending`` bytes already read, at input
        ``offset``; ``length`` bytes in all (None: to the end of the stream)."""
        src = self._src
        # what the pipe holds now, not a whole block (a live view through a pipe must see
        # each round when perf record writes it); but while the pipe has more at once (a
        # writer ahead of us: cat, a finished perf record), up to a block: a pipe's read
        # is 64 KB, and each block has a fixed cost (the columnar reader's)
        fill = _filler(src)
        ready = _ready_now(src)
        buf = pending
        left = None if length is None else max(length - len(pending), 0)
        if length is not None and len(buf) > length:
            buf = buf[:length]
        base = offset          # input offset of buf[0]
        need = 0
        # the block is read into one buffer, kept from block to block: a new 4 MB object
        # for every read (and another to join it to the bytes left over) cost the
        # kernel's page faults on fresh memory, three times the reading itself. It grows
        # with what the input holds, never with the size a record claims, and is let go
        # when a long record made it large. _scan takes it as it is where it can (see
        # _in_place), else a copy.
        room = bytearray()
        while True:
            # a block, or as many as the incomplete record needs
            have = len(buf)
            room = _room(room, have + len(_PAD))
            room[:have] = buf
            n = 0
            while left is None or left > 0:
                want = BLOCK if left is None else min(BLOCK, left)
                room = _room(room, have + want + len(_PAD))
                with memoryview(room) as view:
                    n = fill(view[have:have + want])
                if left is not None:
                    left -= n
                if not n:
                    break
                have += n
                if have >= need and (have >= BLOCK or ready is None or not ready()):
                    break
            if not have:
                return
            room[have:have + len(_PAD)] = _PAD
            data: Any = room
            if not self._in_place():
                with memoryview(room) as view:
                    data = view[:have + len(_PAD)].tobytes()
            pos, need = self._scan(data, 0, have, base)
            buf = bytes(data[pos:have])
            del data
            if len(room) > 2 * (BLOCK + len(_PAD)):
                room = bytearray()
            base += pos
            self.stats.bytes = base
            if not n:
                if buf:
                    raise Damage(base, "the input ends inside a record (%d of %d bytes)"
                                 % (len(buf), max(need, 8)))
                return

    def _in_place(self) -> bool:
        """Whether :meth:`_scan` can take the reading buffer itself (a bytearray) rather
        than a copy as bytes: this one cannot (a slice of its buffer is a dict key)."""
        return False

    def _scan(self, buf: bytes, pos: int, end: int, base: int) -> Tuple[int, int]:
        """Decode the whole records in buf[pos:end] (buf has _PAD after end); return
        where the first incomplete one starts and how many bytes it needs (0: none).

        The hot path: a sample whose first 16 bytes (type, misc, size, identifier) were
        seen before is decoded by one struct unpack and queued; everything else goes
        through _slow, which also teaches the cache new sample headers."""
        q = self._q
        hot_get = self._dec.hot.get
        append = q.items.append
        last = q.last
        unsorted = q.unsorted
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
                            q.last, q.unsorted = last, unsorted
                            q.odd(hot[2], rec)
                        pos = nxt
                        continue
                q.last, q.unsorted = last, unsorted
                nxt = self._slow(buf, pos, end, base)
                last, unsorted = q.last, q.unsorted
                if nxt < 0:
                    return pos, -nxt
                pos = nxt
        except (struct.error, IndexError, ValueError, OverflowError) as e:
            raise Damage(base + pos, "undecodable record: %s" % e) from None
        finally:
            q.last, q.unsorted = last, unsorted
        return pos, 0

    def _slow(self, buf: bytes, pos: int, end: int, base: int) -> int:
        """One record the hot path did not take: returns where the next one starts, or
        -N when the record needs N bytes from pos and fewer are there."""
        typ: int
        size: int
        ident: int
        typ, size, ident = _HEAD.unpack_from(buf, pos)
        if size < 8:
            raise Damage(base + pos, "record of %d bytes" % size)
        nxt = pos + size
        if nxt > end:
            return -size
        if typ == REC_SAMPLE:
            if self._dec.pending:
                self._dec.settle()
            dec = self._dec.decs.get(ident)
            if dec is None:
                dec = self._dec.sample_slow(buf, pos, size)
                if dec is None:
                    return nxt
            min_size, unpack, fn = dec
            if size < min_size:
                raise Damage(base + pos, "sample of %d bytes, its event needs %d"
                             % (size, min_size))
            rec = unpack(buf, pos)
            hot = self._dec.hot
            if len(hot) < 4096 and rec[0] != NO_TIME and rec[0]:
                hot[bytes(buf[pos:pos + 16])] = (size, unpack, fn)
            self._q.add(fn, rec)
        elif typ == REC_FINISHED_ROUND:
            self._q.round_end(final=False)
        else:
            extra = self._record(typ, buf, pos, size, end, base)
            if extra < 0:
                return -(size - extra)
            nxt += extra
        return nxt

    def _record(self, typ: int, buf: bytes, pos: int, size: int, end: int, base: int) -> int:
        """Every record but samples and rounds. Returns the bytes it takes beyond its
        header's size (pipe-mode tracing data, auxtrace), or -N when N more must be read."""
        stats = self.stats
        if typ == REC_COMM:
            if size < 16:
                raise Damage(base + pos, "COMM record of %d bytes" % size)
            pid, tid = struct.unpack_from("<ii", buf, pos + 8)
            text = bytes(buf[pos + 16:pos + size]).split(b"\0", 1)[0]
            comm = text.decode("utf-8", "replace")
            self._internal += 1
            self._q.add(self._threads.comm, (self._dec.trailer_time(buf, pos, size), pid, tid,
                                             comm))
        elif typ == REC_FORK:
            if size < 32:
                raise Damage(base + pos, "FORK record of %d bytes" % size)
            pid, ppid, tid, ptid = struct.unpack_from("<iiii", buf, pos + 8)
            self._internal += 1
            self._q.add(self._threads.fork, (self._dec.trailer_time(buf, pos, size), pid, ppid,
                                             tid, ptid))
        elif typ == REC_LOST:
            if size >= 24:
                stats.lost += U64.unpack_from(buf, pos + 16)[0]
            stats.lost_records += 1
        elif typ == REC_LOST_SAMPLES:
            if size >= 16:
                stats.lost_samples += U64.unpack_from(buf, pos + 8)[0]
        elif typ == REC_HEADER_ATTR:
            if size < 8 + 64:
                raise Damage(base + pos, "HEADER_ATTR record of %d bytes" % size)
            own = U32.unpack_from(buf, pos + 12)[0] or 64
            if own < 64 or own + 8 > size:
                raise Damage(base + pos, "HEADER_ATTR with an attr of %d bytes" % own)
            n = (size - 8 - own) // 8
            ids = list(struct.unpack_from("<%dQ" % n, buf, pos + 8 + own))
            if len(self.attrs) >= MAX_ATTRS:
                raise Damage(base + pos, "more than %d attrs" % MAX_ATTRS)
            self._dec.add_attr(attr_from(bytes(buf[pos + 8:pos + 8 + own]), ids))
        elif typ == REC_HEADER_TRACING_DATA:
            if size < 16:
                raise Damage(base + pos, "TRACING_DATA record of %d bytes" % size)
            blob_size: int = U32.unpack_from(buf, pos + 8)[0]
            if blob_size > MAX_TRACING_DATA:
                raise Damage(base + pos, "tracing data of %d bytes" % blob_size)
            if pos + size + blob_size > end:
                return -blob_size
            blob = bytes(buf[pos + size:pos + size + blob_size])
            formats: dict[int, EventFormat]
            formats, problem = parse_tracing_data(blob, base + pos + size)
            self._dec.formats_arrived(formats)
            if problem is not None:
                raise Damage(problem.offset, problem.reason)
            return blob_size
        elif typ == REC_HEADER_FEATURE:
            if size >= 16:
                bit = U64.unpack_from(buf, pos + 8)[0]
                if bit < 256:
                    formats = {}
                    names: Dict[int, str] = {}
                    read_feature(int(bit), bytes(buf[pos + 16:pos + size]), base + pos + 16,
                                 self.info, formats, names, self.warnings)
                    self._dec.formats_arrived(formats)
                    self._dec.names_arrived(names)
        elif typ == REC_AUXTRACE:
            if size >= 16:
                extra: int = U64.unpack_from(buf, pos + 8)[0]
                if extra > 1 << 32:
                    raise Damage(base + pos, "AUXTRACE record with %d bytes" % extra)
                if pos + size + extra > end:
                    return -int(extra)
                return int(extra)
        elif typ == REC_COMPRESSED:
            self._decompress(bytes(buf[pos + 8:pos + size]), base + pos)
        elif typ == REC_COMPRESSED2:
            # header, the compressed data's size, the data, zeros up to 8-byte alignment
            if size < 16:
                raise Damage(base + pos, "COMPRESSED2 record of %d bytes" % size)
            data_size: int = U64.unpack_from(buf, pos + 8)[0]
            if data_size > size - 16:
                raise Damage(base + pos, "COMPRESSED2 record of %d bytes with %d bytes of "
                             "data" % (size, data_size))
            self._decompress(bytes(buf[pos + 16:pos + 16 + data_size]), base + pos)
        elif typ >= REC_USER_MAX:
            raise Damage(base + pos, "unknown record type %d" % typ)
        elif typ not in RECORD_NAMES:
            where = base + pos if self._inflating is None else self._inflating
            n, first = stats.unknown_records.get(typ, (0, where))
            stats.unknown_records[typ] = (n + 1, first)
        # every other type of RECORD_NAMES (MMAP, EXIT, BUILD_ID, ID_INDEX, ...): not needed
        return 0

    def _decompress(self, data: bytes, at: int) -> None:
        if self._inflating is not None:
            raise Damage(at, "a compressed record inside compressed data")
        if self._zstd is None:
            self._zstd = _zstd_factory()
            if self._zstd is None:
                from ..interpreter import missing  # (names this interpreter and the fix)
                raise Damage(at, "the recording is compressed (perf record -z): %s, or "
                             "record without -z" % missing(
                                 "reading it", "zstandard", "a zstd module (zstandard, or "
                                 "Python 3.14's compression.zstd)"), fatal=True)
            self._zstd_obj = self._zstd()
        factory = self._zstd
        obj = self._zstd_obj
        out: List[bytes] = []
        total = 0
        try:
            # in slices, so that a record that inflates without bound (damage, or a zstd
            # bomb) is stopped after a few MB more than MAX_INFLATED, not at the end
            for i in range(0, len(data), _ZSTD_SLICE):
                piece = data[i:i + _ZSTD_SLICE]
                while piece:
                    chunk = obj.decompress(piece)
                    out.append(chunk)
                    total += len(chunk)
                    if getattr(obj, "eof", False):
                        piece = obj.unused_data
                        obj = factory()
                    else:
                        piece = b""
                if total > MAX_INFLATED:
                    raise Damage(at, "a compressed record of %d bytes inflates to more than "
                                 "%d (perf's ring buffers are smaller)"
                                 % (len(data), MAX_INFLATED))
        except Damage:
            raise
        except Exception as e:    # zstd raises its own error types
            raise Damage(at, "compressed record does not decompress: %s" % e) from None
        self._zstd_obj = obj
        self.stats.compressed += 1
        left = self._decomp_left
        left += out
        self._decomp_have += total
        if self._decomp_have < self._decomp_need:
            return      # joined once the record is whole, not at every compressed record
        left.append(_PAD)
        buf = b"".join(left)
        end = len(buf) - len(_PAD)
        # offsets inside are of the decompressed stream: damage there is told at the
        # compressed record's byte, with how far into the decompressed data it lies
        outer, self._inflating = self._inflating, at
        try:
            pos, self._decomp_need = self._scan(buf, 0, end, self._decomp_off)
        except Damage as e:
            raise Damage(at, "%s (in the data of a compressed record, byte %d of the "
                         "decompressed stream)" % (e.reason, e.offset), e.fatal) from None
        finally:
            self._inflating = outer
        self._decomp_off += pos
        self._decomp_left = [buf[pos:end]] if pos < end else []
        self._decomp_have = end - pos


PIPE_SIZE = 1 << 20


def _room(room: bytearray, size: int) -> bytearray:
    """``room``, at least ``size`` bytes long (a new buffer with its bytes where a view
    of it is still held somewhere, which a bytearray cannot grow under)."""
    if len(room) >= size:
        return room
    try:
        room.extend(bytes(size - len(room)))
        return room
    except BufferError:
        grown = bytearray(size)
        grown[:len(room)] = room
        return grown


def _filler(src: Any) -> Callable[[memoryview], int]:
    """``fill(view)``: read what ``src`` has (at most ``len(view)`` bytes, one read: a
    pipe gives what it holds) into ``view``; the number of bytes, 0 at the end."""
    into: Optional[Callable[[memoryview], Optional[int]]] = (
        getattr(src, "readinto1", None) or getattr(src, "readinto", None))
    if into is not None:
        fill_into = into
        return lambda view: fill_into(view) or 0
    read = getattr(src, "read1", None) or src.read

    def fill(view: memoryview) -> int:
        data = read(len(view))
        view[:len(data)] = data
        return len(data)
    return fill


def _ready_now(src: Any) -> Optional[Callable[[], bool]]:
    """For a pipe or socket: whether more of it can be read without waiting (None for
    anything else: a file's read gives a whole block)."""
    try:
        fd = src.fileno()
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return None
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    import select   # (here: only pipes need it)
    try:    # a pipe of 1 MB, not 64 KB (best effort: Linux, within pipe-max-size)
        import fcntl
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)
    except (ImportError, OSError, ValueError):
        pass

    def ready() -> bool:
        try:
            return bool(select.select([fd], [], [], 0)[0])
        except (OSError, ValueError):
            return False
    return ready
