"""Feed a :class:`~kscand_perf.session.Session` through perf's own Python module.

Linux 7.3's perf module has a session API (``perf.session(perf.data(path),
sample=callback).process_events()``): tracepoint fields are attributes of the
sample, ``str(sample.evsel)`` is ``evsel(system:event)``, ``sample.sample_time``
is in ns. This is what perf 7.4's ``perf script NAME.py`` runs, and it is one of
the ways perf-scripts/kscand_report.py reads when started on its own.

The analyzer calls are those of :mod:`kscand_perf.feed` (the same table the perf
script's handlers follow). perf up to 7.3 hands ``int`` fields zero-extended, as its
embedded Python does (patch/perf/0001 fixes both in perf): the fields the perf script's
handlers make signed are made signed here, and no others, so every front end gives the
same report; the conversion stays for the older perfs and leaves a value a fixed perf
already made signed as it is.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from .analysis import s32
from .feed import handlers
from .read.header import read_formats
from .session import Session

# The fields perf-scripts/kscand_report.py's handlers convert from zero-extended (perf up to
# 7.3; patch/perf/0001 fixes it, the conversion stays for the older perfs).
SIGNED_FIELDS: Dict[str, Tuple[str, ...]] = {
    "kmem:kmem_scan_mm_end": ("target_node",),
    "kmem:kmem_scan_mm_migrate": ("rc", "target_node", "msuccess", "mfailed"),
}


def session_api() -> Optional[ModuleType]:
    """perf's Python module when it offers the session API (perf 7.3+), else None."""
    try:
        perf = importlib.import_module("perf")
    except ImportError:
        return None
    if not (hasattr(perf, "session") and hasattr(perf, "data")):
        return None
    return perf


def readable(path: str) -> bool:
    """Whether perf's module can read ``path``: a perf.data file in file mode. Pipe
    streams (``-``, or saved to a file) it cannot: perf 7.3's session API does not read
    the tracing data that follows their HEADER_TRACING_DATA record, and fails on it."""
    if path == "-":
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return head[:8] == b"PERFILE2" and int.from_bytes(head[8:16], "little") != 16


def _event_name(evsel: Any) -> str:
    """``kmem:kmem_scan_mm_end`` from ``evsel(kmem:kmem_scan_mm_end)``."""
    text = str(evsel)
    if text.startswith("evsel(") and text.endswith(")"):
        return text[6:-1]
    return text


def feed(session: Session, path: str, perf: ModuleType) -> None:
    """Read ``path`` (a perf.data file in file mode: see :func:`readable`) with perf's
    module into ``session``. Errors of perf itself (an unreadable file) propagate as perf raises
    them; bad data in a sample is counted as a bad event, as in every front end."""
    table = handlers(session)
    core = session.analyzer
    state: Dict[str, Any] = {}
    calls: Dict[str, Callable[[Any], None]] = {}

    def comm_of(pid: int) -> str:
        try:
            return str(state["session"].find_thread(pid).comm())
        except Exception:  # a thread perf does not know: as perf script names it
            return ":%d" % pid

    def make_call(name: str) -> Callable[[Any], None]:
        entry = table.get(name)
        if entry is None:
            if ":" not in name:  # cpu-clock, cycles...: perf's process_event
                def non_tracepoint(sample: Any) -> None:
                    core.non_tracepoint_sample(name, getattr(sample, "sample_time", None))
                return non_tracepoint

            def unhandled(sample: Any) -> None:
                session.count_unhandled(name)
                core.unhandled_event(getattr(sample, "sample_time", None))
            return unhandled
        method, fields = entry
        signed = SIGNED_FIELDS.get(name, ())

        def getter(field: str) -> Callable[[Any], Any]:
            if field == "common_pid":
                return lambda s: s.sample_pid
            if field == "@comm":
                return lambda s: comm_of(s.sample_pid)
            if field == "@pid":  # (the process: perf's sample pid)
                return lambda s: s.sample_pid
            if field in signed:
                def signed_value(s: Any) -> Any:
                    v = getattr(s, field, None)
                    return s32(v) if isinstance(v, int) else v
                return signed_value
            return lambda s: getattr(s, field, None)

        getters: Sequence[Callable[[Any], Any]] = [getter(f) for f in fields]

        def call(sample: Any) -> None:
            try:
                method(sample.sample_time, *[g(sample) for g in getters])
            except Exception as e:
                session.bad(name, e)
        return call

    def on_sample(sample: Any) -> None:
        name = _event_name(sample.evsel)
        call = calls.get(name)
        if call is None:
            call = calls[name] = make_call(name)
        call(sample)

    # the migrate events' enum names: the recording's own print fmt, as our reader reads it
    session.mechanisms.define_symbols_of(read_formats(path).values())
    psession = perf.session(perf.data(path), sample=on_sample)
    state["session"] = psession
    psession.process_events()


__all__ = ["SIGNED_FIELDS", "feed", "readable", "session_api"]
