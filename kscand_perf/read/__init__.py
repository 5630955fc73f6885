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

Order: perf's ordered-events queue (see :mod:`.rounds`), so that handlers see events in
the order ``perf script`` shows them.

Damage: reading never raises on bad data. It stops at the first record it cannot trust
and :attr:`PerfReader.problem` says at which byte and why; everything delivered before
stays delivered. Sizes are checked against what is there before anything is allocated.

The modules, by what they read:

- :mod:`.base`: perf's numbers, :class:`Problem`, bounded reads;
- :mod:`.header`: the file header, attrs, feature sections, :func:`read_run_info`;
- :mod:`.formats`: the tracing data and each event's format;
- :mod:`.records`: the records of the data section or pipe stream (:class:`PerfReader`);
- :mod:`.rounds`: perf's ordered rounds and its threads (COMM, FORK);
- :mod:`.samples`: sample layouts and decoders.
"""

from .base import Handler, Problem, ReadStats
from .formats import EventFormat, FieldFormat, parse_format, parse_tracing_data
from .header import Attr, RunInfo, read_run_info
from .records import PerfReader, zstd_available

__all__ = ["PerfReader", "FieldFormat", "EventFormat", "Attr", "RunInfo", "ReadStats",
           "Problem", "Handler", "parse_format", "parse_tracing_data", "read_run_info",
           "zstd_available"]
