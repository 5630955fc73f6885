"""Read a recording back, field by field, from `perf script` text output.

``perf script -F trace:comm,pid,tid,cpu,time,event,trace --ns`` prints one
line per event, e.g. (from a guest recording, folded here)::

          kscand   114/114   [001]     6.001183847:     kmem:kmem_scan_mm_end: \
    mm=0xffff88811dbed700 start=0x7f05571a6000 total=0 scan_period=11441 \
    scan_size=536870912 node=0

The text output is exact for these events (perf 6.1's Python handlers get
``int`` fields zero-extended, its text does not), so the tests compare what
was recorded with what was fired through it, value by value.
"""

from __future__ import annotations

import re
import subprocess
from typing import Dict, List, NamedTuple, Optional, Tuple

FIELDS = "trace:comm,pid,tid,cpu,time,event,trace"

_LINE = re.compile(r"^\s*(?P<comm>.*?)\s+(?P<pid>-?\d+)/(?P<tid>-?\d+)\s+\[(?P<cpu>\d+)\]\s+"
                   r"(?P<secs>\d+)\.(?P<ns>\d{9}):\s+(?P<event>[\w:]+):\s?(?P<trace>.*)$")

# The print fmt keys of each event and the schema field each one shows.
KEYS: Dict[str, Tuple[Tuple[str, str], ...]] = {
    "kmem_mm_enter": (("mm", "mm"),),
    "kmem_mm_exit": (("mm", "mm"),),
    "kmem_scan_mm_start": (("mm", "mm"),),
    "kmem_scan_mm_end": (("mm", "mm"), ("start", "start"), ("total", "total"),
                         ("scan_period", "scan_period"), ("scan_size", "scan_size"),
                         ("node", "target_node")),
    "kmem_scan_mm_migrate": (("mm", "mm"), ("rc", "rc"), ("node", "target_node"),
                             ("msuccess", "msuccess"), ("mfailed", "mfailed")),
}


class Recorded(NamedTuple):
    """One recorded event: values in schema order, as the kernel stored them."""

    comm: str
    pid: int
    tid: int
    cpu: int
    time_ns: int
    event: str          # without the system
    values: Tuple[int, ...]


def _number(text: str) -> int:
    if text == "(nil)":
        return 0
    return int(text, 0)


def parse_line(line: str) -> Optional[Recorded]:
    """One line of `perf script -F FIELDS --ns` output, or None for another kind of line."""
    m = _LINE.match(line)
    if not m:
        return None
    event = m.group("event").split(":")[-1]
    keys = KEYS.get(event)
    if keys is None:
        values: Tuple[int, ...] = ()
    else:
        pairs = dict(kv.split("=", 1) for kv in m.group("trace").split())
        values = tuple(_number(pairs[k]) for k, _ in keys)
    return Recorded(m.group("comm"), int(m.group("pid")), int(m.group("tid")),
                    int(m.group("cpu")), int(m.group("secs")) * 1000000000 + int(m.group("ns")),
                    event, values)


def read(perf: str, path: str) -> List[Recorded]:
    """Every event of the recording at ``path``, in perf's (time) order."""
    proc = subprocess.run([perf, "script", "-i", path, "-F", FIELDS, "--ns"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError("perf script -i %s failed: %s"
                           % (path, proc.stderr.decode(errors="replace")))
    out = []
    for n, line in enumerate(proc.stdout.decode(errors="replace").splitlines(), 1):
        rec = parse_line(line)
        if rec is None:
            raise ValueError("%s: line %d of perf script output not understood: %r"
                             % (path, n, line))
        out.append(rec)
    return out
