"""perf script text -> samples.

Input: ``perf script --ns -F comm,pid,tid,cpu,time,event,trace`` (SCRIPT_FIELDS), e.g.::

  kscand   114/114   [000]    10.187989649:  kmem:kmem_scan_mm_end: mm=0xffff... start=0x0

The trace text is the event's print format; its ``key=value`` (or ``key = value``) pairs are
the fields the handlers get (the print formats name target_node ``node``).
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, Iterator, List, NamedTuple, Optional

SCRIPT_FIELDS = "comm,pid,tid,cpu,time,event,trace"

LINE = re.compile(r"^\s*(?P<comm>.*?)\s+(?P<pid>-?\d+)/(?P<tid>-?\d+)\s+\[(?P<cpu>\d+)\]\s+"
                  r"(?P<sec>\d+)\.(?P<ns>\d{9}):\s+(?P<event>\S+?):(?:\s(?P<rest>.*))?$")
TRACEPOINT = re.compile(r"^[\w-]+:[\w-]+$")
PAIR = re.compile(r"(\w+)\s*=\s*([^\s,]*)")


class Sample(NamedTuple):
    time: int          # ns
    comm: str
    pid: int
    tid: int
    cpu: int
    event: str         # "kmem:kmem_scan_mm_end", or a non-tracepoint event's name
    text: str          # the trace text (the print format's output)
    tracepoint: bool

    @property
    def short(self) -> str:
        return self.event.split(":", 1)[-1]

    def fields(self) -> Dict[str, str]:
        return dict(PAIR.findall(self.text))

    def field(self, name: str) -> Optional[str]:
        """The value of ``name=`` where the text has it (searched from the right, so that a
        comm with spaces before it does not matter)."""
        found = re.findall(r"(?:^|\s)%s\s*=\s*([^\s,]*)" % re.escape(name), self.text)
        return found[-1] if found else None


def parse_line(line: str) -> Sample:
    m = LINE.match(line)
    if m is None:
        raise ValueError("not a perf script line: %r" % line)
    event = m.group("event")
    return Sample(int(m.group("sec")) * 10**9 + int(m.group("ns")), m.group("comm"),
                  int(m.group("pid")), int(m.group("tid")), int(m.group("cpu")), event,
                  (m.group("rest") or "").strip(), bool(TRACEPOINT.match(event)))


def parse_script(text: str) -> List[Sample]:
    return list(iter_samples(text.splitlines()))


def iter_samples(lines: Iterable[str]) -> Iterator[Sample]:
    for line in lines:
        if line.strip():
            yield parse_line(line)


def to_int(text: Optional[str], bits: int = 0) -> int:
    """A field's integer: hex (0x...) or decimal; ``bits`` > 0: an unsigned C type printed
    with %ld can show negative, read it modulo 2**bits."""
    if text is None:
        raise ValueError("missing")
    value = int(text, 0)      # 0x... or decimal (perf prints no leading zeros)
    if bits:
        value %= 1 << bits
    return value
