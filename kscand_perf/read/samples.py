"""Sample decoding: where a sample's items are for each attr (its sample_type and
read_format), and one decoder per attr that turns a sample record into the handler's
arguments ``(time, *values)``, built from the event's format."""

from __future__ import annotations

import struct
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .base import (NO_TIME, R_GROUP, R_ID, R_LOST, R_TOTAL_TIME_ENABLED, R_TOTAL_TIME_RUNNING,
                   S_ADDR, S_CALLCHAIN, S_CPU, S_ID, S_IDENTIFIER, S_IP, S_PERIOD, S_RAW,
                   S_READ, S_STREAM_ID, S_TID, S_TIME, TYPE_TRACEPOINT, U16, U32, U64, Damage,
                   Handler, ReadStats)
from .formats import EventFormat, FieldFormat
from .header import Attr

_INT_CODES = {(1, False): "B", (1, True): "b", (2, False): "H", (2, True): "h",
              (4, False): "I", (4, True): "i", (8, False): "Q", (8, True): "q"}

Decode = Callable[[Any, int], Tuple[Any, ...]]
Decoder = Tuple[int, Decode, Handler]   # (minimum record size, decode(buf, pos), handler)


def _read_size(read_format: int) -> Optional[int]:
    """Bytes of a sample's READ item, None when it varies (group reads)."""
    if read_format & R_GROUP:
        return None
    n = 1 + sum(1 for b in (R_TOTAL_TIME_ENABLED, R_TOTAL_TIME_RUNNING, R_ID, R_LOST)
                if read_format & b)
    return 8 * n


class Layout:
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
                        raise Damage(pos, "sample too short for its read values")
                    nr = U64.unpack_from(buf, pos + at)[0]
                    rf = self.read_format
                    per = 8 * (1 + bool(rf & R_ID) + bool(rf & R_LOST))
                    at += 8 + 8 * (bool(rf & R_TOTAL_TIME_ENABLED)
                                   + bool(rf & R_TOTAL_TIME_RUNNING))
                    if nr > size:
                        raise Damage(pos, "sample with %d read values" % nr)
                    at += per * nr
            if st & S_CALLCHAIN:
                if at + 8 > size:
                    raise Damage(pos, "sample too short for its callchain")
                nr = U64.unpack_from(buf, pos + at)[0]
                if nr > size:
                    raise Damage(pos, "sample with a callchain of %d entries" % nr)
                at += 8 + 8 * nr
        if at + 4 > size:
            raise Damage(pos, "sample too short for its raw data")
        raw_size = U32.unpack_from(buf, pos + at)[0]
        if at + 4 + raw_size > size:
            raise Damage(pos, "raw data of %d bytes in a record of %d" % (raw_size, size))
        return at + 4, raw_size


def field_value(buf: bytes, raw: int, raw_size: int, f: FieldFormat) -> Any:
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
        loc = U32.unpack_from(buf, at)[0]
        start = raw + (loc & 0xFFFF)
        if f.kind == "relstr":
            start += f.offset + f.size
        data = buf[start:min(start + (loc >> 16), end)]
    if f.kind == "array":
        return bytes(data)
    return bytes(data).split(b"\0", 1)[0].decode("utf-8", "replace")


class Decoders:
    """The recording's attrs and formats, and a decoder per sample id made from them.

    ``decs`` maps a sample id to its decoder (when every attr has IDENTIFIER); ``hot``
    maps the first 16 bytes of a sample record (type, misc, size, identifier) to
    (its size, decode, handler): the reader's hot path fills and uses it, and it is
    emptied whenever attrs, formats or names arrive. The attrs they concern are
    ``pending`` until :meth:`settle` makes their decoders (before the next sample): the
    work follows what arrived, so a stream of many attrs costs linear time, not
    quadratic."""

    def __init__(self, handlers: Mapping[str, Tuple[Handler, Sequence[str]]],
                 unhandled: Optional[Callable[[str], None]],
                 non_tracepoint: Optional[Callable[[str], None]],
                 comms: Dict[int, str], fn_names: Dict[Any, str], stats: ReadStats,
                 clock: Optional[Callable[[int], None]] = None) -> None:
        self._handlers = dict(handlers)
        self._clock = clock  # the time of each event handed to unhandled/non_tracepoint
        self._unhandled_cb = unhandled
        self._non_tracepoint_cb = non_tracepoint or unhandled
        self._comms = comms               # tid -> comm, at the time of delivery
        self._fn_names = fn_names         # handler -> event name, for on_error
        self._stats = stats
        self.attrs: List[Attr] = []
        self.formats: Dict[int, EventFormat] = {}
        self.names: Dict[int, str] = {}         # sample id -> name (EVENT_DESC)
        self.by_id: Dict[int, Attr] = {}
        self.layouts: Dict[int, Layout] = {}   # id(attr) -> layout
        self.decs: Dict[int, Decoder] = {}
        self.hot: Dict[bytes, Decoder] = {}
        self.pending: Dict[int, Attr] = {}     # id(attr) -> attr whose decoder is to make
        self._by_config: Dict[int, List[Attr]] = {}
        self._without_identifier = 0

    def add_attr(self, attr: Attr) -> None:
        self.attrs.append(attr)
        self.layouts[id(attr)] = Layout(attr)
        for i in attr.ids:
            self.by_id[i] = attr
        self._by_config.setdefault(attr.config, []).append(attr)
        if not attr.sample_type & S_IDENTIFIER:
            self._without_identifier += 1
            if self._without_identifier == 1:
                self.decs.clear()     # samples find their attr the slow way from now on
        self.pending[id(attr)] = attr
        self.hot.clear()

    def formats_arrived(self, found: Mapping[int, EventFormat]) -> None:
        self.formats.update(found)
        for config in found:
            for attr in self._by_config.get(config, ()):
                if attr.type == TYPE_TRACEPOINT:
                    self.pending[id(attr)] = attr
        self.hot.clear()

    def names_arrived(self, found: Mapping[int, str]) -> None:
        """Event names by sample id (EVENT_DESC): they name the attrs that have none."""
        self.names.update(found)
        for i in found:
            attr = self.by_id.get(i)
            if attr is not None and not attr.name:
                self.pending[id(attr)] = attr
        self.hot.clear()

    def event_name(self, attr: Attr) -> str:
        if attr.type == TYPE_TRACEPOINT:
            fmt = self.formats.get(attr.config)
            if fmt is not None:
                return fmt.full_name
            return attr.name or "tracepoint:%d" % attr.config
        return attr.name or "event type %d config %#x" % (attr.type, attr.config)

    def trailer_time(self, buf: bytes, pos: int, size: int) -> int:
        """The time of a non-sample record from its sample_id_all trailer (NO_TIME if
        it has none)."""
        if not self.attrs:
            return NO_TIME
        attr = self.attrs[0]
        if attr.sample_type & S_IDENTIFIER and len(self.attrs) > 1 and size >= 16:
            attr = self.by_id.get(U64.unpack_from(buf, pos + size - 8)[0], attr)
        if not attr.sample_id_all:
            return NO_TIME
        lay = self.layouts[id(attr)]
        if lay.trailer_time is None or lay.trailer > size - 8:
            return NO_TIME
        return int(U64.unpack_from(buf, pos + size - lay.trailer + lay.trailer_time)[0])

    def settle(self) -> None:
        """Make the decoders of the pending attrs (after attrs, formats or names arrived);
        an id names the last attr that listed it."""
        pending = list(self.pending.values())
        self.pending.clear()
        for attr in pending:
            if not attr.name:
                for i in attr.ids:
                    if i in self.names:
                        attr.name = self.names[i]
                        break
            self.decs.pop(-1 - id(attr), None)   # sample_slow's, made before
        if self._without_identifier:
            return      # samples find their attr the slow way (sample_slow)
        for attr in pending:
            dec = self._decoder(attr)
            for i in attr.ids:
                if self.by_id.get(i) is attr:
                    self.decs[i] = dec

    def _decoder(self, attr: Attr) -> Decoder:
        """(minimum record size, decode(buf, pos) -> (time, *values), handler)."""
        lay = self.layouts[id(attr)]
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
            dec_time: Decode
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
    def _fast_decoder(lay: Layout, spec: Sequence[str], fields: Sequence[Optional[FieldFormat]]
                      ) -> Optional[Tuple[int, Decode]]:
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

    def _slow_decoder(self, lay: Layout, spec: Sequence[str],
                      fields: Sequence[Optional[FieldFormat]], fn: Handler, name: str
                      ) -> Decoder:
        """Field by field: strings, missing fields, callchains, comms."""
        t_off = lay.off.get("time")
        tid_off = lay.off.get("tid")
        cpu_off = lay.off.get("cpu")
        comm_at = [i for i, n in enumerate(spec) if n == "@comm"]

        def decode(buf: Any, pos: int) -> Tuple[Any, ...]:
            size = U16.unpack_from(buf, pos + 6)[0]
            raw, raw_size = lay.raw_at(buf, pos, size)
            t = U64.unpack_from(buf, pos + t_off)[0] if t_off is not None else NO_TIME
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
                    out.append(U32.unpack_from(buf, pos + cpu_off)[0]
                               if cpu_off is not None else -1)
                elif f is None:
                    out.append(None)
                else:
                    out.append(field_value(buf, pos + raw, raw_size, f))
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

    def sample_slow(self, buf: Any, pos: int, size: int) -> Optional[Decoder]:
        """The decoder of a sample whose id is not in the table: recordings without
        IDENTIFIER (found by ID or, with one attr, that attr), or an unknown id."""
        if not self.attrs:
            raise Damage(pos, "a sample before any attr")
        first = self.attrs[0]
        attr: Optional[Attr] = None
        if first.sample_type & S_IDENTIFIER:
            attr = self.by_id.get(U64.unpack_from(buf, pos + 8)[0])
        elif len(self.attrs) == 1:
            attr = first
        elif first.sample_type & S_ID:
            off = Layout(first).off["id"]
            if off + 8 <= size:
                attr = self.by_id.get(U64.unpack_from(buf, pos + off)[0])
        if attr is None:
            self._stats.unknown_ids += 1
            return None
        key = -1 - id(attr)
        dec = self.decs.get(key)
        if dec is None:
            dec = self.decs[key] = self._decoder(attr)
        return dec
