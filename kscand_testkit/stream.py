"""The event stream shared by the simulator, the perf.data writer and the e2e scenarios.

An :class:`Emitted` is one trace event as a kernel would emit it: when, where,
from which task, which event and its field values in schema order
(:mod:`kscand_perf.events`). The simulator produces them in time order; the
writer turns them into perf.data records; the e2e harness turns them into
lines for the test module that fires them in a real kernel.
"""

from __future__ import annotations

from typing import NamedTuple, Tuple, Union

Value = Union[int, str]


class Emitted(NamedTuple):
    """One event: ``values`` are in the order of the event's fields in the schema."""

    time_ns: int
    cpu: int
    pid: int
    comm: str
    event: str  # the event's name without its system, e.g. "kmem_scan_mm_end"
    values: Tuple[Value, ...]
