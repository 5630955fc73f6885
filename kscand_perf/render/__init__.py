"""Renderers: functions from the result model (kscand_perf.report) to strings.

- :mod:`.format`: single values, tables and histograms;
- :mod:`.text`: the human report;
- :mod:`.machine`: JSON and CSV.

No I/O and no arithmetic on events here: every number comes from the model.
"""

from .format import count, human_ns, in_unit, percent, size, table
from .machine import csv_tables, json_text, to_json
from .text import text

__all__ = ["count", "human_ns", "in_unit", "percent", "size", "table", "csv_tables",
           "json_text", "to_json", "text"]
