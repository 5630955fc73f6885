"""What every part of the reader shares: perf's record and flag numbers, the damage
type, and bounded reads over bytes.

The numbers come from include/uapi/linux/perf_event.h (kernel records, sample_type and
read_format bits), tools/lib/perf/include/perf/event.h (perf's own records) and
tools/perf/util/header.h (feature bits).
"""

from __future__ import annotations

import dataclasses
import struct
from typing import Any, Callable, Dict, Tuple

# perf_event_header types written by the kernel
REC_MMAP = 1
REC_LOST = 2
REC_COMM = 3
REC_EXIT = 4
REC_FORK = 7
REC_SAMPLE = 9
REC_LOST_SAMPLES = 13
# ... and by perf itself
REC_HEADER_ATTR = 64
REC_HEADER_EVENT_TYPE = 65
REC_HEADER_TRACING_DATA = 66
REC_HEADER_BUILD_ID = 67
REC_FINISHED_ROUND = 68
REC_AUXTRACE = 71
REC_HEADER_FEATURE = 80
REC_COMPRESSED = 81
REC_FINISHED_INIT = 82
REC_COMPRESSED2 = 83      # perf 7.x -z: COMPRESSED with the data's size, padded to 8 bytes
REC_USER_MAX = 100   # above what any perf writes: a damaged header

# Every record type perf 6.1 to 7.3 writes or reads. A type outside this table is counted
# and named in a warning (a newer perf's, or damage); those above REC_USER_MAX stop reading.
RECORD_NAMES = {
    1: "MMAP", 2: "LOST", 3: "COMM", 4: "EXIT", 5: "THROTTLE", 6: "UNTHROTTLE", 7: "FORK",
    8: "READ", 9: "SAMPLE", 10: "MMAP2", 11: "AUX", 12: "ITRACE_START", 13: "LOST_SAMPLES",
    14: "SWITCH", 15: "SWITCH_CPU_WIDE", 16: "NAMESPACES", 17: "KSYMBOL", 18: "BPF_EVENT",
    19: "CGROUP", 20: "TEXT_POKE", 21: "AUX_OUTPUT_HW_ID", 22: "CALLCHAIN_DEFERRED",
    64: "HEADER_ATTR", 65: "HEADER_EVENT_TYPE", 66: "HEADER_TRACING_DATA",
    67: "HEADER_BUILD_ID", 68: "FINISHED_ROUND", 69: "ID_INDEX", 70: "AUXTRACE_INFO",
    71: "AUXTRACE", 72: "AUXTRACE_ERROR", 73: "THREAD_MAP", 74: "CPU_MAP", 75: "STAT_CONFIG",
    76: "STAT", 77: "STAT_ROUND", 78: "EVENT_UPDATE", 79: "TIME_CONV", 80: "HEADER_FEATURE",
    81: "COMPRESSED", 82: "FINISHED_INIT", 83: "COMPRESSED2", 84: "BPF_METADATA",
    85: "SCHEDSTAT_CPU", 86: "SCHEDSTAT_DOMAIN",
}

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

# feature bits
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
MAX_INFLATED = 1 << 25          # bytes out of one compressed record (perf's: its ring buffer)
MAX_ATTRS = 1 << 16

U16 = struct.Struct("<H")
U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")

Handler = Callable[..., Any]


class HandlerError(Exception):
    """A handler raised and there is no on_error: carried out of the reader as is."""

    def __init__(self, inner: Exception) -> None:
        super().__init__(str(inner))
        self.inner = inner


class Damage(Exception):
    """Raised inside the reader where data cannot be trusted; becomes a Problem."""

    def __init__(self, offset: int, reason: str, fatal: bool = False) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason
        self.fatal = fatal


@dataclasses.dataclass(frozen=True)
class Problem:
    """Why reading stopped (or what could not be used), and at which byte of the input."""

    offset: int
    reason: str
    fatal: bool = False   # nothing of the recording's events can be decoded

    def __str__(self) -> str:
        return "at byte %d: %s" % (self.offset, self.reason)


class Cursor:
    """Bounded reads over a bytes object; running out raises Damage."""

    def __init__(self, data: bytes, base: int = 0) -> None:
        self.data = data
        self.pos = 0
        self.base = base

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise Damage(self.base + self.pos, "needs %d bytes, %d left"
                         % (n, len(self.data) - self.pos))
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u32(self) -> int:
        return int(U32.unpack(self.take(4))[0])

    def u64(self) -> int:
        return int(U64.unpack(self.take(8))[0])

    def cstr(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise Damage(self.base + self.pos, "string without its NUL")
        out = self.data[self.pos:end]
        self.pos = end + 1
        return out.decode("utf-8", "replace")

    def perf_string(self) -> str:
        """perf's header string: u32 length (padded) and the NUL-terminated text."""
        raw = self.take(self.u32())
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


@dataclasses.dataclass
class ReadStats:
    """What the reader met in the recording, record by record kind."""
    samples: int = 0            # sample records delivered (to a handler or unhandled)
    delivered: int = 0          # handler calls made
    lost: int = 0               # events lost, summed over LOST records
    lost_records: int = 0
    lost_samples: int = 0       # samples lost, summed over LOST_SAMPLES records
    unknown_ids: int = 0        # samples whose id names no attr (perf skips them too)
    unordered: int = 0          # events queued after a flush had passed their time
    rounds: int = 0
    compressed: int = 0         # COMPRESSED and COMPRESSED2 records decoded
    bytes: int = 0              # bytes of input consumed
    # records of a type outside RECORD_NAMES, skipped: type -> (how many, first offset)
    unknown_records: Dict[int, Tuple[int, int]] = dataclasses.field(default_factory=dict)
