"""Feed a :class:`~kscand_perf.session.Session` from our perf.data reader, making the
same analyzer calls as the handlers of perf-scripts/kscand_report.py.

The perf script's handlers get perf's arguments (seconds and nanoseconds, ``int``
fields zero-extended by perf up to 7.3, which patch/perf/0001 fixes; the conversion stays
for the older perfs) and convert them; the reader already has the time in nanoseconds and
signed fields (it reads the format's signedness itself). :func:`handlers` is the table of
what each handler passes, in the reader's terms: for every event the bound analyzer
method and the fields it takes after the time. The hot events go to the bound methods
themselves (no wrapper call per event): ``scan_start`` and ``migrate`` take perf's
(seconds, nanoseconds) and only ever use ``seconds * 10**9 + nanoseconds``, so they get
(0, time).

A tracepoint the report does not know is counted with Session.count_unhandled (perf's
trace_unhandled), a sample of another event (cpu-clock...) as a non-tracepoint sample
(perf's process_event). On purpose unlike perf 6.1: a comm that is not UTF-8 is decoded
with replacement (perf 6.1's Python dies on it).
"""

from __future__ import annotations

import functools
import os
import stat
from typing import BinaryIO, Dict, Optional, Sequence, Tuple

from .analysis import Analyzer
from .cost import sched_switch
from .perfreader import Handler, PerfReader, Problem
from .session import Session

__all__ = ["handlers", "handler_name", "make_reader", "feed", "lost_notes", "reader_kind"]

Table = Dict[str, Tuple[Handler, Sequence[str]]]
# KSCAND_PERF_READER: stdlib (one record at a time, the reference), columnar (numpy, the
# same output), or auto (default): columnar where numpy imports and the input is a pipe
# or a file of at least COLUMNAR_MIN_BYTES (docs/development.md: below, it costs more)
READER_ENV = "KSCAND_PERF_READER"
COLUMNAR_MIN_BYTES = 32 << 20


def handler_name(event: str) -> str:
    """perf's Python handler name of ``system:event`` (the name the report counts)."""
    return event.replace(":", "__", 1)


def handlers(session: Session) -> Table:
    """What each handler of kscand_report.py passes to the analyzer, per event."""
    core = session.analyzer
    return {
        "kmem:kmem_mm_enter": (core.mm_enter, ("common_pid", "@comm", "mm")),
        "kmem:kmem_mm_exit": (core.mm_exit, ("common_pid", "@comm", "mm")),
        "kmem:kmem_scan_mm_start": (functools.partial(core.scan_start, 0),
                                    ("common_pid", "mm")),
        "kmem:kmem_scan_mm_end": (core.scan_end,
                                  ("common_pid", "mm", "start", "total", "scan_period",
                                   "scan_size", "target_node")),
        # V1/V2 events have no msuccess/mfailed: the reader passes None, as perf's defaults
        "kmem:kmem_scan_mm_migrate": (functools.partial(core.migrate, 0),
                                      ("common_pid", "mm", "rc", "target_node", "msuccess",
                                       "mfailed")),
        "sched:sched_process_fork": (core.sched_fork, ("common_pid", "child_pid",
                                                       "child_comm")),
        "sched:sched_process_exec": (core.sched_exec, ("common_pid", "filename", "pid")),
        "sched:sched_process_exit": (core.sched_exit, ("common_pid",)),
        # the kernel's migrate events, by field name (6.1 has no large_folio_split: None);
        # the task is common_pid (a thread), its process perf's sample pid
        "migrate:mm_migrate_pages": (
            session.mechanisms.migrate_pages,
            ("common_pid", "@comm", "succeeded", "failed", "thp_succeeded", "thp_failed",
             "thp_split", "large_folio_split", "mode", "reason", "@pid")),
        "migrate:mm_migrate_pages_start": (session.mechanisms.migrate_pages_start,
                                           ("common_pid", "@comm", "mode", "reason")),
        # kscand's and kmigrated's CPU time (kscand_perf.cost)
        "sched:sched_switch": (functools.partial(sched_switch, core),
                               ("prev_comm", "prev_pid", "next_comm", "next_pid")),
    }


def reader_kind(source: BinaryIO) -> str:
    """"stdlib" or "columnar": what KSCAND_PERF_READER asks for, else what fits
    ``source`` (see READER_ENV)."""
    asked = os.environ.get(READER_ENV, "auto")
    if asked == "stdlib":
        return "stdlib"
    if asked != "columnar":
        try:
            st = os.fstat(source.fileno())
            small = stat.S_ISREG(st.st_mode) and st.st_size < COLUMNAR_MIN_BYTES
        except (OSError, AttributeError, ValueError):
            small = True   # (not a file descriptor: a test's BytesIO)
        if small:
            return "stdlib"
    from .read import columnar
    return "columnar" if columnar.available() else "stdlib"


def make_reader(session: Session, source: BinaryIO, kind: Optional[str] = None) -> PerfReader:
    """A reader of ``source`` that feeds ``session`` as the perf script would; ``kind``:
    "stdlib" or "columnar" (default: :func:`reader_kind`)."""
    core = session.analyzer

    def unhandled(event: str) -> None:
        session.count_unhandled(event)

    def on_error(event: str, exc: Exception) -> None:
        session.bad(event, exc)

    # the times of the events no handler takes (other tracepoints, non-tracepoint
    # samples): trace_time_ns covers every event (the handlers' own events clock
    # themselves, bad ones included)
    table = handlers(session)
    reader: PerfReader
    if (kind or reader_kind(source)) == "columnar":
        from .read.columnar import ColumnarReader
        reader = ColumnarReader(source, table, unhandled=unhandled, on_error=on_error,
                                non_tracepoint=core.non_tracepoint_sample,
                                clock=core.unhandled_event, bulk="kmem:kmem_scan_mm_start")
        if type(core) is Analyzer and reader.bulk_fn is not None:
            from .bulk_starts import BulkStarts
            reader.set_sink(BulkStarts(core, reader.bulk_fn, list(table), reader.fn_names))
    else:
        reader = PerfReader(source, table, unhandled=unhandled, on_error=on_error,
                            non_tracepoint=core.non_tracepoint_sample,
                            clock=core.unhandled_event)

    def symbols() -> Dict[str, Dict[str, Dict[int, str]]]:
        # the print fmt's __print_symbolic tables (perf script gets them from perf)
        return {f.full_name: f.symbols for f in reader.formats.values() if f.symbols}
    session.mechanisms.symbol_source = symbols  # (asked when a name is first needed)
    return reader


def lost_notes(reader: PerfReader) -> Tuple[str, ...]:
    """Notes for the report on what the recording says was lost."""
    st = reader.stats
    notes = []
    if st.lost_records:
        notes.append("perf lost {:,} events ({:,} LOST records): the ring buffer overflowed; "
                     "record with a larger -m".format(st.lost, st.lost_records))
    if st.lost_samples:
        notes.append("perf lost {:,} samples (LOST_SAMPLES records)".format(st.lost_samples))
    if st.unknown_ids:
        notes.append("{:,} samples named no event of the recording and were skipped"
                     .format(st.unknown_ids))
    return tuple(notes)


def feed(session: Session, source: BinaryIO, kind: Optional[str] = None
         ) -> Tuple[PerfReader, Optional[Problem]]:
    """Read ``source`` into ``session`` (``kind``: as :func:`make_reader`); return the
    reader and the problem that stopped it (None when the whole recording was read).
    Notes on lost events go to the session."""
    reader = make_reader(session, source, kind)
    session.hash_beside()
    problem = reader.read()
    # the reader sees every record: 0 means perf lost nothing (the kernel-counter check
    # then names the recording window, not loss, for any shortfall)
    session.lost_events = reader.stats.lost
    for note in lost_notes(reader):
        session.note(note)
    return reader, problem
