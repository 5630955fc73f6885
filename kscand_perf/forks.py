"""Processes that fork faster than NUMA balancing's scan delay (issue 24).

At fork the kernel (6.1 to 7.3, without patch/0003) runs init_numa_balancing() while the
child still points at its parent's mm; for a single-threaded parent it moves the
*parent's* next scan time to now + scan_delay (1 s by default). A process that forks more
often than that is never due for a NUMA-balancing scan: it takes no hint faults, and NUMA
balancing never promotes its pages, whatever kernel.numa_balancing says. A comparison of
promoters on such a process is unfair to NUMA balancing, so the report says so.

:class:`ForkRates` keeps, per forking task, how many forks the recording shows and the
first and last fork time (three integers a task: memory grows with the tasks that fork,
never with the events). :func:`fork_notes` turns them into the report's notes. Pure: the
analysis feeds it ``sched:sched_process_fork`` events, the report gives it what it knows
of NUMA balancing.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Mapping, NamedTuple, Optional, Tuple

SCAN_DELAY_MS_DEFAULT = 1000  # kernel.numa_balancing_scan_delay_ms's default
MIN_FORKS = 3  # fewer forks say nothing of a rate


class ForkRate(NamedTuple):
    """The forks of one task in the recording."""

    pid: int
    forks: int
    first_ns: int
    last_ns: int

    @property
    def mean_gap_ns(self) -> Optional[float]:
        """The mean time between two forks (None with fewer than two)."""
        if self.forks < 2:
            return None
        return (self.last_ns - self.first_ns) / (self.forks - 1)


class ForkRates:
    """Forks per parent task, in time order of the recording."""

    __slots__ = ("_by_pid",)

    def __init__(self) -> None:
        self._by_pid: Dict[int, List[int]] = {}  # pid -> [forks, first_ns, last_ns]

    def fork(self, t: int, pid: int) -> None:
        row = self._by_pid.get(pid)
        if row is None:
            self._by_pid[pid] = [1, t, t]
        else:
            row[0] += 1
            if t < row[1]:
                row[1] = t
            if t > row[2]:
                row[2] = t

    def rates(self) -> List[ForkRate]:
        return [ForkRate(pid, r[0], r[1], r[2]) for pid, r in sorted(self._by_pid.items())]


def numa_balancing_mode(knobs: Optional[Mapping[str, str]]) -> Optional[int]:
    """kernel.numa_balancing during the recording, where kscand-record saved it."""
    if not knobs:
        return None
    value = knobs.get("numa_balancing")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def scan_delay_ms(knobs: Optional[Mapping[str, str]]) -> Tuple[int, bool]:
    """NUMA balancing's scan delay in ms, and whether the recording said it (else the
    kernel's default)."""
    value = (knobs or {}).get("numa_balancing_scan_delay_ms")
    try:
        if value is not None and int(value) > 0:
            return int(value), True
    except ValueError:
        pass
    return SCAN_DELAY_MS_DEFAULT, False


def fork_notes(rates: Iterable[ForkRate], numa_balancing: Optional[int],
               delay_ms: int, nb_promoting_pids: Iterable[int],
               kscand_promoted: Mapping[int, Tuple[str, int]],
               delay_known: bool = True) -> List[str]:
    """One note per process that kscand promoted (``kscand_promoted``: pid -> (comm,
    pages)), that forked at least MIN_FORKS times at a mean gap shorter than the scan
    delay while NUMA balancing was on, and in whose context NUMA balancing promoted
    nothing (``nb_promoting_pids``). Nothing when NUMA balancing was off or its mode is
    not known: then the comparison needs no warning, or the report cannot tell."""
    if not numa_balancing:
        return []
    promoting = set(nb_promoting_pids)
    notes = []
    for rate in rates:
        gap = rate.mean_gap_ns
        if rate.pid not in kscand_promoted or rate.pid in promoting:
            continue
        if rate.forks < MIN_FORKS or gap is None or gap >= delay_ms * 1e6:
            continue
        comm, pages = kscand_promoted[rate.pid]
        notes.append(
            "%s (pid %d) forked %s times, once every %.0f ms on average, faster than NUMA "
            "balancing's scan delay (%d ms%s), and NUMA balancing promoted none of its pages "
            "while kscand promoted %s pages: at fork the kernel moves a single-threaded parent's "
            "next NUMA scan %d ms ahead, so it is never scanned (fixed by "
            "patch/0003-sched-numa-Do-not-reset-the-parent-s-scan-state-at-fork.patch; "
            "docs/kscand-vs-numa-balancing.md)"
            % (comm, rate.pid, "{:,}".format(rate.forks), gap / 1e6, delay_ms,
               "" if delay_known else ", the kernel's default", "{:,}".format(pages),
               delay_ms))
    return notes
