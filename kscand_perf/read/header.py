"""The recording's header: the file header and its attrs (file mode), and the feature
sections (file mode) or HEADER_FEATURE records (pipe mode) that say where the recording
was made, name the events and carry the tracing data."""

from __future__ import annotations

import dataclasses
import os
import struct
from typing import BinaryIO, Dict, List, Optional, Tuple

from .base import (ATTR_SAMPLE_ID_ALL, F_ARCH, F_CLOCK_DATA, F_CMDLINE, F_EVENT_DESC, F_HOSTNAME,
                   F_NRCPUS, F_OSRELEASE, F_TRACING_DATA, F_VERSION, FILE_HEADER_SIZE, MAX_ATTRS,
                   MAX_FEATURE, MAX_TRACING_DATA, PIPE_HEADER_SIZE, REC_FINISHED_INIT,
                   REC_HEADER_ATTR, REC_HEADER_FEATURE, REC_HEADER_TRACING_DATA, U32, U64, Cursor,
                   Damage, Problem)
from .formats import EventFormat, parse_tracing_data


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


def attr_from(data: bytes, ids: List[int]) -> Attr:
    """An Attr from the bytes of a perf_event_attr (at least 64) and its ids."""
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


# the feature sections this reader uses
USED_FEATURES = (F_TRACING_DATA, F_HOSTNAME, F_OSRELEASE, F_VERSION, F_ARCH, F_NRCPUS,
                 F_CMDLINE, F_EVENT_DESC, F_CLOCK_DATA)


def read_feature(bit: int, data: bytes, at: int, info: RunInfo, formats: Dict[int, EventFormat],
                 names: Dict[int, str], warnings: List[Problem]) -> None:
    """Take feature section ``bit`` (its bytes ``data``, found at input offset ``at``)
    into ``info``, ``formats`` (tracing data) and ``names`` (sample id -> event name);
    what cannot be read goes to ``warnings``."""
    c = Cursor(data, at)
    try:
        if bit == F_TRACING_DATA:
            found, problem = parse_tracing_data(data, at)
            formats.update(found)
            if problem is not None:
                warnings.append(problem)
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
                    names[c.u64()] = name
    except Damage as e:
        warnings.append(Problem(e.offset, "feature %d: %s" % (bit, e.reason)))


@dataclasses.dataclass
class FileHeader:
    """A perf.data file's header: where its data section is, its attrs, and its feature
    sections as (bit, offset, size)."""

    data_off: int
    data_size: int
    attrs: List[Attr]
    features: List[Tuple[int, int, int]]
    formats_end: int   # where the tracing data ends (or the feature table, without it)


def file_header(src: BinaryIO, head: bytes, size: int, warnings: List[Problem]) -> FileHeader:
    """Read the attrs and the feature table of the file ``src`` of ``size`` bytes whose
    first FILE_HEADER_SIZE bytes are ``head``; raises Damage where they cannot be
    trusted, appends to ``warnings`` what only loses the features."""
    (attr_size, attrs_off, attrs_size, data_off, data_size, _et_off, _et_size
     ) = struct.unpack_from("<7Q", head, 16)
    features = int.from_bytes(head[72:104], "little")
    if attr_size < 80 or attrs_size % attr_size or attrs_size // attr_size > MAX_ATTRS:
        raise Damage(16, "attr size %d and attrs size %d do not fit"
                     % (attr_size, attrs_size))
    if attrs_off + attrs_size > size:
        raise Damage(size, "the file ends before its attrs (%d bytes at %d)"
                     % (attrs_size, attrs_off))
    src.seek(attrs_off)
    blob = src.read(attrs_size)
    attrs: List[Attr] = []
    for i in range(attrs_size // attr_size):
        at = i * attr_size
        own = U32.unpack_from(blob, at + 4)[0] or 64
        if own < 64 or own + 16 > attr_size:
            raise Damage(attrs_off + at, "attr of %d bytes in a slot of %d"
                         % (own, attr_size))
        ids_off, ids_size = struct.unpack_from("<QQ", blob, at + own)
        if ids_size % 8 or ids_off + ids_size > size or ids_size > 8 * MAX_ATTRS * 1024:
            raise Damage(attrs_off + at + own, "attr ids (%d bytes at %d) outside the file"
                         % (ids_size, ids_off))
        src.seek(ids_off)
        raw_ids = src.read(ids_size)
        ids = list(struct.unpack("<%dQ" % (ids_size // 8), raw_ids))
        attrs.append(attr_from(blob[at:at + own], ids))
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
            warnings.append(Problem(min(size, feat_at), "the file ends before its "
                                    "feature sections: no event formats"))
        else:
            bits = [b for b in range(256) if features >> b & 1]
            for i, bit in enumerate(bits):
                off, fsize = struct.unpack_from("<QQ", raw, 16 * i)
                table.append((bit, off, fsize))
    formats_end = feat_at + 16 * nfeat
    for bit, off, fsize in table:
        if bit == F_TRACING_DATA:
            formats_end = max(formats_end, off + fsize)
    return FileHeader(data_off, data_size, attrs, table, formats_end)


def read_file_features(src: BinaryIO, table: List[Tuple[int, int, int]], size: int,
                       info: RunInfo, formats: Dict[int, EventFormat], names: Dict[int, str],
                       warnings: List[Problem]) -> None:
    """Read the feature sections of ``table`` this reader uses (see read_feature)."""
    for bit, off, fsize in table:
        if off + fsize > size:  # any section, read or not: the file was cut
            warnings.append(Problem(off, "feature %d: %d bytes at %d outside the "
                                    "file" % (bit, fsize, off)))
            continue
        if bit not in USED_FEATURES:
            continue
        limit = MAX_TRACING_DATA if bit == F_TRACING_DATA else MAX_FEATURE
        if fsize > limit:
            warnings.append(Problem(off, "feature %d: %d bytes, more than the %d "
                                    "this reader takes" % (bit, fsize, limit)))
            continue
        src.seek(off)
        read_feature(bit, src.read(fsize), off, info, formats, names, warnings)


# -- the header alone -------------------------------------------------------------------

_HEADER_BITS = (F_HOSTNAME, F_OSRELEASE, F_VERSION, F_ARCH, F_NRCPUS, F_CMDLINE,
                F_CLOCK_DATA)
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


def read_formats(path: str) -> Dict[int, EventFormat]:
    """The event formats of the recording at ``path`` (a perf.data file in file mode),
    by event ID, without reading its events; empty when it has none. Never raises."""
    formats: Dict[int, EventFormat] = {}
    try:
        with open(path, "rb") as src:
            _run_info(src, formats)
    except (OSError, ValueError, struct.error, OverflowError):
        pass
    return formats


def _run_info(src: BinaryIO, formats: Optional[Dict[int, EventFormat]] = None
              ) -> Optional[RunInfo]:
    head = src.read(FILE_HEADER_SIZE)
    if len(head) < PIPE_HEADER_SIZE or head[:8] != b"PERFILE2":
        return None
    info = RunInfo()
    wanted = _HEADER_BITS + ((F_TRACING_DATA,) if formats is not None else ())
    formats = {} if formats is None else formats
    names: Dict[int, str] = {}
    warnings: List[Problem] = []
    hsize = U64.unpack_from(head, 8)[0]
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
                bit = U64.unpack_from(body, 0)[0]
                if bit in _HEADER_BITS:
                    read_feature(int(bit), body[8:], at + 16, info, formats, names, warnings)
            elif typ == REC_HEADER_TRACING_DATA and len(body) >= 4:
                src.seek(U32.unpack_from(body, 0)[0], os.SEEK_CUR)  # the blob follows
            at = src.tell()
        return info
    if hsize != FILE_HEADER_SIZE or len(head) < FILE_HEADER_SIZE:
        return None
    data_off, data_size = struct.unpack_from("<QQ", head, 40)
    features = int.from_bytes(head[72:104], "little")
    bits = [b for b in range(256) if features >> b & 1]
    src.seek(data_off + data_size)
    raw = src.read(16 * len(bits))
    if len(raw) < 16 * len(bits):
        return info
    for i, bit in enumerate(bits):
        off, fsize = struct.unpack_from("<QQ", raw, 16 * i)
        if bit in wanted and fsize <= (MAX_FEATURE << 4 if bit == F_TRACING_DATA
                                       else MAX_FEATURE):
            src.seek(off)
            read_feature(bit, src.read(fsize), off, info, formats, names, warnings)
    return info
