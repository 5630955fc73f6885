"""An independent oracle for every figure of the report (issue 19, section 3).

It reads ``perf script --ns`` text (never perf.data, never kscand_perf: it imports nothing
from the package, tests/test_oracle.py checks that by reading these sources) and computes
the report's JSON from the rules written in docs/report.md and the lead's rules R1-R6 for
the figures issue 19 changes. Where the docs are silent it decides from the tracepoints'
meaning (../shared/docs/kscand-tracepoints.md); every such decision is marked ``DOCS?`` in
the code, so that it can be written into the docs.

- script.py: perf script text -> samples
- lifetimes.py: the whole recording -> mm lifetimes, generations, owners (R5)
- core.py: kept events -> the report's figures (events, scans, migrations, mms, ...)
- overtime.py: --interval's rows, per-mm timelines, time to promotion (R1, R3)
- compare.py: report JSON against the oracle, leaf by leaf, with the stated errors
"""

from .core import Options, oracle_report
from .script import SCRIPT_FIELDS, parse_script

__all__ = ["Options", "oracle_report", "parse_script", "SCRIPT_FIELDS"]
