"""The perf.data reader under its first name: everything is in :mod:`kscand_perf.read`
(this module re-exports its public interface for the code that imports it from here)."""

from .read import (Attr, EventFormat, FieldFormat, Handler, PerfReader, Problem, ReadStats,
                   RunInfo, parse_format, parse_tracing_data, read_run_info, zstd_available)

__all__ = ["PerfReader", "FieldFormat", "EventFormat", "Attr", "RunInfo", "ReadStats",
           "Problem", "Handler", "parse_format", "parse_tracing_data", "read_run_info",
           "zstd_available"]
