"""The installed commands (pyproject.toml's console scripts, the .deb's /usr/bin):
``kscand-perf`` and ``kscand-record``, the same as bin/'s in a checkout."""

from __future__ import annotations

from .cli import at_process_end, main, run_command


def kscand_perf() -> int:
    """``kscand-perf COMMAND ...``."""
    status = main()
    at_process_end()
    return status


def kscand_record() -> int:
    """``kscand-record ...``: the same as ``kscand-perf record``."""
    return run_command("record", prog="kscand-record")
