"""An independent oracle for every figure of the report (issue 19, section 3).

It reads ``perf script --ns`` text (never perf.data, never kscand_perf: it imports nothing
from the package, tests/test_oracle.py checks that by reading these sources) and computes
the report's JSON from the rules written in docs/report.md (and docs/kernel-counters.md
for --vmstat), section by section; a rule the docs do not state exactly is a fault of the
docs, to be fixed there first, not decided here.

- script.py: perf script text -> samples
- lifetimes.py: the whole recording -> mm lifetimes, generations, owners
- core.py: kept events -> the report's figures (events, scans, migrations, mms, ...)
- overtime.py: --interval's rows, per-mm timelines, time to promotion
- mechanisms.py: promotions by mechanism from the kernel's migrate events, kmigrated's
  on-CPU time from sched_switch (issue 20; not yet part of oracle_report)
- compare.py: report JSON against the oracle, leaf by leaf, with the stated errors
"""

from .core import Options, oracle_report
from .script import SCRIPT_FIELDS, parse_script

__all__ = ["Options", "oracle_report", "parse_script", "SCRIPT_FIELDS"]
